//! Voices: the 16 built-in sounds, the five synth presets and the sampler.
//!
//! A [`Voice`] is one sounding note: what every note has (gate, release fade, level, age) and
//! the state of the sound it plays, a [`Sound`] — one type per kind of sound, in files of their
//! own: [`drums`] (the percussive built-ins), [`tonal`] (the sine voices and the stab),
//! [`synth`] (the five presets), [`sampler`] and [`one_shot`] (table playback of the percussive
//! built-ins). Voices live in fixed arrays owned by the engine and are re-triggered in place;
//! nothing here allocates. Every sound is synthesized: coefficients that need `exp` are
//! computed when a note starts, per-sample code uses multiplies, adds and the fast
//! approximations in [`crate::dsp`].
//!
//! Pitch: a note's pitch is "semitones from the patch's base note" (a step's pitch lock, or an
//! audition key minus middle C). Drums transpose too (a tom locked +7 plays a fifth higher).

pub mod drums;
pub mod one_shot;
pub mod sampler;
pub mod synth;
pub mod tonal;

use std::sync::Arc;

use keyboardia_core::{BuiltinSound, SynthPreset};

use crate::dsp::{decay_coef, note_to_hz, semis_to_ratio, Noise, CONTROL_RATE};

pub use one_shot::{is_one_shot, render_one_shot, ONE_SHOT_MAX_S, ONE_SHOT_VARIANTS};

/// The longest run of frames a voice renders in one call (the engine's chunk size).
pub const MAX_CHUNK: usize = 128;
/// Number of sample slots the sampler can address.
pub const MAX_SAMPLE_SLOTS: usize = 32;
/// Gate value meaning "until a note-off" (MIDI audition).
pub const GATE_HELD: u32 = u32::MAX;
/// Velocity at or above which an acid note is accented.
pub const ACCENT_VELOCITY: u8 = 112;
/// Length of the click-free fade that ends a gated note, in seconds.
pub const GATE_FADE_S: f32 = 0.004;
/// Length of the fast fade of a choked (stolen) note, in seconds.
const CHOKE_S: f32 = 0.002;

/// What a voice plays. `Copy` and allocation-free: samples are addressed by slot.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Patch {
    Sound(BuiltinSound),
    Synth(SynthPreset),
    /// A slot in the engine's sample bank; an empty slot plays nothing.
    Sample(u8),
}

impl Patch {
    /// The MIDI note that plays the patch at its natural pitch (pitch lock 0).
    pub fn base_note(self) -> u8 {
        match self {
            Patch::Sound(BuiltinSound::SubBass | BuiltinSound::FmBass) => 36,
            Patch::Synth(SynthPreset::Bass | SynthPreset::Acid) => 36,
            _ => 60,
        }
    }

    /// Whether the note is cut at its step boundary (with a short fade). Melodic and sustaining
    /// patches are gated; percussive one-shots ring out their own short decay (as on a drum
    /// machine) and are choked only by voice stealing.
    pub fn gated(self) -> bool {
        match self {
            Patch::Synth(_) | Patch::Sample(_) => true,
            Patch::Sound(s) => matches!(
                s,
                BuiltinSound::SubBass | BuiltinSound::FmBass | BuiltinSound::Stab
            ),
        }
    }

    /// Release length in seconds once the gate closes.
    fn release_s(self) -> f32 {
        match self {
            Patch::Synth(SynthPreset::Pad) => 0.25,
            _ => GATE_FADE_S,
        }
    }
}

/// A decoded mono sample, handed to the audio thread whole.
#[derive(Debug)]
pub struct SampleBuffer {
    /// Mono frames in `[-1, 1]`.
    pub frames: Box<[f32]>,
    /// The rate the frames were recorded at, in Hz.
    pub sample_rate_hz: f32,
}

/// The sampler's slots; `None` is an empty slot.
pub type SampleBank = [Option<Arc<SampleBuffer>>; MAX_SAMPLE_SLOTS];

/// How a note is to be played.
#[derive(Clone, Copy, Debug)]
pub struct NoteParams {
    /// Semitones from the patch's base note.
    pub pitch_semis: f32,
    /// 1..=127.
    pub velocity: u8,
    /// Linear gain multiplier (a step's volume lock), 0..=1.
    pub gain: f32,
    /// Frames until the gate closes, or [`GATE_HELD`].
    pub gate_frames: u32,
}

