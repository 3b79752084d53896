//! Every range a value of the session document may take, and its other limits and defaults, as
//! `pub const`s: validation, the engine and the editor share one definition. Depends on nothing.

use std::ops::RangeInclusive;

/// At most this many tracks in a session.
pub const MAX_TRACKS: usize = 16;
/// Every track stores this many steps, whatever its step count.
pub const MAX_STEPS: usize = 64;
/// The step count of a new track, and of a track's part of a pattern nobody wrote.
pub const DEFAULT_STEP_COUNT: u8 = 16;
/// A session holds this many patterns, A to H (see `PatternId`).
pub const MAX_PATTERNS: usize = 8;
/// A song has at most this many entries.
pub const MAX_SONG_ENTRIES: usize = 64;
/// How many times in a row a song entry plays its pattern.
pub const SONG_REPEATS_RANGE: RangeInclusive<u8> = 1..=64;
/// The step counts the editor offers as buttons; any value in [`STEP_COUNT_RANGE`] is valid.
pub const STEP_COUNT_PRESETS: [u8; 3] = [16, 32, 64];
/// Valid per-track step counts (a track loops over its first `step_count` steps).
pub const STEP_COUNT_RANGE: RangeInclusive<u8> = 1..=64;
/// Session tempo in BPM.
pub const TEMPO_RANGE: RangeInclusive<f64> = 60.0..=180.0;
/// Swing in percent: 0 is straight, 100 delays each off-beat 16th by half a step.
pub const SWING_RANGE: RangeInclusive<f64> = 0.0..=100.0;
/// Track volume as linear gain.
pub const VOLUME_RANGE: RangeInclusive<f32> = 0.0..=1.0;
/// Track pan: -1 is hard left, +1 hard right.
pub const PAN_RANGE: RangeInclusive<f32> = -1.0..=1.0;
/// Step velocity, MIDI-style.
pub const VELOCITY_RANGE: RangeInclusive<u8> = 1..=127;
/// Velocity of a step nobody has changed.
pub const DEFAULT_VELOCITY: u8 = 100;
/// Pitch lock in semitones.
pub const PITCH_RANGE: RangeInclusive<i8> = -24..=24;
/// Volume lock as a linear gain multiplier on the track volume.
pub const LOCK_VOLUME_RANGE: RangeInclusive<f32> = 0.0..=1.0;
/// Probability lock in percent.
pub const PROBABILITY_RANGE: RangeInclusive<u8> = 0..=100;
/// Micro-timing nudge lock in percent of one step (negative plays early).
pub const NUDGE_RANGE: RangeInclusive<i8> = -50..=50;
/// Ratchet lock: the step retriggers this many times within its length.
pub const RATCHET_RANGE: RangeInclusive<u8> = 1..=8;
/// A sample track is cut into at most this many slices (one per step of a 64-step track): a
/// track has at most this many cut points, each the first frame of one slice.
pub const MAX_SLICES: usize = 64;
/// Slice lock: which slice of a sample track's sample the step plays (see `slice_bounds`).
pub const SLICE_RANGE: RangeInclusive<u8> = 0..=(MAX_SLICES as u8 - 1);
/// The `B` of an `A:B` trig condition (play on the `A`-th of every `B` loops); `A` runs from 1 to
/// `B`.
pub const CONDITION_RATIO_RANGE: RangeInclusive<u8> = 1..=8;
/// A track filter's cutoff in Hz (and a cutoff lock's).
pub const CUTOFF_HZ_RANGE: RangeInclusive<f32> = 20.0..=20_000.0;
/// The cutoff a track's filter starts at.
pub const DEFAULT_CUTOFF_HZ: f32 = 1_000.0;
/// Effect amounts: a filter's resonance, a drive, a send's linear gain (and a send lock's), the
/// reverb's size.
pub const FX_AMOUNT_RANGE: RangeInclusive<f32> = 0.0..=1.0;
/// The delay's feedback: below 1, so echoes always die away.
pub const DELAY_FEEDBACK_RANGE: RangeInclusive<f32> = 0.0..=0.9;
/// The reverb size of a session that never set one.
pub const DEFAULT_REVERB_SIZE: f32 = 0.5;
/// The delay feedback of a session that never set one.
pub const DEFAULT_DELAY_FEEDBACK: f32 = 0.35;
/// How many colours a track can be given (`Track::color` is an index into the editor's palette of
/// this many; `None` is the colour of the track's sound family).
pub const TRACK_COLORS: u8 = 16;
/// Longest track name, in bytes of UTF-8.
pub const NAME_MAX_BYTES: usize = 32;
/// Longest track id, in bytes (ASCII `[a-z0-9_-]`).
pub const TRACK_ID_MAX_LEN: usize = 8;
/// Longest sample id, in bytes (ASCII `[A-Za-z0-9_-]`).
pub const SAMPLE_ID_MAX_LEN: usize = 64;
/// Default tempo of a new session.
pub const DEFAULT_TEMPO: f64 = 120.0;
/// Default volume of a new track.
pub const DEFAULT_VOLUME: f32 = 0.8;
/// The schema version this build writes. Older versions are migrated by the `schema` module
/// (version 2 added the session's dice seed, `SessionState::seed`).
pub const SCHEMA_VERSION: u32 = 2;
/// The dice seed of documents written before sessions stored one (schema versions 0 and 1) and
/// of local documents that never met the server: the engine's seed from before seeds were
/// stored (the ASCII bytes of "Keyboard", `"4b6579626f617264"` in JSON), so old sessions and
/// offline bounces keep the hits they always had. A session the server creates gets a random
/// seed instead.
pub const DEFAULT_SEED: u64 = 0x4B65_7962_6F61_7264;
