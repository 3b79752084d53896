use super::*;
use crate::testing::{MemStore, MemTransport};
use keyboardia_core::edit::{cuts_op, neutral_lock};
use keyboardia_core::PatternId;
use keyboardia_core::{SessionState, MAX_SLICES, MAX_TRACKS, NAME_MAX_BYTES};

fn setup() -> (MemStore, Controller) {
    let store = MemStore::new(SessionState::demo());
    let mut n = 0u64;
    let c = Controller::new(
        store.state(),
        Box::new(move || {
            n += 12345;
            n
        }),
    );
    (store, c)
}

fn id(s: &str) -> TrackId {
    s.parse().unwrap()
}

/// Records what reaches the sink.
#[derive(Default)]
struct Log(std::sync::Mutex<Vec<Op>>);
impl OpSink for Log {
    fn send(&self, op: &Op) -> Result<(), OpError> {
        self.0.lock().unwrap().push(op.clone());
        Ok(())
    }
}

#[test]
fn click_sends_an_absolute_set_step_with_the_new_value() {
    let log = Log::default();
    let mut c = Controller::new(SessionState::demo(), Box::new(|| 1));
    c.click_cell(&log, id("kick"), 0, false); // on in the demo
    c.click_cell(&log, id("kick"), 1, false); // off in the demo
    assert_eq!(
        *log.0.lock().unwrap(),
        vec![
            Op::SetStep {
                pt: PatternId::A,
                tr: id("kick"),
                s: 0,
                on: false
            },
            Op::SetStep {
                pt: PatternId::A,
                tr: id("kick"),
                s: 1,
                on: true
            },
        ]
    );
}

#[test]
fn shift_click_opens_the_lock_editor_and_sends_nothing() {
    let log = Log::default();
    let mut c = Controller::new(SessionState::demo(), Box::new(|| 1));
    c.click_cell(&log, id("bass"), 3, true);
    assert_eq!(c.lock_target(), Some((id("bass"), 3)));
    assert!(log.0.lock().unwrap().is_empty());
    assert!(!c.can_undo());
}

#[test]
fn lock_edits_are_set_and_clear_lock_ops() {
    let log = Log::default();
    let mut c = Controller::new(SessionState::demo(), Box::new(|| 1));
    c.click_cell(&log, id("kick"), 4, true);
    c.set_lock(&log, neutral_lock(LockKind::Pitch), None);
    c.set_lock(&log, Lock::Pitch(7), None);
    c.clear_lock(&log, LockKind::Pitch);
    c.set_velocity(&log, 64, None);
    let tr = id("kick");
    assert_eq!(
        *log.0.lock().unwrap(),
        vec![
            Op::SetLock {
                pt: PatternId::A,
                tr,
                s: 4,
                lock: Lock::Pitch(0)
            },
            Op::SetLock {
                pt: PatternId::A,
                tr,
                s: 4,
                lock: Lock::Pitch(7)
            },
            Op::ClearLock {
                pt: PatternId::A,
                tr,
                s: 4,
                k: LockKind::Pitch
            },
            Op::SetVelocity {
                pt: PatternId::A,
                tr,
                s: 4,
                v: 64
            },
        ]
    );
    // Escape closes the editor; lock ops then go nowhere.
    c.command(
        &log,
        &MemTransport::new(false),
        false,
        Command::CloseLockEditor,
    );
    c.set_lock(&log, Lock::Pitch(3), None);
    assert_eq!(log.0.lock().unwrap().len(), 4);
}

