//! The editor driven headless: frames of the real editor over a host in memory, with pointer and
//! key events, one test per interaction.

use super::*;
use crate::testing::MemHost;
use keyboardia_core::{SessionState, Track};

/// The editor over `state`, without a window, over a host in memory.
fn app(state: SessionState) -> Editor<MemHost> {
    Editor::with_controller(
        MemHost::new(state.clone()),
        Controller::new(state, Box::new(|| 1)),
    )
}

/// Where `text` is drawn in a frame's output, if anywhere.
fn text_rect(out: &egui::FullOutput, text: &str) -> Option<egui::Rect> {
    crate::shapes::text_rect(out.shapes.iter().map(|c| &c.shape), text)
}

/// One frame of the controls of track `slot`, laid out freely, with `events`: the width
/// they take and where their "Slices" button's label is, if they have one.
fn controls_frame(
    ctx: &egui::Context,
    app: &mut Editor<MemHost>,
    slot: usize,
    events: Vec<egui::Event>,
) -> (f32, Option<egui::Rect>) {
    app.controller.refresh(app.host.store.state());
    let tracks = app.controller.state().tracks.clone();
    let input = egui::RawInput {
        screen_rect: Some(egui::Rect::from_min_size(
            egui::Pos2::ZERO,
            egui::vec2(1600.0, 900.0),
        )),
        events,
        ..Default::default()
    };
    let mut width = 0.0;
    let mut out = ctx.run_ui(input, |ui| {
        ui.vertical(|ui| {
            app.track_controls(ui, slot, &tracks[slot], &tracks);
            width = ui.min_rect().width();
        });
    });
    let slices = text_rect(&out, "Slices");
    // No renderer here: the font textures are dropped unused.
    out.textures_delta.clear();
    (width, slices)
}

/// Every track's controls fit the fixed column beside the grid (so no grid moves), also a
/// sample track's (its long sample id is cut short) and a sliced one's with the "Slices"
/// button, which only a sliced sample track gets; clicking it lays the slices out as one
/// undoable edit.
#[test]
fn track_controls_fit_their_column_and_slices_lays_the_slices_across_steps() {
    let mut state = SessionState::demo();
    let mut take = Track::new(
        "take".parse().unwrap(),
        "Take 12",
        "sample:rec-0123456789abcdef".parse().unwrap(),
    );
    take.cuts = (0..64).map(|i| i * 100).collect();
    let mut bare = take.clone();
    bare.id = "bare".parse().unwrap();
    bare.cuts.clear();
    state.tracks.push(take);
    state.tracks.push(bare);
    let ctx = egui::Context::default();
    ctx.set_visuals(egui::Visuals::dark());
    let mut app = app(state.clone());
    let n = state.tracks.len();
    for (slot, t) in state.tracks.iter().enumerate() {
        let (w, slices) = controls_frame(&ctx, &mut app, slot, vec![]);
        assert!(
            w > 200.0 && w <= CONTROLS_WIDTH_PT,
            "{}: {w} pt of {CONTROLS_WIDTH_PT}",
            t.name
        );
        assert_eq!(slices.is_some(), slot == n - 2, "{}: Slices button", t.name);
    }

    let (_, at) = controls_frame(&ctx, &mut app, n - 2, vec![]);
    let at = at.unwrap().center();
    let button = |pressed| egui::Event::PointerButton {
        pos: at,
        button: egui::PointerButton::Primary,
        pressed,
        modifiers: egui::Modifiers::NONE,
    };
    for events in [
        vec![egui::Event::PointerMoved(at)],
        vec![button(true)],
        vec![button(false)],
    ] {
        controls_frame(&ctx, &mut app, n - 2, events);
    }
    let laid = app.host.store.state().tracks[n - 2].clone();
    assert_eq!(laid.step_count, 64);
    assert!(laid
        .steps
        .iter()
        .enumerate()
        .all(|(i, s)| s.on && s.locks.slice == Some(i as u8)));
    assert!(app.controller.undo(&app.host.store));
    assert_eq!(app.host.store.state(), state);
}

/// A whole window of the editor, driven frame by frame on a virtual clock.
struct Window {
    /// The context (kept across frames: focus, popups, drags).
    ctx: egui::Context,
    /// The editor.
    app: Editor<MemHost>,
    /// The editor's clock, in seconds.
    time_s: f64,
    /// Where the pointer is.
    pointer: egui::Pos2,
    /// The last frame's output.
    out: Option<egui::FullOutput>,
}

