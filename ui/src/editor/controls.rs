//! A track's controls beside its grid row: colour, name, sound, step count, mute, solo, volume,
//! pan, copy, slices, clear and delete, with a tooltip each and a right-click menu on the name.

use egui::{Color32, ComboBox, RichText, Slider, Vec2};
use keyboardia_core::edit::slice_count;
use keyboardia_core::{
    Instrument, Op, Track, TrackId, MAX_TRACKS, NAME_MAX_BYTES, PAN_RANGE, STEP_COUNT_PRESETS,
    STEP_COUNT_RANGE, TRACK_COLORS, VOLUME_RANGE,
};

use super::{Editor, SLICED_SLIDER_WIDTH_PT};
use crate::host::Host;
use crate::style::{self, Family, PALETTE, PALETTE_NAMES};

/// Side of the colour swatch, in points.
const SWATCH_PT: f32 = 14.0;

impl<H: Host> Editor<H> {
    /// The label the sound picker shows for `instrument` (a shared sample by the name it came
    /// with).
    pub(super) fn sound_label(&self, instrument: &Instrument) -> String {
        match instrument {
            Instrument::Sample(id) => {
                let status = self.host.live().status();
                status.sample_name(id).unwrap_or(id.as_str()).to_owned()
            }
            other => other.label().to_owned(),
        }
    }

