//! Patterns A–H and the song: the document form (old documents unchanged, empty patterns left
//! out), the ops that name a pattern and their undo, validation, memory and size limits.

use keyboardia_core::ops::SlotPart;
use keyboardia_core::protocol::{decode_client, ClientMessage, MAX_CLIENT_MESSAGE_BYTES};
use keyboardia_core::schema::{session_from_json, session_to_json, MAX_DOCUMENT_BYTES};
use keyboardia_core::*;

fn id(s: &str) -> TrackId {
    s.parse().unwrap()
}

fn pt(s: &str) -> PatternId {
    s.parse().unwrap()
}

fn two_tracks() -> SessionState {
    let mut s = SessionState::default();
    for name in ["kick", "hat"] {
        s.tracks.push(Track::new(
            id(name),
            name,
            name.parse().unwrap_or_else(|_| "kick".parse().unwrap()),
        ));
    }
    s
}

/// Applies `op`, checks that its undo puts the state back exactly, re-applies it and returns the
/// change.
fn apply_and_check_undo(state: &mut SessionState, op: &Op) -> Change {
    let before = state.clone();
    let applied = state.apply(op).expect("op accepted");
    let after = state.clone();
    state.apply(&applied.undo).expect("undo accepted");
    assert_eq!(*state, before, "undo of {op:?}");
    state.apply(op).unwrap();
    assert_eq!(*state, after);
    applied.change
}

#[test]
fn a_step_op_edits_only_the_pattern_it_names() {
    let mut s = two_tracks();
    let on_b = Op::SetStep {
        tr: id("kick"),
        s: 5,
        on: true,
        pt: pt("B"),
    };
    let change = apply_and_check_undo(&mut s, &on_b);
    assert_eq!(
        change,
        Change::Step {
            track: id("kick"),
            step: 5
        }
    );
    let kick = s.track(id("kick")).unwrap();
    assert!(kick.steps_in(pt("B"))[5].on);
    assert!(!kick.steps[5].on, "pattern A untouched");
    assert!(!kick.steps_in(pt("C"))[5].on);
    assert!(s.pattern_in_use(pt("B")));
    assert!(!s.pattern_in_use(pt("C")));
    assert_eq!(on_b.pattern(), Some(pt("B")));

    // Every kind of step op, on B, with its undo.
    let ops = [
        Op::SetVelocity {
            tr: id("kick"),
            s: 5,
            v: 20,
            pt: pt("B"),
        },
        Op::SetLock {
            tr: id("kick"),
            s: 5,
            lock: Lock::Pitch(7),
            pt: pt("B"),
        },
        Op::ClearLock {
            tr: id("kick"),
            s: 5,
            k: LockKind::Pitch,
            pt: pt("B"),
        },
        Op::SetStepCount {
            tr: id("kick"),
            v: 12,
            pt: pt("B"),
        },
        Op::CopySequence {
            from: id("kick"),
            to: id("hat"),
            pt: pt("B"),
        },
        Op::ClearTrack {
            tr: id("kick"),
            pt: pt("B"),
        },
    ];
    for op in &ops {
        apply_and_check_undo(&mut s, op);
    }
    let kick = s.track(id("kick")).unwrap();
    let hat = s.track(id("hat")).unwrap();
    assert_eq!(kick.step_count, 16, "A's length untouched");
    assert_eq!(hat.step_count_in(pt("B")), 12);
    assert!(hat.steps_in(pt("B"))[5].on);
    assert_eq!(hat.steps_in(pt("B"))[5].velocity, 20);
    // The cleared kick's B is empty again, and stored as nothing.
    assert_eq!(kick.step_count_in(pt("B")), 12);
    assert!(!kick.steps_in(pt("B"))[5].on);
}

#[test]
fn an_empty_part_is_stored_as_nothing() {
    let mut s = two_tracks();
    let on = |v| Op::SetStep {
        tr: id("kick"),
        s: 0,
        on: v,
        pt: pt("D"),
    };
    s.apply(&on(true)).unwrap();
    assert!(s.track(id("kick")).unwrap().other_patterns[2].is_some());
    s.apply(&on(false)).unwrap();
    assert_eq!(
        s,
        two_tracks(),
        "switching the step back off leaves nothing stored"
    );
    // A no-op edit of an empty part stores nothing either.
    s.apply(&on(false)).unwrap();
    assert_eq!(s, two_tracks());
}

