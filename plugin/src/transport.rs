//! The small, lock-free link between the audio thread and the editor: the audio thread publishes
//! where each track's playhead is (once per block), the editor asks to play or stop. Plain atomics
//! only, so `process()` neither allocates nor locks to use it.

use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};

use keyboardia_core::MAX_TRACKS;

/// Shared by `Arc` between the plugin (audio thread) and the editor (GUI thread).
#[derive(Debug)]
pub struct Transport {
    /// The step each track slot (position in the pattern's track list) plays in the current
    /// block; written by the audio thread once per block.
    steps: [AtomicU8; MAX_TRACKS],
    /// Whether the sequencer's clock ran in the last block (written by the audio thread).
    playing: AtomicBool,
    /// The local play/stop request (GUI play button, space bar). It starts and stops the internal
    /// clock; a host's transport ignores it.
    run: AtomicBool,
}

impl Transport {
    /// A stopped transport whose play request is `run`.
    pub fn new(run: bool) -> Self {
        Self {
            steps: std::array::from_fn(|_| AtomicU8::new(0)),
            playing: AtomicBool::new(false),
            run: AtomicBool::new(run),
        }
    }

    /// Audio thread: publishes the block's playheads. `beat` is the block's song position in
    /// quarter notes; each track's step is the 16th-note counter modulo its step count.
    pub fn publish(&self, playing: bool, beat: f64, step_counts: impl Iterator<Item = u8>) {
        let sixteenth = (beat * 4.0).floor().max(0.0) as u64;
        for (slot, count) in self.steps.iter().zip(step_counts) {
            let step = sixteenth % u64::from(count.max(1));
            slot.store(step as u8, Ordering::Relaxed);
        }
        self.playing.store(playing, Ordering::Release);
    }

    /// Audio thread: says the clock is stopped (playheads keep their last position).
    pub fn publish_stopped(&self) {
        self.playing.store(false, Ordering::Release);
    }

    /// The step track slot `slot` played in the last block.
    pub fn step(&self, slot: usize) -> u8 {
        self.steps
            .get(slot)
            .map_or(0, |s| s.load(Ordering::Relaxed))
    }

    /// Whether the sequencer ran in the last block.
    pub fn playing(&self) -> bool {
        self.playing.load(Ordering::Acquire)
    }

    /// The local play request.
    pub fn run(&self) -> bool {
        self.run.load(Ordering::Acquire)
    }

    /// Sets the local play request (GUI thread).
    pub fn set_run(&self, run: bool) {
        self.run.store(run, Ordering::Release);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn playheads_wrap_at_each_track_step_count() {
        let t = Transport::new(true);
        // Beat 4.25 is 16th number 17.
        t.publish(true, 4.25, [16u8, 12, 64, 1].into_iter());
        assert_eq!((t.step(0), t.step(1), t.step(2), t.step(3)), (1, 5, 17, 0));
        assert!(t.playing());
        t.publish_stopped();
        assert!(!t.playing());
        assert_eq!(t.step(0), 1);
        t.set_run(false);
        assert!(!t.run());
    }
}