/// The synthesis state of the note a voice plays: one type per kind of sound.
#[derive(Clone, Debug)]
pub enum Sound {
    /// A voice that never started.
    Silent,
    Kick(drums::Kick),
    Snare(drums::Snare),
    Clap(drums::Clap),
    /// Closed and open hat.
    Hat(drums::Hat),
    /// Low and high tom.
    Tom(drums::Tom),
    Rim(drums::Rim),
    Cowbell(drums::Cowbell),
    Shaker(drums::Shaker),
    Zap(drums::Zap),
    Riser(drums::Riser),
    /// Sub bass, FM bass and bell: sines computed four frames at a time.
    Sines(tonal::Sines),
    Stab(tonal::Stab),
    /// Bass, lead, pad and pluck: detuned band-limited saws through a filter.
    Saw(synth::SawSynth),
    Acid(synth::Acid),
    Sampler(sampler::Sampler),
    /// A percussive built-in played from its pre-rendered table.
    OneShot(one_shot::OneShot),
}

impl Sound {
    /// Whether the sound renders any run of frames in one call, keeping to its own control
    /// grid (synth presets, the sine voices, one-shot tables). The others take runs that stay
    /// within one control period of the voice's age.
    fn takes_whole_runs(&self) -> bool {
        matches!(
            self,
            Sound::Sines(_) | Sound::Saw(_) | Sound::Acid(_) | Sound::OneShot(_)
        )
    }

    /// Writes raw (unit-gain) frames of the sound, starting at voice age `age0`. Returns how
    /// many frames it wrote (all of `out`, unless the sound died away) and whether the sound
    /// goes on.
    #[inline]
    fn render(
        &mut self,
        out: &mut [f32],
        age0: u32,
        sample_rate: f32,
        bank: &SampleBank,
    ) -> (usize, bool) {
        let n = out.len();
        match self {
            Sound::Silent => (n, false),
            Sound::Kick(s) => (n, s.render(out, sample_rate)),
            Sound::Snare(s) => (n, s.render(out, sample_rate)),
            Sound::Clap(s) => (n, s.render(out, age0)),
            Sound::Hat(s) => (n, s.render(out)),
            Sound::Tom(s) => (n, s.render(out, sample_rate)),
            Sound::Rim(s) => (n, s.render(out)),
            Sound::Cowbell(s) => (n, s.render(out)),
            Sound::Shaker(s) => (n, s.render(out)),
            Sound::Zap(s) => (n, s.render(out, sample_rate)),
            Sound::Riser(s) => (n, s.render(out, age0, sample_rate)),
            Sound::Sines(s) => s.render(out, age0),
            Sound::Stab(s) => (n, s.render(out, age0, sample_rate)),
            Sound::Saw(s) => s.render(out, age0, sample_rate),
            Sound::Acid(s) => s.render(out, age0, sample_rate),
            Sound::Sampler(s) => (n, s.render(out, bank, sample_rate)),
            Sound::OneShot(s) => s.render(out, age0),
        }
    }
}

/// One sounding note: its gate, release fade and level, and the state of its sound.
#[derive(Clone, Debug)]
pub struct Voice {
    /// False when the slot is free.
    pub active: bool,
    /// Index of the track (mixer channel) the voice sounds on.
    pub track: u8,
    /// The MIDI key of an audition note (matched by note-off); `None` for sequencer notes.
    pub key: Option<u8>,
    /// What is playing.
    pub patch: Patch,
    /// Frames since the note started (the control-rate grid counts from here).
    pub age: u32,
    /// Frames left until the gate closes ([`GATE_HELD`] while held).
    gate_frames_left: u32,
    /// True once the gate closed (or the note was stolen): fading out.
    releasing: bool,
    /// Frames left in the release fade.
    release_frames_left: u32,
    /// Length of the release fade in frames (the fade is linear over it).
    release_frames: u32,
    /// Output gain: velocity curve × lock gain.
    amp: f32,
    /// Sample rate in Hz.
    sample_rate_hz: f32,
    /// The sound's own state.
    sound: Sound,
}

impl Default for Voice {
    fn default() -> Self {
        Self {
            active: false,
            track: 0,
            key: None,
            patch: Patch::Sound(BuiltinSound::Kick),
            age: 0,
            gate_frames_left: 0,
            releasing: false,
            release_frames_left: 0,
            release_frames: 1,
            amp: 0.0,
            sample_rate_hz: 48_000.0,
            sound: Sound::Silent,
        }
    }
}

