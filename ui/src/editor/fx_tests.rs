//! The effects panel, the per-track swing and Euclid controls and the fill button, driven
//! through whole frames of the real editor over a host in memory: each control makes its op,
//! a slider's drag is one undo entry, and undo puts the session back.

use super::*;
use crate::fx_panel::{LABEL_WIDTH_PT, SLIDER_WIDTH_PT};
use crate::testing::MemHost;
use keyboardia_core::edit::euclid;
use keyboardia_core::{DelayTime, FilterMode, SessionState};

/// The editor in a 1400 × 720 window on a virtual clock.
struct Window {
    /// The context (kept across frames: focus, drags).
    ctx: egui::Context,
    /// The editor.
    app: Editor<MemHost>,
    /// The editor's clock, in seconds.
    time_s: f64,
    /// The modifiers held.
    mods: egui::Modifiers,
    /// The last frame's output.
    out: Option<egui::FullOutput>,
}

impl Window {
    fn new(state: SessionState) -> Self {
        let ctx = egui::Context::default();
        ctx.set_visuals(egui::Visuals::dark());
        let app = Editor::with_controller(
            MemHost::new(state.clone()),
            Controller::new(state, Box::new(|| 1)),
        );
        let mut w = Self {
            ctx,
            app,
            time_s: 0.0,
            mods: egui::Modifiers::NONE,
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
            events: [egui::Event::ModifiersChanged(self.mods)]
                .into_iter()
                .chain(events)
                .collect(),
            ..Default::default()
        };
        let app = &mut self.app;
        let mut out = self.ctx.run_ui(input, |ui| app.ui(ui));
        out.textures_delta.clear();
        self.out = Some(out);
    }

    fn press(&mut self, pos: egui::Pos2, pressed: bool) {
        self.frame(vec![egui::Event::PointerButton {
            pos,
            button: egui::PointerButton::Primary,
            pressed,
            modifiers: self.mods,
        }]);
    }

    fn move_to(&mut self, pos: egui::Pos2) {
        self.frame(vec![egui::Event::PointerMoved(pos)]);
    }

    fn click(&mut self, pos: egui::Pos2) {
        self.move_to(pos);
        self.press(pos, true);
        self.press(pos, false);
        self.frame(vec![]);
    }

    /// Where `text` is drawn rightmost in the last frame (the panel's copy of a word the
    /// transport bar also shows).
    fn text(&self, text: &str) -> egui::Rect {
        fn all(shape: &egui::Shape, text: &str, out: &mut Vec<egui::Rect>) {
            match shape {
                egui::Shape::Text(t) if t.galley.text() == text => {
                    out.push(t.galley.rect.translate(t.pos.to_vec2()))
                }
                egui::Shape::Vec(v) => v.iter().for_each(|s| all(s, text, out)),
                _ => {}
            }
        }
        let mut found = Vec::new();
        for c in &self.out.as_ref().unwrap().shapes {
            all(&c.shape, text, &mut found);
        }
        found
            .into_iter()
            .max_by(|a, b| a.left().total_cmp(&b.left()))
            .unwrap_or_else(|| panic!("{text:?} is drawn"))
    }

    fn drawn(&self, text: &str) -> bool {
        fn find(shape: &egui::Shape, text: &str) -> bool {
            match shape {
                egui::Shape::Text(t) => t.galley.text() == text,
                egui::Shape::Vec(v) => v.iter().any(|s| find(s, text)),
                _ => false,
            }
        }
        let out = self.out.as_ref().unwrap();
        out.shapes.iter().any(|c| find(&c.shape, text))
    }

    fn click_text(&mut self, text: &str) {
        let at = self.text(text).center();
        self.click(at);
    }

    /// Drags the slider of the panel row labelled `label` from `from` to `to` (fractions of
    /// its width), frame by frame.
    fn drag_slider(&mut self, label: &str, from: f32, to: f32) {
        let row = self.text(label);
        let x0 = row.left() + LABEL_WIDTH_PT + 4.0;
        self.drag_from(x0, row.center().y, SLIDER_WIDTH_PT, from, to);
    }

