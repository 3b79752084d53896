//! The editor: transport bar, one row per track (fixed-width controls, then the step grid with
//! its own step count, bar numbers, beat and page gaps, and playhead; cells as big as the window
//! allows, scrolling sideways with a bar always shown when even the smallest do not fit), the
//! parameter-lock editor (shift+click), keyboard shortcuts and step entry, drag painting,
//! undo/redo, the session bar and the record panel.
//!
//! Every pattern edit is a core [`Op`] sent through the host's [`Store`](crate::host::Store),
//! the same ops the network carries; the playheads come from the host's
//! [`Transport`](crate::host::Transport). Mute, solo and the clock are this player's own mixer
//! settings, so they are the host's parameters ([`Settings`](crate::host::Settings)). All
//! decisions live in [`crate::controller`] (unit tested without a window); this file only draws.
//!
//! It asks for frames only when something changes: at [`PLAYING_FPS`] while the playhead
//! moves or other players' edits flash, every [`LIVE_POLL`] while joined, and not at all when
//! idle (input wakes it).

mod condition_picker;
mod controls;
mod locks;

use std::time::Duration;

use egui::{Align, Color32, ComboBox, Layout, RichText, ScrollArea, Slider, UiBuilder, Vec2};
use keyboardia_core::{Op, TrackId, MAX_TRACKS, SWING_RANGE, TEMPO_RANGE};

use crate::controller::{shortcut, Command, Controller};
use crate::grid::{self, Geometry, RowLook};
use crate::host::{ClockMode, Host};
use crate::tap::TapTempo;
use crate::{
    account_panel, beats_panel, fx_panel, meters, pattern_row, record_panel, session_bar,
    song_panel, style,
};
use keyboardia_core::song::step_in_run;

