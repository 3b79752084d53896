//! Export from the beat page: a WAV bounce or a Standard MIDI File of a session document,
//! rendered by the engine's own offline renderer ([`keyboardia_engine::render`],
//! [`keyboardia_engine::midi`]): the MIDI file is byte for byte what `keyboardia-render` writes
//! for the same document and length; the WAV file has the same header and length, and its
//! samples differ only where the platform's `exp`/`sin`/`cos` round differently (Rust's libm on
//! wasm32, glibc natively: a few samples in 10^4, by at most about 1e-7).
//!
//! The page instantiates this module a second time on its main thread (not in the worklet) and
//! calls the raw exports: stage the samples the beat plays ([`kb_export_sample_frames`],
//! [`kb_export_commit_sample`]), write the document into the scratch buffer, then
//! [`kb_export_wav`] or [`kb_export_midi`]; the file is at [`kb_export_ptr`] for
//! [`kb_export_len`] bytes. Nothing here runs in the audio thread.

use std::cell::RefCell;
use std::io::Cursor;
use std::sync::Arc;

use keyboardia_core::schema::state_from_json;
use keyboardia_core::{SampleId, SessionState};
use keyboardia_engine::midi::{self, MidiOptions};
use keyboardia_engine::render::{bounce_wav_to, Length, RenderOptions, Renderer};
use keyboardia_engine::voice::MAX_SAMPLE_SLOTS;
use keyboardia_engine::{EnginePattern, SampleBuffer};

/// Why an export failed (the exports answer with its [`ExportFailure::code`]).
#[derive(Debug, thiserror::Error)]
pub enum ExportFailure {
    /// The document is not a session (or its state).
    #[error("not a session document: {0}")]
    BadSession(String),
    /// The length or rate cannot be rendered.
    #[error("cannot render that: {0}")]
    Render(String),
    /// A sample id that does not parse, or more samples than the sampler has slots.
    #[error("bad sample")]
    BadSample,
}

impl ExportFailure {
    /// The negative code a raw export returns for this failure.
    pub fn code(&self) -> i32 {
        match self {
            ExportFailure::BadSession(_) => -1,
            ExportFailure::Render(_) => -2,
            ExportFailure::BadSample => -3,
        }
    }
}

/// The samples an export plays, in sampler-slot order.
#[derive(Default)]
pub struct ExportSamples {
    /// (id, decoded frames): slot `i` is `loaded[i]`.
    loaded: Vec<(SampleId, Arc<SampleBuffer>)>,
}

impl ExportSamples {
    /// Adds (or replaces) sample `id`.
    pub fn add(
        &mut self,
        id: SampleId,
        frames: Vec<f32>,
        sample_rate_hz: f32,
    ) -> Result<(), ExportFailure> {
        let buffer = Arc::new(SampleBuffer {
            frames: frames
                .into_iter()
                .map(|f| {
                    if f.is_finite() {
                        f.clamp(-1.0, 1.0)
                    } else {
                        0.0
                    }
                })
                .collect(),
            sample_rate_hz,
        });
        if let Some(slot) = self.loaded.iter_mut().find(|(s, _)| *s == id) {
            slot.1 = buffer;
            return Ok(());
        }
        if self.loaded.len() >= MAX_SAMPLE_SLOTS {
            return Err(ExportFailure::BadSample);
        }
        self.loaded.push((id, buffer));
        Ok(())
    }

    /// The renderer of `length` of `state`, its sample tracks playing the loaded samples.
    fn renderer(
        &self,
        state: &SessionState,
        opts: &RenderOptions,
        length: Length,
    ) -> Result<Renderer, ExportFailure> {
        let pattern = EnginePattern::from_state(state, |id| {
            self.loaded
                .iter()
                .position(|(s, _)| s == id)
                .map(|i| i as u8)
        });
        let frames = length
            .frames(&pattern, opts.sample_rate_hz)
            .map_err(|e| ExportFailure::Render(e.to_string()))?;
        let mut renderer = Renderer::new(&pattern, opts, frames);
        for (slot, (_, buffer)) in self.loaded.iter().enumerate() {
            renderer.set_sample(slot, Some(buffer.clone()));
        }
        Ok(renderer)
    }
}

/// The length the exports take: `bars` when positive, else `loops` loops of the longest track.
pub fn length(bars: f64, loops: u32) -> Length {
    if bars > 0.0 {
        Length::Bars(bars)
    } else {
        Length::Loops(loops)
    }
}

fn parse(json: &[u8]) -> Result<SessionState, ExportFailure> {
    state_from_json(json).map_err(|e| ExportFailure::BadSession(e.to_string()))
}

