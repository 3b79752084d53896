//! The effects panel and the fill switch (issue 16).
//!
//! The panel sits right of the grid while it is open (the **FX** button in the transport bar,
//! the `F` key, or "Effects…" in a track name's menu), so it never takes a row from the grid:
//! the grid only gets narrower. It shows the selected track's own settings — its swing (its own
//! or the session's), a Euclidean fill (k hits over n steps, rotated, written as one undoable
//! op), its filter (off, low-pass, high-pass), cutoff, resonance, drive and its sends to the
//! shared reverb and delay — and then the shared effects: the reverb's size and the
//! tempo-synced delay's time and feedback.
//!
//! Every change is a core op through the [`Controller`], so Undo covers it, and a slider's
//! whole drag is one undo entry ([`Controller::slider_edit`]), as the mixer's sliders are.
//!
//! **Fill** (FILL / NOT FILL trig conditions) works as on an Elektron box: on while the button
//! is held (like holding the fill key), latched with Shift+click (like FUNC + the fill key)
//! until the next click. The switch is this player's; the editor hands each change to its host
//! (`Host::set_fill`).

use egui::{Color32, ComboBox, RichText, Slider, Vec2};
use keyboardia_core::{
    DelayTime, FilterMode, Op, SessionFxParam, Track, TrackFxParam, TrackId, CUTOFF_HZ_RANGE,
    DELAY_FEEDBACK_RANGE, FX_AMOUNT_RANGE, STEP_COUNT_RANGE, SWING_RANGE,
};

use crate::controller::Controller;
use crate::host::Store;
use crate::style;

/// Width of the panel, in points.
pub const FX_PANEL_WIDTH_PT: f32 = 240.0;
/// Width of the label column, in points (the sliders start right of it).
pub const LABEL_WIDTH_PT: f32 = 56.0;
/// Width of the panel's sliders, in points.
pub const SLIDER_WIDTH_PT: f32 = 84.0;
/// The fill button's colour while fill is on.
pub const FILL_ON: Color32 = Color32::from_rgb(240, 170, 60);

/// The fill switch: held (momentary) or latched.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Fill {
    /// The button is held down (momentary fill).
    pub held: bool,
    /// Shift+click latched fill on (until the next click).
    pub latched: bool,
}

impl Fill {
    /// Whether fill is on.
    pub fn on(self) -> bool {
        self.held || self.latched
    }
}

/// The Euclidean fill's inputs for one track, being set before "Apply".
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct EuclidInputs {
    /// The track they are for (other tracks start from their own defaults).
    track: TrackId,
    /// k: the hits.
    hits: u8,
    /// n: the steps (the track's step count after the fill).
    steps: u8,
    /// How many steps later the rhythm starts.
    rotation: u8,
}

impl EuclidInputs {
    /// A track's starting inputs: as many hits as it has steps on, over its step count.
    fn of(track: &Track) -> Self {
        let hits = track.active_steps().iter().filter(|s| s.on).count() as u8;
        Self {
            track: track.id,
            hits: hits.min(track.step_count),
            steps: track.step_count,
            rotation: 0,
        }
    }
}

/// The panel's GUI-thread state.
#[derive(Debug, Default)]
pub struct FxPanel {
    /// Whether the panel shows.
    open: bool,
    /// The Euclidean fill's inputs for the track last shown.
    euclid: Option<EuclidInputs>,
    /// The fill switch.
    fill: Fill,
}

impl FxPanel {
    /// Whether the panel shows.
    pub fn is_open(&self) -> bool {
        self.open
    }

    /// Shows or hides the panel.
    pub fn set_open(&mut self, open: bool) {
        self.open = open;
    }

    /// The fill switch.
    pub fn fill(&self) -> Fill {
        self.fill
    }

    /// The transport bar's **FX** toggle and **Fill** button. Returns the fill switch's new
    /// state when it changed this frame (for the host).
    pub fn transport_buttons(&mut self, ui: &mut egui::Ui) -> Option<bool> {
        if ui
            .selectable_label(self.open, "FX")
            .on_hover_text("Effects, swing and Euclid of the selected track (F)")
            .clicked()
        {
            self.open = !self.open;
        }
        let was = self.fill.on();
        let text = if self.fill.latched {
            RichText::new("Fill (latched)")
        } else {
            RichText::new("Fill")
        };
        let text = if was {
            text.strong().color(style::BUTTON_TEXT_ON)
        } else {
            text
        };
        let mut button = egui::Button::new(text)
            .min_size(Vec2::new(40.0, 0.0))
            .sense(egui::Sense::click_and_drag());
        if was {
            button = button.fill(FILL_ON);
        }
        let r = ui.add(button).on_hover_text(
            "Fill: on while held (FILL steps play, NOT FILL steps rest); Shift+click latches it \
             until the next click",
        );
        let shift = ui.input(|i| i.modifiers.shift);
        if r.clicked() {
            self.fill.latched = shift && !self.fill.latched;
        }
        self.fill.held = r.is_pointer_button_down_on() && !shift && !self.fill.latched;
        (self.fill.on() != was).then_some(self.fill.on())
    }

