//! A claim and a lock while the room is live (core's `access` rule, the room applying it):
//! persisted, announced to every player in a snapshot, and enforced on the next edit.

use keyboardia_core::access::AccessError;
use keyboardia_core::clock::Timeline;
use keyboardia_core::protocol::*;
use keyboardia_core::room::*;
use keyboardia_core::*;

const T0: f64 = 1_700_000_000_000.0;
const ADA: &str = "u_0123456789abcdef0123456789abcdef";

fn drain(room: &mut Room) -> (Vec<u64>, Vec<(ConnId, ServerMessage)>) {
    let (mut persisted, mut sent) = (Vec::new(), Vec::new());
    while let Some(ev) = room.poll_event() {
        match ev {
            RoomEvent::Persist { seq, .. } => persisted.push(seq),
            RoomEvent::Transmit { to, text } => {
                sent.push((to, decode_server(text.as_bytes()).unwrap()))
            }
            _ => {}
        }
    }
    (persisted, sent)
}

fn join(room: &mut Room, conn: ConnId, user: Option<&str>) {
    room.handle_connect(conn, user.map(str::to_owned), T0);
    let hello = ClientMessage::Hello {
        proto: PROTOCOL_VERSION,
        name: format!("p{conn}"),
    };
    room.handle_message(conn, hello.encode().as_bytes(), T0);
    drain(room);
}

fn tempo(room: &mut Room, conn: ConnId, v: f64) -> Option<ErrorCode> {
    let edit = ClientMessage::Edit {
        op: 1,
        edit: Op::SetTempo { v },
    };
    room.handle_message(conn, edit.encode().as_bytes(), T0);
    drain(room).1.into_iter().find_map(|(to, m)| match m {
        ServerMessage::Error(e) if to == conn => Some(e.code),
        _ => None,
    })
}

#[test]
fn claim_then_lock_while_live() {
    let session = Session::new(
        SessionId::from_random_bytes([3; 16]),
        0,
        SessionState::demo(),
    );
    let mut r = Room::new(session, 0, Timeline::new(118.0, T0), RoomConfig::default());
    join(&mut r, 1, None); // a friend, anonymous
    join(&mut r, 2, Some(ADA)); // Ada, signed in (her ticket)
    assert_eq!(
        tempo(&mut r, 1, 100.0),
        None,
        "collaborative: everyone edits"
    );

    // Claims: once, by a signed-in user.
    let refused = r.change_access(T0, |s| access::claim(s, None));
    assert_eq!(refused, Err(AccessError::SignInRequired));
    assert_eq!(
        drain(&mut r).0,
        Vec::<u64>::new(),
        "a refusal changes nothing"
    );
    r.change_access(T0, |s| access::claim(s, Some(ADA)))
        .unwrap();
    let (persisted, sent) = drain(&mut r);
    assert_eq!(persisted, vec![r.seq()]);
    assert_eq!(sent.len(), 2, "a snapshot to each player");
    assert_eq!(
        r.change_access(T0, |s| access::claim(s, Some(ADA))),
        Err(AccessError::AlreadyOwned)
    );

    // The lock: only the owner; every player hears it; the friend's edits are refused.
    assert_eq!(
        r.change_access(T0, |s| access::set_mode(s, None, Mode::Readonly)),
        Err(AccessError::SignInRequired)
    );
    r.change_access(T0, |s| access::set_mode(s, Some(ADA), Mode::Readonly))
        .unwrap();
    let (_, sent) = drain(&mut r);
    for (_, m) in &sent {
        match m {
            ServerMessage::Snapshot(s) => {
                assert_eq!(s.session.mode, Mode::Readonly);
                assert_eq!(s.session.owner_id.as_deref(), Some(ADA));
            }
            m => panic!("expected a snapshot, got {m:?}"),
        }
    }
    assert_eq!(tempo(&mut r, 1, 90.0), Some(ErrorCode::ReadOnly));
    assert_eq!(tempo(&mut r, 2, 90.0), None, "the owner edits");
    assert_eq!(r.session().state.tempo, 90.0);
}
