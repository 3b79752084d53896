//! Every op, and every way an op can be refused.

use keyboardia_core::*;

fn id(s: &str) -> TrackId {
    s.parse().unwrap()
}

fn state() -> SessionState {
    let mut s = SessionState::default();
    s.apply(&Op::AddTrack {
        track: Box::new(Track::new(id("kick"), "Kick", "kick".parse().unwrap())),
        index: None,
    })
    .unwrap();
    s.apply(&Op::AddTrack {
        track: Box::new(Track::new(
            id("bass"),
            "Bass",
            "synth:acid".parse().unwrap(),
        )),
        index: None,
    })
    .unwrap();
    s
}

/// Applies `op`, checks the change, then applies the undo and checks the state is back.
fn apply_and_undo(op: Op, expected: Change) -> SessionState {
    let mut s = state();
    let before = s.clone();
    let applied = s.apply(&op).unwrap();
    assert_eq!(applied.change, expected, "change of {op:?}");
    s.validate().unwrap();
    let after = s.clone();
    s.apply(&applied.undo).unwrap();
    assert_eq!(s, before, "undo of {op:?}");
    // Idempotent: applying the op twice equals applying it once.
    s.apply(&op).unwrap();
    s.apply(&op).unwrap();
    assert_eq!(s, after, "applying {op:?} twice");
    after
}

#[test]
fn set_step_is_absolute() {
    let s = apply_and_undo(
        Op::SetStep {
            pt: PatternId::A,
            tr: id("kick"),
            s: 4,
            on: true,
        },
        Change::Step {
            track: id("kick"),
            step: 4,
        },
    );
    assert!(s.track(id("kick")).unwrap().steps[4].on);
    let mut s2 = s.clone();
    // Setting it on again changes nothing: two players clicking the same cell agree.
    assert_eq!(
        s2.apply(&Op::SetStep {
            pt: PatternId::A,
            tr: id("kick"),
            s: 4,
            on: true
        })
        .unwrap()
        .change,
        Change::Nothing
    );
    assert_eq!(s2, s);
}

#[test]
fn set_step_beyond_step_count_is_kept() {
    let s = apply_and_undo(
        Op::SetStep {
            pt: PatternId::A,
            tr: id("kick"),
            s: 63,
            on: true,
        },
        Change::Step {
            track: id("kick"),
            step: 63,
        },
    );
    assert!(s.track(id("kick")).unwrap().steps[63].on);
    assert_eq!(s.track(id("kick")).unwrap().active_steps().len(), 16);
}

#[test]
fn velocity() {
    let s = apply_and_undo(
        Op::SetVelocity {
            pt: PatternId::A,
            tr: id("kick"),
            s: 2,
            v: 40,
        },
        Change::Step {
            track: id("kick"),
            step: 2,
        },
    );
    assert_eq!(s.track(id("kick")).unwrap().steps[2].velocity, 40);
}

#[test]
fn every_lock_sets_and_clears() {
    let locks = [
        Lock::Pitch(-24),
        Lock::Pitch(24),
        Lock::Volume(0.5),
        Lock::Probability(0),
        Lock::Nudge(-50),
        Lock::Ratchet(8),
        Lock::Slice(0),
        Lock::Slice(63),
        Lock::Condition(Condition::Ratio { a: 2, b: 4 }),
        Lock::Condition(Condition::Ratio { a: 8, b: 8 }),
        Lock::Condition(Condition::NotPre),
        Lock::Condition(Condition::Fill),
        Lock::Cutoff(20.0),
        Lock::Cutoff(20_000.0),
        Lock::ReverbSend(1.0),
        Lock::DelaySend(0.25),
    ];
    for lock in locks {
        let s = apply_and_undo(
            Op::SetLock {
                pt: PatternId::A,
                tr: id("bass"),
                s: 9,
                lock,
            },
            Change::Step {
                track: id("bass"),
                step: 9,
            },
        );
        assert_eq!(
            s.track(id("bass")).unwrap().steps[9].locks.get(lock.kind()),
            Some(lock)
        );
        let mut s2 = s.clone();
        let a = s2
            .apply(&Op::ClearLock {
                pt: PatternId::A,
                tr: id("bass"),
                s: 9,
                k: lock.kind(),
            })
            .unwrap();
        assert_eq!(
            a.change,
            Change::Step {
                track: id("bass"),
                step: 9
            }
        );
        assert!(s2.track(id("bass")).unwrap().steps[9].locks.is_empty());
        s2.apply(&a.undo).unwrap();
        assert_eq!(s2, s);
    }
    let mut s = state();
    assert_eq!(
        s.apply(&Op::ClearLock {
            pt: PatternId::A,
            tr: id("bass"),
            s: 9,
            k: LockKind::Pitch
        })
        .unwrap()
        .change,
        Change::Nothing
    );
}

