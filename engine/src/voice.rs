//! Voices: the 16 built-in sounds, the five synth presets and the sampler.
//!
//! A [`Voice`] is one sounding note. Voices live in fixed arrays owned by the engine and are
//! re-triggered in place; nothing here allocates. Every sound is synthesized: coefficients that
//! need `exp` are computed in [`Voice::start`], per-sample code uses multiplies, adds and the
//! fast approximations in [`crate::dsp`].
//!
//! Pitch: a note's pitch is "semitones from the patch's base note" (a step's pitch lock, or an
//! audition key minus middle C). Drums transpose too (a tom locked +7 plays a fifth higher).

use std::sync::Arc;

use keyboardia_core::{BuiltinSound, SynthPreset};

use crate::dsp::{
    decay_coef, note_to_hz, one_pole_coef, saw, semis_to_ratio, sin2pi, sin_centered4, soft_clip,
    soft_clip_cubic, square, wrap, Ladder, Noise, Saw4, Svf, CONTROL_RATE, F4, U4,
};

/// The longest run of frames a voice renders in one call (the engine's chunk size).
pub const MAX_CHUNK: usize = 64;
/// Number of sample slots the sampler can address.
pub const MAX_SAMPLE_SLOTS: usize = 32;
/// Frames in a control period.
const PERIOD: usize = CONTROL_RATE as usize;
/// Gate value meaning "until a note-off" (MIDI audition).
pub const GATE_HELD: u32 = u32::MAX;
/// Velocity at or above which an acid note is accented.
pub const ACCENT_VELOCITY: u8 = 112;
/// Length of the click-free fade that ends a gated note, in seconds.
pub const GATE_FADE_S: f32 = 0.004;

/// Round-robin renders kept per table-played one-shot (their noise differs from hit to hit).
pub const ONE_SHOT_VARIANTS: usize = 2;
/// Longest one-shot table in seconds (longer tails are faded out over the last 20 ms).
pub const ONE_SHOT_MAX_S: f32 = 2.0;

/// Percussive built-ins whose sound depends on a note only through pitch and level: the engine
/// synthesizes each once per sample rate (at [`Engine::new`](crate::Engine::new), with this
/// module's own synthesis) and plays hits from that table, resampled for pitch locks, like a
/// drum machine's voice ROM. A fraction of the cost of running the synthesis per hit.
pub fn is_one_shot(s: BuiltinSound) -> bool {
    use BuiltinSound::*;
    matches!(
        s,
        Kick | Snare
            | Clap
            | ClosedHat
            | OpenHat
            | LowTom
            | HighTom
            | Rim
            | Cowbell
            | Shaker
            | Zap
            | Riser
    )
}

/// Synthesizes the one-shot table of `sound` (unit gain, pitch 0) at `sample_rate`; `variant`
/// seeds its noise.
pub fn render_one_shot(sound: BuiltinSound, variant: usize, sample_rate: f32) -> Arc<[f32]> {
    let bank: SampleBank = std::array::from_fn(|_| None);
    let mut v = Voice::default();
    let params = NoteParams {
        pitch_semis: 0.0,
        velocity: 127,
        gain: 1.0,
        gate_frames: GATE_HELD,
    };
    v.start(
        0,
        Patch::Sound(sound),
        params,
        0x5EED + 7919 * variant as u32,
        sample_rate,
    );
    let max = (ONE_SHOT_MAX_S * sample_rate) as usize;
    let mut out = Vec::with_capacity(max + MAX_CHUNK);
    while v.active && out.len() < max {
        let mut buf = [0.0f32; MAX_CHUNK];
        v.render(&mut buf, &bank);
        out.extend_from_slice(&buf);
    }
    if v.active {
        let fade = ((0.02 * sample_rate) as usize).min(out.len());
        let n = out.len();
        for (i, x) in out[n - fade..].iter_mut().enumerate() {
            *x *= 1.0 - (i + 1) as f32 / fade as f32;
        }
    }
    while out.last() == Some(&0.0) {
        out.pop();
    }
    out.into()
}

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

/// One sounding note and all its synthesis state.
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
    /// Frames since the note started.
    pub age: u32,
    /// Frames left until the gate closes ([`GATE_HELD`] while held).
    gate_left: u32,
    /// True once the gate closed (or the note was stolen): fading out.
    releasing: bool,
    /// Frames left in the release fade.
    release_left: u32,
    /// Length of the release fade in frames.
    release_len: u32,
    /// Output gain: velocity curve × lock gain.
    amp: f32,
    /// Accent (acid: velocity ≥ [`ACCENT_VELOCITY`]).
    accent: bool,
    /// Current fundamental in Hz (glides toward `target_hz` on an acid slide).
    freq_hz: f32,
    /// Pitch the fundamental glides toward, in Hz.
    target_hz: f32,
    /// Per-sample glide coefficient (one-pole toward `target_hz`).
    glide_coef: f32,
    /// Oscillator phases in cycles, `[0, 1)`.
    ph: [f32; 6],
    /// Envelope levels (meaning per patch).
    env: [f32; 4],
    /// Per-sample multipliers of `env`.
    dec: [f32; 4],
    /// Patch-specific constants computed at start.
    k: [f32; 6],
    /// Filters.
    svf: Svf,
    /// Second filter (hats, snare: high-pass after low-pass).
    svf2: Svf,
    /// The acid's 4-pole ladder.
    ladder: Ladder,
    /// One-pole filter state.
    lp: f32,
    /// Noise source, reseeded per note so renders are deterministic.
    noise: Noise,
    /// Sampler read position in source frames.
    pos: f64,
    /// Sampler: where the note stops, in source frames (exclusive): a slice's end (see
    /// [`Voice::play_range`]), or `u32::MAX` for the end of the sample.
    sample_end: u32,
    /// One-shot table read position in table frames, 32.32 fixed point.
    table_pos: u64,
    /// One-shot table frames per output frame (pitch), 32.32 fixed point.
    table_rate: u64,
    /// Integer oscillator phases (a full cycle is 2³²; wrapping is free and the phase update is
    /// a one-cycle integer add, off the sine's critical path).
    iph: [u32; 3],
    /// The current control period of a voice rendered by whole periods (see
    /// [`Voice::by_periods`]), rendered ahead.
    ahead: [f32; PERIOD],
    /// Whether the note still sounds after the period in `ahead`.
    ahead_alive: bool,
    /// The sine voices' phase increments (a cycle is 2³²), set up at note start.
    sine_dt: [u32; 3],
    /// The sine voices' envelope multipliers over a group of four frames, `[1, d, d², d³]`.
    env_pow: [[f32; 4]; 3],
    /// The sine voices' envelope multipliers from one group of four frames to the next, `d⁴`.
    env_d4: [f32; 3],
    /// Sample rate in Hz.
    sr: f32,
    /// The one-shot table this note plays, if any (shared with the engine, which keeps it alive,
    /// so the voice never frees it).
    table: Option<Arc<[f32]>>,
}

