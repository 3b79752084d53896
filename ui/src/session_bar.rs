//! The session bar: server, new session, join by link or id, invite link, fork, leave,
//! connection state, the players present (each with a colour), and shared samples with their
//! progress. Decisions ([`SessionBar::join_target`]) are unit tested without a window.

use web_time::Instant;

use egui::{Color32, RichText};
use keyboardia_core::{SessionId, TrackId};

use crate::host::{Connection, LiveError, LiveSession, Status, Transfer, FLASH};

/// The player palette (index = the colour the room assigns).
pub const PALETTE: [Color32; 16] = [
    Color32::from_rgb(0xff, 0x6b, 0x6b),
    Color32::from_rgb(0x4d, 0xab, 0xf7),
    Color32::from_rgb(0x51, 0xcf, 0x66),
    Color32::from_rgb(0xfc, 0xc4, 0x19),
    Color32::from_rgb(0xcc, 0x5d, 0xe8),
    Color32::from_rgb(0xff, 0x92, 0x2b),
    Color32::from_rgb(0x22, 0xb8, 0xcf),
    Color32::from_rgb(0xf0, 0x65, 0x95),
    Color32::from_rgb(0x94, 0xd8, 0x2d),
    Color32::from_rgb(0x84, 0x5e, 0xf7),
    Color32::from_rgb(0x20, 0xc9, 0x97),
    Color32::from_rgb(0xe6, 0x77, 0x00),
    Color32::from_rgb(0x74, 0xc0, 0xfc),
    Color32::from_rgb(0xda, 0x77, 0xf2),
    Color32::from_rgb(0xa9, 0xe3, 0x4b),
    Color32::from_rgb(0xff, 0xa8, 0xa8),
];

/// The colour of palette entry `i`.
pub fn player_color(i: u8) -> Color32 {
    PALETTE[i as usize % PALETTE.len()]
}

/// The flash over a cell another player just changed, fading out over [`FLASH`].
pub fn flash(status: &Status, track: TrackId, step: u8, now: Instant) -> Option<Color32> {
    status
        .flashes
        .iter()
        .rev()
        .find(|f| f.track == track && f.step.is_none_or(|s| s == step))
        .and_then(|f| {
            let age = now.duration_since(f.at).as_secs_f32() / FLASH.as_secs_f32();
            (age < 1.0).then(|| player_color(f.color).gamma_multiply(1.0 - age))
        })
}

/// The session bar's own fields.
pub struct SessionBar {
    /// Server base URL.
    pub server: String,
    /// This player's display name.
    pub name: String,
    /// What the player pasted to join (a link or an id).
    pub join_text: String,
    /// Path of a WAV file to share.
    pub sample_path: String,
    /// The last outcome of a button, shown until the next one.
    pub message: Option<String>,
}

impl SessionBar {
    /// A bar offering `server` (the host's default).
    pub fn new(server: String) -> Self {
        Self {
            server,
            name: "player".into(),
            join_text: String::new(),
            sample_path: String::new(),
            message: None,
        }
    }
}

impl SessionBar {
    /// What "Join" would join: the server the link names (else the server field) and the id.
    pub fn join_target(&self, live: &dyn LiveSession) -> Result<(String, SessionId), LiveError> {
        let (server, id) = live.parse_invite(&self.join_text).map_err(|_| {
            LiveError("paste an invite link (…/s/<id>) or a session id".to_string())
        })?;
        Ok((server.unwrap_or_else(|| self.server.trim().to_string()), id))
    }

    fn report(&mut self, result: Result<String, LiveError>) {
        self.message = Some(match result {
            Ok(m) => m,
            Err(e) => format!("⚠ {e}"),
        });
    }

