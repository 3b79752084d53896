//! Patterns and songs in the plugin: which pattern (or the song) plays when, and the lock-free
//! hand-offs around it.
//!
//! What plays is a [`Playback`] (core's `song` module holds every rule). In a live session on
//! the session clock it is the room's, stamped on the shared timeline and read by the audio
//! thread from the sync companion's `SharedClock`; the editor's and the parameters' requests
//! then go to the room (through the plugin's job thread), and every player switches
//! on the same step. On this player's own transport (the internal clock, the host's) it is
//! [`OwnPlayback`], kept by the audio thread and stamped against the transport's own beat line
//! exactly as the room stamps the shared one, with beat 0 as the start.
//!
//! The hand-offs: the editor posts [`Request`]s into a [`RequestSlot`] (one atomic word; a
//! newer request replaces one not yet taken), the audio thread takes them at the next block,
//! and publishes what plays into a [`ViewCell`] (a seqlock of atomics) for the editor's pattern
//! slots, song list and playheads. Nothing here allocates, locks or blocks.

use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};

use keyboardia_core::song::{Arrangement, Play, Playback, PlaybackView, SongPosition};
use keyboardia_core::{PatternId, MAX_PATTERNS};
use keyboardia_engine::schedule::SCHEDULE_AHEAD_BEATS;
use keyboardia_engine::BlockClock;

/// A change of what plays, asked for by the editor or a parameter.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Request {
    /// Queue a pattern (at once while stopped).
    Cue(PatternId),
    /// Song mode on or off.
    SongMode(bool),
}

impl Request {
    /// Song mode off in [`Request::word`] (after the eight cues).
    const SONG_OFF: u32 = MAX_PATTERNS as u32 + 1;
    /// Song mode on in [`Request::word`].
    const SONG_ON: u32 = MAX_PATTERNS as u32 + 2;

    /// The request as a non-zero word (0 is an empty slot): a cue is its pattern's index + 1.
    fn word(self) -> u32 {
        match self {
            Request::Cue(pt) => pt.index() as u32 + 1,
            Request::SongMode(false) => Self::SONG_OFF,
            Request::SongMode(true) => Self::SONG_ON,
        }
    }

    /// The request [`Request::word`] gave `word` for (`None` for an empty slot).
    fn of_word(word: u32) -> Option<Self> {
        match word {
            Self::SONG_OFF => Some(Request::SongMode(false)),
            Self::SONG_ON => Some(Request::SongMode(true)),
            w => PatternId::new((w as usize).checked_sub(1)?).map(Request::Cue),
        }
    }
}

/// One pending [`Request`], from any thread to the one that takes it: the newest wins (as a
/// newer cue replaces a queued one). One atomic word.
#[derive(Debug, Default)]
pub struct RequestSlot(AtomicU32);

impl RequestSlot {
    /// Posts `request`, replacing one not taken yet.
    pub fn post(&self, request: Request) {
        self.0.store(request.word(), Ordering::Release);
    }

    /// Takes the pending request, if any.
    pub fn take(&self) -> Option<Request> {
        Request::of_word(self.0.swap(0, Ordering::AcqRel))
    }
}

/// Words of a [`PlaybackView`] in a [`ViewCell`].
const VIEW_WORDS: usize = 5;

/// The [`PlaybackView`] the audio thread last published, for the editor: a seqlock (one
/// writer, the audio thread, which never waits; readers retry while a write is in progress,
/// which takes nanoseconds).
#[derive(Debug, Default)]
pub struct ViewCell {
    /// Even: stable; odd: a write is in progress.
    version: AtomicU64,
    /// The view, packed ([`pack`]).
    words: [AtomicU64; VIEW_WORDS],
}

impl ViewCell {
    /// Audio thread: publishes `view`.
    pub fn publish(&self, view: &PlaybackView) {
        let words = pack(view);
        self.version.fetch_add(1, Ordering::AcqRel);
        for (w, v) in self.words.iter().zip(words) {
            w.store(v, Ordering::Release);
        }
        self.version.fetch_add(1, Ordering::AcqRel);
    }

    /// The last view published (the default, pattern A from step 0, before any).
    pub fn read(&self) -> PlaybackView {
        loop {
            let v1 = self.version.load(Ordering::Acquire);
            if v1 % 2 == 1 {
                std::hint::spin_loop();
                continue;
            }
            let mut words = [0u64; VIEW_WORDS];
            for (v, w) in words.iter_mut().zip(&self.words) {
                *v = w.load(Ordering::Acquire);
            }
            if self.version.load(Ordering::Acquire) == v1 {
                return unpack(&words);
            }
        }
    }
}