    /// Lets go of a held fill (the window closed); the new state when it changed.
    pub fn release_fill(&mut self) -> Option<bool> {
        let was = self.fill.on();
        self.fill.held = false;
        (self.fill.on() != was).then_some(self.fill.on())
    }

    /// Draws the panel for the selected track (the first when none is) and the shared effects;
    /// edits go to `store` through `controller`.
    pub fn ui(&mut self, ui: &mut egui::Ui, store: &dyn Store, controller: &mut Controller) {
        ui.spacing_mut().slider_width = SLIDER_WIDTH_PT;
        ui.spacing_mut().item_spacing = Vec2::new(4.0, 4.0);
        egui::ScrollArea::vertical()
            .id_salt("fx-panel")
            .auto_shrink([false, true])
            .show(ui, |ui| {
                if controller.selected_track().is_none() {
                    if let Some(first) = controller.state().tracks.first().map(|t| t.id) {
                        controller.select(first);
                    }
                }
                if let Some(track) = controller.selected_track().cloned() {
                    self.track_section(ui, store, controller, &track);
                    ui.separator();
                }
                session_section(ui, store, controller);
            });
    }

    fn track_section(
        &mut self,
        ui: &mut egui::Ui,
        store: &dyn Store,
        controller: &mut Controller,
        track: &Track,
    ) {
        let id = track.id;
        row(ui, "Track", |ui| {
            let mut pick = id;
            ComboBox::from_id_salt("fx-track")
                .width(SLIDER_WIDTH_PT + 40.0)
                .truncate()
                .selected_text(&track.name)
                .show_ui(ui, |ui| {
                    for t in &controller.state().tracks {
                        ui.selectable_value(&mut pick, t.id, &t.name);
                    }
                })
                .response
                .on_hover_text("The track these controls edit (↑↓ or a click on its name)");
            if pick != id {
                controller.select(pick);
            }
        });
        let session_swing = controller.state().swing;
        row(ui, "Swing", |ui| {
            let mut own = track.swing_pct.is_some();
            if ui
                .checkbox(&mut own, "Own")
                .on_hover_text(format!(
                    "This track's own swing; off: the session's ({session_swing:.0} %)"
                ))
                .changed()
            {
                let v = own.then_some(session_swing);
                let _ = controller.edit(store, Op::SetTrackSwing { tr: id, v }, None);
            }
            let mut swing = track.swing_pct.unwrap_or(session_swing);
            ui.spacing_mut().slider_width = SLIDER_WIDTH_PT - 44.0;
            let r = ui
                .add_enabled(
                    own,
                    Slider::new(&mut swing, SWING_RANGE).integer().suffix(" %"),
                )
                .on_hover_text("This track's swing: delays its every second 16th");
            controller.slider_edit(store, &r, || Op::SetTrackSwing {
                tr: id,
                v: Some(swing.round()),
            });
        });
        self.euclid_rows(ui, store, controller, track);

        let fx = track.fx;
        row(ui, "Filter", |ui| {
            for (mode, text, tip) in [
                (FilterMode::Off, "Off", "No filter"),
                (FilterMode::LowPass, "LP", "Low-pass: cuts above the cutoff"),
                (
                    FilterMode::HighPass,
                    "HP",
                    "High-pass: cuts below the cutoff",
                ),
            ] {
                if ui
                    .selectable_label(fx.filter == mode, text)
                    .on_hover_text(tip)
                    .clicked()
                    && fx.filter != mode
                {
                    let op = Op::SetTrackFx {
                        tr: id,
                        fx: TrackFxParam::Filter(mode),
                    };
                    let _ = controller.edit(store, op, None);
                }
            }
        });
        let mut cutoff = fx.cutoff_hz;
        track_slider(ui, store, controller, id, "Cutoff", |ui| {
            let r = ui.add(
                Slider::new(&mut cutoff, CUTOFF_HZ_RANGE)
                    .logarithmic(true)
                    .max_decimals(0)
                    .suffix(" Hz"),
            );
            (r, TrackFxParam::Cutoff(cutoff))
        });
        let mut amount = fx.resonance;
        track_slider(ui, store, controller, id, "Reso", |ui| {
            let r = ui.add(percent(&mut amount));
            (r, TrackFxParam::Resonance(amount))
        });
        let mut amount = fx.drive;
        track_slider(ui, store, controller, id, "Drive", |ui| {
            let r = ui.add(percent(&mut amount));
            (r, TrackFxParam::Drive(amount))
        });
        let mut amount = fx.reverb_send;
        track_slider(ui, store, controller, id, "Reverb", |ui| {
            let r = ui
                .add(percent(&mut amount))
                .on_hover_text("Send to the shared reverb (post-fader)");
            (r, TrackFxParam::ReverbSend(amount))
        });
        let mut amount = fx.delay_send;
        track_slider(ui, store, controller, id, "Delay", |ui| {
            let r = ui
                .add(percent(&mut amount))
                .on_hover_text("Send to the shared tempo-synced delay (post-fader)");
            (r, TrackFxParam::DelaySend(amount))
        });
    }

