//! Timing of the sequencer: straight, swung, polyrhythmic, nudged and ratcheted onsets land on
//! their exact frame, for any block size and sample rate; locks, gates, mixer and clock behave.

mod common;

use common::*;
use keyboardia_core::{Lock, SessionState};
use keyboardia_engine::render::{render_pattern, render_pattern_with, RenderOptions};
use keyboardia_engine::{BlockClock, Engine, EnginePattern, InputEvent, TrackMixer};

const SR: f64 = 48_000.0;

/// Rim on every step at 60 BPM: a 16th is 12000 frames and the rim dies within it.
fn rim_every_step(swing: f64) -> SessionState {
    session(
        60.0,
        swing,
        vec![track("rim", "rim", 16, &(0..16).collect::<Vec<_>>())],
    )
}

#[test]
fn straight_onsets_land_on_their_exact_frame() {
    let s = rim_every_step(0.0);
    let cap = capture(&s, SR, 16 * 12_000, || 512);
    let got = onsets(&cap.left, 100);
    let want: Vec<usize> = (0..16).map(|n| step_frame(n as f64, 60.0, SR)).collect();
    assert_eq!(got, want);
}

#[test]
fn swing_delays_only_offbeat_sixteenths() {
    for swing in [25.0, 50.0, 100.0] {
        let s = rim_every_step(swing);
        for n in [0usize, 1, 2, 3, 6, 7] {
            let delay = if n % 2 == 1 { swing / 100.0 * 0.5 } else { 0.0 };
            let want = step_frame(n as f64 + delay, 60.0, SR);
            let got = onset_by_removal(&s, 0, n, SR, 8 * 12_000 + 1, 480);
            assert_eq!(got, Some(want), "swing {swing} step {n}");
        }
    }
}

#[test]
fn each_track_loops_over_its_own_length() {
    let s = session(
        60.0,
        0.0,
        vec![
            track("three", "rim", 3, &[0]),
            track("five", "cowbell", 5, &[0]),
            track("sixteen", "rim", 16, &[0, 7]),
        ],
    );
    let cap = capture(&s, SR, 32 * 12_000, || 256);
    let every = |k: usize| -> Vec<usize> {
        (0..32)
            .filter(|n| n % k == 0)
            .map(|n| step_frame(n as f64, 60.0, SR))
            .collect()
    };
    assert_eq!(onsets(&cap.tracks[0], 100), every(3));
    // The cowbell rings longer than a step; its onsets are in the MIDI out.
    let cow: Vec<usize> = cap
        .midi
        .iter()
        .filter(|(_, m)| m.channel == 1 && m.on)
        .map(|(f, _)| *f)
        .collect();
    assert_eq!(cow, every(5));
    let want16: Vec<usize> = [0, 7, 16, 23]
        .iter()
        .map(|&n| step_frame(n as f64, 60.0, SR))
        .collect();
    assert_eq!(onsets(&cap.tracks[2], 100), want16);
}

#[test]
fn nudge_and_ratchet_locks_move_and_repeat_hits() {
    let mut t = track("rim", "rim", 16, &[0, 4, 8]);
    t.steps[4].locks.set(Lock::Nudge(-20));
    t.steps[8].locks.set(Lock::Nudge(30));
    let mut r = track("rat", "synth:pluck", 16, &[12]);
    r.steps[12].locks.set(Lock::Ratchet(4));
    let s = session(60.0, 0.0, vec![t, r]);
    let cap = capture(&s, SR, 16 * 12_000, || 300);
    let want = vec![
        step_frame(0.0, 60.0, SR),
        step_frame(4.0 - 0.2, 60.0, SR),
        step_frame(8.0 + 0.3, 60.0, SR),
    ];
    assert_eq!(onsets(&cap.tracks[0], 100), want);
    let rat: Vec<usize> = cap
        .midi
        .iter()
        .filter(|(_, m)| m.channel == 1 && m.on)
        .map(|(f, _)| *f)
        .collect();
    let want: Vec<usize> = (0..4)
        .map(|k| step_frame(12.0 + k as f64 * 0.25, 60.0, SR))
        .collect();
    assert_eq!(rat, want);
    // Each ratchet is gated to a quarter step: silence after the last one's gate and fade.
    let end = step_frame(13.0, 60.0, SR) + (0.004 * SR) as usize + 1;
    assert!(peak(&cap.tracks[1][end - 3000..end - 300]) > 0.01);
    assert!(cap.tracks[1][end..].iter().all(|v| *v == 0.0));
}

