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

/// One plugin test at a time (instances of one library on many threads are not what a host does).
fn serial() -> std::sync::MutexGuard<'static, ()> {
    static LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());
    LOCK.lock().unwrap_or_else(|e| e.into_inner())
}

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

/// A sample's frames as the plugin holds and saves them: NaN and magnitudes below −300 dBFS
/// (denormals, −0.0) are 0, the rest is within full scale; ordinary frames are kept bit-exact.
fn as_held(x: &[f32]) -> Vec<f32> {
    x.iter()
        .map(|&v| {
            if v.is_nan() || v.abs() < keyboardia::flush::SILENCE_BELOW {
                0.0
            } else {
                v.clamp(-1.0, 1.0)
            }
        })
        .collect()
}

fn peak(x: &[f32]) -> f32 {
    x.iter().fold(0.0f32, |m, v| m.max(v.abs()))
}

#[test]
fn plugin_samples_a_take_saved_with_the_state_plays_the_same_after_reload() {
    let _serial = serial();
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

    // What the plugin saves holds the take bit-exact, but for its denormals and −0.0, which the
    // plugin flushed to 0.0 on loading.
    let saved = p.save_state();
    let restored = decode_samples(&saved_state::field(&saved_state::parse(&saved), "samples"));
    assert_eq!(restored.len(), 1);
    assert_eq!(restored[0].0, id);
    assert_eq!(restored[0].1.sample_rate_hz, 48_000.0);
    assert_eq!(bits(&restored[0].1.frames), bits(&as_held(&frames)));

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

/// The saved state captured from the build before samples were saved as WAV files (the
/// "predicted f32 bit planes, deflated, base64" format): the JSON document of a CLAP state
/// holding the session of [`fixture_state`] and the samples of [`fixture_samples`].
const STATE_BEFORE_WAV: &str = "fixtures/plugin-state-samples-v1.json";

fn fixture_path() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(STATE_BEFORE_WAV)
}

/// The samples of the fixture: a 0.5 s 48 kHz take (24-bit values after a few that a lossy
/// codec would change) under a `rec-` id, and a 0.25 s 44.1 kHz shared sample of 16-bit values
/// under a server id.
fn fixture_samples() -> Vec<(SampleId, SampleBuffer)> {
    let mut take = take();
    take.truncate(24_000);
    let shared: Vec<f32> = (0..11_025)
        .map(|i| ((i as f32 * 0.05).sin() * 0.8 * 32_768.0).round() / 32_768.0)
        .collect();
    vec![
        (
            "rec-fixture-take".parse().unwrap(),
            SampleBuffer {
                frames: take.into_boxed_slice(),
                sample_rate_hz: 48_000.0,
            },
        ),
        (
            "0123456789abcdef0123456789abcdef".parse().unwrap(),
            SampleBuffer {
                frames: shared.into_boxed_slice(),
                sample_rate_hz: 44_100.0,
            },
        ),
    ]
}

/// Two sample tracks, one per fixture sample, each playing every beat.
fn fixture_state() -> SessionState {
    let tracks = fixture_samples()
        .into_iter()
        .enumerate()
        .map(|(i, (id, _))| {
            let mut t = Track::new(
                format!("t{i}").parse().unwrap(),
                format!("Sample {i}"),
                Instrument::Sample(id),
            );
            t.volume = 1.0;
            t.step_count = 16;
            for s in [0, 4, 8, 12] {
                t.steps[s].on = true;
            }
            t
        })
        .collect();
    SessionState {
        tempo: 120.0,
        tracks,
        ..SessionState::default()
    }
}

/// Writes the fixture with today's build: `KEYBOARDIA_WRITE_FIXTURE=1 cargo test -p
/// keyboardia-tests --test plugin_samples -- --ignored capture`. Run once, before the saved
/// format changed; kept to show how the fixture was made.
#[test]
#[ignore]
fn capture_state_before_wav() {
    if std::env::var_os("KEYBOARDIA_WRITE_FIXTURE").is_none() {
        return;
    }
    let _serial = serial();
    let samples = fixture_samples();
    let mut p = plugin();
    let mut doc = saved_state::parse(&p.save_state());
    saved_state::set_field(
        &mut doc,
        "session",
        &serde_json::to_string(&fixture_state()).unwrap(),
    );
    saved_state::set_field(
        &mut doc,
        "samples",
        &encode_samples(samples.iter().map(|(id, b)| (id, b))),
    );
    p.load_state(&saved_state::to_bytes(&doc));
    let saved = p.save_state();
    std::fs::write(fixture_path(), &saved[8..]).unwrap();
}

