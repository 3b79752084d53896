//! The soak benchmark: players make random edits against the real Worker under `wrangler dev`
//! with random disconnects and server kills (SIGKILL, then a start on the same persisted state),
//! then every player must hold the REST state and no edit may be lost.
//!
//! ```text
//! cargo run -p keyboardia-tests --release --example soak -- [CLIENTS] [OPS_PER_CLIENT] [KILLS] [OPS_PER_SEC]
//! ```
//! Defaults: 10 players × 10,000 edits, 10 kills, at most 400 edits/s, and a player with 200
//! unacknowledged edits waits for the room (the report says for how long, and the rate reached).
//! Prints ops, kills, disconnects, losses and times; exits non-zero on any loss or divergence.

use std::time::Duration;

use keyboardia_tests::server::Server;
use keyboardia_tests::soak::{run, SoakConfig};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let arg = |i: usize, default: f64| -> f64 {
        args.get(i)
            .map(|a| a.parse().unwrap_or_else(|_| panic!("not a number: {a}")))
            .unwrap_or(default)
    };
    let config = SoakConfig {
        clients: arg(0, 10.0) as usize,
        ops_per_client: arg(1, 10_000.0) as usize,
        kills: arg(2, 10.0) as usize,
        ops_per_sec: arg(3, 400.0),
        ops_while_down: 50,
        disconnect_chance: 1.0 / 200.0,
        settle_timeout: Duration::from_secs(120),
        ..SoakConfig::default()
    };
    println!("soak: {config:?}");
    let mut server = Server::start();
    let report = run(&mut server, &config);
    println!("soak: {report}");
    let ok = !report.unchecked && report.losses == 0 && report.diverged == 0 && report.room_agrees;
    println!("soak: {}", if ok { "PASS" } else { "FAIL" });
    std::process::exit(if ok { 0 } else { 1 });
}
