//! Pattern and song playback on the shared timeline: what plays at any step, where a queued
//! pattern takes over, and the song position. Pure math, sans-IO.
//!
//! A [`Playback`] says what plays (one pattern looping, or the song) since which beat of the
//! beat line, and what plays from a later beat on (a queued switch). In a live session it rides
//! on the room's `Timeline`: the room stamps every switch, song start
//! and fill change with the beat where it takes effect, so every player switches on the same
//! step, and a late joiner, who gets the timeline in its snapshot, computes the same position
//! from the same beat. A plugin or standalone without a room keeps its own [`Playback`] and
//! stamps it the same way against its own transport start.
//!
//! Positions are counted in 16th steps since the transport's start (`start_beat`, a bar line):
//! step `n` plays at beat `start_beat + n / 4`. A pattern *run* starts at a step (its origin):
//! each track of the pattern plays its step `(n - origin) % step_count`, and a trig condition's
//! loop count is `(n - origin) / step_count`, so every pattern starts from its first step and
//! its first loop when it takes over. In song mode each entry is one run of its pattern, for
//! `repeats` passes of the pattern's longest track; the song loops.

use serde::{Deserialize, Serialize};

use crate::model::{PatternId, SessionState, SongEntry, SwitchAt, MAX_PATTERNS};

/// 16th steps per beat.
pub const STEPS_PER_BEAT: f64 = 4.0;
/// Steps per bar (a bar of 4/4).
pub const BAR_STEPS: u64 = 16;

/// What plays: one pattern looping, or the song. JSON `{"pattern":"B"}` or `"song"`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Play {
    /// Pattern mode: the pattern loops.
    Pattern(PatternId),
    /// Song mode: the session's song plays from its first entry, and loops.
    Song,
}

impl Play {
    /// Code of [`Play::Song`] in [`Play::code`].
    const SONG_CODE: u8 = MAX_PATTERNS as u8;

    /// A small number for lock-free hand-offs (an atomic, a float field of a seqlock): a
    /// pattern's index (0 for A to 7 for H), 8 for the song. [`Play::from_code`] reads it back.
    pub fn code(self) -> u8 {
        match self {
            Play::Pattern(pt) => pt.index() as u8,
            Play::Song => Self::SONG_CODE,
        }
    }

    /// What [`Play::code`] gave `code` for; `None` for any other number.
    pub fn from_code(code: u8) -> Option<Self> {
        match code {
            Self::SONG_CODE => Some(Play::Song),
            c => PatternId::new(c as usize).map(Play::Pattern),
        }
    }
}

/// A change stamped to take effect at a beat.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Cue {
    /// What plays from `at_beat` on.
    pub play: Play,
    /// The beat of the beat line where it takes over (a bar line or the end of a pass).
    pub at_beat: f64,
}

/// What plays when, on the beat line (see the module doc). JSON (inside the timeline):
/// `{"play":{"pattern":"A"},"sinceBeat":0.0,"next":{…},"fill":true,"fillBeat":132.25}`; the
/// default (pattern A, nothing queued, fill off) is left out of the timeline, so timelines from
/// before patterns read and write unchanged.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Playback {
    /// What plays from `since_beat` on (until `next` takes over).
    pub play: Play,
    /// The beat where `play` began. A beat before the transport's start counts as the start,
    /// so a pattern or song that was playing when the transport stopped starts over at play.
    pub since_beat: f64,
    /// A queued change and the beat where it takes over; at most one (a newer cue replaces it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next: Option<Cue>,
    /// The fill switch (FILL / NOT FILL trig conditions) from `fill_beat` on; the opposite
    /// before it.
    #[serde(default)]
    pub fill: bool,
    /// The beat where `fill` took its value (a step boundary).
    #[serde(default)]
    pub fill_beat: f64,
}

impl Default for Playback {
    fn default() -> Self {
        Self {
            play: Play::Pattern(PatternId::A),
            since_beat: 0.0,
            next: None,
            fill: false,
            fill_beat: 0.0,
        }
    }
}