/// `view` as words: flags and small numbers (the queued play's code + 1), the run's origin, the song position's bar and
/// step, its entry start, its pass length.
fn pack(view: &PlaybackView) -> [u64; VIEW_WORDS] {
    // 0: nothing queued (so the cell's zeros read as the default view).
    let queued = view.queued.map_or(0, |p| u64::from(p.code()) + 1);
    let mut head = view.pattern.index() as u64
        | u64::from(view.song_mode) << 8
        | u64::from(view.fill) << 9
        | queued << 16;
    let mut words = [head, view.origin, 0, 0, 0];
    if let Some(pos) = view.position {
        head |= 1 << 24
            | (pos.pattern.index() as u64) << 32
            | u64::from(pos.repeat) << 40
            | (pos.entry as u64 & 0xffff) << 48;
        words = [
            head,
            view.origin,
            u64::from(pos.bar) | u64::from(pos.step) << 32,
            pos.entry_start,
            u64::from(pos.pass_steps),
        ];
    }
    words
}

/// The view [`pack`] gave `words` for.
fn unpack(words: &[u64; VIEW_WORDS]) -> PlaybackView {
    let head = words[0];
    let pattern = |index: u64| PatternId::new((index & 0xff) as usize).unwrap_or(PatternId::A);
    let position = (head >> 24 & 1 == 1).then(|| SongPosition {
        entry: (head >> 48 & 0xffff) as usize,
        pattern: pattern(head >> 32),
        repeat: (head >> 40 & 0xff) as u8,
        bar: words[2] as u32,
        step: (words[2] >> 32) as u32,
        entry_start: words[3],
        pass_steps: words[4] as u32,
    });
    PlaybackView {
        pattern: pattern(head),
        origin: words[1],
        song_mode: head >> 8 & 1 == 1,
        queued: ((head >> 16 & 0xff) as u8)
            .checked_sub(1)
            .and_then(Play::from_code),
        position,
        fill: head >> 9 & 1 == 1,
    }
}

/// What plays on this player's own transport (the internal clock, or the host's), kept by the
/// audio thread: requests are stamped against the transport's beat line, whose beat 0 is the
/// start, as the room stamps the shared one ([`Playback::cue`]). A queued change takes over
/// at the next bar line or at the end of the playing pattern's longest track (the session's
/// switch setting), at once while stopped. When the transport stops or jumps (a DAW
/// relocating or looping; the internal clock starts from 0 again), what plays carries on from
/// the start of the beat line ([`Playback::from_start`]): in song mode the host's position is
/// then the song's. Following a DAW, the host's position is always the song's: song mode
/// switched on while the DAW plays takes over at once where the DAW is, as a relocation there
/// would (on the internal clock it starts the song from its first entry at the next switch).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct OwnPlayback {
    /// What plays when.
    playback: Playback,
    /// The beat where the last playing block ended (`None`: stopped).
    expected_beat: Option<f64>,
    /// Whether the transport is the host's (a DAW's), not the internal clock.
    follows_host: bool,
}

impl OwnPlayback {
    /// Whether the transport of the next blocks is the host's (see [`OwnPlayback`]).
    pub fn set_follows_host(&mut self, follows_host: bool) {
        self.follows_host = follows_host;
    }

    /// Follows the transport into the block `clock` (`frames` frames at `sample_rate_hz`),
    /// applies `requests` (in order) and the fill switch `fill`, and returns what the engine
    /// plays (with start beat 0). A change takes effect from the first step the engine has not
    /// scheduled yet ([`SCHEDULE_AHEAD_BEATS`] after the block's start), so it never splits a
    /// step. No allocation.
    pub fn block(
        &mut self,
        arr: &Arrangement,
        clock: &BlockClock,
        frames: u32,
        sample_rate_hz: f64,
        requests: &[Option<Request>],
        fill: bool,
    ) -> Playback {
        let beats_per_frame = clock.tempo_bpm / (60.0 * sample_rate_hz);
        if clock.playing {
            let jumped = self
                .expected_beat
                .is_some_and(|e| (e - clock.beat).abs() > beats_per_frame.abs());
            if jumped {
                self.playback = self.playback.from_start();
            }
            self.expected_beat = Some(clock.beat + f64::from(frames) * beats_per_frame);
        } else if self.expected_beat.take().is_some() {
            self.playback = self.playback.from_start();
        }
        let (playing, earliest) = (clock.playing, clock.beat + SCHEDULE_AHEAD_BEATS);
        for request in requests.iter().flatten() {
            match *request {
                Request::Cue(pt) => self.playback.cue_pattern(arr, pt, playing, 0.0, earliest),
                Request::SongMode(true) if playing && self.follows_host => {
                    // The song as the DAW's beat line lays it out, from the first step not
                    // scheduled yet (what a relocation to here would play).
                    self.playback = Playback {
                        play: Play::Song,
                        since_beat: 0.0,
                        next: None,
                        ..self.playback
                    };
                }
                Request::SongMode(on) => {
                    self.playback.set_song_mode(arr, on, playing, 0.0, earliest)
                }
            }
        }
        self.playback.set_fill(fill, playing, 0.0, earliest);
        self.playback
    }
}

