//! Keyboardia's sound: sequencer, voices and mixer, free of plugin-framework types.
//!
//! - [`clock`]: where the beat comes from (host transport, internal clock, server timeline).
//! - [`pattern`]: the allocation-free, `Copy` view of a session that the audio thread plays.
//! - [`engine`]: the sample-accurate sequencer, voice pools and mixer behind `process()`.
//! - [`voice`]: the 16 built-in sounds, the five synth presets and the sampler, all synthesized.
//! - [`render`]: offline rendering (session → samples → WAV), for tests, benchmarks and bounces.
//!
//! Real-time rules: after [`Engine::new`], nothing on the audio path allocates, locks, blocks,
//! does I/O or logs. The crate builds for `wasm32-unknown-unknown`.

pub mod clock;
pub mod dsp;
pub mod engine;
pub mod pattern;
pub mod render;
pub mod voice;

pub use clock::{BlockClock, ClockSource, HostTransport, InternalClock, ServerClock};
pub use engine::{AuxSink, Engine, InputEvent, MidiOut, TrackMixer, STEP_BEATS};
pub use pattern::{EnginePattern, EngineTrack};
pub use voice::{Patch, SampleBuffer};