/// What the song and the patterns look like to playback: the song, each pattern's pass length
/// and the switch setting. Built from a [`SessionState`] ([`Arrangement::of`]) or from the
/// engine's fixed-size copy of one.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Arrangement<'a> {
    /// The song's entries in order.
    pub song: &'a [SongEntry],
    /// One pass of each pattern in steps ([`SessionState::pattern_steps`]), at least 1.
    pub pass_steps: [u32; MAX_PATTERNS],
    /// When a queued pattern takes over.
    pub switch_at: SwitchAt,
}

impl<'a> Arrangement<'a> {
    /// The arrangement of `state`.
    pub fn of(state: &'a SessionState) -> Self {
        let mut pass_steps = [0; MAX_PATTERNS];
        for (len, pt) in pass_steps.iter_mut().zip(PatternId::ALL) {
            *len = state.pattern_steps(pt);
        }
        Self {
            song: &state.song,
            pass_steps,
            switch_at: state.switch_at,
        }
    }

    fn pass(&self, pt: PatternId) -> u64 {
        u64::from(self.pass_steps[pt.index()].max(1))
    }
}

/// Where the song is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SongPosition {
    /// Index of the playing entry in the song.
    pub entry: usize,
    /// The entry's pattern.
    pub pattern: PatternId,
    /// Which pass of the entry's pattern, from 0 (below the entry's repeats).
    pub repeat: u8,
    /// The bar within the pass, from 0.
    pub bar: u32,
    /// The step within the pass, from 0.
    pub step: u32,
    /// Steps since the song began where this entry began (counting earlier loops of the song).
    pub entry_start: u64,
    /// One pass of the entry's pattern in steps.
    pub pass_steps: u32,
}

/// The song position `steps` steps after the song began (the song loops); `None` for an empty
/// song.
pub fn song_position(arr: &Arrangement, steps: u64) -> Option<SongPosition> {
    let total: u64 = arr
        .song
        .iter()
        .map(|e| arr.pass(e.pattern) * u64::from(e.repeats))
        .sum();
    if total == 0 {
        return None;
    }
    let within = steps % total;
    let mut start = 0;
    for (entry, e) in arr.song.iter().enumerate() {
        let pass = arr.pass(e.pattern);
        let len = pass * u64::from(e.repeats);
        if within < start + len {
            let into = within - start;
            let step = (into % pass) as u32;
            return Some(SongPosition {
                entry,
                pattern: e.pattern,
                repeat: (into / pass) as u8,
                bar: step / BAR_STEPS as u32,
                step,
                entry_start: steps - within + start,
                pass_steps: pass as u32,
            });
        }
        start += len;
    }
    None
}

/// A pattern run: which pattern plays and the step (since the transport's start) where it
/// began, so a track's step is `(n - origin) % step_count` and its loop count
/// `(n - origin) / step_count`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Run {
    /// The pattern playing.
    pub pattern: PatternId,
    /// The step (since the transport's start) where this run of it began.
    pub origin: u64,
}

/// The step a track of `step_count` steps plays at step `step` of a run that began at step
/// `origin` (both since the transport's start).
pub fn step_in_run(step: u64, origin: u64, step_count: u8) -> u8 {
    (step.saturating_sub(origin) % u64::from(step_count.max(1))) as u8
}

/// The step of beat `beat` counted from `start_beat` (rounded: stamps sit on step
/// boundaries), 0 for beats before the start.
pub fn step_of_beat(beat: f64, start_beat: f64) -> u64 {
    let s = ((beat - start_beat) * STEPS_PER_BEAT).round();
    if s > 0.0 {
        s as u64
    } else {
        0
    }
}

/// The first step at or after beat `beat` (0 before the start).
fn first_step_from(beat: f64, start_beat: f64) -> u64 {
    let s = ((beat - start_beat) * STEPS_PER_BEAT).ceil();
    if s > 0.0 {
        s as u64
    } else {
        0
    }
}

/// The beat of step `step` counted from `start_beat`.
pub fn beat_of_step(step: u64, start_beat: f64) -> f64 {
    start_beat + step as f64 / STEPS_PER_BEAT
}

impl Playback {
    /// The default (pattern A from the start, nothing queued, fill off): left out of the JSON.
    pub fn is_default(&self) -> bool {
        *self == Self::default()
    }

    /// What plays at step `step` (since the transport's start at `start_beat`), and the step
    /// where that began.
    pub fn play_at(&self, start_beat: f64, step: u64) -> (Play, u64) {
        if let Some(cue) = self.next {
            let at = step_of_beat(cue.at_beat, start_beat);
            if step >= at {
                return (cue.play, at);
            }
        }
        (self.play, step_of_beat(self.since_beat, start_beat))
    }

