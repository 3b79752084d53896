//! The engine: sequencer, voice pools and mixer behind one `process()`.
//!
//! Calling protocol (all on the audio thread unless said otherwise):
//! - [`Engine::new`] off the audio thread: allocates every pool once.
//! - [`Engine::set_pattern`] copies a new [`EnginePattern`] in (no allocation); tracks keep their
//!   voices and timing by id across reorders.
//! - [`Engine::set_sample`] swaps a sample buffer into a slot and returns the old one, which the
//!   caller must drop off the audio thread.
//! - Mixer controls ([`Engine::set_track_mixer`], [`Engine::set_master_gain`]) are plain setters.
//! - [`Engine::process`] renders one block for a [`BlockClock`], with input notes (audition);
//!   afterwards [`Engine::midi_out`] holds the block's outgoing notes (a channel per track).
//!
//! Inside a block: the MIDI note-offs due, the transport (stop, start, jump), the hits that start
//! in the block ([`crate::schedule::block_hits`], pure), their MIDI note-ons; then the block is
//! rendered in chunks split at hit and input offsets: voices per track, track gains and pan,
//! master gain, limiter, soft clipper.

use std::sync::Arc;

use keyboardia_core::{SynthPreset, DEFAULT_SEED, MAX_TRACKS};

mod midi_out;

use crate::clock::BlockClock;
use crate::dsp::{decay_coef, splitmix64};
use crate::fx::FxRack;
use crate::gain::GainRamp;
use crate::meter::LevelMeters;
use crate::pattern::EnginePattern;
use crate::preview::{Preview, PreviewVoice};
use crate::schedule::{block_hits, BlockSpan, Fired, StepCursor, MAX_BLOCK_HITS};
use crate::voice::one_shot::{tables_for_rate, OneShotTables};
use crate::voice::{
    NoteParams, Patch, SampleBank, SampleBuffer, Voice, GATE_HELD, MAX_CHUNK, ONE_SHOT_VARIANTS,
};

/// Voices per track (ratchets and ringing tails overlap).
pub const VOICES_PER_TRACK: usize = 8;
/// Sequencer pad notes that may still sound when a new one starts (release tails overlap).
const PAD_TAILS: usize = 2;
pub use crate::schedule::STEP_BEATS;
/// The largest block processed in one go; longer blocks are split.
pub const MAX_BLOCK: usize = 4096;
/// Outgoing MIDI events a block can hold.
pub const MAX_MIDI_OUT: usize = 1024;
/// MIDI note of pitch lock 0 in the MIDI output.
pub const MIDI_BASE_NOTE: i32 = 60;

/// A note event from the host (audition of the selected track).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum InputEvent {
    NoteOn { offset: u32, key: u8, velocity: u8 },
    NoteOff { offset: u32, key: u8 },
}

impl InputEvent {
    fn offset(&self) -> u32 {
        match *self {
            InputEvent::NoteOn { offset, .. } | InputEvent::NoteOff { offset, .. } => offset,
        }
    }
}

/// An outgoing MIDI note: channel = track slot.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct MidiOut {
    /// Frame offset within the block.
    pub offset: u32,
    /// MIDI channel 0..=15 (the track's slot).
    pub channel: u8,
    /// MIDI note: 60 + the step's pitch lock.
    pub note: u8,
    /// 0 for a note-off.
    pub velocity: u8,
    /// True for a note-on, false for a note-off.
    pub on: bool,
}

/// A MIDI note the engine has sent a note-on for and owes a note-off.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct SoundingMidiNote {
    /// The MIDI note number.
    note: u8,
    /// Absolute frame (of the engine's frame count) of its note-off.
    off_frame: u64,
}

/// What the engine keeps per track slot besides its step cursor: the last sequencer voice and
/// the MIDI note it owes a note-off for.
#[derive(Clone, Copy, Debug, Default)]
struct TrackPlay {
    /// Voice index (in the track's pool) of the last sequencer note, for acid slides.
    last_voice: Option<usize>,
    /// The MIDI note currently on.
    midi_note: Option<SoundingMidiNote>,
}