impl Default for Voice {
    fn default() -> Self {
        Self {
            active: false,
            track: 0,
            key: None,
            patch: Patch::Sound(BuiltinSound::Kick),
            age: 0,
            gate_left: 0,
            releasing: false,
            release_left: 0,
            release_len: 1,
            amp: 0.0,
            accent: false,
            freq_hz: 0.0,
            target_hz: 0.0,
            glide_coef: 0.0,
            ph: [0.0; 6],
            env: [0.0; 4],
            dec: [0.0; 4],
            k: [0.0; 6],
            svf: Svf::default(),
            svf2: Svf::default(),
            ladder: Ladder::default(),
            lp: 0.0,
            noise: Noise::new(1),
            pos: 0.0,
            sample_end: u32::MAX,
            table_pos: 0,
            table_rate: 1 << 32,
            iph: [0; 3],
            ahead: [0.0; PERIOD],
            ahead_alive: true,
            sine_dt: [0; 3],
            env_pow: [[1.0; 4]; 3],
            env_d4: [1.0; 3],
            sr: 48_000.0,
            table: None,
        }
    }
}

/// Zero for magnitudes below 1e-15 (long before the denormal range).
#[inline(always)]
pub(crate) fn flush(x: f32) -> f32 {
    if x.abs() < 1e-15 {
        0.0
    } else {
        x
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
fn control_periods(age0: u32, n: usize) -> impl Iterator<Item = (usize, usize)> {
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

/// A phase increment in cycles (below 1) as an integer phase step (2³² per cycle).
fn phase_inc(dt: f32) -> u32 {
    (dt as f64 * 4_294_967_296.0).round() as u32
}

/// 808-style metallic oscillator frequencies (Hz) of the hats.
const HAT_FREQS_HZ: [f32; 6] = [205.3, 304.4, 369.6, 522.7, 540.0, 800.0];
/// Chord of the stab, semitones over the root (minor 7th).
const STAB_CHORD: [f32; 4] = [0.0, 3.0, 7.0, 10.0];

impl Voice {
    /// Whether the voice is a held or gated note that has not started its release.
    pub fn is_held(&self) -> bool {
        self.active && !self.releasing
    }

    /// Starts a note in this slot (stealing whatever it played).
    pub fn start(&mut self, track: u8, patch: Patch, p: NoteParams, seed: u32, sample_rate: f32) {
        let sr = sample_rate;
        *self = Self {
            active: true,
            track,
            key: None,
            patch,
            sr,
            noise: Noise::new(seed ^ 0x9E37_79B9),
            gate_left: if patch.gated() {
                p.gate_frames
            } else {
                GATE_HELD
            },
            release_len: ((patch.release_s() * sr) as u32).max(1),
            amp: velocity_gain(p.velocity) * p.gain,
            accent: p.velocity >= ACCENT_VELOCITY,
            ..Self::default()
        };
        let ratio = semis_to_ratio(p.pitch_semis);
        let base_hz = note_to_hz(patch.base_note() as f32 + p.pitch_semis);
        self.freq_hz = base_hz;
        self.target_hz = base_hz;
        let d = |tau: f32| decay_coef(tau, sr);
        match patch {
            Patch::Sound(s) => match s {
                BuiltinSound::Kick => {
                    self.env = [1.0, 1.0, 1.0, 0.0];
                    self.dec = [d(0.18), d(0.028), d(0.0025), 0.0];
                    self.k = [
                        48.0 * ratio,
                        150.0 * ratio,
                        one_pole_coef(2500.0, sr),
                        0.0,
                        0.0,
                        0.0,
                    ];
                }
                BuiltinSound::Snare => {
                    self.env = [1.0, 1.0, 1.0, 0.0];
                    self.dec = [d(0.075), d(0.15), d(0.018), 0.0];
                    self.k = [185.0 * ratio, 330.0 * ratio, 0.0, 0.0, 0.0, 0.0];
                    self.svf.set(5200.0 * ratio.sqrt(), 0.7, sr);
                    self.svf2.set(1800.0, 0.7, sr);
                }
                BuiltinSound::Clap => {
                    self.env = [1.0, 1.0, 0.0, 0.0];
                    self.dec = [d(0.0035), d(0.16), 0.0, 0.0];
                    // Burst spacing in frames.
                    self.k[0] = 0.0095 * sr;
                    self.svf.set(1250.0 * ratio, 1.6, sr);
                }
                BuiltinSound::ClosedHat | BuiltinSound::OpenHat => {
                    let open = s == BuiltinSound::OpenHat;
                    self.env = [1.0, 1.0, 0.0, 0.0];
                    self.dec = if open {
                        [d(0.32), d(0.05), 0.0, 0.0]
                    } else {
                        [d(0.038), d(0.012), 0.0, 0.0]
                    };
                    for (i, f) in HAT_FREQS_HZ.iter().enumerate() {
                        self.k[i] = f * 1.7 * ratio / sr;
                    }
                    self.svf.set(7500.0 * ratio.sqrt(), 0.9, sr);
                    self.svf2.set(11_000.0_f32.min(0.45 * sr), 0.7, sr);
                }
                BuiltinSound::LowTom | BuiltinSound::HighTom => {
                    let low = s == BuiltinSound::LowTom;
                    self.env = [1.0, 1.0, 1.0, 0.0];
                    self.dec = if low {
                        [d(0.26), d(0.06), d(0.004), 0.0]
                    } else {
                        [d(0.18), d(0.05), d(0.003), 0.0]
                    };
                    let f = if low { 92.0 } else { 165.0 };
                    self.k = [f * ratio, 0.55, one_pole_coef(3000.0, sr), 0.0, 0.0, 0.0];
                }
                BuiltinSound::Rim => {
                    self.env = [1.0, 1.0, 1.0, 0.0];
                    self.dec = [d(0.009), d(0.012), d(0.0015), 0.0];
                    self.k = [1700.0 * ratio / sr, 480.0 * ratio / sr, 0.0, 0.0, 0.0, 0.0];
                    self.svf.set(3000.0, 0.7, sr);
                }
                BuiltinSound::Cowbell => {
                    self.env = [1.0, 1.0, 0.0, 0.0];
                    self.dec = [d(0.018), d(0.28), 0.0, 0.0];
                    self.k = [540.0 * ratio / sr, 800.0 * ratio / sr, 0.0, 0.0, 0.0, 0.0];
                    self.svf.set(900.0 * ratio, 1.2, sr);
                }
                BuiltinSound::Shaker => {
                    self.env = [1.0, 1.0, 0.0, 0.0];
                    self.dec = [d(0.006), d(0.065), 0.0, 0.0];
                    self.svf.set(6500.0 * ratio.sqrt(), 1.1, sr);
                }
                BuiltinSound::SubBass => {
                    self.env = [1.0, 1.0, 0.0, 0.0];
                    self.dec = [d(0.003), d(2.5), 0.0, 0.0];
                }
                BuiltinSound::FmBass => {
                    self.env = [1.0, 1.0, 1.0, 0.0];
                    self.dec = [d(0.002), d(1.5), d(0.12), 0.0];
                }
                BuiltinSound::Stab => {
                    self.env = [1.0, 1.0, 0.0, 0.0];
                    self.dec = [d(0.28), d(0.09), 0.0, 0.0];
                    for (i, st) in STAB_CHORD.iter().enumerate() {
                        // Slight detune per chord note for width.
                        self.k[i] = base_hz * semis_to_ratio(st + 0.06 * i as f32) / sr;
                    }
                }
                BuiltinSound::Bell => {
                    self.env = [1.0, 1.0, 1.0, 0.0];
                    self.dec = [d(1.1), d(0.5), d(0.35), 0.0];
                    self.k = [
                        base_hz * 2.0 / sr,
                        base_hz * 7.0 / sr,
                        base_hz * 5.52 / sr,
                        0.0,
                        0.0,
                        0.0,
                    ];
                }
                BuiltinSound::Zap => {
                    self.env = [1.0, 1.0, 0.0, 0.0];
                    self.dec = [d(0.11), d(0.022), 0.0, 0.0];
                    self.k = [70.0 * ratio, 3800.0 * ratio, 0.0, 0.0, 0.0, 0.0];
                }
                BuiltinSound::Riser => {
                    // k0: length in frames; k1: start pitch of the tone (Hz); k2: pitch ratio
                    // (the noise sweep transposes too).
                    self.k = [1.2 * sr, 110.0 * ratio, ratio, 0.0, 0.0, 0.0];
                    self.svf.set(300.0, 2.5, sr);
                }
            },
            Patch::Synth(preset) => {
                self.env = [1.0, 1.0, 0.0, 0.0];
                match preset {
                    SynthPreset::Bass => {
                        self.dec = [d(0.002), d(0.14), d(0.35), 0.0];
                        self.env[2] = 1.0;
                        // The square's second saw, half a cycle ahead.
                        self.ph[2] = 0.5;
                    }
                    SynthPreset::Lead => {
                        self.dec = [d(0.004), d(0.3), 0.0, 0.0];
                        self.ph[3] = 0.5;
                    }
                    SynthPreset::Pad => {
                        self.dec = [d(0.07), d(1.5), 0.0, 0.0];
                        self.svf.set(1500.0, 0.8, sr);
                        self.ph = [0.0, 0.31, 0.62, 0.17, 0.0, 0.0];
                    }
                    SynthPreset::Pluck => {
                        self.dec = [d(0.0015), d(0.07), d(0.32), 0.0];
                        self.env[2] = 1.0;
                        self.ph[2] = 0.5;
                    }
                    SynthPreset::Acid => {
                        // env1: filter envelope (shorter and deeper when accented).
                        let (tau, depth_hz, res) = if self.accent {
                            (0.07, 3600.0, 3.85)
                        } else {
                            (0.15, 1900.0, 3.5)
                        };
                        self.dec = [d(0.0015), d(tau), d(0.6), 0.0];
                        self.env[2] = 1.0;
                        self.k = [
                            depth_hz,
                            res,
                            if self.accent { 1.35 } else { 1.0 },
                            0.0,
                            0.0,
                            0.0,
                        ];
                        self.glide_coef =
                            one_pole_coef(1.0 / (2.0 * std::f32::consts::PI * 0.045), sr);
                    }
                }
            }
            Patch::Sample(_) => {}
        }
        if matches!(
            patch,
            Patch::Synth(_)
                | Patch::Sound(BuiltinSound::SubBass | BuiltinSound::FmBass | BuiltinSound::Shaker)
        ) {
            // env[0] is an attack ramp (1 - env): start one frame in so the onset frame sounds.
            self.env[0] = self.dec[0];
        }
        if Self::renders_by_periods(patch) {
            self.prepare_periods();
        }
        if let Patch::Sample(_) = patch {
            self.pos = 0.0;
            // k0: playback-rate ratio (pitch).
            self.k[0] = ratio;
        }
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
            sr: sample_rate,
            gate_left: GATE_HELD,
            release_len: ((patch.release_s() * sample_rate) as u32).max(1),
            amp: velocity_gain(p.velocity) * p.gain,
            table: Some(table),
            ..Self::default()
        };
        self.table_rate = (semis_to_ratio(p.pitch_semis) as f64 * 4_294_967_296.0).round() as u64;
    }

    /// Makes a sample note just started play only source frames `start_frame..end_frame` of its
    /// sample (a slice; see [`keyboardia_core::slice_bounds`]) instead of all of it. Like the
    /// end of the whole sample, the slice's end is faded out over its last [`GATE_FADE_S`], so
    /// cutting a sound mid-way does not click. No effect on other patches.
    pub fn play_range(&mut self, start_frame: u32, end_frame: u32) {
        if let Patch::Sample(_) = self.patch {
            self.pos = start_frame as f64;
            self.sample_end = end_frame;
        }
    }

    /// Glides a held acid note to a new pitch without retriggering its envelopes (a 303 slide),
    /// and extends its gate. Returns false if the voice cannot slide (then start a new note).
    pub fn slide(&mut self, p: NoteParams) -> bool {
        if !self.is_held() || self.patch != Patch::Synth(SynthPreset::Acid) {
            return false;
        }
        self.target_hz = note_to_hz(self.patch.base_note() as f32 + p.pitch_semis);
        self.gate_left = p.gate_frames;
        self.amp = velocity_gain(p.velocity) * p.gain;
        true
    }

    /// Closes the gate now (note-off, stop, or a steal): a short click-free fade follows.
    pub fn release(&mut self) {
        if self.active && !self.releasing {
            self.releasing = true;
            self.release_left = self.release_len;
        }
    }

    /// Whether the note is in its fast choke fade (no longer worth counting as a sounding note).
    pub fn is_choking(&self) -> bool {
        self.releasing && self.release_len <= ((0.002 * self.sr) as u32).max(1)
    }

    /// Ends the note fast (stolen or choked): a 2 ms fade regardless of the patch.
    pub fn choke(&mut self) {
        if self.active {
            let fast = ((0.002 * self.sr) as u32).max(1);
            if !self.releasing || self.release_left > fast {
                self.releasing = true;
                self.release_len = fast;
                self.release_left = fast;
            }
        }
    }

    /// Adds the next `out.len()` (≤ [`MAX_CHUNK`]) frames of this voice to `out`.
    pub fn render(&mut self, out: &mut [f32], bank: &SampleBank) {
        debug_assert!(out.len() <= MAX_CHUNK);
        let mut done = 0;
        while done < out.len() && self.active {
            let left = out.len() - done;
            let mut seg = if self.releasing {
                left.min(self.release_left as usize)
            } else if self.gate_left == GATE_HELD {
                left
            } else {
                left.min(self.gate_left as usize)
            };
            if seg == 0 {
                if self.releasing {
                    self.active = false;
                } else {
                    self.release();
                }
                continue;
            }
            // Segments end on control-rate boundaries of the voice's age, where the "has it died
            // away" check happens, so a note ends on the same frame however blocks are split.
            // Synth presets, one-shot tables and the patches that render by whole periods keep
            // to that grid themselves (and take whole chunks).
            let whole = self.table.is_some()
                || matches!(self.patch, Patch::Synth(_))
                || Self::renders_by_periods(self.patch);
            if !whole {
                seg = seg.min((CONTROL_RATE - self.age % CONTROL_RATE) as usize);
            }
            let mut buf = [0.0f32; MAX_CHUNK];
            let (seg, alive) = self.synth(&mut buf[..seg], bank);
            let alive = alive || !self.age.is_multiple_of(CONTROL_RATE);
            let dst = &mut out[done..done + seg];
            if self.releasing {
                let inv = 1.0 / self.release_len as f32;
                let mut r = self.release_left;
                for (o, x) in dst.iter_mut().zip(&buf[..seg]) {
                    r -= 1;
                    *o += x * self.amp * (r as f32 * inv);
                }
                self.release_left = r;
            } else {
                for (o, x) in dst.iter_mut().zip(&buf[..seg]) {
                    *o += x * self.amp;
                }
                if self.gate_left != GATE_HELD {
                    self.gate_left -= seg as u32;
                }
            }
            done += seg;
            if !alive {
                self.active = false;
            }
        }
    }

    /// Writes raw (unit-gain) frames of the patch. Returns how many frames it wrote (all of
    /// `out`, unless the sound died away) and whether the sound goes on. Synth presets take any
    /// run of frames; everything else takes runs that stay within one control period.
    fn synth(&mut self, out: &mut [f32], bank: &SampleBank) -> (usize, bool) {
        if let Some(table) = &self.table {
            // Any run of frames; the end of the table is checked at the end of each control
            // period, like the death of a synthesized note.
            let rate = self.table_rate;
            // Frames `0..=last` are readable with their successor.
            let last = table.len().saturating_sub(1) as u64;
            let end = last << 32;
            let mut pos = self.table_pos;
            let age0 = self.age;
            let mut result = (out.len(), true);
            for (lo, hi) in control_periods(age0, out.len()) {
                let run = &mut out[lo..hi];
                // Frames that still read inside the table (`pos < end`), then silence: the
                // inner loop has no branch.
                let readable = if pos >= end {
                    0
                } else if end - pos > rate * PERIOD as u64 {
                    run.len()
                } else {
                    ((end - pos - 1) / rate + 1).min(run.len() as u64) as usize
                };
                let (play, rest) = run.split_at_mut(readable);
                for o in play.iter_mut() {
                    let i = (pos >> 32) as usize;
                    let f = (pos as u32) as f32 * (1.0 / 4_294_967_296.0);
                    let (a, b) = (table[i], table[i + 1]);
                    *o = a + f * (b - a);
                    pos += rate;
                }
                rest.fill(0.0);
                if (age0 + hi as u32).is_multiple_of(CONTROL_RATE) && pos >= end {
                    result = (hi, false);
                    break;
                }
            }
            self.table_pos = pos;
            self.age = age0.wrapping_add(result.0 as u32);
            return result;
        }
        let sr = self.sr;
        let inv_sr = 1.0 / sr;
        let age0 = self.age;
        self.age = self.age.wrapping_add(out.len() as u32);
        let [mut e0, mut e1, mut e2, mut e3] = self.env;
        let [d0, d1, d2, _d3] = self.dec;
        let k = self.k;
        let mut ph = self.ph;
        let alive;
        let mut frames = out.len();
        match self.patch {
            Patch::Sound(s) => match s {
                BuiltinSound::Kick => {
                    let mut hp_lp = self.lp;
                    for o in out.iter_mut() {
                        let f = k[0] + k[1] * e1;
                        ph[0] = wrap(ph[0] + f * inv_sr);
                        let n = self.noise.sample();
                        hp_lp += k[2] * (n - hp_lp);
                        let body = sin2pi(ph[0]) * e0;
                        let click = (n - hp_lp) * e2 * 0.35;
                        *o = soft_clip(1.5 * (body + click)) * 0.9;
                        e0 *= d0;
                        e1 *= d1;
                        e2 *= d2;
                    }
                    self.lp = hp_lp;
                    alive = e0 > 1e-4;
                }
                BuiltinSound::Snare => {
                    for o in out.iter_mut() {
                        ph[0] = wrap(ph[0] + k[0] * (1.0 + 0.5 * e2) * inv_sr);
                        ph[1] = wrap(ph[1] + k[1] * (1.0 + 0.3 * e2) * inv_sr);
                        let body = (0.55 * sin2pi(ph[0]) + 0.3 * sin2pi(ph[1])) * e0;
                        let n = self.noise.sample();
                        let bright = self.svf.tick(n).low;
                        let snappy = self.svf2.tick(bright).high;
                        *o = 0.8 * body + snappy * e1;
                        e0 *= d0;
                        e1 *= d1;
                        e2 *= d2;
                    }
                    alive = e1 > 1e-4 || e0 > 1e-4;
                }
                BuiltinSound::Clap => {
                    let spacing = k[0] as u32;
                    for (i, o) in out.iter_mut().enumerate() {
                        let age = age0 + i as u32;
                        if age > 0 && age.is_multiple_of(spacing.max(1)) && age <= 3 * spacing {
                            e0 = 1.0;
                        }
                        let n = self.noise.sample();
                        let b = self.svf.tick(n).band;
                        let tail = if age >= 3 * spacing { e1 * 0.55 } else { 0.0 };
                        *o = 1.8 * b * e0.max(tail);
                        e0 *= d0;
                        if age >= 3 * spacing {
                            e1 *= d1;
                        }
                    }
                    alive = age0 < 4 * spacing || e1 > 1e-4;
                }
                BuiltinSound::ClosedHat | BuiltinSound::OpenHat => {
                    for o in out.iter_mut() {
                        let mut m = 0.0;
                        for j in 0..6 {
                            ph[j] = wrap(ph[j] + k[j]);
                            m += if ph[j] < 0.5 { 1.0 } else { -1.0 };
                        }
                        let n = self.noise.sample();
                        let x = m * (1.0 / 6.0) + 0.35 * n;
                        let h = self.svf.tick(x).high;
                        let y = self.svf2.tick(h).low;
                        *o = 3.2 * y * (0.75 * e0 + 0.25 * e1);
                        e0 *= d0;
                        e1 *= d1;
                    }
                    alive = e0 > 1e-4;
                }
                BuiltinSound::LowTom | BuiltinSound::HighTom => {
                    let mut lp = self.lp;
                    for o in out.iter_mut() {
                        ph[0] = wrap(ph[0] + k[0] * (1.0 + k[1] * e1) * inv_sr);
                        let n = self.noise.sample();
                        lp += k[2] * (n - lp);
                        *o = soft_clip(1.2 * (sin2pi(ph[0]) * e0 + lp * e2 * 0.8));
                        e0 *= d0;
                        e1 *= d1;
                        e2 *= d2;
                    }
                    self.lp = lp;
                    alive = e0 > 1e-4;
                }
                BuiltinSound::Rim => {
                    for o in out.iter_mut() {
                        ph[0] = wrap(ph[0] + k[0]);
                        ph[1] = wrap(ph[1] + k[1]);
                        let n = self.svf.tick(self.noise.sample()).high;
                        let tone = 0.7 * sin2pi(ph[0]) * e0 + 0.45 * sin2pi(ph[1]) * e1;
                        *o = soft_clip(1.6 * (tone + 0.6 * n * e2));
                        e0 *= d0;
                        e1 *= d1;
                        e2 *= d2;
                    }
                    alive = e1 > 1e-4;
                }
                BuiltinSound::Cowbell => {
                    for o in out.iter_mut() {
                        ph[0] = wrap(ph[0] + k[0]);
                        ph[1] = wrap(ph[1] + k[1]);
                        let x = 0.5 * (square(ph[0], k[0]) + square(ph[1], k[1]));
                        let b = self.svf.tick(x).band;
                        *o = 0.8 * b * (0.65 * e0 + 0.35 * e1);
                        e0 *= d0;
                        e1 *= d1;
                    }
                    alive = e1 > 1e-4;
                }
                BuiltinSound::Shaker => {
                    for o in out.iter_mut() {
                        let n = self.noise.sample();
                        let h = self.svf.tick(n).band;
                        *o = 1.8 * h * (1.0 - e0) * e1;
                        e0 *= d0;
                        e1 *= d1;
                    }
                    alive = e1 > 1e-4;
                }
                BuiltinSound::SubBass | BuiltinSound::FmBass | BuiltinSound::Bell => {
                    (frames, alive) = self.by_periods(s, out, age0);
                    [e0, e1, e2, e3] = self.env;
                }
                BuiltinSound::Stab => {
                    // The run stays within one control period: only its first frame can be on
                    // the grid.
                    if age0.is_multiple_of(CONTROL_RATE) {
                        self.svf.set(350.0 + 5200.0 * e1, 1.4, sr);
                    }
                    let mut svf = self.svf;
                    let mut osc = Saw4::new(
                        [ph[0], ph[1], ph[2], ph[3]],
                        [k[0], k[1], k[2], k[3]],
                        [1.0; 4],
                    );
                    for o in out.iter_mut() {
                        let x = osc.tick();
                        *o = 0.24 * svf.tick(x).low * e0;
                        e0 *= d0;
                        e1 *= d1;
                    }
                    self.svf = svf;
                    ph[..4].copy_from_slice(&osc.phases());
                    alive = e0 > 1e-4;
                }
                BuiltinSound::Zap => {
                    for o in out.iter_mut() {
                        let f = k[0] + k[1] * e1;
                        ph[0] = wrap(ph[0] + f * inv_sr);
                        let s = sin2pi(ph[0]);
                        *o = soft_clip(2.2 * s) * 0.7 * e0;
                        e0 *= d0;
                        e1 *= d1;
                    }
                    alive = e0 > 1e-4;
                }
                BuiltinSound::Riser => {
                    let len = k[0];
                    for (i, o) in out.iter_mut().enumerate() {
                        let age = (age0 + i as u32) as f32;
                        let t = (age / len).min(1.0);
                        if (age0 + i as u32).is_multiple_of(CONTROL_RATE) {
                            // Exponential sweep 300 Hz → 9 kHz (times 30 = 2^4.9).
                            let fc = 300.0 * k[2] * semis_to_ratio(58.9 * t);
                            self.svf.set(fc.min(0.4 * sr), 2.5, sr);
                            // Tone sweeps up four octaves.
                            e3 = k[1] * semis_to_ratio(48.0 * t) * inv_sr;
                        }
                        ph[0] = wrap(ph[0] + e3.min(0.45));
                        let n = self.noise.sample();
                        let b = self.svf.tick(n).band;
                        let tone = saw(ph[0], e3.min(0.45));
                        let env = t * t;
                        let end_fade = ((len - age) / (0.02 * sr)).clamp(0.0, 1.0);
                        *o = (0.9 * b + 0.22 * tone) * env * end_fade;
                    }
                    alive = (age0 as f32) < len;
                }
            },
            Patch::Synth(preset) => {
                let (n, live) = self.synth_preset(
                    preset,
                    out,
                    &mut ph,
                    [&mut e0, &mut e1, &mut e2, &mut e3],
                    age0,
                );
                frames = n;
                alive = live;
            }
            Patch::Sample(slot) => {
                alive = self.sampler(slot, out, bank);
            }
        }
        self.age = age0.wrapping_add(frames as u32);
        // Flush decayed values to zero: denormal floats are up to 100x slower to compute with
        // (and wasm has no flush-to-zero mode).
        self.env = [flush(e0), flush(e1), flush(e2), flush(e3)];
        self.lp = flush(self.lp);
        self.svf.flush();
        self.svf2.flush();
        self.ladder.flush();
        self.ph = ph;
        (frames, alive)
    }

    /// Whether the patch renders by whole control periods (see [`Voice::by_periods`]): the sine
    /// voices, computed four frames at a time.
    fn renders_by_periods(patch: Patch) -> bool {
        matches!(
            patch,
            Patch::Sound(BuiltinSound::SubBass | BuiltinSound::FmBass | BuiltinSound::Bell)
        )
    }

    /// Renders the sine voice `sound` over `out` (any length, starting at voice age `age0`) from
    /// whole control periods: each period (16 frames from an age that is a multiple of 16) is
    /// computed in one go into `ahead` by [`Voice::sines`], and runs copy from it. So the sines
    /// work on fixed groups of four frames and the audio does not depend on how the host splits
    /// blocks. Returns the frames rendered and whether the note still sounds; a note dies only
    /// at the end of a period.
    fn by_periods(&mut self, sound: BuiltinSound, out: &mut [f32], age0: u32) -> (usize, bool) {
        let n = out.len();
        let mut i = 0;
        loop {
            let age = age0.wrapping_add(i as u32);
            let k = age as usize % PERIOD;
            if i > 0 && k == 0 && !self.ahead_alive {
                return (i, false);
            }
            if i == n {
                return (n, true);
            }
            if k == 0 {
                let mut period = self.ahead;
                self.ahead_alive = self.sines(sound, &mut period);
                self.ahead = period;
                // Flushed here rather than at the end of a call, which depends on the host's
                // block split.
                self.env = self.env.map(flush);
            }
            let m = (PERIOD - k).min(n - i);
            for (o, a) in out[i..i + m].iter_mut().zip(&self.ahead[k..]) {
                *o = *a;
            }
            i += m;
        }
    }

    /// Sets up what [`Voice::sines`] needs for the note that just started: the sine voices'
    /// phase increments and envelope steps.
    fn prepare_periods(&mut self) {
        let k = self.k;
        self.sine_dt = match self.patch {
            Patch::Sound(BuiltinSound::Bell) => [k[0], k[1], k[2]].map(phase_inc),
            _ => [phase_inc(self.freq_hz / self.sr), 0, 0],
        };
        for j in 0..3 {
            let d = self.dec[j];
            self.env_pow[j] = [1.0, d, d * d, d * d * d];
            self.env_d4[j] = (d * d) * (d * d);
        }
    }

    /// One period of the sine voices (sub bass, FM bass, bell), vectorized across time: four
    /// frames per vector, envelopes `e·[1, d, d², d³]` from the value at the start of each
    /// group of four. Returns whether the note still sounds after it.
    fn sines(&mut self, sound: BuiltinSound, out: &mut [f32; PERIOD]) -> bool {
        let dt = self.sine_dt;
        // Frame j of a group: phase p + (j + 1)·dt, envelope e·d^j.
        let steps = dt.map(|d| U4::new([1, 2, 3, 4].map(|j| d.wrapping_mul(j))));
        let powers = self.env_pow.map(F4::new);
        let d4 = self.env_d4;
        let splat = F4::splat;
        let one = splat(1.0);
        for group in out.chunks_exact_mut(4) {
            let (p, e) = (self.iph, self.env);
            let env = |j: usize| splat(e[j]) * powers[j];
            let ph = |j: usize| U4::splat(p[j]).wrapping_add(steps[j]);
            let y = match sound {
                BuiltinSound::SubBass => {
                    let p0 = ph(0);
                    let s = sin_centered4(p0.centered_unit())
                        + splat(0.18) * sin_centered4(p0.wrapping_add(p0).centered_unit());
                    splat(0.85) * s * (one - env(0)) * env(1)
                }
                BuiltinSound::FmBass => {
                    let p0 = ph(0);
                    let index = splat(0.12) + splat(0.75) * env(2);
                    let m = sin_centered4(p0.centered_unit());
                    let c = sin_centered4(p0.add_cycles(index * m).centered_unit());
                    splat(0.8) * c * (one - env(0)) * env(1)
                }
                _ => {
                    let m = sin_centered4(ph(1).centered_unit()) * splat(0.9) * env(1);
                    let c = sin_centered4(ph(0).add_cycles(m).centered_unit());
                    splat(0.55) * c * env(0)
                        + splat(0.2) * sin_centered4(ph(2).centered_unit()) * env(2)
                }
            };
            y.store(group.try_into().expect("groups of four"));
            for j in 0..3 {
                self.iph[j] = p[j].wrapping_add(dt[j].wrapping_mul(4));
                self.env[j] = e[j] * d4[j];
            }
        }
        match sound {
            BuiltinSound::Bell => self.env[0] > 1e-4,
            _ => self.env[1] > 1e-4,
        }
    }

    /// Renders a synth preset over `out` (up to [`MAX_CHUNK`] frames, any start age), with its
    /// control-rate updates on the voice's own 16-frame grid. Returns the frames rendered and
    /// whether the note still sounds; a note dies only at the end of a control period.
    fn synth_preset(
        &mut self,
        preset: SynthPreset,
        out: &mut [f32],
        ph: &mut [f32; 6],
        env: [&mut f32; 4],
        age0: u32,
    ) -> (usize, bool) {
        let sr = self.sr;
        let inv_sr = 1.0 / sr;
        let [e0, e1, e2, _e3] = env;
        let [d0, d1, d2, _d3] = self.dec;
        let n = out.len();
        match preset {
            SynthPreset::Bass => {
                // Lanes: saw, and the square as the difference of two saws half a cycle apart.
                let dt = self.freq_hz * inv_sr;
                let dts = [dt, 1.003 * dt, 1.003 * dt, dt];
                let mut osc = Saw4::new([ph[0], ph[1], ph[2], ph[3]], dts, [0.7, -0.5, 0.5, 0.0]);
                let mut svf = self.svf;
                let (mut a0, mut a1, mut a2) = (*e0, *e1, *e2);
                for (lo, hi) in control_periods(age0, n) {
                    if (age0 + lo as u32).is_multiple_of(CONTROL_RATE) {
                        svf.set(160.0 + 1500.0 * a1, 1.5, sr);
                    }
                    for o in out[lo..hi].iter_mut() {
                        let x = osc.tick();
                        let amp = (1.0 - a0) * (0.8 + 0.2 * a2);
                        *o = 0.75 * soft_clip_cubic(1.3 * svf.tick(x).low) * amp;
                        a0 *= d0;
                        a1 *= d1;
                        a2 *= d2;
                    }
                }
                (*e0, *e1, *e2) = (a0, a1, a2);
                self.svf = svf;
                ph[..4].copy_from_slice(&osc.phases());
                (n, true)
            }
            SynthPreset::Lead => {
                // Lanes: two detuned saws, and the square as the difference of two saws.
                let dt = self.freq_hz * inv_sr;
                let dts = [dt * 1.0046, dt * 0.9954, dt, dt];
                let mut osc = Saw4::new([ph[0], ph[1], ph[2], ph[3]], dts, [0.45, 0.45, -0.3, 0.3]);
                let mut svf = self.svf;
                let (mut a0, mut a1) = (*e0, *e1);
                for (lo, hi) in control_periods(age0, n) {
                    if (age0 + lo as u32).is_multiple_of(CONTROL_RATE) {
                        svf.set(2200.0 + 2800.0 * a1, 1.1, sr);
                    }
                    for o in out[lo..hi].iter_mut() {
                        let x = osc.tick();
                        *o = 0.6 * svf.tick(x).low * (1.0 - a0);
                        a0 *= d0;
                        a1 *= d1;
                    }
                }
                (*e0, *e1) = (a0, a1);
                self.svf = svf;
                ph[..4].copy_from_slice(&osc.phases());
                (n, true)
            }
            SynthPreset::Pad => {
                let dt = self.freq_hz * inv_sr;
                let dts = [dt * 0.993, dt, dt * 1.007, dt * 2.003];
                let mut osc = Saw4::new([ph[0], ph[1], ph[2], ph[3]], dts, [1.0, 1.0, 1.0, 0.4]);
                let mut svf = self.svf;
                let (mut a0, mut a1) = (*e0, *e1);
                for o in out.iter_mut() {
                    let x = osc.tick();
                    *o = 0.32 * svf.tick(x).low * (1.0 - a0) * (0.75 + 0.25 * a1);
                    a0 *= d0;
                    a1 *= d1;
                }
                (*e0, *e1) = (a0, a1);
                self.svf = svf;
                ph[..4].copy_from_slice(&osc.phases());
                (n, true)
            }
            SynthPreset::Pluck => {
                // Lanes: saw, and the octave square as the difference of two saws.
                let dt = self.freq_hz * inv_sr;
                let dts = [dt, 2.0 * dt, 2.0 * dt, dt];
                let mut osc = Saw4::new([ph[0], ph[1], ph[2], ph[3]], dts, [0.6, -0.35, 0.35, 0.0]);
                let mut svf = self.svf;
                let (mut a0, mut a1, mut a2) = (*e0, *e1, *e2);
                let mut result = (n, true);
                for (lo, hi) in control_periods(age0, n) {
                    if (age0 + lo as u32).is_multiple_of(CONTROL_RATE) {
                        svf.set(180.0 + 6500.0 * a1, 1.6, sr);
                    }
                    for o in out[lo..hi].iter_mut() {
                        let x = osc.tick();
                        *o = 1.25 * svf.tick(x).low * (1.0 - a0) * a2;
                        a0 *= d0;
                        a1 *= d1;
                        a2 *= d2;
                    }
                    // Died away: checked at the end of each control period.
                    if (age0 + hi as u32).is_multiple_of(CONTROL_RATE) && a2 <= 1e-4 {
                        result = (hi, false);
                        break;
                    }
                }
                (*e0, *e1, *e2) = (a0, a1, a2);
                self.svf = svf;
                ph[..4].copy_from_slice(&osc.phases());
                result
            }
            SynthPreset::Acid => {
                let [depth_hz, res, accent_gain, ..] = self.k;
                let mut dt = self.freq_hz * inv_sr;
                let mut ladder = self.ladder;
                let mut p0 = ph[0];
                let (mut a0, mut a1, mut a2) = (*e0, *e1, *e2);
                for (lo, hi) in control_periods(age0, n) {
                    if (age0 + lo as u32).is_multiple_of(CONTROL_RATE) {
                        self.freq_hz +=
                            self.glide_coef * CONTROL_RATE as f32 * (self.target_hz - self.freq_hz);
                        if (self.freq_hz - self.target_hz).abs() < 0.01
                            || self.glide_coef * (CONTROL_RATE as f32) >= 1.0
                        {
                            self.freq_hz = self.target_hz;
                        }
                        dt = self.freq_hz * inv_sr;
                        let fc = (120.0 + depth_hz * a1 + 0.9 * self.freq_hz).min(0.45 * sr);
                        ladder.set_cutoff(fc, sr);
                    }
                    for o in out[lo..hi].iter_mut() {
                        p0 = wrap(p0 + dt);
                        let x = saw(p0, dt);
                        let y = ladder.tick(x * 0.3, res);
                        let amp = (1.0 - a0) * (0.65 + 0.35 * a2) * accent_gain;
                        *o = 0.9 * soft_clip_cubic(4.0 * y) * amp;
                        a0 *= d0;
                        a1 *= d1;
                        a2 *= d2;
                    }
                }
                (*e0, *e1, *e2) = (a0, a1, a2);
                self.ladder = ladder;
                ph[0] = p0;
                (n, true)
            }
        }
    }

    /// Plays the sample (or the slice set by [`Voice::play_range`]) at the note's pitch,
    /// linearly interpolated. The last [`GATE_FADE_S`] (in source frames) before the end ramp
    /// down to zero: at pitch 0 and the engine's rate, output frame `j` is exactly
    /// `frames[start + j] × min(1, (end − start − j) / fade)`.
    fn sampler(&mut self, slot: u8, out: &mut [f32], bank: &SampleBank) -> bool {
        let Some(buf) = bank.get(slot as usize).and_then(|b| b.as_deref()) else {
            return false;
        };
        let frames = &buf.frames;
        let step = self.k[0] as f64 * buf.sample_rate_hz as f64 / self.sr as f64;
        let end = (self.sample_end as usize).min(frames.len()) as f64;
        let inv_fade = 1.0 / (GATE_FADE_S * buf.sample_rate_hz).round().max(1.0) as f64;
        let mut pos = self.pos;
        for o in out.iter_mut() {
            if pos >= end {
                *o = 0.0;
                continue;
            }
            let i = pos as usize;
            let f = (pos - i as f64) as f32;
            let a = frames[i];
            let b = frames.get(i + 1).copied().unwrap_or(a);
            let fade = ((end - pos) * inv_fade).min(1.0) as f32;
            *o = (a + f * (b - a)) * fade;
            pos += step;
        }
        self.pos = pos;
        pos < end
    }
}