/// The fixture as state bytes a host hands back.
fn state_before_wav() -> Vec<u8> {
    let doc: serde_json::Value =
        serde_json::from_slice(&std::fs::read(fixture_path()).expect("the fixture")).unwrap();
    saved_state::to_bytes(&doc)
}

#[test]
fn plugin_samples_a_state_saved_before_wav_files_decodes_bit_exact() {
    let doc = saved_state::parse(&state_before_wav());
    let restored = decode_samples(&saved_state::field(&doc, "samples"));
    let expected = fixture_samples();
    assert_eq!(restored.len(), expected.len());
    for ((id, b), (want_id, want)) in restored.iter().zip(&expected) {
        assert_eq!(id, want_id);
        assert_eq!(b.sample_rate_hz.to_bits(), want.sample_rate_hz.to_bits());
        assert_eq!(bits(&b.frames), bits(&want.frames), "{id}");
    }
}

#[test]
fn plugin_samples_a_state_saved_before_wav_files_loads_and_plays_the_same() {
    let _serial = serial();
    // Today's build restores the fixture and plays both tracks.
    let mut p = plugin();
    p.load_state(&state_before_wav());
    let (l1, r1, _) = p.render(48_000, 120.0, 0.0, SR, || 512);
    assert!(peak(&l1) > 0.1, "the samples play: peak {}", peak(&l1));

    // What it saves now holds the same samples, bit-exact but for the denormals the plugin
    // flushed on loading, and plays the same after a reload.
    let saved = p.save_state();
    let doc = saved_state::parse(&saved);
    assert_eq!(
        serde_json::from_str::<SessionState>(&saved_state::field(&doc, "session")).unwrap(),
        fixture_state()
    );
    let restored = decode_samples(&saved_state::field(&doc, "samples"));
    let expected = fixture_samples();
    assert_eq!(restored.len(), expected.len());
    for ((id, b), (want_id, want)) in restored.iter().zip(&expected) {
        assert_eq!(id, want_id);
        assert_eq!(bits(&b.frames), bits(&as_held(&want.frames)), "{id}");
    }
    let mut q = plugin();
    q.load_state(&saved);
    let (l2, r2, _) = q.render(48_000, 120.0, 0.0, SR, || 512);
    assert_eq!(bits(&l2), bits(&l1));
    assert_eq!(bits(&r2), bits(&r1));
}

#[test]
fn plugin_samples_a_damaged_sample_plays_finite_normal_and_bounded() {
    let _serial = serial();
    let id: SampleId = "rec-damaged".parse().unwrap();
    // What a damaged project or a hostile file may hold, among ordinary audio.
    let frames: Vec<f32> = (0..48_000)
        .map(|i| match i % 7 {
            0 => f32::NAN,
            1 => f32::INFINITY,
            2 => -1e30,
            3 => f32::from_bits(1 + i as u32),
            4 => -f32::from_bits(0x0040_0000 + i as u32),
            _ => ((i as f32) * 0.03).sin() * 0.5,
        })
        .collect();
    let mut t = Track::new(
        "t1".parse().unwrap(),
        "Damaged",
        Instrument::Sample(id.clone()),
    );
    t.volume = 1.0;
    t.step_count = 16;
    for i in 0..16 {
        t.steps[i].on = true;
    }
    let state = SessionState {
        tempo: 120.0,
        tracks: vec![t],
        ..SessionState::default()
    };
    let buffer = SampleBuffer {
        frames: frames.clone().into_boxed_slice(),
        sample_rate_hz: 48_000.0,
    };
    let mut p = plugin();
    let mut doc = saved_state::parse(&p.save_state());
    saved_state::set_field(&mut doc, "session", &serde_json::to_string(&state).unwrap());
    saved_state::set_field(&mut doc, "samples", &encode_samples([(&id, &buffer)]));
    p.load_state(&saved_state::to_bytes(&doc));
    let (l, r, _) = p.render(96_000, 120.0, 0.0, SR, || 512);
    for (name, out) in [("left", &l), ("right", &r)] {
        let bad: Vec<(usize, f32)> = out
            .iter()
            .copied()
            .enumerate()
            .filter(|(_, v)| !v.is_finite() || v.is_subnormal() || v.abs() > 4.0)
            .take(5)
            .collect();
        assert!(bad.is_empty(), "{name}: {bad:?}");
    }
    assert!(
        peak(&l) > 0.05,
        "the ordinary frames play: peak {}",
        peak(&l)
    );
    // The plugin holds (and saves) the sample as it plays it.
    let saved = decode_samples(&saved_state::field(
        &saved_state::parse(&p.save_state()),
        "samples",
    ));
    assert_eq!(bits(&saved[0].1.frames), bits(&as_held(&frames)));
}