#[test]
fn replacing_a_lock_undoes_to_the_old_value() {
    let mut s = state();
    s.apply(&Op::SetLock {
        pt: PatternId::A,
        tr: id("kick"),
        s: 0,
        lock: Lock::Pitch(3),
    })
    .unwrap();
    let a = s
        .apply(&Op::SetLock {
            pt: PatternId::A,
            tr: id("kick"),
            s: 0,
            lock: Lock::Pitch(7),
        })
        .unwrap();
    assert_eq!(
        a.undo,
        Op::SetLock {
            pt: PatternId::A,
            tr: id("kick"),
            s: 0,
            lock: Lock::Pitch(3)
        }
    );
}

#[test]
fn set_pattern() {
    let mut steps = [Step::default(); MAX_STEPS];
    steps[1].on = true;
    steps[1].locks.ratchet = Some(3);
    let s = apply_and_undo(
        Op::SetPattern {
            pt: PatternId::A,
            tr: id("kick"),
            len: 32,
            steps: Pattern(Box::new(steps)),
        },
        Change::Pattern { track: id("kick") },
    );
    let t = s.track(id("kick")).unwrap();
    assert_eq!((t.step_count, t.steps[1].locks.ratchet), (32, Some(3)));
}

#[test]
fn add_track_at_index_and_end() {
    let t = Track::new(id("hat"), "Hat", "hat_closed".parse().unwrap());
    let s = apply_and_undo(
        Op::AddTrack {
            track: Box::new(t.clone()),
            index: Some(0),
        },
        Change::TrackAdded {
            track: id("hat"),
            index: 0,
        },
    );
    assert_eq!(s.tracks[0].id, id("hat"));
    let mut s = state();
    let a = s
        .apply(&Op::AddTrack {
            track: Box::new(t),
            index: None,
        })
        .unwrap();
    assert_eq!(
        a.change,
        Change::TrackAdded {
            track: id("hat"),
            index: 2
        }
    );
}

#[test]
fn delete_track_undo_restores_position_and_pattern() {
    let mut s = state();
    s.apply(&Op::SetStep {
        pt: PatternId::A,
        tr: id("kick"),
        s: 3,
        on: true,
    })
    .unwrap();
    let before = s.clone();
    let a = s.apply(&Op::DeleteTrack { tr: id("kick") }).unwrap();
    assert_eq!(
        a.change,
        Change::TrackRemoved {
            track: id("kick"),
            index: 0
        }
    );
    assert_eq!(s.tracks.len(), 1);
    s.apply(&a.undo).unwrap();
    assert_eq!(s, before);
}

#[test]
fn move_track() {
    let s = apply_and_undo(
        Op::MoveTrack {
            tr: id("kick"),
            to: 1,
        },
        Change::TrackMoved {
            track: id("kick"),
            from: 0,
            to: 1,
        },
    );
    assert_eq!(s.tracks[1].id, id("kick"));
}

#[test]
fn clear_track_keeps_step_count() {
    let mut s = state();
    s.apply(&Op::SetStepCount {
        pt: PatternId::A,
        tr: id("kick"),
        v: 32,
    })
    .unwrap();
    s.apply(&Op::SetStep {
        pt: PatternId::A,
        tr: id("kick"),
        s: 20,
        on: true,
    })
    .unwrap();
    s.apply(&Op::SetLock {
        pt: PatternId::A,
        tr: id("kick"),
        s: 21,
        lock: Lock::Nudge(10),
    })
    .unwrap();
    let before = s.clone();
    let a = s
        .apply(&Op::ClearTrack {
            pt: PatternId::A,
            tr: id("kick"),
        })
        .unwrap();
    let t = s.track(id("kick")).unwrap();
    assert!(t.steps.iter().all(Step::is_default));
    assert_eq!(t.step_count, 32);
    s.apply(&a.undo).unwrap();
    assert_eq!(s, before);
}

#[test]
fn copy_sequence_copies_steps_and_count() {
    let mut s = state();
    s.apply(&Op::SetStep {
        pt: PatternId::A,
        tr: id("kick"),
        s: 40,
        on: true,
    })
    .unwrap();
    s.apply(&Op::SetStepCount {
        pt: PatternId::A,
        tr: id("kick"),
        v: 64,
    })
    .unwrap();
    let before = s.clone();
    let a = s
        .apply(&Op::CopySequence {
            pt: PatternId::A,
            from: id("kick"),
            to: id("bass"),
        })
        .unwrap();
    assert_eq!(a.change, Change::Pattern { track: id("bass") });
    let (k, b) = (s.track(id("kick")).unwrap(), s.track(id("bass")).unwrap());
    assert_eq!((k.steps, k.step_count), (b.steps, b.step_count));
    assert_eq!(
        b.instrument,
        "synth:acid".parse().unwrap(),
        "only the sequence is copied"
    );
    s.apply(&a.undo).unwrap();
    assert_eq!(s, before);
}

