//! The editor: transport bar, one row per track (fixed-width controls, then the step grid with
//! its own step count, page separators and playhead, scrolling sideways past the view), the
//! parameter-lock editor (shift+click), keyboard shortcuts and undo/redo, the session bar and the
//! record panel.
//!
//! Every pattern edit is a core [`Op`] sent through the host's [`Store`](crate::host::Store),
//! the same ops the network carries; the playheads come from the host's
//! [`Transport`](crate::host::Transport). Mute, solo and the clock are this player's own mixer
//! settings, so they are the host's parameters ([`Settings`](crate::host::Settings)). All
//! decisions live in [`crate::controller`] (unit tested without a window); this file only draws.

use egui::{Align, Color32, ComboBox, Layout, RichText, ScrollArea, Slider, UiBuilder, Vec2};
use keyboardia_core::edit::{neutral_lock, slice_count};
use keyboardia_core::{
    BuiltinSound, Instrument, Lock, LockKind, Op, SynthPreset, Track, TrackId, LOCK_VOLUME_RANGE,
    MAX_TRACKS, NAME_MAX_BYTES, NUDGE_RANGE, PAN_RANGE, PITCH_RANGE, PROBABILITY_RANGE,
    RATCHET_RANGE, SLICE_RANGE, STEP_COUNT_PRESETS, STEP_COUNT_RANGE, SWING_RANGE, TEMPO_RANGE,
    VELOCITY_RANGE, VOLUME_RANGE,
};

use crate::controller::{lock_kinds, shortcut, Command, Controller};
use crate::host::{step_of, ClockMode, Host};
use crate::{grid, record_panel, session_bar};

/// Default window size in logical points: room for the controls and a full 64-step grid.
pub const DEFAULT_SIZE_PT: (f64, f64) = (1400.0, 720.0);
/// Smallest window the editor can be resized to, in logical points.
pub const MIN_SIZE_PT: (f32, f32) = (720.0, 400.0);
/// Width of every track's control block, in points: fixed, so nothing shifts while playing.
pub const CONTROLS_WIDTH_PT: f32 = 372.0;
/// Height of one track row, in points.
pub const ROW_HEIGHT_PT: f32 = 52.0;
/// Width of the volume and pan sliders of a sliced sample track, in points (narrower than the
/// others' so its "Slices" button fits the column).
pub const SLICED_SLIDER_WIDTH_PT: f32 = 40.0;

/// The editor's GUI-thread state, over its host `H`.
pub struct Editor<H> {
    /// What the editor reads and commands.
    host: H,
    /// The input → op logic and the undo stack.
    controller: Controller,
    /// Track names being typed (committed as one op when the field loses focus).
    name_edits: Vec<(TrackId, String)>,
    /// A custom step count being typed, per track.
    custom_count: Option<(TrackId, u8)>,
    /// The live-session controls.
    session_bar: session_bar::SessionBar,
    /// Record, meter, the take's waveform, preview and "Add to grid".
    record_panel: record_panel::RecordPanel,
    /// Where each track's grid row was drawn in the last frame (screen points), so a host can
    /// tell where a step is (the browser app's test hook clicks there).
    grid_rows: Vec<(TrackId, egui::Rect)>,
}

impl<H: Host> Editor<H> {
    /// An editor over `host`, drawing new track ids from the OS's randomness.
    pub fn new(host: H) -> Self {
        let controller = Controller::with_os_random(host.store().state());
        Self::with_controller(host, controller)
    }

    /// An editor over `host` with its logic in `controller`.
    pub fn with_controller(host: H, controller: Controller) -> Self {
        let session_bar = session_bar::SessionBar::new(host.live().default_server());
        Self {
            host,
            controller,
            name_edits: Vec::new(),
            custom_count: None,
            session_bar,
            record_panel: record_panel::RecordPanel::default(),
            grid_rows: Vec::new(),
        }
    }

    /// The host.
    pub fn host(&self) -> &H {
        &self.host
    }

    /// The host, to hand it what only exists once a window is open.
    pub fn host_mut(&mut self) -> &mut H {
        &mut self.host
    }

    /// The editor's logic (undo, the lock editor's target).
    pub fn controller(&mut self) -> &mut Controller {
        &mut self.controller
    }

