//! Offline rendering: a session (or engine pattern) to stereo audio, in memory or streamed to a
//! WAV file block by block.
//!
//! - [`Renderer`]: the engine on the internal clock from beat 0 for a fixed number of frames,
//!   one `process()` call at a time. Every offline render is this one loop, so a bounce, the
//!   in-memory render and the golden tests hear the same thing bit for bit.
//! - [`render_pattern`], [`render_session`]: the whole render in memory ([`Stereo`]), for tests
//!   and short renders.
//! - [`bounce_wav_to`] (or [`WavBounce`], one block per call): streams a 32-bit float stereo WAV
//!   file to a writer as it renders, so memory stays flat whatever the length, reporting
//!   [`Progress`] as it goes.
//! - [`Length`]: N bars, or N loops of the longest track; the MIDI export (`midi.rs`) takes the same.
//!
//! ```no_run
//! # use keyboardia_engine::render::{bounce_wav_to, Length, RenderOptions, Renderer};
//! let state = keyboardia_core::SessionState::demo();
//! let renderer = Renderer::for_session(&state, &RenderOptions::default(), Length::Bars(8.0))?;
//! let file = std::fs::File::create("demo.wav")?;
//! let done = bounce_wav_to(file, renderer, |p| eprint!("\r{:3.0} %", p.fraction() * 100.0))?;
//! eprintln!(" {} frames, peak {}", done.frames, done.peak);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::io::{BufWriter, Seek, Write};
use std::sync::Arc;

use keyboardia_core::SessionState;

use crate::clock::InternalClock;
use crate::engine::Engine;
use crate::pattern::EnginePattern;
use crate::schedule::Playing;
use crate::schedule::STEP_BEATS;
use crate::voice::SampleBuffer;

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
        peak(0.0, &self.left, &self.right)
    }
}

/// The largest of `so_far` and the absolute values of `left` and `right`.
fn peak(so_far: f32, left: &[f32], right: &[f32]) -> f32 {
    left.iter().chain(right).fold(so_far, |m, x| m.max(x.abs()))
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

/// The longest render [`Length`] allows, in beats (10 000 bars: over 11 hours at the slowest
/// tempo). Keeps frame and tick counts far from overflow.
pub const MAX_BEATS: f64 = 40_000.0;

/// How long a render or export lasts, from beat 0.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Length {
    /// This many 4/4 bars (a fraction is fine), more than 0.
    Bars(f64),
    /// This many loops of the longest track (the largest step count; a bar when there are no
    /// tracks), at least 1. With tracks of 16 and 12 steps, a loop is 16 steps.
    Loops(u32),
}

/// A [`Length`] that cannot be rendered.
#[derive(Clone, Copy, Debug, PartialEq, thiserror::Error)]
pub enum LengthError {
    /// Bars that are not a positive finite number.
    #[error("{0} is not a positive number of bars")]
    Bars(f64),
    /// Zero loops.
    #[error("a render lasts at least one loop")]
    NoLoops,
    /// Longer than [`MAX_BEATS`].
    #[error("{beats} beats is longer than the {MAX_BEATS} a render may last")]
    TooLong {
        /// The length asked for, in beats.
        beats: f64,
    },
}

impl Length {
    /// The length in beats (quarter notes) for `pattern`.
    pub fn beats(self, pattern: &EnginePattern) -> Result<f64, LengthError> {
        let beats = match self {
            Length::Bars(bars) if bars.is_finite() && bars > 0.0 => bars * 4.0,
            Length::Bars(bars) => return Err(LengthError::Bars(bars)),
            Length::Loops(0) => return Err(LengthError::NoLoops),
            Length::Loops(n) => n as f64 * longest_loop_steps(pattern) as f64 * STEP_BEATS,
        };
        if beats > MAX_BEATS {
            return Err(LengthError::TooLong { beats });
        }
        Ok(beats)
    }

    /// The length in frames at `sample_rate_hz` and the pattern's tempo (for bars, the same
    /// count as [`bars_to_frames`]).
    pub fn frames(
        self,
        pattern: &EnginePattern,
        sample_rate_hz: f64,
    ) -> Result<usize, LengthError> {
        Ok(beats_to_frames(
            self.beats(pattern)?,
            pattern.tempo_bpm,
            sample_rate_hz,
        ))
    }
}

impl std::fmt::Display for Length {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Length::Bars(b) => write!(f, "{b} bars"),
            Length::Loops(n) => write!(f, "{n} loops of the longest track"),
        }
    }
}