impl Window {
    fn new(state: SessionState) -> Self {
        let ctx = egui::Context::default();
        ctx.set_visuals(egui::Visuals::dark());
        let mut w = Self {
            ctx,
            app: app(state),
            time_s: 0.0,
            pointer: egui::Pos2::ZERO,
            out: None,
        };
        // Layout, fonts, then a settled frame.
        w.frame(vec![]);
        w.frame(vec![]);
        w
    }

    /// One frame with `events`, 50 ms after the last.
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

    fn button(
        &mut self,
        pos: egui::Pos2,
        which: egui::PointerButton,
        pressed: bool,
        mods: egui::Modifiers,
    ) {
        self.frame(vec![egui::Event::PointerButton {
            pos,
            button: which,
            pressed,
            modifiers: mods,
        }]);
    }

    fn move_to(&mut self, pos: egui::Pos2) {
        self.pointer = pos;
        self.frame(vec![egui::Event::PointerMoved(pos)]);
    }

    /// A click at `pos` with `mods`.
    fn click_with(&mut self, pos: egui::Pos2, which: egui::PointerButton, mods: egui::Modifiers) {
        self.move_to(pos);
        self.button(pos, which, true, mods);
        self.button(pos, which, false, mods);
        self.frame(vec![]);
    }

    fn click(&mut self, pos: egui::Pos2) {
        self.click_with(pos, egui::PointerButton::Primary, egui::Modifiers::NONE);
    }

    /// Clicks the text `text` drawn in the last frame.
    fn click_text(&mut self, text: &str) {
        let at = self
            .text(text)
            .unwrap_or_else(|| panic!("{text:?} is drawn"));
        self.click(at.center());
    }

    fn text(&self, text: &str) -> Option<egui::Rect> {
        text_rect(self.out.as_ref().unwrap(), text)
    }

    /// Where the `n`th (from 0) drawing of `text` is in the last frame.
    fn nth_text(&self, text: &str, n: usize) -> Option<egui::Rect> {
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
        found.get(n).copied()
    }

