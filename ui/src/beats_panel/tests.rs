//! The beats panel driven headless through the real editor: publish with a name, the history,
//! open a beat read-only (no click or key edits it), remix.

use std::sync::Mutex;

use keyboardia_core::beat::BeatSummary;
use keyboardia_core::{SessionId, SessionState};

use super::*;
use crate::host::*;
use crate::testing::{MemHost, MemLive};
use crate::{Controller, Editor};

/// A live session that says it is joined (publishing needs one).
struct Joined;

impl LiveSession for Joined {
    fn status(&self) -> Status {
        Status::default()
    }
    fn is_joined(&self) -> bool {
        true
    }
    fn timeline_playing(&self) -> Option<bool> {
        Some(false)
    }
    fn invite_link(&self) -> Option<String> {
        None
    }
    fn default_server(&self) -> String {
        MemLive::default().default_server()
    }
    fn parse_invite(&self, text: &str) -> Result<(Option<String>, SessionId), LiveError> {
        MemLive::default().parse_invite(text)
    }
    fn create(&self, _: &str, _: &str) -> Result<SessionId, LiveError> {
        Err(LiveError("no".into()))
    }
    fn join(&self, _: &str, _: SessionId, _: &str) -> Result<(), LiveError> {
        Err(LiveError("no".into()))
    }
    fn fork(&self) -> Result<SessionId, LiveError> {
        Err(LiveError("no".into()))
    }
    fn leave(&self) {}
    fn set_playing(&self, _: bool) {}
    fn share_sample_file(&self, _: &str) -> Result<String, LiveError> {
        Err(LiveError("no".into()))
    }
}

/// Beats in memory: what the panel asked for.
#[derive(Default)]
struct MemBeats {
    /// The panel's status.
    status: Mutex<BeatsStatus>,
    /// Names published, in order.
    published: Mutex<Vec<String>>,
    /// History refreshes asked for.
    refreshes: Mutex<u32>,
    /// Remixes asked for.
    remixes: Mutex<u32>,
}

impl Beats for MemBeats {
    fn beats_status(&self) -> BeatsStatus {
        self.status.lock().unwrap().clone()
    }
    fn publish(&self, name: &str) {
        self.published.lock().unwrap().push(name.to_owned());
        let n = self.published.lock().unwrap().len() as u8;
        self.status.lock().unwrap().history.push(BeatSummary {
            id: BeatId::from_random_bytes([n; 16]),
            name: (!name.is_empty()).then(|| name.to_owned()),
            created_at: u64::from(n),
            expires_at: None,
            creator_name: None,
        });
    }
    fn refresh_history(&self) {
        *self.refreshes.lock().unwrap() += 1;
    }
    fn open_beat(&self, _server: Option<&str>, id: BeatId) {
        let mut s = self.status.lock().unwrap();
        let name = s.history.iter().find(|b| b.id == id).unwrap().name.clone();
        s.viewing = Some(BeatView {
            id,
            name,
            link: beat_link("http://k.test", id),
            source_link: None,
            created_by: None,
        });
    }
    fn remix(&self) {
        *self.remixes.lock().unwrap() += 1;
    }
}

/// The memory host with beats and a joined session.
struct BeatsHost {
    /// Store, transport, settings and recorder in memory.
    inner: MemHost,
    /// The beats the panel drives.
    beats: MemBeats,
}

impl Host for BeatsHost {
    fn store(&self) -> &dyn Store {
        &self.inner.store
    }
    fn transport(&self) -> &dyn Transport {
        &self.inner.transport
    }
    fn settings(&self) -> &dyn Settings {
        &self.inner.settings
    }
    fn live(&self) -> &dyn LiveSession {
        &Joined
    }
    fn recorder(&self) -> &dyn Recorder {
        &self.inner.recorder
    }
    fn beats(&self) -> Option<&dyn Beats> {
        Some(&self.beats)
    }
}

/// The whole editor, driven frame by frame on a virtual clock.
struct Window {
    /// The context (kept across frames: focus, menus).
    ctx: egui::Context,
    /// The editor.
    app: Editor<BeatsHost>,
    /// The editor's clock, in seconds.
    time_s: f64,
    /// The last frame's output (what was drawn where).
    out: Option<egui::FullOutput>,
}

impl Window {
    fn new(state: SessionState) -> Self {
        let host = BeatsHost {
            inner: MemHost::new(state.clone()),
            beats: MemBeats::default(),
        };
        let mut w = Self {
            ctx: egui::Context::default(),
            app: Editor::with_controller(host, Controller::new(state, Box::new(|| 1))),
            time_s: 0.0,
            out: None,
        };
        w.frame(vec![]);
        w.frame(vec![]);
        w
    }

    fn frame(&mut self, events: Vec<egui::Event>) {
        self.time_s += 0.05;
        let input = egui::RawInput {
            screen_rect: Some(egui::Rect::from_min_size(
                egui::Pos2::ZERO,
                egui::vec2(1400.0, 720.0),
            )),
            time: Some(self.time_s),
            events,
            ..Default::default()
        };
        let app = &mut self.app;
        let mut out = self.ctx.run_ui(input, |ui| app.ui(ui));
        out.textures_delta.clear();
        self.out = Some(out);
    }

