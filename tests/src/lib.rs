//! Harnesses shared by the cross-crate tests in `tests/tests/`: each module drives a real part
//! (a plugin host, the Worker under `wrangler dev`, several clients) and cleans up after itself.

pub mod browser;
pub mod burst;
pub mod clap_host;
pub mod clap_stress;
pub mod editor_screen;
pub mod gate;
pub mod jack;
pub mod netem;
pub mod onsets;
pub mod original;
pub mod players;
pub mod procs;
pub mod room_server;
pub mod saved_state;
pub mod server;
pub mod soak;