#[test]
fn any_block_size_gives_identical_audio() {
    let pattern = EnginePattern::from_state(&SessionState::demo(), |_| None);
    let opts = RenderOptions::default();
    let frames = 3 * 48_000;
    let reference = render_pattern(&pattern, &opts, frames);
    assert!(reference.peak() > 0.1);
    for size in [1usize, 2, 7, 63, 64, 65, 333, 1024, 4096] {
        let o = RenderOptions {
            block_frames: size,
            ..opts
        };
        assert!(
            render_pattern(&pattern, &o, frames) == reference,
            "block size {size} differs"
        );
    }
    // Random block sizes 1..=4096.
    let mut state = 12345u64;
    let random = render_pattern_with(&pattern, &opts, frames, || {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        1 + (state >> 33) as usize % 4096
    });
    assert!(random == reference, "random block sizes differ");
}

#[test]
fn onsets_are_the_same_at_every_sample_rate() {
    for sr in [22_050.0, 44_100.0, 48_000.0, 88_200.0, 96_000.0, 192_000.0] {
        // Straight: every step's onset in one render.
        let s = rim_every_step(0.0);
        let frames = (16.0 * 0.25 * sr) as usize;
        let mut blocks = [1usize, 17, 4096, 250].into_iter().cycle();
        let cap = capture(&s, sr, frames, || blocks.next().unwrap());
        let want: Vec<usize> = (0..16).map(|n| step_frame(n as f64, 60.0, sr)).collect();
        assert_eq!(onsets(&cap.left, 100), want, "sr {sr}");
        // Swung: the off-beats.
        let s = rim_every_step(60.0);
        for n in [1usize, 2, 3] {
            let want = step_frame(n as f64 + 0.3, 60.0, sr);
            let want = if n % 2 == 0 {
                step_frame(n as f64, 60.0, sr)
            } else {
                want
            };
            let got = onset_by_removal(&s, 0, n, sr, (1.2 * sr) as usize, 333);
            assert_eq!(got, Some(want), "sr {sr} swung step {n}");
        }
    }
}

#[test]
fn pitch_lock_transposes() {
    let mut t = track("sub", "sub_bass", 16, &[0, 8]);
    t.steps[8].locks.set(Lock::Pitch(12));
    let s = session(60.0, 0.0, vec![t]);
    let cap = capture(&s, SR, 16 * 12_000, || 128);
    let a = zero_crossing_hz(&cap.tracks[0][2000..10_000], SR);
    let b = zero_crossing_hz(&cap.tracks[0][8 * 12_000 + 2000..8 * 12_000 + 10_000], SR);
    // Sub bass plays C2 (65.41 Hz); +12 is an octave up.
    assert!((a - 65.41).abs() < 1.0, "base {a}");
    assert!((b / a - 2.0).abs() < 0.03, "ratio {}", b / a);
}

#[test]
fn probability_is_seeded_and_deterministic() {
    let mut t = track("hat", "rim", 16, &(0..16).collect::<Vec<_>>());
    for i in 0..16 {
        t.steps[i].locks.set(Lock::Probability(50));
    }
    let s = session(180.0, 0.0, vec![t]);
    let pattern = EnginePattern::from_state(&s, |_| None);
    let count = |seed: u64, block: usize| {
        let mut e = Engine::new(SR);
        e.set_seed(seed);
        e.set_pattern(&pattern);
        let mut clock = keyboardia_engine::InternalClock::new(180.0);
        clock.play_from(0.0);
        let mut b = || block;
        let cap = capture_with(
            &mut e,
            64 * 16 * 4000,
            &mut b,
            |n| clock.next_block(n as u32, SR),
            &[],
        );
        cap.midi
            .iter()
            .filter(|(_, m)| m.on)
            .map(|(f, _)| *f)
            .collect::<Vec<_>>()
    };
    let a = count(7, 512);
    assert_eq!(a, count(7, 77), "same seed, other block size");
    assert_ne!(a, count(8, 512), "another seed rolls other dice");
    // 1024 steps at 50 %: within 5 standard deviations of 512.
    assert!((a.len() as i64 - 512).abs() < 80, "{} hits", a.len());
}

