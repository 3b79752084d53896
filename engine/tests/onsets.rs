//! Transient detection on synthetic takes with known onsets: clicks and the engine's own drum
//! hits, clean and under white noise at a stated signal-to-noise ratio, must each be found
//! within ±5 ms with no extra onsets; sustained tones and a slow pad fade-in must give none
//! after the first.
//!
//! SNR here is the take's RMS over the noise's RMS, both measured over the whole buffer (sparse
//! hits make this stricter than a per-hit ratio: the silence between hits lowers the signal's
//! RMS, not the noise's). Run with `--nocapture` to see the measured errors.

use keyboardia_core::BuiltinSound as S;
use keyboardia_engine::onsets::{detect, slices};
use keyboardia_engine::voice::render_one_shot;

const TOLERANCE_MS: f64 = 5.0;

/// xorshift64*: deterministic noise without a dependency.
struct Rng(u64);

impl Rng {
    fn uniform(&mut self) -> f64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        ((self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 11) as f64 + 0.5) / (1u64 << 53) as f64
    }

    /// A standard normal sample (Box–Muller).
    fn gauss(&mut self) -> f64 {
        let (u, v) = (self.uniform(), self.uniform());
        (-2.0 * u.ln()).sqrt() * (2.0 * std::f64::consts::PI * v).cos()
    }
}

fn rms(x: &[f32]) -> f64 {
    (x.iter().map(|v| (*v as f64).powi(2)).sum::<f64>() / x.len() as f64).sqrt()
}

/// Adds white Gaussian noise so that the take's RMS over the noise's RMS is `snr_db`.
fn add_noise(x: &mut [f32], snr_db: f64, seed: u64) {
    let noise_rms = rms(x) / 10f64.powf(snr_db / 20.0);
    let mut rng = Rng(seed);
    for v in x.iter_mut() {
        *v += (rng.gauss() * noise_rms) as f32;
    }
}

/// Mixes `sound` into `x` starting at frame `at`.
fn place(x: &mut [f32], sound: &[f32], at: usize, gain: f32) {
    for (o, s) in x[at..].iter_mut().zip(sound) {
        *o += s * gain;
    }
}

/// Asserts a one-to-one match of `found` to `truth` within ±5 ms; returns the largest error in ms.
fn assert_matches(name: &str, found: &[usize], truth: &[usize], sr: f64) -> f64 {
    let tol = (TOLERANCE_MS * sr / 1000.0) as i64;
    assert_eq!(
        found.len(),
        truth.len(),
        "{name}: found {found:?}, expected onsets at {truth:?}"
    );
    let mut worst = 0.0f64;
    for (f, t) in found.iter().zip(truth) {
        let err = *f as i64 - *t as i64;
        assert!(
            err.abs() <= tol,
            "{name}: onset at {f} is {err} frames from the one at {t} (found {found:?})"
        );
        worst = worst.max(err.abs() as f64 * 1000.0 / sr);
    }
    println!(
        "{name}: {} onsets, largest error {worst:.3} ms",
        truth.len()
    );
    worst
}

/// Irregular onset times (ms) with gaps from 60 to 400 ms.
const TIMES_MS: [f64; 12] = [
    80.0, 190.0, 250.0, 520.0, 610.0, 900.0, 960.0, 1240.0, 1500.0, 1630.0, 1820.0, 2100.0,
];

fn frames(ms: f64, sr: f64) -> usize {
    (ms * sr / 1000.0).round() as usize
}

/// A click: one full-scale sample and a 2 ms exponential ring.
fn click(sr: f64) -> Vec<f32> {
    let n = frames(10.0, sr);
    let tau = 0.002 * sr;
    (0..n)
        .map(|i| {
            let sign = if i % 2 == 0 { 1.0 } else { -1.0 };
            sign * (-(i as f64) / tau).exp() as f32 * 0.8
        })
        .collect()
}