    pub(super) fn track_controls(
        &mut self,
        ui: &mut egui::Ui,
        slot: usize,
        track: &Track,
        all: &[Track],
    ) {
        let id = track.id;
        ui.spacing_mut().item_spacing = Vec2::new(4.0, 3.0);
        ui.spacing_mut().slider_width = 64.0;
        ui.horizontal(|ui| {
            self.color_swatch(ui, track);
            // Name: typed freely, sent as one op when the field loses focus.
            let mut text = self
                .name_edits
                .iter()
                .find(|(t, _)| *t == id)
                .map_or_else(|| track.name.clone(), |(_, s)| s.clone());
            let r = ui
                .add(
                    egui::TextEdit::singleline(&mut text)
                        .desired_width(78.0)
                        .char_limit(NAME_MAX_BYTES),
                )
                .on_hover_text(
                    "Track name (follows the sound until you rename it). Right-click: more",
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
            if r.clicked() {
                self.controller.select(id);
            }
            r.context_menu(|ui| self.track_menu(ui, track, all));
            self.sound_picker(ui, track);

            for n in STEP_COUNT_PRESETS {
                let r = ui
                    .selectable_label(track.step_count == n, n.to_string())
                    .on_hover_text(format!("{n} steps"));
                if r.clicked() {
                    self.step_count_clicked(track, n);
                }
            }
            let mut custom = match self.custom_count {
                Some((t, v)) if t == id => v,
                _ => track.step_count,
            };
            let r = ui
                .add(egui::DragValue::new(&mut custom).range(STEP_COUNT_RANGE))
                .on_hover_text("Custom step count (1–64): drag or type");
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
            if mute_solo_button(ui, "M", on, style::MUTE_ON)
                .on_hover_text("Mute this track (for you only)")
                .clicked()
            {
                settings.set_mute(slot, !on);
            }
            let on = settings.solo(slot);
            if mute_solo_button(ui, "S", on, style::SOLO_ON)
                .on_hover_text("Solo: hear only the soloed tracks (for you only)")
                .clicked()
            {
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
                })
                .response
                .on_hover_text("Copy this track's steps onto another track");
            let session = self.host.store();
            if let Some(to) = copy_to {
                let _ = self.controller.edit(
                    session,
                    Op::CopySequence {
                        pt: self.controller.shown(),
                        from: id,
                        to,
                    },
                    None,
                );
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
            if ui
                .button("Clear")
                .on_hover_text("Switch every step of this track off (undoable)")
                .clicked()
            {
                let _ = self.controller.edit(
                    session,
                    Op::ClearTrack {
                        pt: self.controller.shown(),
                        tr: id,
                    },
                    None,
                );
            }
            if ui
                .button("Delete")
                .on_hover_text("Delete this track (undoable)")
                .clicked()
            {
                self.controller.delete_track(session, id);
            }
        });
    }

    /// A preset step count was clicked: growing a track that has steps on offers to repeat
    /// them; anything else applies at once.
    fn step_count_clicked(&mut self, track: &Track, n: u8) {
        let has_steps = track.active_steps().iter().any(|s| !s.is_default());
        if n > track.step_count && has_steps {
            self.count_offer = Some((track.id, n));
        } else {
            let session = self.host.store();
            self.controller.set_step_count(session, track.id, n);
        }
    }

    /// The colour swatch: the track's colour; a click opens the palette.
    fn color_swatch(&mut self, ui: &mut egui::Ui, track: &Track) {
        let color = style::track_color(track);
        let (rect, r) = ui.allocate_exact_size(Vec2::splat(SWATCH_PT), egui::Sense::click());
        ui.painter()
            .rect_filled(rect, egui::CornerRadius::same(3), color);
        let r = r.on_hover_text(match track.color {
            Some(c) => format!("Colour: {} (click to change)", PALETTE_NAMES[c as usize]),
            None => format!(
                "Colour: {} family's (click to change)",
                Family::of(&track.instrument).label()
            ),
        });
        egui::Popup::menu(&r).show(|ui| self.color_menu(ui, track));
    }

    /// The palette, and the sound family's colour.
    fn color_menu(&mut self, ui: &mut egui::Ui, track: &Track) {
        let mut chosen = None;
        ui.horizontal_wrapped(|ui| {
            ui.set_max_width(8.0 * (SWATCH_PT + 8.0));
            for c in 0..TRACK_COLORS {
                let (rect, r) =
                    ui.allocate_exact_size(Vec2::splat(SWATCH_PT + 4.0), egui::Sense::click());
                ui.painter()
                    .rect_filled(rect, egui::CornerRadius::same(3), PALETTE[c as usize]);
                if track.color == Some(c) {
                    ui.painter().rect_stroke(
                        rect,
                        egui::CornerRadius::same(3),
                        egui::Stroke::new(2.0, Color32::WHITE),
                        egui::StrokeKind::Outside,
                    );
                }
                if r.on_hover_text(PALETTE_NAMES[c as usize]).clicked() {
                    chosen = Some(Some(c));
                }
            }
        });
        if ui
            .selectable_label(track.color.is_none(), "By sound family")
            .on_hover_text("The colour of the sound's family; it follows the sound")
            .clicked()
        {
            chosen = Some(None);
        }
        if let Some(v) = chosen {
            let session = self.host.store();
            self.controller.set_color(session, track.id, v);
            ui.close();
        }
    }

    /// The sound picker, grouped by family; hovering a sound previews it (where the host can),
    /// once per hover, at the track's volume and pan. On hover rather than on pick: hearing a
    /// sound costs no edit (a pick is an undo entry, and in a live session everyone's change),
    /// as a sample browser auditions what the pointer is on.
    fn sound_picker(&mut self, ui: &mut egui::Ui, track: &Track) {
        let id = track.id;
        let mut chosen = track.instrument.clone();
        let samples = self.host.store().sample_ids();
        // At most 96 pt wide: a sample's long id is cut short rather than widening the row.
        ui.scope(|ui| {
            ui.set_max_width(90.0);
            ComboBox::from_id_salt(("sound", id.as_str()))
                .width(90.0)
                .height(560.0)
                .truncate()
                .selected_text(self.sound_label(&track.instrument))
                .show_ui(ui, |ui| {
                    for family in Family::ALL {
                        let sounds: Vec<Instrument> = match family {
                            Family::Samples => {
                                samples.iter().cloned().map(Instrument::Sample).collect()
                            }
                            f => f.instruments(),
                        };
                        if sounds.is_empty() {
                            continue;
                        }
                        ui.label(
                            RichText::new(family.label())
                                .small()
                                .color(PALETTE[family.color_index() as usize]),
                        );
                        for s in sounds {
                            let label = self.sound_label(&s);
                            let r = ui.selectable_value(&mut chosen, s.clone(), label);
                            if r.hovered() && self.previewed.as_ref() != Some(&s) {
                                self.host.preview_sound(&s, track.volume, track.pan);
                                self.previewed = Some(s);
                            }
                        }
                    }
                })
                .response
                .on_hover_text("Sound (grouped by family; hover one to hear it)");
        });
        if chosen != track.instrument {
            let (old, new) = (
                self.sound_label(&track.instrument),
                self.sound_label(&chosen),
            );
            let session = self.host.store();
            self.controller
                .set_instrument(session, id, chosen, &old, &new);
        }
    }

    /// The right-click menu of a track's name.
    fn track_menu(&mut self, ui: &mut egui::Ui, track: &Track, all: &[Track]) {
        let id = track.id;
        ui.menu_button("Colour", |ui| self.color_menu(ui, track));
        ui.menu_button("Copy steps to", |ui| {
            for other in all.iter().filter(|t| t.id != id) {
                if ui.button(&other.name).clicked() {
                    let session = self.host.store();
                    let _ = self.controller.edit(
                        session,
                        Op::CopySequence {
                            pt: self.controller.shown(),
                            from: id,
                            to: other.id,
                        },
                        None,
                    );
                }
            }
        });
        if ui.button("Effects…").clicked() {
            self.controller.select(id);
            self.fx_panel.set_open(true);
            ui.close();
        }
        let session = self.host.store();
        if ui.button("Clear steps").clicked() {
            let _ = self.controller.edit(
                session,
                Op::ClearTrack {
                    pt: self.controller.shown(),
                    tr: id,
                },
                None,
            );
        }
        if ui.button("Delete track").clicked() {
            self.controller.delete_track(session, id);
        }
    }
}

/// A mute or solo button: lit in its own colour when on.
fn mute_solo_button(ui: &mut egui::Ui, text: &str, on: bool, lit: Color32) -> egui::Response {
    let label = if on {
        RichText::new(text).strong().color(style::BUTTON_TEXT_ON)
    } else {
        RichText::new(text)
    };
    let mut button = egui::Button::new(label).min_size(Vec2::new(20.0, 0.0));
    if on {
        button = button.fill(lit);
    }
    ui.add(button)
}