/// Per-player mixer controls of a track (not session state).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TrackMixer {
    /// Linear gain on top of the session volume (automation), 0..=1.
    pub volume: f32,
    /// Silences the track (MIDI still goes out).
    pub mute: bool,
    /// While any track is soloed, only soloed tracks sound.
    pub solo: bool,
}

impl Default for TrackMixer {
    fn default() -> Self {
        Self {
            volume: 1.0,
            mute: false,
            solo: false,
        }
    }
}

/// Receives each track's post-fader stereo signal: `(track slot, frame offset in the block,
/// left, right)`.
pub type AuxSink<'a> = dyn FnMut(usize, usize, &[f32], &[f32]) + 'a;

/// The whole sound engine.
pub struct Engine {
    /// Output sample rate in Hz.
    sample_rate_hz: f64,
    /// The pattern being played.
    pattern: Box<EnginePattern>,
    /// Seed of the probability-lock dice: the session's ([`EnginePattern::seed`]), set by
    /// [`Engine::set_seed`].
    seed: u64,
    /// Per-slot step cursors (what the scheduler has scheduled ahead).
    cursors: Box<[StepCursor; MAX_TRACKS]>,
    /// Per-slot last voice and owed MIDI note-off.
    plays: [TrackPlay; MAX_TRACKS],
    /// Voice pools, one per track slot.
    voices: Box<[[Voice; VOICES_PER_TRACK]; MAX_TRACKS]>,
    /// Spare pools used while re-ordering tracks (so `set_pattern` never allocates).
    spare_voices: Box<[[Voice; VOICES_PER_TRACK]; MAX_TRACKS]>,
    /// Sample slots of the sampler voice.
    bank: SampleBank,
    /// One-shot tables of the percussive built-ins, by `BuiltinSound as usize` (empty for sounds
    /// synthesized live); shared by every engine at the same sample rate.
    one_shots: Arc<OneShotTables>,
    /// Hits firing in the current block.
    fired: Box<[Fired; MAX_BLOCK_HITS]>,
    /// Outgoing MIDI of the last block.
    midi: Box<[MidiOut; MAX_MIDI_OUT]>,
    /// Valid entries in `midi`.
    midi_len: usize,
    /// Mixer controls per slot.
    mixer: [TrackMixer; MAX_TRACKS],
    /// Per-track (left, right) gains: volume × mixer × pan law, ramped.
    gains: [GainRamp<2>; MAX_TRACKS],
    /// Master gain, ramped.
    master: GainRamp<1>,
    /// Length of a gain ramp in frames (10 ms: no zipper noise on automation).
    gain_ramp_frames: u32,
    /// Limiter envelope: the peak level (linked stereo) it follows.
    limiter_env: f32,
    /// Per-frame release multiplier of the limiter envelope (120 ms).
    limiter_release: f32,
    /// Where the previous playing block ended, in beats (`None` after a stop): a block that
    /// starts elsewhere is a jump.
    previous_end_beat: Option<f64>,
    /// Frames processed since creation (for MIDI note-off timing).
    frames_done: u64,
    /// Which track slot MIDI input auditions.
    audition_track: usize,
    /// Swing from automation, replacing the session's while set (percent).
    swing_override: Option<f64>,
    /// The fill switch of the trig conditions (FILL / NOT FILL), this player's.
    fill: bool,
    /// Where each chunk's track and master peaks go, for an editor's meters (none: not metered).
    meters: Option<Arc<LevelMeters>>,
    /// The effects (per-track filter, drive, sends; shared reverb and delay).
    fx: FxRack,
    /// The sound picker's preview note, outside the track pools (see [`crate::preview`]).
    preview: PreviewVoice,
}

/// Peak level (linear) above which the limiter reduces gain.
const LIMIT_THRESHOLD: f32 = 0.9;
/// Level where the soft clipper's knee starts.
const CLIP_KNEE: f32 = 0.7;

