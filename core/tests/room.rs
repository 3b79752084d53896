//! The live room, message by message.

use std::sync::Arc;

use keyboardia_core::clock::{ClockSample, ClockSync, Timeline, CLOCK_WINDOW};
use keyboardia_core::protocol::*;
use keyboardia_core::room::*;
use keyboardia_core::*;

const T0: f64 = 1_700_000_000_000.0;

fn room() -> Room {
    let session = Session::new(
        SessionId::from_random_bytes([8; 16]),
        T0 as u64,
        SessionState::demo(),
    );
    Room::new(session, 0, Timeline::new(118.0, T0), RoomConfig::default())
}

/// Drains the room's output: (to, message) pairs, persist seqs and closes.
#[derive(Default, Debug)]
struct Out {
    sent: Vec<(ConnId, ServerMessage)>,
    persisted: Vec<u64>,
    timeline_persists: usize,
    closed: Vec<(ConnId, u16)>,
    joined: Vec<(ConnId, Player)>,
}

fn drain(room: &mut Room) -> Out {
    let mut out = Out::default();
    while let Some(ev) = room.poll_event() {
        match ev {
            RoomEvent::Persist { seq, .. } => out.persisted.push(seq),
            RoomEvent::PersistTimeline => out.timeline_persists += 1,
            RoomEvent::Transmit { to, text } => {
                out.sent.push((to, decode_server(text.as_bytes()).unwrap()))
            }
            RoomEvent::Close { conn, code, .. } => out.closed.push((conn, code)),
            RoomEvent::Joined { conn, player, .. } => out.joined.push((conn, player)),
        }
    }
    out
}

fn send(room: &mut Room, conn: ConnId, msg: &ClientMessage, now: f64) -> Out {
    room.handle_message(conn, msg.encode().as_bytes(), now);
    drain(room)
}

fn join(room: &mut Room, conn: ConnId, name: &str) -> Out {
    room.handle_connect(conn, None, T0);
    send(
        room,
        conn,
        &ClientMessage::Hello {
            proto: PROTOCOL_VERSION,
            name: name.into(),
        },
        T0,
    )
}

fn kick() -> TrackId {
    "kick".parse().unwrap()
}

fn error_code(out: &Out) -> Option<ErrorCode> {
    out.sent.iter().find_map(|(_, m)| match m {
        ServerMessage::Error(e) => Some(e.code),
        _ => None,
    })
}

#[test]
fn join_gets_a_snapshot_and_others_see_presence() {
    let mut r = room();
    let a = join(&mut r, 1, "Ada");
    assert_eq!(a.joined.len(), 1);
    match &a.sent[..] {
        [(1, ServerMessage::Snapshot(s))] => {
            assert_eq!((s.seq, s.you, s.players.len()), (0, 1, 1));
            assert_eq!(s.session.state, SessionState::demo());
        }
        other => panic!("{other:?}"),
    }
    let b = join(&mut r, 2, "Bob");
    assert!(
        matches!(&b.sent[0], (2, ServerMessage::Snapshot(s)) if s.players.len() == 2 && s.you == 2)
    );
    assert!(b
        .sent
        .iter()
        .any(|(to, m)| *to == 1
            && matches!(m, ServerMessage::Join { player } if player.name == "Bob")));
    assert_ne!(
        a.joined[0].1.color, b.joined[0].1.color,
        "players get distinct colours"
    );
    r.handle_disconnect(2, T0);
    let out = drain(&mut r);
    assert_eq!(out.sent, vec![(1, ServerMessage::Leave { id: 2 })]);
}