    /// Draws one frame into `ui` and handles this frame's keys.
    pub fn ui(&mut self, ui: &mut egui::Ui) {
        self.controller.refresh(self.host.store().state());
        self.keyboard(ui);
        egui::Panel::top("transport").show(ui, |ui| self.transport_bar(ui));
        egui::Panel::top("session").show(ui, |ui| {
            self.session_bar
                .ui(ui, self.host.live(), self.host.transport());
        });
        egui::Panel::bottom("record").show(ui, |ui| {
            self.record_panel.ui(
                ui,
                self.host.recorder(),
                self.host.live(),
                self.host.store(),
                &mut self.controller,
            );
        });
        if self.controller.lock_target().is_some() {
            // Below the grid, so it never hides a step.
            egui::Panel::bottom("locks").show(ui, |ui| self.lock_editor(ui));
        }
        egui::CentralPanel::default().show(ui, |ui| self.tracks(ui));
        if self.host.transport().playing() || self.host.live().is_joined() {
            // Playheads move, and other players' edits and presence arrive: draw at display rate.
            ui.ctx().request_repaint();
        }
    }

    /// Where step `step` of track `track` was drawn in the last frame (screen points), if it was.
    pub fn cell_rect(&self, track: TrackId, step: u8) -> Option<egui::Rect> {
        let (_, row) = self.grid_rows.iter().find(|(t, _)| *t == track)?;
        Some(grid::cell_rect(*row, ROW_HEIGHT_PT, step))
    }

    /// Where each track's grid row was drawn in the last frame (screen points), in order.
    pub fn grid_rows(&self) -> &[(TrackId, egui::Rect)] {
        &self.grid_rows
    }

    /// The window closed: a held Record button is let go.
    pub fn closed(&mut self) {
        self.record_panel.release(self.host.recorder());
    }

    fn standalone(&self) -> bool {
        self.host.settings().standalone()
    }

    /// Whether a clock outside this editor (the host's transport, or any clock but the
    /// internal one) starts and stops playback, so the Play button has nothing to do.
    fn host_clock(&self) -> bool {
        !self.standalone() && self.host.settings().clock() != ClockMode::Internal
    }

    /// In a live session on the session clock: whether the shared transport plays (Play and
    /// space then start and stop it for everybody). `None` otherwise.
    fn session_playing(&self) -> Option<bool> {
        let session_clock = self.standalone() || self.host.settings().clock() == ClockMode::Session;
        let live = self.host.live();
        (session_clock && live.is_joined()).then(|| live.timeline_playing().unwrap_or(false))
    }

    fn keyboard(&mut self, ui: &mut egui::Ui) {
        let text_focused = ui.ctx().text_edit_focused();
        let presses: Vec<_> = ui.input(|i| {
            i.events
                .iter()
                .filter_map(|e| match e {
                    egui::Event::Key {
                        key,
                        pressed: true,
                        repeat: false,
                        modifiers,
                        ..
                    } => Some((*key, *modifiers)),
                    _ => None,
                })
                .collect()
        });
        let host_clock = self.host_clock();
        let session_playing = self.session_playing();
        for (key, mods) in presses {
            if let Some(cmd) = shortcut(key, mods, text_focused) {
                if let (Command::PlayStop, Some(playing)) = (cmd, session_playing) {
                    self.host.live().set_playing(!playing);
                    continue;
                }
                self.controller
                    .command(self.host.store(), self.host.transport(), host_clock, cmd);
            }
        }
    }

    /// A slider's edit: one undo entry per drag (see [`Controller::slider_edit`]).
    fn slider(&mut self, response: &egui::Response, op: impl FnOnce() -> Op) {
        self.controller.slider_edit(self.host.store(), response, op);
    }