impl Engine {
    /// An engine at `sample_rate_hz`. Allocates; call off the audio thread.
    pub fn new(sample_rate_hz: f64) -> Self {
        let sr = sample_rate_hz as f32;
        Self {
            sample_rate_hz,
            pattern: Box::default(),
            seed: DEFAULT_SEED,
            cursors: Box::new([StepCursor::default(); MAX_TRACKS]),
            plays: [TrackPlay::default(); MAX_TRACKS],
            voices: Box::new(std::array::from_fn(|_| {
                std::array::from_fn(|_| Voice::default())
            })),
            spare_voices: Box::new(std::array::from_fn(|_| {
                std::array::from_fn(|_| Voice::default())
            })),
            bank: std::array::from_fn(|_| None),
            one_shots: tables_for_rate(sr),
            fired: Box::new([Fired::default(); MAX_BLOCK_HITS]),
            midi: Box::new([MidiOut::default(); MAX_MIDI_OUT]),
            midi_len: 0,
            mixer: [TrackMixer::default(); MAX_TRACKS],
            gains: [GainRamp::at([0.0; 2]); MAX_TRACKS],
            master: GainRamp::at([1.0]),
            gain_ramp_frames: ((0.01 * sample_rate_hz) as u32).max(1),
            limiter_env: 0.0,
            limiter_release: decay_coef(0.12, sr),
            previous_end_beat: None,
            frames_done: 0,
            audition_track: 0,
            swing_override: None,
            fill: false,
            meters: None,
            fx: FxRack::new(sample_rate_hz),
            preview: PreviewVoice::default(),
        }
    }

    /// Silences everything and forgets the transport position (host reset, no allocation): the
    /// next playing block starts the sequencer afresh from its position.
    pub fn reset(&mut self) {
        for pool in self.voices.iter_mut() {
            for v in pool.iter_mut() {
                v.active = false;
                v.key = None;
            }
        }
        for c in self.cursors.iter_mut() {
            c.clear_pending();
        }
        self.plays = [TrackPlay::default(); MAX_TRACKS];
        self.previous_end_beat = None;
        self.limiter_env = 0.0;
        self.midi_len = 0;
        self.fx.reset();
        self.preview.stop();
    }

    pub fn sample_rate_hz(&self) -> f64 {
        self.sample_rate_hz
    }

    pub fn pattern(&self) -> &EnginePattern {
        &self.pattern
    }

    /// Seeds the probability-lock dice (same seed, same pattern → same performance). Every
    /// engine that plays a session calls it with the session's seed
    /// ([`SessionState::seed`](keyboardia_core::SessionState::seed), carried by
    /// [`EnginePattern::seed`]) along with [`Engine::set_pattern`], which leaves the seed alone.
    /// Before any call: [`DEFAULT_SEED`]. No allocation.
    pub fn set_seed(&mut self, seed: u64) {
        self.seed = seed;
    }

    /// Copies a new pattern in. Track state (voices, scheduling) follows track ids; voices of
    /// removed tracks are choked. No allocation.
    pub fn set_pattern(&mut self, new: &EnginePattern) {
        let old_ids = self.pattern.tracks;
        let old_count = self.pattern.track_count;
        let mut new_cursors = [StepCursor::default(); MAX_TRACKS];
        let mut new_plays = [TrackPlay::default(); MAX_TRACKS];
        let mut taken = [false; MAX_TRACKS];
        for (i, t) in new.tracks().iter().enumerate() {
            let from = old_ids[..old_count].iter().position(|o| o.id == t.id);
            if let Some(j) = from.filter(|&j| !taken[j]) {
                taken[j] = true;
                new_cursors[i] = self.cursors[j];
                new_plays[i] = self.plays[j];
                std::mem::swap(&mut self.spare_voices[i], &mut self.voices[j]);
                for v in self.spare_voices[i].iter_mut() {
                    v.track = i as u8;
                    // A track that changed instrument: its old notes fade out.
                    if Some(v.patch) != t.patch {
                        v.choke();
                    }
                }
                self.mixer_follow(i, j, &mut taken);
            } else {
                // A new track joins at the current position.
                new_cursors[i] = StepCursor::joining_at(self.previous_end_beat);
                for v in self.spare_voices[i].iter_mut() {
                    v.active = false;
                    v.track = i as u8;
                }
            }
        }
        // Voices of removed tracks are dropped (the slots become free).
        std::mem::swap(&mut self.voices, &mut self.spare_voices);
        for pool in self.spare_voices.iter_mut() {
            for v in pool.iter_mut() {
                v.active = false;
            }
        }
        *self.cursors = new_cursors;
        self.plays = new_plays;
        *self.pattern = *new;
        self.fx.set_pattern(new);
        self.update_gain_targets();
        // New tracks start at their level rather than fading in.
        for (i, t) in new.tracks().iter().enumerate() {
            if !old_ids[..old_count].iter().any(|o| o.id == t.id) {
                self.gains[i].jump_to_target();
            }
        }
    }