#[test]
fn step_count_hides_but_never_deletes() {
    let mut s = state();
    s.apply(&Op::SetStepCount {
        pt: PatternId::A,
        tr: id("kick"),
        v: 64,
    })
    .unwrap();
    s.apply(&Op::SetStep {
        pt: PatternId::A,
        tr: id("kick"),
        s: 50,
        on: true,
    })
    .unwrap();
    s.apply(&Op::SetStepCount {
        pt: PatternId::A,
        tr: id("kick"),
        v: 16,
    })
    .unwrap();
    assert!(s
        .track(id("kick"))
        .unwrap()
        .active_steps()
        .iter()
        .all(|st| !st.on));
    s.apply(&Op::SetStepCount {
        pt: PatternId::A,
        tr: id("kick"),
        v: 64,
    })
    .unwrap();
    assert!(s.track(id("kick")).unwrap().steps[50].on);
    apply_and_undo(
        Op::SetStepCount {
            pt: PatternId::A,
            tr: id("kick"),
            v: 7,
        },
        Change::Pattern { track: id("kick") },
    );
}

#[test]
fn session_settings() {
    let s = apply_and_undo(Op::SetTempo { v: 174.5 }, Change::Tempo);
    assert_eq!(s.tempo, 174.5);
    let s = apply_and_undo(Op::SetSwing { v: 100.0 }, Change::Swing);
    assert_eq!(s.swing, 100.0);
}

#[test]
fn track_settings() {
    let kick = id("kick");
    let c = Change::TrackSettings { track: kick };
    assert_eq!(
        apply_and_undo(Op::SetVolume { tr: kick, v: 0.0 }, c.clone()).tracks[0].volume,
        0.0
    );
    assert_eq!(
        apply_and_undo(Op::SetPan { tr: kick, v: -1.0 }, c.clone()).tracks[0].pan,
        -1.0
    );
    assert_eq!(
        apply_and_undo(
            Op::SetName {
                tr: kick,
                v: "Boom ü".into()
            },
            c.clone()
        )
        .tracks[0]
            .name,
        "Boom ü"
    );
    let swung = apply_and_undo(
        Op::SetTrackSwing {
            tr: kick,
            v: Some(62.5),
        },
        c.clone(),
    );
    assert_eq!(swung.tracks[0].swing_pct, Some(62.5));
    // Back to the session's swing, undone to the track's own.
    let mut s = swung.clone();
    let a = s.apply(&Op::SetTrackSwing { tr: kick, v: None }).unwrap();
    assert_eq!((a.change, s.tracks[0].swing_pct), (c.clone(), None));
    s.apply(&a.undo).unwrap();
    assert_eq!(s, swung);
    for (v, e) in [
        (f64::NAN, OpError::NotFinite(Field::Swing)),
        (f64::INFINITY, OpError::NotFinite(Field::Swing)),
        (100.5, OpError::OutOfRange(Field::Swing)),
        (-1.0, OpError::OutOfRange(Field::Swing)),
    ] {
        let mut s = swung.clone();
        let op = Op::SetTrackSwing {
            tr: kick,
            v: Some(v),
        };
        assert_eq!(s.apply(&op), Err(e));
        assert_eq!(s, swung, "state untouched");
    }
    let inst: Instrument = "sample:abc-123".parse().unwrap();
    assert_eq!(
        apply_and_undo(
            Op::SetInstrument {
                tr: kick,
                v: inst.clone()
            },
            c
        )
        .tracks[0]
            .instrument,
        inst
    );
}