#[test]
fn ops_on_pattern_a_read_and_write_as_before() {
    let old = r#"{"t":"step","tr":"kick","s":4,"on":true}"#;
    let op: Op = serde_json::from_str(old).unwrap();
    assert_eq!(
        op,
        Op::SetStep {
            tr: id("kick"),
            s: 4,
            on: true,
            pt: PatternId::A
        }
    );
    assert_eq!(serde_json::to_string(&op).unwrap(), old);
    let on_b = Op::SetStep {
        tr: id("kick"),
        s: 4,
        on: true,
        pt: pt("B"),
    };
    assert_eq!(
        serde_json::to_string(&on_b).unwrap(),
        r#"{"t":"step","tr":"kick","s":4,"on":true,"pt":"B"}"#
    );
    // An unknown pattern is a typed refusal with the op id echoed.
    let e =
        decode_client(br#"{"t":"step","tr":"kick","s":4,"on":true,"pt":"I","op":9}"#).unwrap_err();
    assert_eq!(e.code, ErrorCode::UnknownPattern);
    let e = decode_client(br#"{"t":"song","v":[{"p":"Q","n":1}],"op":9}"#).unwrap_err();
    assert_eq!(e.code, ErrorCode::UnknownPattern);
}

#[test]
fn copy_clear_and_replace_a_pattern_with_undo() {
    let mut s = two_tracks();
    for (tr, step) in [("kick", 0), ("kick", 8), ("hat", 2)] {
        s.apply(&Op::SetStep {
            tr: id(tr),
            s: step,
            on: true,
            pt: PatternId::A,
        })
        .unwrap();
    }
    s.apply(&Op::SetStepCount {
        tr: id("hat"),
        v: 12,
        pt: PatternId::A,
    })
    .unwrap();
    // Something in C on the kick, which the copy must overwrite, and on the hat's E.
    s.apply(&Op::SetStep {
        tr: id("kick"),
        s: 3,
        on: true,
        pt: pt("C"),
    })
    .unwrap();
    let copy = Op::CopyPattern {
        from: PatternId::A,
        to: pt("C"),
    };
    assert_eq!(
        apply_and_check_undo(&mut s, &copy),
        Change::PatternSlot { pattern: pt("C") }
    );
    for t in &s.tracks {
        assert_eq!(t.part(pt("C")), t.part(PatternId::A), "{}", t.id);
    }
    assert_eq!(s.pattern_steps(pt("C")), 16);
    assert_eq!(
        s.apply(&Op::CopyPattern {
            from: pt("C"),
            to: pt("C")
        }),
        Err(OpError::SamePattern)
    );
    let clear = Op::ClearPattern { pt: PatternId::A };
    assert_eq!(
        apply_and_check_undo(&mut s, &clear),
        Change::PatternSlot {
            pattern: PatternId::A
        }
    );
    assert!(!s.pattern_in_use(PatternId::A));
    assert!(s.pattern_in_use(pt("C")));
    // Clearing an empty pattern changes nothing.
    assert_eq!(
        s.apply(&Op::ClearPattern { pt: pt("H") }).unwrap().change,
        Change::Nothing
    );
    // A replace naming an unknown track, or a track twice, is refused and changes nothing.
    let part = SlotPart {
        tr: id("kick"),
        len: 16,
        steps: Pattern(Box::new(*s.track(id("kick")).unwrap().steps_in(pt("C")))),
    };
    let before = s.clone();
    let mut ghost = part.clone();
    ghost.tr = id("ghost");
    assert_eq!(
        s.apply(&Op::SetPatternSlot {
            pt: pt("B"),
            v: vec![part.clone(), ghost]
        }),
        Err(OpError::UnknownTrack(id("ghost")))
    );
    assert_eq!(
        s.apply(&Op::SetPatternSlot {
            pt: pt("B"),
            v: vec![part.clone(), part.clone()]
        }),
        Err(OpError::InvalidPattern)
    );
    let mut bad_len = part;
    bad_len.len = 0;
    assert_eq!(
        s.apply(&Op::SetPatternSlot {
            pt: pt("B"),
            v: vec![bad_len]
        }),
        Err(OpError::OutOfRange(Field::StepCount))
    );
    assert_eq!(s, before);
}

#[test]
fn the_song_and_the_switch_setting_are_validated_undoable_ops() {
    let mut s = two_tracks();
    let song = vec![
        SongEntry {
            pattern: PatternId::A,
            repeats: 2,
        },
        SongEntry {
            pattern: pt("B"),
            repeats: 1,
        },
    ];
    let set = Op::SetSong { v: song.clone() };
    assert_eq!(apply_and_check_undo(&mut s, &set), Change::Song);
    assert_eq!(s.song, song);
    assert_eq!(s.apply(&set).unwrap().change, Change::Nothing);
    let before = s.clone();
    let zero = Op::SetSong {
        v: vec![SongEntry {
            pattern: pt("B"),
            repeats: 0,
        }],
    };
    assert_eq!(s.apply(&zero), Err(OpError::OutOfRange(Field::Repeats)));
    let too_many = Op::SetSong {
        v: vec![
            SongEntry {
                pattern: pt("B"),
                repeats: *SONG_REPEATS_RANGE.end() + 1,
            };
            1
        ],
    };
    assert_eq!(s.apply(&too_many), Err(OpError::OutOfRange(Field::Repeats)));
    let long = Op::SetSong {
        v: vec![song[0]; MAX_SONG_ENTRIES + 1],
    };
    assert_eq!(s.apply(&long), Err(OpError::SongTooLong));
    assert_eq!(s, before);
    let switch = Op::SetSwitchAt {
        v: SwitchAt::LongestTrack,
    };
    assert_eq!(apply_and_check_undo(&mut s, &switch), Change::SwitchAt);
    assert_eq!(
        serde_json::to_string(&switch).unwrap(),
        r#"{"t":"switch_at","v":"longest"}"#
    );
}

#[test]
fn a_document_with_patterns_and_a_song_round_trips_compactly() {
    let mut s = two_tracks();
    s.apply(&Op::SetStep {
        tr: id("hat"),
        s: 1,
        on: true,
        pt: pt("B"),
    })
    .unwrap();
    s.apply(&Op::SetStepCount {
        tr: id("hat"),
        v: 32,
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
            repeats: 3,
        },
    ];
    s.switch_at = SwitchAt::LongestTrack;
    let json = serde_json::to_string(&s).unwrap();
    assert!(
        json.contains(r#""pats":{"B":{"len":32,"on":"4000000000000000"}}"#),
        "{json}"
    );
    assert_eq!(
        json.matches("pats").count(),
        1,
        "the kick's empty parts are left out"
    );
    assert!(json.ends_with(r#""song":[{"p":"A","n":2},{"p":"B","n":3}],"switchAt":"longest"}"#));
    let back: SessionState = serde_json::from_str(&json).unwrap();
    assert_eq!(back, s);
    assert_eq!(s.pattern_steps(pt("B")), 32);
    // A part for A inside "pats" is refused: A is the track's own steps.
    let bad = json.replace(r#""pats":{"B""#, r#""pats":{"A""#);
    assert!(serde_json::from_str::<SessionState>(&bad).is_err());
    // An old document (one pattern, no song) writes without any of the new keys.
    let old = serde_json::to_string(&SessionState::demo()).unwrap();
    for key in ["pats", "song", "switchAt", "\"pt\""] {
        assert!(!old.contains(key), "{key}");
    }
}

/// B–H empty cost a track 7 pointers, not 7 × 64 steps.
#[test]
fn empty_patterns_cost_a_track_seven_pointers() {
    let steps = std::mem::size_of::<Steps>();
    let track = std::mem::size_of::<Track>();
    let others = std::mem::size_of::<OtherPatterns>();
    assert_eq!(others, 7 * std::mem::size_of::<usize>());
    assert!(track < steps + 256, "track {track} bytes, steps {steps}");
}

/// Every step of `part` on, at the least default velocity, with every lock at its longest text.
fn worst_steps() -> Steps {
    let mut steps = [Step::default(); MAX_STEPS];
    for st in &mut steps {
        st.on = true;
        st.velocity = 1;
        st.locks = Locks {
            pitch: Some(-24),
            volume: Some(0.123_456_79),
            probability: Some(99),
            nudge: Some(-49),
            ratchet: Some(8),
            slice: Some(63),
            condition: Some("!fill".parse().unwrap()),
            cutoff_hz: Some(12_345.679),
            reverb_send: Some(0.123_456_79),
            delay_send: Some(0.123_456_79),
        };
    }
    steps
}

/// A full 8-pattern session at its worst (16 tracks, every step of every pattern on and
/// locked, a 64-entry song) is a document the REST API and KV take, and the undo of clearing
/// its worst pattern is a message the room takes.
#[test]
fn a_full_eight_pattern_session_fits_the_size_limits() {
    let mut s = SessionState::default();
    let worst = worst_steps();
    for i in 0..MAX_TRACKS {
        let mut t = Track::new(
            format!("t{i:07}").parse().unwrap(),
            "n".repeat(NAME_MAX_BYTES),
            "synth:acid".parse().unwrap(),
        );
        t.step_count = 63;
        t.steps = worst;
        for part in t.other_patterns.iter_mut() {
            *part = Some(Box::new(TrackPattern {
                step_count: 63,
                steps: worst,
            }));
        }
        s.tracks.push(t);
    }
    s.song = vec![
        SongEntry {
            pattern: pt("H"),
            repeats: 64,
        };
        MAX_SONG_ENTRIES
    ];
    s.validate().unwrap();
    let session = Session::new(
        SessionId::from_random_bytes([9; 16]),
        1_700_000_000_000,
        s.clone(),
    );
    let doc = session_to_json(&session);
    println!("worst 8-pattern document: {} bytes", doc.len());
    assert!(doc.len() <= MAX_DOCUMENT_BYTES, "{} bytes", doc.len());
    assert_eq!(session_from_json(doc.as_bytes()).unwrap(), session);
    let undo = s.apply(&Op::ClearPattern { pt: pt("H") }).unwrap().undo;
    let msg = ClientMessage::Edit {
        op: u32::MAX,
        edit: undo,
    }
    .encode();
    println!("undo of clearing the worst pattern: {} bytes", msg.len());
    assert!(msg.len() <= MAX_CLIENT_MESSAGE_BYTES, "{} bytes", msg.len());
    assert!(decode_client(msg.as_bytes()).is_ok());
}
