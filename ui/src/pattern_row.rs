//! The row of pattern slots A–H above the grid: which slots hold steps, which plays, which is
//! queued (its outline blinks until it takes over), which the grid shows. A click cues a
//! pattern and shows it; Ctrl+click (or the slot's menu) only shows it, to edit a pattern
//! before it plays. The slot's right-click menu copies it onto another slot or clears it (one
//! undoable op each), and "Switch at" is the session's [`SwitchAt`] setting.

use egui::{Color32, RichText, Stroke, Vec2};
use keyboardia_core::song::{Play, PlaybackView};
use keyboardia_core::{Op, PatternId, SwitchAt};

use crate::controller::Controller;
use crate::host::{OpSink, Transport};

/// Width of one slot button, in points.
pub const SLOT_WIDTH_PT: f32 = 26.0;
/// How often a queued slot's outline blinks on and off, in seconds per half period.
pub const BLINK_S: f64 = 0.25;

/// What the slot shows, from the session and the transport.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SlotLook {
    /// Some track has steps (or a non-default length) in this pattern.
    pub in_use: bool,
    /// The pattern plays now.
    pub playing: bool,
    /// The pattern takes over at the next boundary.
    pub queued: bool,
    /// The grid shows (and edits) this pattern.
    pub shown: bool,
}

impl SlotLook {
    /// How slot `pt` looks, given the playback view and the shown pattern.
    pub fn of(
        pt: PatternId,
        in_use: bool,
        view: &PlaybackView,
        shown: PatternId,
        running: bool,
    ) -> Self {
        Self {
            in_use,
            playing: running && view.pattern == pt,
            queued: view.queued == Some(Play::Pattern(pt)),
            shown: shown == pt,
        }
    }
}

/// The label of a switch-at setting in its menu.
pub fn switch_at_label(v: SwitchAt) -> &'static str {
    match v {
        SwitchAt::Bar => "Bar",
        SwitchAt::LongestTrack => "End of longest track",
    }
}

impl Controller {
    /// Cues pattern `pt` on the transport and shows it.
    pub fn cue(&mut self, transport: &dyn Transport, pt: PatternId) {
        self.show(pt);
        transport.cue_pattern(pt);
    }

    /// Copies every track's part of pattern `from` onto `to` (one undoable op); shows `to`.
    pub fn copy_pattern(&mut self, sink: &dyn OpSink, from: PatternId, to: PatternId) {
        self.end_gesture();
        if self.edit(sink, Op::CopyPattern { from, to }, None).is_ok() {
            self.show(to);
        }
    }

    /// Empties pattern `pt` on every track (one undoable op).
    pub fn clear_pattern(&mut self, sink: &dyn OpSink, pt: PatternId) {
        self.end_gesture();
        let _ = self.edit(sink, Op::ClearPattern { pt }, None);
    }

    /// Sets when a queued pattern takes over (one undoable op).
    pub fn set_switch_at(&mut self, sink: &dyn OpSink, v: SwitchAt) {
        self.end_gesture();
        let _ = self.edit(sink, Op::SetSwitchAt { v }, None);
    }
}

/// Whether this frame's click was made with Ctrl (Cmd on macOS) held: the modifiers the
/// release came with, or the ones held now.
fn command_click(i: &egui::InputState) -> bool {
    i.modifiers.command
        || i.events.iter().any(|e| {
            matches!(e, egui::Event::PointerButton { pressed: false, modifiers, .. } if modifiers.command)
        })
}