#[test]
fn a_slider_drag_is_one_undo_entry() {
    let (store, mut c) = setup();
    let before = store.state();
    for v in [0.7, 0.6, 0.5, 0.4, 0.3] {
        c.edit(&store, Op::SetVolume { tr: id("kick"), v }, Some(42))
            .unwrap();
    }
    c.end_gesture();
    for v in [100.0, 120.0] {
        c.edit(&store, Op::SetTempo { v }, Some(7)).unwrap();
    }
    c.end_gesture();
    assert_eq!(c.undo_depth(), 2);
    assert_eq!(store.state().tracks[0].volume, 0.3);
    assert!(c.undo(&store));
    assert_eq!(store.state().tempo, before.tempo);
    assert_eq!(store.state().tracks[0].volume, 0.3);
    assert!(c.undo(&store));
    assert_eq!(store.state(), before);
    assert!(!c.undo(&store));
    assert!(c.redo(&store));
    assert_eq!(store.state().tracks[0].volume, 0.3);
    assert_eq!(store.state().tempo, before.tempo);
}

#[test]
fn undo_redo_sequences_restore_exact_states() {
    let (store, mut c) = setup();
    let mut states = vec![store.state()];
    let kick = id("kick");
    let ops = [
        Op::SetStep {
            pt: PatternId::A,
            tr: kick,
            s: 1,
            on: true,
        },
        Op::ClearTrack {
            pt: PatternId::A,
            tr: id("bass"),
        },
        Op::CopySequence {
            pt: PatternId::A,
            from: id("lead"),
            to: kick,
        },
        Op::SetInstrument {
            tr: id("snare"),
            v: "synth:pad".parse().unwrap(),
        },
        Op::SetStepCount {
            pt: PatternId::A,
            tr: kick,
            v: 48,
        },
        Op::SetPan {
            tr: id("hat"),
            v: -0.5,
        },
        Op::SetSwing { v: 60.0 },
        Op::DeleteTrack { tr: id("clap") },
    ];
    for op in ops {
        c.edit(&store, op, None).unwrap();
        states.push(store.state());
    }
    c.rename(
        &store,
        id("open"),
        "Open\u{7}  hat with a name far too long for core",
    );
    states.push(store.state());
    assert!(store.state().tracks[3].name.len() <= NAME_MAX_BYTES);
    c.add_track(&store).unwrap();
    states.push(store.state());
    assert_eq!(c.state(), &store.state());

    // Undo everything, checking each intermediate state exactly.
    for expected in states.iter().rev().skip(1) {
        assert!(c.undo(&store));
        assert_eq!(&store.state(), expected);
        assert_eq!(c.state(), expected);
    }
    assert!(!c.undo(&store));
    // Redo half, then a new edit drops the rest of the redo stack.
    for expected in &states[1..5] {
        assert!(c.redo(&store));
        assert_eq!(&store.state(), expected);
    }
    c.click_cell(&store, kick, 9, false);
    assert!(!c.can_redo());
    assert!(c.undo(&store));
    assert_eq!(store.state(), states[4]);
}

#[test]
fn a_recorded_take_becomes_an_empty_sample_track_up_to_the_cap() {
    let (store, mut c) = setup();
    let before = store.state();
    let id: SampleId = "rec-0123abcd".parse().unwrap();
    let tr = c.add_sample_track(&store, id.clone(), "Take 1").unwrap();
    let state = store.state();
    assert_eq!(state.tracks.len(), before.tracks.len() + 1);
    let t = state.track(tr).unwrap();
    assert_eq!(t.instrument, Instrument::Sample(id.clone()));
    assert_eq!(t.name, "Take 1");
    assert!(t.steps.iter().all(|s| !s.on), "a new track starts empty");
    // The other tracks are untouched.
    assert_eq!(state.tracks[..before.tracks.len()], before.tracks[..]);
    while c.state().tracks.len() < MAX_TRACKS {
        assert!(c.check_track_room());
        assert!(c.add_track(&store).is_some());
    }
    assert!(!c.check_track_room());
    let log = Log::default();
    assert_eq!(c.add_sample_track(&log, id, "Take 2"), None);
    assert!(log.0.lock().unwrap().is_empty());
    assert_eq!(c.notice(), Some(TRACK_CAP_NOTICE));
}

