//! The egui editor: transport bar, one row per track (fixed-width controls, then the step grid
//! with its own step count, page separators and playhead, scrolling sideways past the view), the
//! parameter-lock editor (shift+click), keyboard shortcuts and undo/redo.
//!
//! Every pattern edit is a core [`Op`] sent through the [`SessionStore`](crate::session), which
//! hands the new pattern to the audio thread through lock-free queues; the editor draws the
//! playheads the audio thread publishes in [`Transport`]. Mute, solo and the clock are this
//! player's own mixer settings, so they are plugin parameters (automatable, not shared).
//! All decisions live in [`input`] (unit tested without a window); this file only draws.

pub mod grid;
pub mod input;
pub mod record_panel;
pub mod session_bar;
pub mod undo;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use egui::{Align, Color32, ComboBox, Layout, RichText, ScrollArea, Slider, UiBuilder, Vec2};
use keyboardia_core::{
    BuiltinSound, Instrument, Lock, LockKind, Op, SynthPreset, Track, TrackId, LOCK_VOLUME_RANGE,
    MAX_TRACKS, NAME_MAX_BYTES, NUDGE_RANGE, PAN_RANGE, PITCH_RANGE, PROBABILITY_RANGE,
    RATCHET_RANGE, SLICE_RANGE, STEP_COUNT_PRESETS, STEP_COUNT_RANGE, SWING_RANGE, TEMPO_RANGE,
    VELOCITY_RANGE, VOLUME_RANGE,
};
use nice_plug::editor::dpi::LogicalSize;
use nice_plug::prelude::*;
use nice_plug_egui::resizable_window::ResizableWindow;
use nice_plug_egui::{
    create_egui_editor, EguiEditor, EguiEditorState, EguiNiceSettings, NiceEguiApp, RepaintNotifier,
};

use crate::params::{ClockMode, KeyboardiaParams};
use crate::transport::Transport;
use input::{lock_kinds, neutral_lock, shortcut, slice_count, Controller};

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

/// Set by the standalone app before it starts when there is no display: the plugin then offers
/// no editor and plays at once.
static HEADLESS: AtomicBool = AtomicBool::new(false);

/// Runs the standalone app without a window (no display available).
pub fn set_headless(headless: bool) {
    HEADLESS.store(headless, Ordering::Relaxed);
}

/// Whether the standalone app runs without a window (see [`set_headless`]).
pub fn headless() -> bool {
    HEADLESS.load(Ordering::Relaxed)
}

/// Exactly the handles the editor needs.
#[derive(Clone)]
pub struct Data {
    /// Mute/solo/clock parameters.
    pub params: Arc<KeyboardiaParams>,
    /// The session store every edit goes through.
    pub store: Arc<crate::session::SessionStore>,
    /// The live session: status, join/leave, shared play/stop.
    pub live: Arc<crate::live::Live>,
    /// Playheads from the audio thread, play/stop to it.
    pub transport: Arc<Transport>,
    /// Window size and whether the editor is open (GUI-only work is skipped while closed).
    pub egui_state: Arc<EguiEditorState>,
    /// The recorder: Record button, input meter, the latest take.
    pub record: Arc<crate::record::RecordShared>,
    /// Adds takes to the grid ("Add to grid", and the footswitch's outcome).
    pub takes: Arc<crate::takes::Takes>,
}

/// A new editor state at the default size.
pub fn default_state() -> Arc<EguiEditorState> {
    EguiEditorState::from_size(LogicalSize::new(DEFAULT_SIZE_PT.0, DEFAULT_SIZE_PT.1), 1.0)
}

/// The plugin's editor (`None` when the standalone app runs headless).
pub fn create(data: Data) -> Option<EguiEditor<App>> {
    if headless() {
        return None;
    }
    let state = data.store.state();
    let settings = EguiNiceSettings::new()
        .with_tile("Keyboardia")
        .with_resize_hint(
            ResizeHint::resizable()
                .with_min_logical_size(LogicalSize::new(MIN_SIZE_PT.0, MIN_SIZE_PT.1)),
        );
    create_egui_editor(
        data.egui_state.clone(),
        RepaintNotifier::new(),
        settings,
        App {
            controller: Controller::with_os_random(state),
            data,
            gui: None,
            name_edits: Vec::new(),
            custom_count: None,
            session_bar: session_bar::SessionBar::default(),
            record_panel: record_panel::RecordPanel::default(),
        },
    )
}

