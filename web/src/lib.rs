//! Keyboardia in the browser: the `ui/` editor in an eframe web shell, the live session over the
//! browser's WebSocket around core's client, and the engine in an AudioWorklet (its own wasm
//! module, `web/worklet`, driven by `web/static/processor.js`).
//!
//! - [`route`]: the session an address names, the room's and the invite's addresses.
//! - [`clockmap`]: AudioContext time ↔ local time ↔ server time.
//! - [`playback`]: the page's own transport when it plays alone (the beat page, a session page
//!   before its room), stamped like the room's.
//! - [`status`]: the session bar's status from the client's events.
//! - wasm32 only: `app` (entry, Start button), `dom` (notice, randomness), `page` (the state
//!   and the client's event loop), `socket` (the WebSocket, owned by a dedicated worker that
//!   stamps frames as they arrive and pings as they leave), `net` (REST over fetch), `audio`
//!   (the context and the engine's node), `host` (ui's host traits), `mic` (recording), `hooks` (`window.keyboardia` for tests and the benchmark), `account` (sign-in by
//!   emailed link, claim and lock: ui's account panel),
//!   `beats` (the beats panel over REST, the read-only beat page `/b/{id}`, exports), `sound`
//!   (Start: the audio context and play).

pub mod clockmap;
pub mod playback;
pub mod route;
pub mod status;

#[cfg(target_arch = "wasm32")]
mod account;
#[cfg(target_arch = "wasm32")]
mod app;
#[cfg(target_arch = "wasm32")]
mod audio;
#[cfg(target_arch = "wasm32")]
mod audio_hooks;
#[cfg(target_arch = "wasm32")]
mod beats;
#[cfg(target_arch = "wasm32")]
mod dom;
#[cfg(target_arch = "wasm32")]
mod hooks;
#[cfg(target_arch = "wasm32")]
mod host;
#[cfg(target_arch = "wasm32")]
mod mic;
#[cfg(target_arch = "wasm32")]
mod net;
#[cfg(target_arch = "wasm32")]
mod page;
#[cfg(target_arch = "wasm32")]
mod socket;
#[cfg(target_arch = "wasm32")]
mod sound;

/// The module's start: runs the page.
#[cfg(target_arch = "wasm32")]
#[wasm_bindgen::prelude::wasm_bindgen(start)]
pub fn start() -> Result<(), wasm_bindgen::JsValue> {
    app::run()
}