    fn transport_bar(&mut self, ui: &mut egui::Ui) {
        ui.horizontal(|ui| {
            ui.heading("Keyboardia");
            ui.separator();
            let t = self.host.transport();
            if let Some(playing) = self.session_playing() {
                let text = if playing { "Stop" } else { "Play" };
                let button =
                    egui::Button::new(RichText::new(text).strong()).min_size(Vec2::new(70.0, 0.0));
                if ui
                    .add(button)
                    .on_hover_text("Space — starts everyone on the next bar")
                    .clicked()
                {
                    self.host.live().set_playing(!playing);
                }
            } else if self.host_clock() {
                let clock = self.host.settings().clock().label();
                let text = if t.playing() {
                    format!("{clock}: playing")
                } else {
                    format!("{clock}: stopped")
                };
                ui.add_enabled(false, egui::Button::new(text))
                    .on_disabled_hover_text(
                        "This clock starts and stops playback; choose Internal to use Play here",
                    );
            } else {
                let text = if t.run() { "Stop" } else { "Play" };
                if ui
                    .add(
                        egui::Button::new(RichText::new(text).strong())
                            .min_size(Vec2::new(70.0, 0.0)),
                    )
                    .on_hover_text("Space")
                    .clicked()
                {
                    t.set_run(!t.run());
                }
            }

            let state = self.controller.state();
            let (mut tempo, mut swing) = (state.tempo, state.swing);
            ui.label("Tempo");
            let r = ui.add(
                Slider::new(&mut tempo, TEMPO_RANGE)
                    .integer()
                    .suffix(" BPM"),
            );
            self.slider(&r, || Op::SetTempo { v: tempo.round() });
            ui.label("Swing");
            let r = ui.add(Slider::new(&mut swing, SWING_RANGE).integer().suffix(" %"));
            self.slider(&r, || Op::SetSwing { v: swing.round() });

            ui.separator();
            ui.label("Clock");
            if self.standalone() && self.host.live().is_joined() {
                ui.label("Session (joined)");
            } else if self.standalone() {
                ui.label("Internal (standalone)");
            } else {
                let current = self.host.settings().clock();
                let mut chosen = current;
                ComboBox::from_id_salt("clock")
                    .selected_text(current.label())
                    .show_ui(ui, |ui| {
                        for mode in ClockMode::ALL {
                            ui.selectable_value(&mut chosen, mode, mode.label());
                        }
                    });
                if chosen != current {
                    self.host.settings().set_clock(chosen);
                }
            }

            ui.separator();
            let session = self.host.store();
            if ui
                .add_enabled(self.controller.can_undo(), egui::Button::new("Undo"))
                .on_hover_text("Ctrl+Z")
                .clicked()
            {
                self.controller.undo(session);
            }
            if ui
                .add_enabled(self.controller.can_redo(), egui::Button::new("Redo"))
                .on_hover_text("Ctrl+Shift+Z")
                .clicked()
            {
                self.controller.redo(session);
            }
        });
        if let Some(notice) = self.controller.notice().map(str::to_owned) {
            ui.horizontal(|ui| {
                ui.colored_label(Color32::from_rgb(255, 200, 80), notice);
                if ui.small_button("OK").clicked() {
                    self.controller.dismiss_notice();
                }
            });
        }
    }

    fn tracks(&mut self, ui: &mut egui::Ui) {
        let tracks = self.controller.state().tracks.clone();
        // One read per frame: every row's playhead comes from the same audio block.
        let playing = self.host.transport().playing();
        let sixteenth = self.host.transport().sixteenth();
        let target = self.controller.lock_target();
        ScrollArea::vertical()
            .id_salt("rows")
            .auto_shrink([false, true])
            .show(ui, |ui| {
                ui.horizontal_top(|ui| {
                    ui.vertical(|ui| {
                        ui.spacing_mut().item_spacing.y = 0.0;
                        for (slot, track) in tracks.iter().enumerate() {
                            // Exactly one row high, like the grid row beside it.
                            let size = Vec2::new(CONTROLS_WIDTH_PT, ROW_HEIGHT_PT);
                            let rect = egui::Rect::from_min_size(ui.cursor().min, size);
                            ui.scope_builder(
                                UiBuilder::new()
                                    .max_rect(rect)
                                    .layout(Layout::top_down(Align::Min)),
                                |ui| {
                                    ui.set_min_size(size);
                                    ui.add_space(3.0);
                                    self.track_controls(ui, slot, track, &tracks);
                                },
                            );
                        }
                    });
                    ScrollArea::horizontal()
                        .id_salt("grid")
                        .auto_shrink([false, true])
                        .show(ui, |ui| {
                            let live = self.host.live().status();
                            let now = web_time::Instant::now();
                            self.grid_rows.clear();
                            ui.vertical(|ui| {
                                ui.spacing_mut().item_spacing.y = 0.0;
                                for track in &tracks {
                                    let flash = |s: u8| session_bar::flash(&live, track.id, s, now);
                                    let playhead = playing.then(|| {
                                        step_of(sixteenth, track.step_count)
                                    });
                                    let selected =
                                        target.filter(|(t, _)| *t == track.id).map(|(_, s)| s);
                                    let origin = ui.cursor().min;
                                    self.grid_rows.push((
                                        track.id,
                                        egui::Rect::from_min_size(
                                            origin,
                                            Vec2::new(
                                                grid::grid_width(track.step_count as usize),
                                                ROW_HEIGHT_PT,
                                            ),
                                        ),
                                    ));
                                    if let Some(click) =
                                        grid::show(ui, track, ROW_HEIGHT_PT, playhead, selected, flash)
                                    {
                                        let session = self.host.store();
                                        self.controller.click_cell(
                                            session,
                                            track.id,
                                            click.step,
                                            click.shift,
                                        );
                                    }
                                }
                            });
                        });
                });
                ui.add_space(6.0);
                ui.horizontal(|ui| {
                    if ui.button("+ Add track").clicked() {
                        let session = self.host.store();
                        self.controller.add_track(session);
                    }
                    let n = tracks.len();
                    let text = format!("{n} / {MAX_TRACKS} tracks");
                    if n >= MAX_TRACKS {
                        ui.colored_label(Color32::from_rgb(255, 200, 80), text + " (full)");
                    } else {
                        ui.label(text);
                    }
                    ui.label(
                        RichText::new(
                            "Click: step on/off · Shift+click: step locks · Space: play/stop · Ctrl+Z / Ctrl+Shift+Z: undo/redo",
                        )
                        .weak(),
                    );
                });
            });
    }