/// A session with one sample track (16 steps, empty) cut at `cuts`, and a controller on it.
fn sliced(cuts: &[u32]) -> (MemStore, Controller, TrackId) {
    let mut state = SessionState::demo();
    let mut t = Track::new(id("take"), "Take 1", "sample:rec-1".parse().unwrap());
    t.cuts = cuts.to_vec();
    state.tracks.push(t);
    let store = MemStore::new(state.clone());
    (store, Controller::new(state, Box::new(|| 1)), id("take"))
}

#[test]
fn cuts_op_sorts_drops_repeats_and_keeps_at_most_64() {
    let tr = id("take");
    assert_eq!(
        cuts_op(tr, &[900, 100, 500, 500]),
        Op::SetCuts {
            tr,
            v: vec![100, 500, 900]
        }
    );
    assert_eq!(cuts_op(tr, &[]), Op::SetCuts { tr, v: vec![] });
    let many: Vec<usize> = (0..100).map(|i| i * 10).collect();
    let Op::SetCuts { v, .. } = cuts_op(tr, &many) else {
        unreachable!()
    };
    assert_eq!(v, (0..64).map(|i| i * 10).collect::<Vec<u32>>());
    // Whatever the panel holds, core accepts it.
    let (store, mut c, tr) = sliced(&[]);
    c.edit(&store, cuts_op(tr, &many), None).unwrap();
    assert_eq!(store.state().track(tr).unwrap().cuts.len(), MAX_SLICES);
}

#[test]
fn laying_slices_turns_on_one_step_per_slice_locked_to_it_as_one_undo_entry() {
    let (store, mut c, tr) = sliced(&[0, 4_000, 9_000]);
    // A step already on with a velocity keeps it; steps past the slices stay as they are.
    c.edit(
        &store,
        Op::SetVelocity {
            pt: PatternId::A,
            tr,
            s: 1,
            v: 60,
        },
        None,
    )
    .unwrap();
    c.click_cell(&store, tr, 1, false);
    c.click_cell(&store, tr, 7, false);
    let depth = c.undo_depth();
    let log = Log::default();
    let mut logged = Controller::new(store.state(), Box::new(|| 1));
    assert_eq!(logged.lay_slices(&log, tr), 3);
    assert_eq!(
        *log.0.lock().unwrap(),
        vec![
            Op::SetStep {
                pt: PatternId::A,
                tr,
                s: 0,
                on: true
            },
            Op::SetLock {
                pt: PatternId::A,
                tr,
                s: 0,
                lock: Lock::Slice(0)
            },
            // Step 1 is on already: only its lock is sent.
            Op::SetLock {
                pt: PatternId::A,
                tr,
                s: 1,
                lock: Lock::Slice(1)
            },
            Op::SetStep {
                pt: PatternId::A,
                tr,
                s: 2,
                on: true
            },
            Op::SetLock {
                pt: PatternId::A,
                tr,
                s: 2,
                lock: Lock::Slice(2)
            },
        ]
    );

    assert_eq!(c.lay_slices(&store, tr), 3);
    let t = store.state().track(tr).unwrap().clone();
    for i in 0..3 {
        assert!(t.steps[i].on);
        assert_eq!(t.steps[i].locks.slice, Some(i as u8));
    }
    assert_eq!(t.steps[1].velocity, 60);
    assert!(t.steps[7].on && t.steps[7].locks.slice.is_none());
    assert_eq!(t.step_count, 16);
    assert_eq!(c.undo_depth(), depth + 1, "one undo entry");
    // (That the audio thread's pattern gets the locks too is tested in the plugin.)

    assert!(c.undo(&store));
    let after_undo = store.state();
    assert!(!after_undo.track(tr).unwrap().steps[0].on);
    assert!(after_undo.track(tr).unwrap().steps[..3]
        .iter()
        .all(|s| s.locks.slice.is_none()));
    assert!(c.redo(&store));
    assert_eq!(store.state().track(tr).unwrap(), &t);
    // Laying again changes nothing and records nothing.
    let depth = c.undo_depth();
    assert_eq!(c.lay_slices(&store, tr), 3);
    assert_eq!(c.undo_depth(), depth);
}