#[test]
fn volume_lock_and_velocity_scale_the_hit() {
    let mut t = track("sub", "sub_bass", 16, &[0, 4, 8]);
    t.steps[4].locks.set(Lock::Volume(0.5));
    t.steps[8].velocity = 50;
    let s = session(60.0, 0.0, vec![t]);
    let cap = capture(&s, SR, 12 * 12_000, || 512);
    let hit = |n: usize| peak(&cap.tracks[0][n * 12_000..n * 12_000 + 6000]);
    let ratio = hit(4) / hit(0);
    assert!((ratio - 0.5).abs() < 0.02, "volume lock ratio {ratio}");
    assert!(hit(8) < 0.5 * hit(0), "velocity 50 is quieter");
}

#[test]
fn gated_note_ends_at_its_step_boundary_without_a_click() {
    let s = session(60.0, 0.0, vec![track("lead", "synth:lead", 16, &[0])]);
    let cap = capture(&s, SR, 24_000, || 100);
    let x = &cap.tracks[0];
    let boundary = 12_000;
    let fade = (0.004 * SR) as usize;
    assert!(
        peak(&x[boundary - 2000..boundary]) > 0.05,
        "sustains to the boundary"
    );
    assert!(
        x[boundary + fade + 1..].iter().all(|v| *v == 0.0),
        "silent after the fade"
    );
    // The fade is a ramp: the level falls monotonically in envelope, with no jump to zero.
    let last = x[..boundary + fade + 1]
        .iter()
        .rposition(|v| *v != 0.0)
        .unwrap();
    assert!(
        x[last].abs() < 0.01 * peak(&x[..boundary]),
        "ends with a click"
    );
    let before = peak(&x[boundary - 200..boundary]);
    let mid = peak(&x[boundary + fade / 2 - 50..boundary + fade / 2 + 50]);
    assert!(
        mid < 0.7 * before && mid > 0.2 * before,
        "fade mid {mid} vs {before}"
    );
}

#[test]
fn mute_solo_pan_and_master_limiter() {
    let all: Vec<usize> = (0..16).collect();
    let s = session(
        120.0,
        0.0,
        vec![
            track("a", "kick", 16, &all),
            track("b", "synth:bass", 16, &all),
        ],
    );
    let pattern = EnginePattern::from_state(&s, |_| None);
    let run = |setup: &dyn Fn(&mut Engine)| {
        let mut e = Engine::new(SR);
        e.set_pattern(&pattern);
        setup(&mut e);
        let mut clock = keyboardia_engine::InternalClock::new(120.0);
        clock.play_from(0.0);
        let mut b = || 256;
        capture_with(
            &mut e,
            48_000,
            &mut b,
            |n| clock.next_block(n as u32, SR),
            &[],
        )
    };
    let muted = run(&|e| {
        e.set_track_mixer(
            0,
            TrackMixer {
                mute: true,
                ..Default::default()
            },
        )
    });
    assert!(muted.tracks[0][4800..].iter().all(|v| *v == 0.0));
    assert!(peak(&muted.tracks[1]) > 0.05);
    let solo = run(&|e| {
        e.set_track_mixer(
            0,
            TrackMixer {
                solo: true,
                ..Default::default()
            },
        )
    });
    assert!(solo.tracks[1][4800..].iter().all(|v| *v == 0.0));
    assert!(peak(&solo.tracks[0]) > 0.05);
    // Hard pans.
    let mut p = pattern.clone();
    p.tracks[0].pan = -1.0;
    p.tracks[1].pan = -1.0;
    let mut e = Engine::new(SR);
    e.set_pattern(&p);
    let mut clock = keyboardia_engine::InternalClock::new(120.0);
    clock.play_from(0.0);
    let mut b = || 256;
    let cap = capture_with(
        &mut e,
        48_000,
        &mut b,
        |n| clock.next_block(n as u32, SR),
        &[],
    );
    assert!(peak(&cap.right) < 1e-6 && peak(&cap.left) > 0.1);
    // Driven hard, the master never clips.
    let loud = run(&|e| e.set_master_gain(8.0));
    assert!(peak(&loud.left) <= 1.0 && peak(&loud.right) <= 1.0);
    assert!(peak(&loud.left) > 0.85);
}

