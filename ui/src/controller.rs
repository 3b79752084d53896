//! The editor's logic without a window: what a click, a drag or a key does, as core ops sent to
//! the session (the same ops the network carries), with undo and redo of this player's own edits.
//! The egui code in the `editor` module only draws and forwards input here, so all of this is unit
//! tested. The rules that make valid ops live in core ([`keyboardia_core::edit`]).

use keyboardia_core::edit::{clean_name, slice_count};
use keyboardia_core::PatternId;
use keyboardia_core::{
    BuiltinSound, Change, Instrument, Lock, LockKind, Op, OpError, SampleId, SessionState, Track,
    TrackId, MAX_TRACKS, STEP_COUNT_RANGE,
};

use crate::host::{OpSink, Transport, TRACK_CAP_NOTICE};
use crate::undo::{Entry, UndoStack};

/// A keyboard command.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Command {
    /// Space: start or stop the internal clock.
    PlayStop,
    /// Ctrl+Z.
    Undo,
    /// Ctrl+Shift+Z or Ctrl+Y.
    Redo,
    /// Escape: close the lock editor.
    CloseLockEditor,
    /// Delete or Backspace: clear every lock of the step in the lock editor.
    ClearLocks,
    /// Up or Down: select the track above (-1) or below (+1) for keyboard step entry.
    SelectTrack(i8),
    /// Left or Right: the previous (-1) or next (+1) page of 16 steps for keyboard step entry.
    Page(i8),
    /// `1`–`8` and `Q`–`I`: toggle step 1–16 of the selected track's page.
    StepKey(u8),
    /// `F`: show or hide the effects panel (the editor's; the controller does nothing).
    ToggleFx,
}

/// The keys of keyboard step entry, in step order: two rows of eight, like a drum machine's
/// sixteen step buttons.
pub const STEP_KEYS: [egui::Key; 16] = {
    use egui::Key::*;
    [
        Num1, Num2, Num3, Num4, Num5, Num6, Num7, Num8, Q, W, E, R, T, Y, U, I,
    ]
};

/// Maps a key press to a command. `text_focused` is true while a text field has the keyboard, so
/// typing a space into a track name does not start playback.
pub fn shortcut(key: egui::Key, mods: egui::Modifiers, text_focused: bool) -> Option<Command> {
    use egui::Key;
    if text_focused && key != Key::Escape {
        // Typing (and the text field's own undo) belongs to the field.
        return None;
    }
    match key {
        Key::Space if !mods.any() => Some(Command::PlayStop),
        Key::Z if mods.command && mods.shift => Some(Command::Redo),
        Key::Z if mods.command => Some(Command::Undo),
        Key::Y if mods.command => Some(Command::Redo),
        Key::Escape => Some(Command::CloseLockEditor),
        Key::Delete | Key::Backspace if !mods.any() => Some(Command::ClearLocks),
        Key::ArrowUp if !mods.any() => Some(Command::SelectTrack(-1)),
        Key::ArrowDown if !mods.any() => Some(Command::SelectTrack(1)),
        Key::ArrowLeft if !mods.any() => Some(Command::Page(-1)),
        Key::ArrowRight if !mods.any() => Some(Command::Page(1)),
        Key::F if !mods.any() => Some(Command::ToggleFx),
        k if !mods.any() => STEP_KEYS
            .iter()
            .position(|s| *s == k)
            .map(|i| Command::StepKey(i as u8)),
        _ => None,
    }
}

/// The locks the lock editor offers for a step of `track`: every kind, except the slice lock
/// on tracks that have no slices to pick from.
pub fn lock_kinds(track: &Track) -> impl Iterator<Item = LockKind> {
    let slices = slice_count(track) > 0;
    LockKind::ALL
        .into_iter()
        .filter(move |k| *k != LockKind::Slice || slices)
}

/// The editor's state and logic.
pub struct Controller {
    /// The editor's copy of the session: updated by its own ops at once, refreshed from the
    /// shared session every frame (other editors, host state loads).
    state: SessionState,
    /// This player's undoable gestures.
    undo: UndoStack,
    /// The step whose parameter-lock editor is open (shift+click), by track id and step index.
    lock_target: Option<(TrackId, u8)>,
    /// A message for the user (e.g. the track cap), shown until the next edit.
    notice: Option<String>,
    /// Random numbers for new track ids (core draws none itself).
    random: Box<dyn FnMut() -> u64 + Send>,
    /// The track keyboard step entry edits (highlighted in the grid).
    selected: Option<TrackId>,
    /// The page of 16 steps keyboard step entry edits.
    page: u8,
    /// The value a drag paints (the first pressed step's new value), while a drag runs.
    paint: Option<bool>,
    /// The pattern the grid shows and every step-level edit goes to (not necessarily the one
    /// playing: a pattern can be edited before it is cued).
    shown: PatternId,
}

