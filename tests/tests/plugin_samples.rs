//! Samples the sampler holds are saved with the plugin's state: a take put on a track through
//! the saved state (the way a DAW project restores it) plays in a real CLAP host, and a new
//! instance loading what the first one saved plays exactly the same audio; save → load → save
//! stays byte-identical and the saved frames are bit-exact. Debug bundle with
//! `assert_process_allocs`: any allocation in process() aborts the run.

use keyboardia::samples::{decode_samples, encode_samples};
use keyboardia_core::{Instrument, SampleId, SessionState, Track};
use keyboardia_engine::SampleBuffer;
use keyboardia_tests::clap_host::{clap_bundle_path, BundleKind, ClapPlugin};
use keyboardia_tests::saved_state;

const ID: &str = "dev.keyboardia.sequencer";
const SR: f64 = 48_000.0;

fn plugin() -> ClapPlugin {
    ClapPlugin::load(&clap_bundle_path(BundleKind::DebugAllocChecks), ID, SR, 512)
}

/// A 5 s 48 kHz take as an audio interface delivers it (24-bit): a few values a lossy codec
/// would change, then a decaying 330 Hz tone over a noise floor.
fn take() -> Vec<f32> {
    let mut frames = vec![
        -0.0,
        f32::from_bits(1),
        -f32::from_bits(0x007f_ffff),
        f32::MIN_POSITIVE,
        1.0,
        -1.0,
    ];
    let mut seed = 0x9e37_79b9u32;
    while frames.len() < 5 * 48_000 {
        let i = frames.len() as f32;
        seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
        let noise = (seed >> 9) as f32 / (1u32 << 23) as f32 - 0.5;
        let x = 0.7
            * (-i / 48_000.0 * 3.0).exp()
            * (i * std::f32::consts::TAU * 330.0 / 48_000.0).sin()
            + 0.001 * noise;
        frames.push((x * 8_388_608.0).round() / 8_388_608.0);
    }
    frames
}

fn bits(x: &[f32]) -> Vec<u32> {
    x.iter().map(|v| v.to_bits()).collect()
}

fn peak(x: &[f32]) -> f32 {
    x.iter().fold(0.0f32, |m, v| m.max(v.abs()))
}

#[test]
fn plugin_samples_a_take_saved_with_the_state_plays_the_same_after_reload() {
    let id: SampleId = "rec-take-1".parse().unwrap();
    let mut t = Track::new(
        "t1".parse().unwrap(),
        "Take 1",
        Instrument::Sample(id.clone()),
    );
    t.volume = 1.0;
    t.step_count = 16;
    for i in [0, 4, 8, 12] {
        t.steps[i].on = true;
    }
    let state = SessionState {
        tempo: 120.0,
        tracks: vec![t],
        ..SessionState::default()
    };
    let frames = take();
    let buffer = SampleBuffer {
        frames: frames.clone().into_boxed_slice(),
        sample_rate_hz: 48_000.0,
    };
    let samples = encode_samples([(&id, &buffer)]);
    println!(
        "5 s 48 kHz take in the saved state: {} bytes vs {} bytes raw f32 ({:.1} %)",
        samples.len(),
        frames.len() * 4,
        100.0 * samples.len() as f64 / (frames.len() * 4) as f64
    );

    let mut p = plugin();
    let mut doc = saved_state::parse(&p.save_state());
    saved_state::set_field(&mut doc, "session", &serde_json::to_string(&state).unwrap());

    // Without its sample the track is silent (what a reload did before samples were saved).
    let mut silent = plugin();
    silent.load_state(&saved_state::to_bytes(&doc));
    let (l, r, _) = silent.render(96_000, 120.0, 0.0, SR, || 512);
    assert_eq!(peak(&l).max(peak(&r)), 0.0, "no sample, no sound");

    saved_state::set_field(&mut doc, "samples", &samples);
    p.load_state(&saved_state::to_bytes(&doc));
    let (l1, r1, _) = p.render(96_000, 120.0, 0.0, SR, || 512);
    assert!(peak(&l1) > 0.1, "the take plays: peak {}", peak(&l1));

    // What the plugin saves holds the take bit-exact.
    let saved = p.save_state();
    let restored = decode_samples(&saved_state::field(&saved_state::parse(&saved), "samples"));
    assert_eq!(restored.len(), 1);
    assert_eq!(restored[0].0, id);
    assert_eq!(restored[0].1.sample_rate_hz, 48_000.0);
    assert_eq!(bits(&restored[0].1.frames), bits(&frames));

    // A new instance loading it plays exactly the same audio and saves the same bytes.
    let mut q = plugin();
    q.load_state(&saved);
    let (l2, r2, _) = q.render(96_000, 120.0, 0.0, SR, || 512);
    assert_eq!(bits(&l2), bits(&l1), "left differs after reload");
    assert_eq!(bits(&r2), bits(&r1), "right differs after reload");
    assert_eq!(
        q.save_state(),
        saved,
        "save → load → save changed the bytes"
    );
}