/// The editor's GUI-thread state.
pub struct App {
    /// Handles shared with the plugin.
    data: Data,
    /// The input → op logic and the undo stack.
    controller: Controller,
    /// The host context (parameter changes), set when the window opens.
    gui: Option<nice_plug::context::gui::GuiContext>,
    /// Track names being typed (committed as one op when the field loses focus).
    name_edits: Vec<(TrackId, String)>,
    /// A custom step count being typed, per track.
    custom_count: Option<(TrackId, u8)>,
    /// The live-session controls.
    session_bar: session_bar::SessionBar,
    /// Record, meter, the take's waveform, preview and "Add to grid".
    record_panel: record_panel::RecordPanel,
}

impl NiceEguiApp for App {
    fn build(
        &mut self,
        egui_ctx: egui::Context,
        gui: nice_plug::context::gui::GuiContext,
        _frame: &mut nice_plug_egui::Frame,
    ) -> Result<(), nice_plug_egui::baseview::HandlerError> {
        egui_ctx.set_visuals(egui::Visuals::dark());
        self.gui = Some(gui);
        Ok(())
    }

    fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut nice_plug_egui::Frame) {
        self.controller.refresh(self.data.store.state());
        self.keyboard(ui);
        let (min_w, min_h) = MIN_SIZE_PT;
        ResizableWindow::new("keyboardia-resize")
            .min_size(Vec2::new(min_w, min_h))
            .show(ui, |ui| {
                egui::Panel::top("transport").show(ui, |ui| self.transport_bar(ui));
                egui::Panel::top("session").show(ui, |ui| {
                    self.session_bar.ui(ui, &self.data.live);
                });
                egui::Panel::bottom("record").show(ui, |ui| {
                    self.record_panel.ui(ui, &self.data, &mut self.controller);
                });
                if self.controller.lock_target().is_some() {
                    // Below the grid, so it never hides a step.
                    egui::Panel::bottom("locks").show(ui, |ui| self.lock_editor(ui));
                }
                egui::CentralPanel::default().show(ui, |ui| self.tracks(ui));
            });
        if self.data.transport.playing() || self.data.live.is_joined() {
            // Playheads move, and other players' edits and presence arrive: draw at display rate.
            ui.ctx().request_repaint();
        }
    }

    fn editor_closed(&mut self) {
        self.gui = None;
        self.record_panel.release(&self.data.record);
    }
}

impl App {
    fn standalone(&self) -> bool {
        self.gui
            .as_ref()
            .is_some_and(|g| g.plugin_api() == PluginApi::Standalone)
    }

    /// Whether a clock outside this editor (the host's transport, or any clock but the
    /// internal one) starts and stops playback, so the Play button has nothing to do.
    fn host_clock(&self) -> bool {
        !self.standalone() && self.data.params.clock.value() != ClockMode::Internal
    }

