//! Trig conditions over many loops against their rule tables: A:B, FILL / NOT FILL, 1ST /
//! NOT 1ST, PRE / NOT PRE (Elektron semantics), the order with probability, a late joiner's
//! loop count, block-size independence, the engine's fill switch, and the MIDI export.

mod common;

use std::collections::BTreeSet;

use common::*;
use keyboardia_core::{Condition, Lock, SessionState, Track, MAX_TRACKS};
use keyboardia_engine::midi::{self, MidiOptions};
use keyboardia_engine::render::Length;
use keyboardia_engine::schedule::{
    block_hits, BlockSpan, Fired, StepCursor, MAX_BLOCK_HITS, STEP_BEATS,
};
use keyboardia_engine::{BlockClock, Engine, EnginePattern, Playing};

/// A step is 100 frames here: any integer works, the scheduler only sees beats.
const FPB: f64 = 400.0;

fn cond(text: &str) -> Condition {
    text.parse().unwrap()
}

/// A track of `len` steps with `steps[i]` on and locked to `conds[i]` (`None`: no condition).
fn conditional(id: &str, len: u8, conds: &[(usize, Option<&str>)]) -> Track {
    let on: Vec<usize> = conds.iter().map(|(s, _)| *s).collect();
    let mut t = track(id, "rim", len, &on);
    for (s, c) in conds {
        if let Some(c) = c {
            t.steps[*s].locks.set(Lock::Condition(cond(c)));
        }
    }
    t
}

/// (track slot, global 16th index) of every hit the scheduler fires from step `from` up to
/// step `to`, in blocks of `block` frames, with the fill switch `fill`.
fn fired(state: &SessionState, from: i64, to: i64, block: usize, fill: bool) -> Vec<(u8, i64)> {
    let mut playing = Playing::default();
    playing.playback.fill = fill;
    fired_with(state, from, to, block, &playing)
}

/// [`fired`] with pattern switches, song mode and the fill switch from `playing`.
fn fired_with(
    state: &SessionState,
    from: i64,
    to: i64,
    block: usize,
    playing: &Playing,
) -> Vec<(u8, i64)> {
    let p = EnginePattern::from_state(state, |_| None);
    let start_beat = from as f64 * STEP_BEATS;
    let mut cursors = [StepCursor::default(); MAX_TRACKS];
    for c in cursors.iter_mut() {
        c.relocate(start_beat, FPB);
    }
    let mut buf = [Fired::default(); MAX_BLOCK_HITS];
    let end = ((to - from) as f64 * STEP_BEATS * FPB) as usize;
    let mut out = Vec::new();
    let mut pos = 0;
    while pos < end {
        let n = block.min(end - pos);
        let span = BlockSpan {
            start_beat: start_beat + pos as f64 / FPB,
            frames: n,
            frames_per_beat: FPB,
        };
        let k = block_hits(&p, p.seed, 0.0, playing, &span, &mut cursors, &mut buf);
        for f in &buf[..k] {
            out.push((f.track, (f.hit.time_beats / STEP_BEATS).round() as i64));
        }
        pos += n;
    }
    // In time order (within one block, hits come by frame, then track).
    out.sort_by_key(|(t, n)| (*n, *t));
    out
}

/// The loops (of a `len`-step track in slot `slot`) in which step `step` fired.
fn loops_of(hits: &[(u8, i64)], slot: u8, len: i64, step: i64) -> BTreeSet<i64> {
    hits.iter()
        .filter(|(t, n)| *t == slot && n.rem_euclid(len) == step)
        .map(|(_, n)| n.div_euclid(len))
        .collect()
}

const LOOPS: i64 = 24;