/// The view of `playback` (on a beat line whose start is `start_beat`) for a block at `clock`:
/// at the block's step while it plays, else at the start.
pub fn view_at(
    playback: &Playback,
    arr: &Arrangement,
    start_beat: f64,
    clock: &BlockClock,
) -> PlaybackView {
    let step = if clock.playing {
        (clock.beat * 4.0).floor().max(0.0) as u64
    } else {
        0
    };
    playback.view(arr, start_beat, step)
}

#[cfg(test)]
mod tests {
    use super::*;
    use keyboardia_core::song::step_in_run;
    use keyboardia_core::{SongEntry, SwitchAt};

    const SR: f64 = 48_000.0;
    /// A 16th at 120 BPM and 48 kHz.
    const STEP: u32 = 6_000;

    fn pt(s: &str) -> PatternId {
        s.parse().unwrap()
    }

    /// The song of the song-mode tests: B once, then C twice.
    fn b_once_then_c_twice() -> [SongEntry; 2] {
        [
            SongEntry {
                pattern: pt("B"),
                repeats: 1,
            },
            SongEntry {
                pattern: pt("C"),
                repeats: 2,
            },
        ]
    }

    /// A: 16 steps, B: 32, C: 12, the rest 16.
    fn arr(song: &[SongEntry], switch_at: SwitchAt) -> Arrangement<'_> {
        let mut pass_steps = [16; MAX_PATTERNS];
        pass_steps[1] = 32;
        pass_steps[2] = 12;
        Arrangement {
            song,
            pass_steps,
            switch_at,
        }
    }

    /// Plays `own` block by block (`block` frames) on a transport from beat 0 for `frames`
    /// frames; `request(frame)` gives the requests of the block starting there. Returns the
    /// pattern run at every step, as the engine would play it.
    fn play(
        own: &mut OwnPlayback,
        a: &Arrangement,
        frames: u32,
        block: u32,
        mut request: impl FnMut(u32) -> Vec<Option<Request>>,
    ) -> Vec<(PatternId, u64)> {
        let mut runs = Vec::new();
        let mut pos = 0;
        while pos < frames {
            let n = block.min(frames - pos);
            let clock = BlockClock {
                playing: true,
                tempo_bpm: 120.0,
                beat: f64::from(pos) / f64::from(STEP) / 4.0,
            };
            let pb = own.block(a, &clock, n, SR, &request(pos), false);
            // The steps that start in this block.
            for s in pos.div_ceil(STEP)..(pos + n).div_ceil(STEP) {
                let run = pb.run_at(a, 0.0, u64::from(s));
                runs.push((run.pattern, run.origin));
            }
            pos += n;
        }
        runs
    }

    #[test]
    fn requests_and_views_cross_threads_as_words() {
        let slot = RequestSlot::default();
        assert_eq!(slot.take(), None);
        for r in PatternId::ALL
            .into_iter()
            .map(Request::Cue)
            .chain([Request::SongMode(false), Request::SongMode(true)])
        {
            slot.post(r);
            assert_eq!(slot.take(), Some(r));
            assert_eq!(slot.take(), None);
        }
        slot.post(Request::Cue(pt("B")));
        slot.post(Request::Cue(pt("C")));
        assert_eq!(slot.take(), Some(Request::Cue(pt("C"))), "the newest wins");

        let cell = ViewCell::default();
        assert_eq!(cell.read(), PlaybackView::default());
        let view = PlaybackView {
            pattern: pt("C"),
            origin: 1 << 40,
            song_mode: true,
            queued: Some(Play::Pattern(pt("H"))),
            position: Some(SongPosition {
                entry: 63,
                pattern: pt("C"),
                repeat: 15,
                bar: 3,
                step: 61,
                entry_start: 123_456_789,
                pass_steps: 64,
            }),
            fill: true,
        };
        cell.publish(&view);
        assert_eq!(cell.read(), view);
        let plain = PlaybackView {
            queued: Some(Play::Song),
            ..PlaybackView::default()
        };
        cell.publish(&plain);
        assert_eq!(cell.read(), plain);
    }

    #[test]
    fn a_cue_takes_over_at_the_next_bar_line_at_any_block_size() {
        let song = [];
        let a = arr(&song, SwitchAt::Bar);
        for block in [1, 64, 512, 4096, 7_001] {
            let mut own = OwnPlayback::default();
            // B is cued at frame 30,000 (step 5): it takes over at the bar line, step 16.
            let mut asked = false;
            let runs = play(&mut own, &a, 40 * STEP, block, |pos| {
                let due = !asked && pos >= 30_000;
                asked |= due;
                vec![due.then_some(Request::Cue(pt("B")))]
            });
            assert!(
                runs[..16].iter().all(|r| *r == (PatternId::A, 0)),
                "{block}"
            );
            assert!(runs[16..].iter().all(|r| *r == (pt("B"), 16)), "{block}");
            assert_eq!(runs.len(), 40);
        }
    }

    #[test]
    fn a_cue_just_before_a_bar_line_waits_for_the_next_one() {
        // Asked in the block that ends just before step 16: step 16 may already be scheduled
        // (nudged early), so the switch waits for step 32 rather than split a step.
        let song = [];
        let a = arr(&song, SwitchAt::Bar);
        let mut own = OwnPlayback::default();
        let runs = play(&mut own, &a, 40 * STEP, 500, |pos| {
            vec![(pos == 95_500).then_some(Request::Cue(pt("B")))]
        });
        assert_eq!(runs[16], (PatternId::A, 0));
        assert_eq!(runs[32], (pt("B"), 32));
    }

    #[test]
    fn a_cue_takes_over_at_the_end_of_the_longest_track() {
        let song = [];
        let a = arr(&song, SwitchAt::LongestTrack);
        let mut own = OwnPlayback::default();
        // B (32 steps), cued while A plays from the start, takes over at the end of A's pass.
        let runs = play(&mut own, &a, 50 * STEP, 375, |pos| {
            vec![(pos == 0).then_some(Request::Cue(pt("B")))]
        });
        assert_eq!(runs[15], (PatternId::A, 0));
        assert_eq!(runs[16], (pt("B"), 16));
        assert_eq!(runs[49], (pt("B"), 16), "B's run goes on from its start");
        // B from the start (cued while stopped: at once); C, cued at step 20, takes over at
        // the end of B's pass, step 32; D, cued at step 33, at the end of C's (12 steps): 44.
        let mut own = OwnPlayback::default();
        let stopped = BlockClock {
            playing: false,
            tempo_bpm: 120.0,
            beat: 0.0,
        };
        own.block(&a, &stopped, 512, SR, &[Some(Request::Cue(pt("B")))], false);
        let runs = play(&mut own, &a, 50 * STEP, 375, |pos| match pos {
            p if p == 20 * STEP => vec![Some(Request::Cue(pt("C")))],
            p if p == 33 * STEP => vec![Some(Request::Cue(pt("D")))],
            _ => vec![],
        });
        assert_eq!(runs[0], (pt("B"), 0), "stopped: at once");
        assert_eq!(runs[31], (pt("B"), 0));
        assert_eq!(runs[32], (pt("C"), 32));
        assert_eq!(runs[43], (pt("C"), 32));
        assert_eq!(runs[44], (pt("D"), 44));
    }

    #[test]
    fn song_mode_plays_the_chain_and_maps_the_host_position_after_a_jump() {
        let song = b_once_then_c_twice();
        let a = arr(&song, SwitchAt::Bar);
        let mut own = OwnPlayback::default();
        // Song mode on at step 3: the song starts at the bar line, step 16: B (32 steps) from
        // 16, C (one run of two passes) from 48, B again from 72.
        let mut asked = false;
        let runs = play(&mut own, &a, 80 * STEP, 333, |pos| {
            let due = !asked && pos >= 3 * STEP;
            asked |= due;
            vec![due.then_some(Request::SongMode(true))]
        });
        assert_eq!(runs[15], (PatternId::A, 0));
        assert_eq!(runs[16], (pt("B"), 16));
        assert_eq!(runs[48], (pt("C"), 48));
        assert_eq!(runs[71], (pt("C"), 48));
        assert_eq!(runs[72], (pt("B"), 72));
        // The host jumps to beat 10 (step 40): the song now counts from the host's beat 0,
        // so step 40 is C's first pass (B is 0..32).
        let at = |beat: f64| BlockClock {
            playing: true,
            tempo_bpm: 120.0,
            beat,
        };
        let pb = own.block(&a, &at(10.0), 512, SR, &[], false);
        assert_eq!(pb.run_at(&a, 0.0, 40).pattern, pt("C"));
        assert_eq!(pb.run_at(&a, 0.0, 40).origin, 32);
        let view = view_at(&pb, &a, 0.0, &at(10.0));
        let pos = view.position.unwrap();
        assert!(view.song_mode);
        assert_eq!((pos.entry, pos.repeat, pos.step), (1, 0, 8));
        assert_eq!(step_in_run(40, view.origin, 12), 8);
        // Song mode off (stopped: at once): the first entry's pattern loops.
        let stopped = BlockClock {
            playing: false,
            ..at(0.0)
        };
        let pb = own.block(
            &a,
            &stopped,
            512,
            SR,
            &[Some(Request::SongMode(false))],
            false,
        );
        assert_eq!(pb.run_at(&a, 0.0, 40).pattern, pt("B"));
        assert!(!view_at(&pb, &a, 0.0, &stopped).song_mode);
    }

    #[test]
    fn song_mode_switched_on_while_the_daw_plays_follows_the_daws_position() {
        let song = b_once_then_c_twice();
        let a = arr(&song, SwitchAt::Bar);
        let mut own = OwnPlayback::default();
        own.set_follows_host(true);
        // Song mode on at step 37 (inside C's first pass, 32..44, by the DAW's beat line): C
        // plays from the first step not yet scheduled, its run counted from step 32, exactly
        // what a relocation there plays; then C's second pass and B again from step 56.
        let mut asked = false;
        let runs = play(&mut own, &a, 80 * STEP, 333, |pos| {
            let due = !asked && pos >= 37 * STEP;
            asked |= due;
            vec![due.then_some(Request::SongMode(true))]
        });
        assert_eq!(runs[37], (PatternId::A, 0), "already scheduled");
        let first = (38..44)
            .find(|&s| runs[s].0 == pt("C"))
            .expect("C takes over in C's pass");
        assert!(first <= 40, "within a few steps: {first}");
        assert_eq!(runs[first], (pt("C"), 32));
        assert_eq!(runs[55], (pt("C"), 32));
        assert_eq!(runs[56], (pt("B"), 56));
        // The same position after a relocation plays the same.
        let mut relocated = OwnPlayback::default();
        relocated.set_follows_host(true);
        let stopped = BlockClock {
            playing: false,
            tempo_bpm: 120.0,
            beat: 0.0,
        };
        relocated.block(
            &a,
            &stopped,
            512,
            SR,
            &[Some(Request::SongMode(true))],
            false,
        );
        let pb = relocated.block(
            &a,
            &BlockClock {
                playing: true,
                ..stopped
            },
            512,
            SR,
            &[],
            false,
        );
        for (s, played) in runs.iter().enumerate().skip(first) {
            let run = pb.run_at(&a, 0.0, s as u64);
            assert_eq!(*played, (run.pattern, run.origin), "step {s}");
        }
    }

    #[test]
    fn the_fill_switch_starts_on_the_first_unscheduled_step() {
        let song = [];
        let a = arr(&song, SwitchAt::Bar);
        let mut own = OwnPlayback::default();
        let clock = BlockClock {
            playing: true,
            tempo_bpm: 120.0,
            beat: 2.0,
        };
        // Held in the block at beat 2 (step 8): step 8 is already scheduled, 9 is not.
        let pb = own.block(&a, &clock, 64, SR, &[], true);
        assert!(!pb.fill_at(0.0, 8));
        assert!(pb.fill_at(0.0, 9));
        let later = BlockClock {
            beat: 2.0 + 64.0 / 24_000.0,
            ..clock
        };
        // Released before step 9 played: step 9 still plays the fill (a tap is heard), and it
        // is off from step 10.
        let pb = own.block(&a, &later, 64, SR, &[], false);
        assert!(pb.fill_at(0.0, 9));
        assert!(!pb.fill_at(0.0, 10));
        // Stopped: at once, from the start.
        let stopped = BlockClock {
            playing: false,
            ..clock
        };
        let pb = own.block(&a, &stopped, 64, SR, &[], true);
        assert!(pb.fill_at(0.0, 0));
    }
}
