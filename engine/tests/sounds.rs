//! Each of the 21 sounds measured against what its name promises: spectra, pitch, envelopes.
//! A producer's ear is the real judge; these checks pin down the properties that make a kick a
//! kick (low, pitch drop, short), a hat a hat (mostly above 5 kHz), an acid line acid (resonant
//! sweep, accent, slide), and that pitch locks transpose every sound.

mod common;

use common::*;
use keyboardia_core::{BuiltinSound as S, Lock, SynthPreset as P};
use keyboardia_engine::voice::{NoteParams, Patch, SampleBank, SampleBuffer, Voice, GATE_HELD};
use keyboardia_engine::{Engine, EnginePattern, InternalClock};

const SR: f64 = 48_000.0;

/// One note of `patch`, gated after `gate_ms` (held if `None`), `ms` long.
fn note(patch: Patch, pitch: f32, velocity: u8, gate_ms: Option<f64>, ms: f64) -> Vec<f32> {
    let bank: SampleBank = std::array::from_fn(|_| None);
    note_with(patch, pitch, velocity, gate_ms, ms, &bank)
}

fn note_with(
    patch: Patch,
    pitch: f32,
    velocity: u8,
    gate_ms: Option<f64>,
    ms: f64,
    bank: &SampleBank,
) -> Vec<f32> {
    let mut v = Voice::default();
    let gate = gate_ms.map_or(GATE_HELD, |g| (g * SR / 1000.0) as u32);
    let params = NoteParams {
        pitch_semis: pitch,
        velocity,
        gain: 1.0,
        gate_frames: gate,
    };
    v.start(0, patch, params, 7, SR as f32);
    let frames = (ms * SR / 1000.0) as usize;
    let mut out = vec![0.0f32; frames];
    for c in out.chunks_mut(64) {
        v.render(c, bank);
    }
    out
}

fn ms(t: f64) -> usize {
    (t * SR / 1000.0) as usize
}

fn rms(x: &[f32]) -> f64 {
    (x.iter().map(|v| (*v as f64).powi(2)).sum::<f64>() / x.len().max(1) as f64).sqrt()
}

/// Power spectrum of up to 4096 frames (Hann window): (bin width in Hz, powers).
fn spectrum(x: &[f32]) -> (f64, Vec<f64>) {
    let n = x.len().min(4096);
    let tw: Vec<(f64, f64)> = (0..n)
        .map(|i| {
            let a = 2.0 * std::f64::consts::PI * i as f64 / n as f64;
            (a.cos(), a.sin())
        })
        .collect();
    let w: Vec<f64> = (0..n)
        .map(|i| {
            let h = 0.5 - 0.5 * (2.0 * std::f64::consts::PI * i as f64 / n as f64).cos();
            x[i] as f64 * h
        })
        .collect();
    let mut p = vec![0.0; n / 2];
    for (k, pk) in p.iter_mut().enumerate().skip(1) {
        let (mut re, mut im) = (0.0, 0.0);
        let mut idx = 0usize;
        for wi in &w {
            re += wi * tw[idx].0;
            im += wi * tw[idx].1;
            idx += k;
            if idx >= n {
                idx -= n;
            }
        }
        *pk = re * re + im * im;
    }
    (SR / n as f64, p)
}

/// Fraction of the power between `lo` and `hi` Hz.
fn band(x: &[f32], lo: f64, hi: f64) -> f64 {
    let (df, p) = spectrum(x);
    let total: f64 = p.iter().sum();
    let inside: f64 = p
        .iter()
        .enumerate()
        .filter(|(k, _)| (*k as f64 * df) >= lo && (*k as f64 * df) < hi)
        .map(|(_, e)| e)
        .sum();
    inside / total.max(1e-30)
}

/// Power-weighted mean frequency.
fn centroid(x: &[f32]) -> f64 {
    let (df, p) = spectrum(x);
    let total: f64 = p.iter().sum();
    p.iter()
        .enumerate()
        .map(|(k, e)| k as f64 * df * e)
        .sum::<f64>()
        / total.max(1e-30)
}