#[test]
fn every_ratio_plays_on_its_loop_of_every_b() {
    // One 4-step track per ratio A:B (at most 16 tracks a session: several sessions).
    let ratios: Vec<(u8, u8)> = (1..=8u8)
        .flat_map(|b| (1..=b).map(move |a| (a, b)))
        .collect();
    assert_eq!(ratios.len(), 36);
    for chunk in ratios.chunks(MAX_TRACKS) {
        let tracks = chunk
            .iter()
            .enumerate()
            .map(|(i, (a, b))| conditional(&format!("r{i}"), 4, &[(1, Some(&format!("{a}:{b}")))]))
            .collect();
        let s = session(120.0, 0.0, tracks);
        let hits = fired(&s, 0, 4 * LOOPS, 333, false);
        for (i, (a, b)) in chunk.iter().enumerate() {
            let want: BTreeSet<i64> = (0..LOOPS)
                .filter(|l| l % i64::from(*b) == i64::from(*a) - 1)
                .collect();
            assert_eq!(loops_of(&hits, i as u8, 4, 1), want, "{a}:{b}");
        }
    }
}

#[test]
fn fill_and_first_follow_the_switch_and_the_first_loop() {
    let s = session(
        120.0,
        0.0,
        vec![
            conditional("fill", 3, &[(0, Some("fill"))]),
            conditional("nofill", 3, &[(0, Some("!fill"))]),
            conditional("first", 5, &[(2, Some("1st"))]),
            conditional("later", 5, &[(2, Some("!1st"))]),
            conditional("plain", 5, &[(2, None)]),
        ],
    );
    for fill in [false, true] {
        let hits = fired(&s, 0, 15 * LOOPS, 97, fill);
        let first_loops = |slot| loops_of(&hits, slot, 5, 2);
        assert_eq!(
            loops_of(&hits, 0, 3, 0),
            (0..5 * LOOPS).filter(|_| fill).collect()
        );
        assert_eq!(loops_of(&hits, 1, 3, 0).is_empty(), fill);
        assert_eq!(first_loops(2), BTreeSet::from([0]));
        let three_loops: BTreeSet<i64> = (0..3 * LOOPS).collect();
        assert_eq!(first_loops(3), &three_loops - &BTreeSet::from([0]));
        assert_eq!(first_loops(4), three_loops);
    }
}

#[test]
fn pre_follows_the_previous_conditional_trig_of_the_track() {
    let s = session(
        120.0,
        0.0,
        vec![
            // Step 0 plays on even loops; PRE follows it, NOT PRE opposes it, and the NOT PRE
            // on step 3 follows step 0 too (PRE trigs are not evaluated conditions).
            conditional(
                "chain",
                4,
                &[
                    (0, Some("1:2")),
                    (1, None),
                    (2, Some("pre")),
                    (3, Some("!pre")),
                ],
            ),
            // The previous conditional trig is in the previous loop: step 3 of loop l − 1.
            conditional("wrap", 4, &[(0, Some("pre")), (3, Some("1:3"))]),
            // No conditional trig at all on the track: PRE never plays, NOT PRE always.
            conditional(
                "alone",
                4,
                &[(0, Some("pre")), (1, None), (2, Some("!pre"))],
            ),
            // A FILL trig is an evaluated condition too.
            conditional("fill", 4, &[(0, Some("fill")), (1, Some("pre"))]),
        ],
    );
    let hits = fired(&s, 0, 4 * LOOPS, 50, false);
    let even: BTreeSet<i64> = (0..LOOPS).filter(|l| l % 2 == 0).collect();
    let odd: BTreeSet<i64> = (0..LOOPS).filter(|l| l % 2 == 1).collect();
    let all: BTreeSet<i64> = (0..LOOPS).collect();
    assert_eq!(loops_of(&hits, 0, 4, 0), even);
    assert_eq!(loops_of(&hits, 0, 4, 1), all, "a step without a condition");
    assert_eq!(loops_of(&hits, 0, 4, 2), even, "PRE");
    assert_eq!(
        loops_of(&hits, 0, 4, 3),
        odd,
        "NOT PRE follows step 0, not the PRE"
    );
    let after_1_of_3: BTreeSet<i64> = (0..LOOPS).filter(|l| (l - 1) % 3 == 0).collect();
    assert_eq!(
        loops_of(&hits, 1, 4, 0),
        after_1_of_3,
        "PRE over the loop boundary"
    );
    assert_eq!(
        loops_of(&hits, 1, 4, 3),
        (0..LOOPS).filter(|l| l % 3 == 0).collect()
    );
    assert!(loops_of(&hits, 2, 4, 0).is_empty());
    assert_eq!(loops_of(&hits, 2, 4, 2), all);
    assert!(loops_of(&hits, 3, 4, 1).is_empty(), "FILL off: PRE off");
    let filled = fired(&s, 0, 4 * LOOPS, 50, true);
    assert_eq!(loops_of(&filled, 3, 4, 1), all, "FILL on: PRE on");
}