/// Steps in the longest track's loop (16 without tracks); for a session with a song, the
/// whole song (every entry's passes), which is what it plays.
pub fn longest_loop_steps(pattern: &EnginePattern) -> u32 {
    let arr = pattern.arrangement();
    if !arr.song.is_empty() {
        return arr
            .song
            .iter()
            .map(|e| arr.pass_steps[e.pattern.index()].max(1) * u32::from(e.repeats))
            .sum();
    }
    pattern
        .tracks()
        .iter()
        .map(|t| u32::from(t.step_count.max(1)))
        .max()
        .unwrap_or(16)
}

/// Frames in `bars` 4/4 bars at `tempo_bpm`.
pub fn bars_to_frames(bars: f64, tempo_bpm: f64, sample_rate_hz: f64) -> usize {
    beats_to_frames(bars * 4.0, tempo_bpm, sample_rate_hz)
}

/// Frames in `beats` beats at `tempo_bpm`, rounded.
pub fn beats_to_frames(beats: f64, tempo_bpm: f64, sample_rate_hz: f64) -> usize {
    (beats * 60.0 / tempo_bpm * sample_rate_hz).round() as usize
}

/// How far a render has come.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Progress {
    /// Frames rendered so far.
    pub done_frames: usize,
    /// Frames the whole render lasts.
    pub total_frames: usize,
}

impl Progress {
    /// Done so far, 0..=1 (1 for an empty render).
    pub fn fraction(&self) -> f64 {
        if self.total_frames == 0 {
            1.0
        } else {
            self.done_frames as f64 / self.total_frames as f64
        }
    }

    /// Whether every frame is rendered.
    pub fn is_done(&self) -> bool {
        self.done_frames >= self.total_frames
    }
}

/// A pattern rendered from beat 0 on the internal clock, `total_frames` long, in as many
/// `process()` calls as the caller likes. Owns its engine: [`Renderer::set_sample`] loads the
/// samples of sample tracks before rendering.
pub struct Renderer {
    /// The engine playing the pattern (allocated once, in [`Renderer::new`]).
    engine: Engine,
    /// The internal clock, playing from beat 0 at the pattern's tempo.
    clock: InternalClock,
    /// Output rate in Hz.
    sample_rate_hz: f64,
    /// Frames per `process()` call that [`WavBounce`] uses (at least 1).
    block_frames: usize,
    /// Frames the render lasts.
    total_frames: usize,
    /// Frames rendered so far (at most `total_frames`).
    done_frames: usize,
    /// Largest absolute sample rendered so far.
    peak: f32,
}

impl Renderer {
    /// A render of `frames` frames of `pattern`, with the session's seed unless `opts.seed`
    /// overrides it. Allocates the engine; renders nothing yet.
    pub fn new(pattern: &EnginePattern, opts: &RenderOptions, frames: usize) -> Self {
        let mut engine = Engine::new(opts.sample_rate_hz);
        engine.set_seed(opts.seed.unwrap_or(pattern.seed));
        engine.set_pattern(pattern);
        // A session with a song renders the song.
        engine.set_playback(Playing::of_pattern(pattern).playback, 0.0);
        let mut clock = InternalClock::new(pattern.tempo_bpm);
        clock.play_from(0.0);
        Self {
            engine,
            clock,
            sample_rate_hz: opts.sample_rate_hz,
            block_frames: opts.block_frames.max(1),
            total_frames: frames,
            done_frames: 0,
            peak: 0.0,
        }
    }

    /// A render of `length` of a session at its tempo. Sample tracks are silent (their samples
    /// are not in the document): build the pattern with
    /// [`EnginePattern::from_state`] and call [`Renderer::new`] and [`Renderer::set_sample`]
    /// to play them.
    pub fn for_session(
        state: &SessionState,
        opts: &RenderOptions,
        length: Length,
    ) -> Result<Self, LengthError> {
        let pattern = EnginePattern::from_state(state, |_| None);
        let frames = length.frames(&pattern, opts.sample_rate_hz)?;
        Ok(Self::new(&pattern, opts, frames))
    }

    /// Loads a sample slot of the engine ([`Engine::set_sample`]).
    pub fn set_sample(&mut self, slot: usize, sample: Option<Arc<SampleBuffer>>) {
        self.engine.set_sample(slot, sample);
    }

    /// The engine, for mixer settings before rendering.
    pub fn engine_mut(&mut self) -> &mut Engine {
        &mut self.engine
    }