/// Frequency of the strongest bin.
fn peak_hz(x: &[f32]) -> f64 {
    let (df, p) = spectrum(x);
    let k = p
        .iter()
        .enumerate()
        .max_by(|a, b| a.1.total_cmp(b.1))
        .unwrap()
        .0;
    k as f64 * df
}

/// Fundamental by autocorrelation (40 Hz – 1 kHz): robust to a resonant filter's overtones.
fn autocorr_hz(x: &[f32]) -> f64 {
    autocorr_hz_in(x, 40.0, 1000.0)
}

fn autocorr_hz_in(x: &[f32], lo_hz: f64, hi_hz: f64) -> f64 {
    let lo = (SR / hi_hz) as usize;
    let hi = (SR / lo_hz) as usize;
    let n = x.len() - hi;
    let r = |lag: usize| -> f64 { (0..n).map(|i| x[i] as f64 * x[i + lag] as f64).sum::<f64>() };
    let r0 = r(0);
    // The first lag whose correlation is near the best one (avoids octave errors).
    let rs: Vec<f64> = (lo..hi).map(r).collect();
    let best = rs.iter().cloned().fold(f64::MIN, f64::max);
    let i = rs
        .iter()
        .position(|v| *v > 0.9 * best && *v > 0.2 * r0)
        .unwrap_or(0);
    SR / (lo + i) as f64
}

/// Power of the first `n` harmonics of `f0` (index 0 = fundamental).
fn harmonics(x: &[f32], f0: f64, n: usize) -> Vec<f64> {
    let (df, p) = spectrum(x);
    (1..=n)
        .map(|h| {
            let k = (h as f64 * f0 / df).round() as usize;
            p[k.saturating_sub(1)..=(k + 1).min(p.len() - 1)]
                .iter()
                .sum::<f64>()
        })
        .collect()
}

/// The resonant bump of a saw through a resonant low-pass: the harmonic (index) that rises most
/// above the quietest harmonic below it, and that rise in dB.
fn resonance(x: &[f32], f0: f64) -> (usize, f64) {
    let h: Vec<f64> = harmonics(x, f0, 40)
        .iter()
        .map(|v| 10.0 * v.log10())
        .collect();
    (4..h.len())
        .map(|k| (k, h[k] - h[2..k].iter().cloned().fold(f64::MAX, f64::min)))
        .max_by(|x, y| x.1.total_cmp(&y.1))
        .unwrap()
}

fn all_patches() -> Vec<Patch> {
    S::ALL
        .iter()
        .map(|s| Patch::Sound(*s))
        .chain(P::ALL.iter().map(|p| Patch::Synth(*p)))
        .collect()
}

#[test]
fn every_sound_is_audible_bounded_and_distinct() {
    let mut prints = Vec::new();
    for patch in all_patches() {
        let x = note(patch, 0.0, 110, Some(250.0), 600.0);
        assert!(x.iter().all(|v| v.is_finite()), "{patch:?} not finite");
        let pk = peak(&x);
        assert!(pk > 0.1 && pk <= 1.2, "{patch:?} peak {pk}");
        let mean = x.iter().map(|v| *v as f64).sum::<f64>() / x.len() as f64;
        assert!(mean.abs() < 0.05, "{patch:?} DC {mean}");
        prints.push((
            patch,
            centroid(&x[..ms(85.0)]),
            rms(&x[ms(200.0)..ms(240.0)]),
        ));
    }
    // No two sounds share both their brightness and their body.
    for (i, a) in prints.iter().enumerate() {
        for b in &prints[i + 1..] {
            let same = (a.1 - b.1).abs() < 0.03 * a.1 && (a.2 - b.2).abs() < 0.03 * a.2.max(1e-3);
            assert!(!same, "{:?} and {:?} measure the same", a.0, b.0);
        }
    }
}

#[test]
fn pitch_locks_transpose_every_sound() {
    for patch in all_patches() {
        let lo = note(patch, 0.0, 100, Some(300.0), 300.0);
        let hi = note(patch, 12.0, 100, Some(300.0), 300.0);
        let (a, b) = (centroid(&lo[..ms(170.0)]), centroid(&hi[..ms(170.0)]));
        assert!(
            b > 1.1 * a,
            "{patch:?}: +12 moved the centroid {a:.0} → {b:.0} Hz"
        );
    }
}

