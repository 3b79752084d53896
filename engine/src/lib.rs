//! Keyboardia's sound: sequencer, voices and mixer, free of plugin-framework types.
//!
//! - [`clock`]: where the beat comes from (host transport, internal clock, the session's
//!   timeline) and which of them drives a block.
//! - [`pattern`]: the allocation-free, `Copy` view of a session that the audio thread plays.
//! - [`schedule`]: pure scheduling, pattern + block position → the hits that start in the block.
//! - [`engine`]: the sample-accurate sequencer, voice pools and mixer behind `process()`.
//! - [`fx`]: the effects: per-track filter, drive and sends, the shared reverb and delay.
//! - [`voice`]: the 16 built-in sounds, the five synth presets and the sampler, all synthesized
//!   in Rust (no sample files). Percussive one-shots are synthesized once per sample rate into
//!   tables that hits replay (pitch locks resample them); melodic sounds run live per note.
//! - [`preview`]: the sound picker's preview voice and its lock-free mailbox.
//! - [`meter`]: per-track and master peak levels for an editor's meters, as atomics.
//! - [`onsets`]: transient detection and slicing of recorded takes (offline, off the audio thread).
//! - [`render`]: offline rendering (session → samples → WAV), in memory or streamed to a WAV
//!   file block by block, for tests, benchmarks, bounces and the apps' Export WAV.
//! - [`midi`]: MIDI export, a session as a Standard MIDI File (type 1) from the engine's own
//!   scheduling, for the apps' Export MIDI.
//!
//! Real-time rules: after [`Engine::new`], nothing on the audio path allocates, locks, blocks,
//! does I/O or logs (`tests/no_alloc.rs` counts). The crate builds for `wasm32-unknown-unknown`.
//!
//! Timing: every hit is placed on its exact frame, `ceil((beat - block_beat) × frames_per_beat)`,
//! also in the middle of a block, and does not depend on how the host splits blocks: the same
//! pattern renders bit-identically at any block size.

#[doc(hidden)]
pub mod bench_patterns;
pub mod clock;
pub mod dsp;
pub mod engine;
pub mod fx;
pub mod gain;
pub mod meter;
pub mod midi;
pub mod onsets;
pub mod pattern;
pub mod preview;
pub mod render;
pub mod schedule;
pub mod voice;

pub use clock::{
    block_clock, BlockClock, ClockInputs, ClockMode, HostTransport, InternalClock,
    TimelineWithOffset,
};
pub use engine::{AuxSink, Engine, InputEvent, MidiOut, TrackMixer, STEP_BEATS};
pub use meter::LevelMeters;
pub use pattern::{EnginePart, EnginePattern, EngineTrack, MAX_PARTS};
pub use preview::{Preview, PreviewMailbox};
pub use schedule::Playing;
pub use voice::{Patch, SampleBuffer};