    /// Mixer controls are per slot and set by the caller; nothing to move here, kept as a hook so
    /// ids rather than slots could own them later.
    fn mixer_follow(&mut self, _to: usize, _from: usize, _taken: &mut [bool; MAX_TRACKS]) {}

    /// Puts a sample into a slot; returns the previous buffer, to be dropped off the audio thread.
    pub fn set_sample(
        &mut self,
        slot: usize,
        sample: Option<Arc<SampleBuffer>>,
    ) -> Option<Arc<SampleBuffer>> {
        match self.bank.get_mut(slot) {
            Some(s) => std::mem::replace(s, sample),
            None => sample,
        }
    }

    /// Reports each chunk's track and master peaks to `meters` (off the audio thread).
    pub fn set_meters(&mut self, meters: Arc<LevelMeters>) {
        self.meters = Some(meters);
    }

    /// Plays `preview` once from the next frame, replacing a preview still sounding; played
    /// or stopped, it sounds through the master. No allocation.
    pub fn preview(&mut self, preview: Preview) {
        self.preview
            .start(preview, &self.one_shots, self.sample_rate_hz as f32);
    }

    /// Whether a preview sounds.
    pub fn previewing(&self) -> bool {
        self.preview.active()
    }

    pub fn set_track_mixer(&mut self, slot: usize, mixer: TrackMixer) {
        if slot < MAX_TRACKS && self.mixer[slot] != mixer {
            self.mixer[slot] = mixer;
            self.update_gain_targets();
        }
    }

    pub fn track_mixer(&self, slot: usize) -> TrackMixer {
        self.mixer[slot.min(MAX_TRACKS - 1)]
    }

    /// Master gain, linear.
    pub fn set_master_gain(&mut self, gain: f32) {
        self.master.ramp_to([gain.max(0.0)], self.gain_ramp_frames);
    }

    /// Plays `Some(percent)` swing instead of the session's (automation), or the session's again.
    pub fn set_swing_override(&mut self, swing_pct: Option<f64>) {
        self.swing_override = swing_pct;
    }

    /// The fill switch of FILL / NOT FILL trig conditions (held or latched: the caller's
    /// choice). Read when steps are scheduled, a step ahead at most.
    pub fn set_fill(&mut self, on: bool) {
        self.fill = on;
    }

    /// Selects the track slot that MIDI input plays.
    pub fn set_audition_track(&mut self, slot: usize) {
        self.audition_track = slot.min(MAX_TRACKS - 1);
    }

    fn update_gain_targets(&mut self) {
        let any_solo = self.mixer[..self.pattern.track_count]
            .iter()
            .any(|m| m.solo);
        for i in 0..MAX_TRACKS {
            let t = &self.pattern.tracks[i];
            let m = self.mixer[i];
            let audible = i < self.pattern.track_count && !m.mute && (!any_solo || m.solo);
            let g = if audible { t.volume * m.volume } else { 0.0 };
            // Constant-power pan.
            let angle = (t.pan.clamp(-1.0, 1.0) + 1.0) * std::f32::consts::FRAC_PI_4;
            // `max(0)`: cos(π/2) is -4e-8 in f32; a hard pan must be exactly silent on the other side.
            let target = [g * angle.cos().max(0.0), g * angle.sin().max(0.0)];
            self.gains[i].ramp_to(target, self.gain_ramp_frames);
        }
    }

    /// Outgoing notes of the last processed block, sorted by offset.
    pub fn midi_out(&self) -> &[MidiOut] {
        &self.midi[..self.midi_len]
    }

