//! Playing alone: the page's own transport, for the beat page and a session page before (or
//! without) its room. It is a [`Timeline`] on the page's clock (`performance.now()` ms stand in
//! for server time), whose [`Playback`](keyboardia_core::song::Playback) is stamped exactly as
//! the room stamps the shared one (core's `song` rules, with this transport's start and a lead
//! ahead of now), so the worklet follows it the way it follows the room's, and the editor reads
//! the pattern, the song position and the fill switch from it the same way.

use keyboardia_core::clock::Timeline;
use keyboardia_core::song::{Arrangement, PlaybackView, STEPS_PER_BEAT};
use keyboardia_core::PatternId;

/// The page's own transport: its timeline and what it plays.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Alone {
    /// The beat line on the page's clock, the transport, and the stamped playback.
    timeline: Timeline,
}

impl Alone {
    /// Stopped at `tempo`, pattern A, its beat line at 0 at page time `now`.
    pub fn new(tempo: f64, now: f64) -> Self {
        Self {
            timeline: Timeline::new(tempo, now),
        }
    }

    /// The timeline the worklet follows (on the page's clock).
    pub fn timeline(&self) -> &Timeline {
        &self.timeline
    }

    /// Starts the transport `lead_ms` after `now`, on a bar line: the stopped beat line moves
    /// ahead to put its next bar line there (never back, so every beat stamped before stays
    /// behind the new start, where it counts as the start). Playing already: nothing changes.
    pub fn play(&mut self, now: f64, lead_ms: f64) {
        let tl = &mut self.timeline;
        if tl.playing {
            return;
        }
        let at = now + lead_ms;
        tl.anchor_beat = (tl.beat_at(at) / tl.quantum).ceil() * tl.quantum;
        tl.anchor_time = at;
        tl.play(at, 0.0);
    }

    pub fn stop(&mut self) {
        self.timeline.stop();
    }

    /// Follows the session's tempo from `now` on, without a jump in phase.
    pub fn set_tempo(&mut self, now: f64, tempo: f64) {
        if tempo != self.timeline.tempo && tempo.is_finite() && tempo > 0.0 {
            self.timeline.set_tempo(now, tempo);
        }
    }

    /// The earliest beat a change may take effect on: `lead_ms` after `now`, as the room
    /// stamps with its start lead.
    fn earliest(&self, now: f64, lead_ms: f64) -> f64 {
        self.timeline.beat_at(now + lead_ms)
    }

    /// Queues pattern `pt` (core's [`Playback::cue_pattern`]: the next boundary at least
    /// `lead_ms` after `now`; at once while stopped).
    ///
    /// [`Playback::cue_pattern`]: keyboardia_core::song::Playback::cue_pattern
    pub fn cue_pattern(&mut self, arr: &Arrangement, pt: PatternId, now: f64, lead_ms: f64) {
        let earliest = self.earliest(now, lead_ms);
        let tl = &mut self.timeline;
        tl.playback
            .cue_pattern(arr, pt, tl.playing, tl.start_beat, earliest);
    }

    /// Song mode on or off (core's [`Playback::set_song_mode`]).
    ///
    /// [`Playback::set_song_mode`]: keyboardia_core::song::Playback::set_song_mode
    pub fn set_song_mode(&mut self, arr: &Arrangement, on: bool, now: f64, lead_ms: f64) {
        let earliest = self.earliest(now, lead_ms);
        let tl = &mut self.timeline;
        tl.playback
            .set_song_mode(arr, on, tl.playing, tl.start_beat, earliest);
    }

    /// The fill switch from the first step at least `lead_ms` after `now` (core's
    /// [`Playback::set_fill`]).
    ///
    /// [`Playback::set_fill`]: keyboardia_core::song::Playback::set_fill
    pub fn set_fill(&mut self, on: bool, now: f64, lead_ms: f64) {
        let earliest = self.earliest(now, lead_ms);
        let tl = &mut self.timeline;
        tl.playback
            .set_fill(on, tl.playing, tl.start_beat, earliest);
    }
}

/// The 16th step (since the transport's start) that plays at time `t` on `tl`'s clock, while
/// it plays.
pub fn step_at(tl: &Timeline, t: f64) -> Option<u64> {
    tl.position_at(t)
        .map(|beat| (beat * STEPS_PER_BEAT).max(0.0) as u64)
}

/// What plays at time `t` on `tl`: the pattern and its run's origin, a queued switch, the song
/// position, the fill switch (stopped: what plays from the start).
pub fn view_at(tl: &Timeline, arr: &Arrangement, t: f64) -> PlaybackView {
    tl.playback
        .view(arr, tl.start_beat, step_at(tl, t).unwrap_or(0))
}

#[cfg(test)]
mod tests {
    use super::*;
    use keyboardia_core::song::{beat_of_step, Play};
    use keyboardia_core::{SessionState, SongEntry};