#[test]
fn set_cuts_replaces_a_tracks_cut_points_and_undoes() {
    let cuts = vec![0, 4_410, 9_000, 200_000];
    let s = apply_and_undo(
        Op::SetCuts {
            tr: id("kick"),
            v: cuts.clone(),
        },
        Change::TrackSettings { track: id("kick") },
    );
    assert_eq!(s.track(id("kick")).unwrap().cuts, cuts);
    assert!(s.track(id("bass")).unwrap().cuts.is_empty());

    // Replacing undoes to the old cuts; clearing (an empty list) is valid and undoes too.
    let mut s2 = s.clone();
    let a = s2
        .apply(&Op::SetCuts {
            tr: id("kick"),
            v: vec![7],
        })
        .unwrap();
    assert_eq!(
        a.undo,
        Op::SetCuts {
            tr: id("kick"),
            v: cuts.clone()
        }
    );
    let a = s2
        .apply(&Op::SetCuts {
            tr: id("kick"),
            v: vec![],
        })
        .unwrap();
    assert!(s2.track(id("kick")).unwrap().cuts.is_empty());
    assert_eq!(
        a.undo,
        Op::SetCuts {
            tr: id("kick"),
            v: vec![7]
        }
    );
    // The same cuts again change nothing.
    let mut s3 = s.clone();
    assert_eq!(
        s3.apply(&Op::SetCuts {
            tr: id("kick"),
            v: cuts
        })
        .unwrap()
        .change,
        Change::Nothing
    );
    assert_eq!(s3, s);
    // The most cuts a track may have: one per slice, 64.
    let max: Vec<u32> = (0..MAX_SLICES as u32).map(|i| i * 100).collect();
    apply_and_undo(
        Op::SetCuts {
            tr: id("bass"),
            v: max,
        },
        Change::TrackSettings { track: id("bass") },
    );
}

#[test]
fn cuts_survive_an_instrument_change_and_travel_with_copies_of_the_track() {
    let mut s = state();
    s.apply(&Op::SetCuts {
        tr: id("kick"),
        v: vec![10, 20],
    })
    .unwrap();
    s.apply(&Op::SetInstrument {
        tr: id("kick"),
        v: "snare".parse().unwrap(),
    })
    .unwrap();
    assert_eq!(s.track(id("kick")).unwrap().cuts, [10, 20]);
    // Deleting and undoing puts the cuts back with the track.
    let before = s.clone();
    let a = s.apply(&Op::DeleteTrack { tr: id("kick") }).unwrap();
    s.apply(&a.undo).unwrap();
    assert_eq!(s, before);
}

#[test]
fn slice_bounds_cover_cut_to_cut_and_clamp_past_the_last_slice() {
    let cuts = [100, 500, 900];
    // Slice k: cut k up to the next cut, the last up to the end.
    assert_eq!(slice_bounds(&cuts, 0, 1000), (100, 500));
    assert_eq!(slice_bounds(&cuts, 1, 1000), (500, 900));
    assert_eq!(slice_bounds(&cuts, 2, 1000), (900, 1000));
    // Past the last slice: the last slice.
    assert_eq!(slice_bounds(&cuts, 3, 1000), (900, 1000));
    assert_eq!(slice_bounds(&cuts, 63, 1000), (900, 1000));
    // Cuts at or past the sample's end are ignored.
    assert_eq!(slice_bounds(&cuts, 1, 900), (500, 900));
    assert_eq!(slice_bounds(&cuts, 2, 900), (500, 900));
    assert_eq!(slice_bounds(&cuts, 2, 600), (500, 600));
    // No usable cut: the whole sample, whatever the index.
    assert_eq!(slice_bounds(&[], 0, 1000), (0, 1000));
    assert_eq!(slice_bounds(&[], 5, 1000), (0, 1000));
    assert_eq!(slice_bounds(&cuts, 0, 100), (0, 100));
    assert_eq!(slice_bounds(&cuts, 0, 0), (0, 0));
    // A cut at frame 0 makes the first slice start at the start.
    assert_eq!(slice_bounds(&[0, 10], 0, 20), (0, 10));
}

