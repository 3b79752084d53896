//! The worklet's engine and what surrounds it: the session's sample slots, the clock, the output
//! and capture buffers. Plain Rust (no wasm specifics), so it is unit-tested natively.

use std::collections::HashMap;
use std::sync::Arc;

use keyboardia_core::clock::Timeline;
use keyboardia_core::{BuiltinSound, SynthPreset, MAX_TRACKS};
use keyboardia_core::{SampleId, SessionState};
use keyboardia_engine::clock::{block_clock, ClockInputs, ClockMode, HostTransport};
use keyboardia_engine::voice::MAX_SAMPLE_SLOTS;
use keyboardia_engine::{
    Engine, EnginePattern, InternalClock, LevelMeters, Patch, Preview, SampleBuffer, TrackMixer,
};

use crate::follow::{Follower, ServerModel};

/// Largest block `process()` renders (the Web Audio render quantum is 128 frames).
pub const MAX_QUANTUM: usize = 1024;

/// Smallest magnitude kept in the output; anything smaller is written as 0 (no subnormals).
const FLUSH_BELOW: f32 = 1e-30;
/// Capture bookkeeping: at most this many blocks per captured frame (blocks of 64 frames or more).
const MIN_CAPTURE_BLOCK: usize = 64;

/// Why a message to the worklet was refused (its state is unchanged).
#[derive(Debug, thiserror::Error)]
pub enum WorkletError {
    #[error("not a session document")]
    BadSession,
    #[error("not a timeline")]
    BadTimeline,
    #[error("not a sample id")]
    BadSampleId,
    #[error("every sampler slot is taken")]
    SamplerFull,
}

/// The engine inside the AudioWorklet.
pub struct Worklet {
    /// The sequencer, voices and mixer.
    engine: Engine,
    /// The session last set, kept to rebuild the pattern when a sample arrives.
    session: SessionState,
    /// Which sampler slot holds which sample.
    slots: HashMap<SampleId, u8>,
    /// Frames staged by [`Worklet::stage_sample`], committed by [`Worklet::commit_sample`].
    staged: Vec<f32>,
    /// The session's timeline and the played server clock (session mode once both a timeline
    /// and a server-time model arrived).
    follower: Follower,
    /// The internal clock (the benchmark's renders; the page plays alone on a timeline of its
    /// own, stamped like the room's, so it always sends one).
    internal: InternalClock,
    /// The play request for the internal clock.
    run: bool,
    /// `run` in the previous block (a new start plays from step 0).
    was_running: bool,
    /// Left output, [`MAX_QUANTUM`] frames (never reallocated after `new`).
    left: Box<[f32]>,
    /// Right output, [`MAX_QUANTUM`] frames (never reallocated after `new`).
    right: Box<[f32]>,
    /// The beat the last block started on; −1 while stopped.
    beat: f64,
    /// Test capture: left then right, `capture_frames` each (allocated by `capture_start`).
    capture: Vec<f32>,
    /// Frames the capture holds when full.
    capture_frames: usize,
    /// Frames captured so far.
    captured: usize,
    /// Context frame of the first captured frame (−1 until the capture starts).
    capture_first: f64,
    /// Per captured block: (index of its first frame in the capture, played server ms, rate);
    /// capacity allocated by `capture_start`, never exceeded.
    capture_times: Vec<f64>,
    /// Context frame of the first output sample above [`AUDIBLE`] (−1: none yet).
    first_audible: f64,
    /// The peaks the engine raises while it renders (see [`Worklet::take_levels`]).
    meters: Arc<LevelMeters>,
    /// The last levels taken: each track slot's peak, then the master's ([`LEVELS`] values,
    /// never reallocated after `new`, read by the processor through a view).
    levels: Box<[f32]>,
}

/// Values [`Worklet::take_levels`] writes: one per track slot, then the master.
pub const LEVELS: usize = MAX_TRACKS + 1;

/// What a preview request names: a built-in sound or synth preset by its index in core's
/// `ALL` lists, or a sample by id.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum PreviewSound<'a> {
    Sound(usize),
    Synth(usize),
    Sample(&'a [u8]),
}