#[test]
fn laying_more_slices_than_steps_grows_the_step_count_to_a_preset() {
    let (store, mut c, tr) = sliced(&(0..20).map(|i| i * 1_000).collect::<Vec<_>>());
    assert_eq!(c.lay_slices(&store, tr), 20);
    let t = store.state().track(tr).unwrap().clone();
    assert_eq!(t.step_count, 32);
    assert!(t.steps[19].on && t.steps[19].locks.slice == Some(19));
    assert!(!t.steps[20].on);
    assert!(c.undo(&store));
    assert_eq!(store.state().track(tr).unwrap().step_count, 16);

    let (store, mut c, tr) = sliced(&(0..64).map(|i| i * 1_000).collect::<Vec<_>>());
    assert_eq!(c.lay_slices(&store, tr), 64);
    let t = store.state().track(tr).unwrap().clone();
    assert_eq!(t.step_count, 64);
    assert!(t
        .steps
        .iter()
        .enumerate()
        .all(|(i, s)| s.on && s.locks.slice == Some(i as u8)));
}

#[test]
fn laying_slices_needs_a_sample_track_with_cut_points() {
    let (store, mut c, tr) = sliced(&[]);
    let log = Log::default();
    assert_eq!(c.lay_slices(&log, tr), 0);
    assert!(c.notice().is_some());
    let mut c = Controller::new(store.state(), Box::new(|| 1));
    c.edit(
        &store,
        Op::SetCuts {
            tr: id("kick"),
            v: vec![5, 50],
        },
        None,
    )
    .unwrap();
    assert_eq!(c.lay_slices(&log, id("kick")), 0, "a kick has no slices");
    assert_eq!(c.lay_slices(&log, id("ghost")), 0);
    assert!(log.0.lock().unwrap().is_empty());
}

#[test]
fn the_lock_editor_offers_and_sets_the_slice_lock_on_sliced_sample_tracks_only() {
    let (store, mut c, tr) = sliced(&[10, 20, 30]);
    let state = store.state();
    assert!(lock_kinds(state.track(tr).unwrap()).any(|k| k == LockKind::Slice));
    assert_eq!(slice_count(state.track(tr).unwrap()), 3);
    assert!(!lock_kinds(state.track(id("kick")).unwrap()).any(|k| k == LockKind::Slice));
    assert_eq!(
        lock_kinds(state.track(id("kick")).unwrap()).count(),
        LockKind::ALL.len() - 1
    );
    let (bare_store, _, bare) = sliced(&[]);
    let bare_state = bare_store.state();
    assert!(!lock_kinds(bare_state.track(bare).unwrap()).any(|k| k == LockKind::Slice));

    // Shift+click a step, switch its slice lock on (slice 1) and pick slice 3.
    c.click_cell(&store, tr, 5, true);
    c.set_lock(&store, neutral_lock(LockKind::Slice), None);
    c.set_lock(&store, Lock::Slice(2), None);
    assert_eq!(
        store.state().track(tr).unwrap().steps[5].locks.slice,
        Some(2)
    );
    c.clear_lock(&store, LockKind::Slice);
    assert_eq!(store.state().track(tr).unwrap().steps[5].locks.slice, None);
    assert!(c.undo(&store));
    assert_eq!(
        store.state().track(tr).unwrap().steps[5].locks.slice,
        Some(2)
    );
}