fn click_take(sr: f64) -> (Vec<f32>, Vec<usize>) {
    let mut x = vec![0.0f32; frames(2400.0, sr)];
    let c = click(sr);
    let truth: Vec<usize> = TIMES_MS.iter().map(|&t| frames(t, sr)).collect();
    for &t in &truth {
        place(&mut x, &c, t, 1.0);
    }
    (x, truth)
}

/// The engine's drum hits (its own one-shot tables) at `TIMES_MS`, at varied levels.
fn drum_take(sr: f64) -> (Vec<f32>, Vec<usize>) {
    let kit = [
        (S::Kick, 1.0),
        (S::ClosedHat, 0.5),
        (S::Snare, 0.8),
        (S::ClosedHat, 0.4),
        (S::Kick, 0.9),
        (S::Clap, 0.7),
        (S::ClosedHat, 0.5),
        (S::LowTom, 0.8),
        (S::Snare, 0.7),
        (S::Rim, 0.6),
        (S::Kick, 1.0),
        (S::OpenHat, 0.5),
    ];
    let mut x = vec![0.0f32; frames(2600.0, sr)];
    let truth: Vec<usize> = TIMES_MS.iter().map(|&t| frames(t, sr)).collect();
    for (&(sound, gain), &t) in kit.iter().zip(&truth) {
        let table = render_one_shot(sound, 0, sr as f32);
        place(&mut x, &table, t, gain);
    }
    (x, truth)
}

#[test]
fn clicks_are_found_clean_and_in_noise() {
    for sr in [48_000.0, 44_100.0] {
        let (x, truth) = click_take(sr);
        assert_matches(&format!("clicks @{sr}"), &detect(&x, sr as f32), &truth, sr);
        for (snr, seed) in [(10.0, 1), (0.0, 2)] {
            let mut noisy = x.clone();
            add_noise(&mut noisy, snr, seed);
            assert_matches(
                &format!("clicks @{sr}, SNR {snr} dB"),
                &detect(&noisy, sr as f32),
                &truth,
                sr,
            );
        }
    }
}

#[test]
fn drum_hits_are_found_clean_and_in_noise() {
    for sr in [48_000.0, 44_100.0] {
        let (x, truth) = drum_take(sr);
        assert_matches(&format!("drums @{sr}"), &detect(&x, sr as f32), &truth, sr);
        for (snr, seed) in [(30.0, 3), (15.0, 4)] {
            let mut noisy = x.clone();
            add_noise(&mut noisy, snr, seed);
            assert_matches(
                &format!("drums @{sr}, SNR {snr} dB"),
                &detect(&noisy, sr as f32),
                &truth,
                sr,
            );
        }
    }
}

/// A dense loop: 16th-note hats over kicks and snares at 120 BPM (125 ms apart), the hats
/// landing on the kicks' ringing tails.
#[test]
fn sixteenth_hats_over_kick_tails_are_all_found() {
    let sr = 48_000.0;
    let kick = render_one_shot(S::Kick, 0, sr as f32);
    let snare = render_one_shot(S::Snare, 0, sr as f32);
    let hat = render_one_shot(S::ClosedHat, 1, sr as f32);
    let step = frames(125.0, sr);
    let mut x = vec![0.0f32; step * 17];
    let mut truth = Vec::new();
    for i in 0..16 {
        let at = step / 2 + i * step;
        truth.push(at);
        match i % 8 {
            0 | 3 => place(&mut x, &kick, at, 1.0),
            4 => place(&mut x, &snare, at, 0.8),
            _ => {}
        }
        place(&mut x, &hat, at, 0.35);
    }
    assert_matches("16ths", &detect(&x, sr as f32), &truth, sr);
    add_noise(&mut x, 20.0, 5);
    assert_matches("16ths, SNR 20 dB", &detect(&x, sr as f32), &truth, sr);
}

fn sine(sr: f64, hz: f64, amp: f64, len: usize) -> Vec<f32> {
    (0..len)
        .map(|i| (amp * (2.0 * std::f64::consts::PI * hz * i as f64 / sr).sin()) as f32)
        .collect()
}