/// A sample this loud counts as audible (−60 dBFS).
pub const AUDIBLE: f32 = 1e-3;

impl Worklet {
    /// An engine at `sample_rate_hz` with its buffers (allocates).
    pub fn new(sample_rate_hz: f64) -> Self {
        let session = SessionState::default();
        Self {
            internal: InternalClock::new(session.tempo),
            engine: Engine::new(sample_rate_hz),
            session,
            slots: HashMap::new(),
            staged: Vec::new(),
            follower: Follower::default(),
            run: false,
            was_running: false,
            left: vec![0.0; MAX_QUANTUM].into_boxed_slice(),
            right: vec![0.0; MAX_QUANTUM].into_boxed_slice(),
            beat: -1.0,
            capture: Vec::new(),
            capture_frames: 0,
            captured: 0,
            capture_first: -1.0,
            capture_times: Vec::new(),
            first_audible: -1.0,
            meters: Arc::default(),
            levels: vec![0.0; LEVELS].into_boxed_slice(),
        }
        .metered()
    }

    fn metered(mut self) -> Self {
        self.engine.set_meters(self.meters.clone());
        self
    }

    /// Plays `sound` once at `volume` and `pan` (the sound picker's preview), from the next
    /// block, whether the sequencer plays or not. Returns false (and plays nothing) for an
    /// unknown sound or a sample the worklet does not hold.
    pub fn preview(&mut self, sound: PreviewSound<'_>, volume: f32, pan: f32) -> bool {
        let patch = match sound {
            PreviewSound::Sound(i) => BuiltinSound::ALL.get(i).map(|s| Patch::Sound(*s)),
            PreviewSound::Synth(i) => SynthPreset::ALL.get(i).map(|p| Patch::Synth(*p)),
            PreviewSound::Sample(id) => std::str::from_utf8(id)
                .ok()
                .and_then(|s| s.parse::<SampleId>().ok())
                .and_then(|id| self.slots.get(&id).copied())
                .map(Patch::Sample),
        };
        let Some(patch) = patch else {
            return false;
        };
        let finite = |x: f32, or: f32| if x.is_finite() { x } else { or };
        self.engine.preview(Preview {
            patch,
            volume: finite(volume, 1.0),
            pan: finite(pan, 0.0),
        });
        true
    }

    /// Takes the peaks since the last call into the levels buffer (track slots, then the
    /// master; linear) and returns it. Called from the processor's message handler, never from
    /// `process()`.
    pub fn take_levels(&mut self) -> &[f32] {
        let (tracks, master) = self.meters.take();
        self.levels[..MAX_TRACKS].copy_from_slice(&tracks);
        self.levels[MAX_TRACKS] = master;
        &self.levels
    }

    pub fn sample_rate_hz(&self) -> f64 {
        self.engine.sample_rate_hz()
    }

    /// Plays `state` from the next block on.
    pub fn set_session(&mut self, state: SessionState) {
        self.session = state;
        self.rebuild_pattern();
    }

    /// Parses a session document (JSON) and plays it.
    pub fn set_session_json(&mut self, bytes: &[u8]) -> Result<(), WorkletError> {
        let state: SessionState =
            serde_json::from_slice(bytes).map_err(|_| WorkletError::BadSession)?;
        self.set_session(state);
        Ok(())
    }

    fn rebuild_pattern(&mut self) {
        let slots = &self.slots;
        let pattern = EnginePattern::from_state(&self.session, |id| slots.get(id).copied());
        // The session's dice: every player and every bounce of this document rolls the same hits.
        self.engine.set_seed(pattern.seed);
        self.engine.set_pattern(&pattern);
    }

    /// Follows the session's timeline, and plays what its playback says (the pattern or the
    /// song, queued switches and the fill switch, stamped on its beat line).
    pub fn set_timeline(&mut self, timeline: Timeline) {
        self.engine
            .set_playback(timeline.playback, timeline.start_beat);
        self.follower.timeline = Some(timeline);
    }

    /// Parses a timeline (the room's JSON, `playback` included) and follows it.
    pub fn set_timeline_json(&mut self, bytes: &[u8]) -> Result<(), WorkletError> {
        let timeline: Timeline =
            serde_json::from_slice(bytes).map_err(|_| WorkletError::BadTimeline)?;
        self.set_timeline(timeline);
        Ok(())
    }