    fn track_controls(&mut self, ui: &mut egui::Ui, slot: usize, track: &Track, all: &[Track]) {
        let id = track.id;
        ui.spacing_mut().item_spacing = Vec2::new(4.0, 3.0);
        ui.spacing_mut().slider_width = 64.0;
        ui.horizontal(|ui| {
            // Name: typed freely, sent as one op when the field loses focus.
            let mut text = self
                .name_edits
                .iter()
                .find(|(t, _)| *t == id)
                .map_or_else(|| track.name.clone(), |(_, s)| s.clone());
            let r = ui.add(
                egui::TextEdit::singleline(&mut text)
                    .desired_width(92.0)
                    .char_limit(NAME_MAX_BYTES),
            );
            if r.changed() || r.has_focus() {
                self.name_edits.retain(|(t, _)| *t != id);
                self.name_edits.push((id, text.clone()));
            }
            if r.lost_focus() {
                self.name_edits.retain(|(t, _)| *t != id);
                let session = self.host.store();
                self.controller.rename(session, id, &text);
            }

            let mut chosen = track.instrument.clone();
            // At most 96 pt wide: a sample's long id is cut short rather than widening the row.
            ui.scope(|ui| {
                ui.set_max_width(96.0);
                ComboBox::from_id_salt(("sound", id.as_str()))
                    .width(96.0)
                    .truncate()
                    .selected_text(track.instrument.label())
                    .show_ui(ui, |ui| {
                        for s in BuiltinSound::ALL {
                            ui.selectable_value(&mut chosen, Instrument::Sound(*s), s.label());
                        }
                        ui.separator();
                        for p in SynthPreset::ALL {
                            ui.selectable_value(&mut chosen, Instrument::Synth(*p), p.label());
                        }
                        // Samples the sampler holds (shared in the session, or loaded).
                        let samples = self.host.store().sample_ids();
                        if !samples.is_empty() {
                            ui.separator();
                            let status = self.host.live().status();
                            for id in samples {
                                let label =
                                    status.sample_name(&id).unwrap_or(id.as_str()).to_owned();
                                ui.selectable_value(&mut chosen, Instrument::Sample(id), label);
                            }
                        }
                    });
            });
            if chosen != track.instrument {
                let session = self.host.store();
                let _ =
                    self.controller
                        .edit(session, Op::SetInstrument { tr: id, v: chosen }, None);
            }

            for n in STEP_COUNT_PRESETS {
                if ui
                    .selectable_label(track.step_count == n, n.to_string())
                    .clicked()
                {
                    let session = self.host.store();
                    self.controller.set_step_count(session, id, n);
                }
            }
            let mut custom = match self.custom_count {
                Some((t, v)) if t == id => v,
                _ => track.step_count,
            };
            let r = ui
                .add(egui::DragValue::new(&mut custom).range(STEP_COUNT_RANGE))
                .on_hover_text("Custom step count (1–64)");
            if r.changed() {
                self.custom_count = Some((id, custom));
            }
            if (r.drag_stopped()
                || r.lost_focus()
                || (r.changed() && !r.dragged() && !r.has_focus()))
                && self.custom_count.is_some_and(|(t, _)| t == id)
            {
                self.custom_count = None;
                let session = self.host.store();
                self.controller.set_step_count(session, id, custom);
            }
        });
        let slices = slice_count(track);
        if slices > 0 {
            // Room for the "Slices" button in the fixed-width column.
            ui.spacing_mut().slider_width = SLICED_SLIDER_WIDTH_PT;
        }
        ui.horizontal(|ui| {
            let slot = slot.min(MAX_TRACKS - 1);
            let settings = self.host.settings();
            let on = settings.mute(slot);
            if ui.selectable_label(on, "M").on_hover_text("Mute").clicked() {
                settings.set_mute(slot, !on);
            }
            let on = settings.solo(slot);
            if ui.selectable_label(on, "S").on_hover_text("Solo").clicked() {
                settings.set_solo(slot, !on);
            }
            let mut vol = track.volume;
            let r = ui
                .add(Slider::new(&mut vol, VOLUME_RANGE).show_value(false))
                .on_hover_text(format!("Volume {:.0} %", track.volume * 100.0));
            self.slider(&r, || Op::SetVolume { tr: id, v: vol });
            let mut pan = track.pan;
            let r = ui
                .add(Slider::new(&mut pan, PAN_RANGE).show_value(false))
                .on_hover_text(format!("Pan {:+.2}", track.pan));
            self.slider(&r, || Op::SetPan { tr: id, v: pan });

            let mut copy_to: Option<TrackId> = None;
            ComboBox::from_id_salt(("copy", id.as_str()))
                .width(54.0)
                .selected_text("Copy")
                .show_ui(ui, |ui| {
                    ui.label("Copy steps to:");
                    for other in all.iter().filter(|t| t.id != id) {
                        if ui.selectable_label(false, &other.name).clicked() {
                            copy_to = Some(other.id);
                        }
                    }
                });
            let session = self.host.store();
            if let Some(to) = copy_to {
                let _ = self
                    .controller
                    .edit(session, Op::CopySequence { from: id, to }, None);
            }
            // A sliced sample track: one click lays its slices across the steps.
            if slices > 0
                && ui
                    .button("Slices")
                    .on_hover_text(format!(
                        "Lay the take's slices across the steps: step N plays slice N \
                         ({slices} in all; Shift+click a step to pick its slice)"
                    ))
                    .clicked()
            {
                self.controller.lay_slices(session, id);
            }
            if ui.button("Clear").clicked() {
                let _ = self
                    .controller
                    .edit(session, Op::ClearTrack { tr: id }, None);
            }
            if ui.button("Delete").clicked() {
                self.controller.delete_track(session, id);
            }
        });
    }