/// A condition is checked before the dice, and a probability lock alone is a conditional trig
/// that PRE follows (an Elektron percentage is a trig condition).
#[test]
fn condition_then_probability_and_pre_follows_a_roll() {
    let mut dice = conditional("dice", 2, &[(0, None), (1, Some("pre"))]);
    dice.steps[0].locks.set(Lock::Probability(50));
    let mut both = conditional("both", 2, &[(0, Some("1:2"))]);
    both.steps[0].locks.set(Lock::Probability(50));
    // Same id, same dice, no condition: the rolls `both` makes when its condition holds.
    let mut rolls = conditional("both", 2, &[(0, None)]);
    rolls.steps[0].locks.set(Lock::Probability(50));
    let loops = 200;
    let s = session(120.0, 0.0, vec![dice, both]);
    let hits = fired(&s, 0, 2 * loops, 4_096, false);
    let rolled = loops_of(&hits, 0, 2, 0);
    assert!(
        (60..=140).contains(&rolled.len()),
        "about half: {}",
        rolled.len()
    );
    assert_eq!(
        loops_of(&hits, 0, 2, 1),
        rolled,
        "PRE plays exactly when the roll did"
    );
    let alone = fired(
        &session(120.0, 0.0, vec![rolls]),
        0,
        2 * loops,
        4_096,
        false,
    );
    let even_rolls: BTreeSet<i64> = loops_of(&alone, 0, 2, 0)
        .into_iter()
        .filter(|l| l % 2 == 0)
        .collect();
    assert!(!even_rolls.is_empty());
    assert_eq!(loops_of(&hits, 1, 2, 0), even_rolls);
}

/// The loop count comes from the timeline position: a player who starts (or joins) in the
/// middle hears what one who played from the start hears, at any block size.
#[test]
fn a_late_start_counts_the_same_loops_at_any_block_size() {
    let mut t = conditional(
        "mix",
        6,
        &[
            (0, Some("3:4")),
            (1, Some("!pre")),
            (3, Some("!1st")),
            (5, Some("2:5")),
        ],
    );
    t.steps[4].on = true;
    t.steps[4].locks.set(Lock::Probability(40));
    t.steps[2].on = true;
    t.steps[2].locks.set(Lock::Condition(cond("pre")));
    let s = session(
        120.0,
        0.0,
        vec![t, conditional("c", 7, &[(6, Some("5:7"))])],
    );
    let whole = fired(&s, 0, 400, 512, false);
    for (from, block) in [(37, 1), (137, 64), (211, 333), (6 * 30, 7_000)] {
        let late = fired(&s, from, 400, block, false);
        let tail: Vec<_> = whole.iter().filter(|(_, n)| *n >= from).copied().collect();
        assert_eq!(late, tail, "from step {from}, blocks of {block}");
    }
}

/// The engine reads its fill switch: FILL trigs sound only while it is on.
#[test]
fn the_engine_plays_fill_trigs_while_its_fill_switch_is_on() {
    let s = session(120.0, 0.0, vec![conditional("f", 16, &[(8, Some("fill"))])]);
    let p = EnginePattern::from_state(&s, |_| None);
    let sr = 48_000.0;
    let bar_frames = 96_000;
    let mut engine = Engine::new(sr);
    engine.set_pattern(&p);
    let (mut l, mut r) = (vec![0.0; 1_000], vec![0.0; 1_000]);
    let mut notes_per_bar = Vec::new();
    let mut frame = 0usize;
    for bar in 0..4 {
        engine.set_fill(bar % 2 == 1);
        let mut notes = 0;
        while frame < (bar + 1) * bar_frames {
            let clock = BlockClock {
                playing: true,
                tempo_bpm: 120.0,
                beat: frame as f64 / 24_000.0,
            };
            engine.process(&clock, &[], &mut l, &mut r, None);
            notes += engine.midi_out().iter().filter(|m| m.on).count();
            frame += l.len();
        }
        notes_per_bar.push(notes);
    }
    assert_eq!(notes_per_bar, [0, 1, 0, 1]);
}