    /// The page's model of server time against context time.
    pub fn set_model(&mut self, model: ServerModel) {
        if model.offset_ms.is_finite() && model.ratio.is_finite() && model.ratio > 0.0 {
            self.follower.model = Some(model);
        }
    }

    /// Plays alone on the internal clock while `run`, pattern A from its start.
    pub fn set_internal(&mut self, run: bool) {
        self.follower = Follower::default();
        self.engine.set_playback(Default::default(), 0.0);
        self.run = run;
    }

    pub fn set_seed(&mut self, seed: u64) {
        self.engine.set_seed(seed);
    }

    pub fn set_mixer(&mut self, slot: usize, mute: bool, solo: bool) {
        self.engine.set_track_mixer(
            slot,
            TrackMixer {
                mute,
                solo,
                ..TrackMixer::default()
            },
        );
    }

    /// A buffer for the frames of the next sample.
    pub fn stage_sample(&mut self, frames: usize) -> *mut f32 {
        self.staged = vec![0.0; frames];
        self.staged.as_mut_ptr()
    }

    /// Makes the staged frames the sample `id` (replacing one with the same id).
    pub fn commit_sample(&mut self, id: &[u8], sample_rate_hz: f32) -> Result<(), WorkletError> {
        let id: SampleId = std::str::from_utf8(id)
            .ok()
            .and_then(|s| s.parse().ok())
            .ok_or(WorkletError::BadSampleId)?;
        let frames = std::mem::take(&mut self.staged);
        self.load_sample(id, frames, sample_rate_hz)
    }

    /// Puts a decoded sample into a sampler slot and replays the pattern with it.
    pub fn load_sample(
        &mut self,
        id: SampleId,
        mut frames: Vec<f32>,
        sample_rate_hz: f32,
    ) -> Result<(), WorkletError> {
        let slot = match self.slots.get(&id) {
            Some(s) => *s,
            None if self.slots.len() < MAX_SAMPLE_SLOTS => self.slots.len() as u8,
            None => return Err(WorkletError::SamplerFull),
        };
        for f in frames.iter_mut() {
            *f = if f.is_finite() {
                f.clamp(-1.0, 1.0)
            } else {
                0.0
            };
        }
        let buffer = Arc::new(SampleBuffer {
            frames: frames.into_boxed_slice(),
            sample_rate_hz,
        });
        // The previous buffer (if any) is dropped here, outside process().
        drop(self.engine.set_sample(slot as usize, Some(buffer)));
        self.slots.insert(id, slot);
        self.rebuild_pattern();
        Ok(())
    }

    /// Renders `frames` frames whose first is context frame `first_frame`. No allocation.
    pub fn process(&mut self, frames: usize, first_frame: f64) {
        let n = frames.min(MAX_QUANTUM);
        let sr = self.engine.sample_rate_hz();
        let played = self.follower.block(first_frame, n, sr);
        let clock = match played {
            Some(p) => p.clock,
            None => {
                let inputs = ClockInputs {
                    chosen: ClockMode::Internal,
                    standalone: true,
                    session: None,
                    host: HostTransport::default(),
                    run: self.run,
                    was_running: self.was_running,
                    session_tempo_bpm: self.engine.pattern().tempo_bpm,
                    frames: n as u32,
                    sample_rate_hz: sr,
                };
                block_clock(&inputs, &mut self.internal, || 0.0)
            }
        };
        self.was_running = self.run;
        self.beat = if clock.playing { clock.beat } else { -1.0 };
        let (left, right) = (&mut self.left[..n], &mut self.right[..n]);
        self.engine.process(&clock, &[], left, right, None);
        for x in left.iter_mut().chain(right.iter_mut()) {
            if !x.is_finite() || x.abs() < FLUSH_BELOW {
                *x = 0.0;
            }
        }
        if self.first_audible < 0.0 {
            if let Some(i) = left
                .iter()
                .zip(right.iter())
                .position(|(l, r)| l.abs().max(r.abs()) > AUDIBLE)
            {
                self.first_audible = first_frame + i as f64;
            }
        }
        if self.captured < self.capture_frames {
            if self.captured == 0 {
                self.capture_first = first_frame;
            }
            if self.capture_times.len() + 3 <= self.capture_times.capacity() {
                let (ms, rate) = played.map_or((f64::NAN, f64::NAN), |p| (p.server_ms, p.rate));
                self.capture_times
                    .extend_from_slice(&[self.captured as f64, ms, rate]);
            }
            let take = n.min(self.capture_frames - self.captured);
            let (cl, cr) = self.capture.split_at_mut(self.capture_frames);
            cl[self.captured..self.captured + take].copy_from_slice(&left[..take]);
            cr[self.captured..self.captured + take].copy_from_slice(&right[..take]);
            self.captured += take;
        }
    }

