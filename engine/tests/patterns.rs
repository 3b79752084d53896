//! Pattern switches in the engine: sample-accurate at any block size, the same sample on two
//! engines following one shared timeline (one of them joining late, at another clock offset
//! and block size), and the song played from a late start.

mod common;

use common::*;
use keyboardia_core::clock::Timeline;
use keyboardia_core::song::{Cue, Play, Playback};
use keyboardia_core::{Op, PatternId, SessionState, SongEntry};
use keyboardia_engine::{Engine, EnginePattern, InternalClock, TimelineWithOffset};

const SR: f64 = 48_000.0;
/// A step at 120 BPM and 48 kHz.
const STEP: usize = 6_000;

fn b() -> PatternId {
    "B".parse().unwrap()
}

/// Kick on step 0 in A; in B on steps 0 and 4, and a clap (only in B) on step 8.
fn two_patterns() -> SessionState {
    let mut s = session(
        120.0,
        0.0,
        vec![
            track("kick", "kick", 16, &[0]),
            track("clap", "clap", 16, &[]),
        ],
    );
    for (tr, step) in [("kick", 0), ("kick", 4), ("clap", 8)] {
        s.apply(&Op::SetStep {
            tr: tr.parse().unwrap(),
            s: step,
            on: true,
            pt: b(),
        })
        .unwrap();
    }
    s
}

/// Note-ons as (absolute frame, channel), rendering `frames` frames in blocks of `block`.
fn note_ons(
    engine: &mut Engine,
    frames: usize,
    block: usize,
    mut clock: impl FnMut(usize, usize) -> keyboardia_engine::BlockClock,
    mut before: impl FnMut(&mut Engine, usize),
) -> Vec<(usize, u8)> {
    let (mut l, mut r) = (vec![0.0; block], vec![0.0; block]);
    let mut out = Vec::new();
    let mut pos = 0;
    while pos < frames {
        let n = block.min(frames - pos);
        before(engine, pos);
        let c = clock(pos, n);
        engine.process(&c, &[], &mut l[..n], &mut r[..n], None);
        for m in engine.midi_out().iter().filter(|m| m.on) {
            out.push((pos + m.offset as usize, m.channel));
        }
        pos += n;
    }
    out
}

#[test]
fn a_queued_switch_lands_on_its_exact_frame_at_any_block_size() {
    let state = two_patterns();
    let pattern = EnginePattern::from_state(&state, |_| None);
    // Pattern A, B queued for step 32 (the bar line of bar 3).
    let playback = Playback {
        next: Some(Cue {
            play: Play::Pattern(b()),
            at_beat: 8.0,
        }),
        ..Playback::default()
    };
    let mut results = Vec::new();
    for block in [1, 64, 511, 4096] {
        let mut e = Engine::new(SR);
        e.set_pattern(&pattern);
        e.set_playback(playback, 0.0);
        let mut clock = InternalClock::new(120.0);
        clock.play_from(0.0);
        let hits = note_ons(
            &mut e,
            48 * STEP,
            block,
            |_, n| clock.next_block(n as u32, SR),
            |_, _| {},
        );
        results.push((block, hits));
    }
    let expect: Vec<(usize, u8)> = [(0, 0), (16, 0), (32, 0), (36, 0), (40, 1)]
        .iter()
        .map(|&(s, ch)| (s * STEP, ch))
        .collect();
    for (block, hits) in &results {
        assert_eq!(hits, &expect, "block size {block}");
    }
}