#[test]
fn kick_is_low_drops_in_pitch_and_is_short() {
    let x = note(Patch::Sound(S::Kick), 0.0, 110, None, 800.0);
    assert!(
        band(&x[ms(10.0)..ms(200.0)], 0.0, 200.0) > 0.8,
        "mostly below 200 Hz"
    );
    let early = zero_crossing_hz(&x[..ms(15.0)], SR);
    let late = zero_crossing_hz(&x[ms(100.0)..ms(250.0)], SR);
    assert!(early > 1.6 * late, "pitch drop {early:.0} → {late:.0} Hz");
    assert!(
        (40.0..70.0).contains(&late),
        "settles near 50 Hz: {late:.0}"
    );
    assert!(
        rms(&x[ms(600.0)..ms(700.0)]) < 0.05 * rms(&x[..ms(50.0)]),
        "decays"
    );
}

#[test]
fn snare_has_a_tuned_body_and_a_noise_rattle() {
    let x = note(Patch::Sound(S::Snare), 0.0, 110, None, 400.0);
    let w = &x[..ms(80.0)];
    assert!(band(w, 120.0, 450.0) > 0.1, "tuned body");
    assert!(band(w, 2000.0, 20_000.0) > 0.3, "noise rattle");
}

#[test]
fn clap_is_several_quick_bursts_then_a_tail() {
    let x = note(Patch::Sound(S::Clap), 0.0, 110, None, 400.0);
    // Envelope in 1 ms windows: at least three separate peaks in the first 35 ms.
    let env: Vec<f64> = x[..ms(40.0)].chunks(ms(1.0)).map(rms).collect();
    let peaks = (1..env.len() - 1)
        .filter(|&i| env[i] > env[i - 1] * 1.5 && env[i] >= env[i + 1])
        .count();
    assert!(peaks >= 3, "bursts: {peaks} ({env:.3?})");
    assert!(rms(&x[ms(60.0)..ms(120.0)]) > 0.02, "tail");
    let c = centroid(&x[..ms(80.0)]);
    assert!((700.0..4000.0).contains(&c), "hand-clap band: {c:.0} Hz");
}

#[test]
fn hats_are_metallic_highs_closed_short_open_long() {
    let closed = note(Patch::Sound(S::ClosedHat), 0.0, 110, None, 400.0);
    let open = note(Patch::Sound(S::OpenHat), 0.0, 110, None, 400.0);
    for (name, x) in [("closed", &closed), ("open", &open)] {
        assert!(
            band(&x[..ms(40.0)], 5000.0, 24_000.0) > 0.7,
            "{name} hat is bright"
        );
    }
    let early = |x: &[f32]| rms(&x[..ms(10.0)]);
    assert!(
        rms(&closed[ms(150.0)..ms(200.0)]) < 0.01 * early(&closed),
        "closed is short"
    );
    assert!(
        rms(&open[ms(150.0)..ms(200.0)]) > 0.2 * early(&open),
        "open rings"
    );
}

#[test]
fn toms_are_pitched_drums_low_below_high() {
    let lo = note(Patch::Sound(S::LowTom), 0.0, 110, None, 400.0);
    let hi = note(Patch::Sound(S::HighTom), 0.0, 110, None, 400.0);
    let fl = zero_crossing_hz(&lo[ms(60.0)..ms(200.0)], SR);
    let fh = zero_crossing_hz(&hi[ms(60.0)..ms(200.0)], SR);
    assert!((85.0..130.0).contains(&fl), "low tom {fl:.0} Hz");
    assert!((150.0..230.0).contains(&fh), "high tom {fh:.0} Hz");
}

#[test]
fn rim_is_a_short_bright_click() {
    let x = note(Patch::Sound(S::Rim), 0.0, 110, None, 200.0);
    assert!(
        rms(&x[ms(60.0)..ms(100.0)]) < 0.02 * rms(&x[..ms(5.0)]),
        "short"
    );
    assert!(band(&x[..ms(20.0)], 1000.0, 24_000.0) > 0.4, "bright");
}

