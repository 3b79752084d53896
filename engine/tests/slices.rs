//! Slices of sample tracks: a step with a slice lock plays exactly its slice of the sample
//! (cut to cut, faded over its last few ms), an index past the last slice plays the last one,
//! and a step without a lock plays the whole sample.

mod common;

use std::sync::Arc;

use common::*;
use keyboardia_core::{slice_bounds, Lock, SessionState, MAX_SLICES};
use keyboardia_engine::voice::{
    NoteParams, Patch, SampleBank, SampleBuffer, Voice, GATE_FADE_S, GATE_HELD,
};
use keyboardia_engine::{Engine, EnginePattern, InternalClock};

const SR: f64 = 48_000.0;
/// One 16th at 120 BPM, in frames.
const STEP: usize = 6_000;
/// The take's cut points: a 1000-frame lead-in, then four slices.
const CUTS: [u32; 4] = [1_000, 4_000, 7_000, 10_000];
/// The take's length: the last slice is 5000 frames, shorter than a step.
const LEN: usize = 15_000;

/// A take whose slices are unmistakable: a quiet lead-in, then a different tone per slice,
/// each starting at full level right on its cut (a hard edge, as a drum hit has).
fn take() -> Vec<f32> {
    (0..LEN)
        .map(|j| {
            let seg = CUTS.iter().filter(|&&c| c as usize <= j).count();
            let hz = [90.0, 220.0, 330.0, 550.0, 770.0][seg];
            let amp = if seg == 0 { 0.05 } else { 0.6 };
            amp * (std::f64::consts::TAU * hz * j as f64 / SR + 0.3).cos() as f32
        })
        .collect()
}

/// The fade the sampler applies before the end of what it plays: its gain at source position
/// `pos` (integer positions at pitch 0) when the played range ends at `end`.
fn fade(end: usize, pos: usize) -> f32 {
    let inv = 1.0 / (GATE_FADE_S * SR as f32).round() as f64;
    ((end as f64 - pos as f64) * inv).min(1.0) as f32
}

/// Asserts `a == b` frame by frame, naming the first frame that differs.
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

/// What a note playing source frames `start..end` of `x` sounds like at pitch 0.
fn expected(x: &[f32], start: usize, end: usize) -> Vec<f32> {
    (start..end).map(|p| x[p] * fade(end, p)).collect()
}

#[test]
fn slice_locked_steps_play_exactly_their_slices_and_unlocked_steps_the_whole_take() {
    let x = take();
    let mut t = track("s", "sample:take", 16, &[0, 4, 8, 12]);
    // Hard left: the track's post-fader left channel is the voice's output times exactly 1.
    t.pan = -1.0;
    t.cuts = CUTS.to_vec();
    for s in [0, 4, 8, 12] {
        // Full velocity: the voice's gain is exactly 1.
        t.steps[s].velocity = 127;
    }
    t.steps[0].locks.set(Lock::Slice(2));
    t.steps[4].locks.set(Lock::Slice(0));
    // Step 8: no lock, the whole take.
    t.steps[12].locks.set(Lock::Slice(9)); // past the last slice (3): plays slice 3
    let s = session(120.0, 0.0, vec![t]);
    let pattern = EnginePattern::from_state(&s, |id| (id.as_str() == "take").then_some(5));
    assert_eq!(pattern.tracks[0].cuts(), CUTS);

    // Odd block sizes: where the host splits blocks must not matter.
    let sizes = [512usize, 37, 1024, 129, 64, 4096, 1];
    let render = |block_sizes: &[usize]| {
        let mut e = Engine::new(SR);
        e.set_pattern(&pattern);
        e.set_sample(
            5,
            Some(Arc::new(SampleBuffer {
                frames: x.clone().into_boxed_slice(),
                sample_rate_hz: SR as f32,
            })),
        );
        let mut clock = InternalClock::new(120.0);
        clock.play_from(0.0);
        let mut i = 0;
        let mut block = || {
            i += 1;
            block_sizes[i % block_sizes.len()]
        };
        capture_with(
            &mut e,
            16 * STEP,
            &mut block,
            |n| clock.next_block(n as u32, SR),
            &[],
        )
        .tracks
        .swap_remove(0)
    };
    let out = render(&sizes);
    assert_frames(&out, &render(&[512]), "block splits changed the render");

    let slice = |k: usize| {
        let (s, e) = slice_bounds(&CUTS, k as u8, LEN as u32);
        (s as usize, e as usize)
    };
    assert_eq!(slice(2), (7_000, 10_000));
    assert_eq!(slice(9), (10_000, 15_000));
    for (step, (start, end)) in [(0, slice(2)), (4, slice(0)), (12, slice(9))] {
        let at = step * STEP;
        let n = end - start;
        assert_frames(
            &out[at..at + n],
            &expected(&x, start, end),
            &format!("step {step} plays frames {start}..{end}"),
        );
        // Faded to silence at the slice's end: no click, and nothing of the next slice.
        assert!(
            out[at + n - 1].abs() < 0.01,
            "step {step} ends at {}",
            out[at + n - 1]
        );
        assert!(
            out[at + n..at + 4 * STEP].iter().all(|&v| v == 0.0),
            "step {step}: silence after its slice"
        );
    }
    // The fade is the slice's last 4 ms: full level before it, about half level in its middle.
    let (s2, e2) = slice(2);
    let fade_len = (GATE_FADE_S as f64 * SR) as usize;
    assert_eq!(out[e2 - fade_len - 1 - s2], x[e2 - fade_len - 1]);
    let energy = |v: &[f32]| v.iter().map(|s| s.abs()).sum::<f32>();
    let mid = e2 - fade_len * 5 / 8..e2 - fade_len * 3 / 8;
    let ratio = energy(&out[mid.start - s2..mid.end - s2]) / energy(&x[mid]);
    assert!((ratio - 0.5).abs() < 0.05, "mid-fade level {ratio}");

    // No lock: the whole take from its first frame, lead-in included, until the step's gate
    // closes (one step), then the short release.
    let at = 8 * STEP;
    assert_frames(&out[at..at + STEP], &x[..STEP], "the whole take");
    let release = (GATE_FADE_S * SR as f32) as usize;
    assert!(out[at + STEP..at + STEP + release]
        .iter()
        .zip(&x[STEP..])
        .all(|(o, v)| o.abs() <= v.abs()));
    assert!(out[at + STEP + release + 1..at + 4 * STEP]
        .iter()
        .all(|&v| v == 0.0));
}

