//! The session document: what a Keyboardia pattern is.
//!
//! One file per concern, each depending only on those above it in this list (the errors sit
//! between the ids and the rest, so they can name a track id and a lock kind):
//! - `limits`: every range a value may take, as a `pub const`, so validation, the engine and the
//!   editor share one definition;
//! - `ids`: session, track and sample ids; `condition`: trig conditions and their rule table;
//!   `lock`: parameter locks;
//! - `pattern`: pattern slots A–H, a track's part of a pattern, song entries, the switch setting;
//! - `instrument`: what a track plays; `fx`: a track's effects and the shared ones; `track`: tracks and steps; `cuts`: slice cut points;
//!   `session`: the state every player hears and the saved document around it; `demo_song`:
//!   the built-in demo song;
//! - `parse`: ids from text; `validate`: every invariant; `json`: the compact JSON form of a
//!   track (see [`Track`]): a full 16-track session stays well under 8 KB.
//!
//! Everything public is re-exported here (and from the crate root), so paths like
//! `keyboardia_core::model::Track` do not depend on the file layout.

pub(crate) mod condition;
pub(crate) mod cuts;
mod demo_song;
pub(crate) mod fx;
pub(crate) mod ids;
pub(crate) mod instrument;
mod json;
pub(crate) mod limits;
pub(crate) mod lock;
mod parse;
pub(crate) mod pattern;
pub(crate) mod session;
pub(crate) mod track;
mod validate;

pub use self::condition::Condition;
pub use self::cuts::{slice_bounds, validate_cuts};
pub use self::fx::{DelayTime, FilterMode, SessionFx, SessionFxParam, TrackFx, TrackFxParam};
pub use self::ids::{BeatId, SampleId, SessionId, TrackId};
pub use self::instrument::{BuiltinSound, Instrument, SynthPreset};
pub use self::json::Pattern;
pub use self::limits::*;
pub use self::lock::{Lock, LockKind, Locks};
pub use self::pattern::{PatternId, SongEntry, SwitchAt};
pub use self::session::{Mode, Session, SessionState};
pub use self::track::{OtherPatterns, Step, Steps, Track, TrackPattern};
pub(crate) use self::validate::{check_f32, check_f64, validate_name};
pub use self::validate::{validate_color, validate_song};