    /// Number of voices sounding now.
    pub fn active_voices(&self) -> usize {
        self.voices
            .iter()
            .flat_map(|p| p.iter())
            .filter(|v| v.active)
            .count()
    }

    /// Sounding voices on each track slot (for benchmarks and meters).
    pub fn active_voices_per_track(&self) -> [usize; MAX_TRACKS] {
        std::array::from_fn(|t| self.voices[t].iter().filter(|v| v.active).count())
    }

    /// Renders one block into `left`/`right` (overwritten; equal lengths). `inputs` are host notes
    /// sorted by offset. `aux`, if given, receives each track's post-fader stereo signal as
    /// `(track slot, frame offset, left, right)` pieces covering the whole block.
    pub fn process(
        &mut self,
        clock: &BlockClock,
        inputs: &[InputEvent],
        left: &mut [f32],
        right: &mut [f32],
        mut aux: Option<&mut AuxSink<'_>>,
    ) {
        self.midi_len = 0;
        let frames = left.len().min(right.len());
        let mut done = 0;
        let mut input_i = 0;
        let mut piece_clock = *clock;
        while done < frames {
            let n = (frames - done).min(MAX_BLOCK);
            // Inputs of this piece, offsets relative to it.
            let start_i = input_i;
            while input_i < inputs.len() && (inputs[input_i].offset() as usize) < done + n {
                input_i += 1;
            }
            let (l, r) = (&mut left[done..done + n], &mut right[done..done + n]);
            self.process_piece(
                &piece_clock,
                &inputs[start_i..input_i],
                done,
                l,
                r,
                &mut aux,
            );
            piece_clock.beat += n as f64 * clock.tempo_bpm / (60.0 * self.sample_rate_hz);
            done += n;
        }
        self.sort_midi();
    }

    #[allow(clippy::too_many_arguments)]
    fn process_piece(
        &mut self,
        clock: &BlockClock,
        inputs: &[InputEvent],
        base: usize,
        left: &mut [f32],
        right: &mut [f32],
        aux: &mut Option<&mut AuxSink<'_>>,
    ) {
        let frames = left.len();
        let fired = self.sequence(clock, frames, base as u32);
        // Render in segments split at hit offsets, input offsets and chunk boundaries.
        let mut pos = 0usize;
        let mut fi = 0usize;
        let mut ii = 0usize;
        while pos < frames {
            while fi < fired && self.fired[fi].offset_frames as usize <= pos {
                let f = self.fired[fi];
                self.trigger(&f);
                fi += 1;
            }
            while ii < inputs.len() && inputs[ii].offset() as usize <= pos + base {
                self.audition(inputs[ii]);
                ii += 1;
            }
            let mut end = (pos + MAX_CHUNK).min(frames);
            if fi < fired {
                end = end.min(self.fired[fi].offset_frames as usize);
            }
            if ii < inputs.len() {
                end = end.min((inputs[ii].offset() as usize).saturating_sub(base));
            }
            let end = end.max(pos + 1).min(frames);
            self.render_chunk(base + pos, &mut left[pos..end], &mut right[pos..end], aux);
            pos = end;
        }
        self.frames_done += frames as u64;
    }

    /// Advances the sequencer over one block: follows the transport (stop, start, jump),
    /// collects the hits that start in it (see [`crate::schedule`]) into `self.fired`, and
    /// sends their MIDI and the note-offs that fall in the block, each at its own frame, so
    /// MIDI out does not depend on the block size. Returns how many hits fire.
    fn sequence(&mut self, clock: &BlockClock, frames: usize, base: u32) -> usize {
        self.fx.set_tempo(clock.tempo_bpm);
        let fired = match self.follow_transport(clock, frames) {
            Some(span) => {
                let swing_pct = self.swing_override.unwrap_or(self.pattern.swing_pct);
                let fired = block_hits(
                    &self.pattern,
                    self.seed,
                    swing_pct,
                    self.fill,
                    &span,
                    &mut self.cursors,
                    &mut self.fired[..],
                );
                self.midi_note_ons(fired, base);
                fired
            }
            None => 0,
        };
        self.midi_note_offs(clock.playing, frames, base);
        fired
    }