/// Draws the slot row and handles its clicks and menus.
pub fn ui(ui: &mut egui::Ui, controller: &mut Controller, sink: &dyn OpSink, t: &dyn Transport) {
    let view = t.playback_view();
    let running = t.playing();
    let now = ui.input(|i| i.time);
    let blink_on = ((now / BLINK_S) as i64) % 2 == 0;
    ui.label("Pattern");
    let mut queued_any = false;
    for pt in PatternId::ALL {
        let look = SlotLook::of(
            pt,
            controller.state().pattern_in_use(pt),
            &view,
            controller.shown(),
            running,
        );
        queued_any |= look.queued;
        let letter = pt.letter().to_string();
        let text = if look.in_use {
            RichText::new(letter).strong()
        } else {
            RichText::new(letter).weak()
        };
        let mut button = egui::Button::new(text)
            .min_size(Vec2::new(SLOT_WIDTH_PT, 0.0))
            .selected(look.shown);
        if look.playing {
            button = button.fill(Color32::from_rgb(40, 110, 60));
        }
        if look.queued {
            let c = if blink_on {
                Color32::from_rgb(255, 200, 80)
            } else {
                Color32::from_rgb(120, 95, 40)
            };
            button = button.stroke(Stroke::new(2.0, c));
        }
        let mut hover = format!("Pattern {}", pt.letter());
        if !look.in_use {
            hover.push_str(" (empty)");
        }
        if look.playing {
            hover.push_str(" · playing");
        }
        if look.queued {
            hover.push_str(" · queued: takes over at the next switch");
        }
        if look.shown {
            hover.push_str(" · in the grid");
        }
        hover.push_str("\nClick: cue and show · Ctrl+click: show and edit without cueing");
        hover.push_str(" · Right-click: copy, clear");
        let r = ui.add(button).on_hover_text(hover);
        if r.clicked() {
            if ui.input(command_click) {
                controller.show(pt);
            } else {
                controller.cue(t, pt);
            }
        }
        r.context_menu(|ui| {
            ui.label(format!("Pattern {}", pt.letter()));
            if ui.button("Show without cueing").clicked() {
                controller.show(pt);
                ui.close();
            }
            if ui.button("Cue").clicked() {
                controller.cue(t, pt);
                ui.close();
            }
            ui.menu_button("Copy to", |ui| {
                for to in PatternId::ALL.into_iter().filter(|to| *to != pt) {
                    let used = controller.state().pattern_in_use(to);
                    let label = if used {
                        format!("{} (replace)", to.letter())
                    } else {
                        to.letter().to_string()
                    };
                    if ui.button(label).clicked() {
                        controller.copy_pattern(sink, pt, to);
                        ui.close();
                    }
                }
            });
            if ui.button("Clear").clicked() {
                controller.clear_pattern(sink, pt);
                ui.close();
            }
        });
    }
    if queued_any {
        ui.ctx()
            .request_repaint_after(std::time::Duration::from_secs_f64(BLINK_S));
    }
    let current = controller.state().switch_at;
    let mut chosen = current;
    ui.label("Switch at");
    egui::ComboBox::from_id_salt("switch_at")
        .selected_text(switch_at_label(current))
        .show_ui(ui, |ui| {
            for v in [SwitchAt::Bar, SwitchAt::LongestTrack] {
                ui.selectable_value(&mut chosen, v, switch_at_label(v));
            }
        })
        .response
        .on_hover_text(
            "When a cued pattern takes over: at the next bar, or when the longest track ends",
        );
    if chosen != current {
        controller.set_switch_at(sink, chosen);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A slot lights while its pattern plays (only while the transport runs), outlines while
    /// queued, and is selected while the grid shows it.
    #[test]
    fn slot_look_follows_the_playback_view() {
        let b: PatternId = "B".parse().unwrap();
        let view = PlaybackView {
            pattern: PatternId::A,
            queued: Some(Play::Pattern(b)),
            ..PlaybackView::default()
        };
        let a = SlotLook::of(PatternId::A, true, &view, b, true);
        assert_eq!(
            a,
            SlotLook {
                in_use: true,
                playing: true,
                queued: false,
                shown: false
            }
        );
        let slot_b = SlotLook::of(b, false, &view, b, true);
        assert!(slot_b.queued && slot_b.shown && !slot_b.playing && !slot_b.in_use);
        assert!(!SlotLook::of(PatternId::A, true, &view, b, false).playing);
        let song = PlaybackView {
            queued: Some(Play::Song),
            ..view
        };
        assert!(!SlotLook::of(b, false, &song, b, true).queued);
    }
}