/// An exponential envelope: its level and the multiplier applied to it every frame.
#[derive(Clone, Copy, Debug, Default)]
pub struct Decay {
    /// The current level (1 at the start of a decay).
    pub level: f32,
    /// Per-frame multiplier of `level`.
    pub per_frame: f32,
}

impl Decay {
    /// A decay from 1 with time constant `tau_s`.
    pub fn new(tau_s: f32, sample_rate: f32) -> Self {
        Self {
            level: 1.0,
            per_frame: decay_coef(tau_s, sample_rate),
        }
    }

    /// An attack ramp, read as `1 − level`, with time constant `tau_s`: it starts one frame
    /// in, so the onset frame sounds.
    pub fn attack(tau_s: f32, sample_rate: f32) -> Self {
        let d = decay_coef(tau_s, sample_rate);
        Self {
            level: d,
            per_frame: d,
        }
    }
}

/// Zero for magnitudes below 1e-15 (long before the denormal range): decayed state is flushed
/// after every run, since denormal floats are up to 100x slower to compute with (and wasm has
/// no flush-to-zero mode).
#[inline(always)]
pub(crate) fn flush(x: f32) -> f32 {
    if x.abs() < 1e-15 {
        0.0
    } else {
        x
    }
}

/// A run of frames of a voice within a chunk, as [`Voice::render`] splits it.
#[derive(Clone, Copy, Debug, Default)]
struct Run {
    /// First frame in the chunk.
    start: usize,
    /// Frames.
    len: usize,
    /// Whether the voice is releasing (fading out) during the run.
    releasing: bool,
    /// Release frames left at the run's start.
    release_left: u32,
    /// Length of the release fade.
    release_frames: u32,
}