/// Every refusal: typed, and the state is exactly as before.
#[test]
fn every_error_leaves_state_untouched() {
    let kick = id("kick");
    let ghost = id("ghost");
    let nan = f32::NAN;
    let cases: Vec<(Op, OpError)> = vec![
        (
            Op::SetStep {
                pt: PatternId::A,
                tr: ghost,
                s: 0,
                on: true,
            },
            OpError::UnknownTrack(ghost),
        ),
        (
            Op::SetStep {
                pt: PatternId::A,
                tr: kick,
                s: 64,
                on: true,
            },
            OpError::StepOutOfRange,
        ),
        (
            Op::SetVelocity {
                pt: PatternId::A,
                tr: kick,
                s: 0,
                v: 0,
            },
            OpError::OutOfRange(Field::Velocity),
        ),
        (
            Op::SetVelocity {
                pt: PatternId::A,
                tr: kick,
                s: 0,
                v: 128,
            },
            OpError::OutOfRange(Field::Velocity),
        ),
        (
            Op::SetVelocity {
                pt: PatternId::A,
                tr: kick,
                s: 255,
                v: 10,
            },
            OpError::StepOutOfRange,
        ),
        (
            Op::SetLock {
                pt: PatternId::A,
                tr: kick,
                s: 0,
                lock: Lock::Pitch(25),
            },
            OpError::OutOfRange(Field::Lock(LockKind::Pitch)),
        ),
        (
            Op::SetLock {
                pt: PatternId::A,
                tr: kick,
                s: 0,
                lock: Lock::Pitch(-25),
            },
            OpError::OutOfRange(Field::Lock(LockKind::Pitch)),
        ),
        (
            Op::SetLock {
                pt: PatternId::A,
                tr: kick,
                s: 0,
                lock: Lock::Volume(nan),
            },
            OpError::OutOfRange(Field::Lock(LockKind::Volume)),
        ),
        (
            Op::SetLock {
                pt: PatternId::A,
                tr: kick,
                s: 0,
                lock: Lock::Volume(1.5),
            },
            OpError::OutOfRange(Field::Lock(LockKind::Volume)),
        ),
        (
            Op::SetLock {
                pt: PatternId::A,
                tr: kick,
                s: 0,
                lock: Lock::Probability(101),
            },
            OpError::OutOfRange(Field::Lock(LockKind::Probability)),
        ),
        (
            Op::SetLock {
                pt: PatternId::A,
                tr: kick,
                s: 0,
                lock: Lock::Nudge(51),
            },
            OpError::OutOfRange(Field::Lock(LockKind::Nudge)),
        ),
        (
            Op::SetLock {
                pt: PatternId::A,
                tr: kick,
                s: 0,
                lock: Lock::Ratchet(0),
            },
            OpError::OutOfRange(Field::Lock(LockKind::Ratchet)),
        ),
        (
            Op::SetLock {
                pt: PatternId::A,
                tr: kick,
                s: 0,
                lock: Lock::Ratchet(9),
            },
            OpError::OutOfRange(Field::Lock(LockKind::Ratchet)),
        ),
        (
            Op::SetLock {
                pt: PatternId::A,
                tr: ghost,
                s: 0,
                lock: Lock::Ratchet(2),
            },
            OpError::UnknownTrack(ghost),
        ),
        (
            Op::ClearLock {
                pt: PatternId::A,
                tr: kick,
                s: 99,
                k: LockKind::Pitch,
            },
            OpError::StepOutOfRange,
        ),
        (
            Op::ClearLock {
                pt: PatternId::A,
                tr: ghost,
                s: 0,
                k: LockKind::Pitch,
            },
            OpError::UnknownTrack(ghost),
        ),
        (
            Op::SetPattern {
                pt: PatternId::A,
                tr: kick,
                len: 0,
                steps: Pattern(Box::new([Step::default(); 64])),
            },
            OpError::OutOfRange(Field::StepCount),
        ),
        (
            Op::SetPattern {
                pt: PatternId::A,
                tr: kick,
                len: 16,
                steps: Pattern(Box::new(
                    [Step {
                        velocity: 0,
                        ..Step::default()
                    }; 64],
                )),
            },
            OpError::OutOfRange(Field::Velocity),
        ),
        (
            Op::SetPattern {
                pt: PatternId::A,
                tr: ghost,
                len: 16,
                steps: Pattern(Box::new([Step::default(); 64])),
            },
            OpError::UnknownTrack(ghost),
        ),
        (
            Op::AddTrack {
                track: Box::new(Track::new(kick, "Again", "kick".parse().unwrap())),
                index: None,
            },
            OpError::DuplicateTrackId(kick),
        ),
        (
            Op::AddTrack {
                track: Box::new(Track::new(id("new"), "New", "kick".parse().unwrap())),
                index: Some(3),
            },
            OpError::IndexOutOfRange,
        ),
        (
            Op::AddTrack {
                track: Box::new(Track {
                    volume: 2.0,
                    ..Track::new(id("new"), "New", "kick".parse().unwrap())
                }),
                index: None,
            },
            OpError::OutOfRange(Field::Volume),
        ),
        (
            Op::AddTrack {
                track: Box::new(Track {
                    step_count: 65,
                    ..Track::new(id("new"), "New", "kick".parse().unwrap())
                }),
                index: None,
            },
            OpError::OutOfRange(Field::StepCount),
        ),
        (Op::DeleteTrack { tr: ghost }, OpError::UnknownTrack(ghost)),
        (Op::MoveTrack { tr: kick, to: 2 }, OpError::IndexOutOfRange),
        (
            Op::MoveTrack { tr: ghost, to: 0 },
            OpError::UnknownTrack(ghost),
        ),
        (
            Op::ClearTrack {
                pt: PatternId::A,
                tr: ghost,
            },
            OpError::UnknownTrack(ghost),
        ),
        (
            Op::CopySequence {
                pt: PatternId::A,
                from: kick,
                to: kick,
            },
            OpError::SameTrack,
        ),
        (
            Op::CopySequence {
                pt: PatternId::A,
                from: ghost,
                to: kick,
            },
            OpError::UnknownTrack(ghost),
        ),
        (
            Op::CopySequence {
                pt: PatternId::A,
                from: kick,
                to: ghost,
            },
            OpError::UnknownTrack(ghost),
        ),
        (
            Op::SetStepCount {
                pt: PatternId::A,
                tr: kick,
                v: 0,
            },
            OpError::OutOfRange(Field::StepCount),
        ),
        (
            Op::SetStepCount {
                pt: PatternId::A,
                tr: kick,
                v: 65,
            },
            OpError::OutOfRange(Field::StepCount),
        ),
        (
            Op::SetStepCount {
                pt: PatternId::A,
                tr: ghost,
                v: 16,
            },
            OpError::UnknownTrack(ghost),
        ),
        (Op::SetTempo { v: 59.9 }, OpError::OutOfRange(Field::Tempo)),
        (Op::SetTempo { v: 180.1 }, OpError::OutOfRange(Field::Tempo)),
        (
            Op::SetTempo { v: f64::NAN },
            OpError::NotFinite(Field::Tempo),
        ),
        (
            Op::SetTempo { v: f64::INFINITY },
            OpError::NotFinite(Field::Tempo),
        ),
        (Op::SetSwing { v: -0.1 }, OpError::OutOfRange(Field::Swing)),
        (Op::SetSwing { v: 100.1 }, OpError::OutOfRange(Field::Swing)),
        (
            Op::SetSwing {
                v: f64::NEG_INFINITY,
            },
            OpError::NotFinite(Field::Swing),
        ),
        (
            Op::SetVolume { tr: kick, v: nan },
            OpError::NotFinite(Field::Volume),
        ),
        (
            Op::SetVolume { tr: kick, v: -0.1 },
            OpError::OutOfRange(Field::Volume),
        ),
        (
            Op::SetVolume { tr: ghost, v: 0.5 },
            OpError::UnknownTrack(ghost),
        ),
        (
            Op::SetPan { tr: kick, v: 1.01 },
            OpError::OutOfRange(Field::Pan),
        ),
        (
            Op::SetPan {
                tr: kick,
                v: f32::INFINITY,
            },
            OpError::NotFinite(Field::Pan),
        ),
        (
            Op::SetName {
                tr: kick,
                v: "x".repeat(33),
            },
            OpError::InvalidName,
        ),
        (
            Op::SetName {
                tr: kick,
                v: "bell\u{7}".into(),
            },
            OpError::InvalidName,
        ),
        (
            Op::SetName {
                tr: ghost,
                v: "ok".into(),
            },
            OpError::UnknownTrack(ghost),
        ),
        (
            Op::SetInstrument {
                tr: ghost,
                v: "kick".parse().unwrap(),
            },
            OpError::UnknownTrack(ghost),
        ),
        (
            Op::SetLock {
                pt: PatternId::A,
                tr: kick,
                s: 0,
                lock: Lock::Slice(64),
            },
            OpError::OutOfRange(Field::Lock(LockKind::Slice)),
        ),
        (
            Op::SetLock {
                pt: PatternId::A,
                tr: kick,
                s: 0,
                lock: Lock::Slice(255),
            },
            OpError::OutOfRange(Field::Lock(LockKind::Slice)),
        ),
        (
            Op::SetLock {
                pt: PatternId::A,
                tr: kick,
                s: 0,
                lock: Lock::Condition(Condition::Ratio { a: 3, b: 2 }),
            },
            OpError::OutOfRange(Field::Lock(LockKind::Condition)),
        ),
        (
            Op::SetLock {
                pt: PatternId::A,
                tr: kick,
                s: 0,
                lock: Lock::Condition(Condition::Ratio { a: 1, b: 9 }),
            },
            OpError::OutOfRange(Field::Lock(LockKind::Condition)),
        ),
        (
            Op::SetLock {
                pt: PatternId::A,
                tr: kick,
                s: 0,
                lock: Lock::Cutoff(f32::NAN),
            },
            OpError::OutOfRange(Field::Lock(LockKind::Cutoff)),
        ),
        (
            Op::SetLock {
                pt: PatternId::A,
                tr: kick,
                s: 0,
                lock: Lock::Cutoff(19.0),
            },
            OpError::OutOfRange(Field::Lock(LockKind::Cutoff)),
        ),
        (
            Op::SetLock {
                pt: PatternId::A,
                tr: kick,
                s: 0,
                lock: Lock::ReverbSend(1.5),
            },
            OpError::OutOfRange(Field::Lock(LockKind::ReverbSend)),
        ),
        (
            Op::SetLock {
                pt: PatternId::A,
                tr: kick,
                s: 0,
                lock: Lock::DelaySend(f32::INFINITY),
            },
            OpError::OutOfRange(Field::Lock(LockKind::DelaySend)),
        ),
        (
            Op::SetCuts {
                tr: kick,
                v: vec![10, 5],
            },
            OpError::InvalidCuts,
        ),
        (
            Op::SetCuts {
                tr: kick,
                v: vec![0, 10, 10, 20],
            },
            OpError::InvalidCuts,
        ),
        (
            Op::SetCuts {
                tr: kick,
                v: (0..=MAX_SLICES as u32).collect(),
            },
            OpError::OutOfRange(Field::Cuts),
        ),
        (
            Op::SetCuts {
                tr: ghost,
                v: vec![1, 2],
            },
            OpError::UnknownTrack(ghost),
        ),
        (
            Op::AddTrack {
                track: Box::new(Track {
                    cuts: vec![3, 2],
                    ..Track::new(id("new"), "New", "sample:take".parse().unwrap())
                }),
                index: None,
            },
            OpError::InvalidCuts,
        ),
        (
            Op::SetPattern {
                pt: PatternId::A,
                tr: kick,
                len: 16,
                steps: Pattern(Box::new(
                    [Step {
                        locks: Locks {
                            slice: Some(64),
                            ..Locks::default()
                        },
                        ..Step::default()
                    }; 64],
                )),
            },
            OpError::OutOfRange(Field::Lock(LockKind::Slice)),
        ),
    ];
    for (op, want) in cases {
        let mut s = state();
        let before = s.clone();
        assert_eq!(s.apply(&op), Err(want.clone()), "{op:?}");
        assert_eq!(s, before, "state changed by refused {op:?}");
        assert!(!want.code().as_str().is_empty());
    }
}