    /// Follows the transport into this block: on a stop, releases the sequencer's notes and
    /// returns `None`; on a start or a jump, relocates every track (releasing the notes of a
    /// jump). Returns the block's place on the beat axis while playing.
    fn follow_transport(&mut self, clock: &BlockClock, frames: usize) -> Option<BlockSpan> {
        if !(clock.playing && clock.tempo_bpm.is_finite() && clock.tempo_bpm > 0.0) {
            if self.previous_end_beat.take().is_some() {
                self.release_sequenced();
            }
            return None;
        }
        let span = BlockSpan {
            start_beat: clock.beat,
            frames,
            frames_per_beat: self.sample_rate_hz * 60.0 / clock.tempo_bpm,
        };
        let jumped = match self.previous_end_beat {
            None => true,
            Some(e) => (e - span.start_beat).abs() > 0.5 / span.frames_per_beat,
        };
        if jumped {
            let resumed = self.previous_end_beat.is_none();
            if !resumed {
                self.release_sequenced();
            }
            for c in self.cursors.iter_mut() {
                c.relocate(span.start_beat, span.frames_per_beat);
            }
            for p in self.plays.iter_mut() {
                p.last_voice = None;
            }
        }
        self.previous_end_beat = Some(span.end_beat());
        Some(span)
    }

    /// Releases every sequencer note (stop, relocation).
    fn release_sequenced(&mut self) {
        for pool in self.voices.iter_mut() {
            for v in pool.iter_mut() {
                if v.key.is_none() {
                    v.release();
                }
            }
        }
        for c in self.cursors.iter_mut() {
            c.clear_pending();
        }
        for p in self.plays.iter_mut() {
            p.last_voice = None;
        }
    }

    /// Starts the note of a fired hit.
    fn trigger(&mut self, fired: &Fired) {
        let t = fired.track as usize;
        let hit = &fired.hit;
        let Some(patch) = self.pattern.tracks[t].patch else {
            return;
        };
        self.fx.on_hit(t, hit);
        let params = NoteParams {
            pitch_semis: hit.pitch_semis as f32,
            velocity: hit.velocity,
            gain: hit.gain,
            gate_frames: u32::try_from(fired.gate_frames).unwrap_or(u32::MAX),
        };
        let pool = &mut self.voices[t];
        if hit.slide {
            if let Some(v) = self.plays[t].last_voice {
                if pool[v].slide(params) {
                    return;
                }
            }
        }
        // Tracks are monophonic per step like a drum machine: a new hit chokes the previous
        // sequencer note of the track. Pads keep their release tails, the newest
        // `PAD_TAILS` of them (older tails are inaudible under the new notes anyway).
        if patch != Patch::Synth(SynthPreset::Pad) {
            for v in pool.iter_mut() {
                if v.key.is_none() {
                    v.choke();
                }
            }
        } else {
            let tails = pool.iter().filter(|v| v.active && v.key.is_none()).count();
            for _ in PAD_TAILS..tails {
                if let Some(oldest) = pool
                    .iter_mut()
                    .filter(|v| v.active && v.key.is_none() && !v.is_choking())
                    .max_by_key(|v| v.age)
                {
                    oldest.choke();
                }
            }
        }
        let slot = pick_voice(pool);
        // Seeded by the hit's position in time, so the noise does not depend on block splits.
        let seed = splitmix64(self.seed ^ ((t as u64) << 56) ^ hit.time_beats.to_bits()) as u32;
        start_voice(
            &mut pool[slot],
            &self.one_shots,
            t,
            patch,
            params,
            seed,
            self.sample_rate_hz as f32,
        );
        // A slice-locked step of a sample track plays only its slice (bounds from the loaded
        // sample's length, so cuts past its end are ignored).
        if let (Patch::Sample(sample), Some(index)) = (patch, hit.slice) {
            if let Some(buf) = self.bank.get(sample as usize).and_then(|b| b.as_deref()) {
                let len = buf.frames.len().min(u32::MAX as usize) as u32;
                let (start, end) = self.pattern.tracks[t].slice_frames(index, len);
                pool[slot].play_range(start, end);
            }
        }
        self.plays[t].last_voice = Some(slot);
    }

