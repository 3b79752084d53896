//! Pattern switches, song mode and the fill switch through the live room: stamped on the
//! shared timeline, the same for every player, and a late joiner lands on the right pattern,
//! bar and step.

use keyboardia_core::clock::Timeline;
use keyboardia_core::protocol::*;
use keyboardia_core::room::*;
use keyboardia_core::song::{step_of_beat, Arrangement, Play};
use keyboardia_core::*;

const T0: f64 = 1_700_000_000_000.0;

fn pt(s: &str) -> PatternId {
    s.parse().unwrap()
}

/// The demo with a second pattern (B: the kick on every beat, 32 steps on the bass) and a
/// song A ×2, B ×1.
fn two_pattern_state() -> SessionState {
    let mut s = SessionState::demo();
    s.apply(&Op::CopyPattern {
        from: PatternId::A,
        to: pt("B"),
    })
    .unwrap();
    s.apply(&Op::SetStepCount {
        tr: "lead".parse().unwrap(),
        v: 16,
        pt: pt("B"),
    })
    .unwrap();
    s.song = vec![
        SongEntry {
            pattern: PatternId::A,
            repeats: 2,
        },
        SongEntry {
            pattern: pt("B"),
            repeats: 1,
        },
    ];
    s
}

fn room() -> Room {
    let session = Session::new(
        SessionId::from_random_bytes([8; 16]),
        T0 as u64,
        two_pattern_state(),
    );
    Room::new(session, 0, Timeline::new(120.0, T0), RoomConfig::default())
}

/// Sends `msg` from `conn` and returns every timeline broadcast, by recipient.
fn send(
    room: &mut Room,
    conn: ConnId,
    msg: &ClientMessage,
    now: f64,
) -> Vec<(ConnId, ServerMessage)> {
    room.handle_message(conn, msg.encode().as_bytes(), now);
    let mut out = Vec::new();
    while let Some(ev) = room.poll_event() {
        if let RoomEvent::Transmit { to, text } = ev {
            out.push((to, decode_server(text.as_bytes()).unwrap()));
        }
    }
    out
}

fn join(room: &mut Room, conn: ConnId, now: f64) -> Timeline {
    room.handle_connect(conn, None, now);
    let hello = ClientMessage::Hello {
        proto: PROTOCOL_VERSION,
        name: format!("p{conn}"),
    };
    send(room, conn, &hello, now)
        .into_iter()
        .find_map(|(to, m)| match m {
            ServerMessage::Snapshot(s) if to == conn => Some(s.timeline),
            _ => None,
        })
        .expect("a snapshot")
}

fn timelines(out: &[(ConnId, ServerMessage)]) -> Vec<(ConnId, Timeline)> {
    out.iter()
        .filter_map(|(to, m)| match m {
            ServerMessage::Timeline(t) => Some((*to, *t)),
            _ => None,
        })
        .collect()
}

/// The step of the transport at server time `t`.
fn step_at(tl: &Timeline, t: f64) -> u64 {
    step_of_beat(tl.beat_at(t), tl.start_beat)
}

#[test]
fn a_cue_is_stamped_on_a_bar_line_and_a_late_joiner_lands_on_the_right_bar_and_step() {
    let mut r = room();
    join(&mut r, 1, T0);
    join(&mut r, 2, T0);
    send(&mut r, 1, &ClientMessage::Play, T0 + 10.0);
    let now = T0 + 3_000.0;
    let out = send(&mut r, 2, &ClientMessage::Cue { p: pt("B") }, now);
    let tls = timelines(&out);
    assert_eq!(tls.len(), 2, "both players hear the cue");
    assert_eq!(tls[0].1, tls[1].1, "the same stamp for everyone");
    let tl = tls[0].1;
    let cue = tl.playback.next.expect("queued");
    assert_eq!(cue.play, Play::Pattern(pt("B")));
    let at = step_of_beat(cue.at_beat, tl.start_beat);
    let lead_step = step_at(&tl, now + RoomConfig::default().start_lead_ms);
    assert_eq!(at % 16, 0, "a bar line");
    assert!(
        at >= lead_step && at < lead_step + 16,
        "the first bar after the lead"
    );
    let state = r.session().state.clone();
    let arr = Arrangement::of(&state);
    assert_eq!(
        tl.playback.run_at(&arr, tl.start_beat, at - 1).pattern,
        PatternId::A
    );
    assert_eq!(tl.playback.run_at(&arr, tl.start_beat, at).pattern, pt("B"));

    // A player who joins 37.3 s later gets the timeline in its snapshot and computes the same
    // pattern, bar and step as the room.
    let later = now + 37_300.0;
    let late = join(&mut r, 3, later);
    assert_eq!(late, *r.timeline());
    let step = step_at(&late, later);
    let view = late.playback.view(&arr, late.start_beat, step);
    assert_eq!(view.pattern, pt("B"));
    assert_eq!(view.origin, at);
    // 37.3 s at 120 BPM is 298.4 steps after the cue was sent.
    assert_eq!(step, step_at(&tl, now) + 298);
    let kick_len = r
        .session()
        .state
        .track("kick".parse().unwrap())
        .unwrap()
        .step_count_in(pt("B"));
    assert_eq!(
        keyboardia_core::song::step_in_run(step, view.origin, kick_len),
        ((step - at) % 16) as u8
    );
}