#[test]
fn edits_are_ordered_persisted_then_broadcast_with_op_id() {
    let mut r = room();
    join(&mut r, 1, "Ada");
    join(&mut r, 2, "Bob");
    let out = send(
        &mut r,
        2,
        &ClientMessage::Edit {
            op: 77,
            edit: Op::SetStep {
                pt: PatternId::A,
                tr: kick(),
                s: 1,
                on: true,
            },
        },
        T0 + 1.0,
    );
    assert_eq!(out.persisted, vec![1]);
    assert_eq!(out.sent.len(), 2, "sender and peer both get the broadcast");
    for (_, m) in &out.sent {
        assert_eq!(
            m,
            &ServerMessage::Applied(Broadcast {
                edit: Op::SetStep {
                    pt: PatternId::A,
                    tr: kick(),
                    s: 1,
                    on: true
                },
                seq: 1,
                by: 2,
                op: 77
            })
        );
    }
    let out = send(
        &mut r,
        1,
        &ClientMessage::Edit {
            op: 1,
            edit: Op::SetSwing { v: 40.0 },
        },
        T0 + 2.0,
    );
    assert_eq!(out.persisted, vec![2]);
    assert_eq!(r.seq(), 2);
    assert_eq!(r.session().state.swing, 40.0);
    assert!(r.session().updated_at >= (T0 + 2.0) as u64);
}