    /// Drags a slider of `width` whose left edge is at `x0` from `from` to `to`.
    fn drag_from(&mut self, x0: f32, y: f32, width: f32, from: f32, to: f32) {
        let at = |f: f32| egui::pos2(x0 + f * width, y);
        self.move_to(at(from));
        self.press(at(from), true);
        for i in 1..=6 {
            self.move_to(at(from + (to - from) * i as f32 / 6.0));
        }
        self.press(at(to), false);
        self.frame(vec![]);
    }

    fn state(&self) -> SessionState {
        self.app.host.store.state()
    }

    fn undo_all(&mut self) {
        while self.app.controller.undo(&self.app.host.store) {}
        self.frame(vec![]);
    }
}

/// The panel opens with the FX button and shows the first track; its filter buttons and every
/// slider make their op, each drag one undo entry; the shared effects too; undoing everything
/// gives the session back. The grid keeps every row while the panel is open.
#[test]
fn every_effects_control_makes_its_op_and_undo_restores_the_session() {
    let demo = SessionState::demo();
    let mut w = Window::new(demo.clone());
    assert!(!w.drawn("Cutoff"), "closed at first");
    w.click_text("FX");
    assert!(w.drawn("Cutoff"), "open");
    // It fits its column: labels start inside it, the widest value ends inside the window.
    let left = 1400.0 - crate::fx_panel::FX_PANEL_WIDTH_PT;
    for label in ["Track", "Cutoff", "Feedback", "Euclid"] {
        assert!(w.text(label).left() >= left, "{label} inside the panel");
    }
    for value in ["1000", "35 %", "1/4"] {
        assert!(w.text(value).right() <= 1400.0, "{value} inside the window");
    }
    assert_eq!(
        w.app.grid_rows().len(),
        demo.tracks.len(),
        "every row still drawn"
    );
    let kick = |w: &Window| w.state().tracks[0].fx;

    w.click_text("LP");
    assert_eq!(kick(&w).filter, FilterMode::LowPass);
    assert_eq!(w.app.controller.undo_depth(), 1);
    w.click_text("HP");
    assert_eq!(kick(&w).filter, FilterMode::HighPass);

    let mut depth = 2;
    for label in ["Cutoff", "Reso", "Drive", "Reverb", "Delay"] {
        let before = kick(&w);
        w.drag_slider(label, 0.3, 0.7);
        let after = kick(&w);
        let changed: Vec<bool> = [
            after.cutoff_hz != before.cutoff_hz,
            after.resonance != before.resonance,
            after.drive != before.drive,
            after.reverb_send != before.reverb_send,
            after.delay_send != before.delay_send,
        ]
        .into();
        let which = ["Cutoff", "Reso", "Drive", "Reverb", "Delay"]
            .iter()
            .position(|l| *l == label)
            .unwrap();
        let want: Vec<bool> = (0..5).map(|i| i == which).collect();
        assert_eq!(changed, want, "{label} moves its own parameter only");
        depth += 1;
        assert_eq!(
            w.app.controller.undo_depth(),
            depth,
            "{label}: one entry per drag"
        );
    }
    let fx = kick(&w);
    assert!(
        fx.resonance > 0.3 && fx.reverb_send > 0.3 && fx.delay_send > 0.3,
        "{fx:?}"
    );
    assert!(fx.cutoff_hz > 20.0 && fx.cutoff_hz < 20_000.0);

    w.drag_slider("Size", 0.1, 0.9);
    w.drag_slider("Feedback", 0.1, 0.5);
    w.click_text("1/4");
    let shared = w.state().fx;
    assert!(shared.reverb_size > 0.8, "{shared:?}");
    assert!(shared.delay_feedback > 0.0 && shared.delay_feedback < 0.9);
    assert_eq!(shared.delay_time, DelayTime::Quarter);
    assert_eq!(w.app.controller.undo_depth(), depth + 3);

    // The track picker follows the selection: the snare's own effects.
    w.app.controller.select(demo.tracks[1].id);
    w.frame(vec![]);
    w.click_text("LP");
    assert_eq!(w.state().tracks[1].fx.filter, FilterMode::LowPass);

    w.undo_all();
    assert_eq!(w.state(), demo);

    // F hides it again (and shows it).
    for open in [false, true] {
        for pressed in [true, false] {
            w.frame(vec![egui::Event::Key {
                key: egui::Key::F,
                physical_key: None,
                pressed,
                repeat: false,
                modifiers: egui::Modifiers::NONE,
            }]);
        }
        assert_eq!(w.drawn("Cutoff"), open);
    }
}

