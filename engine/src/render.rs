//! Offline rendering: a session (or engine pattern) to stereo samples (written as WAV by
//! [`keyboardia_core::audio::encode_wav_stereo_f32`]).

use keyboardia_core::SessionState;

use crate::clock::InternalClock;
use crate::engine::Engine;
use crate::pattern::EnginePattern;

/// Stereo audio, one `Vec` per channel.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Stereo {
    /// Left channel frames.
    pub left: Vec<f32>,
    /// Right channel frames.
    pub right: Vec<f32>,
}

impl Stereo {
    pub fn len(&self) -> usize {
        self.left.len()
    }

    pub fn is_empty(&self) -> bool {
        self.left.is_empty()
    }

    /// Largest absolute sample value.
    pub fn peak(&self) -> f32 {
        self.left
            .iter()
            .chain(&self.right)
            .fold(0.0f32, |m, x| m.max(x.abs()))
    }
}

/// How to render.
#[derive(Clone, Copy, Debug)]
pub struct RenderOptions {
    /// Output sample rate.
    pub sample_rate_hz: f64,
    /// Frames per `process()` call.
    pub block_frames: usize,
    /// Overrides the seed of the probability dice; `None` plays the session's own seed
    /// ([`EnginePattern::seed`]), as every player hears it.
    pub seed: Option<u64>,
}

impl Default for RenderOptions {
    fn default() -> Self {
        Self {
            sample_rate_hz: 48_000.0,
            block_frames: 512,
            seed: None,
        }
    }
}

/// Frames in `bars` 4/4 bars at `tempo_bpm`.
pub fn bars_to_frames(bars: f64, tempo_bpm: f64, sample_rate_hz: f64) -> usize {
    (bars * 4.0 * 60.0 / tempo_bpm * sample_rate_hz).round() as usize
}

/// Renders `frames` frames of `pattern` from beat 0 on the internal clock, calling `process()`
/// with block sizes from `next_block` (each at least 1).
pub fn render_pattern_with(
    pattern: &EnginePattern,
    opts: &RenderOptions,
    frames: usize,
    mut next_block: impl FnMut() -> usize,
) -> Stereo {
    let mut engine = Engine::new(opts.sample_rate_hz);
    engine.set_seed(opts.seed.unwrap_or(pattern.seed));
    engine.set_pattern(pattern);
    let mut clock = InternalClock::new(pattern.tempo_bpm);
    clock.play_from(0.0);
    let mut out = Stereo {
        left: vec![0.0; frames],
        right: vec![0.0; frames],
    };
    let mut pos = 0;
    while pos < frames {
        let n = next_block().max(1).min(frames - pos);
        let c = clock.next_block(n as u32, opts.sample_rate_hz);
        engine.process(
            &c,
            &[],
            &mut out.left[pos..pos + n],
            &mut out.right[pos..pos + n],
            None,
        );
        pos += n;
    }
    out
}

/// Renders `frames` frames of `pattern` in blocks of `opts.block_frames`.
pub fn render_pattern(pattern: &EnginePattern, opts: &RenderOptions, frames: usize) -> Stereo {
    render_pattern_with(pattern, opts, frames, || opts.block_frames)
}

/// Renders `bars` bars of a session at its tempo (sample tracks without loaded samples are silent).
pub fn render_session(state: &SessionState, opts: &RenderOptions, bars: f64) -> Stereo {
    let pattern = EnginePattern::from_state(state, |_| None);
    let frames = bars_to_frames(bars, state.tempo, opts.sample_rate_hz);
    render_pattern(&pattern, opts, frames)
}
