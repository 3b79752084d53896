//! The effects: each one does what it says (a low-pass darkens, a send leaves a tail, the
//! delay echoes on its note value, a cutoff lock holds until the track's next hit), and under
//! the most extreme settings for a long run — full sends, maximum resonance and drive, the
//! largest room, the most feedback, cutoffs swept by locks — the output stays finite, free of
//! subnormals and within ±1. (The default settings leave the sound bit-identical: the golden
//! renders, `tests/golden.rs`.)

mod common;

use common::*;
use keyboardia_core::{DelayTime, FilterMode, Lock, SessionFx, SessionState, Track, TrackFx};
use keyboardia_engine::{Engine, EnginePattern, InternalClock};

const SR: f64 = 48_000.0;

fn with_fx(mut t: Track, fx: TrackFx) -> Track {
    t.fx = fx;
    t
}

fn energy(x: &[f32]) -> f64 {
    x.iter().map(|v| f64::from(*v) * f64::from(*v)).sum()
}

/// The energy of `x` above `hz`.
fn high_energy(x: &[f32], hz: f64) -> f64 {
    energy_above(x, SR, hz) * energy(x)
}

#[test]
fn a_low_pass_darkens_and_a_high_pass_thins_the_track() {
    let hat = || track("hat", "hat_open", 16, &[0]);
    let plain = capture(&session(120.0, 0.0, vec![hat()]), SR, 4_096, || 512);
    let lp = TrackFx {
        filter: FilterMode::LowPass,
        cutoff_hz: 800.0,
        ..TrackFx::default()
    };
    let dark = capture(
        &session(120.0, 0.0, vec![with_fx(hat(), lp)]),
        SR,
        4_096,
        || 512,
    );
    let above = |c: &Capture| high_energy(&c.left[..2_048], 4_000.0);
    assert!(
        above(&dark) < 0.01 * above(&plain),
        "low-passed at 800 Hz: {} of {}",
        above(&dark),
        above(&plain)
    );
    let kick = || track("kick", "kick", 16, &[0]);
    let hp = TrackFx {
        filter: FilterMode::HighPass,
        cutoff_hz: 2_000.0,
        resonance: 0.3,
        ..TrackFx::default()
    };
    let full = capture(&session(120.0, 0.0, vec![kick()]), SR, 8_192, || 512);
    let thin = capture(
        &session(120.0, 0.0, vec![with_fx(kick(), hp)]),
        SR,
        8_192,
        || 512,
    );
    assert!(energy(&thin.left) < 0.1 * energy(&full.left));
}

#[test]
fn a_reverb_send_leaves_a_tail_and_the_delay_echoes_on_its_note() {
    let rim = || track("rim", "rim", 16, &[0]);
    let dry = capture(&session(120.0, 0.0, vec![rim()]), SR, 48_000, || 480);
    // The rim is over within a few ms; a second later only the reverb still sounds.
    let late = 24_000..30_000;
    assert_eq!(peak(&dry.left[late.clone()]), 0.0);
    let wet = TrackFx {
        reverb_send: 1.0,
        ..TrackFx::default()
    };
    let verb = capture(
        &session(120.0, 0.0, vec![with_fx(rim(), wet)]),
        SR,
        48_000,
        || 480,
    );
    assert!(peak(&verb.left[late.clone()]) > 1e-4, "a tail");
    assert!(peak(&verb.right[late]) > 1e-4);
    // 1/8 at 120 BPM is 12 000 frames: the first echo starts there exactly.
    let echo = TrackFx {
        delay_send: 1.0,
        ..TrackFx::default()
    };
    let mut s = session(120.0, 0.0, vec![with_fx(rim(), echo)]);
    let delayed = capture(&s, SR, 40_000, || 333);
    assert_eq!(
        &delayed.left[..12_000],
        &dry.left[..12_000],
        "dry before the echo"
    );
    let first = onsets(&delayed.left[6_000..], 100);
    assert_eq!(first.first().map(|f| f + 6_000), Some(12_000), "{first:?}");
    // A dotted eighth: 18 000 frames.
    s.fx.delay_time = DelayTime::DottedEighth;
    let dotted = capture(&s, SR, 40_000, || 333);
    let first = onsets(&dotted.left[6_000..], 100);
    assert_eq!(first.first().map(|f| f + 6_000), Some(18_000), "{first:?}");
}