    fn click(&mut self, pos: egui::Pos2) {
        let button = |pressed| egui::Event::PointerButton {
            pos,
            button: egui::PointerButton::Primary,
            pressed,
            modifiers: egui::Modifiers::NONE,
        };
        self.frame(vec![egui::Event::PointerMoved(pos)]);
        self.frame(vec![button(true)]);
        self.frame(vec![button(false)]);
        self.frame(vec![]);
    }

    fn texts(&self) -> Vec<(String, egui::Rect)> {
        fn all(shape: &egui::Shape, out: &mut Vec<(String, egui::Rect)>) {
            match shape {
                egui::Shape::Text(t) => out.push((
                    t.galley.text().to_owned(),
                    t.galley.rect.translate(t.pos.to_vec2()),
                )),
                egui::Shape::Vec(v) => v.iter().for_each(|s| all(s, out)),
                _ => {}
            }
        }
        let mut texts = Vec::new();
        for c in &self.out.as_ref().unwrap().shapes {
            all(&c.shape, &mut texts);
        }
        texts
    }

    fn has(&self, text: &str) -> bool {
        self.texts().iter().any(|(t, _)| t == text)
    }

    fn click_text(&mut self, text: &str) {
        let at = self
            .texts()
            .into_iter()
            .find(|(t, _)| t == text)
            .unwrap_or_else(|| panic!("{text:?} is drawn: {:?}", self.texts()))
            .1;
        self.click(at.center());
    }

    fn key(&mut self, key: egui::Key) {
        for pressed in [true, false] {
            self.frame(vec![egui::Event::Key {
                key,
                physical_key: None,
                pressed,
                repeat: false,
                modifiers: egui::Modifiers::NONE,
            }]);
        }
    }
}

fn beats(w: &Window) -> &MemBeats {
    &w.app.host().beats
}

#[test]
fn publish_history_open_read_only_and_remix() {
    let state = SessionState::demo();
    let mut w = Window::new(state.clone());

    // Publish with a name.
    w.click_text("beat name");
    w.frame(vec![egui::Event::Text("Friday".into())]);
    w.click_text("Publish beat");
    assert_eq!(*beats(&w).published.lock().unwrap(), vec!["Friday"]);

    // The history lists it (opening the menu fetches it again) and opens it read-only.
    w.click_text("History (1)");
    assert_eq!(*beats(&w).refreshes.lock().unwrap(), 1);
    w.click_text("Open “Friday”");
    assert!(beats(&w).beats_status().viewing.is_some());
    w.frame(vec![]);
    let tempo = format!("{:.0} BPM", state.tempo);
    for text in ["Friday", &tempo, "read-only", "Remix", "▶ Play"] {
        assert!(w.has(text), "{text:?} shown: {:?}", w.texts());
    }
    assert!(!w.has("Publish beat"), "the session bars are hidden");

    // Play and pause work; no click, drag or key edits the beat.
    w.click_text("▶ Play");
    assert!(w.app.host().inner.transport.run());
    w.click_text("Pause");
    assert!(!w.app.host().inner.transport.run());
    let cell = {
        let id = state.tracks[0].id;
        w.app.cell_rect(id, 1).expect("the grid is drawn").center()
    };
    w.click(cell);
    w.frame(vec![
        egui::Event::PointerMoved(cell),
        egui::Event::PointerButton {
            pos: cell,
            button: egui::PointerButton::Secondary,
            pressed: true,
            modifiers: egui::Modifiers::NONE,
        },
    ]);
    for key in [egui::Key::Space, egui::Key::Delete, egui::Key::Z] {
        w.key(key);
    }
    assert_eq!(
        w.app.host().inner.store.state(),
        state,
        "nothing edits a beat"
    );
    assert!(!w.app.host().inner.transport.run(), "space plays nothing");

    // The creator line shows the creator's display name once a beat names one.
    beats(&w)
        .status
        .lock()
        .unwrap()
        .viewing
        .as_mut()
        .unwrap()
        .created_by = Some("ada".into());
    w.frame(vec![]);
    assert!(w.has("by ada"));

    w.click_text("Remix");
    assert_eq!(*beats(&w).remixes.lock().unwrap(), 1);
}

#[test]
fn beat_links() {
    let id: BeatId = "0b3b8d2e-7c1a-4f5e-9a6b-1c2d3e4f5a6b".parse().unwrap();
    let link = beat_link("http://127.0.0.1:8787/", id);
    assert_eq!(link, format!("http://127.0.0.1:8787/b/{id}"));
    let server = Some("http://127.0.0.1:8787".to_owned());
    assert_eq!(parse_beat_link(&link), Some((server.clone(), id)));
    assert_eq!(parse_beat_link(&app_link(&link)), Some((server, id)));
    assert_eq!(
        parse_beat_link(&format!(" /b/{id}/?x#y ")),
        Some((None, id))
    );
    assert_eq!(parse_beat_link(&format!("http://h/s/{id}")), None);
    assert_eq!(parse_beat_link("http://h/b/nope"), None);
}
