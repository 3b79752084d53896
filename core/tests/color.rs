//! A track's colour: a palette index a player picks (synced like the other track settings), or
//! none for its sound family's colour; validated, undoable, and absent from documents that never
//! set one (so documents from before colours existed load unchanged).

use keyboardia_core::error::{Field, OpError};
use keyboardia_core::{Op, SessionState, Track, TRACK_COLORS};

#[test]
fn set_color_is_validated_undoable_and_round_trips() {
    let mut state = SessionState::demo();
    let tr = state.tracks[0].id;
    assert_eq!(state.tracks[0].color, None);
    let before = state.clone();

    let applied = state.apply(&Op::SetColor { tr, v: Some(5) }).unwrap();
    assert_eq!(state.tracks[0].color, Some(5));
    let json = serde_json::to_string(&state.tracks[0]).unwrap();
    assert!(json.contains(r#""color":5"#), "{json}");
    let back: Track = serde_json::from_str(&json).unwrap();
    assert_eq!(back, state.tracks[0]);
    state.apply(&applied.undo).unwrap();
    assert_eq!(state, before);

    // Out of the palette: refused, nothing changes.
    assert_eq!(
        state.apply(&Op::SetColor {
            tr,
            v: Some(TRACK_COLORS)
        }),
        Err(OpError::OutOfRange(Field::Color))
    );
    assert_eq!(state, before);
    let mut bad: serde_json::Value = serde_json::to_value(&state.tracks[0]).unwrap();
    bad["color"] = TRACK_COLORS.into();
    assert!(serde_json::from_value::<Track>(bad).is_err());

    // The wire form, and `null` (or no `v`) goes back to the family colour.
    let op = Op::SetColor { tr, v: Some(2) };
    let wire = serde_json::to_string(&op).unwrap();
    assert_eq!(wire, format!(r#"{{"t":"color","tr":"{tr}","v":2}}"#));
    let none: Op = serde_json::from_str(&format!(r#"{{"t":"color","tr":"{tr}"}}"#)).unwrap();
    assert_eq!(none, Op::SetColor { tr, v: None });
}

#[test]
fn documents_without_colours_read_and_write_as_before() {
    let state = SessionState::demo();
    let json = serde_json::to_string(&state).unwrap();
    assert!(!json.contains("color"), "no key unless a colour was picked");
    let old = r#"{"id":"kick","name":"Kick","instrument":"kick","volume":0.8,"pan":0.0,"stepCount":16,"on":"8888000000000000"}"#;
    let t: Track = serde_json::from_str(old).unwrap();
    assert_eq!(t.color, None);
    assert_eq!(serde_json::to_string(&t).unwrap(), old);
}