    /// The pattern run at step `step`: in pattern mode the pattern since it took over, in song
    /// mode the entry's pattern since the entry began (pattern A for an empty song).
    pub fn run_at(&self, arr: &Arrangement, start_beat: f64, step: u64) -> Run {
        let (play, since) = self.play_at(start_beat, step);
        match play {
            Play::Pattern(pattern) => Run {
                pattern,
                origin: since,
            },
            Play::Song => match song_position(arr, step - since.min(step)) {
                Some(pos) => Run {
                    pattern: pos.pattern,
                    origin: since + pos.entry_start,
                },
                None => Run {
                    pattern: PatternId::A,
                    origin: since,
                },
            },
        }
    }

    /// The song position at step `step`, while the song plays then.
    pub fn song_position_at(
        &self,
        arr: &Arrangement,
        start_beat: f64,
        step: u64,
    ) -> Option<SongPosition> {
        match self.play_at(start_beat, step) {
            (Play::Song, since) => song_position(arr, step - since.min(step)),
            _ => None,
        }
    }

    /// Whether the fill switch is on at step `step`.
    pub fn fill_at(&self, start_beat: f64, step: u64) -> bool {
        if step >= step_of_beat(self.fill_beat, start_beat) {
            self.fill
        } else {
            !self.fill
        }
    }

    /// The first step at or after step `earliest` where a queued change may take over: the
    /// next bar line, or the end of the playing pattern's pass ([`SwitchAt`]).
    pub fn next_boundary(&self, arr: &Arrangement, start_beat: f64, earliest: u64) -> u64 {
        let round_up = |origin: u64, every: u64| {
            let into = earliest.saturating_sub(origin);
            origin + into.div_ceil(every) * every
        };
        match arr.switch_at {
            SwitchAt::Bar => round_up(0, BAR_STEPS),
            SwitchAt::LongestTrack => {
                let run = self.run_at(arr, start_beat, earliest);
                round_up(run.origin, arr.pass(run.pattern))
            }
        }
    }

    /// The transport stopped or jumped (a player's own transport: a DAW relocating, the
    /// internal clock stopping, which starts from 0 again): what plays at `beat`, a change
    /// queued after it included, plays from the start of the beat line (its beat 0), so the
    /// host's position maps onto the pattern's runs and the song; the fill switch stays as it
    /// is. The room needs none of this: each start of its transport is a new `start_beat`,
    /// after every stamp.
    pub fn from_start(&self) -> Self {
        let play = self.next.map_or(self.play, |c| c.play);
        Self {
            play,
            since_beat: 0.0,
            next: None,
            fill: self.fill,
            fill_beat: 0.0,
        }
    }

    /// Takes up a change whose beat has come (at or before `beat`).
    fn settle(&mut self, beat: f64) {
        if let Some(cue) = self.next.filter(|c| c.at_beat <= beat) {
            self.play = cue.play;
            self.since_beat = cue.at_beat;
            self.next = None;
        }
    }

    /// Queues `play` (a pattern, or the song). While the transport is stopped it plays at once,
    /// from the start. While it plays, it takes over at the first boundary
    /// ([`Playback::next_boundary`]) at or after `earliest_beat` (the room passes now plus its
    /// start lead, so every player hears the switch); a newer cue replaces a queued one, and
    /// cueing what already plays cancels the queue.
    pub fn cue(
        &mut self,
        arr: &Arrangement,
        play: Play,
        playing: bool,
        start_beat: f64,
        earliest_beat: f64,
    ) {
        if !playing {
            *self = Self {
                play,
                since_beat: 0.0,
                next: None,
                ..*self
            };
            return;
        }
        self.settle(earliest_beat);
        let earliest = first_step_from(earliest_beat, start_beat);
        let (now, _) = self.play_at(start_beat, earliest);
        if now == play {
            self.next = None;
            return;
        }
        let at = self.next_boundary(arr, start_beat, earliest);
        self.next = Some(Cue {
            play,
            at_beat: beat_of_step(at, start_beat),
        });
    }

