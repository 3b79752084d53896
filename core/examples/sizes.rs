//! Prints the wire size of the hottest messages and of snapshots (bytes, uncompressed).
//! `cargo run -p keyboardia-core --release --example sizes`
use keyboardia_core::protocol::*;
use keyboardia_core::*;

fn main() {
    let worst = ClientMessage::Edit {
        op: u32::MAX,
        edit: Op::SetStep {
            pt: PatternId::A,
            tr: TrackId::from_random(u64::MAX),
            s: 63,
            on: false,
        },
    };
    println!(
        "set-step (worst case), client->server: {} bytes",
        worst.encode().len()
    );
    println!("  {}", worst.encode());
    let b = ServerMessage::Applied(Broadcast {
        edit: Op::SetStep {
            pt: PatternId::A,
            tr: TrackId::from_random(u64::MAX),
            s: 63,
            on: false,
        },
        seq: 1_000_000,
        by: 10,
        op: u32::MAX,
    });
    println!(
        "set-step broadcast, server->client: {} bytes",
        b.encode().len()
    );
    let demo = Session::new(
        SessionId::from_random_bytes([7; 16]),
        1_700_000_000_000,
        SessionState::demo(),
    );
    println!(
        "demo session: {} bytes",
        schema::session_to_json(&demo).len()
    );
    println!("{}", schema::session_to_json(&demo));
}
