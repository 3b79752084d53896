//! The small, lock-free link between the audio thread and the editor: the audio thread publishes
//! the song position and what plays (once per block), the editor derives every track's playhead
//! from them and asks to play or stop, to cue a pattern, for song mode and for fill. Plain
//! atomics only, so `process()` neither allocates nor locks to use it.
//!
//! One counter rather than one atomic per track: the editor reads a consistent set of playheads
//! (all tracks from the same block), each wrapped at its own track's step count.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use keyboardia_core::song::PlaybackView;
use keyboardia_core::PatternId;

use crate::playback::{Request, RequestSlot, ViewCell};

/// Shared by `Arc` between the plugin (audio thread) and the editor (GUI thread).
#[derive(Debug)]
pub struct Transport {
    /// The global 16th-note counter of the current block (step 0 at beat 0); written by the
    /// audio thread once per block. Track `t` plays step `sixteenth % t.step_count`.
    sixteenth: AtomicU64,
    /// Whether the sequencer's clock ran in the last block (written by the audio thread).
    playing: AtomicBool,
    /// The local play/stop request (GUI play button, space bar). It starts and stops the internal
    /// clock; a host's transport ignores it.
    run: AtomicBool,
    /// The editor's Fill button (held or latched): FILL / NOT FILL trig conditions follow it,
    /// as they follow the "Fill" parameter.
    fill: AtomicBool,
    /// The editor's pattern cue or song mode switch, taken by the audio thread at its next
    /// block (which stamps it, or hands it to the room in a live session).
    requests: RequestSlot,
    /// What plays, as of the last block (written by the audio thread).
    view: ViewCell,
}

impl Transport {
    /// A stopped transport whose play request is `run`.
    pub fn new(run: bool) -> Self {
        Self {
            sixteenth: AtomicU64::new(0),
            playing: AtomicBool::new(false),
            run: AtomicBool::new(run),
            fill: AtomicBool::new(false),
            requests: RequestSlot::default(),
            view: ViewCell::default(),
        }
    }

    /// Audio thread: publishes a playing block at song position `beat` (quarter notes).
    pub fn publish(&self, beat: f64) {
        let sixteenth = (beat * 4.0).floor().max(0.0) as u64;
        self.sixteenth.store(sixteenth, Ordering::Relaxed);
        self.playing.store(true, Ordering::Release);
    }

    /// Audio thread: says the clock is stopped (playheads keep their last position).
    pub fn publish_stopped(&self) {
        self.playing.store(false, Ordering::Release);
    }

    /// The 16th-note counter of the last block.
    pub fn sixteenth(&self) -> u64 {
        self.sixteenth.load(Ordering::Relaxed)
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

    /// The editor's fill switch.
    pub fn fill(&self) -> bool {
        self.fill.load(Ordering::Acquire)
    }

    /// Sets the editor's fill switch (GUI thread); the audio thread reads it each block.
    pub fn set_fill(&self, on: bool) {
        self.fill.store(on, Ordering::Release);
    }

    /// Queues pattern `pt` (GUI thread): the audio thread stamps it at its next block, or hands
    /// it to the room.
    pub fn cue_pattern(&self, pt: PatternId) {
        self.requests.post(Request::Cue(pt));
    }

    /// Switches song mode on or off (GUI thread), as [`Transport::cue_pattern`].
    pub fn set_song_mode(&self, on: bool) {
        self.requests.post(Request::SongMode(on));
    }

    /// Audio thread: the editor's request not taken yet.
    pub fn take_request(&self) -> Option<Request> {
        self.requests.take()
    }

    /// Audio thread: publishes what plays at the current block.
    pub fn publish_view(&self, view: &PlaybackView) {
        self.view.publish(view);
    }

    /// What plays, as of the last block.
    pub fn playback_view(&self) -> PlaybackView {
        self.view.read()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn playheads_wrap_at_each_track_step_count() {
        let t = Transport::new(true);
        // Beat 4.25 is 16th number 17.
        t.publish(4.25);
        let at = |count| keyboardia_ui::host::step_of(t.sixteenth(), count);
        assert_eq!((at(16), at(12), at(64), at(1)), (1, 5, 17, 0));
        assert!(t.playing());
        t.publish_stopped();
        assert!(!t.playing());
        assert_eq!(at(16), 1);
        t.set_run(false);
        assert!(!t.run());
    }

    #[test]
    fn the_editors_cues_reach_the_audio_thread_and_what_plays_comes_back() {
        let t = Transport::new(false);
        assert_eq!(t.take_request(), None);
        let c: PatternId = "C".parse().unwrap();
        t.cue_pattern(c);
        assert_eq!(t.take_request(), Some(Request::Cue(c)));
        t.set_song_mode(true);
        assert_eq!(t.take_request(), Some(Request::SongMode(true)));
        assert_eq!(t.take_request(), None, "taken once");
        let view = PlaybackView {
            pattern: c,
            origin: 32,
            ..PlaybackView::default()
        };
        t.publish_view(&view);
        assert_eq!(t.playback_view(), view);
    }
}
