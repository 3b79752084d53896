//! The wire protocol: round trips, sizes, and the decoder's refusals.

use keyboardia_core::clock::Timeline;
use keyboardia_core::protocol::*;
use keyboardia_core::rate::RateLimit;
use keyboardia_core::*;
use proptest::prelude::*;

fn tr() -> TrackId {
    "kick".parse().unwrap()
}

#[test]
fn set_step_fits_in_64_bytes_at_its_largest() {
    let msg = ClientMessage::Edit {
        op: OpId::MAX,
        edit: Op::SetStep {
            pt: PatternId::A,
            tr: TrackId::from_random(u64::MAX),
            s: 63,
            on: false,
        },
    };
    let text = msg.encode();
    assert!(text.len() <= 64, "{} bytes: {text}", text.len());
    assert_eq!(decode_client(text.as_bytes()), Ok(msg));
}

#[test]
fn every_op_tag_is_known_to_the_decoder() {
    let t = Track::new(tr(), "K", "kick".parse().unwrap());
    let ops = vec![
        Op::SetStep {
            pt: PatternId::A,
            tr: tr(),
            s: 1,
            on: true,
        },
        Op::SetVelocity {
            pt: PatternId::A,
            tr: tr(),
            s: 1,
            v: 3,
        },
        Op::SetLock {
            pt: PatternId::A,
            tr: tr(),
            s: 1,
            lock: Lock::Volume(0.25),
        },
        Op::ClearLock {
            pt: PatternId::A,
            tr: tr(),
            s: 1,
            k: LockKind::Nudge,
        },
        Op::SetPattern {
            pt: PatternId::A,
            tr: tr(),
            len: 12,
            steps: Pattern(Box::new(t.steps)),
        },
        Op::AddTrack {
            track: Box::new(t.clone()),
            index: Some(0),
        },
        Op::DeleteTrack { tr: tr() },
        Op::MoveTrack { tr: tr(), to: 0 },
        Op::ClearTrack {
            pt: PatternId::A,
            tr: tr(),
        },
        Op::CopySequence {
            pt: PatternId::A,
            from: tr(),
            to: "hat".parse().unwrap(),
        },
        Op::SetStepCount {
            pt: PatternId::A,
            tr: tr(),
            v: 32,
        },
        Op::SetTempo { v: 128.0 },
        Op::SetSwing { v: 33.3 },
        Op::SetVolume { tr: tr(), v: 0.1 },
        Op::SetPan { tr: tr(), v: -0.3 },
        Op::SetName {
            tr: tr(),
            v: "Boom \"quoted\"".into(),
        },
        Op::SetInstrument {
            tr: tr(),
            v: "synth:pad".parse().unwrap(),
        },
        Op::SetCuts {
            tr: tr(),
            v: vec![0, 4_800, 9_601],
        },
        Op::SetColor {
            tr: tr(),
            v: Some(3),
        },
        Op::SetTrackSwing {
            tr: tr(),
            v: Some(37.5),
        },
        Op::SetTrackFx {
            tr: tr(),
            fx: TrackFxParam::Cutoff(812.5),
        },
        Op::SetSessionFx {
            fx: SessionFxParam::DelayTime(DelayTime::DottedEighth),
        },
        Op::CopyPattern {
            from: PatternId::A,
            to: "H".parse().unwrap(),
        },
        Op::ClearPattern {
            pt: "C".parse().unwrap(),
        },
        Op::SetPatternSlot {
            pt: "B".parse().unwrap(),
            v: vec![keyboardia_core::ops::SlotPart {
                tr: tr(),
                len: 24,
                steps: Pattern(Box::new(t.steps)),
            }],
        },
        Op::SetSong {
            v: vec![
                SongEntry {
                    pattern: PatternId::A,
                    repeats: 2,
                },
                SongEntry {
                    pattern: "B".parse().unwrap(),
                    repeats: 1,
                },
            ],
        },
        Op::SetSwitchAt {
            v: SwitchAt::LongestTrack,
        },
    ];
    assert_eq!(ops.len(), OP_TAGS.len());
    for (i, edit) in ops.into_iter().enumerate() {
        let msg = ClientMessage::Edit {
            op: i as u32,
            edit: edit.clone(),
        };
        let text = msg.encode();
        let tag: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert!(OP_TAGS.contains(&tag["t"].as_str().unwrap()), "{text}");
        assert_eq!(decode_client(text.as_bytes()), Ok(msg), "{text}");
        let b = ServerMessage::Applied(Broadcast {
            edit,
            seq: 9,
            by: 2,
            op: i as u32,
        });
        assert_eq!(decode_server(b.encode().as_bytes()), Ok(b));
    }
}

