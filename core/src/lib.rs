//! Keyboardia's sans-IO core.
//!
//! Deterministic and free of I/O: no sockets, no threads, no async runtime, no clock reads and no
//! randomness. Time comes in as arguments (milliseconds), random numbers are drawn by the caller.
//! It builds for native targets and for `wasm32-unknown-unknown`, so the plugin, the sync
//! companion and the Cloudflare Worker all run the very same logic.
//!
//! - [`model`]: the session document (tracks, steps, parameter locks) and every valid range.
//! - [`ops`]: the closed set of edits, validated by [`SessionState::apply`](model::SessionState::apply).
//! - [`edit`]: op builders, the rules an editor follows to turn input into valid ops.
//! - [`protocol`]: the live-session wire messages (JSON) and their decoder.
//! - [`client`]: a player's side of a live session: optimistic edits, pending ops, snapshots.
//! - [`clock`]: the shared session timeline and the NTP-style clock-offset estimator.
//! - [`room`]: the live room, the authoritative state machine of one live session.
//! - [`schema`]: versioned documents and the migration path from older versions.

pub mod client;
pub mod clock;
mod content_id;
pub mod edit;
pub mod error;
pub mod model;
pub mod ops;
pub mod protocol;
pub mod room;
pub mod schema;

pub use content_id::CONTENT_ID_HEX_DIGITS;
pub use error::{ErrorCode, Field, OpError};
pub use model::*;
pub use ops::{Applied, Change, Op};
