//! The standalone app's file bar, under the editor: the open project (and whether it is saved),
//! **Open…**, **Save As…**, **Recent**, **Export WAV…** and **Export MIDI…**. Paths are typed
//! into a text field (no native file dialog: it would need a desktop portal or GTK, which the
//! app does not otherwise require); relative paths are taken from the project's directory.
//!
//! Its logic is [`ProjectBar::act`], unit tested without a window.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use egui::{Color32, RichText};

use crate::project::{self, Project, ProjectError};
use crate::session::SessionStore;

/// What a path typed into the bar is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ask {
    /// Open a project (created if missing).
    Open,
    /// Save the project under a new name.
    SaveAs,
    /// Write one loop as a WAV file.
    ExportWav,
    /// Write one loop as a Standard MIDI File.
    ExportMidi,
}

/// One thing the bar does.
#[derive(Clone, Debug, PartialEq)]
pub enum Action {
    /// Open (or create) this project.
    Open(PathBuf),
    /// Save the project as this file.
    SaveAs(PathBuf),
    /// Export one loop to this WAV file.
    ExportWav(PathBuf),
    /// Export one loop to this MIDI file.
    ExportMidi(PathBuf),
}

/// The bar's state.
pub struct ProjectBar {
    /// The open project.
    project: Arc<Project>,
    /// The session, for exports.
    store: Arc<SessionStore>,
    /// The path field's purpose while it is shown.
    asking: Option<Ask>,
    /// The path being typed.
    path_text: String,
    /// The outcome of the last action: text and whether it is an error.
    message: Option<(String, bool)>,
}

impl ProjectBar {
    /// A bar for `project`.
    pub fn new(project: Arc<Project>, store: Arc<SessionStore>) -> Self {
        Self {
            project,
            store,
            asking: None,
            path_text: String::new(),
            message: None,
        }
    }

    /// The last outcome (text, is an error).
    pub fn message(&self) -> Option<&(String, bool)> {
        self.message.as_ref()
    }

    /// `text` as a path: relative ones from the project's directory.
    fn resolve(&self, text: &str) -> PathBuf {
        let path = Path::new(text.trim());
        if path.is_absolute() {
            return path.to_owned();
        }
        let base = self.project.path();
        base.parent().unwrap_or(Path::new(".")).join(path)
    }

    /// Does `action`, keeping its outcome as the bar's message.
    pub fn act(&mut self, action: Action) -> Result<(), ProjectError> {
        let result = match &action {
            Action::Open(p) => self
                .project
                .open_other(p)
                .map(|()| format!("Opened {}", p.display())),
            Action::SaveAs(p) => self
                .project
                .save_as(p)
                .map(|()| format!("Saved as {}", p.display())),
            Action::ExportWav(p) => project::export_wav(&self.store, p).map(|frames| {
                format!(
                    "Exported {:.1} s to {}",
                    frames as f64 / 48_000.0,
                    p.display()
                )
            }),
            Action::ExportMidi(p) => project::export_midi(&self.store, p)
                .map(|bytes| format!("Exported MIDI ({bytes} bytes) to {}", p.display())),
        };
        self.message = Some(match &result {
            Ok(text) => (text.clone(), false),
            Err(e) => (e.to_string(), true),
        });
        result.map(|_| ())
    }

    /// Starts asking for a path for `ask`, prefilled.
    fn ask(&mut self, ask: Ask) {
        let current = self.project.path();
        let name = |ext: &str| {
            current
                .with_extension(ext)
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default()
        };
        self.path_text = match ask {
            Ask::Open | Ask::SaveAs => name(project::EXTENSION),
            Ask::ExportWav => name("wav"),
            Ask::ExportMidi => name("mid"),
        };
        self.asking = Some(ask);
    }