#[test]
fn an_amended_edit_is_undone_and_redone_with_the_gesture_before_it() {
    let (store, mut c) = setup();
    let before = store.state();
    let tr = c
        .add_sample_track(&store, "rec-1".parse().unwrap(), "Take 1")
        .unwrap();
    assert!(c.amend(&store, cuts_op(tr, &[100, 2_000])).unwrap());
    assert_eq!(store.state().track(tr).unwrap().cuts, [100, 2_000]);
    assert_eq!(c.undo_depth(), 1, "one entry: the track with its cuts");
    assert!(c.undo(&store));
    assert_eq!(store.state(), before);
    assert!(c.redo(&store));
    assert_eq!(store.state().track(tr).unwrap().cuts, [100, 2_000]);
    // An amend with nothing to amend is an entry of its own; one that changes nothing is
    // not recorded.
    let (store, mut c) = setup();
    assert!(c.amend(&store, Op::SetSwing { v: 50.0 }).unwrap());
    assert!(!c.amend(&store, Op::SetSwing { v: 50.0 }).unwrap());
    assert_eq!(c.undo_depth(), 1);
    // A refused amend changes nothing.
    let refused = c.amend(
        &store,
        Op::SetCuts {
            tr: id("kick"),
            v: vec![2, 1],
        },
    );
    assert_eq!(refused, Err(OpError::InvalidCuts));
    assert!(store.state().tracks[0].cuts.is_empty());
    assert_eq!(c.undo_depth(), 1);
}

#[test]
fn the_sixteen_track_cap_shows_a_message_instead_of_an_op() {
    let (store, mut c) = setup();
    while c.state().tracks.len() < MAX_TRACKS {
        assert!(c.add_track(&store).is_some());
    }
    let log = Log::default();
    assert_eq!(c.add_track(&log), None);
    assert!(log.0.lock().unwrap().is_empty());
    assert_eq!(c.notice(), Some(TRACK_CAP_NOTICE));
    // New tracks get distinct unused sounds while there are some.
    let sounds: Vec<_> = store
        .state()
        .tracks
        .iter()
        .map(|t| t.instrument.clone())
        .collect();
    assert_eq!(sounds.len(), MAX_TRACKS);
    assert_eq!(store.state().tracks[8].instrument.to_string(), "tom_low");
}

#[test]
fn shortcuts_map_to_commands_and_play_stop_toggles_the_internal_clock() {
    use egui::{Key, Modifiers};
    let ctrl = Modifiers::COMMAND;
    let ctrl_shift = Modifiers::COMMAND | Modifiers::SHIFT;
    assert_eq!(
        shortcut(Key::Space, Modifiers::NONE, false),
        Some(Command::PlayStop)
    );
    assert_eq!(shortcut(Key::Space, Modifiers::NONE, true), None);
    assert_eq!(shortcut(Key::Z, ctrl, true), None);
    assert_eq!(
        shortcut(Key::Escape, Modifiers::NONE, true),
        Some(Command::CloseLockEditor)
    );
    assert_eq!(shortcut(Key::Z, ctrl, false), Some(Command::Undo));
    assert_eq!(shortcut(Key::Z, ctrl_shift, false), Some(Command::Redo));
    assert_eq!(shortcut(Key::Y, ctrl, false), Some(Command::Redo));
    assert_eq!(shortcut(Key::Z, Modifiers::NONE, false), None);
    assert_eq!(
        shortcut(Key::Escape, Modifiers::NONE, false),
        Some(Command::CloseLockEditor)
    );

    assert_eq!(
        shortcut(Key::Delete, Modifiers::NONE, false),
        Some(Command::ClearLocks)
    );
    assert_eq!(shortcut(Key::Backspace, Modifiers::NONE, true), None);

    let (store, mut c) = setup();
    let t = MemTransport::new(false);
    // Delete clears the open step's locks, as one undo entry.
    c.click_cell(&store, id("bass"), 3, true);
    c.command(&store, &t, false, Command::ClearLocks);
    assert!(store.state().tracks[6].steps[3].locks.is_empty());
    c.command(&store, &t, false, Command::Undo);
    assert_eq!(store.state().tracks[6].steps[3].locks.pitch, Some(12));
    c.command(&store, &t, false, Command::CloseLockEditor);
    c.command(&store, &t, false, Command::PlayStop);
    assert!(t.run());
    c.command(&store, &t, false, Command::PlayStop);
    assert!(!t.run());
    // Under the host's transport the host decides.
    c.command(&store, &t, true, Command::PlayStop);
    assert!(!t.run());

    let before = store.state();
    c.click_cell(&store, id("kick"), 2, false);
    c.command(&store, &t, false, Command::Undo);
    assert_eq!(store.state(), before);
    c.command(&store, &t, false, Command::Redo);
    assert!(store.state().tracks[0].steps[2].on);
}

