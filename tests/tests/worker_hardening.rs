//! Hardening of the real Worker under `wrangler dev` (issue 12, server part): refusals keep
//! their specific error code, hostile WAV uploads get a typed 4xx without a panic, bodies are
//! cut off while they stream, bursts and slow readers cannot swamp a room, silent sockets are
//! capped and timed out, and read-only sessions refuse anonymous uploads.

use keyboardia_core::protocol::{ClientMessage, ServerMessage, PROTOCOL_VERSION};
use keyboardia_core::{ErrorCode, Op, Session, SessionState, Track, TrackId, NAME_MAX_BYTES};
use keyboardia_tests::server::{Http, LiveClient, Server};

fn one_track() -> SessionState {
    let mut s = SessionState::default();
    s.tracks.push(Track::new(
        "kick".parse::<TrackId>().unwrap(),
        "Kick",
        "kick".parse().unwrap(),
    ));
    s
}

fn new_session(http: &Http, state: &SessionState) -> Session {
    let s = http.create_session();
    let saved = http.put(
        &s.id.to_string(),
        serde_json::to_string(state).unwrap().as_bytes(),
    );
    assert_eq!(saved.status, 200, "{}", saved.text());
    saved.session()
}

/// The next `error` message's code and op.
fn next_error(c: &mut LiveClient) -> (ErrorCode, Option<u32>) {
    match c.recv_until(|m| matches!(m, ServerMessage::Error(_))) {
        ServerMessage::Error(e) => (e.code, e.op),
        _ => unreachable!(),
    }
}

#[test]
fn refusals_keep_their_specific_code_over_rest_and_the_socket() {
    let server = Server::start();
    let http = server.http("10.0.6.1");
    let session = new_session(&http, &one_track());
    let id = session.id.to_string();
    let good = serde_json::to_value(one_track()).unwrap();

    // REST: a saved document whose track is wrong in one way each.
    let long_name = "n".repeat(NAME_MAX_BYTES + 1);
    let cases: [(&str, serde_json::Value, ErrorCode); 4] = [
        ("id", "KICK".into(), ErrorCode::InvalidId),
        ("instrument", "kazoo".into(), ErrorCode::UnknownInstrument),
        ("name", long_name.clone().into(), ErrorCode::InvalidName),
        ("on", "not hex".into(), ErrorCode::InvalidPattern),
    ];
    for (key, value, code) in &cases {
        let mut doc = good.clone();
        doc["tracks"][0][*key] = value.clone();
        let r = http.put(&id, doc.to_string().as_bytes());
        assert_eq!(r.status, 400, "{key}: {}", r.text());
        assert_eq!(r.code(), code.as_str(), "{key}: {}", r.text());
    }
    assert_eq!(
        http.get(&id).session().state,
        one_track(),
        "state unchanged"
    );

    // The live socket: the same refusals, each naming its op.
    let mut c = LiveClient::join(&server.base_url(), session.id, "ada");
    let track = Track::new("bass".parse().unwrap(), "B", "kick".parse().unwrap());
    let add = ClientMessage::Edit {
        op: 3,
        edit: Op::AddTrack {
            track: Box::new(track),
            index: None,
        },
    }
    .encode()
    .replace(r#""B""#, &format!("{long_name:?}"));
    let frames = [
        (
            r#"{"t":"inst","tr":"kick","v":"kazoo","op":1}"#.to_owned(),
            ErrorCode::UnknownInstrument,
        ),
        (
            r#"{"t":"step","tr":"KICK","s":0,"on":true,"op":2}"#.to_owned(),
            ErrorCode::InvalidId,
        ),
        (add, ErrorCode::InvalidName),
        (
            r#"{"t":"pattern","tr":"kick","len":16,"steps":{"on":"zz"},"op":4}"#.to_owned(),
            ErrorCode::InvalidPattern,
        ),
    ];
    for (i, (text, code)) in frames.iter().enumerate() {
        c.send_text(text);
        assert_eq!(next_error(&mut c), (*code, Some(i as u32 + 1)), "{text}");
    }
    // A hello whose name is too long.
    let mut d = LiveClient::open(&server.base_url(), &id, "").unwrap();
    d.send_text(&format!(
        r#"{{"t":"hello","proto":{PROTOCOL_VERSION},"name":"{long_name}"}}"#
    ));
    assert_eq!(next_error(&mut d), (ErrorCode::InvalidName, None));
    assert_eq!(
        http.get(&id).session().state,
        one_track(),
        "state unchanged"
    );
}
