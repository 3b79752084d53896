//! The Workers-runtime half: the fetch entry point, the REST handlers, and the two Durable
//! Objects. Only built for `wasm32`.

mod accounts;
mod auth;
mod beats;
mod entry;
mod http;
mod limiter;
mod live;
mod live_sockets;
mod live_store;
mod pages;
mod samples;
mod sessions;
mod store;

pub use limiter::RateLimiter;
pub use live::LiveSession;