    /// Every text drawn in the last frame.
    fn texts(&self) -> Vec<String> {
        fn all(shape: &egui::Shape, out: &mut Vec<String>) {
            match shape {
                egui::Shape::Text(t) => out.push(t.galley.text().to_owned()),
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

    fn cell(&self, track: usize, step: u8) -> egui::Pos2 {
        let id = self.app.host.store.state().tracks[track].id;
        self.app.cell_rect(id, step).unwrap().center()
    }

    fn state(&self) -> SessionState {
        self.app.host.store.state()
    }
}

/// A drag over the grid paints: pressing an off step turns it and every step the pointer then
/// crosses on (in any row); pressing an on step erases. Each drag is one undo entry.
#[test]
fn dragging_paints_and_erases_steps_as_one_undo_entry() {
    let demo = SessionState::demo();
    let mut w = Window::new(demo.clone());
    let none = egui::Modifiers::NONE;
    let primary = egui::PointerButton::Primary;
    // Kick: 1, 2, 3 off, 4 on... paint from step 2 to 7, then down into the snare row.
    let start = w.cell(0, 1);
    w.move_to(start);
    w.button(start, primary, true, none);
    for s in [2, 3, 4, 5, 6] {
        w.move_to(w.cell(0, s));
    }
    w.move_to(w.cell(1, 6));
    w.button(w.pointer, primary, false, none);
    w.frame(vec![]);
    let s = w.state();
    assert!((1..=6).all(|i| s.tracks[0].steps[i].on), "painted on");
    assert!(s.tracks[1].steps[6].on, "into the next row");
    assert_eq!(w.app.controller.undo_depth(), 1, "one undo entry");
    // Erase the kick's first beat and the painted steps.
    let start = w.cell(0, 0);
    w.move_to(start);
    w.button(start, primary, true, none);
    for s in 1..=4 {
        w.move_to(w.cell(0, s));
    }
    w.button(w.pointer, primary, false, none);
    w.frame(vec![]);
    assert!((0..=4).all(|i| !w.state().tracks[0].steps[i].on), "erased");
    assert!(w.state().tracks[0].steps[5].on, "where the drag did not go");
    assert_eq!(w.app.controller.undo_depth(), 2);
    w.app.controller.undo(&w.app.host.store);
    w.app.controller.undo(&w.app.host.store);
    assert_eq!(w.state(), demo);
}

/// A finger's tap as a browser delivers it to eframe: no hover before it, the press twice (a
/// pointer event, then a touch event, in separate frames), then the release and "pointer gone"
/// in one frame. It toggles the step once; a second tap toggles it back.
#[test]
fn a_touch_tap_toggles_a_step_once() {
    let mut w = Window::new(SessionState::demo());
    let primary = egui::PointerButton::Primary;
    let none = egui::Modifiers::NONE;
    let cell = w.cell(0, 3);
    let was = w.state().tracks[0].steps[3].on;
    for n in 1..=2 {
        w.button(cell, primary, true, none);
        w.button(cell, primary, true, none);
        w.frame(vec![
            egui::Event::PointerButton {
                pos: cell,
                button: primary,
                pressed: false,
                modifiers: none,
            },
            egui::Event::PointerGone,
        ]);
        w.frame(vec![]);
        assert_eq!(w.state().tracks[0].steps[3].on, was ^ (n == 1), "tap {n}");
    }
}

/// "Clear all" empties every track, and one undo brings the whole pattern back.
#[test]
fn clear_all_clears_every_track_and_undoes_in_one() {
    let demo = SessionState::demo();
    let mut w = Window::new(demo.clone());
    w.click_text("Clear all");
    assert!(w
        .state()
        .tracks
        .iter()
        .all(|t| t.steps.iter().all(|s| s.is_default())));
    w.key(egui::Key::Escape);
    w.frame(vec![egui::Event::Key {
        key: egui::Key::Z,
        physical_key: None,
        pressed: true,
        repeat: false,
        modifiers: egui::Modifiers::COMMAND,
    }]);
    assert_eq!(w.state(), demo);
}

/// Growing a track with steps to 32 or 64 offers to repeat them (a drum machine's page copy),
/// as one undo entry; leaving the new steps empty is the other choice.
#[test]
fn growing_a_track_offers_to_repeat_its_steps() {
    let demo = SessionState::demo();
    let mut w = Window::new(demo.clone());
    // The kick's "32" button: the first "32" drawn (rows top to bottom).
    w.click_text("32");
    assert_eq!(w.state(), demo, "nothing changes before the choice");
    w.click_text("Repeat the 16 steps");
    let kick = &w.state().tracks[0];
    assert_eq!(kick.step_count, 32);
    assert!((0..16).all(|i| kick.steps[i + 16] == kick.steps[i]));
    assert!(w.text("Repeat the 16 steps").is_none(), "the offer is gone");
    w.app.controller.undo(&w.app.host.store);
    assert_eq!(w.state(), demo);
    w.click_text("64");
    w.click_text("Leave the new steps empty");
    let kick = &w.state().tracks[0];
    assert_eq!(kick.step_count, 64);
    assert!(!kick.steps[16].on);
}

/// The sound picker lists sounds under their families; hovering one previews it; picking one
/// renames a track whose name follows its sound, in the same undo entry, but never a renamed
/// track.
#[test]
fn the_sound_picker_groups_by_family_previews_and_the_name_follows_the_sound() {
    let mut demo = SessionState::demo();
    demo.tracks[1].name = "My snare".into();
    let mut w = Window::new(demo.clone());
    // The second "Kick" is the sound picker (the first is the name).
    let picker = w.nth_text("Kick", 1).unwrap();
    w.click(picker.center());
    let texts = w.texts();
    // The families down to where the window ends (the list scrolls on).
    for family in ["Drums", "Percussion", "Bass", "Keys"] {
        assert!(texts.iter().any(|t| t == family), "{family} in {texts:?}");
    }
    let clap = w.text("Low Tom").expect("Low Tom listed");
    w.move_to(clap.center());
    // Previewed once, at the kick track's volume and pan.
    let kick = &demo.tracks[0];
    let want = ("tom_low".parse().unwrap(), kick.volume, kick.pan);
    let count = |w: &Window| {
        let previewed = w.app.host.previewed.lock().unwrap();
        previewed.iter().filter(|p| **p == want).count()
    };
    assert_eq!(count(&w), 1);
    w.move_to(clap.center() + egui::vec2(2.0, 0.0));
    assert_eq!(count(&w), 1, "once per hover");
    w.click(clap.center());
    let kick = &w.state().tracks[0];
    assert_eq!(kick.instrument, "tom_low".parse().unwrap());
    assert_eq!(kick.name, "Low Tom", "the name follows the sound");
    // The renamed snare keeps its name.
    let id = w.state().tracks[1].id;
    let store = &w.app.host.store;
    w.app
        .controller
        .set_instrument(store, id, "rim".parse().unwrap(), "Snare", "Rim");
    assert_eq!(w.state().tracks[1].name, "My snare");
    // One undo takes back sound and name.
    w.app.controller.undo(&w.app.host.store);
    w.app.controller.undo(&w.app.host.store);
    assert_eq!(w.state(), demo);
}

/// Tap tempo sets the tempo from the taps; the fine tempo field takes a typed value.
#[test]
fn tap_tempo_and_typed_tempo_set_the_tempo() {
    let mut w = Window::new(SessionState::demo());
    let tap = w.text("Tap").unwrap().center();
    w.click(tap);
    // Four frames of 50 ms per click: taps 0.2 s apart... space them to 0.5 s.
    for _ in 0..6 {
        w.frame(vec![]);
    }
    let tap = w.text("Tap (1)").unwrap().center();
    w.click(tap);
    assert_eq!(w.state().tempo, 120.0, "two taps 0.5 s apart");
    // Typed: click the field, replace its text, press Enter.
    let field = w.text("120.0").expect("the fine tempo field").center();
    w.click(field);
    w.frame(vec![
        egui::Event::Key {
            key: egui::Key::A,
            physical_key: None,
            pressed: true,
            repeat: false,
            modifiers: egui::Modifiers::COMMAND,
        },
        egui::Event::Text("97.5".into()),
    ]);
    w.key(egui::Key::Enter);
    w.frame(vec![]);
    assert_eq!(w.state().tempo, 97.5);
}

/// Keyboard step entry: ↑↓ pick the track, 1–8 and Q–I toggle the steps of the page, ←→
/// change the page; M and S are not needed for it.
#[test]
fn keyboard_step_entry_toggles_steps_of_the_selected_track_and_page() {
    let demo = SessionState::demo();
    let mut w = Window::new(demo.clone());
    w.key(egui::Key::ArrowDown); // the first track
    w.key(egui::Key::Num2);
    assert!(w.state().tracks[0].steps[1].on);
    w.key(egui::Key::I); // step 16
    assert!(w.state().tracks[0].steps[15].on != demo.tracks[0].steps[15].on);
    // The bass (32 steps): second page, key Q is step 25.
    for _ in 0..6 {
        w.key(egui::Key::ArrowDown);
    }
    w.key(egui::Key::ArrowRight);
    w.key(egui::Key::Q);
    assert_eq!(w.app.controller.page(), 1);
    let bass = &w.state().tracks[6];
    assert_ne!(bass.steps[24].on, demo.tracks[6].steps[24].on);
    // Past the last page nothing moves.
    w.key(egui::Key::ArrowRight);
    assert_eq!(w.app.controller.page(), 1);
}

/// Right-click on a step opens its menu: its locks, a velocity, clearing its locks.
#[test]
fn right_clicking_a_step_opens_its_menu() {
    let mut w = Window::new(SessionState::demo());
    let bass_step = w.cell(6, 3);
    w.click_with(
        bass_step,
        egui::PointerButton::Secondary,
        egui::Modifiers::NONE,
    );
    assert!(w.text("Step locks…").is_some(), "{:?}", w.texts());
    w.click_text("Step locks…");
    let bass = w.state().tracks[6].id;
    assert_eq!(w.app.controller.lock_target(), Some((bass, 3)));
    w.key(egui::Key::Escape);
    w.click_with(
        bass_step,
        egui::PointerButton::Secondary,
        egui::Modifiers::NONE,
    );
    w.click_text("Velocity");
    w.click_text("40");
    assert_eq!(w.state().tracks[6].steps[3].velocity, 40);
}

/// Hovering a step explains it: its number, velocity and locks.
#[test]
fn hovering_a_step_shows_what_it_plays() {
    let mut w = Window::new(SessionState::demo());
    w.move_to(w.cell(5, 3)); // the shaker's 60 % step
    for _ in 0..30 {
        w.frame(vec![]);
    }
    let texts = w.texts().join("\n");
    assert!(texts.contains("Step 4 · on · velocity 100"), "{texts}");
    assert!(texts.contains("Plays 60 % of the time"), "{texts}");
}

/// A swatch picks the track's colour, synced as an op and undoable.
#[test]
fn picking_a_colour_sets_the_tracks_colour() {
    let demo = SessionState::demo();
    let mut w = Window::new(demo.clone());
    let name = w.text("Kick").unwrap();
    // The swatch is just left of the name field.
    w.click(egui::pos2(name.left() - 14.0, name.center().y));
    assert!(w.text("By sound family").is_some(), "{:?}", w.texts());
    w.app
        .controller
        .set_color(&w.app.host.store, demo.tracks[0].id, Some(9));
    assert_eq!(w.state().tracks[0].color, Some(9));
    w.app.controller.undo(&w.app.host.store);
    assert_eq!(w.state(), demo);
}

/// The meters follow the host's levels, hold their peaks, and keep the editor drawing only
/// while they move.
#[test]
fn meters_show_levels_and_hold_peaks() {
    let mut w = Window::new(SessionState::demo());
    w.app.host.metered = true;
    *w.app.host.meters.0.lock().unwrap() = ([0.5; 16], 1.0);
    w.frame(vec![]);
    assert!((w.app.levels.tracks[0].level_db + 6.02).abs() < 0.1);
    assert_eq!(w.app.levels.master.hold.0, 0.0);
    let delay =
        |w: &Window| w.out.as_ref().unwrap().viewport_output[&egui::ViewportId::ROOT].repaint_delay;
    assert!(
        delay(&w) < Duration::from_millis(50),
        "moving meters redraw"
    );
    for _ in 0..80 {
        w.frame(vec![]);
    }
    assert!(!w.app.levels.active(), "fallen after 4 s of silence");
    assert!(
        delay(&w) >= Duration::from_secs(1),
        "then the editor sleeps (but for the record panel's slow look at the input)"
    );
}

fn pattern(s: &str) -> keyboardia_core::PatternId {
    s.parse().unwrap()
}

/// Clicking slot B cues B and shows it: the grid then edits B (A untouched), Ctrl+click shows
/// A without cueing it, and Undo restores B and brings it back into view.
#[test]
fn clicking_a_pattern_slot_cues_it_and_the_grid_edits_it() {
    let demo = SessionState::demo();
    let mut w = Window::new(demo.clone());
    assert!(w.text("Pattern").is_some(), "the slot row is drawn");
    w.click_text("B");
    assert_eq!(
        *w.app.host.transport.cues.lock().unwrap(),
        vec![pattern("B")]
    );
    assert_eq!(w.app.controller.shown(), pattern("B"));
    // Pattern B is empty: the kick's first step shows off; clicking it turns B's on.
    w.click(w.cell(0, 1));
    let s = w.state();
    assert!(s.tracks[0].steps_in(pattern("B"))[1].on);
    assert_eq!(s.tracks[0].steps, demo.tracks[0].steps, "A untouched");
    // The grid draws B: the kick's first step, on in A, is off here.
    w.move_to(w.cell(0, 0));
    for _ in 0..30 {
        w.frame(vec![]);
    }
    let texts = w.texts().join("\n");
    assert!(texts.contains("Step 1 · off"), "{texts}");
    // Ctrl+click A: shown, not cued.
    let at = w.text("A").unwrap().center();
    w.click_with(at, egui::PointerButton::Primary, egui::Modifiers::COMMAND);
    assert_eq!(w.app.controller.shown(), pattern("A"));
    assert_eq!(w.app.host.transport.cues.lock().unwrap().len(), 1);
    w.click_text("Undo");
    assert!(!w.state().pattern_in_use(pattern("B")), "B restored");
    assert_eq!(w.app.controller.shown(), pattern("B"), "B in view");
    assert_eq!(w.state().tracks[0].steps, demo.tracks[0].steps);
}

/// The song list: "+ A" appends the shown pattern, a chip's menu sets its repeats and removes
/// it, Undo takes each back; the Song toggle asks the transport, and while the song plays the
/// position shows.
#[test]
fn the_song_list_and_song_mode() {
    use keyboardia_core::song::SongPosition;
    use keyboardia_core::SongEntry;
    let mut w = Window::new(SessionState::demo());
    w.click_text("+ A");
    w.click_text("+ A");
    let one = SongEntry {
        pattern: pattern("A"),
        repeats: 1,
    };
    assert_eq!(w.state().song, vec![one, one]);
    // The second chip (the first "A" is the slot, then two chips).
    let chip = w.nth_text("A", 2).unwrap().center();
    w.click(chip);
    w.click_text("+");
    assert_eq!(w.state().song[1].repeats, 2);
    assert!(w.text("A×2").is_some(), "the chip shows its repeats");
    w.click(w.text("A×2").unwrap().center());
    w.click_text("Remove");
    assert_eq!(w.state().song, vec![one]);
    w.click_text("Undo");
    assert_eq!(w.state().song[1].repeats, 2);
    w.click_text("Undo");
    assert_eq!(w.state().song, vec![one, one]);

    w.click_text("Song");
    assert_eq!(*w.app.host.transport.song_mode.lock().unwrap(), vec![true]);
    w.app.host.transport.view.lock().unwrap().position = Some(SongPosition {
        entry: 1,
        pattern: pattern("A"),
        repeat: 0,
        bar: 2,
        step: 32,
        entry_start: 16,
        pass_steps: 16,
    });
    w.frame(vec![]);
    assert!(w.text("1/1 · bar 3").is_some(), "{:?}", w.texts());
}

/// "Switch at" sets the session's setting, undoably.
#[test]
fn switch_at_is_a_session_setting() {
    let mut w = Window::new(SessionState::demo());
    w.click_text("Bar");
    w.click_text("End of longest track");
    assert_eq!(w.state().switch_at, keyboardia_core::SwitchAt::LongestTrack);
    w.click_text("Undo");
    assert_eq!(w.state().switch_at, keyboardia_core::SwitchAt::Bar);
}

/// The fill of the rectangle drawn exactly at `at` in a frame's output, if any.
fn fill_at(out: &egui::FullOutput, at: egui::Pos2) -> Option<egui::Color32> {
    fn find(shape: &egui::Shape, at: egui::Pos2) -> Option<egui::Color32> {
        match shape {
            egui::Shape::Rect(r) if r.rect.contains(at) && r.rect.width() < 60.0 => Some(r.fill),
            egui::Shape::Vec(v) => v.iter().find_map(|s| find(s, at)),
            _ => None,
        }
    }
    out.shapes.iter().find_map(|c| find(&c.shape, at))
}

/// Someone else's locked session (issue 17): the grid is drawn greyed and disabled; no click,
/// key or control sends an edit; the account panel says read-only and offers Fork to edit. The
/// owner (or anyone, once unlocked) edits as before.
#[test]
fn a_locked_session_is_drawn_disabled_for_everyone_but_its_owner() {
    let demo = SessionState::demo();
    let mut host = MemHost::new(demo.clone());
    host.account = Some(crate::testing::MemAccount::default());
    host.live
        .joined
        .store(true, std::sync::atomic::Ordering::Relaxed);
    *host.account.as_ref().unwrap().status.lock().unwrap() = crate::host::AccountStatus {
        session_owner: Some("u_0123456789abcdef0123456789abcdef".into()),
        session_readonly: true,
        can_edit: false,
        ..Default::default()
    };
    let mut w = Window::new(demo.clone());
    w.app = Editor::with_controller(host, Controller::new(demo.clone(), Box::new(|| 1)));
    w.frame(vec![]);
    w.frame(vec![]);
    let texts = w.texts();
    assert!(
        texts.iter().any(|t| t == "Read-only") && texts.iter().any(|t| t == "Fork to edit"),
        "{texts:?}"
    );
    // Every cell is grey (an on step and an off one).
    let (on, off) = (w.cell(0, 0), w.cell(0, 1));
    for at in [on, off] {
        let c = fill_at(w.out.as_ref().unwrap(), at).expect("a cell drawn there");
        assert!(c.r() == c.g() && c.g() == c.b(), "{c:?} at {at:?}");
    }
    // Clicks, a drag and keys change nothing, and nothing was sent.
    w.click(off);
    w.click(on);
    w.key(egui::Key::Delete);
    w.key(egui::Key::Space);
    assert_eq!(w.state(), demo);
    assert_eq!(w.app.controller.undo_depth(), 0, "no edit was attempted");
    assert!(w.app.host.live.playing.lock().unwrap().is_empty());
    // The owner edits: the same click toggles the step.
    w.app
        .host
        .account
        .as_ref()
        .unwrap()
        .status
        .lock()
        .unwrap()
        .can_edit = true;
    w.frame(vec![]);
    let c = fill_at(w.out.as_ref().unwrap(), on).unwrap();
    assert!(c.r() != c.g() || c.g() != c.b(), "coloured again: {c:?}");
    w.click(off);
    assert!(w.state().tracks[0].steps[1].on, "editable again");
}