#[test]
fn song_mode_and_fill_are_stamped_and_persisted_with_the_timeline() {
    let mut r = room();
    join(&mut r, 1, T0);
    send(&mut r, 1, &ClientMessage::Play, T0);
    let now = T0 + 1_000.0;
    r.handle_message(
        1,
        ClientMessage::SongMode { on: true }.encode().as_bytes(),
        now,
    );
    let mut persisted = false;
    while let Some(ev) = r.poll_event() {
        persisted |= ev == RoomEvent::PersistTimeline;
    }
    assert!(
        persisted,
        "a stamped change is persisted before it is broadcast"
    );
    let tl = *r.timeline();
    let arr = Arrangement::of(&r.session().state);
    let song_at = step_of_beat(tl.playback.next.unwrap().at_beat, tl.start_beat);
    // The song: A (longest track 64 steps) twice, then B (32 steps) once.
    for (offset, pattern, entry, repeat) in [
        (0, "A", 0, 0),
        (64, "A", 0, 1),
        (128, "B", 1, 0),
        (160, "A", 0, 0),
    ] {
        let v = tl.playback.view(&arr, tl.start_beat, song_at + offset + 5);
        let pos = v.position.unwrap();
        assert_eq!(
            (v.pattern, pos.entry, pos.repeat, pos.step),
            (pt(pattern), entry, repeat, 5)
        );
    }
    // The fill switch lands on a step after the lead, for everyone.
    let out = send(&mut r, 1, &ClientMessage::Fill { on: true }, now + 5_000.0);
    let tl = timelines(&out)[0].1;
    let fill_step = step_of_beat(tl.playback.fill_beat, tl.start_beat);
    assert!(!tl.playback.fill_at(tl.start_beat, fill_step - 1));
    assert!(tl.playback.fill_at(tl.start_beat, fill_step));
    assert!(fill_step >= step_at(&tl, now + 5_000.0 + RoomConfig::default().start_lead_ms));
    // The JSON of the timeline carries it all, and reads back the same.
    let json = serde_json::to_string(&tl).unwrap();
    assert_eq!(serde_json::from_str::<Timeline>(&json).unwrap(), tl);
    // A timeline without patterns writes as before.
    let plain = serde_json::to_string(&Timeline::new(120.0, T0)).unwrap();
    assert!(!plain.contains("playback"), "{plain}");
}

#[test]
fn a_read_only_session_refuses_cues() {
    let mut session = Session::new(
        SessionId::from_random_bytes([8; 16]),
        T0 as u64,
        two_pattern_state(),
    );
    session.owner_id = Some("owner".into());
    session.mode = Mode::Readonly;
    let mut r = Room::new(session, 0, Timeline::new(120.0, T0), RoomConfig::default());
    join(&mut r, 1, T0);
    let before = *r.timeline();
    let out = send(&mut r, 1, &ClientMessage::Cue { p: pt("C") }, T0);
    assert!(out
        .iter()
        .any(|(_, m)| matches!(m, ServerMessage::Error(e) if e.code == ErrorCode::ReadOnly)));
    assert_eq!(*r.timeline(), before);
    // An unknown pattern is a typed error, never a panic.
    let e = decode_client(br#"{"t":"cue","p":"Z"}"#).unwrap_err();
    assert_eq!(e.code, ErrorCode::UnknownPattern);
}
