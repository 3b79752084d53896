//! Versioned documents: current version round-trips, versions 1 (no seed) and 0 (the web
//! original) migrate, unknown future versions and invalid documents are refused.

use keyboardia_core::schema::*;
use keyboardia_core::*;

#[test]
fn demo_session_round_trips_byte_identically() {
    let s = Session::new(
        SessionId::from_random_bytes([5; 16]),
        1_700_000_000_000,
        SessionState::demo(),
    );
    let json = session_to_json(&s);
    let back = session_from_json(json.as_bytes()).unwrap();
    assert_eq!(back, s);
    assert_eq!(session_to_json(&back), json);
}

/// A sliced sample track: cuts and slice locks round-trip in their compact form, and a track
/// without cuts writes no `cuts` key, so documents from before slices read and write unchanged.
#[test]
fn slices_round_trip_and_documents_without_them_are_unchanged() {
    let mut state = SessionState::demo();
    let before = serde_json::to_string(&state).unwrap();
    assert!(!before.contains("cuts") && !before.contains(r#""sl""#));
    let mut t = Track::new(
        "take".parse().unwrap(),
        "Take 1",
        "sample:rec-1".parse().unwrap(),
    );
    t.cuts = vec![120, 4_800, 9_600];
    t.steps[0].on = true;
    t.steps[0].locks.slice = Some(2);
    t.steps[5].locks.slice = Some(63);
    state.tracks.push(t);
    let json = serde_json::to_string(&state).unwrap();
    assert!(
        json.contains(r#""x":[{"s":0,"sl":2},{"s":5,"sl":63}],"cuts":[120,4800,9600]}"#),
        "{json}"
    );
    let back = state_from_json(json.as_bytes()).unwrap();
    assert_eq!(back, state);
    assert_eq!(serde_json::to_string(&back).unwrap(), json);
    // Removing the track gives back the document's exact old bytes.
    let mut back = back;
    back.tracks.pop();
    assert_eq!(serde_json::to_string(&back).unwrap(), before);

    // Cut points out of order, repeated, too many, or a slice lock past 63: refused with the
    // typed error's message (a track inside a document is checked while it is parsed).
    let bad = |from: &str, to: &str| state_from_json(json.replace(from, to).as_bytes());
    let refused = |r: Result<SessionState, SchemaError>, e: OpError| {
        assert!(
            matches!(&r, Err(SchemaError::Json(m)) if m.contains(&e.to_string())),
            "{r:?} is not {e}"
        );
    };
    refused(bad("[120,4800,9600]", "[4800,120]"), OpError::InvalidCuts);
    refused(bad("[120,4800,9600]", "[120,120]"), OpError::InvalidCuts);
    let many = format!(
        "[{}]",
        (0..65).map(|i| i.to_string()).collect::<Vec<_>>().join(",")
    );
    refused(
        bad("[120,4800,9600]", &many),
        OpError::OutOfRange(Field::Cuts),
    );
    refused(
        bad(r#""sl":63"#, r#""sl":64"#),
        OpError::OutOfRange(Field::Lock(LockKind::Slice)),
    );
    assert!(matches!(
        bad("[120,4800,9600]", "[-1]"),
        Err(SchemaError::Json(_))
    ));
}

#[test]
fn full_session_is_compact() {
    // 16 tracks × 64 steps, half the steps on, a quarter of those with locks.
    let mut state = SessionState::default();
    for i in 0..MAX_TRACKS {
        let mut t = Track::new(
            TrackId::from_random(i as u64 + 1),
            format!("Track {i}"),
            "kick".parse().unwrap(),
        );
        t.step_count = 64;
        for s in (0..64).step_by(2) {
            t.steps[s].on = true;
            if s % 8 == 0 {
                t.steps[s].locks.pitch = Some(-12);
                t.steps[s].velocity = 90;
            }
        }
        state.tracks.push(t);
    }
    state.validate().unwrap();
    let json = session_to_json(&Session::new(
        SessionId::from_random_bytes([1; 16]),
        0,
        state,
    ));
    assert!(json.len() <= 8 * 1024, "{} bytes", json.len());
}

#[test]
fn version_0_documents_from_the_web_app_migrate() {
    let v0 = r#"{
        "id": "6f2d8bcd-0b14-46ae-9f2d-8bcd0b1476ae",
        "createdAt": 1, "updatedAt": 2, "forkedFrom": null,
        "state": {
            "tempo": 250, "swing": 30,
            "tracks": [
                {"id": "track-1700000000-kick", "name": "Kick", "sampleId": "kick",
                 "steps": [true,false,false,false,true,false,false,false,true,false,false,false,true,false,false,false],
                 "parameterLocks": [null,null,null,null,{"pitch":5,"volume":0.5}],
                 "volume": 0.9, "muted": true, "transpose": 2, "stepCount": 32},
                {"id": "hh", "name": "Hat\u0007", "sampleId": "hihat", "steps": [false,true], "parameterLocks": [], "volume": 3},
                {"id": "s", "name": "Acid", "sampleId": "synth:acid", "steps": [], "parameterLocks": []},
                {"id": "weird", "name": "?", "sampleId": "didgeridoo"}
            ]
        }
    }"#;
    let s = session_from_json(v0.as_bytes()).unwrap();
    assert_eq!(s.state.version, SCHEMA_VERSION);
    assert_eq!(s.state.tempo, 180.0, "clamped into range");
    assert_eq!(s.state.swing, 30.0);
    let kick = &s.state.tracks[0];
    assert_eq!(kick.instrument, Instrument::Sound(BuiltinSound::Kick));
    assert_eq!(kick.step_count, 32);
    assert_eq!(kick.volume, 0.9);
    assert!(kick.steps[0].on && kick.steps[12].on && !kick.steps[1].on);
    assert_eq!(
        kick.steps[4].locks.pitch,
        Some(7),
        "lock pitch + track transpose"
    );
    assert_eq!(kick.steps[4].locks.volume, Some(0.5));
    assert_eq!(
        kick.steps[0].locks.pitch,
        Some(2),
        "transpose alone becomes a pitch lock"
    );
    let hat = &s.state.tracks[1];
    assert_eq!(hat.id, "hh".parse().unwrap());
    assert_eq!(hat.name, "Hat");
    assert_eq!(hat.volume, 1.0);
    assert_eq!(hat.instrument, Instrument::Sound(BuiltinSound::ClosedHat));
    assert_eq!(
        s.state.tracks[2].instrument,
        Instrument::Synth(SynthPreset::Acid)
    );
    assert_eq!(
        s.state.tracks[3].instrument,
        Instrument::Sound(BuiltinSound::Kick)
    );
    s.validate().unwrap();
    // Migrated ids are stable: loading twice gives the same ids.
    assert_eq!(session_from_json(v0.as_bytes()).unwrap(), s);
}

#[test]
fn refusals() {
    let good = session_to_json(&Session::new(
        SessionId::from_random_bytes([5; 16]),
        0,
        SessionState::demo(),
    ));
    let future = good.replace(
        &format!(r#""version":{SCHEMA_VERSION}"#),
        &format!(r#""version":{}"#, SCHEMA_VERSION + 1),
    );
    assert_ne!(future, good);
    assert_eq!(
        session_from_json(future.as_bytes()),
        Err(SchemaError::FromTheFuture(SCHEMA_VERSION + 1))
    );
    let bad_tempo = good.replace(r#""tempo":118.0"#, r#""tempo":500.0"#);
    assert_eq!(
        session_from_json(bad_tempo.as_bytes()),
        Err(SchemaError::Invalid(OpError::OutOfRange(Field::Tempo)))
    );
    let dup = good.replace(r#""id":"snare""#, r#""id":"kick""#);
    assert!(matches!(
        session_from_json(dup.as_bytes()),
        Err(SchemaError::Invalid(OpError::DuplicateTrackId(_)))
    ));
    let bad_bits = good.replace("8888000000000000", "88880000000000zz");
    assert!(matches!(
        session_from_json(bad_bits.as_bytes()),
        Err(SchemaError::Json(_))
    ));
    let extra = good.replace(
        r#""mode":"collaborative""#,
        r#""mode":"collaborative","evil":1"#,
    );
    assert!(matches!(
        session_from_json(extra.as_bytes()),
        Err(SchemaError::Json(_))
    ));
    assert!(matches!(session_from_json(b"{"), Err(SchemaError::Json(_))));
    assert!(matches!(
        state_from_json(br#"{"version":"one"}"#),
        Err(SchemaError::Json(_))
    ));
    // Junk without a version is not an old document: it must not load as an empty session.
    for junk in [
        &br#"{"not":"a session"}"#[..],
        br#"{"tempo":"fast","tracks":[]}"#,
        br#"{"tracks":{}}"#,
        b"[]",
        b"42",
    ] {
        assert!(
            matches!(state_from_json(junk), Err(SchemaError::Json(_))),
            "{}",
            String::from_utf8_lossy(junk)
        );
    }
    let huge = vec![b' '; MAX_DOCUMENT_BYTES + 1];
    assert_eq!(
        session_from_json(&huge),
        Err(SchemaError::TooLarge(MAX_DOCUMENT_BYTES + 1))
    );
    let seventeen = format!(
        r#"{{"version":1,"tempo":120,"swing":0,"tracks":[{}]}}"#,
        (0..17)
            .map(|i| format!(r#"{{"id":"t{i}","name":"","instrument":"kick","volume":1,"pan":0,"stepCount":16,"on":"0000000000000000"}}"#))
            .collect::<Vec<_>>()
            .join(",")
    );
    assert_eq!(
        state_from_json(seventeen.as_bytes()),
        Err(SchemaError::Invalid(OpError::TooManyTracks))
    );
}

/// The session's dice seed: 16 hex digits in JSON; documents from before it get the default
/// (the engine's old seed, "Keyboard"); a current document without one, or with a malformed one,
/// is refused.
#[test]
fn the_seed_is_hex_and_older_documents_get_the_default() {
    assert_eq!(DEFAULT_SEED.to_be_bytes(), *b"Keyboard");
    let mut state = SessionState::demo();
    assert_eq!(state.seed, DEFAULT_SEED);
    state.seed = 0x0123_4567_89ab_cdef;
    let json = serde_json::to_string(&state).unwrap();
    assert!(json.contains(r#""seed":"0123456789abcdef""#), "{json}");
    assert_eq!(state_from_json(json.as_bytes()).unwrap(), state);
    let upper = json.replace("0123456789abcdef", "0123456789ABCDEF");
    assert_eq!(state_from_json(upper.as_bytes()).unwrap(), state);
    state.seed = u64::MAX;
    let json = serde_json::to_string(&state).unwrap();
    assert_eq!(state_from_json(json.as_bytes()).unwrap().seed, u64::MAX);

    // Version 1: no seed; it gets the default, and is written as the current version.
    let v1 = r#"{"version":1,"tempo":120,"swing":0,"tracks":[]}"#;
    let s = state_from_json(v1.as_bytes()).unwrap();
    assert_eq!((s.version, s.seed), (SCHEMA_VERSION, DEFAULT_SEED));
    assert_eq!(
        serde_json::to_string(&s).unwrap(),
        r#"{"version":2,"tempo":120.0,"swing":0.0,"seed":"4b6579626f617264","tracks":[]}"#
    );
    let saved = format!(
        r#"{{"id":"0b8a4c1e-6f7d-4e2a-9b3c-5d6e7f8a9b0c","createdAt":1,"updatedAt":2,"forkedFrom":null,"state":{v1}}}"#
    );
    assert_eq!(session_from_json(saved.as_bytes()).unwrap().state, s);
    // Version 0 too.
    let v0 = r#"{"tempo":100,"swing":0,"tracks":[]}"#;
    assert_eq!(state_from_json(v0.as_bytes()).unwrap().seed, DEFAULT_SEED);

    // Version 2 needs a well-formed seed.
    for bad in [
        r#"{"version":2,"tempo":120,"swing":0,"tracks":[]}"#,
        r#"{"version":2,"tempo":120,"swing":0,"seed":"0123","tracks":[]}"#,
        r#"{"version":2,"tempo":120,"swing":0,"seed":"0123456789abcdeg","tracks":[]}"#,
        r#"{"version":2,"tempo":120,"swing":0,"seed":"0123456789abcdef0","tracks":[]}"#,
        r#"{"version":2,"tempo":120,"swing":0,"seed":81985529216486895,"tracks":[]}"#,
        r#"{"version":2,"tempo":120,"swing":0,"seed":null,"tracks":[]}"#,
    ] {
        assert!(
            matches!(state_from_json(bad.as_bytes()), Err(SchemaError::Json(_))),
            "{bad}"
        );
    }
}

/// The seed belongs to the session: a fork plays the same hits, and a saved document cannot
/// change it.
#[test]
fn forks_and_saves_keep_the_seed() {
    let mut s = Session::new(
        SessionId::from_random_bytes([5; 16]),
        0,
        SessionState::demo(),
    );
    s.state.seed = 42;
    let fork = s.fork(SessionId::from_random_bytes([6; 16]), 1);
    assert_eq!(fork.state.seed, 42);
    let saved = SessionState {
        tempo: 99.0,
        ..SessionState::default()
    };
    assert_eq!(saved.seed, DEFAULT_SEED);
    s.replace_state(saved);
    assert_eq!((s.state.tempo, s.state.seed), (99.0, 42));
}

/// Found by the `session` fuzz target: two version-0 tracks without an id hung the migration
/// (hashing no bytes gave the same taken id forever), so one request body could spin a Worker.
#[test]
fn version_0_tracks_without_ids_get_distinct_ids() {
    let v0 = br#"{"tracks": [{"name": "a"}, {"id": ""}, {"id": 7}, {}]}"#;
    let state = state_from_json(v0).expect("migrates");
    let ids: Vec<TrackId> = state.tracks.iter().map(|t| t.id).collect();
    assert_eq!(ids.len(), 4);
    for (i, id) in ids.iter().enumerate() {
        assert!(!ids[..i].contains(id), "{ids:?}");
    }
    // The same document migrates to the same ids (they are derived, not drawn).
    assert_eq!(state_from_json(v0).unwrap(), state);
}

/// Found by the `session` fuzz target: a pitch lock plus the track's transpose overflowed i64.
#[test]
fn version_0_extreme_pitch_and_transpose_clamp() {
    let v0 = format!(
        r#"{{"tracks": [{{"id": "kick", "transpose": {}, "parameterLocks": [{{"pitch": {}}}, {{"pitch": {}}}]}}]}}"#,
        i64::MAX,
        i64::MAX,
        i64::MIN
    );
    let state = state_from_json(v0.as_bytes()).expect("migrates");
    let steps = &state.tracks[0].steps;
    assert_eq!(steps[0].locks.pitch, Some(24));
    assert_eq!(steps[1].locks.pitch, Some(-1));
    assert_eq!(steps[2].locks.pitch, Some(24));
}

/// Trig conditions: a step detail's `cd` in text form (`"2:4"`, `"fill"`, `"!fill"`, `"1st"`,
/// `"!1st"`, `"pre"`, `"!pre"`), an op's `{"k":"cd","v":…}`; documents without conditions read
/// and write byte-identically, and a condition out of range is refused with its typed error.
#[test]
fn conditions_round_trip_and_documents_without_them_are_unchanged() {
    let mut state = SessionState::demo();
    let before = serde_json::to_string(&state).unwrap();
    assert!(!before.contains(r#""cd""#));
    assert_eq!(
        serde_json::to_string(&state_from_json(before.as_bytes()).unwrap()).unwrap(),
        before
    );
    let kick = &mut state.tracks[0];
    kick.steps[0].locks.condition = Some(Condition::Ratio { a: 2, b: 4 });
    kick.steps[4].locks.condition = Some(Condition::NotFill);
    kick.steps[8].locks.condition = Some(Condition::First);
    kick.steps[9].locks.condition = Some(Condition::NotFirst);
    kick.steps[12].locks.condition = Some(Condition::Pre);
    kick.steps[13].locks.condition = Some(Condition::NotPre);
    kick.steps[14].locks.condition = Some(Condition::Fill);
    let json = serde_json::to_string(&state).unwrap();
    assert!(
        json.contains(
            r#""x":[{"s":0,"cd":"2:4"},{"s":4,"cd":"!fill"},{"s":8,"cd":"1st"},{"s":9,"cd":"!1st"},{"s":12,"cd":"pre"},{"s":13,"cd":"!pre"},{"s":14,"cd":"fill"}]"#
        ),
        "{json}"
    );
    let back = state_from_json(json.as_bytes()).unwrap();
    assert_eq!(back, state);
    assert_eq!(serde_json::to_string(&back).unwrap(), json);
    for bad in ["3:2", "0:4", "1:9", "2:", "FILL", "sometimes"] {
        let doc = json.replace(r#""cd":"2:4""#, &format!(r#""cd":"{bad}""#));
        assert!(
            matches!(&state_from_json(doc.as_bytes()), Err(SchemaError::Json(m))
                if m.contains(&OpError::OutOfRange(Field::Lock(LockKind::Condition)).to_string())),
            "{bad}"
        );
    }
    let op = Op::SetLock {
        pt: PatternId::A,
        tr: "kick".parse().unwrap(),
        s: 3,
        lock: Lock::Condition(Condition::Ratio { a: 3, b: 8 }),
    };
    let text = serde_json::to_string(&op).unwrap();
    assert_eq!(
        text,
        r#"{"t":"lock","tr":"kick","s":3,"lock":{"k":"cd","v":"3:8"}}"#
    );
    assert_eq!(serde_json::from_str::<Op>(&text).unwrap(), op);
}

/// Per-track swing: `"swing"` in a track, left out when the track follows the session's;
/// out of range or not a number is refused.
#[test]
fn track_swing_round_trips_and_is_left_out_when_unset() {
    let mut state = SessionState::demo();
    let before = serde_json::to_string(&state).unwrap();
    assert_eq!(
        before.matches(r#""swing""#).count(),
        1,
        "the session's only"
    );
    state.tracks[3].swing_pct = Some(55.5);
    let json = serde_json::to_string(&state).unwrap();
    assert!(
        json.contains(
            r#""on":"aaab000000000000","x":[{"s":14,"r":2},{"s":15,"v":60}],"swing":55.5}"#
        ),
        "{json}"
    );
    let back = state_from_json(json.as_bytes()).unwrap();
    assert_eq!(back, state);
    assert_eq!(serde_json::to_string(&back).unwrap(), json);
    state.tracks[3].swing_pct = None;
    assert_eq!(serde_json::to_string(&state).unwrap(), before);
    for (bad, e) in [
        ("100.5", OpError::OutOfRange(Field::Swing)),
        ("-3", OpError::OutOfRange(Field::Swing)),
    ] {
        let doc = json.replace(r#""swing":55.5}"#, &format!(r#""swing":{bad}}}"#));
        assert!(
            matches!(&state_from_json(doc.as_bytes()), Err(SchemaError::Json(m)) if m.contains(&e.to_string())),
            "{bad}"
        );
    }
    let doc = json.replace(r#""swing":55.5}"#, r#""swing":"lots"}"#);
    assert!(matches!(
        state_from_json(doc.as_bytes()),
        Err(SchemaError::Json(_))
    ));
}

/// Effects: a track's `"fx"`, the session's `"fx"` and the cutoff/send locks round-trip; each
/// object lists only what differs from the defaults and is left out at the defaults, so
/// documents without effects read and write byte-identically; bad values are refused.
#[test]
fn effects_round_trip_and_documents_without_them_are_unchanged() {
    let mut state = SessionState::demo();
    let before = serde_json::to_string(&state).unwrap();
    assert!(!before.contains(r#""fx""#) && !before.contains(r#""hz""#));
    state.tracks[0].fx.filter = FilterMode::LowPass;
    state.tracks[0].fx.cutoff_hz = 800.0;
    state.tracks[0].fx.reverb_send = 0.25;
    state.tracks[1].fx.drive = 0.5;
    state.tracks[0].steps[4].locks.cutoff_hz = Some(2_500.0);
    state.tracks[0].steps[4].locks.reverb_send = Some(1.0);
    state.tracks[0].steps[8].locks.delay_send = Some(0.5);
    state.fx.delay_time = DelayTime::DottedEighth;
    state.fx.reverb_size = 0.75;
    let json = serde_json::to_string(&state).unwrap();
    for part in [
        r#""x":[{"s":4,"hz":2500.0,"rv":1.0},{"s":8,"dl":0.5}],"fx":{"f":"lp","hz":800.0,"rv":0.25}}"#,
        r#""fx":{"dr":0.5}}"#,
        r#""fx":{"size":0.75,"time":"1/8."}}"#,
    ] {
        assert!(json.contains(part), "{part} in {json}");
    }
    let back = state_from_json(json.as_bytes()).unwrap();
    assert_eq!(back, state);
    assert_eq!(serde_json::to_string(&back).unwrap(), json);
    let mut reset = back;
    reset.tracks[0] = SessionState::demo().tracks[0].clone();
    reset.tracks[1].fx = TrackFx::default();
    reset.fx = SessionFx::default();
    assert_eq!(serde_json::to_string(&reset).unwrap(), before);
    for (from, to, e) in [
        (r#""hz":800.0"#, r#""hz":1e9"#, Field::Cutoff),
        (r#""rv":0.25}"#, r#""rv":-1.0}"#, Field::ReverbSend),
        (r#""dr":0.5"#, r#""dr":2.0"#, Field::Drive),
        (r#""size":0.75"#, r#""size":1.5"#, Field::ReverbSize),
        (
            r#""time":"1/8.""#,
            r#""time":"1/8.","fb":0.99"#,
            Field::DelayFeedback,
        ),
        (
            r#""hz":2500.0"#,
            r#""hz":5.0"#,
            Field::Lock(LockKind::Cutoff),
        ),
    ] {
        let doc = json.replace(from, to);
        assert_ne!(doc, json);
        let r = state_from_json(doc.as_bytes());
        let refused = match &r {
            Err(SchemaError::Invalid(got)) => *got == OpError::OutOfRange(e),
            Err(SchemaError::Json(m)) => m.contains(&OpError::OutOfRange(e).to_string()),
            _ => false,
        };
        assert!(refused, "{to}: {r:?}");
    }
    for bad in [r#""f":"bp""#, r#""time":"1/16""#, r#""zz":1"#] {
        let doc = json
            .replace(r#""f":"lp""#, bad)
            .replace(r#""time":"1/8.""#, bad);
        assert!(
            matches!(state_from_json(doc.as_bytes()), Err(SchemaError::Json(_))),
            "{bad}"
        );
    }
}

/// The fuzz seed with every new key (conditions, per-track swing, effects) loads, and writes
/// back to its exact bytes.
#[test]
fn the_effects_and_conditions_fuzz_seed_round_trips() {
    let seed = include_str!("../../fuzz/seeds/session/effects-conditions-state");
    let state = state_from_json(seed.as_bytes()).unwrap();
    assert_eq!(serde_json::to_string(&state).unwrap(), seed);
}
