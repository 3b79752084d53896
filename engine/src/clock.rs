//! Where the beat comes from: the host's transport, an internal clock, or the live session's
//! shared timeline. Each source answers one question per audio block: "playing or not, at what
//! tempo, and at which beat does this block start?" — a [`BlockClock`]. The engine only ever sees
//! `BlockClock`s, so a new source needs no change to the sequencer. [`block_clock`] picks the
//! source of a block from plain inputs ([`ClockInputs`]): the player's choice, whether the app
//! runs standalone, whether a session has been joined.

use keyboardia_core::clock::Timeline;

/// The musical position of one audio block.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BlockClock {
    /// Whether the transport plays during this block.
    pub playing: bool,
    /// Tempo in BPM, constant within the block.
    pub tempo_bpm: f64,
    /// Song position of the block's first frame, in quarter-note beats (step 0 plays at beat 0).
    pub beat: f64,
}

/// What a plugin host says about its transport for one block; every field may be missing.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct HostTransport {
    /// Whether the host's transport runs.
    pub playing: bool,
    /// Host tempo in BPM.
    pub tempo_bpm: Option<f64>,
    /// Song position in quarter-note beats.
    pub pos_beats: Option<f64>,
    /// Song position in frames (used when the host gives no beat position).
    pub pos_frames: Option<i64>,
}

/// A free-running clock at the session tempo, for hosts without a transport, the standalone app
/// and the offline renderer. Position = anchor + frames since the anchor × beats per frame, so it
/// does not drift with the block size, and a tempo change re-anchors without a jump.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct InternalClock {
    /// Whether the clock runs.
    pub playing: bool,
    /// Tempo in BPM.
    tempo_bpm: f64,
    /// Beat at the anchor.
    anchor_beat: f64,
    /// Frames played since the anchor.
    frames_since_anchor: u64,
    /// Set while the clock follows a session's timeline ([`InternalClock::follow`]): a start
    /// then continues from where the session was instead of from beat 0 (leaving a session
    /// keeps the phase).
    following: bool,
}

impl InternalClock {
    /// A stopped clock at beat 0.
    pub fn new(tempo_bpm: f64) -> Self {
        Self {
            playing: false,
            tempo_bpm,
            anchor_beat: 0.0,
            frames_since_anchor: 0,
            following: false,
        }
    }

    /// Keeps in step with `block` (a session's block of `frames` frames), so that when the
    /// session goes away this clock plays on from the end of that block, at its tempo.
    pub fn follow(&mut self, block: &BlockClock, frames: u32) {
        self.following = true;
        self.playing = block.playing;
        if block.tempo_bpm.is_finite() && block.tempo_bpm > 0.0 {
            self.tempo_bpm = block.tempo_bpm;
        }
        self.anchor_beat = block.beat;
        self.frames_since_anchor = if block.playing { frames as u64 } else { 0 };
    }

    pub fn tempo_bpm(&self) -> f64 {
        self.tempo_bpm
    }

    /// Changes the tempo from the next block on, keeping the current beat.
    pub fn set_tempo(&mut self, tempo_bpm: f64, sample_rate: f64) {
        if tempo_bpm != self.tempo_bpm {
            self.anchor_beat = self.beat(sample_rate);
            self.frames_since_anchor = 0;
            self.tempo_bpm = tempo_bpm;
        }
    }

    /// Starts from `beat`.
    pub fn play_from(&mut self, beat: f64) {
        self.following = false;
        self.playing = true;
        self.anchor_beat = beat;
        self.frames_since_anchor = 0;
    }

    pub fn stop(&mut self) {
        self.following = false;
        self.playing = false;
    }

    /// The current position in beats.
    pub fn beat(&self, sample_rate: f64) -> f64 {
        self.anchor_beat + self.frames_since_anchor as f64 * self.tempo_bpm / (60.0 * sample_rate)
    }

