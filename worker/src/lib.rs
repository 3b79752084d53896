//! Keyboardia's backend: a Cloudflare Worker around the sans-IO `keyboardia-core`.
//!
//! - REST (`/api/sessions…`): create, load, save and fork sessions stored in KV; upload and
//!   download samples in R2.
//! - `/api/sessions/{id}/ws`: one `LiveSession` Durable Object per session runs the core's live
//!   room on the WebSocket hibernation API, writing every accepted op to its SQLite storage before
//!   broadcasting or acknowledging it, and keeping KV current.
//! - The web app (`/`, `/s/{id}`, see [`pages`]): static assets from `web/dist`, with the
//!   session pages rendered by the Worker.
//! - Per-client-address rate limits on create, fork, upload and save (a `RateLimiter` Durable
//!   Object per address); in the room, message limits per client address, flow control for
//!   readers that stop reading, and a cap and a deadline for sockets that never say hello.
//!
//! The route table is core's [`keyboardia_core::api`], shared with the clients. The pure parts
//! (limits, audio checks, error replies) build and are tested natively; everything that touches
//! the Workers runtime only exists on `wasm32`.

pub mod api_error;
pub mod auth_pages;
pub mod device;
pub mod limits;
pub mod owner;
pub mod pages;
pub mod token;

#[cfg(target_arch = "wasm32")]
mod wasm;
#[cfg(target_arch = "wasm32")]
pub use wasm::{LiveSession, RateLimiter};