/// Groups a painting drag's steps into one undo entry.
const PAINT_GESTURE: u64 = 0x0000_9A17_0000_0001;
/// Groups "Clear all" into one undo entry.
const CLEAR_ALL_GESTURE: u64 = 0x0000_C1EA_0000_0A11;
/// Groups an instrument change and the name that follows it into one undo entry.
const SOUND_GESTURE: u64 = 0x0000_50DD_0000_0001;

impl Controller {
    /// A controller over `state`, drawing track ids from `random`.
    pub fn new(state: SessionState, random: Box<dyn FnMut() -> u64 + Send>) -> Self {
        Self {
            state,
            undo: UndoStack::default(),
            lock_target: None,
            notice: None,
            random,
            selected: None,
            page: 0,
            paint: None,
            shown: PatternId::A,
        }
    }

    /// A controller whose track ids come from the std library's random hasher keys.
    pub fn with_os_random(state: SessionState) -> Self {
        use std::hash::{BuildHasher, Hasher};
        let keys = std::collections::hash_map::RandomState::new();
        let mut counter = 0u64;
        Self::new(
            state,
            Box::new(move || {
                counter += 1;
                let mut h = keys.build_hasher();
                h.write_u64(counter);
                h.finish()
            }),
        )
    }

    pub fn state(&self) -> &SessionState {
        &self.state
    }

    /// The pattern the grid shows and step-level edits go to.
    pub fn shown(&self) -> PatternId {
        self.shown
    }

    /// Shows pattern `pt` in the grid (and edits it), without cueing it; keyboard entry
    /// starts again on its first page.
    pub fn show(&mut self, pt: PatternId) {
        if self.shown != pt {
            self.shown = pt;
            self.page = 0;
        }
    }

    /// Takes the shared session's current state (called once per frame).
    pub fn refresh(&mut self, state: SessionState) {
        if let Some((tr, _)) = self.lock_target {
            if state.track(tr).is_none() {
                self.lock_target = None;
            }
        }
        self.state = state;
    }

    pub fn notice(&self) -> Option<&str> {
        self.notice.as_deref()
    }

    /// Shows `text` to the user until the next edit.
    pub fn set_notice(&mut self, text: String) {
        self.notice = Some(text);
    }

    pub fn dismiss_notice(&mut self) {
        self.notice = None;
    }

    pub fn lock_target(&self) -> Option<(TrackId, u8)> {
        self.lock_target
    }

    pub fn close_lock_editor(&mut self) {
        self.lock_target = None;
    }

    pub fn can_undo(&self) -> bool {
        self.undo.can_undo()
    }

    pub fn can_redo(&self) -> bool {
        self.undo.can_redo()
    }

    /// Number of finished gestures that can be undone.
    pub fn undo_depth(&self) -> usize {
        self.undo.undo_len()
    }

    /// Applies `op` here and in the shared session and records it for undo, as part of gesture
    /// `gesture` (a drag) or on its own. Returns whether anything changed; an op that changes
    /// nothing is neither sent nor recorded.
    pub fn edit(
        &mut self,
        sink: &dyn OpSink,
        op: Op,
        gesture: Option<u64>,
    ) -> Result<bool, OpError> {
        let Some(revert) = self.apply_and_send(sink, &op)? else {
            return Ok(false);
        };
        self.undo.record(op, revert, gesture);
        Ok(true)
    }

    /// Like [`Controller::edit`], but the op joins the last undo entry: it completes the gesture
    /// before it (the cut points of the track "Add to grid" just added), so one undo takes both
    /// back.
    pub fn amend(&mut self, sink: &dyn OpSink, op: Op) -> Result<bool, OpError> {
        let Some(revert) = self.apply_and_send(sink, &op)? else {
            return Ok(false);
        };
        self.undo.amend(op, revert);
        Ok(true)
    }