    /// Queues pattern `pt` ([`Playback::cue`]).
    pub fn cue_pattern(
        &mut self,
        arr: &Arrangement,
        pt: PatternId,
        playing: bool,
        start_beat: f64,
        earliest_beat: f64,
    ) {
        self.cue(arr, Play::Pattern(pt), playing, start_beat, earliest_beat);
    }

    /// Switches song mode on (the song starts at the next boundary, or at play) or off (the
    /// pattern the song plays at the next boundary keeps looping; stopped: the first entry's).
    pub fn set_song_mode(
        &mut self,
        arr: &Arrangement,
        on: bool,
        playing: bool,
        start_beat: f64,
        earliest_beat: f64,
    ) {
        let play = if on {
            Play::Song
        } else {
            let step = if playing {
                let earliest = first_step_from(earliest_beat, start_beat);
                self.next_boundary(arr, start_beat, earliest)
            } else {
                0
            };
            let pattern = if playing {
                self.run_at(arr, start_beat, step).pattern
            } else {
                arr.song.first().map_or(PatternId::A, |e| e.pattern)
            };
            if playing && self.play_at(start_beat, step).0 != Play::Song {
                // Song mode is already off (or queued off): nothing to change.
                return;
            }
            Play::Pattern(pattern)
        };
        self.cue(arr, play, playing, start_beat, earliest_beat);
    }

    /// Sets the fill switch from the first step at or after `earliest_beat` on (at once while
    /// stopped). Each setting holds for at least one step: a fill pressed and released before
    /// its first step plays that step (a tap of the momentary button is heard), and the same
    /// the other way round.
    pub fn set_fill(&mut self, on: bool, playing: bool, start_beat: f64, earliest_beat: f64) {
        if self.fill == on {
            return;
        }
        self.fill_beat = if playing {
            let step = ((earliest_beat - start_beat) * STEPS_PER_BEAT)
                .ceil()
                .max(0.0) as u64;
            // The step where the setting being replaced took over (it is never after `step`:
            // both round the engine's unscheduled frontier up, and the frontier only moves on).
            let last = step_of_beat(self.fill_beat, start_beat);
            beat_of_step(step.max(last + 1), start_beat)
        } else {
            0.0
        };
        self.fill = on;
    }

    /// What a player's display needs at step `step`.
    pub fn view(&self, arr: &Arrangement, start_beat: f64, step: u64) -> PlaybackView {
        let run = self.run_at(arr, start_beat, step);
        let (play, _) = self.play_at(start_beat, step);
        let queued = self
            .next
            .filter(|c| step < step_of_beat(c.at_beat, start_beat))
            .map(|c| c.play);
        PlaybackView {
            pattern: run.pattern,
            origin: run.origin,
            song_mode: play == Play::Song,
            queued,
            position: self.song_position_at(arr, start_beat, step),
            fill: self.fill_at(start_beat, step),
        }
    }
}