#[test]
fn cowbell_is_two_detuned_squares_in_a_band() {
    let x = note(Patch::Sound(S::Cowbell), 0.0, 110, None, 400.0);
    let w = &x[ms(5.0)..ms(90.0)];
    assert!(band(w, 450.0, 3500.0) > 0.8, "band-limited");
    let p = peak_hz(w);
    assert!((500.0..850.0).contains(&p), "strongest partial {p:.0} Hz");
}

#[test]
fn shaker_has_a_soft_attack_and_lives_in_the_highs() {
    let x = note(Patch::Sound(S::Shaker), 0.0, 110, None, 300.0);
    assert!(
        rms(&x[..ms(1.0)]) < 0.5 * rms(&x[ms(8.0)..ms(12.0)]),
        "soft attack"
    );
    assert!(band(&x[..ms(60.0)], 3000.0, 24_000.0) > 0.7, "highs");
}

#[test]
fn sub_bass_is_a_pure_low_sine() {
    let x = note(Patch::Sound(S::SubBass), 0.0, 110, None, 600.0);
    let w = &x[ms(50.0)..ms(550.0)];
    assert!((zero_crossing_hz(w, SR) - 65.41).abs() < 1.0);
    assert!(band(w, 0.0, 150.0) > 0.95, "no highs");
}

#[test]
fn fm_bass_is_low_with_a_decaying_bright_attack() {
    let x = note(Patch::Sound(S::FmBass), 0.0, 110, None, 600.0);
    assert!(band(&x[ms(20.0)..ms(500.0)], 0.0, 400.0) > 0.8, "a bass");
    let early = centroid(&x[..ms(60.0)]);
    let late = centroid(&x[ms(400.0)..ms(490.0)]);
    assert!(
        early > 1.3 * late,
        "FM brightness decays: {early:.0} → {late:.0}"
    );
}

#[test]
fn stab_is_a_chord() {
    let x = note(Patch::Sound(S::Stab), 0.0, 110, Some(300.0), 300.0);
    let w = &x[ms(5.0)..ms(90.0)];
    let (df, p) = spectrum(w);
    let at = |hz: f64| {
        let k = (hz / df).round() as usize;
        p[k - 1..=k + 1].iter().sum::<f64>()
    };
    let between = at(220.0).max(at(350.0));
    for (name, hz) in [("C", 261.6), ("Eb", 311.1), ("G", 392.0), ("Bb", 466.2)] {
        assert!(at(hz) > 3.0 * between, "chord tone {name} present");
    }
}

#[test]
fn bell_rings_long_with_inharmonic_partials() {
    let x = note(Patch::Sound(S::Bell), 0.0, 110, None, 1500.0);
    assert!(
        rms(&x[ms(1000.0)..ms(1100.0)]) > 0.05 * rms(&x[..ms(100.0)]),
        "rings"
    );
    let c = centroid(&x[..ms(80.0)]);
    assert!(c > 600.0, "bright metallic attack {c:.0} Hz");
}

#[test]
fn zap_falls_fast_in_pitch() {
    let x = note(Patch::Sound(S::Zap), 0.0, 110, None, 300.0);
    let early = zero_crossing_hz(&x[..ms(8.0)], SR);
    let late = zero_crossing_hz(&x[ms(80.0)..ms(160.0)], SR);
    assert!(early > 8.0 * late, "laser drop {early:.0} → {late:.0} Hz");
}

#[test]
fn riser_rises_in_level_and_brightness() {
    let x = note(Patch::Sound(S::Riser), 0.0, 110, None, 1300.0);
    let q = |a: f64, b: f64| &x[ms(a)..ms(b)];
    assert!(
        rms(q(900.0, 1100.0)) > 4.0 * rms(q(150.0, 350.0)),
        "gets louder"
    );
    assert!(
        centroid(q(1000.0, 1085.0)) > 3.0 * centroid(q(200.0, 285.0)),
        "gets brighter"
    );
    assert!(x[ms(1250.0)..].iter().all(|v| *v == 0.0), "ends");
}