#[test]
fn control_messages_round_trip() {
    for msg in [
        ClientMessage::Hello {
            proto: PROTOCOL_VERSION,
            name: "Ada".into(),
        },
        ClientMessage::Ping { c: 1234.5 },
        ClientMessage::Play,
        ClientMessage::Stop,
    ] {
        assert_eq!(decode_client(msg.encode().as_bytes()), Ok(msg));
    }
    let session = Session::new(
        SessionId::from_random_bytes([3; 16]),
        5,
        SessionState::demo(),
    );
    let player = Player {
        id: 1,
        name: "Ada".into(),
        color: 2,
    };
    for msg in [
        ServerMessage::Snapshot(Box::new(Snapshot {
            seq: 7,
            you: 1,
            session,
            players: vec![player.clone()],
            timeline: Timeline::new(120.0, 1e12),
            rate: RateLimit {
                per_sec: 50.0,
                burst: 80.0,
            },
        })),
        ServerMessage::Error(ErrorMessage {
            code: ErrorCode::RoomFull,
            msg: "full".into(),
            op: Some(3),
        }),
        ServerMessage::Join { player },
        ServerMessage::Leave { id: 4 },
        ServerMessage::Pong { c: 1.5, s: 1.7e12 },
        ServerMessage::Timeline(Timeline::new(90.0, 0.0)),
        ServerMessage::SampleAdded {
            id: "abc".parse().unwrap(),
            name: "vox".into(),
            url: "/api/x".into(),
            by: 0,
        },
    ] {
        assert_eq!(decode_server(msg.encode().as_bytes()), Ok(msg));
    }
}

#[test]
fn decoder_refusals_are_typed() {
    let cases: &[(&[u8], ErrorCode)] = &[
        (b"", ErrorCode::Malformed),
        (b"not json", ErrorCode::Malformed),
        (b"[1,2]", ErrorCode::Malformed),
        (b"{}", ErrorCode::Malformed),
        (br#"{"t":5}"#, ErrorCode::Malformed),
        (br#"{"t":"dance"}"#, ErrorCode::UnknownType),
        (
            br#"{"t":"step","tr":"kick","s":4,"on":true}"#,
            ErrorCode::Malformed,
        ), // no op id
        (
            br#"{"t":"step","tr":"KICK","s":4,"on":true,"op":1}"#,
            ErrorCode::InvalidId,
        ), // bad id: keeps its code (issue 12)
        (
            br#"{"t":"step","tr":"kick","s":300,"on":true,"op":1}"#,
            ErrorCode::Malformed,
        ), // not a u8
        (
            br#"{"t":"step","tr":"kick","s":-1,"on":true,"op":1}"#,
            ErrorCode::Malformed,
        ),
        (
            br#"{"t":"step","tr":"kick","s":4,"on":"yes","op":1}"#,
            ErrorCode::Malformed,
        ),
        (br#"{"t":"tempo","v":NaN,"op":1}"#, ErrorCode::Malformed),
        (br#"{"t":"tempo","v":"fast","op":1}"#, ErrorCode::Malformed),
        (
            br#"{"t":"inst","tr":"kick","v":"banjo","op":1}"#,
            ErrorCode::UnknownInstrument,
        ),
        (br#"{"t":"hello","proto":1}"#, ErrorCode::Malformed),
        (
            br#"{"t":"hello","proto":1,"name":"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"}"#,
            ErrorCode::InvalidName,
        ),
        (br#"{"t":"ping","c":"x"}"#, ErrorCode::Malformed),
    ];
    for (bytes, code) in cases {
        let err = decode_client(bytes).expect_err(&String::from_utf8_lossy(bytes));
        assert_eq!(err.code, *code, "{}: {err}", String::from_utf8_lossy(bytes));
    }
    let huge = format!(
        r#"{{"t":"name","tr":"kick","v":"{}","op":1}}"#,
        "a".repeat(MAX_CLIENT_MESSAGE_BYTES)
    );
    assert_eq!(
        decode_client(huge.as_bytes()).unwrap_err().code,
        ErrorCode::TooLarge
    );
    assert_eq!(
        decode_server(br#"{"t":"dance"}"#).unwrap_err().code,
        ErrorCode::UnknownType
    );
    assert_eq!(
        decode_server(br#"{"t":"pong"}"#).unwrap_err().code,
        ErrorCode::Malformed
    );
}

#[test]
fn error_codes_are_unique_and_stable() {
    let mut seen = std::collections::HashSet::new();
    for c in ErrorCode::ALL {
        assert!(seen.insert(c.as_str()), "duplicate {c}");
        assert_eq!(
            serde_json::to_string(c).unwrap(),
            format!("\"{}\"", c.as_str())
        );
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
        let _ = decode_client(&bytes);
        let _ = decode_server(&bytes);
    }

    #[test]
    fn arbitrary_json_like_text_never_panics(
        tag in prop::sample::select(vec!["step", "vel", "lock", "pattern", "add_track", "hello", "ping", "snapshot", "x"]),
        body in "[ -~]{0,120}",
    ) {
        let text = format!(r#"{{"t":"{tag}",{body}}}"#);
        let _ = decode_client(text.as_bytes());
        let _ = decode_server(text.as_bytes());
    }
}