    fn lock_editor(&mut self, ui: &mut egui::Ui) {
        let Some((tr, s)) = self.controller.lock_target() else {
            return;
        };
        let Some(track) = self.controller.state().track(tr).cloned() else {
            return;
        };
        let step = track.steps[s as usize];
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
            self.slider(&r, || Op::SetVelocity { tr, s, v });
            let slices = slice_count(&track);
            for (i, kind) in lock_kinds(&track).enumerate() {
                if i % 3 == 2 {
                    ui.end_row();
                }
                self.lock_row(ui, step.locks.get(kind), kind, slices);
            }
        });
        ui.add_space(4.0);
    }

    /// One lock: a checkbox that sets/clears it and a slider for its value (`slices`: how many
    /// slices the track's sample has, for the slice lock).
    fn lock_row(
        &mut self,
        ui: &mut egui::Ui,
        current: Option<Lock>,
        kind: LockKind,
        slices: usize,
    ) {
        let mut locked = current.is_some();
        if ui.checkbox(&mut locked, lock_label(kind)).changed() {
            let session = self.host.store();
            if locked {
                self.controller.set_lock(session, neutral_lock(kind), None);
            } else {
                self.controller.clear_lock(session, kind);
            }
        }
        let value = current.unwrap_or_else(|| neutral_lock(kind));
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
        });
        if let (Some((tr, s)), Some(lock)) = (self.controller.lock_target(), out) {
            self.slider(&r.inner, || Op::SetLock { tr, s, lock });
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
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::MemHost;
    use keyboardia_core::SessionState;

    /// The editor over `state`, without a window, over a host in memory.
    fn app(state: SessionState) -> Editor<MemHost> {
        Editor::with_controller(
            MemHost::new(state.clone()),
            Controller::new(state, Box::new(|| 1)),
        )
    }

    /// Where `text` is drawn in a frame's output, if anywhere.
    fn text_rect(out: &egui::FullOutput, text: &str) -> Option<egui::Rect> {
        fn find(shape: &egui::Shape, text: &str) -> Option<egui::Rect> {
            match shape {
                egui::Shape::Text(t) if t.galley.text() == text => {
                    Some(t.galley.rect.translate(t.pos.to_vec2()))
                }
                egui::Shape::Vec(v) => v.iter().find_map(|s| find(s, text)),
                _ => None,
            }
        }
        out.shapes.iter().find_map(|c| find(&c.shape, text))
    }

    /// One frame of the controls of track `slot`, laid out freely, with `events`: the width
    /// they take and where their "Slices" button's label is, if they have one.
    fn controls_frame(
        ctx: &egui::Context,
        app: &mut Editor<MemHost>,
        slot: usize,
        events: Vec<egui::Event>,
    ) -> (f32, Option<egui::Rect>) {
        app.controller.refresh(app.host.store.state());
        let tracks = app.controller.state().tracks.clone();
        let input = egui::RawInput {
            screen_rect: Some(egui::Rect::from_min_size(
                egui::Pos2::ZERO,
                egui::vec2(1600.0, 900.0),
            )),
            events,
            ..Default::default()
        };
        let mut width = 0.0;
        let mut out = ctx.run_ui(input, |ui| {
            ui.vertical(|ui| {
                app.track_controls(ui, slot, &tracks[slot], &tracks);
                width = ui.min_rect().width();
            });
        });
        let slices = text_rect(&out, "Slices");
        // No renderer here: the font textures are dropped unused.
        out.textures_delta.clear();
        (width, slices)
    }

    /// Every track's controls fit the fixed column beside the grid (so no grid moves), also a
    /// sample track's (its long sample id is cut short) and a sliced one's with the "Slices"
    /// button, which only a sliced sample track gets; clicking it lays the slices out as one
    /// undoable edit.
    #[test]
    fn track_controls_fit_their_column_and_slices_lays_the_slices_across_steps() {
        let mut state = SessionState::demo();
        let mut take = Track::new(
            "take".parse().unwrap(),
            "Take 12",
            "sample:rec-0123456789abcdef".parse().unwrap(),
        );
        take.cuts = (0..64).map(|i| i * 100).collect();
        let mut bare = take.clone();
        bare.id = "bare".parse().unwrap();
        bare.cuts.clear();
        state.tracks.push(take);
        state.tracks.push(bare);
        let ctx = egui::Context::default();
        ctx.set_visuals(egui::Visuals::dark());
        let mut app = app(state.clone());
        let n = state.tracks.len();
        for (slot, t) in state.tracks.iter().enumerate() {
            let (w, slices) = controls_frame(&ctx, &mut app, slot, vec![]);
            assert!(
                w > 200.0 && w <= CONTROLS_WIDTH_PT,
                "{}: {w} pt of {CONTROLS_WIDTH_PT}",
                t.name
            );
            assert_eq!(slices.is_some(), slot == n - 2, "{}: Slices button", t.name);
        }

        let (_, at) = controls_frame(&ctx, &mut app, n - 2, vec![]);
        let at = at.unwrap().center();
        let button = |pressed| egui::Event::PointerButton {
            pos: at,
            button: egui::PointerButton::Primary,
            pressed,
            modifiers: egui::Modifiers::NONE,
        };
        for events in [
            vec![egui::Event::PointerMoved(at)],
            vec![button(true)],
            vec![button(false)],
        ] {
            controls_frame(&ctx, &mut app, n - 2, events);
        }
        let laid = app.host.store.state().tracks[n - 2].clone();
        assert_eq!(laid.step_count, 64);
        assert!(laid
            .steps
            .iter()
            .enumerate()
            .all(|(i, s)| s.on && s.locks.slice == Some(i as u8)));
        assert!(app.controller.undo(&app.host.store));
        assert_eq!(app.host.store.state(), state);
    }
}