/// Runs one egui frame (no window) with `events` and the modifier state `mods`.
fn frame(
    ctx: &egui::Context,
    events: Vec<egui::Event>,
    mods: egui::Modifiers,
    mut ui_fn: impl FnMut(&mut egui::Ui),
) {
    let mut all = vec![egui::Event::ModifiersChanged(mods)];
    all.extend(events);
    let input = egui::RawInput {
        events: all,
        screen_rect: Some(egui::Rect::from_min_size(
            egui::Pos2::ZERO,
            egui::vec2(1600.0, 900.0),
        )),
        ..Default::default()
    };
    let mut out = ctx.run_ui(input, |ui| ui_fn(ui));
    // No renderer here: drop the font textures deliberately.
    out.textures_delta.clear();
}

fn button(pos: egui::Pos2, pressed: bool, modifiers: egui::Modifiers) -> egui::Event {
    egui::Event::PointerButton {
        pos,
        button: egui::PointerButton::Primary,
        pressed,
        modifiers,
    }
}

#[test]
fn clicks_on_the_drawn_grid_become_set_step_ops_or_open_the_lock_editor() {
    use crate::grid::{self, CellClick, Geometry, RowLook};
    let g = Geometry {
        pitch_pt: grid::DEFAULT_PITCH_PT,
        row_height_pt: 52.0,
    };
    let look = RowLook {
        geometry: g,
        playhead: None,
        play_flash_age: 1.0,
        selected: None,
        dimmed: false,
        read_only: false,
    };
    let ctx = egui::Context::default();
    let demo = SessionState::demo();
    let bass = demo.tracks[6].clone(); // 32 steps
    let log = Log::default();
    let mut c = Controller::new(demo, Box::new(|| 1));
    let origin = std::cell::Cell::new(egui::Pos2::ZERO);
    let mut clicks = Vec::new();
    let mut draw = |ui: &mut egui::Ui| {
        origin.set(ui.cursor().min);
        if let Some(click) = grid::show(ui, &bass, &look, |_| None).press {
            clicks.push(click);
        }
    };
    frame(&ctx, vec![], egui::Modifiers::NONE, &mut draw);
    let at =
        |step: usize| origin.get() + egui::vec2(g.step_x(step) + g.cell_width_pt() / 2.0, 26.0);
    let mut click = |pos: egui::Pos2, mods: egui::Modifiers| {
        frame(&ctx, vec![egui::Event::PointerMoved(pos)], mods, &mut draw);
        frame(&ctx, vec![button(pos, true, mods)], mods, &mut draw);
        frame(&ctx, vec![button(pos, false, mods)], mods, &mut draw);
        frame(&ctx, vec![], mods, &mut draw);
    };
    click(at(1), egui::Modifiers::NONE);
    click(at(19), egui::Modifiers::SHIFT);
    // The page separator between steps 15 and 16 is not a step.
    click(
        at(15) + egui::vec2(g.cell_width_pt(), 0.0),
        egui::Modifiers::NONE,
    );
    assert_eq!(
        clicks,
        vec![
            CellClick {
                step: 1,
                shift: false
            },
            CellClick {
                step: 19,
                shift: true
            }
        ]
    );
    for cc in clicks {
        c.click_cell(&log, bass.id, cc.step, cc.shift);
    }
    assert_eq!(
        *log.0.lock().unwrap(),
        vec![Op::SetStep {
            pt: PatternId::A,
            tr: bass.id,
            s: 1,
            on: true
        }]
    );
    assert_eq!(c.lock_target(), Some((bass.id, 19)));
}