/// Default window size in logical points: room for the controls and a full 64-step grid.
pub const DEFAULT_SIZE_PT: (f64, f64) = (1400.0, 720.0);
/// Smallest window the editor can be resized to, in logical points.
pub const MIN_SIZE_PT: (f32, f32) = (720.0, 400.0);
/// Width of every track's control block, in points: fixed, so nothing shifts while playing.
pub const CONTROLS_WIDTH_PT: f32 = 372.0;
/// Height of one track row, in points, at the smallest (rows grow with the window).
pub const ROW_HEIGHT_PT: f32 = 52.0;
/// Height of one track row at the largest, in points.
pub const MAX_ROW_HEIGHT_PT: f32 = 84.0;
/// Width of the volume and pan sliders of a sliced sample track, in points (narrower than the
/// others' so its "Slices" button fits the column).
pub const SLICED_SLIDER_WIDTH_PT: f32 = 40.0;
/// Frames per second while something moves (the playhead, its flash, other players' flashes).
pub const PLAYING_FPS: f32 = 30.0;
/// Width of a track's level meter (right of its controls), in points.
pub const METER_WIDTH_PT: f32 = 6.0;
/// How often an idle editor in a live session looks for other players' edits.
pub const LIVE_POLL: Duration = Duration::from_millis(250);

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
    /// A track growing to a preset step count, waiting for the user to say whether its steps
    /// repeat over the new ones.
    count_offer: Option<(TrackId, u8)>,
    /// The live-session controls.
    session_bar: session_bar::SessionBar,
    /// Sign-in and ownership (drawn when the host has accounts).
    account_panel: account_panel::AccountPanel,
    /// Record, meter, the take's waveform, preview and "Add to grid".
    record_panel: record_panel::RecordPanel,
    /// Where each track's grid row was drawn in the last frame (screen points, as wide as 64
    /// steps), so a host can tell where a step is (the browser app's test hook clicks there).
    grid_rows: Vec<(TrackId, egui::Rect)>,
    /// The cell sizes of the last frame.
    geometry: Geometry,
    /// The 16th-note counter last drawn and when (the editor's clock, in seconds) it was
    /// first drawn: the playing step flashes from then.
    played: Option<(u64, f64)>,
    /// Taps of the tap-tempo button.
    tap: TapTempo,
    /// A tempo being typed or dragged in the fine tempo field (sent when it is let go).
    tempo_edit: Option<f64>,
    /// The step whose right-click menu is open.
    menu_step: Option<(TrackId, u8)>,
    /// The sound the sound picker last previewed (each is previewed once per hover).
    previewed: Option<keyboardia_core::Instrument>,
    /// The meters' shown levels and held peaks.
    levels: meters::Levels,
    /// Publish, history, and the read-only player's bar (when the host has beats).
    beats_panel: beats_panel::BeatsPanel,
    /// The effects panel (right of the grid while open) and the fill switch.
    fx_panel: fx_panel::FxPanel,
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
            count_offer: None,
            session_bar,
            account_panel: account_panel::AccountPanel::default(),
            record_panel: record_panel::RecordPanel::default(),
            grid_rows: Vec::new(),
            geometry: Geometry {
                pitch_pt: grid::DEFAULT_PITCH_PT,
                row_height_pt: ROW_HEIGHT_PT,
            },
            played: None,
            tap: TapTempo::default(),
            tempo_edit: None,
            menu_step: None,
            previewed: None,
            levels: meters::Levels::default(),
            beats_panel: beats_panel::BeatsPanel::default(),
            fx_panel: fx_panel::FxPanel::default(),
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
        style::install_fonts(ui.ctx());
        self.controller.refresh(self.host.store().state());
        if let Some(m) = self.host.meters() {
            let (tracks, master) = m.take_peaks();
            let now = ui.input(|i| i.time);
            self.levels.update(&tracks, master, now);
        }
        // A published beat shown read-only: no key, click or drag edits it (issue 15).
        let viewing = self.host.beats().and_then(|b| b.beats_status().viewing);
        // Someone else's locked session: like a beat, nothing is editable (no edit is even
        // attempted), and the grid is drawn greyed (issue 17).
        let locked_out = viewing.is_none()
            && self
                .host
                .account()
                .is_some_and(|a| a.account_status().locked_out(self.host.live().is_joined()));
        if viewing.is_none() && !locked_out {
            self.keyboard(ui);
        }
        if let (Some(beats), Some(view)) = (self.host.beats(), &viewing) {
            let tempo = self.controller.state().tempo;
            egui::Panel::top("beat").show(ui, |ui| {
                self.beats_panel
                    .player(ui, beats, view, self.host.transport(), tempo)
            });
        }
        egui::Panel::top("transport").show(ui, |ui| {
            ui.add_enabled_ui(viewing.is_none() && !locked_out, |ui| {
                self.transport_bar(ui)
            })
        });
        if viewing.is_some() {
            egui::CentralPanel::default().show(ui, |ui| {
                ui.style_mut().visuals.disabled_alpha = 0.9;
                ui.add_enabled_ui(false, |ui| self.tracks(ui, false));
            });
            self.schedule_repaint(ui.ctx());
            return;
        }
        egui::Panel::top("session").show(ui, |ui| {
            // One row while it fits: the grid keeps its height.
            ui.horizontal(|ui| {
                self.session_bar
                    .ui(ui, self.host.live(), self.host.transport());
                if let Some(account) = self.host.account() {
                    ui.separator();
                    self.account_panel.ui(ui, account, self.host.live());
                }
            });
        });
        egui::Panel::top("patterns").show(ui, |ui| {
            // Pattern slots and the song on one row: the grid keeps its height.
            ui.horizontal(|ui| {
                let (store, transport) = (self.host.store(), self.host.transport());
                pattern_row::ui(ui, &mut self.controller, store, transport);
                ui.separator();
                song_panel::ui(ui, &mut self.controller, store, transport);
            });
        });
        if let Some(beats) = self.host.beats() {
            egui::Panel::top("beats").show(ui, |ui| {
                self.beats_panel.session(ui, beats, self.host.live())
            });
        }
        egui::Panel::bottom("record").show(ui, |ui| {
            if locked_out {
                ui.disable();
            }
            self.record_panel.ui(
                ui,
                self.host.recorder(),
                self.host.live(),
                self.host.store(),
                &mut self.controller,
            );
        });
        if self.controller.lock_target().is_some() && !locked_out {
            // Below the grid, so it never hides a step.
            egui::Panel::bottom("locks").show(ui, |ui| self.lock_editor(ui));
        }
        if self.fx_panel.is_open() {
            // Beside the grid, so it never takes a row from it.
            egui::Panel::right("fx")
                .resizable(false)
                .exact_size(fx_panel::FX_PANEL_WIDTH_PT)
                .show(ui, |ui| {
                    ui.add_enabled_ui(!locked_out, |ui| {
                        self.fx_panel
                            .ui(ui, self.host.store(), &mut self.controller)
                    });
                });
        }
        egui::CentralPanel::default().show(ui, |ui| {
            ui.add_enabled_ui(!locked_out, |ui| self.tracks(ui, locked_out))
        });
        self.schedule_repaint(ui.ctx());
    }

    /// Asks for the next frame only as soon as something will have changed.
    fn schedule_repaint(&self, ctx: &egui::Context) {
        let live = self.host.live();
        let moving = self.host.transport().playing()
            || self.levels.active()
            || (live.is_joined() && !live.status().flashes.is_empty());
        if moving {
            ctx.request_repaint_after(Duration::from_secs_f32(1.0 / PLAYING_FPS));
        } else if live.is_joined() {
            // Other players' edits and presence arrive on their own.
            ctx.request_repaint_after(LIVE_POLL);
        }
    }

    /// Where step `step` of track `track` was drawn in the last frame (screen points), if it was.
    pub fn cell_rect(&self, track: TrackId, step: u8) -> Option<egui::Rect> {
        let (_, row) = self.grid_rows.iter().find(|(t, _)| *t == track)?;
        Some(self.geometry.cell_rect(*row, step))
    }

    /// Where each track's grid row was drawn in the last frame (screen points), in order.
    pub fn grid_rows(&self) -> &[(TrackId, egui::Rect)] {
        &self.grid_rows
    }

    /// The cell sizes of the last frame.
    pub fn geometry(&self) -> Geometry {
        self.geometry
    }

    /// The window closed: a held Record button is let go.
    pub fn closed(&mut self) {
        self.record_panel.release(self.host.recorder());
        if let Some(on) = self.fx_panel.release_fill() {
            self.host.set_fill(on);
        }
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
                if cmd == Command::ToggleFx {
                    self.fx_panel.set_open(!self.fx_panel.is_open());
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
            self.play_button(ui);
            self.tempo_controls(ui);
            let mut swing = self.controller.state().swing;
            ui.label("Swing");
            let r = ui
                .add(Slider::new(&mut swing, SWING_RANGE).integer().suffix(" %"))
                .on_hover_text("Swing: delays every second 16th (0 % straight)");
            self.slider(&r, || Op::SetSwing { v: swing.round() });
            if let Some(on) = self.fx_panel.transport_buttons(ui) {
                self.host.set_fill(on);
            }

            ui.separator();
            ui.label("Clock");
            if self.standalone() && self.host.live().is_joined() {
                ui.label("Session (joined)")
                    .on_hover_text("Playback follows the live session's shared clock");
            } else if self.standalone() {
                ui.label("Internal (standalone)")
                    .on_hover_text("The app's own clock: Play starts it");
            } else {
                let current = self.host.settings().clock();
                let mut chosen = current;
                ComboBox::from_id_salt("clock")
                    .selected_text(current.label())
                    .show_ui(ui, |ui| {
                        for mode in ClockMode::ALL {
                            ui.selectable_value(&mut chosen, mode, mode.label());
                        }
                    })
                    .response
                    .on_hover_text(
                        "Where the beat comes from: the DAW, this plugin, or the live session",
                    );
                if chosen != current {
                    self.host.settings().set_clock(chosen);
                }
            }

            ui.separator();
            let session = self.host.store();
            if ui
                .add_enabled(self.controller.can_undo(), egui::Button::new("Undo"))
                .on_hover_text("Undo your last edit (Ctrl+Z)")
                .clicked()
            {
                self.controller.undo(session);
            }
            if ui
                .add_enabled(self.controller.can_redo(), egui::Button::new("Redo"))
                .on_hover_text("Redo (Ctrl+Shift+Z)")
                .clicked()
            {
                self.controller.redo(session);
            }
            if ui
                .button("Clear all")
                .on_hover_text("Switch every step of every track off (one undo brings it back)")
                .clicked()
            {
                self.controller.clear_all(session);
            }
            if self.host.meters().is_some() {
                ui.separator();
                let (rect, r) = ui.allocate_exact_size(Vec2::new(90.0, 10.0), egui::Sense::hover());
                self.levels.master.paint(ui.painter(), rect, false);
                r.on_hover_text(format!(
                    "Master level (peak held: {:.1} dBFS)",
                    self.levels.master.hold.0
                ));
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
        self.count_offer_bar(ui);
    }

    fn play_button(&mut self, ui: &mut egui::Ui) {
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
                .add(egui::Button::new(RichText::new(text).strong()).min_size(Vec2::new(70.0, 0.0)))
                .on_hover_text("Play or stop (Space)")
                .clicked()
            {
                t.set_run(!t.run());
            }
        }
    }

    /// Tempo: a coarse slider, a fine field (drag, Shift+drag for finer, or type), tap tempo.
    fn tempo_controls(&mut self, ui: &mut egui::Ui) {
        let mut tempo = self.controller.state().tempo;
        ui.label("Tempo");
        let r = ui
            .add(
                // No step: an integer slider would round a fine tempo the field or taps set.
                Slider::new(&mut tempo, TEMPO_RANGE).show_value(false),
            )
            .on_hover_text("Tempo (coarse)");
        // To 0.1 BPM like the fine field: a value the field set is never rounded away.
        self.slider(&r, || Op::SetTempo {
            v: (tempo * 10.0).round() / 10.0,
        });
        let mut fine = self.tempo_edit.unwrap_or(self.controller.state().tempo);
        let r = ui
            .add(
                egui::DragValue::new(&mut fine)
                    .range(TEMPO_RANGE)
                    .speed(0.5)
                    .fixed_decimals(1)
                    .suffix(" BPM"),
            )
            .on_hover_text("Tempo: drag (Shift for fine steps), or click and type");
        if r.changed() {
            self.tempo_edit = Some(fine);
        }
        let done =
            r.drag_stopped() || r.lost_focus() || (r.changed() && !r.dragged() && !r.has_focus());
        if done {
            if let Some(v) = self.tempo_edit.take() {
                let v = (v * 10.0).round() / 10.0;
                let session = self.host.store();
                let _ = self.controller.edit(session, Op::SetTempo { v }, None);
            }
        }
        let now = ui.input(|i| i.time);
        let taps = self.tap.count();
        let label = if taps > 0 {
            format!("Tap ({taps})")
        } else {
            "Tap".to_owned()
        };
        if ui
            .button(label)
            .on_hover_text("Tap tempo: tap along with the beat")
            .clicked()
        {
            if let Some(v) = self.tap.tap(now) {
                let session = self.host.store();
                let _ = self.controller.edit(session, Op::SetTempo { v }, None);
            }
        }
    }

    /// The offer to repeat a growing track's steps over its new ones.
    fn count_offer_bar(&mut self, ui: &mut egui::Ui) {
        let Some((tr, n)) = self.count_offer else {
            return;
        };
        let Some(track) = self.controller.state().track(tr) else {
            self.count_offer = None;
            return;
        };
        // The shown pattern's part of the track.
        let track =
            grid::pattern_view(std::slice::from_ref(track), self.controller.shown()).remove(0);
        ui.horizontal(|ui| {
            ui.label(format!(
                "{} grows from {} to {n} steps:",
                track.name, track.step_count
            ));
            let session = self.host.store();
            if ui
                .button(format!("Repeat the {} steps", track.step_count))
                .on_hover_text("Copy the steps there are over the new ones")
                .clicked()
            {
                self.controller.set_step_count_repeating(session, tr, n);
                self.count_offer = None;
            }
            if ui
                .button("Leave the new steps empty")
                .on_hover_text("Grow the track; the new steps are as they were")
                .clicked()
            {
                self.controller.set_step_count(session, tr, n);
                self.count_offer = None;
            }
            if ui
                .button("Cancel")
                .on_hover_text("Keep the step count")
                .clicked()
            {
                self.count_offer = None;
            }
        });
    }

    /// The track rows; `read_only`: greyed, for someone else's locked session.
    fn tracks(&mut self, ui: &mut egui::Ui, read_only: bool) {
        // The rows show the pattern the editor shows (its steps and length in place of A's).
        let shown = self.controller.shown();
        let tracks = grid::pattern_view(&self.controller.state().tracks, shown);
        // One read per frame: every row's playhead comes from the same audio block.
        let view = self.host.transport().playback_view();
        // A pattern that is not playing shows no playhead.
        let playing = self.host.transport().playing() && view.pattern == shown;
        let sixteenth = self.host.transport().sixteenth();
        let now = ui.input(|i| i.time);
        let flash_age = if playing {
            let since = match self.played {
                Some((s, at)) if s == sixteenth => at,
                _ => {
                    self.played = Some((sixteenth, now));
                    now
                }
            };
            ((now - since) as f32 / grid::PLAY_FLASH_S).min(1.0)
        } else {
            self.played = None;
            1.0
        };
        let target = self.controller.lock_target();
        let selected_track = self.controller.selected_track().map(|t| t.id);
        // Cells as big as the window allows: the width beside the controls, the height shared
        // by the rows (leaving room for the header and the footer).
        let grid_width = ui.available_width() - CONTROLS_WIDTH_PT - METER_WIDTH_PT - 28.0;
        // Rows share the panel's height; while the lock editor is open below the grid they keep
        // the height they had, so the grid does not move under the pointer.
        let n = tracks.len().max(1) as f32;
        let row_height = if target.is_some() {
            self.geometry.row_height_pt
        } else {
            // Whole points, so rows stay evenly spaced in pixels whatever panels sit above.
            ((ui.available_height() - grid::HEADER_HEIGHT_PT - 60.0) / n)
                .floor()
                .clamp(ROW_HEIGHT_PT, MAX_ROW_HEIGHT_PT)
        };
        self.geometry = Geometry::fit(grid_width, row_height);
        let geometry = self.geometry;
        let settings = self.host.settings();
        let mute: Vec<bool> = (0..tracks.len())
            .map(|s| settings.mute(s.min(MAX_TRACKS - 1)))
            .collect();
        let solo: Vec<bool> = (0..tracks.len())
            .map(|s| settings.solo(s.min(MAX_TRACKS - 1)))
            .collect();
        let mut press = None;
        ScrollArea::vertical()
            .id_salt("rows")
            .auto_shrink([false, true])
            .show(ui, |ui| {
                ui.horizontal_top(|ui| {
                    ui.vertical(|ui| {
                        ui.spacing_mut().item_spacing.y = 0.0;
                        ui.add_space(grid::HEADER_HEIGHT_PT);
                        for (slot, track) in tracks.iter().enumerate() {
                            // Exactly one row high, like the grid row beside it.
                            let size = Vec2::new(CONTROLS_WIDTH_PT, row_height);
                            let rect = egui::Rect::from_min_size(ui.cursor().min, size);
                            if selected_track == Some(track.id) {
                                ui.painter().rect_filled(
                                    rect,
                                    egui::CornerRadius::same(3),
                                    Color32::from_white_alpha(10),
                                );
                            }
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
                            if self.host.meters().is_some() {
                                // The track's meter, right of its controls.
                                let meter = egui::Rect::from_min_size(
                                    egui::pos2(rect.right() + 4.0, rect.top() + 6.0),
                                    Vec2::new(METER_WIDTH_PT, rect.height() - 12.0),
                                );
                                let m = self.levels.tracks[slot.min(MAX_TRACKS - 1)];
                                m.paint(ui.painter(), meter, true);
                            }
                        }
                    });
                    // Room for the track meters.
                    ui.add_space(METER_WIDTH_PT + 4.0);
                    // A 64-step row that does not fit scrolls with a bar that is always there,
                    // not one that shows only on hover.
                    ui.spacing_mut().scroll = egui::style::ScrollStyle::solid();
                    ScrollArea::horizontal()
                        .id_salt("grid")
                        .auto_shrink([false, true])
                        .scroll_bar_visibility(
                            egui::scroll_area::ScrollBarVisibility::VisibleWhenNeeded,
                        )
                        .show(ui, |ui| {
                            let live = self.host.live().status();
                            let now = web_time::Instant::now();
                            self.grid_rows.clear();
                            ui.vertical(|ui| {
                                ui.spacing_mut().item_spacing.y = 0.0;
                                grid::header(ui, geometry);
                                for (slot, track) in tracks.iter().enumerate() {
                                    let flash = |s: u8| session_bar::flash(&live, track.id, s, now);
                                    let look = RowLook {
                                        geometry,
                                        playhead: playing.then(|| {
                                            step_in_run(sixteenth, view.origin, track.step_count)
                                        }),
                                        play_flash_age: flash_age,
                                        selected: target
                                            .filter(|(t, _)| *t == track.id)
                                            .map(|(_, s)| s),
                                        dimmed: !style::audible(slot, &mute, &solo),
                                        read_only,
                                    };
                                    let row = grid::show(ui, track, &look, flash);
                                    self.grid_rows.push((track.id, row.rect));
                                    if let Some(click) = row.press {
                                        press = Some((track.id, click));
                                    }
                                    self.cell_tooltip_and_menu(&row, track);
                                }
                            });
                        });
                });
                ui.add_space(6.0);
                self.footer(ui, tracks.len());
            });
        if ui.is_enabled() {
            self.pointer(ui, press);
        }
    }

    /// A press on a step toggles it and starts painting (shift: opens its lock editor); while
    /// the button is held, every step the pointer crosses, in any row, gets the same value.
    fn pointer(&mut self, ui: &egui::Ui, press: Option<(TrackId, grid::CellClick)>) {
        let session = self.host.store();
        if let Some((tr, click)) = press {
            if click.shift {
                self.controller.click_cell(session, tr, click.step, true);
            } else if self.controller.painting() {
                // A second press within one gesture: a browser reports a finger both as a
                // pointer event and as a touch event, in separate frames. It paints on rather
                // than flipping the step back.
                self.controller.paint(session, tr, click.step);
            } else {
                self.controller.paint_start(session, tr, click.step);
            }
            return;
        }
        if !self.controller.painting() {
            return;
        }
        let (down, pos) = ui.input(|i| (i.pointer.primary_down(), i.pointer.latest_pos()));
        if !down {
            self.controller.paint_end();
            return;
        }
        let hit = pos.and_then(|p| {
            let (tr, row) = self
                .grid_rows
                .iter()
                .find(|(_, r)| r.y_range().contains(p.y))?;
            let shown = self.controller.shown();
            let count = self.controller.state().track(*tr)?.step_count_in(shown) as usize;
            let step = self.geometry.step_at(p.x - row.left(), count)?;
            Some((*tr, step))
        });
        if let Some((tr, step)) = hit {
            self.controller.paint(session, tr, step);
        }
    }

    /// A step's tooltip (what it plays) and its right-click menu.
    fn cell_tooltip_and_menu(&mut self, row: &grid::Row, track: &keyboardia_core::Track) {
        let hovered = row.response.hover_pos().and_then(|p| {
            self.geometry
                .step_at(p.x - row.rect.left(), track.step_count as usize)
        });
        if row.response.secondary_clicked() {
            self.menu_step = hovered.map(|s| (track.id, s));
        }
        let response = match hovered {
            Some(s) if !self.controller.painting() => {
                let step = track.steps[s as usize];
                let mut lines = vec![format!(
                    "Step {} · {} · velocity {}",
                    s + 1,
                    if step.on { "on" } else { "off" },
                    step.velocity
                )];
                lines.extend(grid::describe_locks(track, &step));
                lines.push("Click or drag: paint · Shift+click or right-click: locks".into());
                row.response.clone().on_hover_text(lines.join("\n"))
            }
            _ => row.response.clone(),
        };
        let Some((tr, s)) = self.menu_step.filter(|(t, _)| *t == track.id) else {
            return;
        };
        let pt = self.controller.shown();
        response.context_menu(|ui| {
            ui.label(format!("Step {}", s + 1));
            let session = self.host.store();
            if ui.button("Step locks…").clicked() {
                self.controller.click_cell(session, tr, s, true);
                ui.close();
            }
            ui.menu_button("Velocity", |ui| {
                for v in [127u8, 100, 80, 60, 40, 20] {
                    if ui.button(v.to_string()).clicked() {
                        let _ =
                            self.controller
                                .edit(session, Op::SetVelocity { pt, tr, s, v }, None);
                        ui.close();
                    }
                }
            });
            if ui.button("Clear locks").clicked() {
                self.controller.click_cell(session, tr, s, true);
                self.controller.clear_all_locks(session);
                ui.close();
            }
        });
    }

    fn footer(&mut self, ui: &mut egui::Ui, n: usize) {
        ui.horizontal(|ui| {
            if ui
                .button("+ Add track")
                .on_hover_text("A new track playing a sound no track uses yet")
                .clicked()
            {
                let session = self.host.store();
                self.controller.add_track(session);
            }
            let text = format!("{n} / {MAX_TRACKS} tracks");
            if n >= MAX_TRACKS {
                ui.colored_label(Color32::from_rgb(255, 200, 80), text + " (full)");
            } else {
                ui.label(text);
            }
            ui.label(
                RichText::new(
                    "Click or drag: paint steps · Shift+click: step locks · Space: play/stop · \
                     ↑↓: track, 1–8 Q–I: steps, ←→: page · F: effects · Ctrl+Z / Ctrl+Shift+Z: undo/redo",
                )
                .weak(),
            );
        });
    }
}

#[cfg(test)]
mod fx_tests;
#[cfg(test)]
mod tests;
