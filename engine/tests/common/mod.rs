//! Helpers shared by the engine tests: patterns, per-track capture, onset and pitch measurement.
#![allow(dead_code)]

use keyboardia_core::{Instrument, SessionState, Track};
use keyboardia_engine::{BlockClock, Engine, EnginePattern, InputEvent, InternalClock};

/// A session with the given tracks at `tempo` BPM and `swing` percent.
pub fn session(tempo: f64, swing: f64, tracks: Vec<Track>) -> SessionState {
    SessionState {
        tempo,
        swing,
        tracks,
        ..SessionState::default()
    }
}

/// A track playing `inst` on the listed steps of a `len`-step loop.
pub fn track(id: &str, inst: &str, len: u8, on: &[usize]) -> Track {
    let mut t = Track::new(id.parse().unwrap(), id, inst.parse::<Instrument>().unwrap());
    t.step_count = len;
    t.volume = 1.0;
    for &i in on {
        t.steps[i].on = true;
    }
    t
}

/// Rendered audio: the master mix, each track's post-fader left channel, and the MIDI out
/// (absolute frame, event).
pub struct Capture {
    pub left: Vec<f32>,
    pub right: Vec<f32>,
    pub tracks: Vec<Vec<f32>>,
    pub midi: Vec<(usize, keyboardia_engine::MidiOut)>,
}

/// Renders `frames` frames from beat 0 on the internal clock with block sizes from `block`.
pub fn capture(
    state: &SessionState,
    sr: f64,
    frames: usize,
    mut block: impl FnMut() -> usize,
) -> Capture {
    let pattern = EnginePattern::from_state(state, |_| None);
    let mut engine = Engine::new(sr);
    engine.set_seed(pattern.seed);
    engine.set_pattern(&pattern);
    let mut clock = InternalClock::new(state.tempo);
    clock.play_from(0.0);
    capture_with(
        &mut engine,
        frames,
        &mut block,
        |n| clock.next_block(n as u32, sr),
        &[],
    )
}

/// Renders with any clock; `inputs` are (absolute frame, event) pairs.
pub fn capture_with(
    engine: &mut Engine,
    frames: usize,
    block: &mut dyn FnMut() -> usize,
    mut clock: impl FnMut(usize) -> BlockClock,
    inputs: &[(usize, InputEvent)],
) -> Capture {
    let mut cap = Capture {
        left: vec![0.0; frames],
        right: vec![0.0; frames],
        tracks: vec![vec![0.0; frames]; 16],
        midi: Vec::new(),
    };
    let mut pos = 0;
    while pos < frames {
        let n = block().max(1).min(frames - pos);
        let c = clock(n);
        let ev: Vec<InputEvent> = inputs
            .iter()
            .filter(|(f, _)| *f >= pos && *f < pos + n)
            .map(|(f, e)| match *e {
                InputEvent::NoteOn { key, velocity, .. } => InputEvent::NoteOn {
                    offset: (f - pos) as u32,
                    key,
                    velocity,
                },
                InputEvent::NoteOff { key, .. } => InputEvent::NoteOff {
                    offset: (f - pos) as u32,
                    key,
                },
            })
            .collect();
        let tracks = &mut cap.tracks;
        let mut aux = |t: usize, off: usize, l: &[f32], _r: &[f32]| {
            tracks[t][pos + off..pos + off + l.len()].copy_from_slice(l);
        };
        engine.process(
            &c,
            &ev,
            &mut cap.left[pos..pos + n],
            &mut cap.right[pos..pos + n],
            Some(&mut aux),
        );
        for m in engine.midi_out() {
            cap.midi.push((pos + m.offset as usize, *m));
        }
        pos += n;
    }
    cap
}

/// Frames where the signal starts after at least `gap` frames of exact silence.
pub fn onsets(x: &[f32], gap: usize) -> Vec<usize> {
    let mut out = Vec::new();
    let mut silent = gap;
    for (i, v) in x.iter().enumerate() {
        if *v != 0.0 {
            if silent >= gap {
                out.push(i);
            }
            silent = 0;
        } else {
            silent += 1;
        }
    }
    out
}

/// The frame at which 16th `n` (fractional for swing/nudge) starts at `tempo`, `sr`.
pub fn step_frame(n: f64, tempo: f64, sr: f64) -> usize {
    (n * 0.25 * sr * 60.0 / tempo - 1e-6).ceil() as usize
}

/// Fundamental frequency by counting positive-going zero crossings.
pub fn zero_crossing_hz(x: &[f32], sr: f64) -> f64 {
    let idx: Vec<usize> = x
        .windows(2)
        .enumerate()
        .filter(|(_, w)| w[0] <= 0.0 && w[1] > 0.0)
        .map(|(i, _)| i)
        .collect();
    if idx.len() < 2 {
        return 0.0;
    }
    (idx.len() - 1) as f64 * sr / (idx[idx.len() - 1] - idx[0]) as f64
}

/// Fraction of spectral energy above `hz` (naive DFT over up to 2048 frames).
pub fn energy_above(x: &[f32], sr: f64, hz: f64) -> f64 {
    let n = x.len().min(2048);
    let x = &x[..n];
    let mut total = 0.0;
    let mut high = 0.0;
    for k in 1..n / 2 {
        let w = 2.0 * std::f64::consts::PI * k as f64 / n as f64;
        let (mut re, mut im) = (0.0, 0.0);
        for (i, v) in x.iter().enumerate() {
            let a = w * i as f64;
            re += *v as f64 * a.cos();
            im += *v as f64 * a.sin();
        }
        let e = re * re + im * im;
        total += e;
        if k as f64 * sr / n as f64 > hz {
            high += e;
        }
    }
    if total == 0.0 {
        0.0
    } else {
        high / total
    }
}

pub fn peak(x: &[f32]) -> f32 {
    x.iter().fold(0.0f32, |m, v| m.max(v.abs()))
}

/// The frame where `track`'s step `step` first sounds, found by rendering with and without it:
/// exact even when sounds overlap.
pub fn onset_by_removal(
    state: &SessionState,
    track: usize,
    step: usize,
    sr: f64,
    frames: usize,
    block: usize,
) -> Option<usize> {
    let with = capture(state, sr, frames, || block);
    let mut without = state.clone();
    without.tracks[track].steps[step].on = false;
    let wo = capture(&without, sr, frames, || block);
    with.left.iter().zip(&wo.left).position(|(a, b)| a != b)
}
