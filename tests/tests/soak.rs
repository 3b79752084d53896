//! A small soak against the real Worker under `wrangler dev`: 3 players × 200 random edits with
//! random disconnects and one server kill (SIGKILL, then a start on the same persisted state).
//! No edit may be lost and every player must end with the REST state. The full size (10 × 10,000,
//! several kills) is the benchmark `cargo run -p keyboardia-tests --release --example soak`.

use keyboardia_tests::server::Server;
use keyboardia_tests::soak::{run, SoakConfig};

#[test]
fn players_lose_nothing_through_disconnects_and_a_server_kill() {
    let mut server = Server::start();
    let report = run(&mut server, &SoakConfig::default());
    println!("soak: {report}");
    assert_eq!(report.kills, 1);
    assert!(report.disconnects > 0, "{report}");
    assert!(report.own_ops > 100, "{report}");
    assert!(!report.unchecked, "{report}");
    assert_eq!(report.losses, 0, "{report}");
    assert_eq!(report.diverged, 0, "{report}");
    assert!(report.room_agrees, "{report}");
}