#[test]
fn sixteen_track_cap() {
    let mut s = SessionState::default();
    for i in 0..MAX_TRACKS {
        let t = Track::new(TrackId::from_random(i as u64), "t", "kick".parse().unwrap());
        s.apply(&Op::AddTrack {
            track: Box::new(t),
            index: None,
        })
        .unwrap();
    }
    let before = s.clone();
    let extra = Track::new(id("extra"), "t", "kick".parse().unwrap());
    assert_eq!(
        s.apply(&Op::AddTrack {
            track: Box::new(extra),
            index: None
        }),
        Err(OpError::TooManyTracks)
    );
    assert_eq!(s, before);
}

#[test]
fn readonly_sessions_refuse_everyone_but_the_owner() {
    let mut session = Session::new(SessionId::from_random_bytes([1; 16]), 10, state());
    session.mode = Mode::Readonly;
    session.owner_id = Some("ada".into());
    let op = Op::SetStep {
        pt: PatternId::A,
        tr: id("kick"),
        s: 0,
        on: true,
    };
    let before = session.clone();
    assert_eq!(session.apply(&op, None, 20), Err(OpError::ReadOnly));
    assert_eq!(session.apply(&op, Some("bob"), 20), Err(OpError::ReadOnly));
    assert_eq!(session, before);
    session.apply(&op, Some("ada"), 20).unwrap();
    assert_eq!(session.updated_at, 20);
    session.mode = Mode::Collaborative;
    session
        .apply(
            &Op::SetStep {
                pt: PatternId::A,
                tr: id("kick"),
                s: 1,
                on: true,
            },
            None,
            30,
        )
        .unwrap();
    assert_eq!(session.updated_at, 30);
}