/// The MIDI export runs the same scheduler: a 1:2 kick is in bars 1 and 3 only.
#[test]
fn the_midi_export_plays_conditions() {
    let s = session(
        120.0,
        0.0,
        vec![conditional("k", 16, &[(0, Some("1:2")), (8, None)])],
    );
    let notes = midi::notes(&s, Length::Bars(4.0), &MidiOptions::default()).unwrap();
    let tpb = u64::from(MidiOptions::default().ticks_per_beat);
    let starts: Vec<u64> = notes.iter().map(|n| n.start_tick / tpb).collect();
    assert_eq!(starts, [0, 2, 6, 8, 10, 14]);
}

/// Across pattern switches every run counts its own loops: 1ST plays on the first loop of each
/// run of its pattern, A:B counts loops from the run's start, whatever the block size.
#[test]
fn conditions_count_loops_from_each_pattern_run() {
    use keyboardia_core::song::{Cue, Play, Playback};
    use keyboardia_core::{Op, PatternId};
    let b: PatternId = "B".parse().unwrap();
    // A: 4-step track, step 0 1ST, step 1 2:2, step 2 !1st. B: the same track, 1ST on step 0.
    let mut s = session(
        120.0,
        0.0,
        vec![conditional(
            "t",
            4,
            &[(0, Some("1st")), (1, Some("2:2")), (2, Some("!1st"))],
        )],
    );
    for op in [
        Op::SetStepCount {
            tr: "t".parse().unwrap(),
            v: 4,
            pt: b,
        },
        Op::SetStep {
            tr: "t".parse().unwrap(),
            s: 0,
            on: true,
            pt: b,
        },
        Op::SetLock {
            tr: "t".parse().unwrap(),
            s: 0,
            lock: Lock::Condition(cond("1st")),
            pt: b,
        },
    ] {
        s.apply(&op).unwrap();
    }
    // A from 0, B from step 18 (a run origin off A's loop grid), back to A from step 30.
    let to_b = Playback {
        next: Some(Cue {
            play: Play::Pattern(b),
            at_beat: 18.0 * STEP_BEATS,
        }),
        ..Playback::default()
    };
    let back = Playback {
        play: Play::Pattern(b),
        since_beat: 18.0 * STEP_BEATS,
        next: Some(Cue {
            play: Play::Pattern(PatternId::A),
            at_beat: 30.0 * STEP_BEATS,
        }),
        ..Playback::default()
    };
    let rule = |playback: Playback, from: i64, to: i64, origin: i64, block: usize| {
        let playing = Playing {
            playback,
            start_beat: 0.0,
        };
        let hits: Vec<i64> = fired_with(&s, from, to, block, &playing)
            .into_iter()
            .map(|(_, n)| n)
            .collect();
        // The rule table, position by position, counting loops from the run's origin.
        let mut expect = Vec::new();
        for n in from..to {
            let (step, lp) = ((n - origin).rem_euclid(4), (n - origin).div_euclid(4));
            let in_b = playback.play == Play::Pattern(b) && n < 30;
            let plays = if in_b {
                step == 0 && lp == 0
            } else {
                match step {
                    0 => lp == 0,
                    1 => lp % 2 == 1,
                    2 => lp != 0,
                    _ => false,
                }
            };
            if plays {
                expect.push(n);
            }
        }
        assert_eq!(hits, expect, "from {from}, block {block}");
    };
    for block in [1, 37, 400, 4096] {
        rule(to_b, 0, 18, 0, block);
        rule(back, 18, 30, 18, block);
        rule(back, 30, 30 + 4 * LOOPS, 30, block);
    }
}