#[test]
fn bad_messages_get_typed_errors_and_change_nothing() {
    let mut r = room();
    join(&mut r, 1, "Ada");
    let before = (r.session().clone(), r.seq());
    let huge = format!(
        r#"{{"t":"name","tr":"kick","v":"{}","op":9}}"#,
        "x".repeat(keyboardia_core::protocol::MAX_CLIENT_MESSAGE_BYTES)
    );
    let cases: Vec<(Vec<u8>, ErrorCode)> = vec![
        (b"{nope".to_vec(), ErrorCode::Malformed),
        (br#"{"t":"teleport"}"#.to_vec(), ErrorCode::UnknownType),
        (huge.into_bytes(), ErrorCode::TooLarge),
        (
            br#"{"t":"step","tr":"kick","s":99,"on":true,"op":3}"#.to_vec(),
            ErrorCode::StepOutOfRange,
        ),
        (
            br#"{"t":"tempo","v":999,"op":4}"#.to_vec(),
            ErrorCode::OutOfRange,
        ),
        (
            br#"{"t":"tempo","v":NaN,"op":5}"#.to_vec(),
            ErrorCode::Malformed,
        ),
        (
            br#"{"t":"vol","tr":"kick","v":1e999,"op":6}"#.to_vec(),
            ErrorCode::Malformed,
        ),
        (
            br#"{"t":"step","tr":"nope","s":1,"on":true,"op":7}"#.to_vec(),
            ErrorCode::UnknownTrack,
        ),
        (
            br#"{"t":"hello","proto":1,"name":"again"}"#.to_vec(),
            ErrorCode::AlreadyJoined,
        ),
    ];
    for (bytes, code) in cases {
        r.handle_message(1, &bytes, T0 + 5.0);
        let out = drain(&mut r);
        assert_eq!(
            error_code(&out),
            Some(code),
            "{}",
            String::from_utf8_lossy(&bytes[..bytes.len().min(80)])
        );
        assert!(out.persisted.is_empty());
        assert_eq!(out.sent.len(), 1, "only the sender hears about it");
    }
    assert_eq!((r.session().clone(), r.seq()), before);
    // The refused edit's op id comes back so the sender can drop it.
    r.handle_message(
        1,
        br#"{"t":"step","tr":"nope","s":1,"on":true,"op":42}"#,
        T0,
    );
    assert!(matches!(
        &drain(&mut r).sent[0].1,
        ServerMessage::Error(ErrorMessage { op: Some(42), .. })
    ));
}

#[test]
fn hello_first_and_protocol_version() {
    let mut r = room();
    r.handle_connect(1, None, T0);
    let out = send(&mut r, 1, &ClientMessage::Ping { c: 1.0 }, T0);
    assert_eq!(error_code(&out), Some(ErrorCode::NotJoined));
    assert_eq!(out.closed, vec![(1, close_code::NOT_JOINED)]);
    r.handle_connect(2, None, T0);
    let out = send(
        &mut r,
        2,
        &ClientMessage::Hello {
            proto: PROTOCOL_VERSION + 1,
            name: "Fut".into(),
        },
        T0,
    );
    assert_eq!(error_code(&out), Some(ErrorCode::ProtocolVersion));
    assert_eq!(out.closed, vec![(2, close_code::PROTOCOL_VERSION)]);
    assert_eq!(r.players().count(), 0);
}

#[test]
fn at_most_ten_players() {
    let mut r = room();
    for c in 1..=10 {
        join(&mut r, c, "p");
    }
    let out = join(&mut r, 11, "eleven");
    assert_eq!(error_code(&out), Some(ErrorCode::RoomFull));
    assert_eq!(out.closed, vec![(11, close_code::ROOM_FULL)]);
    assert_eq!(r.players().count(), 10);
    // One leaves, the next one fits.
    r.handle_disconnect(3, T0);
    drain(&mut r);
    assert!(join(&mut r, 12, "twelve").joined.len() == 1);
}

fn join_from(room: &mut Room, conn: ConnId, address: &str, now: f64) -> Out {
    room.handle_connect_from(conn, None, Some(address.into()), now);
    send(
        room,
        conn,
        &ClientMessage::Hello {
            proto: PROTOCOL_VERSION,
            name: "p".into(),
        },
        now,
    )
}

#[test]
fn a_burst_over_the_limit_closes_the_socket_and_a_reconnect_gets_no_fresh_burst() {
    let mut r = room();
    join_from(&mut r, 1, "10.0.0.1", T0);
    join_from(&mut r, 2, "10.0.0.2", T0);
    let burst = r.config().burst as usize;
    // 10,000 edits at one instant (arrival time): the burst is applied, the first one over
    // it closes the socket with a typed error, and the rest are dropped unseen.
    let (mut applied, mut refused, mut closed) = (0, 0, Vec::new());
    for i in 0..10_000u32 {
        let edit = ClientMessage::Edit {
            op: i + 1,
            edit: Op::SetStep {
                pt: PatternId::A,
                tr: kick(),
                s: (i % 16) as u8,
                on: i.is_multiple_of(2),
            },
        };
        let out = send(&mut r, 1, &edit, T0 + 1.0);
        applied += out.persisted.len();
        refused += (error_code(&out) == Some(ErrorCode::RateLimited)) as usize;
        closed.extend(out.closed);
    }
    println!("10,000 edits at once: {applied} applied (burst {burst}), {refused} refused");
    assert_eq!(applied, burst - 1, "the hello took one token");
    assert_eq!(refused, 1, "one typed error, then silence");
    assert_eq!(closed, vec![(1, close_code::RATE_LIMITED)]);
    // The other address is unaffected.
    let out = send(&mut r, 2, &ClientMessage::Ping { c: 0.0 }, T0 + 1.0);
    assert_eq!(error_code(&out), None);
    // A reconnect from the same address draws from the same, empty bucket...
    let out = join_from(&mut r, 3, "10.0.0.1", T0 + 1.0);
    assert_eq!(error_code(&out), Some(ErrorCode::RateLimited));
    assert_eq!(out.closed, vec![(3, close_code::RATE_LIMITED)]);
    // ...which refills with time, at the configured rate, up to the burst.
    let later = T0 + 1.0 + 1000.0;
    join_from(&mut r, 4, "10.0.0.1", later);
    let mut served = 1;
    while error_code(&send(&mut r, 4, &ClientMessage::Ping { c: 0.0 }, later)).is_none() {
        served += 1;
    }
    let per_sec = r.config().msgs_per_sec as usize;
    assert!(
        (per_sec - 2..=per_sec + 1).contains(&served),
        "{served} in a second"
    );
}

#[test]
fn connections_without_an_address_have_their_own_buckets() {
    let mut r = room();
    join(&mut r, 1, "a");
    join(&mut r, 2, "b");
    let burst = r.config().burst as usize;
    for i in 1..burst {
        let out = send(&mut r, 1, &ClientMessage::Ping { c: i as f64 }, T0);
        assert_eq!(error_code(&out), None);
    }
    let out = send(&mut r, 2, &ClientMessage::Ping { c: 0.0 }, T0);
    assert_eq!(error_code(&out), None);
}

#[test]
fn a_reader_that_does_not_read_is_closed_and_one_that_acks_is_not() {
    let mut r = room();
    join(&mut r, 1, "writer");
    join(&mut r, 2, "reader");
    join(&mut r, 3, "deaf");
    let max = r.config().max_unacked_bytes;
    let (mut sent_to_reader, mut acked) = (0u64, 0u64);
    let (mut sent_to_writer, mut writer_acked) = (0u64, 0u64);
    let mut closed = Vec::new();
    let mut deaf_bytes = 0u64;
    for i in 0..12_000u32 {
        let now = T0 + 12.0 * f64::from(i); // within the rate limit
                                            // About 500 bytes an edit, so the buffer (sized for the largest snapshot) fills soon.
        let edit = ClientMessage::Edit {
            op: i + 1,
            edit: Op::SetCuts {
                tr: kick(),
                v: (0..64).map(|k| 100_000 * k + i).collect(),
            },
        };
        r.handle_message(1, edit.encode().as_bytes(), now);
        while let Some(ev) = r.poll_event() {
            match ev {
                RoomEvent::Transmit { to: 1, text } => sent_to_writer += text.len() as u64,
                RoomEvent::Transmit { to: 2, text } => sent_to_reader += text.len() as u64,
                RoomEvent::Transmit { to: 3, text } => deaf_bytes += text.len() as u64,
                RoomEvent::Close { conn, code, .. } => closed.push((conn, code)),
                _ => {}
            }
        }
        // The reader (and the writer) ack as core's client does.
        if sent_to_reader - acked >= ACK_EVERY_BYTES {
            acked = sent_to_reader;
            r.handle_message(2, ClientMessage::Ack { b: acked }.encode().as_bytes(), now);
        }
        if sent_to_writer - writer_acked >= ACK_EVERY_BYTES {
            writer_acked = sent_to_writer;
            let ack = ClientMessage::Ack { b: writer_acked };
            r.handle_message(1, ack.encode().as_bytes(), now);
        }
    }
    println!("sent to a reader that stopped reading before it was closed: {deaf_bytes} bytes");
    assert_eq!(closed, vec![(3, close_code::SLOW_CONSUMER)]);
    assert!(deaf_bytes <= max + 1024, "{deaf_bytes} bytes queued");
    assert!(sent_to_reader > 2 * max, "the reader kept receiving");
    assert_eq!(r.players().count(), 2);
    // An ack for more than was sent counts as what was sent.
    r.handle_message(
        2,
        ClientMessage::Ack { b: u64::MAX }.encode().as_bytes(),
        T0 + 1e6,
    );
    assert!(drain(&mut r).closed.is_empty());
}

#[test]
fn unjoined_connections_are_capped_and_timed_out() {
    let mut r = room();
    let cap = r.config().max_unjoined;
    let timeout = r.config().hello_timeout_ms;
    join(&mut r, 100, "player");
    for c in 1..=cap as ConnId {
        assert!(r.accepts_connection());
        r.handle_connect(c, None, T0 + c as f64);
    }
    assert!(!r.accepts_connection());
    r.handle_connect(999, None, T0);
    let out = drain(&mut r);
    assert_eq!(error_code(&out), Some(ErrorCode::TooManyConnections));
    assert_eq!(out.closed, vec![(999, close_code::TOO_MANY_UNJOINED)]);
    // The first deadline is the oldest socket's; at it, exactly that one is closed.
    assert_eq!(r.poll_timeout(), Some(T0 + 1.0 + timeout));
    r.handle_timeout(T0 + 1.0 + timeout);
    let out = drain(&mut r);
    assert_eq!(error_code(&out), Some(ErrorCode::NotJoined));
    assert_eq!(out.closed, vec![(1, close_code::HELLO_TIMEOUT)]);
    assert!(r.accepts_connection());
    // One that says hello in time is not timed out; the rest are, all at once.
    send(
        &mut r,
        2,
        &ClientMessage::Hello {
            proto: PROTOCOL_VERSION,
            name: "late".into(),
        },
        T0 + 100.0,
    );
    r.handle_timeout(T0 + 1_000.0 + timeout);
    let out = drain(&mut r);
    assert_eq!(out.closed.len(), cap - 2);
    assert!(out
        .closed
        .iter()
        .all(|&(c, code)| c > 2 && code == close_code::HELLO_TIMEOUT));
    assert_eq!(r.poll_timeout(), None);
    assert_eq!(r.players().count(), 2);
    // Frames from a closed connection are dropped.
    r.handle_message(5, br#"{"t":"ping","c":1}"#, T0 + 20_000.0);
    assert!(drain(&mut r).sent.is_empty());
}

#[test]
fn readonly_sessions_refuse_edits_and_transport() {
    let mut session = Session::new(
        SessionId::from_random_bytes([8; 16]),
        0,
        SessionState::demo(),
    );
    session.mode = Mode::Readonly;
    session.owner_id = Some("owner".into());
    let mut r = Room::new(session, 0, Timeline::new(118.0, T0), RoomConfig::default());
    join(&mut r, 1, "viewer");
    r.handle_connect(2, Some("owner".into()), T0);
    send(
        &mut r,
        2,
        &ClientMessage::Hello {
            proto: PROTOCOL_VERSION,
            name: "owner".into(),
        },
        T0,
    );
    let edit = ClientMessage::Edit {
        op: 1,
        edit: Op::SetStep {
            pt: PatternId::A,
            tr: kick(),
            s: 1,
            on: true,
        },
    };
    assert_eq!(
        error_code(&send(&mut r, 1, &edit, T0)),
        Some(ErrorCode::ReadOnly)
    );
    assert_eq!(
        error_code(&send(&mut r, 1, &ClientMessage::Play, T0)),
        Some(ErrorCode::ReadOnly)
    );
    assert_eq!(r.seq(), 0);
    assert_eq!(send(&mut r, 2, &edit, T0).persisted, vec![1]);
}

#[test]
fn play_starts_on_the_next_bar_and_tempo_keeps_phase() {
    let mut r = room();
    join(&mut r, 1, "Ada");
    join(&mut r, 2, "Bob");
    let now = T0 + 10_000.0;
    let out = send(&mut r, 1, &ClientMessage::Play, now);
    assert_eq!(out.timeline_persists, 1);
    let tl = *r.timeline();
    assert!(tl.playing);
    assert_eq!(tl.start_beat % tl.quantum, 0.0, "starts on a bar line");
    let start_time = tl.time_at(tl.start_beat);
    assert!(
        start_time >= now + RoomConfig::default().start_lead_ms,
        "far enough ahead for everyone"
    );
    assert!(
        start_time
            < now + RoomConfig::default().start_lead_ms + tl.quantum * 60_000.0 / tl.tempo + 1e-6
    );
    assert_eq!(
        out.sent
            .iter()
            .filter(|(_, m)| matches!(m, ServerMessage::Timeline(_)))
            .count(),
        2
    );
    // Tempo change mid-play: the beat is continuous at the change.
    let t = start_time + 5_000.0;
    let beat_before = r.timeline().beat_at(t);
    let out = send(
        &mut r,
        2,
        &ClientMessage::Edit {
            op: 1,
            edit: Op::SetTempo { v: 150.0 },
        },
        t,
    );
    assert_eq!(out.persisted, vec![1]);
    assert_eq!(out.timeline_persists, 1);
    assert!((r.timeline().beat_at(t) - beat_before).abs() < 1e-9);
    assert!((r.timeline().beat_at(t + 60_000.0) - beat_before - 150.0).abs() < 1e-6);
    assert_eq!(r.session().state.tempo, 150.0);
    send(&mut r, 1, &ClientMessage::Stop, t + 1.0);
    assert!(!r.timeline().playing);
}

#[test]
fn ping_pong_gives_server_time() {
    let mut r = room();
    join(&mut r, 1, "Ada");
    let out = send(&mut r, 1, &ClientMessage::Ping { c: 55.5 }, T0 + 3.0);
    assert_eq!(
        out.sent,
        vec![(
            1,
            ServerMessage::Pong {
                c: 55.5,
                s: T0 + 3.0
            }
        )]
    );
}

#[test]
fn rest_save_while_live_replaces_state_for_everyone() {
    let mut r = room();
    join(&mut r, 1, "Ada");
    join(&mut r, 2, "Bob");
    let state = SessionState {
        tempo: 90.0,
        ..SessionState::default()
    };
    r.replace_state(state.clone(), T0 + 1.0);
    let out = drain(&mut r);
    assert_eq!(out.persisted, vec![1]);
    assert_eq!(
        out.sent
            .iter()
            .filter(|(_, m)| matches!(m, ServerMessage::Snapshot(s) if s.session.state == state))
            .count(),
        2
    );
    assert_eq!(r.timeline().tempo, 90.0);
}

#[test]
fn restore_after_eviction_keeps_players_and_ids() {
    let mut r = room();
    let a = join(&mut r, 1, "Ada");
    join(&mut r, 2, "Bob");
    send(
        &mut r,
        1,
        &ClientMessage::Edit {
            op: 1,
            edit: Op::SetSwing { v: 10.0 },
        },
        T0,
    );
    let mut fresh = Room::new(
        r.session().clone(),
        r.seq(),
        *r.timeline(),
        RoomConfig::default(),
    );
    fresh.restore_player(1, a.joined[0].1.clone(), None, T0);
    assert_eq!(fresh.players().count(), 1);
    let c = join(&mut fresh, 3, "Cy");
    assert_ne!(
        c.joined[0].1.id, 1,
        "ids are unique among the players present"
    );
    let out = send(
        &mut fresh,
        1,
        &ClientMessage::Edit {
            op: 2,
            edit: Op::SetSwing { v: 20.0 },
        },
        T0,
    );
    assert_eq!(out.persisted, vec![2], "sequence continues");
    fresh.announce_sample("s1".parse().unwrap(), "vox".into(), "/api/x".into());
    let out = drain(&mut fresh);
    assert_eq!(out.sent.len(), 2);
}

#[test]
fn broadcasts_share_one_allocation() {
    let mut r = room();
    for c in 1..=3 {
        join(&mut r, c, "p");
    }
    r.handle_message(
        1,
        ClientMessage::Edit {
            op: 1,
            edit: Op::SetSwing { v: 3.0 },
        }
        .encode()
        .as_bytes(),
        T0,
    );
    let mut texts = Vec::new();
    while let Some(ev) = r.poll_event() {
        if let RoomEvent::Transmit { text, .. } = ev {
            texts.push(text);
        }
    }
    assert_eq!(texts.len(), 3);
    assert!(texts.windows(2).all(|w| Arc::ptr_eq(&w[0], &w[1])));
}

/// A deterministic stream of uniform numbers in [0, 1) from `seed` (xorshift64).
fn uniform_from(mut rng: u64) -> impl FnMut() -> f64 {
    move || {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        (rng >> 11) as f64 / (1u64 << 53) as f64
    }
}

#[test]
fn clock_estimate_drops_slow_exchanges_and_takes_the_median() {
    let mut sync = ClockSync::default();
    assert!(sync.estimate().is_none());
    let true_offset = 12_345.0;
    // Symmetric jittered exchanges, plus every fifth delayed by a retransmission on the way back.
    let mut uniform = uniform_from(0x1234_5678_9abc_def0_u64);
    for i in 0..CLOCK_WINDOW {
        let sent = i as f64 * 100.0;
        let up = 10.0 + uniform() * 4.0;
        let down = 10.0 + uniform() * 4.0 + if i % 5 == 0 { 200.0 } else { 0.0 };
        sync.add(ClockSample::new(
            sent,
            sent + up + true_offset,
            sent + up + down,
        ));
    }
    let est = sync.estimate().unwrap();
    assert!((est.offset - true_offset).abs() < 0.5, "{est:?}");
    assert!(est.rtt >= 20.0 && est.rtt < 21.0, "{est:?}");
    assert!(est.uncertainty > 0.0 && est.uncertainty < 1.0, "{est:?}");
    sync.add(ClockSample {
        offset: f64::NAN,
        rtt: 1.0,
        at: 0.0,
    });
    assert_eq!(sync.len(), CLOCK_WINDOW);
    sync.reset();
    assert!(sync.is_empty());
}

#[test]
fn clock_estimate_follows_drift_through_loose_upper_bounds() {
    // A local clock 50 ppm slow against the server's, exchanges through 30 ms plus up to 40 ms
    // of jitter each way, as the client pings: every 500 ms for 45 s, then at intervals
    // doubling up to 16 s and 24 s by minute 18, to minute 21. Every exchange more than 10 s
    // after the last is stamped 2.5–10 ms late (the server woke first): the upper bounds of the
    // newest samples are loose, the lower ones are not. Over 100 such runs the estimate is
    // pulled little off the line on average (+0.27 ms; hull lines read apart, as the estimator
    // did before, +1.67 ms, rms 2.06 ms), and each run's error is small.
    let drift = 50e-6;
    let truth = |local: f64| 5_000.0 + drift * local;
    let mut uniform = uniform_from(0x0bad_5eed_u64);
    let (mut sum, mut squares) = (0.0, 0.0);
    let runs = 100;
    for _ in 0..runs {
        let mut sync = ClockSync::default();
        let mut sent = 0.0;
        while sent < 21.0 * 60_000.0 {
            let every = match sent / 1_000.0 {
                t if t < 45.0 => 500.0,
                t if t < 90.0 => 1_000.0,
                t if t < 180.0 => 2_000.0,
                t if t < 360.0 => 4_000.0,
                t if t < 720.0 => 8_000.0,
                t if t < 1_080.0 => 16_000.0,
                _ => 24_000.0,
            };
            let up = 30.0 + 40.0 * uniform();
            let wake = if every > 10_000.0 {
                2.5 + 7.5 * uniform()
            } else {
                0.0
            };
            let down = 30.0 + 40.0 * uniform();
            let stamped = sent + up + wake;
            sync.add(ClockSample::new(
                sent,
                stamped + truth(stamped),
                stamped + down,
            ));
            sent += every;
        }
        let est = sync.estimate().unwrap();
        let error = est.offset - truth(est.at);
        assert!(error.abs() < 3.0, "{error} ms off: {est:?}");
        assert!((est.drift - drift).abs() < 3e-6, "{est:?}");
        sum += error;
        squares += error * error;
    }
    let (mean, rms) = (sum / runs as f64, (squares / runs as f64).sqrt());
    eprintln!("{runs} runs: mean signed error {mean:+.3} ms, rms {rms:.3} ms");
    assert!(mean.abs() < 0.5, "mean signed error {mean} ms (rms {rms})");
    assert!(rms < 1.2, "rms {rms} ms (mean signed {mean})");
}

#[test]
fn sample_clock_removes_callback_jitter_and_follows_drift() {
    use keyboardia_core::clock::SampleClock;
    let rate = 48_000.0;
    // The device runs 30 ppm fast against the local clock; callbacks arrive 0–3 ms late.
    let true_ms = |pos: u64| 5_000.0 + pos as f64 * (1000.0 / rate) * (1.0 - 30e-6);
    let mut clock = SampleClock::new(rate);
    assert!(clock.local_ms_at(0).is_none());
    let mut rng = 99u64;
    let mut worst_raw: f64 = 0.0;
    for block in 0..4000u64 {
        let pos = block * 256;
        rng = rng
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let late = (rng >> 33) as f64 / (1u64 << 31) as f64 * 3.0;
        clock.observe(pos, true_ms(pos) + late);
        worst_raw = worst_raw.max(late);
    }
    let pos = 4000 * 256;
    // The line sits on the mean lateness (1.5 ms), a constant that the output-latency setting
    // absorbs; what matters is that the jitter around it is gone.
    let err = clock.local_ms_at(pos).unwrap() - true_ms(pos);
    assert!((err - 1.5).abs() < 0.2, "error {err} ms");
    let later = clock.local_ms_at(pos + 48_000).unwrap() - true_ms(pos + 48_000);
    assert!(
        (later - err).abs() < 0.05,
        "drift not followed: {err} then {later}"
    );
    assert!(worst_raw > 2.9);
}

#[test]
fn an_address_over_its_limit_stays_limited_however_many_others_come_and_go() {
    let mut r = room();
    join_from(&mut r, 1, "10.0.0.1", T0);
    let burst = r.config().burst as usize;
    for i in 1..burst {
        send(&mut r, 1, &ClientMessage::Ping { c: i as f64 }, T0);
    }
    // Thousands of other addresses connect, send one message and leave.
    for k in 0..3_000u64 {
        let conn = 1_000 + k;
        join_from(&mut r, conn, &format!("10.9.{}.{}", k / 256, k % 256), T0);
        r.handle_disconnect(conn, T0);
        drain(&mut r);
    }
    let out = send(&mut r, 1, &ClientMessage::Ping { c: 0.0 }, T0);
    assert_eq!(error_code(&out), Some(ErrorCode::RateLimited));
    let out = join_from(&mut r, 2, "10.0.0.1", T0);
    assert_eq!(out.closed, vec![(2, close_code::RATE_LIMITED)]);
}
