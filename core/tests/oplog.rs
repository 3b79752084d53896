//! The op log's entries (issue 18): replaying what a room logged gives its session.

use keyboardia_core::clock::Timeline;
use keyboardia_core::model::{SessionId, SessionState, Track};
use keyboardia_core::oplog::{LoggedEdit, ReplayError};
use keyboardia_core::ops::Op;
use keyboardia_core::protocol::{ClientMessage, PROTOCOL_VERSION};
use keyboardia_core::room::{Room, RoomConfig, RoomEvent};
use keyboardia_core::{PatternId, Session};

fn session() -> Session {
    let mut state = SessionState::default();
    for t in 0..2 {
        let id = format!("t{t}").parse().unwrap();
        state
            .tracks
            .push(Track::new(id, format!("T{t}"), "kick".parse().unwrap()));
    }
    Session::new(SessionId::from_random_bytes([7; 16]), 5, state)
}

fn edit(room: &mut Room, op: u32, edit: Op, now: f64) {
    let text = ClientMessage::Edit { op, edit }.encode();
    room.handle_message(1, text.as_bytes(), now);
}

/// The logged edits, replayed over the document the room started from, give the room's
/// session; refused edits log nothing; a whole-document change logs no edit.
#[test]
fn replaying_the_logged_edits_gives_the_rooms_session() {
    let start = session();
    let mut room = Room::new(
        start.clone(),
        40,
        Timeline::new(120.0, 0.0),
        RoomConfig::default(),
    );
    room.handle_connect(1, None, 0.0);
    let hello = ClientMessage::Hello {
        proto: PROTOCOL_VERSION,
        name: "a".into(),
    };
    room.handle_message(1, hello.encode().as_bytes(), 0.0);
    let t0 = "t0".parse().unwrap();
    edit(
        &mut room,
        1,
        Op::SetStep {
            tr: t0,
            s: 3,
            on: true,
            pt: PatternId::A,
        },
        100.0,
    );
    edit(&mut room, 2, Op::SetTempo { v: 97.0 }, 200.0);
    edit(
        &mut room,
        3,
        Op::SetStep {
            tr: "zz".parse().unwrap(),
            s: 0,
            on: true,
            pt: PatternId::A,
        },
        300.0,
    );
    edit(&mut room, 4, Op::SetSwing { v: 20.0 }, 400.0);
    edit(
        &mut room,
        5,
        Op::SetStep {
            tr: t0,
            s: 3,
            on: true,
            pt: PatternId::A,
        },
        500.0,
    );
    let mut log = Vec::new();
    while let Some(e) = room.poll_event() {
        if let RoomEvent::Persist { seq, edit } = e {
            let edit = edit.expect("an edit is logged");
            log.push((seq, edit));
        }
    }
    assert_eq!(
        log.iter().map(|(s, _)| *s).collect::<Vec<_>>(),
        [41, 42, 43, 44]
    );
    let mut s = start.clone();
    let mut seq = 40;
    for (_, e) in &log {
        seq = LoggedEdit::replay(&mut s, seq, &e.text, e.at_ms).unwrap();
    }
    assert_eq!((&s, seq), (room.session(), room.seq()));
    assert_eq!(s.updated_at, 400, "the last edit changed nothing");

    // Out of order, twice, or not an edit: typed errors, the session unchanged.
    let before = s.clone();
    let (_, first) = &log[0];
    assert_eq!(
        LoggedEdit::replay(&mut s, seq, &first.text, 0),
        Err(ReplayError::OutOfOrder { seq, got: 41 })
    );
    assert!(matches!(
        LoggedEdit::replay(&mut s, seq, r#"{"t":"leave","id":1}"#, 0),
        Err(ReplayError::Decode(_))
    ));
    assert!(matches!(
        LoggedEdit::replay(&mut s, seq, "{", 0),
        Err(ReplayError::Decode(_))
    ));
    assert_eq!(s, before);

    // A save is a whole-document change.
    room.replace_state(start.state.clone(), 600.0);
    let persisted: Vec<_> = std::iter::from_fn(|| room.poll_event())
        .filter_map(|e| match e {
            RoomEvent::Persist { seq, edit } => Some((seq, edit.is_none())),
            _ => None,
        })
        .collect();
    assert_eq!(persisted, [(45, true)]);
}
