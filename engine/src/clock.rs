//! Where the beat comes from: the host's transport, an internal clock, or (later) the session's
//! server timeline. Each source answers one question per audio block: "playing or not, at what
//! tempo, and at which beat does this block start?" — a [`BlockClock`]. The engine only ever sees
//! `BlockClock`s, so a new source needs no change to the sequencer.

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
}

impl InternalClock {
    /// A stopped clock at beat 0.
    pub fn new(tempo_bpm: f64) -> Self {
        Self {
            playing: false,
            tempo_bpm,
            anchor_beat: 0.0,
            frames_since_anchor: 0,
        }
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
        self.playing = true;
        self.anchor_beat = beat;
        self.frames_since_anchor = 0;
    }

    pub fn stop(&mut self) {
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

/// The session's server timeline seen through a clock-offset estimate (the sync issue feeds it).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ServerClock {
    /// The shared timeline, on the server's clock.
    pub timeline: Timeline,
    /// Server time minus local time, in ms.
    pub offset_ms: f64,
}

impl ServerClock {
    /// The clock of a block whose first frame plays at local time `local_ms`.
    pub fn block_at(&self, local_ms: f64) -> BlockClock {
        let t = local_ms + self.offset_ms;
        match self.timeline.position_at(t) {
            Some(beat) => BlockClock {
                playing: true,
                tempo_bpm: self.timeline.tempo,
                beat,
            },
            None => BlockClock {
                playing: false,
                tempo_bpm: self.timeline.tempo,
                beat: 0.0,
            },
        }
    }
}

/// The clock sources of the engine. `Host` follows a plugin host; `Internal` free-runs at the
/// session tempo; `Server` follows the shared timeline (driven by the sync companion).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum ClockSource {
    Host,
    Internal,
    Server(ServerClock),
}

/// Resolves a block's clock: the host's transport when it gives tempo and position, otherwise
/// the internal clock (at the host's tempo if it gives one, else the session tempo).
pub fn resolve_host_clock(
    host: &HostTransport,
    internal: &mut InternalClock,
    session_tempo_bpm: f64,
    frames: u32,
    sample_rate: f64,
) -> (ClockSource, BlockClock) {
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
        return (ClockSource::Host, clock);
    }
    internal.set_tempo(tempo.unwrap_or(session_tempo_bpm), sample_rate);
    if !internal.playing {
        internal.play_from(0.0);
    }
    (
        ClockSource::Internal,
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
        assert_eq!(src, ClockSource::Host);
        assert_eq!(c.beat, 8.5);
        assert_eq!(c.tempo_bpm, 100.0);
        let bare = HostTransport::default();
        let (src, c) = resolve_host_clock(&bare, &mut internal, 90.0, 64, 48_000.0);
        assert_eq!(src, ClockSource::Internal);
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

    #[test]
    fn server_clock_follows_timeline_with_offset() {
        let mut tl = Timeline::new(120.0, 0.0);
        tl.play(0.0, 0.0);
        let sc = ServerClock {
            timeline: tl,
            offset_ms: 1000.0,
        };
        // Local 0 ms is server 1000 ms = beat 2.
        let c = sc.block_at(0.0);
        assert!(c.playing);
        assert!((c.beat - 2.0).abs() < 1e-9);
    }
}