#[test]
fn host_transport_stop_relocate_and_tempo_change() {
    let s = rim_every_step(0.0);
    let pattern = EnginePattern::from_state(&s, |_| None);
    let mut e = Engine::new(SR);
    e.set_pattern(&pattern);
    // Play 1 beat, stop for half a beat, jump to beat 2 (step 8) and play at 120 BPM.
    let mut frame = 0usize;
    let mut clock = |n: usize| {
        let f = frame;
        frame += n;
        if f < 48_000 {
            BlockClock {
                playing: true,
                tempo_bpm: 60.0,
                beat: f as f64 / 48_000.0,
            }
        } else if f < 72_000 {
            BlockClock {
                playing: false,
                tempo_bpm: 60.0,
                beat: 1.0,
            }
        } else {
            BlockClock {
                playing: true,
                tempo_bpm: 120.0,
                beat: 2.0 + (f - 72_000) as f64 / 24_000.0,
            }
        }
    };
    let mut b = || 480;
    let cap = capture_with(&mut e, 120_000, &mut b, &mut clock, &[]);
    let got: Vec<usize> = cap
        .midi
        .iter()
        .filter(|(_, m)| m.on)
        .map(|(f, _)| *f)
        .collect();
    let mut want: Vec<usize> = (0..4).map(|n| n * 12_000).collect();
    // From beat 2 at 120 BPM: a step every 6000 frames, starting with step 8.
    want.extend((0..8).map(|k| 72_000 + k * 6_000));
    assert_eq!(got, want);
    // Every note-on is followed by its note-off on the same channel.
    let offs = cap.midi.iter().filter(|(_, m)| !m.on).count();
    assert!(offs >= want.len() - 1);
}

#[test]
fn midi_in_auditions_the_selected_track() {
    let s = session(
        120.0,
        0.0,
        vec![track("k", "kick", 16, &[]), track("s", "sub_bass", 16, &[])],
    );
    let pattern = EnginePattern::from_state(&s, |_| None);
    let mut e = Engine::new(SR);
    e.set_pattern(&pattern);
    e.set_audition_track(1);
    let stopped = |_n: usize| BlockClock {
        playing: false,
        tempo_bpm: 120.0,
        beat: 0.0,
    };
    let inputs = [
        (
            1000,
            InputEvent::NoteOn {
                offset: 0,
                key: 48,
                velocity: 100,
            },
        ),
        (30_000, InputEvent::NoteOff { offset: 0, key: 48 }),
    ];
    let mut b = || 256;
    let cap = capture_with(&mut e, 48_000, &mut b, stopped, &inputs);
    assert_eq!(onsets(&cap.tracks[1], 100), vec![1000]);
    assert!(cap.tracks[0].iter().all(|v| *v == 0.0));
    // Key 48 on a C2-based patch is one octave up: 130.8 Hz.
    let hz = zero_crossing_hz(&cap.tracks[1][5000..25_000], SR);
    assert!((hz - 130.81).abs() < 1.5, "{hz}");
    assert!(
        cap.tracks[1][30_000 + 400..].iter().all(|v| *v == 0.0),
        "note-off ends it"
    );
}

#[test]
fn reordering_tracks_keeps_their_timing() {
    let a = track("a", "rim", 16, &[0, 4, 8, 12]);
    let b = track("b", "rim", 16, &[2, 6, 10, 14]);
    let s1 = session(60.0, 0.0, vec![a.clone(), b.clone()]);
    let s2 = session(60.0, 0.0, vec![b, a]);
    let mut e = Engine::new(SR);
    e.set_pattern(&EnginePattern::from_state(&s1, |_| None));
    let mut clock = keyboardia_engine::InternalClock::new(60.0);
    clock.play_from(0.0);
    let mut l = vec![0.0; 60_000];
    let mut r = vec![0.0; 60_000];
    e.process(&clock.next_block(60_000, SR), &[], &mut l, &mut r, None);
    e.set_pattern(&EnginePattern::from_state(&s2, |_| None));
    let mut b = || 500;
    let cap = capture_with(
        &mut e,
        132_000,
        &mut b,
        |n| clock.next_block(n as u32, SR),
        &[],
    );
    let on: Vec<(usize, u8)> = cap
        .midi
        .iter()
        .filter(|(_, m)| m.on)
        .map(|(f, m)| (f + 60_000, m.channel))
        .collect();
    // Step 6 of "b" (now slot 0) at 72000, step 8 of "a" (now slot 1) at 96000, ...
    assert_eq!(
        on,
        vec![
            (72_000, 0),
            (96_000, 1),
            (120_000, 0),
            (144_000, 1),
            (168_000, 0)
        ]
    );
}