    /// The clock of the next `frames`-long block; advances the clock while playing.
    pub fn next_block(&mut self, frames: u32, sample_rate: f64) -> BlockClock {
        let clock = BlockClock {
            playing: self.playing,
            tempo_bpm: self.tempo_bpm,
            beat: self.beat(sample_rate),
        };
        if self.playing {
            self.frames_since_anchor += frames as u64;
        }
        clock
    }
}

/// The session's timeline (on the server's clock) and the offset from the local clock to the
/// server's (the sync companion estimates it, drift included: its `SharedClock::read` gives the
/// offset as of the read, so a block built from a fresh read follows the clocks' drift between
/// the sparse pings of a locked clock).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TimelineWithOffset {
    /// The shared timeline, on the server's clock.
    pub timeline: Timeline,
    /// Server time minus local time around the block, in ms (read each block: it drifts).
    pub offset_ms: f64,
}

impl TimelineWithOffset {
    /// The clock of a block whose first frame plays at local time `local_ms` and which lasts
    /// `block_ms`. A block in which the shared transport starts plays, from a beat before the
    /// start (negative), so step 0 sounds on its exact frame inside it; nothing before step 0
    /// plays ([`crate::schedule::StepCursor::relocate`]).
    pub fn block_at(&self, local_ms: f64, block_ms: f64) -> BlockClock {
        let t = local_ms + self.offset_ms;
        let tl = &self.timeline;
        let position = tl.position_at(t).or_else(|| {
            // Stopped, or before the start: playing from here if the start comes before the
            // block's end.
            let starts_inside = tl.playing && tl.position_at(t + block_ms).is_some_and(|p| p > 0.0);
            starts_inside.then(|| tl.beat_at(t) - tl.start_beat)
        });
        match position {
            Some(beat) => BlockClock {
                playing: true,
                tempo_bpm: tl.tempo,
                beat,
            },
            None => BlockClock {
                playing: false,
                tempo_bpm: tl.tempo,
                beat: 0.0,
            },
        }
    }
}

/// Where a block's beat comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClockMode {
    /// The plugin host's transport (the internal clock while the host gives none).
    Host,
    /// The internal clock at the session tempo, started and stopped by the player.
    Internal,
    /// The live session's shared timeline ([`TimelineWithOffset`]).
    Session,
}

/// What decides one block's clock, in plain values (the plugin reads them from its parameters,
/// its host and the sync companion).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ClockInputs {
    /// The clock the player chose (the plugin's clock parameter).
    pub chosen: ClockMode,
    /// Running as the standalone app, which has no host transport: it plays on the internal
    /// clock until it joins a session, then follows the session whatever `chosen` says.
    pub standalone: bool,
    /// The joined session's timeline and clock offset; `None` before joining.
    pub session: Option<TimelineWithOffset>,
    /// The host's transport this block.
    pub host: HostTransport,
    /// The player's play/stop of the internal clock (the editor's transport button).
    pub run: bool,
    /// `run` in the previous block: a new start plays from step 0.
    pub was_running: bool,
    /// The session's tempo in BPM (the internal clock's tempo).
    pub session_tempo_bpm: f64,
    /// Frames in the block.
    pub frames: u32,
    /// Output sample rate in Hz.
    pub sample_rate_hz: f64,
}

impl ClockInputs {
    /// The clock that drives the block: the standalone app follows the session once it has
    /// joined one and the internal clock before; a plugin follows its chosen clock, except that
    /// a chosen session not joined yet plays alone on the internal clock.
    pub fn mode(&self) -> ClockMode {
        let joined = self.session.is_some();
        match (self.standalone, self.chosen) {
            (true, _) if joined => ClockMode::Session,
            (true, _) => ClockMode::Internal,
            (false, ClockMode::Session) if !joined => ClockMode::Internal,
            (false, mode) => mode,
        }
    }
}