#[test]
fn a_cutoff_lock_holds_until_the_tracks_next_hit() {
    // Open hats on steps 0 and 8, low-passed at 16 kHz; step 0 locks the cutoff to 300 Hz.
    let mut t = with_fx(
        track("hat", "hat_open", 16, &[0, 8]),
        TrackFx {
            filter: FilterMode::LowPass,
            cutoff_hz: 16_000.0,
            ..TrackFx::default()
        },
    );
    t.steps[0].locks.set(Lock::Cutoff(300.0));
    let c = capture(&session(120.0, 0.0, vec![t]), SR, 52_000, || 256);
    let bright = |from: usize| high_energy(&c.left[from..from + 2_048], 3_000.0);
    assert!(
        bright(0) < 0.01 * bright(48_000),
        "the locked hit is dark ({}), the next one the track's again ({})",
        bright(0),
        bright(48_000)
    );
}

/// Checks every sample: finite, within ±1, zero or normal (no subnormal).
fn assert_clean(x: &[f32], what: &str) {
    for (i, v) in x.iter().enumerate() {
        assert!(v.is_finite(), "{what}: frame {i} is {v}");
        assert!(v.abs() <= 1.0, "{what}: frame {i} is {v}");
        assert!(
            *v == 0.0 || v.is_normal(),
            "{what}: frame {i} is subnormal ({v:e})"
        );
    }
}

#[test]
fn extreme_settings_stay_finite_bounded_and_free_of_subnormals() {
    // Loud, dense, low and bright sources, every send full, resonance and drive at maximum,
    // cutoffs swept by locks from 20 Hz to 20 kHz, the longest room and the most feedback.
    let sr = 24_000.0;
    let names = [
        "kick",
        "synth:acid",
        "synth:pad",
        "snare",
        "sub_bass",
        "riser",
    ];
    let tracks: Vec<Track> = names
        .iter()
        .enumerate()
        .map(|(i, inst)| {
            let mut t = track(&format!("t{i}"), inst, 16, &(0..16).collect::<Vec<_>>());
            t.fx = TrackFx {
                filter: if i % 2 == 0 {
                    FilterMode::LowPass
                } else {
                    FilterMode::HighPass
                },
                cutoff_hz: 20.0 + 4_000.0 * i as f32,
                resonance: 1.0,
                drive: if i % 3 == 0 { 1.0 } else { 0.0 },
                reverb_send: 1.0,
                delay_send: 1.0,
            };
            for s in 0..16 {
                t.steps[s].velocity = 127;
                let hz = 20.0 * 1000f32.powf(((s * 7 + i) % 16) as f32 / 15.0);
                t.steps[s].locks.set(Lock::Cutoff(hz.min(20_000.0)));
                t.steps[s].locks.set(Lock::Ratchet(1 + (s % 4) as u8));
            }
            t
        })
        .collect();
    let state = SessionState {
        fx: SessionFx {
            reverb_size: 1.0,
            delay_time: DelayTime::DottedEighth,
            delay_feedback: 0.9,
        },
        ..session(175.0, 30.0, tracks)
    };
    let pattern = EnginePattern::from_state(&state, |_| None);
    let mut engine = Engine::new(sr);
    engine.set_pattern(&pattern);
    let mut clock = InternalClock::new(state.tempo);
    clock.play_from(0.0);
    let (mut l, mut r) = (vec![0.0f32; 1_000], vec![0.0f32; 1_000]);
    // 30 s playing, then a minute of tails after a stop (the delay and reverb run out).
    let blocks = (90.0 * sr / 1_000.0) as usize;
    let mut tail_peak = 0.0f32;
    for b in 0..blocks {
        if b == (30.0 * sr / 1_000.0) as usize {
            clock.stop();
        }
        let c = clock.next_block(1_000, sr);
        engine.process(&c, &[], &mut l, &mut r, None);
        assert_clean(&l, "left");
        assert_clean(&r, "right");
        if b + 10 >= blocks {
            tail_peak = tail_peak.max(peak(&l)).max(peak(&r));
        }
    }
    assert_eq!(
        tail_peak, 0.0,
        "every tail died away and was flushed to zero"
    );
}