#[test]
fn a_real_slider_drag_sends_many_ops_and_undoes_as_one() {
    let ctx = egui::Context::default();
    let (store, mut c) = setup();
    let before = store.state();
    let kick = id("kick");
    let rect = std::cell::Cell::new(egui::Rect::NOTHING);
    let draw = |ui: &mut egui::Ui, c: &mut Controller| {
        let mut v = c.state().track(kick).unwrap().volume;
        let r = ui.add(egui::Slider::new(&mut v, keyboardia_core::VOLUME_RANGE));
        rect.set(r.rect);
        c.slider_edit(&store, &r, || Op::SetVolume { tr: kick, v });
    };
    let none = egui::Modifiers::NONE;
    frame(&ctx, vec![], none, |ui| draw(ui, &mut c));
    let rect = rect.get();
    let y = rect.center().y;
    let xs = [0.3, 0.4, 0.5, 0.6, 0.7].map(|f| rect.left() + f * rect.width() * 0.7);
    let start = egui::pos2(xs[0], y);
    frame(&ctx, vec![egui::Event::PointerMoved(start)], none, |ui| {
        draw(ui, &mut c)
    });
    frame(&ctx, vec![button(start, true, none)], none, |ui| {
        draw(ui, &mut c)
    });
    for x in &xs[1..] {
        let p = egui::pos2(*x, y);
        frame(&ctx, vec![egui::Event::PointerMoved(p)], none, |ui| {
            draw(ui, &mut c)
        });
    }
    let end = egui::pos2(xs[4], y);
    frame(&ctx, vec![button(end, false, none)], none, |ui| {
        draw(ui, &mut c)
    });
    frame(&ctx, vec![], none, |ui| draw(ui, &mut c));
    let after = store.state().tracks[0].volume;
    assert_ne!(
        after, before.tracks[0].volume,
        "the drag changed the volume"
    );
    assert_eq!(c.undo_depth(), 1, "one undo entry for the whole drag");
    assert!(c.undo(&store));
    assert_eq!(store.state(), before);
    assert!(c.redo(&store));
    assert_eq!(store.state().tracks[0].volume, after);
}

#[test]
fn an_edit_the_session_refuses_changes_nothing_and_is_not_recorded() {
    let (store, mut c) = setup();
    // Someone else deletes the track; our copy still has it until the next refresh.
    store.apply(&Op::DeleteTrack { tr: id("kick") }).unwrap();
    c.click_cell(&store, id("kick"), 1, false);
    assert!(!c.can_undo());
    assert!(c.notice().is_some());
    assert!(!c.state().tracks[0].steps[1].on);
    c.refresh(store.state());
    assert_eq!(c.state(), &store.state());
}

fn pt(s: &str) -> PatternId {
    s.parse().unwrap()
}