    fn pt(s: &str) -> PatternId {
        s.parse().unwrap()
    }

    /// 16 steps a pattern: a bar is 16 steps, 2 s at 120 BPM.
    fn state() -> SessionState {
        SessionState {
            tempo: 120.0,
            song: vec![
                SongEntry {
                    pattern: pt("A"),
                    repeats: 1,
                },
                SongEntry {
                    pattern: pt("B"),
                    repeats: 2,
                },
            ],
            ..SessionState::default()
        }
    }

    #[test]
    fn play_starts_on_a_bar_line_after_the_lead_and_again_after_a_stop() {
        let mut a = Alone::new(120.0, 1_000.0);
        assert_eq!(step_at(a.timeline(), 5_000.0), None, "stopped");
        // Play at page time 2 300 ms: step 0 sounds 100 ms later, on a bar line.
        a.play(2_300.0, 100.0);
        let tl = *a.timeline();
        assert_eq!(tl.start_beat % tl.quantum, 0.0);
        assert_eq!(tl.time_at(tl.start_beat), 2_400.0);
        assert_eq!(step_at(&tl, 2_399.0), None);
        assert_eq!(step_at(&tl, 2_400.0), Some(0));
        assert_eq!(step_at(&tl, 2_400.0 + 125.0 * 5.0), Some(5));
        a.play(3_000.0, 100.0);
        assert_eq!(*a.timeline(), tl, "playing already");
        // Stopped and played again 0.7 s later: step 0 again, the beat line only moved ahead.
        a.stop();
        a.play(4_000.0, 100.0);
        let again = *a.timeline();
        assert_eq!(step_at(&again, 4_100.0), Some(0));
        assert!(again.start_beat > tl.start_beat);
        assert!(again.beat_at(4_000.0) >= tl.beat_at(4_000.0));
    }

    #[test]
    fn a_cue_takes_over_at_the_next_bar_after_the_lead_as_the_room_stamps_it() {
        let s = state();
        let arr = Arrangement::of(&s);
        let mut a = Alone::new(120.0, 0.0);
        a.play(0.0, 100.0);
        let start = a.timeline().start_beat;
        // 1.95 s in (step 15.6): with a 100 ms lead the earliest step is 17, so bar 2 (step 32).
        a.cue_pattern(&arr, pt("B"), 100.0 + 1_950.0, 100.0);
        let cue = a.timeline().playback.next.unwrap();
        assert_eq!(cue.play, Play::Pattern(pt("B")));
        assert_eq!(cue.at_beat, beat_of_step(32, start));
        let at = |step: f64| 100.0 + step * 125.0;
        let v = view_at(a.timeline(), &arr, at(31.5));
        assert_eq!(
            (v.pattern, v.queued),
            (pt("A"), Some(Play::Pattern(pt("B"))))
        );
        let v = view_at(a.timeline(), &arr, at(32.0));
        assert_eq!((v.pattern, v.origin, v.queued), (pt("B"), 32, None));
        // Stopped, a cue plays at once from the start.
        a.stop();
        a.cue_pattern(&arr, pt("C"), at(40.0), 100.0);
        assert_eq!(view_at(a.timeline(), &arr, at(41.0)).pattern, pt("C"));
    }

    #[test]
    fn the_song_plays_its_entries_and_the_fill_is_stamped_on_a_step() {
        let s = state();
        let arr = Arrangement::of(&s);
        let mut a = Alone::new(120.0, 0.0);
        a.set_song_mode(&arr, true, 0.0, 100.0);
        a.play(0.0, 100.0);
        let at = |step: f64| 100.0 + step * 125.0;
        let view = |a: &Alone, step| view_at(a.timeline(), &arr, at(step));
        assert!(view(&a, 3.0).song_mode);
        assert_eq!(view(&a, 15.0).pattern, pt("A"));
        let b = view(&a, 40.0);
        assert_eq!((b.pattern, b.origin), (pt("B"), 16));
        assert_eq!(b.position.unwrap().repeat, 1);
        assert_eq!(
            view(&a, 48.0).pattern,
            pt("A"),
            "the song loops after 3 bars"
        );
        // Fill pressed at step 10.5: on from step 12 (the first step after the 100 ms lead).
        a.set_fill(true, at(10.5), 100.0);
        assert!(!view(&a, 11.0).fill);
        assert!(view(&a, 12.0).fill);
    }

    #[test]
    fn a_tempo_change_keeps_the_phase() {
        let mut a = Alone::new(120.0, 0.0);
        a.play(0.0, 0.0);
        let before = a.timeline().position_at(1_000.0).unwrap();
        a.set_tempo(1_000.0, 90.0);
        assert!((a.timeline().position_at(1_000.0).unwrap() - before).abs() < 1e-9);
        assert_eq!(a.timeline().tempo, 90.0);
        a.set_tempo(1_000.0, f64::NAN);
        assert_eq!(a.timeline().tempo, 90.0);
    }
}