    /// Draws the bar.
    pub fn ui(&mut self, ui: &mut egui::Ui) {
        ui.horizontal(|ui| {
            let path = self.project.path();
            let name = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            ui.label(RichText::new(name).strong())
                .on_hover_text(path.display().to_string());
            match self.project.error() {
                Some(e) => {
                    ui.label(RichText::new("not saved").color(Color32::from_rgb(255, 110, 90)))
                        .on_hover_text(e);
                }
                None if self.project.dirty() => {
                    ui.label(RichText::new("saving soon").weak())
                        .on_hover_text("Autosaved a few seconds after each change");
                }
                None => {
                    ui.label(RichText::new("saved").weak())
                        .on_hover_text("Autosaved a few seconds after each change and on exit");
                }
            }
            ui.separator();
            if ui
                .button("Open…")
                .on_hover_text("Open or create a project")
                .clicked()
            {
                self.ask(Ask::Open);
            }
            if ui
                .button("Save As…")
                .on_hover_text("Save the project under a new name and keep working there")
                .clicked()
            {
                self.ask(Ask::SaveAs);
            }
            let mut chosen = None;
            ui.menu_button("Recent", |ui| {
                for p in self.project.recent().paths {
                    if ui.button(p.display().to_string()).clicked() {
                        chosen = Some(p);
                        ui.close();
                    }
                }
            })
            .response
            .on_hover_text("Projects opened lately");
            if let Some(p) = chosen {
                let _ = self.act(Action::Open(p));
            }
            ui.separator();
            if ui
                .button("Export WAV…")
                .on_hover_text("Render one loop to a WAV file")
                .clicked()
            {
                self.ask(Ask::ExportWav);
            }
            if ui
                .button("Export MIDI…")
                .on_hover_text(
                    "Write one loop as a Standard MIDI File: a track per track, drums on \
                     channel 10, swing, ratchets and probability as the engine plays them",
                )
                .clicked()
            {
                self.ask(Ask::ExportMidi);
            }
            if let Some((text, error)) = &self.message {
                let color = if *error {
                    Color32::from_rgb(255, 110, 90)
                } else {
                    Color32::from_rgb(150, 220, 150)
                };
                ui.label(RichText::new(text).color(color));
            }
        });
        let Some(ask) = self.asking else {
            return;
        };
        ui.horizontal(|ui| {
            ui.label(match ask {
                Ask::Open => "Open project:",
                Ask::SaveAs => "Save as:",
                Ask::ExportWav => "Export WAV to:",
                Ask::ExportMidi => "Export MIDI to:",
            });
            let field = ui.add(
                egui::TextEdit::singleline(&mut self.path_text)
                    .desired_width(420.0)
                    .hint_text("path (relative to the project's folder)"),
            );
            let enter = field.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter));
            if ui.button("OK").clicked() || enter {
                let path = self.resolve(&self.path_text.clone());
                let action = match ask {
                    Ask::Open => Action::Open(path),
                    Ask::SaveAs => Action::SaveAs(path),
                    Ask::ExportWav => Action::ExportWav(path),
                    Ask::ExportMidi => Action::ExportMidi(path),
                };
                if self.act(action).is_ok() {
                    self.asking = None;
                }
            }
            if ui.button("Cancel").clicked() {
                self.asking = None;
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::params::KeyboardiaParams;
    use crate::services::Services;
    use keyboardia_core::Op;

    fn bar(dir: &Path) -> (ProjectBar, Services) {
        let params = Arc::new(KeyboardiaParams::default());
        let (services, _ends) = Services::new(&params);
        let project = Project::open(
            &dir.join("song.keyboardia"),
            params,
            services.store.clone(),
            services.live.clone(),
            Some(dir.join("recent.json")),
        )
        .unwrap();
        (
            ProjectBar::new(Arc::new(project), services.store.clone()),
            services,
        )
    }

    /// Draws the bar once in a headless egui context.
    fn draw(bar: &mut ProjectBar) {
        let ctx = egui::Context::default();
        let mut out = ctx.run_ui(egui::RawInput::default(), |ui| bar.ui(ui));
        // No painter here: the font textures are dropped unused.
        out.textures_delta.clear();
    }

    #[test]
    fn save_as_open_recent_and_export_from_the_bar() {
        let dir = tempfile::tempdir().unwrap();
        let (mut bar, services) = bar(dir.path());
        draw(&mut bar);
        bar.ask(Ask::SaveAs);
        assert_eq!(bar.path_text, "song.keyboardia");
        draw(&mut bar);

        // Save As a relative name: next to the project.
        let tr = services.store.state().tracks[0].id;
        services
            .store
            .apply(&Op::SetStep {
                pt: keyboardia_core::PatternId::A,
                tr,
                s: 3,
                on: true,
            })
            .unwrap();
        let copy = bar.resolve("copy.keyboardia");
        assert_eq!(copy, dir.path().join("copy.keyboardia"));
        bar.act(Action::SaveAs(copy.clone())).unwrap();
        assert_eq!(bar.project.path(), copy);
        assert!(!bar.message().unwrap().1);

        // Open the first file again: its session (without the edit) comes back.
        bar.act(Action::Open(dir.path().join("song.keyboardia")))
            .unwrap();
        assert!(!services.store.state().tracks[0].steps[3].on);
        let recent = bar.project.recent().paths;
        assert!(recent[0].ends_with("song.keyboardia") && recent[1].ends_with("copy.keyboardia"));

        // A bad path is an error message and changes nothing.
        let err = bar.act(Action::Open(dir.path().join("nowhere/x.keyboardia")));
        assert!(err.is_err());
        assert!(bar.message().unwrap().1, "shown as an error");
        assert!(bar.project.path().ends_with("song.keyboardia"));

        // Export WAV: one loop (the demo's 64-step lead: 4 bars) of audible stereo.
        let wav = dir.path().join("song.wav");
        bar.act(Action::ExportWav(wav.clone())).unwrap();
        let decoded = keyboardia_core::audio::decode(&std::fs::read(&wav).unwrap()).unwrap();
        let tempo = services.store.state().tempo;
        let expected = keyboardia_engine::render::bars_to_frames(4.0, tempo, 48_000.0);
        assert_eq!(
            (decoded.info.channels, decoded.info.sample_rate_hz),
            (2, 48_000)
        );
        assert_eq!(decoded.samples.len(), 2 * expected);
        assert!(decoded.samples.iter().any(|x| x.abs() > 0.05), "audible");

        // Export MIDI: a type-1 file with a track per sequencer track (plus the tempo track).
        let mid = dir.path().join("song.mid");
        bar.act(Action::ExportMidi(mid.clone())).unwrap();
        let bytes = std::fs::read(&mid).unwrap();
        let smf = midly::Smf::parse(&bytes).unwrap();
        assert_eq!(smf.header.format, midly::Format::Parallel);
        assert_eq!(smf.tracks.len(), services.store.state().tracks.len() + 1);
        assert!(!bar.message().unwrap().1);
        draw(&mut bar);
    }
}