/// The clock of one block, from the source [`ClockInputs::mode`] picks. `internal` is the
/// caller's internal clock (kept in step with the host while it has a transport, and with the
/// session's timeline while joined); on the internal clock a start plays from beat 0, except
/// right after a playing session was left, where it continues the session's phase. `block_local_ms` gives the local time at which the
/// block's first frame plays; it is called only in session mode (once).
pub fn block_clock(
    inputs: &ClockInputs,
    internal: &mut InternalClock,
    block_local_ms: impl FnOnce() -> f64,
) -> BlockClock {
    let (frames, sr) = (inputs.frames, inputs.sample_rate_hz);
    match (inputs.mode(), inputs.session) {
        (ClockMode::Host, _) => {
            resolve_host_clock(&inputs.host, internal, inputs.session_tempo_bpm, frames, sr).1
        }
        (ClockMode::Session, Some(session)) => {
            let clock = session.block_at(block_local_ms(), f64::from(frames) * 1000.0 / sr);
            // Leaving the session plays on from here (see the internal case).
            internal.follow(&clock, frames);
            clock
        }
        // Session mode is only picked once joined.
        (ClockMode::Session, None) => internal.next_block(frames, sr),
        (ClockMode::Internal, _) => {
            internal.set_tempo(inputs.session_tempo_bpm, sr);
            if !inputs.run {
                internal.stop();
            } else if !internal.playing || (!inputs.was_running && !internal.following) {
                internal.play_from(0.0);
            }
            // A session just left, while it played: the clock plays on from its beat.
            internal.following = false;
            internal.next_block(frames, sr)
        }
    }
}