/// One sample note, rendered in 64-frame chunks for `frames` frames.
fn sample_note(
    bank: &SampleBank,
    pitch: f32,
    range: Option<(u32, u32)>,
    frames: usize,
) -> Vec<f32> {
    let mut v = Voice::default();
    let params = NoteParams {
        pitch_semis: pitch,
        velocity: 127,
        gain: 1.0,
        gate_frames: GATE_HELD,
    };
    v.start(0, Patch::Sample(0), params, 1, SR as f32);
    if let Some((s, e)) = range {
        v.play_range(s, e);
    }
    let mut out = vec![0.0f32; frames];
    for c in out.chunks_mut(64) {
        v.render(c, bank);
    }
    assert!(!v.active, "the note ends with its sample");
    out
}

fn bank(x: &[f32]) -> SampleBank {
    let mut bank: SampleBank = std::array::from_fn(|_| None);
    bank[0] = Some(Arc::new(SampleBuffer {
        frames: x.to_vec().into_boxed_slice(),
        sample_rate_hz: SR as f32,
    }));
    bank
}

#[test]
fn the_whole_sample_plays_to_its_end_and_fades_out_there() {
    let x: Vec<f32> = take()[..3_000].to_vec();
    let out = sample_note(&bank(&x), 0.0, None, 4_000);
    assert_frames(&out[..3_000], &expected(&x, 0, 3_000), "the whole take");
    assert!(out[3_000..].iter().all(|&v| v == 0.0));
    // Before the last 4 ms the take is untouched.
    assert_frames(&out[..2_800], &x[..2_800], "before the fade");
}

#[test]
fn a_transposed_slice_stops_at_its_end() {
    let x = take();
    let b = bank(&x);
    // An octave up reads the slice twice as fast: half as many frames, none past its end.
    let out = sample_note(&b, 12.0, Some((4_000, 7_000)), 4_000);
    let sounding = out.iter().rposition(|&v| v != 0.0).unwrap() + 1;
    assert!((1_499..=1_501).contains(&sounding), "{sounding} frames");
    // Its pitch is the slice's tone (330 Hz) an octave up.
    let hz = zero_crossing_hz(&out[..1_400], SR);
    assert!((hz - 660.0).abs() < 8.0, "{hz:.1} Hz");
    // A range on its own (pitch 0) equals the sliced note in the engine test.
    let plain = sample_note(&b, 0.0, Some((4_000, 7_000)), 4_000);
    assert_frames(&plain[..3_000], &expected(&x, 4_000, 7_000), "slice 1");
    // Other patches ignore a range.
    let mut v = Voice::default();
    let p = NoteParams {
        pitch_semis: 0.0,
        velocity: 100,
        gain: 1.0,
        gate_frames: 100,
    };
    v.start(
        0,
        Patch::Synth(keyboardia_core::SynthPreset::Lead),
        p,
        1,
        SR as f32,
    );
    let mut w = v.clone();
    w.play_range(0, 1);
    let (mut a, mut c) = ([0.0f32; 64], [0.0f32; 64]);
    v.render(&mut a, &b);
    w.render(&mut c, &b);
    assert_eq!(a, c);
}

#[test]
fn the_engine_pattern_carries_each_tracks_cuts() {
    let mut s = SessionState::default();
    let mut a = track("a", "sample:take", 16, &[0]);
    a.cuts = (0..MAX_SLICES as u32).map(|i| i * 10).collect();
    let mut b = track("b", "kick", 16, &[0]);
    b.cuts = vec![5, 9];
    s.tracks = vec![a, b, track("c", "sample:take", 16, &[])];
    let p = EnginePattern::from_state(&s, |_| Some(0));
    assert_eq!(p.tracks[0].cuts(), &s.tracks[0].cuts[..]);
    assert_eq!(p.tracks[1].cuts(), [5, 9]);
    assert!(p.tracks[2].cuts().is_empty());
    assert_eq!(p.tracks[0].slice_frames(63, 1_000), (630, 1_000));
    assert_eq!(p.tracks[0].slice_frames(3, 1_000), (30, 40));
    assert_eq!(p.tracks[2].slice_frames(3, 1_000), (0, 1_000));
}