#[test]
fn sustained_tones_have_no_onset_after_the_first() {
    let sr = 48_000.0;
    for hz in [55.0, 220.0, 1000.0] {
        // From the first sample: nothing at all, or one onset at the very start.
        let x = sine(sr, hz, 0.5, frames(2000.0, sr));
        let found = detect(&x, sr as f32);
        assert!(
            found.iter().all(|&f| f <= frames(TOLERANCE_MS, sr)),
            "{hz} Hz from frame 0: {found:?}"
        );
        // After 300 ms of noise: exactly the tone's start.
        let start = frames(300.0, sr);
        let mut x = vec![0.0f32; start];
        x.extend(sine(sr, hz, 0.5, frames(2000.0, sr)));
        add_noise(&mut x, 30.0, 6);
        assert_matches(
            &format!("{hz} Hz tone"),
            &detect(&x, sr as f32),
            &[start],
            sr,
        );
    }
}

#[test]
fn tremolo_and_vibrato_do_not_retrigger() {
    let sr = 48_000.0;
    let n = frames(3000.0, sr);
    // 6 Hz tremolo of 6 dB depth and ±30 cents of vibrato on a 330 Hz tone, from silence.
    let start = frames(200.0, sr);
    let mut phase = 0.0f64;
    let mut x = vec![0.0f32; n];
    for (i, v) in x.iter_mut().enumerate().skip(start) {
        let t = i as f64 / sr;
        let hz = 330.0 * 2f64.powf(0.3 / 12.0 * (2.0 * std::f64::consts::PI * 5.0 * t).sin());
        phase += 2.0 * std::f64::consts::PI * hz / sr;
        let gain = 0.5 * (0.75 + 0.25 * (2.0 * std::f64::consts::PI * 6.0 * t).sin());
        *v = (gain * phase.sin()) as f32;
    }
    add_noise(&mut x, 30.0, 7);
    assert_matches("tremolo tone", &detect(&x, sr as f32), &[start], sr);
}

#[test]
fn a_slow_pad_fade_in_has_at_most_one_onset() {
    let sr = 48_000.0;
    let n = frames(3000.0, sr);
    let fade = frames(1000.0, sr) as f64;
    // Three detuned partials, linear fade-in over 1 s, then held.
    let x: Vec<f32> = (0..n)
        .map(|i| {
            let t = i as f64 / sr;
            let g = (i as f64 / fade).min(1.0);
            let s: f64 = [220.0, 221.3, 330.7]
                .iter()
                .map(|hz| (2.0 * std::f64::consts::PI * hz * t).sin())
                .sum();
            (0.2 * g * s) as f32
        })
        .collect();
    for (label, take) in [
        ("clean", x.clone()),
        ("noisy", {
            let mut y = x.clone();
            add_noise(&mut y, 30.0, 8);
            y
        }),
    ] {
        let found = detect(&take, sr as f32);
        println!("pad fade-in ({label}): onsets {found:?}");
        assert!(found.len() <= 1, "pad fade-in ({label}): {found:?}");
        // If reported at all, the pad starts during its fade, not once it is held.
        assert!(found.iter().all(|&f| (f as f64) < fade), "{found:?}");
    }
}

#[test]
fn silence_and_empty_takes_have_no_onsets() {
    assert!(detect(&[], 48_000.0).is_empty());
    assert!(detect(&vec![0.0; 48_000], 48_000.0).is_empty());
    let mut noise = vec![0.0f32; 48_000];
    let mut rng = Rng(9);
    for v in &mut noise {
        *v = (rng.gauss() * 0.01) as f32;
    }
    assert!(detect(&noise, 48_000.0).is_empty());
}

#[test]
fn slices_run_from_each_onset_to_the_next() {
    // The rule itself (order, duplicates, points past the end) is tested where it lives:
    // core's `edit::tests::slices_between_cuts`.
    // Slices of a detected take cover it from the first onset on, without gaps.
    let (x, truth) = click_take(48_000.0);
    let s = slices(&detect(&x, 48_000.0), x.len());
    assert_eq!(s.len(), truth.len());
    assert!(s.windows(2).all(|w| w[0].1 == w[1].0));
    assert_eq!(s.last().unwrap().1, x.len());
}