    fn audition(&mut self, e: InputEvent) {
        let t = self.audition_track;
        match e {
            InputEvent::NoteOn { key, velocity, .. } => {
                let Some(patch) = self.pattern.tracks.get(t).and_then(|tr| tr.patch) else {
                    return;
                };
                if t >= self.pattern.track_count {
                    return;
                }
                let pool = &mut self.voices[t];
                for v in pool.iter_mut() {
                    if v.key == Some(key) {
                        v.choke();
                    }
                }
                let slot = pick_voice(pool);
                let params = NoteParams {
                    pitch_semis: key as f32 - patch.base_note() as f32,
                    velocity: velocity.max(1),
                    gain: 1.0,
                    gate_frames: GATE_HELD,
                };
                start_voice(
                    &mut pool[slot],
                    &self.one_shots,
                    t,
                    patch,
                    params,
                    key as u32 * 7919 + 1,
                    self.sample_rate_hz as f32,
                );
                pool[slot].key = Some(key);
            }
            InputEvent::NoteOff { key, .. } => {
                for pool in self.voices.iter_mut() {
                    for v in pool.iter_mut() {
                        if v.key == Some(key) {
                            v.release();
                            v.key = None;
                        }
                    }
                }
            }
        }
    }

    /// Which tracks sound in the next `n` frames; while any track's filter or drive shapes its
    /// sound, also renders them into the effect lanes and runs every filter at once.
    fn shape_tracks(&mut self, n: usize) -> [bool; MAX_TRACKS] {
        let sounding: [bool; MAX_TRACKS] =
            std::array::from_fn(|t| self.voices[t].iter().any(|v| v.active) || self.fx.rings(t));
        if self.fx.begin_lanes() {
            for (t, pool) in self.voices.iter_mut().enumerate() {
                let mut mono = [0.0f32; MAX_CHUNK];
                for v in pool.iter_mut().filter(|v| v.active) {
                    v.render(&mut mono[..n], &self.bank);
                }
                self.fx.put_lane(t, &mono[..n]);
            }
            self.fx.shape_lanes(n);
        }
        sounding
    }