/// A 32-bit float stereo WAV bounce of `length` of the document `json` at `sample_rate_hz`,
/// in the renderer's default blocks, with the session's own seed.
pub fn wav(
    json: &[u8],
    length: Length,
    sample_rate_hz: f64,
    samples: &ExportSamples,
) -> Result<Vec<u8>, ExportFailure> {
    let state = parse(json)?;
    let opts = RenderOptions {
        sample_rate_hz,
        ..RenderOptions::default()
    };
    let renderer = samples.renderer(&state, &opts, length)?;
    let mut out = Cursor::new(Vec::new());
    bounce_wav_to(&mut out, renderer, |_| {}).map_err(|e| ExportFailure::Render(e.to_string()))?;
    Ok(out.into_inner())
}

/// A Standard MIDI File (type 1) of `length` of the document `json`, with the session's seed.
pub fn midi(json: &[u8], length: Length) -> Result<Vec<u8>, ExportFailure> {
    let state = parse(json)?;
    midi::export(&state, length, &MidiOptions::default())
        .map_err(|e| ExportFailure::Render(e.to_string()))
}

thread_local! {
    /// The samples staged for exports.
    static SAMPLES: RefCell<ExportSamples> = RefCell::new(ExportSamples::default());
    /// Frames of the sample being staged.
    static STAGED: RefCell<Vec<f32>> = const { RefCell::new(Vec::new()) };
    /// The last export's file.
    static OUT: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

/// A buffer for `frames` mono frames of a sample for the exports.
#[no_mangle]
pub extern "C" fn kb_export_sample_frames(frames: usize) -> *mut f32 {
    STAGED.with(|s| {
        let mut s = s.borrow_mut();
        *s = vec![0.0; frames];
        s.as_mut_ptr()
    })
}

/// Makes the staged frames sample `id` (the `id_len` bytes in the scratch buffer) for the
/// exports. 0: done; −3: bad id or no free slot.
#[no_mangle]
pub extern "C" fn kb_export_commit_sample(id_len: usize, sample_rate_hz: f32) -> i32 {
    let id: Option<SampleId> =
        crate::scratch_str(id_len, |b| std::str::from_utf8(b).ok()?.parse().ok());
    let Some(id) = id else {
        return ExportFailure::BadSample.code();
    };
    let frames = STAGED.with(|s| std::mem::take(&mut *s.borrow_mut()));
    SAMPLES.with(|s| match s.borrow_mut().add(id, frames, sample_rate_hz) {
        Ok(()) => 0,
        Err(e) => e.code(),
    })
}

fn finish(result: Result<Vec<u8>, ExportFailure>) -> i32 {
    match result {
        Ok(bytes) => {
            OUT.with(|o| *o.borrow_mut() = bytes);
            0
        }
        Err(e) => e.code(),
    }
}

/// Bounces the document in the scratch buffer (`len` bytes of JSON) to a WAV file: `bars` bars
/// when positive, else `loops` loops of the longest track, at `sample_rate_hz`. 0: done (the
/// file is at [`kb_export_ptr`]); −1: not a session; −2: cannot render that length or rate.
#[no_mangle]
pub extern "C" fn kb_export_wav(len: usize, bars: f64, loops: u32, sample_rate_hz: f64) -> i32 {
    let result = crate::scratch_str(len, |json| {
        SAMPLES.with(|s| wav(json, length(bars, loops), sample_rate_hz, &s.borrow()))
    });
    finish(result)
}

/// Exports the document in the scratch buffer as a MIDI file (lengths as [`kb_export_wav`]).
#[no_mangle]
pub extern "C" fn kb_export_midi(len: usize, bars: f64, loops: u32) -> i32 {
    finish(crate::scratch_str(len, |json| {
        midi(json, length(bars, loops))
    }))
}

/// The last export's file.
#[no_mangle]
pub extern "C" fn kb_export_ptr() -> *const u8 {
    OUT.with(|o| o.borrow().as_ptr())
}

/// The last export's length in bytes.
#[no_mangle]
pub extern "C" fn kb_export_len() -> usize {
    OUT.with(|o| o.borrow().len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exports_are_the_renderers_files() {
        let state = SessionState::demo();
        let json = serde_json::to_vec(&state).unwrap();
        let opts = RenderOptions::default();
        let mut native = Cursor::new(Vec::new());
        let renderer = Renderer::for_session(&state, &opts, Length::Bars(1.0)).unwrap();
        bounce_wav_to(&mut native, renderer, |_| {}).unwrap();
        let got = wav(
            &json,
            length(1.0, 0),
            opts.sample_rate_hz,
            &ExportSamples::default(),
        )
        .unwrap();
        assert_eq!(got, native.into_inner());
        let mid = midi(&json, length(0.0, 2)).unwrap();
        assert_eq!(
            mid,
            midi::export(&state, Length::Loops(2), &MidiOptions::default()).unwrap()
        );
        assert!(matches!(
            wav(b"{", Length::Bars(1.0), 48_000.0, &ExportSamples::default()),
            Err(ExportFailure::BadSession(_))
        ));
        assert!(matches!(
            midi(&json, Length::Loops(0)),
            Err(ExportFailure::Render(_))
        ));
    }
}