/// "Own" gives the track its own swing (the session's to start), its slider moves it as one
/// undo entry, and undo goes back to the session's.
#[test]
fn a_track_gets_its_own_swing_and_undo_gives_it_back() {
    let demo = SessionState::demo();
    let mut w = Window::new(demo.clone());
    w.click_text("FX");
    w.click_text("Own");
    assert_eq!(w.state().tracks[0].swing_pct, Some(demo.swing));
    // The swing slider follows the "Own" box in its row.
    let own = w.text("Own");
    w.drag_from(
        own.right() + 4.0,
        own.center().y,
        SLIDER_WIDTH_PT - 44.0,
        0.1,
        0.6,
    );
    let own = w.state().tracks[0].swing_pct.unwrap();
    assert!(own != demo.swing && own == own.round(), "{own}");
    assert_eq!(w.app.controller.undo_depth(), 2);
    w.click_text("Own");
    assert_eq!(w.state().tracks[0].swing_pct, None, "back to the session's");
    w.undo_all();
    assert_eq!(w.state(), demo);
}

/// The Euclid button lays E(k, n) on the track (k: its steps on, n: its step count, to
/// start) as one undo entry; velocities and locks stay.
#[test]
fn the_euclid_button_writes_the_rhythm_as_one_undo_entry() {
    let mut s = SessionState::demo();
    let kick = &mut s.tracks[0];
    for (i, step) in kick.steps.iter_mut().enumerate().take(16) {
        step.on = i < 3;
    }
    kick.steps[9].velocity = 40;
    let mut w = Window::new(s.clone());
    w.click_text("FX");
    w.click_text("Fill E(3,16)");
    let t = &w.state().tracks[0];
    let want = euclid(3, 16, 0).unwrap();
    let got: Vec<bool> = t.steps[..16].iter().map(|x| x.on).collect();
    assert_eq!(got, want);
    assert_eq!(t.steps[9].velocity, 40, "velocities stay");
    assert_eq!(w.app.controller.undo_depth(), 1);
    w.undo_all();
    assert_eq!(w.state(), s);
}

/// Fill is on while the button is held and off when it is let go; Shift+click latches it
/// until the next click. Each change reaches the host once.
#[test]
fn fill_is_momentary_while_held_and_latches_with_shift() {
    let mut w = Window::new(SessionState::demo());
    let at = w.text("Fill").center();
    w.move_to(at);
    w.press(at, true);
    w.frame(vec![]);
    assert_eq!(w.app.host.fills, vec![true], "on while held");
    w.press(at, false);
    w.frame(vec![]);
    assert_eq!(w.app.host.fills, vec![true, false], "off when let go");

    w.mods = egui::Modifiers::SHIFT;
    w.click(at);
    w.mods = egui::Modifiers::NONE;
    w.frame(vec![]);
    assert_eq!(w.app.host.fills, vec![true, false, true], "latched");
    assert!(w.drawn("Fill (latched)"));
    let at = w.text("Fill (latched)").center();
    w.click(at);
    assert_eq!(
        w.app.host.fills,
        vec![true, false, true, false],
        "unlatched"
    );
    // Closing the window with fill held lets go of it.
    let at = w.text("Fill").center();
    w.move_to(at);
    w.press(at, true);
    w.frame(vec![]);
    w.app.closed();
    assert_eq!(w.app.host.fills.last(), Some(&false));
}