    pub fn left(&self) -> &[f32] {
        &self.left
    }

    pub fn right(&self) -> &[f32] {
        &self.right
    }

    pub fn beat(&self) -> f64 {
        self.beat
    }

    /// Starts capturing the next `frames` frames; the buffer (left then right).
    pub fn capture_start(&mut self, frames: usize) -> *const f32 {
        self.capture = vec![0.0; frames * 2];
        self.capture_times = Vec::with_capacity(3 * (frames / MIN_CAPTURE_BLOCK + 2));
        self.capture_frames = frames;
        self.captured = 0;
        self.capture_first = -1.0;
        self.capture.as_ptr()
    }

    /// Context frame of the first audible output sample (−1: none yet).
    pub fn first_audible_frame(&self) -> f64 {
        self.first_audible
    }

    pub fn capture_len(&self) -> usize {
        self.captured
    }

    pub fn capture_first_frame(&self) -> f64 {
        self.capture_first
    }

    /// Per captured block: (first frame's index in the capture, played server ms, rate),
    /// flattened (NaN outside session mode).
    pub fn capture_times(&self) -> &[f64] {
        &self.capture_times
    }

    /// The captured frames so far (left, right).
    pub fn captured(&self) -> (&[f32], &[f32]) {
        let (l, r) = self.capture.split_at(self.capture_frames);
        (&l[..self.captured], &r[..self.captured])
    }
}

/// Renders `blocks` quanta of 128 frames of the session `json` on a fresh engine, from beat 0
/// on the internal clock (the benchmark's dense pattern); `None` when `json` is not a session.
pub fn bench(sample_rate_hz: f64, json: &[u8], blocks: u32) -> Option<u32> {
    let mut w = Worklet::new(sample_rate_hz);
    w.set_session_json(json).ok()?;
    w.set_internal(true);
    for b in 0..blocks {
        w.process(128, f64::from(b) * 128.0);
    }
    Some(blocks)
}

#[cfg(test)]
mod tests {
    use super::*;
    use keyboardia_core::PatternId;
    use keyboardia_engine::render::{render_pattern, RenderOptions};

    fn demo() -> SessionState {
        let mut s = keyboardia_engine::bench_patterns::dense(&keyboardia_engine::bench_patterns::A);
        s.tempo = 120.0;
        s.seed = 0x5eed_0f5e_5510_11aa;
        s
    }

    /// On the internal clock the worklet plays exactly what the offline renderer renders.
    #[test]
    fn internal_clock_matches_the_offline_render() {
        let state = demo();
        let mut w = Worklet::new(48_000.0);
        w.set_session_json(serde_json::to_string(&state).unwrap().as_bytes())
            .unwrap();
        w.set_internal(true);
        let frames = 128 * 200;
        w.capture_start(frames);
        for b in 0..200 {
            w.process(128, (b * 128) as f64);
        }
        let (l, r) = w.captured();
        let pattern = EnginePattern::from_state(&state, |_| None);
        let opts = RenderOptions {
            sample_rate_hz: 48_000.0,
            block_frames: 128,
            // The document's seed: the worklet took it from the session it was sent.
            seed: None,
        };
        let want = render_pattern(&pattern, &opts, frames);
        assert_eq!(l.len(), frames);
        let max_diff = l
            .iter()
            .zip(&want.left)
            .chain(r.iter().zip(&want.right))
            .map(|(a, b)| (a - b).abs())
            .fold(0.0f32, f32::max);
        assert!(max_diff < 1e-6, "max difference {max_diff}");
        assert!(want.peak() > 0.1);
    }