/// While pattern B is shown, every step-level edit names B (and leaves A alone); the undo of
/// an edit of B restores B and brings B back into view.
#[test]
fn edits_go_to_the_shown_pattern_and_undo_restores_it() {
    let (store, mut c) = setup();
    let a_before = store.state().tracks[0].steps;
    c.show(pt("B"));
    c.click_cell(&store, id("kick"), 2, false);
    c.set_step_count(&store, id("kick"), 32);
    c.click_cell(&store, id("kick"), 2, true);
    c.set_velocity(&store, 50, None);
    c.clear_all(&store);
    let s = store.state();
    let kick = s.track(id("kick")).unwrap();
    assert_eq!(kick.steps, a_before, "pattern A untouched");
    assert_eq!(kick.step_count, 16);
    assert_eq!(kick.step_count_in(pt("B")), 32);
    // Undo the clear and the velocity: B's step 3 is back on with velocity 50.
    c.show(PatternId::A);
    assert!(c.undo(&store));
    assert_eq!(
        c.shown(),
        pt("B"),
        "the undone edit's pattern comes into view"
    );
    let s = store.state();
    assert!(s.track(id("kick")).unwrap().steps_in(pt("B"))[2].on);
    while c.undo(&store) {}
    assert!(!store.state().pattern_in_use(pt("B")), "B empty again");
    assert_eq!(store.state().track(id("kick")).unwrap().steps, a_before);

    // Every op sent names B.
    let log = Log::default();
    let mut c = Controller::new(SessionState::demo(), Box::new(|| 1));
    c.show(pt("B"));
    c.paint_start(&log, id("kick"), 0);
    c.paint(&log, id("kick"), 1);
    c.paint_end();
    c.click_cell(&log, id("kick"), 4, true);
    c.set_lock(&log, Lock::Pitch(3), None);
    c.clear_lock(&log, LockKind::Pitch);
    c.set_step_count_repeating(&log, id("kick"), 16);
    let ops = log.0.lock().unwrap().clone();
    assert!(ops.len() >= 4);
    assert!(
        ops.iter().all(|op| op.pattern() == Some(pt("B"))),
        "{ops:?}"
    );
}

/// Cueing shows the pattern and asks the transport; copy and clear are one undoable op each.
#[test]
fn cue_copy_and_clear_patterns() {
    let (store, mut c) = setup();
    let t = MemTransport::new(false);
    c.cue(&t, pt("C"));
    assert_eq!(*t.cues.lock().unwrap(), vec![pt("C")]);
    assert_eq!(c.shown(), pt("C"));
    c.copy_pattern(&store, PatternId::A, pt("D"));
    assert_eq!(c.shown(), pt("D"));
    let s = store.state();
    assert_eq!(s.tracks[0].steps_in(pt("D")), &s.tracks[0].steps);
    c.clear_pattern(&store, PatternId::A);
    assert!(!store.state().pattern_in_use(PatternId::A));
    assert_eq!(c.undo_depth(), 2);
    c.undo(&store);
    assert!(store.state().pattern_in_use(PatternId::A));
    c.undo(&store);
    assert!(!store.state().pattern_in_use(pt("D")));
    c.set_switch_at(&store, keyboardia_core::SwitchAt::LongestTrack);
    assert_eq!(
        store.state().switch_at,
        keyboardia_core::SwitchAt::LongestTrack
    );
    c.undo(&store);
    assert_eq!(store.state().switch_at, keyboardia_core::SwitchAt::Bar);
}

/// The song list's edits: each one SetSong op with the whole new list, each undoable.
#[test]
fn song_list_edits_send_set_song_and_undo() {
    use keyboardia_core::SongEntry;
    let e = |p: &str, n: u8| SongEntry {
        pattern: pt(p),
        repeats: n,
    };
    let (store, mut c) = setup();
    c.song_add(&store);
    c.show(pt("B"));
    c.song_add(&store);
    c.song_add(&store);
    assert_eq!(store.state().song, vec![e("A", 1), e("B", 1), e("B", 1)]);
    c.song_repeats(&store, 1, 1);
    c.song_repeats(&store, 0, -1); // already at the floor: nothing
    c.song_move(&store, 1, 0);
    c.song_remove(&store, 2);
    assert_eq!(store.state().song, vec![e("B", 2), e("A", 1)]);
    assert_eq!(c.undo_depth(), 6, "one entry per edit");
    c.undo(&store);
    assert_eq!(store.state().song, vec![e("B", 2), e("A", 1), e("B", 1)]);
    c.undo(&store);
    assert_eq!(store.state().song, vec![e("A", 1), e("B", 2), e("B", 1)]);

    let log = Log::default();
    let mut c = Controller::new(SessionState::demo(), Box::new(|| 1));
    c.song_add(&log);
    assert_eq!(
        *log.0.lock().unwrap(),
        vec![Op::SetSong { v: vec![e("A", 1)] }]
    );
}