    /// Applies `op` here, then in the shared session. Returns the op reverting it, or `None`
    /// when it changes nothing (then nothing is sent).
    fn apply_and_send(&mut self, sink: &dyn OpSink, op: &Op) -> Result<Option<Op>, OpError> {
        let applied = match self.state.apply(op) {
            Ok(a) => a,
            Err(e) => {
                self.notice = Some(format!("Edit refused: {e}"));
                return Err(e);
            }
        };
        if applied.change == Change::Nothing {
            return Ok(None);
        }
        if let Err(e) = sink.send(op) {
            // The shared session refused it (it changed under us): put our copy back.
            let _ = self.state.apply(&applied.undo);
            self.notice = Some(format!("Edit refused: {e}"));
            return Err(e);
        }
        self.notice = None;
        Ok(Some(applied.undo))
    }

    /// Ends a drag: its ops become one undo entry.
    pub fn end_gesture(&mut self) {
        self.undo.close();
    }

    /// A slider this frame: when its value changed, sends `op()` (the op setting the new value)
    /// as part of the slider's gesture, so a whole drag is one undo entry; the gesture ends when
    /// the drag stops. A click or key press on the slider is a gesture of its own.
    pub fn slider_edit(
        &mut self,
        sink: &dyn OpSink,
        response: &egui::Response,
        op: impl FnOnce() -> Op,
    ) {
        if response.changed() {
            let _ = self.edit(sink, op(), Some(response.id.value()));
            if !response.dragged() {
                self.end_gesture();
            }
        }
        if response.drag_stopped() {
            self.end_gesture();
        }
    }

    /// A click on step `step` of `track`: toggles it (an absolute set-step with the new value);
    /// with shift it opens the step's lock editor instead.
    pub fn click_cell(&mut self, sink: &dyn OpSink, track: TrackId, step: u8, shift: bool) {
        if shift {
            self.lock_target = Some((track, step));
            return;
        }
        let Some(on) = self
            .state
            .track(track)
            .and_then(|t| t.steps_in(self.shown).get(step as usize))
            .map(|s| s.on)
        else {
            return;
        };
        let _ = self.edit(
            sink,
            Op::SetStep {
                pt: self.shown,
                tr: track,
                s: step,
                on: !on,
            },
            None,
        );
    }

    /// Lock editor: sets a lock of the open step (`gesture` groups a slider drag).
    pub fn set_lock(&mut self, sink: &dyn OpSink, lock: Lock, gesture: Option<u64>) {
        if let Some((tr, s)) = self.lock_target {
            let _ = self.edit(
                sink,
                Op::SetLock {
                    pt: self.shown,
                    tr,
                    s,
                    lock,
                },
                gesture,
            );
        }
    }

    /// Lock editor: clears a lock of the open step.
    pub fn clear_lock(&mut self, sink: &dyn OpSink, kind: LockKind) {
        if let Some((tr, s)) = self.lock_target {
            let _ = self.edit(
                sink,
                Op::ClearLock {
                    pt: self.shown,
                    tr,
                    s,
                    k: kind,
                },
                None,
            );
        }
    }

    /// Lock editor: clears every lock of the open step as one undo entry.
    pub fn clear_all_locks(&mut self, sink: &dyn OpSink) {
        let Some((tr, s)) = self.lock_target else {
            return;
        };
        let gesture = u64::from(s) << 32 | 0xC1EA;
        for k in LockKind::ALL {
            let _ = self.edit(
                sink,
                Op::ClearLock {
                    pt: self.shown,
                    tr,
                    s,
                    k,
                },
                Some(gesture),
            );
        }
        self.undo.close();
    }

    /// Lock editor: sets the open step's velocity.
    pub fn set_velocity(&mut self, sink: &dyn OpSink, v: u8, gesture: Option<u64>) {
        if let Some((tr, s)) = self.lock_target {
            let _ = self.edit(
                sink,
                Op::SetVelocity {
                    pt: self.shown,
                    tr,
                    s,
                    v,
                },
                gesture,
            );
        }
    }

    /// Sets a track's step count (a preset button or the custom value).
    pub fn set_step_count(&mut self, sink: &dyn OpSink, tr: TrackId, v: u8) {
        let v = v.clamp(*STEP_COUNT_RANGE.start(), *STEP_COUNT_RANGE.end());
        let _ = self.edit(
            sink,
            Op::SetStepCount {
                pt: self.shown,
                tr,
                v,
            },
            None,
        );
    }

