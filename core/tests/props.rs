//! Property tests: random op sequences keep every invariant, replicas fed the same ops agree,
//! undo inverts, and documents round-trip through JSON unchanged.

use keyboardia_core::*;
use proptest::prelude::*;

/// A small pool of ids, so random ops hit existing tracks often and unknown ones sometimes.
fn track_id() -> impl Strategy<Value = TrackId> {
    (0u64..20).prop_map(|i| TrackId::from_random(i * 7919))
}

fn instrument() -> impl Strategy<Value = Instrument> {
    prop_oneof![
        prop::sample::select(BuiltinSound::ALL.to_vec()).prop_map(Instrument::Sound),
        prop::sample::select(SynthPreset::ALL.to_vec()).prop_map(Instrument::Synth),
        "[a-z0-9]{1,12}".prop_map(|s| Instrument::Sample(s.parse().unwrap())),
    ]
}

/// Cut points, mostly valid (ascending, at most 64), sometimes not (unsorted, repeated, 65).
fn cuts() -> impl Strategy<Value = Vec<u32>> {
    prop_oneof![
        4 => prop::collection::btree_set(0u32..240_000, 0..=MAX_SLICES).prop_map(|s| s.into_iter().collect()),
        1 => prop::collection::vec(0u32..50, 0..8),
        1 => prop::collection::btree_set(any::<u32>(), MAX_SLICES + 1).prop_map(|s| s.into_iter().collect()),
    ]
}

/// Floats including the nasty ones.
fn any_f32() -> impl Strategy<Value = f32> {
    prop_oneof![
        8 => -1.5f32..1.5,
        1 => prop::sample::select(vec![f32::NAN, f32::INFINITY, -f32::INFINITY, 0.0, -0.0, 1.0]),
    ]
}

fn any_f64() -> impl Strategy<Value = f64> {
    prop_oneof![
        8 => -10.0f64..200.0,
        1 => prop::sample::select(vec![f64::NAN, f64::INFINITY, 60.0, 180.0, 100.0]),
    ]
}

fn lock() -> impl Strategy<Value = Lock> {
    prop_oneof![
        (-30i8..30).prop_map(Lock::Pitch),
        any_f32().prop_map(Lock::Volume),
        (0u8..110).prop_map(Lock::Probability),
        (-60i8..60).prop_map(Lock::Nudge),
        (0u8..10).prop_map(Lock::Ratchet),
        (0u8..70).prop_map(Lock::Slice),
        (0u8..10, 0u8..10).prop_map(|(a, b)| Lock::Condition(Condition::Ratio { a, b })),
    ]
}

fn step() -> impl Strategy<Value = Step> {
    (
        any::<bool>(),
        1u8..=127,
        prop::option::of(-24i8..=24),
        prop::option::of(1u8..=8),
        prop::option::of(SLICE_RANGE),
    )
        .prop_map(|(on, velocity, pitch, ratchet, slice)| Step {
            on,
            velocity,
            locks: Locks {
                pitch,
                ratchet,
                slice,
                ..Locks::default()
            },
        })
}

fn track() -> impl Strategy<Value = Track> {
    (
        track_id(),
        "[a-zA-Z ]{0,12}",
        instrument(),
        0.0f32..=1.0,
        -1.0f32..=1.0,
        1u8..=64,
        prop::collection::vec(step(), 64),
        prop::collection::btree_set(0u32..240_000, 0..4),
    )
        .prop_map(|(id, name, inst, volume, pan, step_count, steps, cuts)| {
            let mut t = Track::new(id, name, inst);
            t.volume = volume;
            t.pan = pan;
            t.step_count = step_count;
            t.steps.copy_from_slice(&steps);
            t.cuts = cuts.into_iter().collect();
            t
        })
}