#[test]
fn audition_after_a_pattern_change() {
    let mut e = Engine::new(SR);
    e.set_pattern(&EnginePattern::from_state(&SessionState::demo(), |_| None));
    let s = session(
        120.0,
        0.0,
        vec![track("k", "kick", 16, &[]), track("b", "snare", 16, &[])],
    );
    e.set_pattern(&EnginePattern::from_state(&s, |_| None));
    e.set_audition_track(1);
    let stopped = |_n: usize| BlockClock {
        playing: false,
        tempo_bpm: 120.0,
        beat: 0.0,
    };
    let inputs = [(
        100,
        InputEvent::NoteOn {
            offset: 0,
            key: 60,
            velocity: 100,
        },
    )];
    let mut b = || 512;
    let cap = capture_with(&mut e, 4096, &mut b, stopped, &inputs);
    assert_eq!(onsets(&cap.tracks[1], 50), vec![100]);
}

#[test]
fn reset_silences_and_restarts_cleanly() {
    let s = session(120.0, 0.0, vec![track("p", "synth:pad", 16, &[0])]);
    let mut e = Engine::new(SR);
    e.set_pattern(&EnginePattern::from_state(&s, |_| None));
    let mut clock = keyboardia_engine::InternalClock::new(120.0);
    clock.play_from(0.0);
    let (mut l, mut r) = (vec![0.0; 2000], vec![0.0; 2000]);
    e.process(&clock.next_block(2000, SR), &[], &mut l, &mut r, None);
    assert!(e.active_voices() > 0);
    e.reset();
    assert_eq!(e.active_voices(), 0);
    // Playing from beat 0 again replays step 0 on its frame.
    let mut clock = keyboardia_engine::InternalClock::new(120.0);
    clock.play_from(0.0);
    let mut b = || 256;
    let cap = capture_with(
        &mut e,
        6000,
        &mut b,
        |n| clock.next_block(n as u32, SR),
        &[],
    );
    assert_eq!(onsets(&cap.tracks[0], 1), vec![0]);
}

#[test]
fn a_track_added_while_playing_joins_on_the_next_step() {
    let a = track("a", "rim", 16, &[0, 4, 8, 12]);
    let b = track("b", "rim", 16, &[2, 6, 10, 14]);
    let mut e = Engine::new(SR);
    e.set_pattern(&EnginePattern::from_state(
        &session(60.0, 0.0, vec![a.clone()]),
        |_| None,
    ));
    let mut clock = keyboardia_engine::InternalClock::new(60.0);
    clock.play_from(0.0);
    let (mut l, mut r) = (vec![0.0; 2_000_000], vec![0.0; 2_000_000]);
    // Play ~41 s (164 steps), then add a track.
    e.process(&clock.next_block(2_000_000, SR), &[], &mut l, &mut r, None);
    e.set_pattern(&EnginePattern::from_state(
        &session(60.0, 0.0, vec![a, b]),
        |_| None,
    ));
    let mut blk = || 512;
    let cap = capture_with(
        &mut e,
        60_000,
        &mut blk,
        |n| clock.next_block(n as u32, SR),
        &[],
    );
    let on_b: Vec<usize> = cap
        .midi
        .iter()
        .filter(|(_, m)| m.on && m.channel == 1)
        .map(|(f, _)| f + 2_000_000)
        .collect();
    // Frame 2,000,000 is step 166.7: the first step of "b" after it is 170 (pattern step 10).
    assert_eq!(on_b, vec![170 * 12_000]);
}