#[test]
fn ids_are_validated() {
    for bad in ["", "UPPER", "has space", "toolongid", "ü"] {
        assert_eq!(bad.parse::<TrackId>(), Err(OpError::InvalidId), "{bad:?}");
    }
    for bad in [
        "",
        "not-a-uuid",
        "00000000-0000-1000-8000-000000000000",
        "{6f2d8bcd-0b14-46ae-9f2d-8bcd0b1476ae}",
    ] {
        assert_eq!(bad.parse::<SessionId>(), Err(OpError::InvalidId), "{bad:?}");
    }
    let sid = SessionId::from_random_bytes([0xab; 16]);
    assert_eq!(sid.to_string().parse::<SessionId>(), Ok(sid));
    assert_eq!(sid.as_uuid().get_version_num(), 4);
    for bad in ["synth:nope", "sample:", "sample:a/b", "snare2"] {
        assert_eq!(
            bad.parse::<Instrument>(),
            Err(OpError::UnknownInstrument),
            "{bad:?}"
        );
    }
    assert_eq!(BuiltinSound::ALL.len(), 16);
    assert_eq!(SynthPreset::ALL.len(), 5);
    for s in BuiltinSound::ALL {
        assert_eq!(s.id().parse::<Instrument>(), Ok(Instrument::Sound(*s)));
    }
    for p in SynthPreset::ALL {
        assert_eq!(
            Instrument::Synth(*p).to_string().parse::<Instrument>(),
            Ok(Instrument::Synth(*p))
        );
    }
}

