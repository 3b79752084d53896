//! Keyboardia's engine for the browser's AudioWorklet: a small wasm module with raw `extern "C"`
//! exports and no JavaScript glue, instantiated inside the worklet scope by
//! `web/static/processor.js`.
//!
//! Everything that allocates or parses runs from the processor's message handler (outside
//! `process()`): [`kb_set_session`] parses a session document and swaps the engine's pattern,
//! [`kb_sample_frames`]/[`kb_commit_sample`] hand a decoded sample over whole,
//! [`kb_set_timeline`] and [`kb_set_model`] set the timeline (with its playback: the pattern or
//! song and the fill switch) and the page's model of server time (see [`follow`]),
//! [`kb_preview`] plays the sound picker's preview and [`kb_take_levels`] hands the meters'
//! peaks to the page. [`kb_process`] renders one render quantum into
//! buffers allocated once by [`kb_init`]: it never allocates, locks or logs, and its output is
//! finite and free of subnormals. A test hook captures the output ([`kb_capture_start`]).
//!
//! The module keeps its state in a thread-local (the worklet scope has one thread); the exports
//! are `unsafe` only in that they hand raw pointers into the module's memory to JavaScript.

pub mod export;
pub mod follow;
mod state;

pub use follow::{Follower, ServerModel};
pub use state::{PreviewSound, Worklet, WorkletError, LEVELS, MAX_QUANTUM};

use std::cell::RefCell;