    /// Euclid: hits, steps and rotation, and the button that writes them to the track.
    fn euclid_rows(
        &mut self,
        ui: &mut egui::Ui,
        store: &dyn Store,
        controller: &mut Controller,
        track: &Track,
    ) {
        let mut e = match self.euclid {
            Some(e) if e.track == track.id => e,
            _ => EuclidInputs::of(track),
        };
        row(ui, "Euclid", |ui| {
            ui.add(egui::DragValue::new(&mut e.hits).range(0..=e.steps))
                .on_hover_text("k: hits");
            ui.label("/");
            ui.add(egui::DragValue::new(&mut e.steps).range(STEP_COUNT_RANGE))
                .on_hover_text("n: steps (the track's step count after the fill)");
            ui.label("rot");
            ui.add(egui::DragValue::new(&mut e.rotation).range(0..=e.steps.saturating_sub(1)))
                .on_hover_text("Rotation: the rhythm starts this many steps later");
        });
        e.hits = e.hits.min(e.steps);
        e.rotation = e.rotation.min(e.steps.saturating_sub(1));
        self.euclid = Some(e);
        row(ui, "", |ui| {
            if ui
                .button(format!("Fill E({},{})", e.hits, e.steps))
                .on_hover_text(
                    "Spread the hits as evenly as possible over the steps (Bjorklund), \
                     switching the track's steps on and off; velocities and locks stay. \
                     One undo puts the track back.",
                )
                .clicked()
            {
                controller.euclid(store, track.id, e.hits, e.steps, e.rotation);
            }
        });
    }
}

/// The shared effects: reverb size, delay time and feedback.
fn session_section(ui: &mut egui::Ui, store: &dyn Store, controller: &mut Controller) {
    ui.label(RichText::new("Shared effects").strong());
    let fx = controller.state().fx;
    let mut size = fx.reverb_size;
    row(ui, "Size", |ui| {
        let r = ui
            .add(percent(&mut size))
            .on_hover_text("The reverb's room size: small and short to large and long");
        controller.slider_edit(store, &r, || Op::SetSessionFx {
            fx: SessionFxParam::ReverbSize(size),
        });
    });
    row(ui, "Time", |ui| {
        for (time, text) in DelayTime::ALL.into_iter().zip(["1/8", "1/8.", "1/4"]) {
            if ui
                .selectable_label(fx.delay_time == time, text)
                .on_hover_text(format!("Delay time: {text} note of the tempo"))
                .clicked()
                && fx.delay_time != time
            {
                let op = Op::SetSessionFx {
                    fx: SessionFxParam::DelayTime(time),
                };
                let _ = controller.edit(store, op, None);
            }
        }
    });
    let mut feedback = fx.delay_feedback;
    row(ui, "Feedback", |ui| {
        let r = ui
            .add(
                Slider::new(&mut feedback, DELAY_FEEDBACK_RANGE)
                    .custom_formatter(|v, _| format!("{:.0} %", v * 100.0)),
            )
            .on_hover_text("How much of each echo comes back");
        controller.slider_edit(store, &r, || Op::SetSessionFx {
            fx: SessionFxParam::DelayFeedback(feedback),
        });
    });
}

/// A 0..=1 amount shown in percent.
fn percent(v: &mut f32) -> Slider<'_> {
    Slider::new(v, FX_AMOUNT_RANGE).custom_formatter(|v, _| format!("{:.0} %", v * 100.0))
}

/// One labelled row: the label in a fixed-width column, then `add`.
fn row(ui: &mut egui::Ui, label: &str, add: impl FnOnce(&mut egui::Ui)) {
    ui.horizontal(|ui| {
        let (rect, _) =
            ui.allocate_exact_size(Vec2::new(LABEL_WIDTH_PT, 18.0), egui::Sense::hover());
        if !label.is_empty() {
            ui.painter().text(
                rect.left_center(),
                egui::Align2::LEFT_CENTER,
                label,
                egui::TextStyle::Body.resolve(ui.style()),
                ui.visuals().text_color(),
            );
        }
        add(ui);
    });
}

/// A labelled slider of a track's effects: `add` draws it and says which parameter it sets.
fn track_slider(
    ui: &mut egui::Ui,
    store: &dyn Store,
    controller: &mut Controller,
    tr: TrackId,
    label: &str,
    add: impl FnOnce(&mut egui::Ui) -> (egui::Response, TrackFxParam),
) {
    row(ui, label, |ui| {
        let (r, fx) = add(ui);
        controller.slider_edit(store, &r, || Op::SetTrackFx { tr, fx });
    });
}
