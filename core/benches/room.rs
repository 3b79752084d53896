//! The live room's own work per edit, natively (issue 18): what our code costs of the
//! Durable Object's CPU per edit, next to the runtime's. Prints numbers; asserts nothing
//! about speed.
//!
//! `cargo bench -p keyboardia-core --bench room`
//!
//! 10 players on the demo session, 2,000 `SetStep` edits from a rotating sender (as
//! `tests/examples/live_vs_original.rs` sends them): per edit, the room decodes the frame,
//! checks the rate limit and the op, applies it, encodes the broadcast once and queues it for
//! the 10 players, and the host drains the events (a persist and 10 transmits). Best of 7
//! runs, wall time on this thread. The Worker runs the same code compiled to wasm32 (V8's
//! optimizing tier typically runs it 1.2–2× slower than native).

use std::hint::black_box;
use std::time::Instant;

use keyboardia_core::clock::Timeline;
use keyboardia_core::protocol::{ClientMessage, PROTOCOL_VERSION};
use keyboardia_core::room::{Room, RoomConfig, RoomEvent};
use keyboardia_core::{Op, PatternId, Session, SessionId, SessionState};

const PLAYERS: u64 = 10;
const EDITS: usize = 2_000;
const RUNS: usize = 7;
const T0: f64 = 1_700_000_000_000.0;

/// A room with `PLAYERS` joined players (connections 1..=PLAYERS), no rate limit in the way.
fn room() -> Room {
    let session = Session::new(
        SessionId::from_random_bytes([8; 16]),
        T0 as u64,
        SessionState::demo(),
    );
    let config = RoomConfig {
        msgs_per_sec: 1e9,
        burst: 1e9,
        ..RoomConfig::default()
    };
    let mut room = Room::new(session, 0, Timeline::new(120.0, T0), config);
    for conn in 1..=PLAYERS {
        room.handle_connect(conn, None, T0);
        let hello = ClientMessage::Hello {
            proto: PROTOCOL_VERSION,
            name: format!("p{conn}"),
        };
        room.handle_message(conn, hello.encode().as_bytes(), T0);
    }
    while room.poll_event().is_some() {}
    room
}

/// The frames of the edits: edit `i` sets cell (i mod 16, (i / 16) mod 16) of the first 16
/// tracks (fewer if the demo has fewer), on in even passes over the cells, off in odd ones.
fn frames(room: &Room) -> Vec<(u64, Vec<u8>)> {
    let tracks: Vec<_> = room.session().state.tracks.iter().map(|t| t.id).collect();
    (0..EDITS)
        .map(|i| {
            let cells = 16 * tracks.len();
            let msg = ClientMessage::Edit {
                op: i as u32 + 1,
                edit: Op::SetStep {
                    pt: PatternId::A,
                    tr: tracks[(i / 16) % tracks.len()],
                    s: (i % 16) as u8,
                    on: (i / cells) % 2 == 0,
                },
            };
            (1 + i as u64 % PLAYERS, msg.encode().into_bytes())
        })
        .collect()
}

fn main() {
    let mut best = f64::INFINITY;
    let mut sent = 0usize;
    for _ in 0..RUNS {
        let mut room = room();
        let frames = frames(&room);
        let start = Instant::now();
        let mut transmits = 0usize;
        for (k, (conn, bytes)) in frames.iter().enumerate() {
            room.handle_message(*conn, black_box(bytes), T0 + k as f64);
            while let Some(event) = room.poll_event() {
                if let RoomEvent::Transmit { text, .. } = event {
                    transmits += 1;
                    black_box(text);
                }
            }
        }
        let ns = start.elapsed().as_nanos() as f64 / EDITS as f64;
        best = best.min(ns);
        sent = transmits;
    }
    assert_eq!(
        sent,
        EDITS * PLAYERS as usize,
        "every edit reaches every player"
    );
    println!(
        "room: {EDITS} edits, {PLAYERS} players: {:.2} µs per edit (decode, apply, encode, \
         {} transmits), best of {RUNS}",
        best / 1000.0,
        sent / EDITS
    );
}