thread_local! {
    /// The worklet's one engine and its buffers (`None` before [`kb_init`]).
    static STATE: RefCell<Option<Worklet>> = const { RefCell::new(None) };
    /// Bytes JavaScript writes messages into (session JSON, sample ids), grown on demand.
    static SCRATCH: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

fn with<R>(default: R, f: impl FnOnce(&mut Worklet) -> R) -> R {
    STATE.with(|s| match s.borrow_mut().as_mut() {
        Some(w) => f(w),
        None => default,
    })
}

fn scratch_str<R>(len: usize, f: impl FnOnce(&[u8]) -> R) -> R {
    SCRATCH.with(|s| {
        let s = s.borrow();
        f(&s[..len.min(s.len())])
    })
}

/// Creates the engine at the context's sample rate (allocates: call from the constructor).
#[no_mangle]
pub extern "C" fn kb_init(sample_rate_hz: f64) {
    STATE.with(|s| *s.borrow_mut() = Some(Worklet::new(sample_rate_hz)));
}

/// A buffer of at least `len` bytes for the next message; its address (valid until the next call).
#[no_mangle]
pub extern "C" fn kb_scratch(len: usize) -> *mut u8 {
    SCRATCH.with(|s| {
        let mut s = s.borrow_mut();
        if s.len() < len {
            s.resize(len, 0);
        }
        s.as_mut_ptr()
    })
}

/// Plays the session document (JSON, `len` bytes in the scratch buffer). 0: done; -1: not JSON
/// of a session (the pattern is unchanged).
#[no_mangle]
pub extern "C" fn kb_set_session(len: usize) -> i32 {
    scratch_str(len, |bytes| {
        with(-2, |w| match w.set_session_json(bytes) {
            Ok(()) => 0,
            Err(_) => -1,
        })
    })
}

/// Follows the timeline whose JSON (core's `Timeline`, `playback` included: the pattern or
/// song, queued switches and the fill switch) is the `len` bytes in the scratch buffer. 0: done;
/// -1: not a timeline (the clock and playback are unchanged).
#[no_mangle]
pub extern "C" fn kb_set_timeline(len: usize) -> i32 {
    scratch_str(len, |bytes| {
        with(-2, |w| match w.set_timeline_json(bytes) {
            Ok(()) => 0,
            Err(_) => -1,
        })
    })
}

/// Sets the page's model of server time: `server_ms = offset_ms + context_ms × ratio`, where a
/// frame's context time is `frame / sample_rate` and the output latency is included.
#[no_mangle]
pub extern "C" fn kb_set_model(offset_ms: f64, ratio: f64) {
    with((), |w| w.set_model(ServerModel { offset_ms, ratio }))
}

/// Seeds the probability dice (the session document's seed).
#[no_mangle]
pub extern "C" fn kb_set_seed(seed_hi: u32, seed_lo: u32) {
    with((), |w| {
        w.set_seed((u64::from(seed_hi) << 32) | u64::from(seed_lo))
    })
}

/// Mute and solo of track slot `slot` (this player's own, not shared).
#[no_mangle]
pub extern "C" fn kb_set_mixer(slot: u32, mute: u32, solo: u32) {
    with((), |w| w.set_mixer(slot as usize, mute != 0, solo != 0))
}

/// A buffer for `frames` mono frames of a sample about to be committed.
#[no_mangle]
pub extern "C" fn kb_sample_frames(frames: usize) -> *mut f32 {
    with(std::ptr::null_mut(), |w| w.stage_sample(frames))
}

/// Commits the staged frames as the sample whose id is the `id_len` bytes in the scratch
/// buffer, recorded at `sample_rate_hz`. 0: done; -1: bad id; -2: the sampler is full.
#[no_mangle]
pub extern "C" fn kb_commit_sample(id_len: usize, sample_rate_hz: f32) -> i32 {
    scratch_str(id_len, |bytes| {
        with(-3, |w| match w.commit_sample(bytes, sample_rate_hz) {
            Ok(()) => 0,
            Err(WorkletError::BadSampleId) => -1,
            Err(_) => -2,
        })
    })
}

/// Plays a sound once (the sound picker's preview) at `volume` (0..=1) and `pan` (-1..=1):
/// `kind` 0 is built-in sound `index`, 1 synth preset `index`, 2 the sample whose id is the
/// `index` bytes in the scratch buffer. 0: playing; -1: no such sound or sample.
#[no_mangle]
pub extern "C" fn kb_preview(kind: u32, index: usize, volume: f32, pan: f32) -> i32 {
    scratch_str(index, |id| {
        with(-2, |w| {
            let sound = match kind {
                0 => PreviewSound::Sound(index),
                1 => PreviewSound::Synth(index),
                2 => PreviewSound::Sample(id),
                _ => return -1,
            };
            if w.preview(sound, volume, pan) {
                0
            } else {
                -1
            }
        })
    })
}

/// Takes the output levels since the last call ([`LEVELS`] floats: each track slot's peak,
/// then the master's) and returns their address. For the page's meters, called from the
/// processor's message handler, never from `process()`.
#[no_mangle]
pub extern "C" fn kb_take_levels() -> *const f32 {
    with(std::ptr::null(), |w| w.take_levels().as_ptr())
}

/// Renders `frames` (≤ [`MAX_QUANTUM`]) frames whose first is context frame `first_frame` into
/// the output buffers. No allocation, lock or log.
#[no_mangle]
pub extern "C" fn kb_process(frames: u32, first_frame: f64) {
    with((), |w| w.process(frames as usize, first_frame))
}

/// The left output buffer ([`MAX_QUANTUM`] frames; fixed after [`kb_init`]).
#[no_mangle]
pub extern "C" fn kb_out_left() -> *const f32 {
    with(std::ptr::null(), |w| w.left().as_ptr())
}

/// The right output buffer ([`MAX_QUANTUM`] frames; fixed after [`kb_init`]).
#[no_mangle]
pub extern "C" fn kb_out_right() -> *const f32 {
    with(std::ptr::null(), |w| w.right().as_ptr())
}

/// The beat the last block started on (−1 when stopped), for the page's playhead.
#[no_mangle]
pub extern "C" fn kb_beat() -> f64 {
    with(-1.0, |w| w.beat())
}

/// Test hook: captures the next `frames` output frames (stereo, planar) from the next block on.
/// Returns the capture buffer (left then right, `frames` each).
#[no_mangle]
pub extern "C" fn kb_capture_start(frames: usize) -> *const f32 {
    with(std::ptr::null(), |w| w.capture_start(frames))
}

/// Frames captured so far.
#[no_mangle]
pub extern "C" fn kb_capture_len() -> usize {
    with(0, |w| w.capture_len())
}

/// The context frame index of the first captured frame (−1 before the capture starts).
#[no_mangle]
pub extern "C" fn kb_capture_first_frame() -> f64 {
    with(-1.0, |w| w.capture_first_frame())
}

/// Per captured block, flattened: (first frame's index in the capture, played server ms, rate).
#[no_mangle]
pub extern "C" fn kb_capture_times() -> *const f64 {
    with(std::ptr::null(), |w| w.capture_times().as_ptr())
}

/// Number of values behind [`kb_capture_times`].
#[no_mangle]
pub extern "C" fn kb_capture_times_len() -> usize {
    with(0, |w| w.capture_times().len())
}

/// Context frame of the first block whose output reached `threshold` (−1: none yet); the
/// benchmark's "first audible sample".
#[no_mangle]
pub extern "C" fn kb_first_audible_frame() -> f64 {
    with(-1.0, |w| w.first_audible_frame())
}

/// Benchmark hook: renders `blocks` quanta of 128 frames of the session in the scratch buffer
/// (`len` bytes of JSON) on a separate engine, from beat 0. Returns the number of blocks
/// rendered (0 when the document does not parse). The caller times the call.
#[no_mangle]
pub extern "C" fn kb_bench(len: usize, blocks: u32) -> u32 {
    scratch_str(len, |bytes| {
        with(0, |w| {
            state::bench(w.sample_rate_hz(), bytes, blocks).unwrap_or(0)
        })
    })
}