    /// Draws the bar over the live session `live`.
    pub fn ui(&mut self, ui: &mut egui::Ui, live: &dyn LiveSession) {
        let status = live.status();
        ui.horizontal_wrapped(|ui| {
            ui.label("Server");
            ui.add(egui::TextEdit::singleline(&mut self.server).desired_width(150.0));
            ui.label("Name");
            ui.add(egui::TextEdit::singleline(&mut self.name).desired_width(80.0));
            if status.session.is_none() {
                if ui
                    .button("New session")
                    .on_hover_text("Share this pattern in a new live session")
                    .clicked()
                {
                    let r = live
                        .create(self.server.trim(), self.name.trim())
                        .map(|id| format!("created session {id}"));
                    self.report(r);
                }
                ui.add(
                    egui::TextEdit::singleline(&mut self.join_text)
                        .hint_text("invite link or session id")
                        .desired_width(220.0),
                );
                if ui.button("Join").clicked() {
                    let r = self.join_target(live).and_then(|(server, session)| {
                        live.join(&server, session, self.name.trim())
                            .map(|_| format!("joining {session}"))
                    });
                    self.report(r);
                }
            } else {
                if ui.button("Copy invite link").clicked() {
                    if let Some(link) = live.invite_link() {
                        ui.ctx().copy_text(link.clone());
                        self.report(Ok(format!("copied {link}")));
                    }
                }
                if ui
                    .button("Fork")
                    .on_hover_text("Continue in a copy of this session")
                    .clicked()
                {
                    let r = live.fork().map(|id| format!("forked into {id}"));
                    self.report(r);
                }
                if ui.button("Leave").clicked() {
                    live.leave();
                    self.report(Ok("left the session; the pattern stays".into()));
                }
            }
        });
        if status.session.is_some() {
            ui.horizontal_wrapped(|ui| {
                connection_label(ui, &status);
                for p in &status.players {
                    let you = Some(p.id) == status.you;
                    let text = if you {
                        format!("● {} (you)", p.name)
                    } else {
                        format!("● {}", p.name)
                    };
                    ui.label(RichText::new(text).color(player_color(p.color)));
                }
                ui.separator();
                ui.add(
                    egui::TextEdit::singleline(&mut self.sample_path)
                        .hint_text("path to a .wav")
                        .desired_width(180.0),
                );
                if ui.button("Share sample").clicked() {
                    let r = live.share_sample_file(&self.sample_path);
                    self.report(r);
                }
                for (name, t) in &status.transfers {
                    ui.label(transfer_text(name, t));
                }
            });
        }
        if let Some(e) = status.error.as_ref().or(self.message.as_ref()) {
            ui.label(RichText::new(e).small());
        }
    }
}

fn connection_label(ui: &mut egui::Ui, status: &Status) {
    let (text, color) = match &status.connection {
        Some(Connection::Joined) => ("● live".to_string(), Color32::from_rgb(0x51, 0xcf, 0x66)),
        Some(Connection::Connecting { attempt }) => {
            (format!("connecting (try {})", attempt + 1), Color32::YELLOW)
        }
        Some(Connection::Offline { error, retry_in }) => (
            format!(
                "offline, retrying in {:.1} s: {error}",
                retry_in.as_secs_f32()
            ),
            Color32::from_rgb(0xff, 0x6b, 0x6b),
        ),
        None => ("starting".to_string(), Color32::GRAY),
    };
    ui.label(RichText::new(text).color(color));
}

fn transfer_text(name: &str, t: &Transfer) -> String {
    match t {
        Transfer::Uploading { sent, total } if *total > 0 => {
            format!("{name}: {}%", sent * 100 / total)
        }
        Transfer::Uploading { .. } => format!("{name}: starting upload"),
        Transfer::Uploaded(_) => format!("{name}: shared"),
        Transfer::Downloaded(_) => format!("{name}: received"),
        Transfer::Failed {
            error,
            retrying: true,
        } => format!("{name}: failed, retrying ({error})"),
        Transfer::Failed {
            error,
            retrying: false,
        } => format!("{name}: failed ({error})"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::host::Flash;

    #[test]
    fn flashes_fade_and_match_their_cell() {
        let t0 = Instant::now();
        let kick: TrackId = "kick".parse().unwrap();
        let status = Status {
            flashes: vec![Flash {
                track: kick,
                step: Some(3),
                color: 1,
                at: t0,
            }],
            ..Status::default()
        };
        let fresh = flash(&status, kick, 3, t0).unwrap();
        assert_eq!(fresh, player_color(1));
        assert!(flash(&status, kick, 4, t0).is_none());
        let faded = flash(&status, kick, 3, t0 + FLASH / 2).unwrap();
        assert!(faded.a() < fresh.a());
        assert!(flash(&status, kick, 3, t0 + FLASH).is_none());
    }
}
