//! The burst benchmark: one socket floods a room with edits far over the per-address limit
//! while another player pings the room and a third sends the runtime's keep-alive `ping`; prints
//! the other players' round trips (median and max) during and after the burst.
//!
//! ```text
//! cargo run -p keyboardia-tests --release --example burst_bench -- [FRAMES] [AFTER_MS]
//! ```
//! Defaults: 10,000 frames, pings for 2,000 ms after the burst. The deployed limits
//! (`wrangler.toml`'s `ROOM_MSGS_PER_SEC`, `ROOM_BURST`). Players connect to workerd directly
//! (not through `wrangler dev`'s proxy, which is not part of a deployment).

use std::time::Duration;

use keyboardia_core::{SessionState, Track};
use keyboardia_tests::server::{Options, Server};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let arg = |i: usize, default: u64| -> u64 {
        args.get(i)
            .map(|a| a.parse().unwrap_or_else(|_| panic!("not a number: {a}")))
            .unwrap_or(default)
    };
    let frames = arg(0, 10_000) as usize;
    let after = Duration::from_millis(arg(1, 2_000));
    let server = Server::start_with(Options::production_limits());
    let base = server
        .direct_base_url()
        .unwrap_or_else(|| server.base_url());
    println!(
        "burst: players connect to {base} (proxy at {})",
        server.base_url()
    );
    let mut state = SessionState::default();
    state.tracks.push(Track::new(
        "kick".parse().expect("a track id"),
        "kick",
        "kick".parse().expect("an instrument"),
    ));
    let id = keyboardia_tests::players::create_session(&server.base_url(), &state);
    let report = keyboardia_tests::burst::run(&base, id, "kick", "10.9.0.1", frames, after);
    println!("burst: {report}");
    let late: Vec<String> = report
        .room_rtts
        .iter()
        .filter(|r| r.1 > Duration::from_millis(20))
        .map(|(at, rtt)| format!("{at:.0}:{:.0}", rtt.as_secs_f64() * 1e3))
        .collect();
    println!("burst: room pings over 20 ms (sent at ms : round trip ms): {late:?}");
}