#[test]
fn fork_points_at_its_parent() {
    let parent = Session::new(
        SessionId::from_random_bytes([1; 16]),
        10,
        SessionState::demo(),
    );
    let child = parent.fork(SessionId::from_random_bytes([2; 16]), 99);
    assert_eq!(child.forked_from, Some(parent.id));
    assert_eq!(child.state, parent.state);
    assert_eq!(
        (child.created_at, child.mode, child.owner_id.clone()),
        (99, Mode::Collaborative, None)
    );
    SessionState::demo().validate().unwrap();
}

#[test]
fn effects_set_one_parameter_at_a_time_and_undo() {
    let kick = id("kick");
    let c = Change::TrackSettings { track: kick };
    for p in [
        TrackFxParam::Filter(FilterMode::LowPass),
        TrackFxParam::Filter(FilterMode::HighPass),
        TrackFxParam::Cutoff(20.0),
        TrackFxParam::Cutoff(20_000.0),
        TrackFxParam::Resonance(1.0),
        TrackFxParam::Drive(0.5),
        TrackFxParam::ReverbSend(1.0),
        TrackFxParam::DelaySend(0.3),
    ] {
        let s = apply_and_undo(Op::SetTrackFx { tr: kick, fx: p }, c.clone());
        assert_eq!(s.tracks[0].fx.get(p), p);
        let mut rest = s.tracks[0].fx;
        rest.set(TrackFx::default().get(p));
        assert!(rest.is_default(), "only {p:?} changed");
    }
    for p in [
        SessionFxParam::ReverbSize(0.0),
        SessionFxParam::ReverbSize(1.0),
        SessionFxParam::DelayTime(DelayTime::Quarter),
        SessionFxParam::DelayFeedback(0.9),
    ] {
        let s = apply_and_undo(Op::SetSessionFx { fx: p }, Change::Effects);
        assert_eq!(s.fx.get(p), p);
    }
    let base = state();
    for (op, e) in [
        (
            Op::SetTrackFx {
                tr: kick,
                fx: TrackFxParam::Cutoff(f32::NAN),
            },
            OpError::NotFinite(Field::Cutoff),
        ),
        (
            Op::SetTrackFx {
                tr: kick,
                fx: TrackFxParam::Cutoff(20_001.0),
            },
            OpError::OutOfRange(Field::Cutoff),
        ),
        (
            Op::SetTrackFx {
                tr: kick,
                fx: TrackFxParam::Resonance(-0.1),
            },
            OpError::OutOfRange(Field::Resonance),
        ),
        (
            Op::SetTrackFx {
                tr: kick,
                fx: TrackFxParam::Drive(f32::INFINITY),
            },
            OpError::NotFinite(Field::Drive),
        ),
        (
            Op::SetTrackFx {
                tr: kick,
                fx: TrackFxParam::ReverbSend(1.01),
            },
            OpError::OutOfRange(Field::ReverbSend),
        ),
        (
            Op::SetTrackFx {
                tr: kick,
                fx: TrackFxParam::DelaySend(f32::NAN),
            },
            OpError::NotFinite(Field::DelaySend),
        ),
        (
            Op::SetTrackFx {
                tr: id("ghost"),
                fx: TrackFxParam::Drive(0.1),
            },
            OpError::UnknownTrack(id("ghost")),
        ),
        (
            Op::SetSessionFx {
                fx: SessionFxParam::ReverbSize(f32::NAN),
            },
            OpError::NotFinite(Field::ReverbSize),
        ),
        (
            Op::SetSessionFx {
                fx: SessionFxParam::DelayFeedback(0.95),
            },
            OpError::OutOfRange(Field::DelayFeedback),
        ),
    ] {
        let mut s = base.clone();
        assert_eq!(s.apply(&op), Err(e), "{op:?}");
        assert_eq!(s, base, "state untouched by {op:?}");
    }
}