    /// In a live session on the session clock: whether the shared transport plays (Play and
    /// space then start and stop it for everybody). `None` otherwise.
    fn session_playing(&self) -> Option<bool> {
        let session_clock =
            self.standalone() || self.data.params.clock.value() == ClockMode::Server;
        let live = &self.data.live;
        (session_clock && live.is_joined())
            .then(|| live.clock().read().is_some_and(|c| c.timeline.playing))
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
                if let (input::Command::PlayStop, Some(playing)) = (cmd, session_playing) {
                    self.data.live.set_playing(!playing);
                    continue;
                }
                let session = &*self.data.store;
                self.controller
                    .command(session, &self.data.transport, host_clock, cmd);
            }
        }
    }

    /// A slider's edit: one undo entry per drag (see [`Controller::slider_edit`]).
    fn slider(&mut self, response: &egui::Response, op: impl FnOnce() -> Op) {
        let session = &*self.data.store;
        self.controller.slider_edit(session, response, op);
    }

    fn transport_bar(&mut self, ui: &mut egui::Ui) {
        ui.horizontal(|ui| {
            ui.heading("Keyboardia");
            ui.separator();
            let t = self.data.transport.clone();
            if let Some(playing) = self.session_playing() {
                let text = if playing { "Stop" } else { "Play" };
                let button =
                    egui::Button::new(RichText::new(text).strong()).min_size(Vec2::new(70.0, 0.0));
                if ui
                    .add(button)
                    .on_hover_text("Space — starts everyone on the next bar")
                    .clicked()
                {
                    self.data.live.set_playing(!playing);
                }
            } else if self.host_clock() {
                let clock = clock_label(self.data.params.clock.value());
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
            if self.standalone() && self.data.live.is_joined() {
                ui.label("Session (joined)");
            } else if self.standalone() {
                ui.label("Internal (standalone)");
            } else {
                let current = self.data.params.clock.value();
                let mut chosen = current;
                ComboBox::from_id_salt("clock")
                    .selected_text(clock_label(current))
                    .show_ui(ui, |ui| {
                        for i in 0..ClockMode::variants().len() {
                            let mode = ClockMode::from_index(i);
                            ui.selectable_value(&mut chosen, mode, clock_label(mode));
                        }
                    });
                if chosen != current {
                    if let Some(gui) = &self.gui {
                        let setter = gui.param_setter();
                        setter.begin_set_parameter(&self.data.params.clock);
                        setter.set_parameter(&self.data.params.clock, chosen);
                        setter.end_set_parameter(&self.data.params.clock);
                    }
                }
            }

            ui.separator();
            let session = &*self.data.store;
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
        let playing = self.data.transport.playing();
        let sixteenth = self.data.transport.sixteenth();
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
                            let live = self.data.live.status();
                            let now = std::time::Instant::now();
                            ui.vertical(|ui| {
                                ui.spacing_mut().item_spacing.y = 0.0;
                                for track in &tracks {
                                    let flash = |s: u8| session_bar::flash(&live, track.id, s, now);
                                    let playhead = playing.then(|| {
                                        Transport::step_of(sixteenth, track.step_count)
                                    });
                                    let selected =
                                        target.filter(|(t, _)| *t == track.id).map(|(_, s)| s);
                                    if let Some(click) =
                                        grid::show(ui, track, ROW_HEIGHT_PT, playhead, selected, flash)
                                    {
                                        let session = &*self.data.store;
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
                        let session = &*self.data.store;
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
                let session = &*self.data.store;
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
                        let samples = self.data.store.sample_ids();
                        if !samples.is_empty() {
                            ui.separator();
                            let status = self.data.live.status();
                            for id in samples {
                                let label =
                                    status.sample_name(&id).unwrap_or(id.as_str()).to_owned();
                                ui.selectable_value(&mut chosen, Instrument::Sample(id), label);
                            }
                        }
                    });
            });
            if chosen != track.instrument {
                let session = &*self.data.store;
                let _ =
                    self.controller
                        .edit(session, Op::SetInstrument { tr: id, v: chosen }, None);
            }

            for n in STEP_COUNT_PRESETS {
                if ui
                    .selectable_label(track.step_count == n, n.to_string())
                    .clicked()
                {
                    let session = &*self.data.store;
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
                let session = &*self.data.store;
                self.controller.set_step_count(session, id, custom);
            }
        });
        let slices = slice_count(track);
        if slices > 0 {
            // Room for the "Slices" button in the fixed-width column.
            ui.spacing_mut().slider_width = SLICED_SLIDER_WIDTH_PT;
        }
        ui.horizontal(|ui| {
            let tp = &self.data.params.tracks[slot.min(MAX_TRACKS - 1)];
            for (param, label, hint) in [(&tp.mute, "M", "Mute"), (&tp.solo, "S", "Solo")] {
                let on = param.value();
                if ui.selectable_label(on, label).on_hover_text(hint).clicked() {
                    if let Some(gui) = &self.gui {
                        let setter = gui.param_setter();
                        setter.begin_set_parameter(param);
                        setter.set_parameter(param, !on);
                        setter.end_set_parameter(param);
                    }
                }
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
            let session = &*self.data.store;
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
                let session = &*self.data.store;
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
            let session = &*self.data.store;
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

/// The clock's display name (the parameter's own variant names, so new clocks appear as they
/// are added to [`ClockMode`]).
fn clock_label(mode: ClockMode) -> &'static str {
    ClockMode::variants()
        .get(mode.to_index())
        .copied()
        .unwrap_or("?")
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
    use keyboardia_core::SessionState;

    /// The editor over `state`, without a window or host.
    fn app(state: SessionState) -> App {
        let params = Arc::new(KeyboardiaParams::default());
        let (services, _audio) = crate::services::Services::new(&params);
        services.store.replace_state(state.clone());
        App {
            controller: Controller::new(state, Box::new(|| 1)),
            data: Data {
                params,
                store: services.store.clone(),
                live: services.live.clone(),
                transport: Arc::new(Transport::new(false)),
                egui_state: default_state(),
                record: services.record.clone(),
                takes: services.takes.clone(),
            },
            gui: None,
            name_edits: Vec::new(),
            custom_count: None,
            session_bar: session_bar::SessionBar::default(),
            record_panel: record_panel::RecordPanel::default(),
        }
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
        app: &mut App,
        slot: usize,
        events: Vec<egui::Event>,
    ) -> (f32, Option<egui::Rect>) {
        app.controller.refresh(app.data.store.state());
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
        let laid = app.data.store.state().tracks[n - 2].clone();
        assert_eq!(laid.step_count, 64);
        assert!(laid
            .steps
            .iter()
            .enumerate()
            .all(|(i, s)| s.on && s.locks.slice == Some(i as u8)));
        assert!(app.controller.undo(&*app.data.store));
        assert_eq!(app.data.store.state(), state);
    }
}
