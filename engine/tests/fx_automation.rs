//! Host automation of the effects (a plugin's per-slot cutoff and send parameters, through
//! `Engine::set_fx_automation`): at rest it leaves the sound bit-identical, and a jump of the
//! cutoff is reached along a ramp, not in one step (no zipper noise).

mod common;

use common::*;
use keyboardia_core::{FilterMode, TrackFx};
use keyboardia_engine::fx::FxAutomation;
use keyboardia_engine::{Engine, EnginePattern, InternalClock};

const SR: f64 = 48_000.0;

/// A low-passed lead note (rich in harmonics) at 60 BPM, rendered in 64-frame blocks; before
/// block `at`, slot 0's automation is set to `a`.
fn render(at: usize, a: Option<FxAutomation>) -> Vec<f32> {
    let mut t = track("lead", "synth:lead", 16, &[0]);
    t.fx = TrackFx {
        filter: FilterMode::LowPass,
        cutoff_hz: 300.0,
        resonance: 0.4,
        ..TrackFx::default()
    };
    let state = session(60.0, 0.0, vec![t]);
    let pattern = EnginePattern::from_state(&state, |_| None);
    let mut engine = Engine::new(SR);
    engine.set_pattern(&pattern);
    let mut clock = InternalClock::new(state.tempo);
    clock.play_from(0.0);
    let mut next = |n: usize| clock.next_block(n as u32, SR);
    let mut out = capture_with(&mut engine, at * 64, &mut || 64, &mut next, &[]).left;
    if let Some(a) = a {
        engine.set_fx_automation(0, a);
    }
    out.extend(capture_with(&mut engine, 8_192 - at * 64, &mut || 64, &mut next, &[]).left);
    out
}

fn rms(x: &[f32]) -> f64 {
    (x.iter().map(|v| f64::from(*v) * f64::from(*v)).sum::<f64>() / x.len() as f64).sqrt()
}

#[test]
fn automation_at_rest_is_bit_identical_and_a_cutoff_jump_is_ramped() {
    let plain = render(0, None);
    assert!(rms(&plain[..4_096]) > 1e-3, "the lead sounds");
    let rest = render(16, Some(FxAutomation::default()));
    assert_eq!(plain, rest, "automation at zero changes nothing");

    let at = 32;
    let up = render(
        at,
        Some(FxAutomation {
            cutoff_shift_oct: 4.0,
            ..FxAutomation::default()
        }),
    );
    assert_eq!(plain[..at * 64], up[..at * 64]);
    assert!(up.iter().all(|v| v.is_finite()));
    let diff: Vec<f32> = plain.iter().zip(&up).map(|(a, b)| b - a).collect();
    let start = at * 64;
    let first = rms(&diff[start..start + 64]);
    let settled = rms(&diff[start + 1_024..start + 1_088]);
    assert!(settled > 1e-3, "the cutoff moved: {settled}");
    assert!(
        first < 0.3 * settled,
        "the first chunk after the jump moves only a little: {first} vs {settled}"
    );
}