#[test]
fn two_engines_on_one_timeline_switch_on_the_same_sample_and_a_late_one_lands_on_the_right_step() {
    let state = two_patterns();
    let t0 = 1_700_000_000_000.0;
    // The room's timeline: playing from beat 4; B cued for the bar line at beat 12 (step 32),
    // then song mode from beat 28 (step 96), song B ×1, A ×1.
    let mut tl = Timeline::new(120.0, t0);
    tl.playing = true;
    tl.start_beat = 4.0;
    tl.playback.next = Some(Cue {
        play: Play::Pattern(b()),
        at_beat: 12.0,
    });
    let mut song_state = state.clone();
    song_state.song = vec![
        SongEntry {
            pattern: b(),
            repeats: 1,
        },
        SongEntry {
            pattern: PatternId::A,
            repeats: 1,
        },
    ];
    let pattern_song = EnginePattern::from_state(&song_state, |_| None);
    let server_of_step = |step: f64| tl.time_at(tl.start_beat + step / 4.0);
    // (local clock offset ms, block, server time the engine starts, in steps since start)
    let mut heard = Vec::new();
    for (offset_ms, block, first_step) in [(0.0, 64, 0.0), (777.7, 511, 41.3)] {
        let mut e = Engine::new(SR);
        e.set_pattern(&pattern_song);
        let start_server = server_of_step(first_step);
        let local0 = start_server - offset_ms;
        let follow = TimelineWithOffset {
            timeline: tl,
            offset_ms,
        };
        let hits = note_ons(
            &mut e,
            (130.0 - first_step) as usize * STEP,
            block,
            |pos, n| follow.block_at(local0 + pos as f64 * 1000.0 / SR, n as f64 * 1000.0 / SR),
            |e, pos| {
                // Song mode is stamped later, while this engine plays.
                let now = local0 + pos as f64 * 1000.0 / SR + offset_ms;
                let mut pb = tl.playback;
                if now > server_of_step(80.0) {
                    pb.play = Play::Pattern(b());
                    pb.since_beat = 12.0;
                    pb.next = Some(Cue {
                        play: Play::Song,
                        at_beat: 28.0,
                    });
                }
                e.set_playback(pb, tl.start_beat);
            },
        );
        // Each hit as (server ms, channel).
        let server: Vec<(f64, u8)> = hits
            .into_iter()
            .map(|(f, ch)| (local0 + f as f64 * 1000.0 / SR + offset_ms, ch))
            .collect();
        heard.push((block, server));
    }
    let block_ms = 511.0 * 1000.0 / SR;
    let (_, first) = &heard[0];
    let (_, late) = &heard[1];
    // The late engine hears exactly what the first one hears from its start on, each hit
    // within a block (in fact within a frame).
    let from = server_of_step(41.3);
    let first_after: Vec<_> = first.iter().filter(|(t, _)| *t >= from - 0.01).collect();
    assert_eq!(first_after.len(), late.len(), "{first_after:?}\n{late:?}");
    for ((a, ca), (b, cb)) in first_after.iter().map(|x| **x).zip(late.iter().copied()) {
        assert_eq!(ca, cb);
        assert!((a - b).abs() <= block_ms, "{a} vs {b}");
        assert!(
            (a - b).abs() <= 1000.0 / SR + 1e-6,
            "within a frame: {a} vs {b}"
        );
    }
    // Where the hits fall: A before step 32, B after; the song (B then A) from step 96.
    let steps: Vec<(i64, u8)> = first
        .iter()
        .map(|(t, ch)| (((tl.beat_at(*t) - tl.start_beat) * 4.0).round() as i64, *ch))
        .collect();
    let expect: Vec<(i64, u8)> = [
        (0, 0),
        (16, 0),
        (32, 0),
        (36, 0),
        (40, 1),
        (48, 0),
        (52, 0),
        (56, 1),
        (64, 0),
        (68, 0),
        (72, 1),
        (80, 0),
        (84, 0),
        (88, 1),
        // The song: B (16 steps) from 96, then A from 112, then B again from 128.
        (96, 0),
        (100, 0),
        (104, 1),
        (112, 0),
        (128, 0),
    ]
    .to_vec();
    assert_eq!(steps, expect);
}

/// The shared start falls inside a block (at any block size): step 0 sounds on its frame, and
/// only once (a block that began before the start used to count as stopped, skipping step 0).
#[test]
fn the_step_on_which_a_shared_start_falls_inside_a_block_sounds_on_its_frame() {
    let state = session(120.0, 0.0, vec![track("kick", "kick", 16, &[0, 8])]);
    let pattern = EnginePattern::from_state(&state, |_| None);
    let t0 = 1_700_000_000_000.0;
    // Play pressed at t0: the start is the bar line at beat 4, server t0 + 2000 ms.
    let mut tl = Timeline::new(120.0, t0);
    tl.play(t0, 1_900.0);
    assert_eq!(tl.start_beat, 4.0);
    let follow = TimelineWithOffset {
        timeline: tl,
        offset_ms: 0.0,
    };
    // Rendering from server t0 + 1900 ms: the start is 100 ms (4800 frames) in.
    let local0 = t0 + 1_900.0;
    for block in [64, 500, 512, 4096] {
        let mut e = Engine::new(SR);
        e.set_pattern(&pattern);
        let hits = note_ons(
            &mut e,
            4_800 + 3 * STEP,
            block,
            |pos, n| follow.block_at(local0 + pos as f64 * 1000.0 / SR, n as f64 * 1000.0 / SR),
            |_, _| {},
        );
        // Within a frame: server times near 1.7e12 ms carry about 0.01 frame of rounding.
        assert_eq!(hits.len(), 1, "block size {block}: {hits:?}");
        assert!(
            hits[0].0.abs_diff(4_800) <= 1,
            "block size {block}: {hits:?}"
        );
    }
}
