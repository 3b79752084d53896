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

use keyboardia_core::song::Playback;
use keyboardia_core::{DEFAULT_SEED, MAX_TRACKS};

mod automation;
mod midi_out;
mod mix;
mod sequence;
mod voices;

use crate::clock::BlockClock;
use crate::dsp::decay_coef;
use crate::fx::FxRack;
use crate::gain::GainRamp;
use crate::meter::LevelMeters;
use crate::pattern::EnginePattern;
use crate::preview::{Preview, PreviewVoice};
use crate::schedule::{Fired, Playing, StepCursor, MAX_BLOCK_HITS};
use crate::voice::one_shot::{tables_for_rate, OneShotTables};
use crate::voice::{SampleBank, SampleBuffer, Voice, MAX_CHUNK};

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
    /// Which pattern (or the song) plays when, and the fill switch of the trig conditions
    /// (FILL / NOT FILL): the room's in a live session ([`Engine::set_playback`]).
    playing: Playing,
    /// Where each chunk's track and master peaks go, for an editor's meters (none: not metered).
    meters: Option<Arc<LevelMeters>>,
    /// The effects (per-track filter, drive, sends; shared reverb and delay).
    fx: FxRack,
    /// Every track's chunk, rendered and then shaped, while the effect lanes are in use.
    shaped: Box<[[f32; MAX_CHUNK]; MAX_TRACKS]>,
    /// The sound picker's preview note, outside the track pools (see [`crate::preview`]).
    preview: PreviewVoice,
}

impl Engine {
    /// An engine at `sample_rate_hz`. Allocates; call off the audio thread.
    pub fn new(sample_rate_hz: f64) -> Self {
        let sr = sample_rate_hz as f32;
        Self {
            sample_rate_hz,
            pattern: Box::new(EnginePattern::with_capacity()),
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
            playing: Playing::default(),
            meters: None,
            fx: FxRack::new(sample_rate_hz),
            shaped: Box::new([[0.0; MAX_CHUNK]; MAX_TRACKS]),
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
        self.playing.playback.fill = on;
        self.playing.playback.fill_beat = f64::MIN;
    }

    /// Which pattern (or the song) plays when, and the fill switch ([`keyboardia_core::song`]):
    /// in a live session the room's (`Timeline::playback`, with the timeline's `start_beat`);
    /// on a host or internal clock the player's own, with `start_beat` 0. Read per step as
    /// steps are scheduled (a step ahead at most), so a switch stamped ahead lands on its exact
    /// step at any block size. No allocation.
    pub fn set_playback(&mut self, playback: Playback, start_beat: f64) {
        self.playing = Playing {
            playback,
            start_beat,
        };
    }

    /// What [`Engine::set_playback`] last set.
    pub fn playing(&self) -> Playing {
        self.playing
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
        aux: Option<&mut AuxSink<'_>>,
    ) {
        #[cfg(target_arch = "x86_64")]
        if crate::dsp::has_avx2() {
            // SAFETY: the CPU has AVX2 (checked just above).
            return unsafe { self.process_avx2(clock, inputs, left, right, aux) };
        }
        self.process_impl(clock, inputs, left, right, aux)
    }

    /// [`Engine::process`] compiled for AVX2: the same arithmetic (no FMA, nothing
    /// reordered, so the output is bit for bit the same), its mixing loops eight frames wide.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    unsafe fn process_avx2(
        &mut self,
        clock: &BlockClock,
        inputs: &[InputEvent],
        left: &mut [f32],
        right: &mut [f32],
        aux: Option<&mut AuxSink<'_>>,
    ) {
        self.process_impl(clock, inputs, left, right, aux)
    }

    #[inline(always)]
    fn process_impl(
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
    #[inline(always)]
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
}