/// Resolves a block's clock in host mode: the host's transport when it gives tempo and
/// position, otherwise the internal clock (at the host's tempo if it gives one, else the session
/// tempo). Returns which of the two it used.
pub fn resolve_host_clock(
    host: &HostTransport,
    internal: &mut InternalClock,
    session_tempo_bpm: f64,
    frames: u32,
    sample_rate: f64,
) -> (ClockMode, BlockClock) {
    let tempo = host.tempo_bpm.filter(|t| t.is_finite() && *t > 0.0);
    let beat = host.pos_beats.or_else(|| {
        let tempo = tempo?;
        let frames = host.pos_frames?;
        Some(frames as f64 * tempo / (60.0 * sample_rate))
    });
    if let (Some(tempo_bpm), Some(beat)) = (tempo, beat) {
        // Keep the internal clock in step, so a host that drops its transport continues smoothly.
        internal.set_tempo(tempo_bpm, sample_rate);
        let clock = BlockClock {
            playing: host.playing,
            tempo_bpm,
            beat,
        };
        return (ClockMode::Host, clock);
    }
    internal.set_tempo(tempo.unwrap_or(session_tempo_bpm), sample_rate);
    if !internal.playing {
        internal.play_from(0.0);
    }
    (
        ClockMode::Internal,
        internal.next_block(frames, sample_rate),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_clock_is_block_size_independent() {
        let mut a = InternalClock::new(120.0);
        let mut b = InternalClock::new(120.0);
        a.play_from(0.0);
        b.play_from(0.0);
        for _ in 0..1000 {
            a.next_block(7, 48_000.0);
        }
        for _ in 0..7 {
            b.next_block(1000, 48_000.0);
        }
        assert_eq!(a.beat(48_000.0), b.beat(48_000.0));
        assert!((a.beat(48_000.0) - 7000.0 / 24_000.0).abs() < 1e-12);
    }

    #[test]
    fn leaving_a_playing_session_plays_on_from_its_beat() {
        let sr = 48_000.0;
        let session = TimelineWithOffset {
            timeline: Timeline {
                playing: true,
                tempo: 120.0,
                anchor_time: 0.0,
                anchor_beat: 0.0,
                start_beat: 0.0,
                quantum: 4.0,
                playback: Default::default(),
            },
            offset_ms: 0.0,
        };
        let mut inputs = ClockInputs {
            chosen: ClockMode::Internal,
            standalone: true,
            session: Some(session),
            host: HostTransport::default(),
            run: false,
            was_running: false,
            session_tempo_bpm: 100.0,
            frames: 480,
            sample_rate_hz: sr,
        };
        let mut internal = InternalClock::new(100.0);
        // Joined, 10.5 s into the session's timeline (beat 21), block after block.
        let mut t_ms = 10_500.0;
        let mut last = BlockClock {
            playing: false,
            tempo_bpm: 0.0,
            beat: 0.0,
        };
        for _ in 0..10 {
            last = block_clock(&inputs, &mut internal, || t_ms);
            t_ms += 10.0;
        }
        assert!(last.playing && (last.beat - 21.18).abs() < 1e-9, "{last:?}");
        // Leave: no session, and the session bar asks the local transport to run.
        inputs.session = None;
        inputs.run = true;
        let after = block_clock(&inputs, &mut internal, || unreachable!());
        assert!(after.playing);
        assert!(
            (after.beat - (last.beat + 0.02)).abs() < 1e-9,
            "continues from {} at {}, not from 0",
            last.beat,
            after.beat
        );
        inputs.was_running = true;
        let next = block_clock(&inputs, &mut internal, || unreachable!());
        assert!((next.beat - after.beat - 480.0 * 100.0 / 60.0 / sr).abs() < 1e-9);
        // A new start after a stop still plays from step 0.
        inputs.run = false;
        block_clock(&inputs, &mut internal, || unreachable!());
        inputs.was_running = false;
        inputs.run = true;
        assert_eq!(
            block_clock(&inputs, &mut internal, || unreachable!()).beat,
            0.0
        );
        // Leaving a stopped session starts nothing.
        let mut stopped = session;
        stopped.timeline.playing = false;
        inputs.session = Some(stopped);
        inputs.run = false;
        block_clock(&inputs, &mut internal, || 0.0);
        inputs.session = None;
        assert!(!block_clock(&inputs, &mut internal, || 0.0).playing);
    }

    #[test]
    fn tempo_change_keeps_phase() {
        let mut c = InternalClock::new(120.0);
        c.play_from(0.0);
        c.next_block(24_000, 48_000.0);
        c.set_tempo(60.0, 48_000.0);
        assert!((c.beat(48_000.0) - 1.0).abs() < 1e-12);
        c.next_block(48_000, 48_000.0);
        assert!((c.beat(48_000.0) - 2.0).abs() < 1e-12);
    }

    #[test]
    fn host_clock_wins_when_complete_else_internal() {
        let mut internal = InternalClock::new(120.0);
        let host = HostTransport {
            playing: true,
            tempo_bpm: Some(100.0),
            pos_beats: Some(8.5),
            pos_frames: None,
        };
        let (src, c) = resolve_host_clock(&host, &mut internal, 120.0, 64, 48_000.0);
        assert_eq!(src, ClockMode::Host);
        assert_eq!(c.beat, 8.5);
        assert_eq!(c.tempo_bpm, 100.0);
        let bare = HostTransport::default();
        let (src, c) = resolve_host_clock(&bare, &mut internal, 90.0, 64, 48_000.0);
        assert_eq!(src, ClockMode::Internal);
        assert!(c.playing);
        assert_eq!(c.tempo_bpm, 90.0);
        // Frames but no beats: derived from the host tempo.
        let frames_only = HostTransport {
            playing: true,
            tempo_bpm: Some(120.0),
            pos_beats: None,
            pos_frames: Some(48_000),
        };
        let (_, c) = resolve_host_clock(&frames_only, &mut internal, 90.0, 64, 48_000.0);
        assert!((c.beat - 2.0).abs() < 1e-12);
    }

    fn inputs(chosen: ClockMode, standalone: bool, joined: bool) -> ClockInputs {
        let mut timeline = Timeline::new(100.0, 0.0);
        timeline.play(0.0, 0.0);
        ClockInputs {
            chosen,
            standalone,
            session: joined.then_some(TimelineWithOffset {
                timeline,
                offset_ms: 0.0,
            }),
            host: HostTransport {
                playing: true,
                tempo_bpm: Some(90.0),
                pos_beats: Some(16.0),
                pos_frames: None,
            },
            run: true,
            was_running: true,
            session_tempo_bpm: 120.0,
            frames: 480,
            sample_rate_hz: 48_000.0,
        }
    }

    #[test]
    fn the_mode_follows_the_choice_the_app_and_the_session() {
        use ClockMode::*;
        for (chosen, standalone, joined, want) in [
            (Host, false, false, Host),
            (Host, false, true, Host),
            (Internal, false, true, Internal),
            (Session, false, true, Session),
            (Session, false, false, Internal),
            (Host, true, false, Internal),
            (Host, true, true, Session),
            (Internal, true, true, Session),
        ] {
            let i = inputs(chosen, standalone, joined);
            assert_eq!(
                i.mode(),
                want,
                "{chosen:?} standalone {standalone} joined {joined}"
            );
        }
    }

    #[test]
    fn each_mode_gives_its_sources_clock() {
        let sr = 48_000.0;
        let mut internal = InternalClock::new(120.0);
        let never = || -> f64 { panic!("the local time is read only in session mode") };
        let host = block_clock(&inputs(ClockMode::Host, false, false), &mut internal, never);
        assert_eq!((host.beat, host.tempo_bpm), (16.0, 90.0));
        let session = block_clock(
            &inputs(ClockMode::Session, false, true),
            &mut internal,
            || {
                // 1.2 s after the session started, at 100 BPM: beat 2.
                1_200.0
            },
        );
        assert!(session.playing && (session.beat - 2.0).abs() < 1e-9);
        // The internal clock starts at beat 0 on a new start and stops with `run`.
        let mut i = inputs(ClockMode::Internal, false, false);
        let mut internal = InternalClock::new(120.0);
        internal.play_from(7.0);
        i.was_running = false;
        let c = block_clock(&i, &mut internal, never);
        assert_eq!((c.playing, c.beat, c.tempo_bpm), (true, 0.0, 120.0));
        i.was_running = true;
        let c = block_clock(&i, &mut internal, never);
        assert!((c.beat - 480.0 * 120.0 / (60.0 * sr)).abs() < 1e-12);
        i.run = false;
        assert!(!block_clock(&i, &mut internal, never).playing);
    }

    #[test]
    fn the_session_timeline_is_read_through_the_clock_offset() {
        let mut tl = Timeline::new(120.0, 0.0);
        tl.play(0.0, 0.0);
        let sc = TimelineWithOffset {
            timeline: tl,
            offset_ms: 1000.0,
        };
        // Local 0 ms is server 1000 ms = beat 2.
        let c = sc.block_at(0.0, 10.0);
        assert!(c.playing);
        assert!((c.beat - 2.0).abs() < 1e-9);
    }

    #[test]
    fn a_block_in_which_the_shared_start_falls_plays_from_before_the_start() {
        // Play starts at beat 4 (server 2000 ms at 120 BPM); the local clock is 1000 ms behind.
        let mut tl = Timeline::new(120.0, 0.0);
        tl.play(0.0, 1_900.0);
        assert_eq!(tl.start_beat, 4.0);
        let sc = TimelineWithOffset {
            timeline: tl,
            offset_ms: 1000.0,
        };
        // A 10 ms block from server 1995 ms: the start is 5 ms in, so it plays from -0.01.
        let c = sc.block_at(995.0, 10.0);
        assert!(c.playing, "the start falls inside the block: {c:?}");
        assert!((c.beat + 0.01).abs() < 1e-9, "{c:?}");
        // A block that ends exactly on the start does not play: the next one starts at 0.
        assert!(!sc.block_at(990.0, 10.0).playing);
        assert_eq!(sc.block_at(1000.0, 10.0).beat, 0.0);
        // Stopped: never.
        let mut stopped = sc;
        stopped.timeline.stop();
        assert!(!stopped.block_at(995.0, 10.0).playing);
    }
}