    /// Renders ≤ [`MAX_CHUNK`] frames: voices per track, track gains and pan, master, limiter.
    fn render_chunk(
        &mut self,
        abs_pos: usize,
        left: &mut [f32],
        right: &mut [f32],
        aux: &mut Option<&mut AuxSink<'_>>,
    ) {
        let n = left.len();
        let mut mix_l = [0.0f32; MAX_CHUNK];
        let mut mix_r = [0.0f32; MAX_CHUNK];
        let sounding = self.shape_tracks(n);
        for (t, any) in sounding.into_iter().enumerate() {
            let pool = &mut self.voices[t];
            let ramping = self.gains[t].is_ramping();
            if !any && !ramping && aux.is_none() {
                continue;
            }
            // Per-frame gains of this chunk while a ramp runs (it runs even while silent).
            let mut gl = [0.0f32; MAX_CHUNK];
            let mut gr = [0.0f32; MAX_CHUNK];
            if ramping {
                let mut ramp = self.gains[t];
                for i in 0..n {
                    [gl[i], gr[i]] = ramp.tick();
                }
                self.gains[t] = ramp;
            }
            let mut mono = [0.0f32; MAX_CHUNK];
            if any {
                if !self.fx.take_lane(t, &mut mono[..n]) {
                    for v in pool.iter_mut().filter(|v| v.active) {
                        v.render(&mut mono[..n], &self.bank);
                    }
                }
                let [cl, cr] = self.gains[t].current();
                self.fx.send_stereo(t, &mono[..n], cl, cr);
            }
            if let (Some(m), true) = (&self.meters, any) {
                let peak = mono[..n].iter().fold(0.0f32, |a, x| a.max(x.abs()));
                let [cl, cr] = self.gains[t].current();
                let g = if ramping {
                    gl[..n]
                        .iter()
                        .chain(&gr[..n])
                        .fold(0.0f32, |a, x| a.max(*x))
                } else {
                    cl.max(cr)
                };
                m.note_track(t, peak * g);
            }
            match aux.as_deref_mut() {
                None if !any => {}
                None if ramping => {
                    for i in 0..n {
                        mix_l[i] += mono[i] * gl[i];
                        mix_r[i] += mono[i] * gr[i];
                    }
                }
                None => {
                    let [cl, cr] = self.gains[t].current();
                    for i in 0..n {
                        mix_l[i] += mono[i] * cl;
                        mix_r[i] += mono[i] * cr;
                    }
                }
                Some(f) => {
                    let mut tl_buf = [0.0f32; MAX_CHUNK];
                    let mut tr_buf = [0.0f32; MAX_CHUNK];
                    if !ramping {
                        let [cl, cr] = self.gains[t].current();
                        gl = [cl; MAX_CHUNK];
                        gr = [cr; MAX_CHUNK];
                    }
                    for i in 0..n {
                        tl_buf[i] = mono[i] * gl[i];
                        tr_buf[i] = mono[i] * gr[i];
                        mix_l[i] += tl_buf[i];
                        mix_r[i] += tr_buf[i];
                    }
                    f(t, abs_pos, &tl_buf[..n], &tr_buf[..n]);
                }
            }
        }
        self.fx.mix_returns(&mut mix_l[..n], &mut mix_r[..n]);
        self.preview
            .render(&mut mix_l[..n], &mut mix_r[..n], &self.bank);
        // Master gain, peak limiter (instant attack, smooth release), soft clipper.
        let mut env = self.limiter_env;
        let rel = self.limiter_release;
        let mut master = self.master;
        for i in 0..n {
            let [m] = master.tick();
            let l = mix_l[i] * m;
            let r = mix_r[i] * m;
            let peak = l.abs().max(r.abs());
            env = if peak > env {
                peak
            } else {
                env * rel + (1.0 - rel) * peak
            };
            let g = if env > LIMIT_THRESHOLD {
                LIMIT_THRESHOLD / env
            } else {
                1.0
            };
            left[i] = soft_knee(l * g);
            right[i] = soft_knee(r * g);
        }
        self.master = master;
        self.limiter_env = if env < 1e-15 { 0.0 } else { env };
        if let Some(m) = &self.meters {
            let out = left.iter().chain(right.iter());
            m.note_master(out.fold(0.0f32, |a, x| a.max(x.abs())));
        }
    }
}

/// Linear below [`CLIP_KNEE`], then a smooth saturation that never exceeds 1.
#[inline(always)]
fn soft_knee(x: f32) -> f32 {
    let a = x.abs();
    if a <= CLIP_KNEE {
        x
    } else {
        let room = 1.0 - CLIP_KNEE;
        let y = CLIP_KNEE + room * crate::dsp::soft_clip((a - CLIP_KNEE) / room);
        y.min(1.0).copysign(x)
    }
}

/// Starts a note: from the sound's one-shot table when it has one, else synthesized live.
fn start_voice(
    voice: &mut Voice,
    one_shots: &[Vec<Arc<[f32]>>],
    track: usize,
    patch: Patch,
    params: NoteParams,
    seed: u32,
    sample_rate: f32,
) {
    let table = match patch {
        Patch::Sound(s) => one_shots[s as usize]
            .get(seed as usize % ONE_SHOT_VARIANTS)
            .cloned(),
        _ => None,
    };
    match table {
        // Cloning the Arc only bumps a counter: the engine holds every table, so no voice ever
        // frees one on the audio thread.
        Some(t) => voice.start_one_shot(track as u8, patch, params, t, sample_rate),
        None => voice.start(track as u8, patch, params, seed, sample_rate),
    }
}

/// A free voice, else the quietest releasing one, else the oldest.
fn pick_voice(pool: &[Voice; VOICES_PER_TRACK]) -> usize {
    if let Some(i) = pool.iter().position(|v| !v.active) {
        return i;
    }
    if let Some((i, _)) = pool
        .iter()
        .enumerate()
        .filter(|(_, v)| !v.is_held())
        .max_by_key(|(_, v)| v.age)
    {
        return i;
    }
    pool.iter()
        .enumerate()
        .max_by_key(|(_, v)| v.age)
        .map(|(i, _)| i)
        .unwrap_or(0)
}
