//! Slices of a recorded take in a real CLAP host (clack-host), debug bundle with
//! `assert_process_allocs` (any allocation in process() aborts the run): a sample track with cut
//! points and slice-locked steps, restored from a saved state the way a DAW project is, sounds
//! exactly where its steps are, each step plays exactly its slice of the take (cut to cut,
//! faded over its last 4 ms), an unlocked step the whole take; a new instance loading what it
//! saves plays the same audio and saves the same bytes.

use keyboardia::samples::encode_samples;
use keyboardia_core::schema::state_from_json;
use keyboardia_core::{slice_bounds, Instrument, Lock, SampleId, SessionState, Track};
use keyboardia_engine::voice::GATE_FADE_S;
use keyboardia_engine::SampleBuffer;
use keyboardia_tests::clap_host::{clap_bundle_path, BundleKind, ClapPlugin, Transport};
use keyboardia_tests::onsets::after_silence;
use keyboardia_tests::saved_state;

const ID: &str = "dev.keyboardia.sequencer";
const SR: f64 = 48_000.0;
/// 60 BPM: a 16th is 12 000 frames, longer than any slice, so every slice plays to its end.
const TEMPO: f64 = 60.0;
const STEP: usize = 12_000;
/// Where the take is cut: a lead-in before the first cut, then six slices of 7200 frames.
const CUTS: [u32; 6] = [2_400, 9_600, 16_800, 24_000, 31_200, 38_400];
const TAKE_LEN: usize = 45_600;
/// The pattern: (step, slice lock). Slice 9 is past the last slice (5), so it plays slice 5;
/// step 14 has no lock and plays the whole take.
const STEPS: [(usize, Option<u8>); 6] = [
    (0, Some(3)),
    (3, Some(0)),
    (6, Some(5)),
    (9, Some(1)),
    (12, Some(9)),
    (14, None),
];

/// A take like a recorded drum loop: a little noise before the first hit, then at every cut a
/// different hit, a decaying tone (its own pitch) with a click on its first frames.
fn take() -> Vec<f32> {
    let mut seed = 0x2545_f491u32;
    (0..TAKE_LEN)
        .map(|j| {
            seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            let noise = ((seed >> 9) as f32 / (1u32 << 23) as f32 - 0.5) * 0.01;
            let Some(k) = CUTS.iter().rposition(|&c| c as usize <= j) else {
                return noise;
            };
            let t = (j - CUTS[k] as usize) as f32 / SR as f32;
            let hz = 180.0 * 1.5f32.powi(k as i32);
            let click = if t < 0.0005 { 0.3 } else { 0.0 };
            let tone = 0.6 * (-t * 12.0).exp() * (std::f32::consts::TAU * hz * t).sin();
            // Rounded to 24 bits, as an audio interface delivers it.
            ((click + tone + noise) * 8_388_608.0).round() / 8_388_608.0
        })
        .collect()
}

/// The session: one sample track playing `id`, hard left at full volume so its own output's
/// left channel is exactly the voice (velocity 127: gain 1).
fn session(id: &SampleId) -> SessionState {
    let mut t = Track::new(
        "t1".parse().unwrap(),
        "Take 1",
        Instrument::Sample(id.clone()),
    );
    t.volume = 1.0;
    t.pan = -1.0;
    t.cuts = CUTS.to_vec();
    for (s, slice) in STEPS {
        t.steps[s].on = true;
        t.steps[s].velocity = 127;
        if let Some(k) = slice {
            t.steps[s].locks.set(Lock::Slice(k));
        }
    }
    SessionState {
        tempo: TEMPO,
        tracks: vec![t],
        ..SessionState::default()
    }
}

/// A fresh instance with a main output and 16 per-track outputs.
fn plugin() -> ClapPlugin {
    ClapPlugin::load_with_outputs(
        &clap_bundle_path(BundleKind::DebugAllocChecks),
        ID,
        SR,
        512,
        17,
    )
}

/// Plays one bar from beat 0 in irregular blocks; returns the first track's own left output.
fn bar(p: &mut ClapPlugin) -> Vec<f32> {
    let blocks = [512usize, 100, 37, 256, 1, 480, 333];
    let mut out = Vec::new();
    let mut i = 0;
    while out.len() < 16 * STEP {
        let n = blocks[i % blocks.len()].min(16 * STEP - out.len());
        i += 1;
        let t = Transport {
            playing: true,
            tempo_bpm: TEMPO,
            beat: out.len() as f64 * TEMPO / (60.0 * SR),
        };
        let b = p.process(n, Some(t), &[], &[]);
        out.extend_from_slice(&b.aux[0].0);
    }
    out
}