    /// Renames a track (the text is cleaned to what core accepts).
    pub fn rename(&mut self, sink: &dyn OpSink, tr: TrackId, text: &str) {
        let _ = self.edit(
            sink,
            Op::SetName {
                tr,
                v: clean_name(text),
            },
            None,
        );
    }

    /// Adds a track at the end playing the first built-in sound no track uses yet. At the cap it
    /// sends nothing and sets [`TRACK_CAP_NOTICE`].
    pub fn add_track(&mut self, sink: &dyn OpSink) -> Option<TrackId> {
        if self.state.tracks.len() >= MAX_TRACKS {
            self.notice = Some(TRACK_CAP_NOTICE.to_owned());
            return None;
        }
        let sound = BuiltinSound::ALL
            .iter()
            .copied()
            .find(|s| {
                !self
                    .state
                    .tracks
                    .iter()
                    .any(|t| t.instrument == Instrument::Sound(*s))
            })
            .unwrap_or(BuiltinSound::Kick);
        self.add_track_playing(sink, sound.label(), Instrument::Sound(sound))
    }

    /// Adds an empty track at the end playing the sample `sample` (a recorded take), named
    /// `name`. At the cap it sends nothing and sets [`TRACK_CAP_NOTICE`].
    pub fn add_sample_track(
        &mut self,
        sink: &dyn OpSink,
        sample: SampleId,
        name: &str,
    ) -> Option<TrackId> {
        if self.state.tracks.len() >= MAX_TRACKS {
            self.notice = Some(TRACK_CAP_NOTICE.to_owned());
            return None;
        }
        self.add_track_playing(sink, &clean_name(name), Instrument::Sample(sample))
    }

    /// Whether another track fits (the 16-track cap); sets [`TRACK_CAP_NOTICE`] if not.
    pub fn check_track_room(&mut self) -> bool {
        let room = self.state.tracks.len() < MAX_TRACKS;
        if !room {
            self.notice = Some(TRACK_CAP_NOTICE.to_owned());
        }
        room
    }

    fn add_track_playing(
        &mut self,
        sink: &dyn OpSink,
        name: &str,
        instrument: Instrument,
    ) -> Option<TrackId> {
        let id = loop {
            let id = TrackId::from_random((self.random)());
            if self.state.track(id).is_none() {
                break id;
            }
        };
        let track = Track::new(id, name, instrument);
        let op = Op::AddTrack {
            track: Box::new(track),
            index: None,
        };
        self.edit(sink, op, None).ok().map(|_| id)
    }

    /// Lays the slices of sample track `tr` across its steps: for each slice `i` (one per cut
    /// point), step `i` on and locked to slice `i`; as one undo entry. The step count grows to
    /// the smallest preset (16, 32, 64) that holds every slice, never shrinks; the other steps,
    /// velocities and other locks stay as they are. Returns how many slices were laid; 0 (and a
    /// notice, nothing sent) when the track is not a sample track with cut points.
    pub fn lay_slices(&mut self, sink: &dyn OpSink, tr: TrackId) -> usize {
        let Some(ops) = keyboardia_core::edit::lay_slices_in(&self.state, tr, self.shown) else {
            if self.state.track(tr).is_some() {
                self.notice =
                    Some("Only a sample track with cut points has slices to lay out.".to_owned());
            }
            return 0;
        };
        /// Groups the batch into one undo entry.
        const GESTURE: u64 = 0x0051_1CE5;
        self.undo.close();
        let n = self
            .state
            .track(tr)
            .map_or(0, keyboardia_core::edit::slice_count);
        for op in ops {
            let _ = self.edit(sink, op, Some(GESTURE));
        }
        self.undo.close();
        n
    }

    /// Deletes a track (undo puts it back where it was, steps and all).
    pub fn delete_track(&mut self, sink: &dyn OpSink, tr: TrackId) {
        if self.lock_target.is_some_and(|(t, _)| t == tr) {
            self.lock_target = None;
        }
        let _ = self.edit(sink, Op::DeleteTrack { tr }, None);
    }