#[test]
fn synth_bass_lead_pad_pluck_have_their_shapes() {
    let bass = note(Patch::Synth(P::Bass), 0.0, 100, Some(400.0), 500.0);
    let f = autocorr_hz(&bass[ms(50.0)..ms(380.0)]);
    assert!((f - 65.4).abs() < 2.0, "bass on C2: {f:.1}");
    assert!(
        rms(&bass[ms(300.0)..ms(390.0)]) > 0.5 * rms(&bass[ms(20.0)..ms(100.0)]),
        "sustains"
    );

    let lead = note(Patch::Synth(P::Lead), 0.0, 100, Some(400.0), 500.0);
    let f = autocorr_hz(&lead[ms(50.0)..ms(380.0)]);
    assert!((f / 261.6 - 1.0).abs() < 0.03, "lead on C4: {f:.1}");
    assert!(
        band(&lead[ms(50.0)..ms(380.0)], 1000.0, 24_000.0) > 0.05,
        "bright"
    );

    let pad = note(Patch::Synth(P::Pad), 0.0, 100, Some(400.0), 800.0);
    assert!(
        rms(&pad[..ms(5.0)]) < 0.3 * rms(&pad[ms(200.0)..ms(300.0)]),
        "slow attack"
    );
    assert!(
        rms(&pad[ms(500.0)..ms(550.0)]) > 0.05,
        "long release after the gate"
    );

    let pluck = note(Patch::Synth(P::Pluck), 0.0, 100, Some(600.0), 600.0);
    assert!(
        rms(&pluck[ms(350.0)..ms(400.0)]) < 0.35 * rms(&pluck[ms(10.0)..ms(40.0)]),
        "decays"
    );
    assert!(
        centroid(&pluck[..ms(40.0)]) > 1.5 * centroid(&pluck[ms(250.0)..ms(335.0)]),
        "filter closes"
    );
}

#[test]
fn acid_resonant_sweep_and_accent() {
    let plain = note(Patch::Synth(P::Acid), 0.0, 100, Some(400.0), 400.0);
    let accent = note(Patch::Synth(P::Acid), 0.0, 127, Some(400.0), 400.0);
    // The filter envelope sweeps down: far more highs at the start than later.
    let early = band(&plain[..ms(40.0)], 400.0, 24_000.0);
    let late = band(&plain[ms(300.0)..ms(385.0)], 400.0, 24_000.0);
    assert!(early > 3.0 * late, "sweep: {early:.3} → {late:.3}");
    // Resonance: the harmonics of the saw dip and then rise again to a peak near the cutoff
    // (a plain low-pass only ever falls), and that peak moves down as the envelope closes.
    let mut peaks = Vec::new();
    for (a, b) in [(5.0, 90.0), (40.0, 125.0), (100.0, 185.0)] {
        let (k, rise) = resonance(&plain[ms(a)..ms(b)], 65.41);
        assert!(
            rise >= 4.0,
            "resonant bump {rise:.1} dB at harmonic {k} ({a} ms)"
        );
        peaks.push(k);
    }
    assert!(peaks[0] > peaks[2], "the resonance sweeps down: {peaks:?}");
    // Accent: louder and brighter.
    assert!(peak(&accent) > 1.2 * peak(&plain));
    let (ka, _) = resonance(&accent[ms(2.0)..ms(60.0)], 65.41);
    let (kp, _) = resonance(&plain[ms(2.0)..ms(60.0)], 65.41);
    assert!(
        ka > kp,
        "accent opens the filter further: harmonic {ka} vs {kp}"
    );
}

