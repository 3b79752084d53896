//! The song: an ordered list of (pattern, repeats) chips beside the pattern slots. "+" appends
//! the shown pattern; a chip's menu (click) sets its repeats, moves it or removes it, each one
//! undoable op ([`keyboardia_core::edit`]'s `song_*`). The "Song" toggle plays the chain
//! ([`Transport::set_song_mode`]); while it plays, the playing entry is lit and its pass and bar
//! are shown.

use egui::{Color32, RichText};
use keyboardia_core::edit::{song_insert, song_move, song_remove, song_set};
use keyboardia_core::song::PlaybackView;
use keyboardia_core::{SongEntry, MAX_SONG_ENTRIES, SONG_REPEATS_RANGE};

use crate::controller::Controller;
use crate::host::{OpSink, Transport};

impl Controller {
    /// Appends the shown pattern to the song, played once (one undoable op).
    pub fn song_add(&mut self, sink: &dyn OpSink) {
        let entry = SongEntry {
            pattern: self.shown(),
            repeats: 1,
        };
        match song_insert(self.state(), usize::MAX, entry) {
            Ok(op) => {
                self.end_gesture();
                let _ = self.edit(sink, op, None);
            }
            Err(e) => self.set_notice(format!("Edit refused: {e}")),
        }
    }

    /// Removes song entry `at` (one undoable op).
    pub fn song_remove(&mut self, sink: &dyn OpSink, at: usize) {
        if let Some(op) = song_remove(self.state(), at) {
            self.end_gesture();
            let _ = self.edit(sink, op, None);
        }
    }

    /// Moves song entry `from` to index `to` (one undoable op).
    pub fn song_move(&mut self, sink: &dyn OpSink, from: usize, to: usize) {
        if let Some(op) = song_move(self.state(), from, to) {
            self.end_gesture();
            let _ = self.edit(sink, op, None);
        }
    }

    /// Changes song entry `at`'s repeats by `delta`, within [`SONG_REPEATS_RANGE`] (one
    /// undoable op; nothing at the ends of the range).
    pub fn song_repeats(&mut self, sink: &dyn OpSink, at: usize, delta: i32) {
        let Some(entry) = self.state().song.get(at).copied() else {
            return;
        };
        let n = (i32::from(entry.repeats) + delta).clamp(
            i32::from(*SONG_REPEATS_RANGE.start()),
            i32::from(*SONG_REPEATS_RANGE.end()),
        ) as u8;
        if n == entry.repeats {
            return;
        }
        let entry = SongEntry {
            repeats: n,
            ..entry
        };
        if let Ok(Some(op)) = song_set(self.state(), at, entry) {
            self.end_gesture();
            let _ = self.edit(sink, op, None);
        }
    }
}

/// The text of a song entry's chip: its pattern, and its repeats when more than one.
pub fn entry_label(e: &SongEntry) -> String {
    if e.repeats > 1 {
        format!("{}×{}", e.pattern.letter(), e.repeats)
    } else {
        e.pattern.letter().to_string()
    }
}

/// Where the song is, for the label beside the list: "2/4 · bar 3" (pass of the entry's
/// repeats, bar within the pass), from 1.
pub fn position_label(view: &PlaybackView, song: &[SongEntry]) -> Option<String> {
    let p = view.position?;
    let repeats = song.get(p.entry).map_or(1, |e| e.repeats);
    Some(format!(
        "{}/{} · bar {}",
        u32::from(p.repeat) + 1,
        repeats,
        p.bar + 1
    ))
}

/// Draws the song toggle and list and handles their clicks.
pub fn ui(ui: &mut egui::Ui, controller: &mut Controller, sink: &dyn OpSink, t: &dyn Transport) {
    let view = t.playback_view();
    let song = controller.state().song.clone();
    let mut on = view.song_mode;
    if ui
        .toggle_value(&mut on, "Song")
        .on_hover_text("Song mode: play the chain of patterns (from the next switch)")
        .changed()
    {
        t.set_song_mode(on);
    }
    let playing_entry = view
        .song_mode
        .then_some(view.position)
        .flatten()
        .map(|p| p.entry);
    for (i, e) in song.iter().enumerate() {
        let mut text = RichText::new(entry_label(e));
        if playing_entry == Some(i) {
            text = text.strong().color(Color32::from_rgb(140, 230, 150));
        }
        let r = ui
            .add(egui::Button::new(text).selected(playing_entry == Some(i)))
            .on_hover_text(format!(
                "Song entry {}: pattern {} played {} time{} · click to edit",
                i + 1,
                e.pattern.letter(),
                e.repeats,
                if e.repeats == 1 { "" } else { "s" }
            ));
        egui::Popup::menu(&r).show(|ui| {
            ui.label(format!("Entry {} · pattern {}", i + 1, e.pattern.letter()));
            ui.horizontal(|ui| {
                if ui.button("-").on_hover_text("One repeat fewer").clicked() {
                    controller.song_repeats(sink, i, -1);
                }
                ui.label(format!("×{}", e.repeats));
                if ui.button("+").on_hover_text("One repeat more").clicked() {
                    controller.song_repeats(sink, i, 1);
                }
            });
            if ui
                .add_enabled(i > 0, egui::Button::new("Move earlier"))
                .clicked()
            {
                controller.song_move(sink, i, i - 1);
                ui.close();
            }
            if ui
                .add_enabled(i + 1 < song.len(), egui::Button::new("Move later"))
                .clicked()
            {
                controller.song_move(sink, i, i + 1);
                ui.close();
            }
            if ui.button("Remove").clicked() {
                controller.song_remove(sink, i);
                ui.close();
            }
        });
    }
    let shown = controller.shown();
    if ui
        .add_enabled(
            song.len() < MAX_SONG_ENTRIES,
            egui::Button::new(format!("+ {}", shown.letter())),
        )
        .on_hover_text(format!("Append pattern {} to the song", shown.letter()))
        .clicked()
    {
        controller.song_add(sink);
    }
    if view.song_mode {
        if let Some(label) = position_label(&view, &song) {
            ui.label(RichText::new(label).monospace());
        }
    }
}