    /// Undoes this player's last gesture.
    pub fn undo(&mut self, sink: &dyn OpSink) -> bool {
        let Some(entry) = self.undo.pop_undo() else {
            return false;
        };
        for (_, revert) in entry.ops.iter().rev() {
            self.replay(sink, revert);
        }
        // What changed comes into view: undoing an edit of pattern B shows B.
        if let Some(pt) = entry.ops.iter().find_map(|(forward, _)| forward.pattern()) {
            self.show(pt);
        }
        self.undo.push_redo(entry);
        true
    }

    /// Redoes the last undone gesture.
    pub fn redo(&mut self, sink: &dyn OpSink) -> bool {
        let Some(entry) = self.undo.pop_redo() else {
            return false;
        };
        if let Some(pt) = entry.ops.iter().find_map(|(forward, _)| forward.pattern()) {
            self.show(pt);
        }
        let mut again = Entry::default();
        for (forward, _) in &entry.ops {
            if let Some(revert) = self.replay(sink, forward) {
                again.ops.push((forward.clone(), revert));
            }
        }
        if !again.ops.is_empty() {
            self.undo.push_undo(again);
        }
        true
    }

    /// Applies an undo/redo op here and in the shared session; returns the op reverting it.
    fn replay(&mut self, sink: &dyn OpSink, op: &Op) -> Option<Op> {
        let applied = match self.state.apply(op) {
            Ok(a) => a,
            Err(e) => {
                // Someone else changed what this op refers to (e.g. deleted the track).
                self.notice = Some(format!("Could not undo/redo one edit: {e}"));
                return None;
            }
        };
        if let Err(e) = sink.send(op) {
            let _ = self.state.apply(&applied.undo);
            self.notice = Some(format!("Could not undo/redo one edit: {e}"));
            return None;
        }
        Some(applied.undo)
    }

    /// Runs a keyboard command. Play/stop only acts on the internal clock (`host_clock` false);
    /// under a host's transport the host decides.
    pub fn command(
        &mut self,
        sink: &dyn OpSink,
        transport: &dyn Transport,
        host_clock: bool,
        cmd: Command,
    ) {
        match cmd {
            Command::PlayStop => {
                if !host_clock {
                    transport.set_run(!transport.run());
                }
            }
            Command::Undo => {
                self.undo(sink);
            }
            Command::Redo => {
                self.redo(sink);
            }
            Command::CloseLockEditor => self.close_lock_editor(),
            Command::ToggleFx => {}
            Command::ClearLocks => self.clear_all_locks(sink),
            Command::SelectTrack(d) => self.select_next(d),
            Command::Page(d) => {
                let pages = self.selected_track().map_or(1, |t| {
                    (t.step_count_in(self.shown) as usize).div_ceil(crate::grid::PAGE_STEPS)
                });
                self.page = (self.page as i32 + i32::from(d)).clamp(0, pages as i32 - 1) as u8;
            }
            Command::StepKey(k) => {
                let Some(t) = self.selected_track() else {
                    self.select_next(1);
                    return;
                };
                let step = self.page as usize * crate::grid::PAGE_STEPS + k as usize;
                if step < t.step_count_in(self.shown) as usize {
                    let tr = t.id;
                    self.click_cell(sink, tr, step as u8, false);
                }
            }
        }
    }

    /// The track keyboard step entry edits, if it still exists.
    pub fn selected_track(&self) -> Option<&Track> {
        self.selected.and_then(|t| self.state.track(t))
    }

    /// The page of 16 steps keyboard step entry edits.
    pub fn page(&self) -> u8 {
        self.page
    }

    /// Selects track `tr` for keyboard step entry.
    pub fn select(&mut self, tr: TrackId) {
        if self.selected != Some(tr) {
            self.selected = Some(tr);
            self.page = 0;
        }
    }

    /// Selects the track `d` rows below the selected one (the first when none is).
    fn select_next(&mut self, d: i8) {
        let n = self.state.tracks.len();
        if n == 0 {
            return;
        }
        let at = match self.selected.and_then(|t| self.state.track_index(t)) {
            Some(i) => (i as i32 + i32::from(d)).clamp(0, n as i32 - 1) as usize,
            None => 0,
        };
        let tr = self.state.tracks[at].id;
        self.select(tr);
    }

    /// A press on step `s` of `tr` starts painting: the step flips, and every step the drag
    /// crosses ([`Controller::paint`]) gets the same value, all as one undo entry. Returns the
    /// value painted.
    pub fn paint_start(&mut self, sink: &dyn OpSink, tr: TrackId, s: u8) -> Option<bool> {
        let on = !self
            .state
            .track(tr)?
            .steps_in(self.shown)
            .get(s as usize)?
            .on;
        self.undo.close();
        self.paint = Some(on);
        self.select(tr);
        self.paint(sink, tr, s);
        Some(on)
    }