#[test]
fn acid_slides_between_consecutive_steps() {
    // Steps 0 and 1 on (a slide), step 4 alone (a retrigger).
    let mut t = track("acid", "synth:acid", 16, &[0, 1, 4]);
    t.steps[1].locks.set(Lock::Pitch(12));
    let s = session(60.0, 0.0, vec![t]);
    let cap = capture(&s, SR, 6 * 12_000, || 256);
    let x = &cap.tracks[0];
    // One continuous note across the slide: never silent between steps 0 and 1.
    assert_eq!(onsets(&x[..2 * 12_000], 10), vec![0]);
    // After the glide it plays an octave up.
    let a = autocorr_hz(&x[4000..11_000]);
    let b = autocorr_hz(&x[12_000 + 4000..12_000 + 11_000]);
    assert!(
        (b / a - 2.0).abs() < 0.1,
        "glides up an octave: {a:.1} → {b:.1}"
    );
    // Mid-glide (the first few ms of step 1) the pitch is in between.
    let mid = autocorr_hz_in(&x[12_000 + 100..12_000 + 2500], 50.0, 300.0);
    assert!(mid > 1.05 * a && mid < 0.95 * b, "glide passes {mid:.1}");
}

#[test]
fn sampler_plays_buffers_at_the_locked_pitch() {
    // A 440 Hz sine recorded at 44.1 kHz, played at 48 kHz.
    let frames: Vec<f32> = (0..44_100)
        .map(|i| (2.0 * std::f32::consts::PI * 440.0 * i as f32 / 44_100.0).sin() * 0.5)
        .collect();
    let mut bank: SampleBank = std::array::from_fn(|_| None);
    bank[3] = Some(std::sync::Arc::new(SampleBuffer {
        frames: frames.into_boxed_slice(),
        sample_rate_hz: 44_100.0,
    }));
    let x = note_with(Patch::Sample(3), 0.0, 127, Some(500.0), 600.0, &bank);
    assert!((zero_crossing_hz(&x[1000..20_000], SR) - 440.0).abs() < 2.0);
    let y = note_with(Patch::Sample(3), 7.0, 127, Some(500.0), 600.0, &bank);
    let fifth = 440.0 * 2f64.powf(7.0 / 12.0);
    assert!((zero_crossing_hz(&y[1000..20_000], SR) - fifth).abs() < 3.0);
    // Gated at 500 ms, then silent.
    assert!(x[ms(510.0)..].iter().all(|v| *v == 0.0));
    // An empty slot plays nothing.
    let z = note_with(Patch::Sample(4), 0.0, 127, Some(500.0), 100.0, &bank);
    assert!(z.iter().all(|v| *v == 0.0));
}

#[test]
fn engine_takes_sample_buffers_and_hands_the_old_one_back() {
    let mut t = track("s", "kick", 16, &[0]);
    t.instrument = "sample:vox".parse().unwrap();
    let s = session(120.0, 0.0, vec![t]);
    let pattern = EnginePattern::from_state(&s, |id| (id.as_str() == "vox").then_some(0));
    let mut e = Engine::new(SR);
    e.set_pattern(&pattern);
    let buf = std::sync::Arc::new(SampleBuffer {
        frames: vec![0.5f32; 4800].into_boxed_slice(),
        sample_rate_hz: 48_000.0,
    });
    assert!(e.set_sample(0, Some(buf.clone())).is_none());
    let mut clock = InternalClock::new(120.0);
    clock.play_from(0.0);
    let (mut l, mut r) = (vec![0.0; 2048], vec![0.0; 2048]);
    e.process(&clock.next_block(2048, SR), &[], &mut l, &mut r, None);
    assert!(peak(&l) > 0.1, "the sample track plays");
    let old = e.set_sample(0, None).expect("the old buffer comes back");
    assert!(std::sync::Arc::ptr_eq(&old, &buf));
}

#[test]
fn demo_mix_is_balanced_and_never_clips() {
    let s = keyboardia_core::SessionState::demo();
    let cap = capture(&s, SR, 48_000 * 8, || 512);
    let db = |x: &[f32]| 20.0 * rms(x).log10();
    let master = db(&cap.left);
    for (i, t) in s.tracks.iter().enumerate() {
        let level = db(&cap.tracks[i]);
        // Every part is audible in the mix, none buries the others.
        assert!(
            level > master - 26.0 && level < master + 1.0,
            "{} at {level:.1} dB in a {master:.1} dB mix",
            t.name
        );
    }
    let pk = peak(&cap.left).max(peak(&cap.right));
    assert!(pk > 0.5 && pk <= 1.0, "master peak {pk}");
}