    /// Output rate in Hz.
    pub fn sample_rate_hz(&self) -> f64 {
        self.sample_rate_hz
    }

    /// Frames per `process()` call of a bounce.
    pub fn block_frames(&self) -> usize {
        self.block_frames
    }

    /// How far the render has come.
    pub fn progress(&self) -> Progress {
        Progress {
            done_frames: self.done_frames,
            total_frames: self.total_frames,
        }
    }

    /// Largest absolute sample rendered so far.
    pub fn peak(&self) -> f32 {
        self.peak
    }

    /// Renders the next frames into `left` and `right` in one `process()` call: as many as
    /// the shorter of them holds, at most what is left. Returns how many (0 once done).
    pub fn render(&mut self, left: &mut [f32], right: &mut [f32]) -> usize {
        let n = left
            .len()
            .min(right.len())
            .min(self.total_frames - self.done_frames);
        if n == 0 {
            return 0;
        }
        let (left, right) = (&mut left[..n], &mut right[..n]);
        let c = self.clock.next_block(n as u32, self.sample_rate_hz);
        self.engine.process(&c, &[], left, right, None);
        self.peak = peak(self.peak, left, right);
        self.done_frames += n;
        n
    }
}

/// Renders `frames` frames of `pattern` from beat 0 on the internal clock, calling `process()`
/// with block sizes from `next_block` (each at least 1).
pub fn render_pattern_with(
    pattern: &EnginePattern,
    opts: &RenderOptions,
    frames: usize,
    mut next_block: impl FnMut() -> usize,
) -> Stereo {
    let mut renderer = Renderer::new(pattern, opts, frames);
    let mut out = Stereo {
        left: vec![0.0; frames],
        right: vec![0.0; frames],
    };
    let mut pos = 0;
    while pos < frames {
        let n = next_block().max(1).min(frames - pos);
        pos += renderer.render(&mut out.left[pos..pos + n], &mut out.right[pos..pos + n]);
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

/// The largest data chunk a WAV file can describe (its sizes are 32-bit), less room for the
/// header.
const MAX_WAV_DATA_BYTES: u64 = u32::MAX as u64 - 1024;
/// Bytes per stereo frame of 32-bit floats.
const WAV_FRAME_BYTES: u64 = 8;

/// Why a bounce failed.
#[derive(Debug, thiserror::Error)]
pub enum BounceError {
    /// More frames than a WAV file's 32-bit sizes can describe (about 3 hours at 48 kHz).
    #[error("{frames} stereo frames do not fit in a WAV file (at most {max})", max = MAX_WAV_DATA_BYTES / WAV_FRAME_BYTES)]
    TooLong {
        /// The frames asked for.
        frames: usize,
    },
    /// A sample rate a WAV file cannot carry (not a whole number of Hz from 1 to 2^32 - 1).
    #[error("{0} Hz is not a sample rate a WAV file can carry")]
    SampleRate(f64),
    /// Writing failed (I/O, or the WAV encoder).
    #[error("cannot write the WAV file: {0}")]
    Wav(#[from] hound::Error),
}

/// What a finished bounce wrote.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Bounced {
    /// Stereo frames written.
    pub frames: usize,
    /// Largest absolute sample value.
    pub peak: f32,
}

/// A bounce in progress: renders a [`Renderer`] block by block into a 32-bit float stereo WAV
/// file on `W` (buffered here), holding one block of audio at a time. The file is exactly what
/// [`keyboardia_core::audio::encode_wav_stereo_f32`] makes of the same render in memory.
///
/// Drive it with [`WavBounce::step`] (an app's event loop, a progress bar) or let
/// [`bounce_wav_to`] loop; [`WavBounce::finish`] writes the rest and the final header. A bounce
/// dropped early leaves a valid, shorter file (the encoder fixes its header on drop).
pub struct WavBounce<W: Write + Seek> {
    /// What is rendered.
    renderer: Renderer,
    /// The WAV encoder on a buffered `W`.
    wav: hound::WavWriter<BufWriter<W>>,
    /// One block of the left channel.
    left: Vec<f32>,
    /// One block of the right channel.
    right: Vec<f32>,
}

impl<W: Write + Seek> WavBounce<W> {
    /// Starts a bounce of `renderer` into `writer` (a `File`, or `&mut Cursor<Vec<u8>>` to keep
    /// the bytes): checks the length fits a WAV file, then writes the header.
    pub fn new(writer: W, renderer: Renderer) -> Result<Self, BounceError> {
        let frames = renderer.progress().total_frames;
        if frames as u64 > MAX_WAV_DATA_BYTES / WAV_FRAME_BYTES {
            return Err(BounceError::TooLong { frames });
        }
        let rate = renderer.sample_rate_hz();
        if !(1.0..=u32::MAX as f64).contains(&rate) {
            return Err(BounceError::SampleRate(rate));
        }
        let spec = hound::WavSpec {
            channels: 2,
            // As `encode_wav_stereo_f32` is handed it: truncated to whole Hz.
            sample_rate: rate as u32,
            bits_per_sample: 32,
            sample_format: hound::SampleFormat::Float,
        };
        let wav = hound::WavWriter::new(BufWriter::new(writer), spec)?;
        let block = renderer.block_frames();
        Ok(Self {
            renderer,
            wav,
            left: vec![0.0; block],
            right: vec![0.0; block],
        })
    }

    /// Renders and writes one block; returns the progress after it.
    pub fn step(&mut self) -> Result<Progress, BounceError> {
        let n = self.renderer.render(&mut self.left, &mut self.right);
        for (l, r) in self.left[..n].iter().zip(&self.right[..n]) {
            self.wav.write_sample(*l)?;
            self.wav.write_sample(*r)?;
        }
        Ok(self.renderer.progress())
    }

    /// How far the bounce has come.
    pub fn progress(&self) -> Progress {
        self.renderer.progress()
    }

    /// Renders and writes what is left, then the final header, and flushes.
    pub fn finish(mut self) -> Result<Bounced, BounceError> {
        while !self.progress().is_done() {
            self.step()?;
        }
        let done = Bounced {
            frames: self.renderer.progress().done_frames,
            peak: self.renderer.peak(),
        };
        self.wav.finalize()?;
        Ok(done)
    }
}

/// Bounces `renderer` to a 32-bit float stereo WAV file on `writer` (see [`WavBounce`]),
/// streaming: memory stays one block whatever the length. Calls `progress` after every block.
pub fn bounce_wav_to<W: Write + Seek>(
    writer: W,
    renderer: Renderer,
    mut progress: impl FnMut(Progress),
) -> Result<Bounced, BounceError> {
    let mut bounce = WavBounce::new(writer, renderer)?;
    while !bounce.progress().is_done() {
        progress(bounce.step()?);
    }
    bounce.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use keyboardia_core::{Instrument, Track};

    fn pattern(step_counts: &[u8]) -> EnginePattern {
        let tracks = step_counts
            .iter()
            .enumerate()
            .map(|(i, &n)| {
                let mut t = Track::new(
                    format!("t{i}").parse().unwrap(),
                    "t",
                    "kick".parse::<Instrument>().unwrap(),
                );
                t.step_count = n;
                t
            })
            .collect();
        let state = SessionState {
            tempo: 90.0,
            tracks,
            ..SessionState::default()
        };
        EnginePattern::from_state(&state, |_| None)
    }

    #[test]
    fn a_length_in_bars_or_loops_of_the_longest_track() {
        let p = pattern(&[12, 20, 16]);
        assert_eq!(Length::Bars(2.5).beats(&p), Ok(10.0));
        assert_eq!(Length::Loops(3).beats(&p), Ok(15.0));
        assert_eq!(Length::Loops(1).beats(&pattern(&[])), Ok(4.0));
        assert_eq!(
            Length::Bars(3.0).frames(&p, 44_100.0),
            Ok(bars_to_frames(3.0, 90.0, 44_100.0))
        );
        assert_eq!(Length::Loops(4).frames(&p, 48_000.0), Ok(640_000));
        for bad in [0.0, -1.0, f64::NAN, f64::INFINITY] {
            assert!(matches!(
                Length::Bars(bad).beats(&p),
                Err(LengthError::Bars(_))
            ));
        }
        assert_eq!(Length::Loops(0).beats(&p), Err(LengthError::NoLoops));
        assert_eq!(
            Length::Bars(10_001.0).beats(&p),
            Err(LengthError::TooLong { beats: 40_004.0 })
        );
    }

    #[test]
    fn progress_counts_up_to_the_whole() {
        let p = Progress {
            done_frames: 1,
            total_frames: 4,
        };
        assert_eq!(p.fraction(), 0.25);
        assert!(!p.is_done());
        let empty = Progress {
            done_frames: 0,
            total_frames: 0,
        };
        assert_eq!(empty.fraction(), 1.0);
        assert!(empty.is_done());
    }
}