/// Adds the next `out.len()` (≤ [`MAX_CHUNK`]) frames of a pool's active voices to `out`, in
/// the pool's order: bit for bit [`Voice::render`] on each. A pool of pad notes (a pad track:
/// the note and its release tails) renders them side by side ([`synth::render_pads`]).
pub fn render_pool(pool: &mut [Voice], out: &mut [f32], bank: &SampleBank) {
    const MAX_POOL: usize = 16;
    let n = out.len().min(MAX_CHUNK);
    let active = pool.iter().filter(|v| v.active).count();
    if active < 2
        || pool.len() > MAX_POOL
        || !pool.iter_mut().all(|v| !v.active || v.pad().is_some())
    {
        for v in pool.iter_mut().filter(|v| v.active) {
            v.render(out, bank);
        }
        return;
    }
    let mut runs = [[Run::default(); 2]; MAX_POOL];
    let mut counts = [0usize; MAX_POOL];
    let mut ends = [[0usize; 2]; MAX_POOL];
    let mut amps = [0.0f32; MAX_POOL];
    for (i, v) in pool.iter_mut().enumerate() {
        if v.active {
            amps[i] = v.amp;
            counts[i] = v.plan(n, &mut runs[i]);
            for (e, r) in ends[i].iter_mut().zip(&runs[i][..counts[i]]) {
                *e = r.start + r.len;
            }
        }
    }
    // Groups of up to four voices that render, in the pool's order.
    let mut xs = [[0.0f32; 4]; MAX_CHUNK];
    let mut base = 0;
    while base < pool.len() {
        let mut lanes: [Option<synth::PadLane<'_>>; 4] = [None, None, None, None];
        let mut members = [0usize; 4];
        let mut size = 0;
        let mut taken = pool.len();
        for (i, v) in pool.iter_mut().enumerate().skip(base) {
            if counts[i] == 0 {
                continue;
            }
            if size == 4 {
                taken = i;
                break;
            }
            let sample_rate = v.sample_rate_hz;
            if let Some(synth) = v.pad() {
                lanes[size] = Some(synth::PadLane {
                    synth,
                    sample_rate,
                    run_ends: &ends[i][..counts[i]],
                });
                members[size] = i;
                size += 1;
            }
        }
        base = taken;
        if size == 0 {
            break;
        }
        synth::render_pads(&mut lanes, &mut xs);
        for (lane, &i) in members[..size].iter().enumerate() {
            for r in &runs[i][..counts[i]] {
                let amp = amps[i];
                let dst = &mut out[r.start..r.start + r.len];
                let src = &xs[r.start..r.start + r.len];
                if r.releasing {
                    let inv = 1.0 / r.release_frames as f32;
                    let mut left = r.release_left;
                    for (o, x) in dst.iter_mut().zip(src) {
                        left -= 1;
                        *o += x[lane] * amp * (left as f32 * inv);
                    }
                } else {
                    for (o, x) in dst.iter_mut().zip(src) {
                        *o += x[lane] * amp;
                    }
                }
            }
        }
    }
}

/// A gentle velocity curve: 100 → ~0.72, 127 → 1.
fn velocity_gain(velocity: u8) -> f32 {
    let v = velocity.clamp(1, 127) as f32 / 127.0;
    v * (0.4 + 0.6 * v)
}

/// Splits `n` frames starting at voice age `age0` into runs `(lo, hi)` that end on the voice's
/// control-rate grid (ages that are multiples of [`CONTROL_RATE`]) or at `n`.
#[inline(always)]
pub(crate) fn control_periods(age0: u32, n: usize) -> impl Iterator<Item = (usize, usize)> {
    let first = (CONTROL_RATE - age0 % CONTROL_RATE) as usize;
    let mut lo = 0;
    std::iter::from_fn(move || {
        if lo >= n {
            return None;
        }
        let hi = if lo == 0 {
            first
        } else {
            lo + CONTROL_RATE as usize
        }
        .min(n);
        let run = (lo, hi);
        lo = hi;
        Some(run)
    })
}

impl Voice {
    /// Whether the voice is a held or gated note that has not started its release.
    pub fn is_held(&self) -> bool {
        self.active && !self.releasing
    }

    /// Starts a note in this slot (stealing whatever it played).
    pub fn start(&mut self, track: u8, patch: Patch, p: NoteParams, seed: u32, sample_rate: f32) {
        let sr = sample_rate;
        let ratio = semis_to_ratio(p.pitch_semis);
        let base_hz = note_to_hz(patch.base_note() as f32 + p.pitch_semis);
        let noise = Noise::new(seed ^ 0x9E37_79B9);
        let sound = match patch {
            Patch::Sound(s) => match s {
                BuiltinSound::Kick => Sound::Kick(drums::Kick::new(ratio, noise, sr)),
                BuiltinSound::Snare => Sound::Snare(drums::Snare::new(ratio, noise, sr)),
                BuiltinSound::Clap => Sound::Clap(drums::Clap::new(ratio, noise, sr)),
                BuiltinSound::ClosedHat | BuiltinSound::OpenHat => Sound::Hat(drums::Hat::new(
                    s == BuiltinSound::OpenHat,
                    ratio,
                    noise,
                    sr,
                )),
                BuiltinSound::LowTom | BuiltinSound::HighTom => {
                    Sound::Tom(drums::Tom::new(s == BuiltinSound::LowTom, ratio, noise, sr))
                }
                BuiltinSound::Rim => Sound::Rim(drums::Rim::new(ratio, noise, sr)),
                BuiltinSound::Cowbell => Sound::Cowbell(drums::Cowbell::new(ratio, sr)),
                BuiltinSound::Shaker => Sound::Shaker(drums::Shaker::new(ratio, noise, sr)),
                BuiltinSound::Zap => Sound::Zap(drums::Zap::new(ratio, sr)),
                BuiltinSound::Riser => Sound::Riser(drums::Riser::new(ratio, noise, sr)),
                BuiltinSound::SubBass | BuiltinSound::FmBass | BuiltinSound::Bell => {
                    Sound::Sines(tonal::Sines::new(s, base_hz, sr))
                }
                BuiltinSound::Stab => Sound::Stab(tonal::Stab::new(base_hz, sr)),
            },
            Patch::Synth(SynthPreset::Acid) => {
                Sound::Acid(synth::Acid::new(base_hz, p.velocity >= ACCENT_VELOCITY, sr))
            }
            Patch::Synth(preset) => Sound::Saw(synth::SawSynth::new(preset, base_hz, sr)),
            Patch::Sample(slot) => Sound::Sampler(sampler::Sampler::new(slot, ratio)),
        };
        *self = Self {
            active: true,
            track,
            key: None,
            patch,
            age: 0,
            gate_frames_left: if patch.gated() {
                p.gate_frames
            } else {
                GATE_HELD
            },
            releasing: false,
            release_frames_left: 0,
            release_frames: ((patch.release_s() * sr) as u32).max(1),
            amp: velocity_gain(p.velocity) * p.gain,
            sample_rate_hz: sr,
            sound,
        };
    }

    /// Starts a note that plays a one-shot table (see [`is_one_shot`]), resampled for pitch.
    pub fn start_one_shot(
        &mut self,
        track: u8,
        patch: Patch,
        p: NoteParams,
        table: Arc<[f32]>,
        sample_rate: f32,
    ) {
        // Only what table playback uses: no synthesis coefficients to compute.
        *self = Self {
            active: true,
            track,
            key: None,
            patch,
            age: 0,
            gate_frames_left: GATE_HELD,
            releasing: false,
            release_frames_left: 0,
            release_frames: ((patch.release_s() * sample_rate) as u32).max(1),
            amp: velocity_gain(p.velocity) * p.gain,
            sample_rate_hz: sample_rate,
            sound: Sound::OneShot(one_shot::OneShot::new(table, p.pitch_semis)),
        };
    }

    /// Makes a sample note just started play only source frames `start_frame..end_frame` of its
    /// sample (a slice; see [`keyboardia_core::slice_bounds`]) instead of all of it. Like the
    /// end of the whole sample, the slice's end is faded out over its last [`GATE_FADE_S`], so
    /// cutting a sound mid-way does not click. No effect on other patches.
    pub fn play_range(&mut self, start_frame: u32, end_frame: u32) {
        if let Sound::Sampler(s) = &mut self.sound {
            s.play_range(start_frame, end_frame);
        }
    }

    /// Glides a held acid note to a new pitch without retriggering its envelopes (a 303 slide),
    /// and extends its gate. Returns false if the voice cannot slide (then start a new note).
    pub fn slide(&mut self, p: NoteParams) -> bool {
        let held = self.is_held();
        let Sound::Acid(acid) = &mut self.sound else {
            return false;
        };
        if !held {
            return false;
        }
        acid.glide_to(note_to_hz(self.patch.base_note() as f32 + p.pitch_semis));
        self.gate_frames_left = p.gate_frames;
        self.amp = velocity_gain(p.velocity) * p.gain;
        true
    }

    /// Closes the gate now (note-off, stop, or a steal): a short click-free fade follows.
    pub fn release(&mut self) {
        if self.active && !self.releasing {
            self.releasing = true;
            self.release_frames_left = self.release_frames;
        }
    }

    /// Length of a choke fade in frames.
    fn choke_frames(&self) -> u32 {
        ((CHOKE_S * self.sample_rate_hz) as u32).max(1)
    }

    /// Whether the note is in its fast choke fade (no longer worth counting as a sounding note).
    pub fn is_choking(&self) -> bool {
        self.releasing && self.release_frames <= self.choke_frames()
    }

    /// Ends the note fast (stolen or choked): a 2 ms fade regardless of the patch.
    pub fn choke(&mut self) {
        if self.active {
            let fast = self.choke_frames();
            if !self.releasing || self.release_frames_left > fast {
                self.releasing = true;
                self.release_frames = fast;
                self.release_frames_left = fast;
            }
        }
    }

    /// The pad note this voice plays, if it plays one.
    fn pad(&mut self) -> Option<&mut synth::SawSynth> {
        match &mut self.sound {
            Sound::Saw(s) if s.is_pad() => Some(s),
            _ => None,
        }
    }

    /// Runs [`Voice::render`]'s gate and release over the next `n` frames (≤ [`MAX_CHUNK`])
    /// without rendering, for a sound that does not end by itself (a pad note): the voice's
    /// state ends as `render` leaves it, and `runs` gets the runs `render` would render the
    /// sound in (two at most: held, then releasing). Returns how many.
    fn plan(&mut self, n: usize, runs: &mut [Run; 2]) -> usize {
        let mut count = 0;
        let mut done = 0;
        while done < n && self.active {
            let Some(seg) = self.next_segment(n - done) else {
                continue;
            };
            runs[count] = Run {
                start: done,
                len: seg,
                releasing: self.releasing,
                release_left: self.release_frames_left,
                release_frames: self.release_frames,
            };
            count += 1;
            self.age = self.age.wrapping_add(seg as u32);
            if self.releasing {
                self.release_frames_left -= seg as u32;
            } else if self.gate_frames_left != GATE_HELD {
                self.gate_frames_left -= seg as u32;
            }
            done += seg;
        }
        count
    }

    /// How many of the next `left` frames this voice plays before its gate closes or its
    /// release ends (the rule [`Voice::render`] and the pad group's plan share). `None` when
    /// that is now: the gate turns into the release, or the release ends the voice.
    #[inline]
    fn next_segment(&mut self, left: usize) -> Option<usize> {
        let seg = if self.releasing {
            left.min(self.release_frames_left as usize)
        } else if self.gate_frames_left == GATE_HELD {
            left
        } else {
            left.min(self.gate_frames_left as usize)
        };
        if seg == 0 {
            if self.releasing {
                self.active = false;
            } else {
                self.release();
            }
            return None;
        }
        Some(seg)
    }

    /// Adds the next `out.len()` (≤ [`MAX_CHUNK`]) frames of this voice to `out`.
    pub fn render(&mut self, out: &mut [f32], bank: &SampleBank) {
        debug_assert!(out.len() <= MAX_CHUNK);
        let mut done = 0;
        while done < out.len() && self.active {
            let Some(mut seg) = self.next_segment(out.len() - done) else {
                continue;
            };
            // Segments end on control-rate boundaries of the voice's age, where the "has it died
            // away" check happens, so a note ends on the same frame however blocks are split.
            // Synth presets, one-shot tables and the sine voices keep to that grid themselves
            // (and take whole chunks).
            if !self.sound.takes_whole_runs() {
                seg = seg.min((CONTROL_RATE - self.age % CONTROL_RATE) as usize);
            }
            let mut buf = [0.0f32; MAX_CHUNK];
            let age0 = self.age;
            let (seg, alive) = self
                .sound
                .render(&mut buf[..seg], age0, self.sample_rate_hz, bank);
            self.age = age0.wrapping_add(seg as u32);
            let alive = alive || !self.age.is_multiple_of(CONTROL_RATE);
            let dst = &mut out[done..done + seg];
            if self.releasing {
                let inv = 1.0 / self.release_frames as f32;
                let mut r = self.release_frames_left;
                for (o, x) in dst.iter_mut().zip(&buf[..seg]) {
                    r -= 1;
                    *o += x * self.amp * (r as f32 * inv);
                }
                self.release_frames_left = r;
            } else {
                for (o, x) in dst.iter_mut().zip(&buf[..seg]) {
                    *o += x * self.amp;
                }
                if self.gate_frames_left != GATE_HELD {
                    self.gate_frames_left -= seg as u32;
                }
            }
            done += seg;
            if !alive {
                self.active = false;
            }
        }
    }
}

#[cfg(test)]
mod pool_tests {
    use super::*;

    /// A pad pool rendered side by side (`render_pool`) and voice by voice gives the same bits,
    /// through notes starting, gates closing mid-chunk, held notes released, chokes, and
    /// chunks of every length.
    #[test]
    fn pad_pools_render_bit_for_bit_as_voice_by_voice() {
        let bank: SampleBank = std::array::from_fn(|_| None);
        for sr in [48_000.0f32, 44_100.0] {
            let mut grouped: [Voice; 8] = std::array::from_fn(|_| Voice::default());
            let mut single: [Voice; 8] = std::array::from_fn(|_| Voice::default());
            let mut state = 0x2545_F491u32;
            let mut rand = move |m: u32| {
                state ^= state << 13;
                state ^= state >> 17;
                state ^= state << 5;
                state % m
            };
            for step in 0..3000 {
                match rand(12) {
                    0 | 1 => {
                        let slot = rand(8) as usize;
                        let params = NoteParams {
                            pitch_semis: rand(25) as f32 - 12.0,
                            velocity: 1 + rand(127) as u8,
                            gain: 1.0,
                            gate_frames: if rand(5) == 0 { GATE_HELD } else { rand(3000) },
                        };
                        for pool in [&mut grouped, &mut single] {
                            pool[slot].start(0, Patch::Synth(SynthPreset::Pad), params, 7, sr);
                        }
                    }
                    2 => {
                        let slot = rand(8) as usize;
                        grouped[slot].choke();
                        single[slot].choke();
                    }
                    3 => {
                        let slot = rand(8) as usize;
                        grouped[slot].release();
                        single[slot].release();
                    }
                    _ => {}
                }
                let n = 1 + rand(MAX_CHUNK as u32) as usize;
                let (mut a, mut b) = ([0.0f32; MAX_CHUNK], [0.0f32; MAX_CHUNK]);
                render_pool(&mut grouped, &mut a[..n], &bank);
                for v in single.iter_mut().filter(|v| v.active) {
                    v.render(&mut b[..n], &bank);
                }
                assert_eq!(
                    a[..n].iter().map(|x| x.to_bits()).collect::<Vec<_>>(),
                    b[..n].iter().map(|x| x.to_bits()).collect::<Vec<_>>(),
                    "step {step} at {sr} Hz"
                );
                for (g, s) in grouped.iter().zip(&single) {
                    assert_eq!((g.active, g.age), (s.active, s.age), "step {step}");
                }
            }
        }
    }
}