fn op() -> impl Strategy<Value = Op> {
    let s = 0u8..70;
    prop_oneof![
        6 => (track_id(), s.clone(), any::<bool>()).prop_map(|(tr, s, on)| Op::SetStep { pt: PatternId::A, tr, s, on }),
        2 => (track_id(), s.clone(), 0u8..=130).prop_map(|(tr, s, v)| Op::SetVelocity { pt: PatternId::A, tr, s, v }),
        2 => (track_id(), s.clone(), lock()).prop_map(|(tr, s, lock)| Op::SetLock { pt: PatternId::A, tr, s, lock }),
        1 => (track_id(), s.clone(), prop::sample::select(LockKind::ALL.to_vec())).prop_map(|(tr, s, k)| Op::ClearLock { pt: PatternId::A, tr, s, k }),
        1 => (track_id(), 0u8..70, prop::collection::vec(step(), 64)).prop_map(|(tr, len, v)| {
            let mut steps = [Step::default(); MAX_STEPS];
            steps.copy_from_slice(&v);
            Op::SetPattern { pt: PatternId::A, tr, len, steps: Pattern(Box::new(steps)) }
        }),
        3 => (track(), prop::option::of(0u8..20)).prop_map(|(t, index)| Op::AddTrack { track: Box::new(t), index }),
        1 => track_id().prop_map(|tr| Op::DeleteTrack { tr }),
        1 => (track_id(), 0u8..18).prop_map(|(tr, to)| Op::MoveTrack { tr, to }),
        1 => track_id().prop_map(|tr| Op::ClearTrack { pt: PatternId::A, tr }),
        1 => (track_id(), track_id()).prop_map(|(from, to)| Op::CopySequence { pt: PatternId::A, from, to }),
        1 => (track_id(), 0u8..70).prop_map(|(tr, v)| Op::SetStepCount { pt: PatternId::A, tr, v }),
        1 => any_f64().prop_map(|v| Op::SetTempo { v }),
        1 => any_f64().prop_map(|v| Op::SetSwing { v }),
        1 => (track_id(), any_f32()).prop_map(|(tr, v)| Op::SetVolume { tr, v }),
        1 => (track_id(), any_f32()).prop_map(|(tr, v)| Op::SetPan { tr, v }),
        1 => (track_id(), "[ -~]{0,40}").prop_map(|(tr, v)| Op::SetName { tr, v }),
        1 => (track_id(), instrument()).prop_map(|(tr, v)| Op::SetInstrument { tr, v }),
        1 => (track_id(), cuts()).prop_map(|(tr, v)| Op::SetCuts { tr, v }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    /// Whatever arrives, the state stays valid, refusals change nothing, and undo inverts.
    #[test]
    fn random_ops_keep_every_invariant(ops in prop::collection::vec(op(), 1..120)) {
        let mut s = SessionState::default();
        for op in &ops {
            let before = s.clone();
            match s.apply(op) {
                Ok(applied) => {
                    prop_assert!(s.validate().is_ok(), "{op:?} broke {:?}", s.validate());
                    prop_assert_eq!(applied.change == Change::Nothing, s == before, "change report of {:?}", op);
                    let mut undone = s.clone();
                    undone.apply(&applied.undo).unwrap();
                    prop_assert_eq!(&undone, &before, "undo of {:?}", op);
                }
                Err(_) => prop_assert_eq!(&s, &before, "refused {:?} changed the state", op),
            }
            prop_assert!(s.tracks.len() <= MAX_TRACKS);
        }
    }

    /// Two replicas fed the same ops, one of them through the wire, end identical.
    #[test]
    fn replicas_fed_the_same_ops_agree(ops in prop::collection::vec(op(), 1..80)) {
        let (mut a, mut b) = (SessionState::default(), SessionState::default());
        for (i, op) in ops.iter().enumerate() {
            let ra = a.apply(op);
            let wire = protocol::ClientMessage::Edit { op: i as u32, edit: op.clone() }.encode();
            match protocol::decode_client(wire.as_bytes()) {
                Ok(protocol::ClientMessage::Edit { edit, .. }) => {
                    let rb = b.apply(&edit);
                    prop_assert_eq!(ra.is_ok(), rb.is_ok(), "{:?}", op);
                }
                // Non-finite floats do not survive JSON; the op was refused locally as well.
                _ => prop_assert!(ra.is_err(), "{op:?} decoded badly from {wire}"),
            }
            prop_assert_eq!(&a, &b);
        }
    }

    /// A document round-trips through JSON: equal value, and byte-identical re-serialization.
    #[test]
    fn sessions_round_trip_through_json(ops in prop::collection::vec(op(), 0..60), t in 0u64..1u64 << 50) {
        let mut session = Session::new(SessionId::from_random_bytes([9; 16]), t, SessionState::default());
        for op in &ops {
            let _ = session.apply(op, None, t + 1);
        }
        let json = schema::session_to_json(&session);
        let back = schema::session_from_json(json.as_bytes()).unwrap();
        prop_assert_eq!(&back, &session);
        prop_assert_eq!(schema::session_to_json(&back), json);
    }
}