    /// In session mode a block is placed by its context time plus the offset: a step plays at
    /// the frame whose server time is the step's time on the timeline.
    #[test]
    fn session_clock_places_the_start_on_its_frame() {
        let mut state = SessionState::default();
        let mut t =
            keyboardia_core::Track::new("kick".parse().unwrap(), "kick", "kick".parse().unwrap());
        for s in 0..16 {
            t.steps[s].on = true;
        }
        state.tracks.push(t);
        let mut w = Worklet::new(48_000.0);
        w.set_session(state);
        // Context time 0 is server time 10 000 ms; the session has played since server time
        // 9 900 ms, so its second 16th (125 ms later) plays at context time 25 ms.
        w.set_timeline(Timeline {
            playing: true,
            tempo: 120.0,
            anchor_time: 9_900.0,
            anchor_beat: 0.0,
            start_beat: 0.0,
            quantum: 4.0,
            playback: Default::default(),
        });
        w.set_model(ServerModel {
            offset_ms: 10_000.0,
            ratio: 1.0,
        });
        w.capture_start(128 * 100);
        for b in 0..100 {
            w.process(128, (b * 128) as f64);
        }
        let (l, _) = w.captured();
        let first = l.iter().position(|x| x.abs() > 1e-4).unwrap();
        assert_eq!(first, 1_200, "25 ms at 48 kHz");
    }

    /// A session with one kick track: pattern A on `a`, pattern B on `b`.
    fn kicks(a: &[u8], b: &[u8]) -> SessionState {
        let mut state = SessionState::default();
        let id: keyboardia_core::TrackId = "kick".parse().unwrap();
        state.tracks.push(keyboardia_core::Track::new(
            id,
            "kick",
            "kick".parse().unwrap(),
        ));
        for (pt, steps) in [(PatternId::A, a), ("B".parse().unwrap(), b)] {
            for &s in steps {
                state
                    .apply(&keyboardia_core::Op::SetStep {
                        tr: id,
                        s,
                        on: true,
                        pt,
                    })
                    .unwrap();
            }
        }
        state
    }

    /// Frames where hits start: above 0.1 after 10 ms without (a kick decays below 0.1 well
    /// before the next 16th but rings on above silence).
    fn onsets(x: &[f32]) -> Vec<usize> {
        let mut out = Vec::new();
        let mut last: Option<usize> = None;
        for (i, v) in x.iter().enumerate() {
            if v.abs() > 0.1 {
                if last.is_none_or(|l| i - l > 480) {
                    out.push(i);
                }
                last = Some(i);
            }
        }
        out
    }

    /// Renders `blocks` blocks of 128 frames on a model where context time 0 is server time
    /// 10 000 ms; the captured left channel.
    fn render_session(w: &mut Worklet, blocks: usize) -> Vec<f32> {
        w.set_model(ServerModel {
            offset_ms: 10_000.0,
            ratio: 1.0,
        });
        w.capture_start(128 * blocks);
        for b in 0..blocks {
            w.process(128, (b * 128) as f64);
        }
        w.captured().0.to_vec()
    }

    /// The transport starts 10 ms into the context (frame 480, inside the block of frames
    /// 384..512): the downbeat sounds on that frame, not dropped for starting mid-block.
    #[test]
    fn a_start_inside_a_block_plays_the_downbeat_on_its_frame() {
        let mut w = Worklet::new(48_000.0);
        w.set_session(kicks(&[0, 4, 8, 12], &[]));
        w.set_timeline(Timeline {
            playing: true,
            anchor_time: 10_010.0,
            ..Timeline::new(120.0, 0.0)
        });
        let out = render_session(&mut w, 200);
        let first = out.iter().position(|x| x.abs() > 1e-4);
        assert_eq!(first, Some(480), "the downbeat on its frame");
        let kicks = onsets(&out);
        assert!(kicks[0] - 480 < 48, "the downbeat sounds: {kicks:?}");
    }

