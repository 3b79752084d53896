//! The beats panel (issue 15): publish the joined session as a named beat, its beat history,
//! open a beat read-only; and, while a beat is shown read-only (the beat page, or a beat opened
//! in an app), the player's bar: play and pause, the tempo, Remix, the source session, the
//! creator (once accounts name one), exports and "Open in Keyboardia".
//!
//! Everything goes through the host's [`Beats`]; the editor itself sends no edit while a beat is
//! shown (see `Editor::ui`). Links: a beat lives at `{server}/b/{id}`; the app opens
//! `keyboardia:{that link}` ([`parse_beat_link`] reads both).

use egui::{Color32, RichText};
use keyboardia_core::BeatId;

use crate::host::{BeatExport, BeatView, Beats, LiveSession, Transport};

/// The scheme that opens a beat link in the Keyboardia app (`keyboardia:{link}`).
pub const APP_SCHEME: &str = "keyboardia:";

/// The link of beat `id` on `server` (`http://host:port`, no trailing slash).
pub fn beat_link(server: &str, id: BeatId) -> String {
    format!("{}/b/{id}", server.trim_end_matches('/'))
}

/// The `keyboardia:` link that opens `link` (a beat link) in the app.
pub fn app_link(link: &str) -> String {
    format!("{APP_SCHEME}{link}")
}

/// Reads a beat link (`…/b/{id}`, with or without `keyboardia:` before it): the server it names
/// (if any) and the beat. `None` when `text` is no beat link.
pub fn parse_beat_link(text: &str) -> Option<(Option<String>, BeatId)> {
    let text = text.trim();
    let text = text.strip_prefix(APP_SCHEME).unwrap_or(text);
    let text = text.strip_prefix("//").unwrap_or(text);
    let (base, rest) = text.rsplit_once("/b/")?;
    let id = rest
        .split(['?', '#'])
        .next()
        .unwrap_or("")
        .trim_end_matches('/');
    let id: BeatId = id.parse().ok()?;
    let base = base.trim_end_matches('/');
    let server =
        (base.starts_with("http://") || base.starts_with("https://")).then(|| base.to_owned());
    Some((server, id))
}

/// What the line under a beat's title says about its maker: its creator's display name
/// ([`BeatView::created_by`]); nothing for a beat published without signing in.
pub fn creator_line(view: &BeatView) -> Option<String> {
    view.created_by.as_ref().map(|who| format!("by {who}"))
}

/// The panel's own state (what is typed).
#[derive(Default)]
pub struct BeatsPanel {
    /// The name the next beat is published under.
    name: String,
}

impl BeatsPanel {
    /// The player's bar while `view` is shown read-only.
    pub fn player(
        &mut self,
        ui: &mut egui::Ui,
        beats: &dyn Beats,
        view: &BeatView,
        transport: &dyn Transport,
        tempo_bpm: f64,
    ) {
        ui.horizontal_wrapped(|ui| {
            let playing = transport.run();
            let label = if playing { "Pause" } else { "▶ Play" };
            if ui
                .button(RichText::new(label).strong())
                .on_hover_text("Play or pause the beat")
                .clicked()
            {
                transport.set_run(!playing);
            }
            ui.separator();
            let title = view.name.as_deref().unwrap_or("Untitled beat");
            ui.label(RichText::new(title).heading());
            ui.label(format!("{tempo_bpm:.0} BPM"));
            // The creator's display name (never an id or an address).
            if let Some(line) = creator_line(view) {
                ui.label(line);
            }
            ui.label(RichText::new("read-only").italics())
                .on_hover_text("A published beat never changes: Remix to edit a copy");
            ui.separator();
            if ui
                .button("Remix")
                .on_hover_text("Start a new session from this beat and open it")
                .clicked()
            {
                beats.remix();
            }
            match &view.source_link {
                Some(link) => {
                    ui.hyperlink_to("Source session", link)
                        .on_hover_text("The live session it was published from");
                }
                None => {
                    ui.label(RichText::new("source session gone").weak());
                }
            }
            if beats.exports() {
                ui.separator();
                if ui.button("Export WAV").clicked() {
                    beats.export(BeatExport::Wav);
                }
                if ui.button("Export MIDI").clicked() {
                    beats.export(BeatExport::Midi);
                }
            }
            if let Some(link) = beats.open_in_app_link() {
                ui.hyperlink_to("Open in Keyboardia", link)
                    .on_hover_text("Open this beat in the Keyboardia app, if it is installed");
            }
            if beats.closable() && ui.button("Close beat").clicked() {
                beats.close_beat();
            }
            status_line(ui, beats);
        });
    }

    /// The compact bar of a session: publish with a name, the history, open.
    pub fn session(&mut self, ui: &mut egui::Ui, beats: &dyn Beats, live: &dyn LiveSession) {
        ui.horizontal_wrapped(|ui| {
            ui.label("Beats");
            let joined = live.is_joined();
            ui.add_enabled(
                joined,
                egui::TextEdit::singleline(&mut self.name)
                    .hint_text("beat name")
                    .desired_width(140.0),
            );
            if ui
                .add_enabled(joined, egui::Button::new("Publish beat"))
                .on_hover_text("Publish the session as it is now: a link anyone can listen to")
                .on_disabled_hover_text("Join or start a live session to publish")
                .clicked()
            {
                beats.publish(self.name.trim());
                self.name.clear();
            }
            let history = beats.beats_status().history;
            let menu = ui.add_enabled_ui(joined, |ui| {
                ui.menu_button(format!("History ({})", history.len()), |ui| {
                    if history.is_empty() {
                        ui.label("No beats published from this session yet");
                    }
                    for b in history.iter().rev() {
                        let name = b.name.as_deref().unwrap_or("Untitled beat");
                        let label = match &b.creator_name {
                            Some(by) => format!("Open “{name}” by {by}"),
                            None => format!("Open “{name}”"),
                        };
                        if ui.button(label).clicked() {
                            beats.open_beat(None, b.id);
                            ui.close();
                        }
                    }
                })
            });
            if menu.inner.response.clicked() {
                beats.refresh_history();
            }
            status_line(ui, beats);
        });
    }
}

/// The request in flight, or the last one's outcome.
fn status_line(ui: &mut egui::Ui, beats: &dyn Beats) {
    let s = beats.beats_status();
    if let Some(w) = s.working {
        ui.spinner();
        ui.label(w);
    } else if let Some(m) = s.message {
        let color = if s.message_is_error {
            Color32::from_rgb(0xff, 0x6b, 0x6b)
        } else {
            Color32::from_rgb(0x51, 0xcf, 0x66)
        };
        ui.label(RichText::new(m).color(color));
    }
}

#[cfg(test)]
mod tests;