/// What plays, for a display: the pattern slot to light, the queued one to blink, the song
/// position and the fill switch. The default: pattern A from step 0, nothing queued.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PlaybackView {
    /// The pattern playing (in song mode, the playing entry's).
    pub pattern: PatternId,
    /// The step (since the transport's start) where its run began: a track of `n` steps shows
    /// its playhead on step [`step_in_run`]`(step, origin, n)`.
    pub origin: u64,
    /// Whether the song plays.
    pub song_mode: bool,
    /// A change that has not taken over yet.
    pub queued: Option<Play>,
    /// Where the song is, in song mode.
    pub position: Option<SongPosition>,
    /// Whether the fill switch is on.
    pub fill: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pt(s: &str) -> PatternId {
        s.parse().unwrap()
    }

    fn arr(song: &[SongEntry], switch_at: SwitchAt) -> Arrangement<'_> {
        // A: 16 steps, B: 32, C: 12, the rest 16.
        let mut pass_steps = [16; MAX_PATTERNS];
        pass_steps[1] = 32;
        pass_steps[2] = 12;
        Arrangement {
            song,
            pass_steps,
            switch_at,
        }
    }

    fn entry(p: &str, n: u8) -> SongEntry {
        SongEntry {
            pattern: pt(p),
            repeats: n,
        }
    }

    #[test]
    fn song_position_walks_entries_repeats_and_bars_and_loops() {
        let song = [entry("A", 2), entry("B", 1), entry("C", 3)];
        let a = arr(&song, SwitchAt::Bar);
        // A A | B (32) | C C C (12 each): 32 + 32 + 36 = 100 steps.
        let at = |s| song_position(&a, s).unwrap();
        assert_eq!((at(0).entry, at(0).repeat, at(0).step), (0, 0, 0));
        assert_eq!((at(17).entry, at(17).repeat, at(17).step), (0, 1, 1));
        let b = at(32 + 20);
        assert_eq!(
            (b.entry, b.pattern, b.repeat, b.bar, b.step),
            (1, pt("B"), 0, 1, 20)
        );
        assert_eq!(b.entry_start, 32);
        let c = at(64 + 25);
        assert_eq!((c.entry, c.repeat, c.step, c.entry_start), (2, 2, 1, 64));
        // The song loops: step 100 is the start again, one song later.
        let again = at(100 + 17);
        assert_eq!((again.entry, again.repeat, again.step), (0, 1, 1));
        assert_eq!(again.entry_start, 100);
        assert_eq!(song_position(&arr(&[], SwitchAt::Bar), 5), None);
    }

    #[test]
    fn a_cue_takes_over_at_the_next_bar_or_the_end_of_the_longest_track() {
        let song = [];
        let start = 100.0;
        for (switch_at, playing_b_from, expect) in [
            (SwitchAt::Bar, 0, 48),          // earliest step 37 → bar line 48
            (SwitchAt::LongestTrack, 0, 64), // B is 32 steps from 0 → 64
            (SwitchAt::LongestTrack, 8, 40), // from 8: 8 + 32 = 40
        ] {
            let a = arr(&song, switch_at);
            let mut pb = Playback {
                play: Play::Pattern(pt("B")),
                since_beat: beat_of_step(playing_b_from, start),
                ..Playback::default()
            };
            pb.cue_pattern(&a, pt("C"), true, start, beat_of_step(37, start));
            let cue = pb.next.unwrap();
            assert_eq!(step_of_beat(cue.at_beat, start), expect, "{switch_at:?}");
            assert_eq!(pb.run_at(&a, start, expect - 1).pattern, pt("B"));
            let run = pb.run_at(&a, start, expect);
            assert_eq!(
                run,
                Run {
                    pattern: pt("C"),
                    origin: expect
                }
            );
            // Cueing what already plays cancels the queue.
            pb.cue_pattern(&a, pt("B"), true, start, beat_of_step(38, start));
            assert_eq!(pb.next, None);
        }
        // Stopped: at once, from the start.
        let a = arr(&song, SwitchAt::Bar);
        let mut pb = Playback::default();
        pb.cue_pattern(&a, pt("H"), false, start, 500.0);
        assert_eq!(
            pb.run_at(&a, start, 0),
            Run {
                pattern: pt("H"),
                origin: 0
            }
        );
    }

    #[test]
    fn song_mode_starts_at_a_boundary_and_stops_on_the_pattern_it_reached() {
        let song = [entry("B", 1), entry("C", 2)];
        let a = arr(&song, SwitchAt::Bar);
        let start = 0.0;
        let mut pb = Playback::default();
        pb.set_song_mode(&a, true, true, start, beat_of_step(3, start));
        assert_eq!(pb.run_at(&a, start, 15).pattern, PatternId::A);
        assert_eq!(
            pb.run_at(&a, start, 16),
            Run {
                pattern: pt("B"),
                origin: 16
            }
        );
        assert_eq!(
            pb.run_at(&a, start, 48),
            Run {
                pattern: pt("C"),
                origin: 48
            }
        );
        assert_eq!(
            pb.run_at(&a, start, 60),
            Run {
                pattern: pt("C"),
                origin: 48
            }
        );
        let view = pb.view(&a, start, 61);
        assert!(view.song_mode);
        assert_eq!(view.position.unwrap().repeat, 1);
        // B is 32 + C 2 × 12 = 56 steps: the song loops at 16 + 56 = 72.
        assert_eq!(
            pb.run_at(&a, start, 72),
            Run {
                pattern: pt("B"),
                origin: 72
            }
        );
        // Off at step 70: the next bar line is 80, inside B again: B keeps looping from 80.
        pb.set_song_mode(&a, false, true, start, beat_of_step(70, start));
        assert_eq!(
            pb.run_at(&a, start, 79),
            Run {
                pattern: pt("B"),
                origin: 72
            }
        );
        assert_eq!(
            pb.run_at(&a, start, 80),
            Run {
                pattern: pt("B"),
                origin: 80
            }
        );
        assert!(!pb.view(&a, start, 80).song_mode);
        // Switching it off again changes nothing.
        let before = pb;
        pb.set_song_mode(&a, false, true, start, beat_of_step(90, start));
        assert_eq!(pb, before);
    }

    #[test]
    fn play_codes_round_trip_and_refuse_others() {
        for play in PatternId::ALL
            .into_iter()
            .map(Play::Pattern)
            .chain([Play::Song])
        {
            assert_eq!(Play::from_code(play.code()), Some(play));
        }
        assert_eq!(Play::Pattern(pt("B")).code(), 1);
        assert_eq!(Play::Song.code(), 8);
        assert_eq!(Play::from_code(9), None);
        assert_eq!(Play::from_code(u8::MAX), None);
    }

    #[test]
    fn from_start_plays_what_was_reached_from_beat_zero() {
        let song = [entry("B", 1), entry("C", 2)];
        let a = arr(&song, SwitchAt::Bar);
        // Song mode from step 16; stopped at step 40 (inside B), with fill on since step 20.
        let mut pb = Playback::default();
        pb.set_song_mode(&a, true, true, 0.0, beat_of_step(3, 0.0));
        pb.set_fill(true, true, 0.0, beat_of_step(20, 0.0));
        let restarted = pb.from_start();
        // The song now maps onto the beat line from 0: step 40 is B's step 8 (not C's).
        assert_eq!(
            restarted.run_at(&a, 0.0, 0),
            Run {
                pattern: pt("B"),
                origin: 0
            }
        );
        assert_eq!(
            restarted.run_at(&a, 0.0, 40),
            Run {
                pattern: pt("C"),
                origin: 32
            }
        );
        assert!(
            restarted.fill_at(0.0, 0),
            "the fill switch stays on from the start"
        );
        // A queued pattern takes over at the restart.
        let mut queued = Playback::default();
        queued.cue_pattern(&a, pt("D"), true, 0.0, beat_of_step(5, 0.0));
        assert_eq!(queued.run_at(&a, 0.0, 5).pattern, PatternId::A);
        let restarted = queued.from_start();
        assert_eq!(restarted.next, None);
        assert_eq!(
            restarted.run_at(&a, 0.0, 5),
            Run {
                pattern: pt("D"),
                origin: 0
            }
        );
        // Nothing stamped: unchanged.
        assert_eq!(Playback::default().from_start(), Playback::default());
    }

    #[test]
    fn a_fill_tapped_within_a_step_plays_that_step() {
        let mut pb = Playback::default();
        // Pressed and released before step 11 plays: step 11 is a fill step, 12 is not.
        pb.set_fill(true, true, 8.0, 8.0 + 10.1 / STEPS_PER_BEAT);
        pb.set_fill(false, true, 8.0, 8.0 + 10.6 / STEPS_PER_BEAT);
        assert!(pb.fill_at(8.0, 11), "the tap is heard on its step");
        assert!(!pb.fill_at(8.0, 12));
        // A release after the fill's first step took over ends it on the next step, as before.
        pb.set_fill(true, true, 8.0, 8.0 + 20.0 / STEPS_PER_BEAT);
        pb.set_fill(false, true, 8.0, 8.0 + 22.5 / STEPS_PER_BEAT);
        assert!(pb.fill_at(8.0, 22));
        assert!(!pb.fill_at(8.0, 23));
    }

    #[test]
    fn the_fill_switch_takes_effect_on_a_step() {
        let mut pb = Playback::default();
        pb.set_fill(true, true, 8.0, 8.0 + 10.1 / STEPS_PER_BEAT);
        assert!(!pb.fill_at(8.0, 10));
        assert!(pb.fill_at(8.0, 11));
        pb.set_fill(false, true, 8.0, 8.0 + 20.0 / STEPS_PER_BEAT);
        assert!(pb.fill_at(8.0, 19));
        assert!(!pb.fill_at(8.0, 20));
        assert!(Playback::default().is_default());
    }
}
