//! Keyboardia's sans-IO core.
//!
//! Deterministic and free of I/O: no sockets, no threads, no async runtime, no clock reads and no
//! randomness. Time comes in as arguments (milliseconds); randomness comes in as a seed from the caller.
//! It builds for native targets and for `wasm32-unknown-unknown`, so the plugin, the sync
//! companion and the Cloudflare Worker all run the very same logic.
//!
//! - [`access`]: who may edit, claim and lock a session (the Worker and the room enforce it).
//! - [`model`]: the session document (tracks, steps, parameter locks) and every valid range.
//! - [`ops`]: the closed set of edits, validated by [`SessionState::apply`](model::SessionState::apply).
//! - [`edit`]: op builders, the rules an editor follows to turn input into valid ops.
//! - [`protocol`]: the live-session wire messages (JSON) and their decoder.
//! - [`client`]: a player's side of a live session, driven by time: optimistic edits, pending
//!   ops, snapshots, the ping schedule, reconnect backoff and the shared-sample transfer policy.
//! - [`clock`]: the shared session timeline and the NTP-style clock-offset estimator.
//! - [`room`]: the live room, the authoritative state machine of one live session.
//! - [`song`]: pattern and song playback on the shared timeline (queued switches, the song
//!   position, the fill switch).
//! - [`schema`]: versioned documents and the migration path from older versions.
//! - [`api`]: the REST API's routes, paths and bodies, shared by the Worker and its clients.
//! - [`oauth`]: the sign-in wire types (RFC 8628 device flow, tokens, the live socket's ticket).
//! - [`rate`]: the token bucket that limits a room's connections and the Worker's clients.
//! - [`audio`]: sample files (WAV on `hound`): decoding, encoding, the sample limits and the
//!   upload check.

pub mod access;
pub mod api;
pub mod audio;
pub mod beat;
pub mod client;
pub mod clock;
mod content_id;
pub mod edit;
pub mod error;
pub mod model;
pub mod oauth;
pub mod oplog;
pub mod ops;
pub mod protocol;
pub mod rate;
pub mod room;
pub mod schema;
pub mod song;

pub use content_id::CONTENT_ID_HEX_DIGITS;
pub use error::{ErrorCode, Field, OpError};
pub use model::*;
pub use ops::{Applied, Change, Op};