    /// The timeline's playback reaches the engine: pattern A until the stamped switch, B from
    /// its beat on; the fill and switch ride on the same JSON the room sends.
    #[test]
    fn the_timelines_playback_switches_patterns_on_the_stamped_step() {
        let mut w = Worklet::new(48_000.0);
        w.set_session(kicks(&[0, 4, 8, 12], &[2, 6, 10, 14]));
        // Started at server time 10 000 ms (context frame 0) on beat 8 of the beat line, at
        // 120 BPM (24 000 frames a beat); B queued for the second bar (beat 12).
        let json = r#"{"playing":true,"tempo":120.0,"anchorTime":10000.0,"anchorBeat":8.0,
            "startBeat":8.0,"quantum":4.0,"playback":{"play":{"pattern":"A"},"sinceBeat":8.0,
            "next":{"play":{"pattern":"B"},"atBeat":12.0}}}"#;
        assert!(w.set_timeline_json(b"{").is_err());
        w.set_timeline_json(json.as_bytes()).unwrap();
        let out = render_session(&mut w, 2_000);
        // Hits in hundredths of a beat (a kick's attack passes 0.1 within a few frames).
        let beats: Vec<f64> = onsets(&out)
            .iter()
            .map(|&i| (i as f64 / 240.0).floor() / 100.0)
            .collect();
        assert_eq!(
            beats,
            [0.0, 1.0, 2.0, 3.0, 4.5, 5.5, 6.5, 7.5, 8.5, 9.5, 10.5],
            "A's quarters for a bar, then B's offbeats"
        );
    }

    #[test]
    fn bad_messages_leave_the_state_unchanged() {
        let mut w = Worklet::new(48_000.0);
        w.set_session(demo());
        let before = w.engine.pattern().clone();
        assert!(w.set_session_json(b"{not json").is_err());
        assert!(w.commit_sample(b"no spaces allowed", 48_000.0).is_err());
        assert_eq!(*w.engine.pattern(), before);
    }

    #[test]
    fn output_is_finite_and_has_no_subnormals() {
        let mut w = Worklet::new(48_000.0);
        w.set_session(demo());
        w.set_internal(true);
        for b in 0..400 {
            w.process(128, (b * 128) as f64);
            for x in w.left().iter().chain(w.right()) {
                assert!(x.is_finite() && (*x == 0.0 || x.abs() >= FLUSH_BELOW));
            }
        }
    }

    #[test]
    fn a_preview_sounds_while_stopped_and_the_levels_follow_the_output() {
        let mut w = Worklet::new(48_000.0);
        w.set_session(demo());
        let peak = |w: &Worklet| w.left().iter().fold(0.0f32, |a, x| a.max(x.abs()));
        let mut loudest = 0.0f32;
        for b in 0..40 {
            w.process(128, (b * 128) as f64);
            loudest = loudest.max(peak(&w));
        }
        assert_eq!(loudest, 0.0, "stopped and silent");
        assert_eq!(w.take_levels(), &[0.0; LEVELS][..]);
        assert!(!w.preview(PreviewSound::Sound(99), 1.0, 0.0));
        assert!(!w.preview(PreviewSound::Sample(b"nope"), 1.0, 0.0));
        assert!(w.preview(PreviewSound::Sound(1), 1.0, 0.0), "the snare");
        for b in 40..80 {
            w.process(128, (b * 128) as f64);
            loudest = loudest.max(peak(&w));
        }
        assert!(loudest > 0.05, "the preview sounds: {loudest}");
        let levels = w.take_levels().to_vec();
        assert!(
            levels[MAX_TRACKS] >= loudest,
            "the master meter: {levels:?}"
        );
        assert!(
            levels[..MAX_TRACKS].iter().all(|l| *l == 0.0),
            "no track played"
        );
        // Playing: the demo's tracks meter.
        w.set_internal(true);
        for b in 80..800 {
            w.process(128, (b * 128) as f64);
        }
        let levels = w.take_levels().to_vec();
        assert!(levels[0] > 0.01 && levels[MAX_TRACKS] > 0.01, "{levels:?}");
        assert_eq!(w.take_levels(), &[0.0; LEVELS][..], "taking resets");
    }
}