/// What the sampler plays for source frames `start..end` of `x` at pitch 0: the frames, the
/// last 4 ms ramped down to zero.
fn sliced(x: &[f32], start: usize, end: usize) -> Vec<f32> {
    let inv = 1.0 / (GATE_FADE_S * SR as f32).round() as f64;
    (start..end)
        .map(|p| x[p] * ((end - p) as f64 * inv).min(1.0) as f32)
        .collect()
}

fn bits(x: &[f32]) -> Vec<u32> {
    x.iter().map(|v| v.to_bits()).collect()
}

/// `a == b` bit for bit, naming the first frame that differs.
#[track_caller]
fn assert_frames(a: &[f32], b: &[f32], what: &str) {
    assert_eq!(a.len(), b.len(), "{what}: lengths");
    if let Some(i) = a
        .iter()
        .zip(b)
        .position(|(x, y)| x.to_bits() != y.to_bits())
    {
        panic!("{what}: frame {i} is {} instead of {}", a[i], b[i]);
    }
}

#[test]
fn plugin_slices_each_locked_step_plays_its_slice_of_the_take_and_survives_save_and_load() {
    let id: SampleId = "rec-slices".parse().unwrap();
    let x = take();
    let buffer = SampleBuffer {
        frames: x.clone().into_boxed_slice(),
        sample_rate_hz: SR as f32,
    };
    let state = session(&id);

    // The project as a DAW restores it: the session (cuts and slice locks in its JSON) and
    // the take, in the plugin's saved state.
    let mut p = plugin();
    let mut doc = saved_state::parse(&p.save_state());
    let session_json = serde_json::to_string(&state).unwrap();
    assert!(
        session_json.contains(r#""cuts":[2400,9600,16800,24000,31200,38400]"#)
            && session_json.contains(r#"{"s":0,"v":127,"sl":3}"#),
        "{session_json}"
    );
    saved_state::set_field(&mut doc, "session", &session_json);
    saved_state::set_field(&mut doc, "samples", &encode_samples([(&id, &buffer)]));
    p.load_state(&saved_state::to_bytes(&doc));
    let out = bar(&mut p);

    // It sounds on the pattern's steps, after silence (within a frame: CLAP's transport beats
    // are fixed point).
    let onsets = after_silence(&out, 1_000);
    assert_eq!(onsets.len(), STEPS.len(), "one onset per step: {onsets:?}");
    for (&at, (s, _)) in onsets.iter().zip(STEPS) {
        assert!(at.abs_diff(s * STEP) <= 1, "step {s} starts at {at}");
    }

    for (&at, (s, slice)) in onsets.iter().zip(STEPS) {
        match slice {
            Some(k) => {
                let (start, end) = slice_bounds(&CUTS, k, TAKE_LEN as u32);
                let (start, end) = (start as usize, end as usize);
                let n = end - start;
                assert_frames(
                    &out[at..at + n],
                    &sliced(&x, start, end),
                    &format!("step {s}: slice {k}, frames {start}..{end} of the take"),
                );
                assert!(
                    out[at + n..at + STEP].iter().all(|&v| v == 0.0),
                    "step {s}: silent after its slice"
                );
            }
            None => {
                // The whole take from its first frame, cut by the step's gate: 12 000 frames.
                assert_frames(&out[at..at + STEP], &x[..STEP], "step 14: the whole take");
            }
        }
    }
    assert_eq!(slice_bounds(&CUTS, 9, TAKE_LEN as u32), (38_400, 45_600));

    // Saved and loaded into a new instance: the same session, the same audio, the same bytes.
    let saved = p.save_state();
    let restored =
        state_from_json(saved_state::field(&saved_state::parse(&saved), "session").as_bytes())
            .unwrap();
    assert_eq!(restored, state);
    let mut q = plugin();
    q.load_state(&saved);
    let again = bar(&mut q);
    assert_eq!(bits(&again), bits(&out), "audio differs after reload");
    assert_eq!(
        q.save_state(),
        saved,
        "save → load → save changed the bytes"
    );
}
