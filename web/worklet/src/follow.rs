//! Following the session's clock from inside the AudioWorklet.
//!
//! The page sends a model of server time as a function of context time,
//! `server_ms = offset_ms + context_ms × ratio` (from the context's output timestamps and the live
//! client's clock estimate; `ratio` is the audio device's clock rate against the page's clock).
//! The worklet does not jump to each new model: it keeps a *played* server clock that advances
//! continuously, block by block, at the model's rate plus a small correction towards the model
//! (a phase-locked loop), and tells the engine the tempo scaled by that rate. So the beat at the
//! start of each block is exactly where the previous block ended (the engine never sees a jump,
//! which would release its notes), the output follows a device clock that runs fast or slow,
//! and a moved estimate is caught up within about a second. Only an error over
//! [`RESYNC_MS`] (the first block, a new device) is taken at once.

use keyboardia_core::clock::Timeline;
use keyboardia_engine::BlockClock;

/// Played-clock error taken at once rather than caught up, in ms.
pub const RESYNC_MS: f64 = 20.0;
/// Rate correction per ms of error (1 ms behind: 0.2 % faster; ~0.5 s time constant).
const GAIN_PER_MS: f64 = 0.002;
/// Largest rate correction (0.5 %: up to 5 ms caught up per second).
const MAX_CORRECTION: f64 = 0.005;

/// The page's model of server time against context time.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ServerModel {
    /// Server time at context time 0, in ms.
    pub offset_ms: f64,
    /// Server ms per context ms (1 ± the device clock's error).
    pub ratio: f64,
}

impl ServerModel {
    /// Server time of context time `context_ms`.
    pub fn server_ms(&self, context_ms: f64) -> f64 {
        self.offset_ms + context_ms * self.ratio
    }
}

/// One block as played in session mode.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PlayedBlock {
    /// What the engine plays.
    pub clock: BlockClock,
    /// Server time of the block's first frame, as played.
    pub server_ms: f64,
    /// Server ms per context ms during the block.
    pub rate: f64,
}

/// The played server clock.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Follower {
    /// The session's timeline.
    pub timeline: Option<Timeline>,
    /// The latest model from the page.
    pub model: Option<ServerModel>,
    /// Server time of the next block's first frame, as played; `None` before the first block.
    played_ms: Option<f64>,
}

impl Follower {
    /// The clock of the block of `frames` frames starting at context frame `first_frame`, or
    /// `None` without a timeline and a model.
    pub fn block(
        &mut self,
        first_frame: f64,
        frames: usize,
        sample_rate_hz: f64,
    ) -> Option<PlayedBlock> {
        let (timeline, model) = (self.timeline?, self.model?);
        let context_ms = first_frame / sample_rate_hz * 1000.0;
        let target = model.server_ms(context_ms);
        let played = match self.played_ms {
            Some(p) if (target - p).abs() < RESYNC_MS => p,
            _ => target,
        };
        let correction = ((target - played) * GAIN_PER_MS).clamp(-MAX_CORRECTION, MAX_CORRECTION);
        let rate = model.ratio * (1.0 + correction);
        self.played_ms = Some(played + frames as f64 / sample_rate_hz * 1000.0 * rate);
        let tempo_bpm = timeline.tempo * rate;
        // The position of the block's first frame, negative when the transport starts later:
        // a block the start falls inside plays from that negative beat, so the engine puts the
        // downbeat on its exact frame within the block (from the next block on, it would only
        // pick up after it and drop step 0).
        let beat = timeline.beat_at(played) - timeline.start_beat;
        let block_beats = frames as f64 * tempo_bpm / (60.0 * sample_rate_hz);
        let clock = if timeline.playing && beat + block_beats > 0.0 {
            BlockClock {
                playing: true,
                tempo_bpm,
                beat,
            }
        } else {
            BlockClock {
                playing: false,
                tempo_bpm: timeline.tempo,
                beat: 0.0,
            }
        };
        Some(PlayedBlock {
            clock,
            server_ms: played,
            rate,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SR: f64 = 48_000.0;

    fn timeline() -> Timeline {
        Timeline {
            playing: true,
            tempo: 120.0,
            anchor_time: 0.0,
            anchor_beat: 0.0,
            start_beat: 0.0,
            quantum: 4.0,
            playback: Default::default(),
        }
    }

    /// Blocks chain exactly on the beat axis (what the engine checks for jumps), while the
    /// played clock converges on a model whose device clock runs 1.2 % slow and whose offset
    /// moved by 3 ms.
    #[test]
    fn follows_a_slow_device_without_jumps() {
        let mut f = Follower {
            timeline: Some(timeline()),
            model: Some(ServerModel {
                offset_ms: 1_000.0,
                ratio: 1.012,
            }),
            ..Follower::default()
        };
        let mut prev_end: Option<f64> = None;
        for b in 0..4_000u32 {
            if b == 1_000 {
                f.model = Some(ServerModel {
                    offset_ms: 1_003.0,
                    ratio: 1.012,
                });
            }
            let first = f64::from(b) * 128.0;
            let p = f.block(first, 128, SR).unwrap();
            if let Some(e) = prev_end {
                let fpb = SR * 60.0 / p.clock.tempo_bpm;
                assert!((e - p.clock.beat).abs() < 0.01 / fpb, "block {b}: a jump");
            }
            prev_end = Some(p.clock.beat + 128.0 * p.clock.tempo_bpm / (60.0 * SR));
            let target = f.model.unwrap().server_ms(first / SR * 1000.0);
            if b > 2_000 {
                assert!(
                    (p.server_ms - target).abs() < 0.05,
                    "block {b} off by {}",
                    p.server_ms - target
                );
            }
        }
    }

    /// A start inside a block: that block plays from the (negative) position of its first
    /// frame, the block before it is stopped, and the next one chains on.
    #[test]
    fn the_block_the_start_falls_in_plays_from_before_the_start() {
        let mut f = Follower {
            // Server time 0 is context frame 0; the transport starts 10 ms in (frame 480,
            // inside the block of frames 384..512).
            timeline: Some(Timeline {
                anchor_time: 10.0,
                ..timeline()
            }),
            model: Some(ServerModel {
                offset_ms: 0.0,
                ratio: 1.0,
            }),
            ..Follower::default()
        };
        let clocks: Vec<BlockClock> = (0..5)
            .map(|b| f.block(f64::from(b) * 128.0, 128, SR).unwrap().clock)
            .collect();
        assert!(clocks[..3].iter().all(|c| !c.playing));
        let frames_per_beat = SR / 2.0;
        assert!(clocks[3].playing);
        assert!((clocks[3].beat * frames_per_beat - (384.0 - 480.0)).abs() < 1e-6);
        assert!((clocks[4].beat * frames_per_beat - (512.0 - 480.0)).abs() < 1e-6);
    }

    #[test]
    fn a_large_error_is_taken_at_once() {
        let mut f = Follower {
            timeline: Some(timeline()),
            model: Some(ServerModel {
                offset_ms: 0.0,
                ratio: 1.0,
            }),
            ..Follower::default()
        };
        f.block(0.0, 128, SR);
        f.model = Some(ServerModel {
            offset_ms: 500.0,
            ratio: 1.0,
        });
        let p = f.block(128.0, 128, SR).unwrap();
        assert!((p.server_ms - (500.0 + 128.0 / 48.0)).abs() < 1e-9);
        assert!((p.clock.beat - p.server_ms / 500.0).abs() < 1e-9);
    }
}