    /// The drag is over step `s` of `tr`: it gets the painted value (within the track's steps).
    pub fn paint(&mut self, sink: &dyn OpSink, tr: TrackId, s: u8) {
        let Some(on) = self.paint else {
            return;
        };
        if self
            .state
            .track(tr)
            .is_some_and(|t| s < t.step_count_in(self.shown))
        {
            let _ = self.edit(
                sink,
                Op::SetStep {
                    pt: self.shown,
                    tr,
                    s,
                    on,
                },
                Some(PAINT_GESTURE),
            );
        }
    }

    /// Whether a painting drag runs.
    pub fn painting(&self) -> bool {
        self.paint.is_some()
    }

    /// The drag ends: its steps become one undo entry.
    pub fn paint_end(&mut self) {
        if self.paint.take().is_some() {
            self.undo.close();
        }
    }

    /// Clears every track's steps as one undo entry.
    pub fn clear_all(&mut self, sink: &dyn OpSink) {
        self.undo.close();
        let ids: Vec<TrackId> = self.state.tracks.iter().map(|t| t.id).collect();
        for tr in ids {
            let _ = self.edit(
                sink,
                Op::ClearTrack { pt: self.shown, tr },
                Some(CLEAR_ALL_GESTURE),
            );
        }
        self.undo.close();
    }

    /// Sets a track's step count; growing with `repeat`, the steps there are repeat over the
    /// new ones (like a drum machine's page copy), as one undo entry.
    pub fn set_step_count_repeating(&mut self, sink: &dyn OpSink, tr: TrackId, v: u8) {
        let Some(t) = self.state.track(tr) else {
            return;
        };
        let (old, new) = (t.step_count_in(self.shown) as usize, v as usize);
        if new <= old || new > keyboardia_core::MAX_STEPS {
            self.set_step_count(sink, tr, v);
            return;
        }
        let mut steps = *t.steps_in(self.shown);
        for i in old..new {
            steps[i] = steps[i % old];
        }
        let op = Op::SetPattern {
            pt: self.shown,
            tr,
            len: v,
            steps: keyboardia_core::Pattern(Box::new(steps)),
        };
        let _ = self.edit(sink, op, None);
    }

    /// Changes a track's sound; a name that still follows the sound (the old sound's label,
    /// `old_label`) becomes the new one's (`new_label`), in the same undo entry.
    pub fn set_instrument(
        &mut self,
        sink: &dyn OpSink,
        tr: TrackId,
        v: Instrument,
        old_label: &str,
        new_label: &str,
    ) {
        let Some(t) = self.state.track(tr) else {
            return;
        };
        let follows = t.name == clean_name(old_label);
        self.undo.close();
        let _ = self.edit(sink, Op::SetInstrument { tr, v }, Some(SOUND_GESTURE));
        if follows {
            let name = clean_name(new_label);
            let _ = self.edit(sink, Op::SetName { tr, v: name }, Some(SOUND_GESTURE));
        }
        self.undo.close();
    }

    /// Lays the Euclidean rhythm E(`hits`, `steps`) rotated by `rotation` on track `tr` in the
    /// shown pattern, its step count there becoming `steps`
    /// ([`keyboardia_core::edit::euclid_fill_in`]): one op, one undo entry. Inputs it refuses
    /// leave a notice and send nothing.
    pub fn euclid(&mut self, sink: &dyn OpSink, tr: TrackId, hits: u8, steps: u8, rotation: u8) {
        let pt = self.shown();
        match keyboardia_core::edit::euclid_fill_in(&self.state, tr, pt, hits, steps, rotation) {
            Ok(op) => {
                let _ = self.edit(sink, op, None);
            }
            Err(e) => self.notice = Some(format!("Euclid: {e}")),
        }
    }

    /// Gives a track a colour of the palette, or its sound family's (`None`).
    pub fn set_color(&mut self, sink: &dyn OpSink, tr: TrackId, v: Option<u8>) {
        let _ = self.edit(sink, Op::SetColor { tr, v }, None);
    }
}

#[cfg(test)]
mod tests;
