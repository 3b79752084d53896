//! The parameter-lock editor of one step (Shift+click or right-click a step): velocity and each
//! lock, a checkbox that sets or clears it and a slider for its value.

use egui::Slider;
use keyboardia_core::edit::{slice_count, track_lock};
use keyboardia_core::{
    Lock, LockKind, Op, CUTOFF_HZ_RANGE, FX_AMOUNT_RANGE, LOCK_VOLUME_RANGE, NUDGE_RANGE,
    PITCH_RANGE, PROBABILITY_RANGE, RATCHET_RANGE, SLICE_RANGE, VELOCITY_RANGE,
};

use super::condition_picker::condition_picker;
use super::Editor;
use crate::controller::lock_kinds;
use crate::host::Host;

impl<H: Host> Editor<H> {
    pub(super) fn lock_editor(&mut self, ui: &mut egui::Ui) {
        let Some((tr, s)) = self.controller.lock_target() else {
            return;
        };
        let Some(track) = self.controller.state().track(tr).cloned() else {
            return;
        };
        let pt = self.controller.shown();
        let step = track.steps_in(pt)[s as usize];
        ui.add_space(4.0);
        ui.horizontal(|ui| {
            ui.strong(format!("Step locks: {} · step {}", track.name, s + 1));
            if ui.button("Clear locks").on_hover_text("Delete").clicked() {
                let session = self.host.store();
                self.controller.clear_all_locks(session);
            }
            if ui.button("Close").on_hover_text("Esc").clicked() {
                self.controller.close_lock_editor();
            }
        });
        egui::Grid::new("locks").num_columns(6).show(ui, |ui| {
            ui.label("Velocity");
            let mut v = step.velocity;
            let r = ui.add(Slider::new(&mut v, VELOCITY_RANGE));
            self.slider(&r, || Op::SetVelocity { pt, tr, s, v });
            let slices = slice_count(&track);
            for (i, kind) in lock_kinds(&track).enumerate() {
                if i % 3 == 2 {
                    ui.end_row();
                }
                self.lock_row(ui, step.locks.get(kind), track_lock(&track, kind), slices);
            }
        });
        ui.add_space(4.0);
    }

    /// One lock: a checkbox that sets/clears it and a slider for its value (`start`: the value
    /// it gets when switched on; `slices`: how many slices the track's sample has, for the
    /// slice lock).
    fn lock_row(&mut self, ui: &mut egui::Ui, current: Option<Lock>, start: Lock, slices: usize) {
        let kind = start.kind();
        let mut locked = current.is_some();
        if ui.checkbox(&mut locked, lock_label(kind)).changed() {
            let session = self.host.store();
            if locked {
                self.controller.set_lock(session, start, None);
            } else {
                self.controller.clear_lock(session, kind);
            }
        }
        let value = current.unwrap_or(start);
        let mut out = None;
        let r = ui.add_enabled_ui(locked, |ui| match value {
            Lock::Pitch(mut v) => {
                let r = ui.add(Slider::new(&mut v, PITCH_RANGE).suffix(" st"));
                out = Some(Lock::Pitch(v));
                r
            }
            Lock::Volume(mut v) => {
                let r = ui.add(Slider::new(&mut v, LOCK_VOLUME_RANGE));
                out = Some(Lock::Volume(v));
                r
            }
            Lock::Probability(mut v) => {
                let r = ui.add(Slider::new(&mut v, PROBABILITY_RANGE).suffix(" %"));
                out = Some(Lock::Probability(v));
                r
            }
            Lock::Nudge(mut v) => {
                let r = ui.add(Slider::new(&mut v, NUDGE_RANGE).suffix(" %"));
                out = Some(Lock::Nudge(v));
                r
            }
            Lock::Ratchet(mut v) => {
                let r = ui.add(Slider::new(&mut v, RATCHET_RANGE).suffix("×"));
                out = Some(Lock::Ratchet(v));
                r
            }
            Lock::Slice(mut v) => {
                // The track's own slices, numbered from 1 like the steps (a lock past the last
                // slice, left by fewer cuts, stays reachable).
                let last = (slices.max(1) as u8 - 1).max(v).min(*SLICE_RANGE.end());
                let r = ui.add(
                    Slider::new(&mut v, 0..=last)
                        .custom_formatter(|n, _| format!("{}", n as u32 + 1))
                        .custom_parser(|t| t.trim().parse::<f64>().ok().map(|n| n - 1.0)),
                );
                out = Some(Lock::Slice(v));
                r
            }
            Lock::Condition(mut c) => {
                let r = condition_picker(ui, &mut c);
                out = Some(Lock::Condition(c));
                r
            }
            Lock::Cutoff(mut v) => {
                let r = ui.add(
                    Slider::new(&mut v, CUTOFF_HZ_RANGE)
                        .logarithmic(true)
                        .suffix(" Hz"),
                );
                out = Some(Lock::Cutoff(v));
                r
            }
            Lock::ReverbSend(mut v) => {
                let r = ui.add(Slider::new(&mut v, FX_AMOUNT_RANGE));
                out = Some(Lock::ReverbSend(v));
                r
            }
            Lock::DelaySend(mut v) => {
                let r = ui.add(Slider::new(&mut v, FX_AMOUNT_RANGE));
                out = Some(Lock::DelaySend(v));
                r
            }
        });
        if let (Some((tr, s)), Some(lock)) = (self.controller.lock_target(), out) {
            let pt = self.controller.shown();
            self.slider(&r.inner, || Op::SetLock { pt, tr, s, lock });
        }
    }
}

fn lock_label(kind: LockKind) -> &'static str {
    match kind {
        LockKind::Pitch => "Pitch",
        LockKind::Volume => "Volume",
        LockKind::Probability => "Probability",
        LockKind::Nudge => "Nudge",
        LockKind::Ratchet => "Ratchet",
        LockKind::Slice => "Slice",
        LockKind::Condition => "Condition",
        LockKind::Cutoff => "Cutoff",
        LockKind::ReverbSend => "Reverb send",
        LockKind::DelaySend => "Delay send",
    }
}
