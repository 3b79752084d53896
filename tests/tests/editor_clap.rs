//! The same editor inside a CLAP host: a minimal clack-host host loads the bundled `.clap`,
//! restores a project (the demo with a colour picked for the kick, its velocities varied, a
//! sliced sample track and the clap muted), creates its GUI through the CLAP gui extension
//! (X11, embedded in a host window on a private Xvfb), and the screenshot shows that session's
//! grid: every row and cell, each track in its colour (the one picked, else its sound
//! family's), velocity as the height of each on step's lit bar, a badge on every locked step,
//! the muted row dimmed and its M button lit. When the host sets a scale of 2 (a HiDPI screen),
//! the editor redraws at twice the size. Then the GUI is hidden and destroyed, and the plugin
//! unloads cleanly; no character it drew lacked a glyph (no box). Last, a plugin that
//! processes (the harness's host, its process() checked for allocations) opens its GUI with the
//! transport stopped: hovering a sound in the sound picker plays it. The screenshots are kept as
//! `target/editor-clap*.png`.

use std::cell::Cell;
use std::ffi::CString;
use std::time::Duration;

use clack_extensions::gui::{
    GuiApiType, GuiConfiguration, GuiSize, HostGui, HostGuiImpl, PluginGui, Window,
};
use clack_extensions::state::PluginState;
use clack_host::prelude::*;
use keyboardia_core::{SessionState, Track};
use keyboardia_tests::clap_host::{clap_bundle_path, BundleKind, ClapPlugin, Transport};
use keyboardia_tests::editor_screen::{
    assert_no_glyph_boxes, target_dir, CellKind, Image, Xvfb, GLYPH_REPORT,
};
use keyboardia_tests::saved_state;
use keyboardia_ui::grid::{badge, velocity_fraction};
use keyboardia_ui::style;
use x11rb::connection::Connection;
use x11rb::protocol::xproto::{ConnectionExt, CreateWindowAux, WindowClass};
use x11rb::wrapper::ConnectionExt as _;

const ID: &str = "dev.keyboardia.sequencer";

/// Host callbacks shared across threads.
struct Shared {
    /// How often the plugin asked the host to resize its window.
    resize_requests: std::sync::atomic::AtomicUsize,
}

impl<'a> SharedHandler<'a> for Shared {
    fn request_restart(&self) {}
    fn request_process(&self) {}
    fn request_callback(&self) {}
}

impl HostGuiImpl for Shared {
    fn resize_hints_changed(&self) {}
    fn request_resize(&self, _new_size: GuiSize) -> Result<(), HostError> {
        self.resize_requests
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Ok(())
    }
    fn request_show(&self) -> Result<(), HostError> {
        Ok(())
    }
    fn request_hide(&self) -> Result<(), HostError> {
        Ok(())
    }
    fn closed(&self, _was_destroyed: bool) {}
}

/// Main-thread host state.
struct Main {
    /// Unused: the test host keeps no main-thread state, but clack needs the type.
    _unused: Cell<()>,
}

impl<'a> MainThreadHandler<'a> for Main {}

struct GuiHost;

impl HostHandlers for GuiHost {
    type Shared<'a> = Shared;
    type MainThread<'a> = Main;
    type AudioProcessor<'a> = ();

    fn declare_extensions(builder: &mut HostExtensions<Self>, _shared: &Self::Shared<'_>) {
        builder.register::<HostGui>();
    }
}

#[test]
fn editor_opens_embedded_in_a_clap_host() {
    let bundle = clap_bundle_path(BundleKind::DebugAllocChecks);
    let x = Xvfb::start(3000, 1700);
    // The plugin's window system calls read DISPLAY; this test binary runs only this test.
    std::env::set_var("DISPLAY", &x.display);
    let glyphs = target_dir().join(format!("editor-clap-{GLYPH_REPORT}"));
    let _ = std::fs::remove_file(&glyphs);
    std::env::set_var("KEYBOARDIA_GLYPH_REPORT", &glyphs);

    // The host's window, which the plugin's editor embeds into.
    let (conn, screen_num) = x11rb::connect(Some(&x.display)).expect("connect to Xvfb");
    let screen = &conn.setup().roots[screen_num];
    let parent = conn.generate_id().unwrap();
    conn.create_window(
        x11rb::COPY_DEPTH_FROM_PARENT,
        parent,
        screen.root,
        0,
        0,
        2900,
        1600,
        0,
        WindowClass::INPUT_OUTPUT,
        0,
        &CreateWindowAux::new().background_pixel(screen.black_pixel),
    )
    .unwrap();
    conn.change_property8(
        x11rb::protocol::xproto::PropMode::REPLACE,
        parent,
        x11rb::protocol::xproto::AtomEnum::WM_NAME,
        x11rb::protocol::xproto::AtomEnum::STRING,
        b"Test host",
    )
    .unwrap();
    conn.map_window(parent).unwrap();
    conn.flush().unwrap();

    // SAFETY: loading a CLAP library runs its entry; it is our own plugin.
    let entry = unsafe { PluginEntry::load(&bundle) }.expect("load the .clap entry");
    let host_info = HostInfo::new("keyboardia-gui-test", "Keyboardia", "", "0.1.0").unwrap();
    let id = CString::new(ID).unwrap();
    let mut instance = PluginInstance::<GuiHost>::new(
        |_| Shared {
            resize_requests: Default::default(),
        },
        |_| Main {
            _unused: Cell::new(()),
        },
        &entry,
        &id,
        &host_info,
    )
    .expect("instantiate the plugin");
    let session = look_session();
    restore(&mut instance, &session);
    let handle = instance.plugin_handle();
    let gui: PluginGui = handle.get_extension().expect("the plugin has a GUI");
    let config = GuiConfiguration {
        api_type: GuiApiType::X11,
        is_floating: false,
    };
    assert!(gui.is_api_supported(&handle, config), "X11 embedding");
    gui.create(&handle, config).expect("create the GUI");
    gui.set_scale(&handle, 1.0).expect("scale 1");
    let size = gui.get_size(&handle).expect("the GUI has a size");
    assert!(size.width >= 700 && size.height >= 400, "size {size:?}");
    assert!(gui.can_resize(&handle), "the editor is resizable");
    // SAFETY: `parent` lives until after destroy() below.
    unsafe { gui.set_parent(&handle, Window::from_x11_handle(parent.into())) }
        .expect("embed into the host window");
    gui.show(&handle).expect("show the GUI");

    let img = check_grid(&x, &session, 1, "editor-clap.png");
    check_look(&img, &session);

    // A HiDPI host: scale 2 redraws everything at twice the size.
    gui.set_scale(&handle, 2.0).expect("scale 2");
    let size2 = gui.get_size(&handle).expect("the GUI has a size");
    assert_eq!(
        (size2.width, size2.height),
        (size.width * 2, size.height * 2),
        "size at scale 2"
    );
    gui.set_size(&handle, size2)
        .expect("host resizes to the new size");
    check_grid(&x, &session, 2, "editor-clap-scale2.png");
    // Every character drawn had its glyph, the lock badges' `×` and the sample's slices too.
    assert_no_glyph_boxes(&glyphs, "×");

    gui.hide(&handle).expect("hide");
    gui.destroy(&handle);
    // The editor's window thread winds down asynchronously after destroy(); give it time before
    // the library is unloaded and the X server goes away.
    std::thread::sleep(Duration::from_secs(1));
    drop(instance);
    drop(entry);
    preview_from_the_sound_picker(&x, parent);
    conn.destroy_window(parent).unwrap();
    conn.flush().unwrap();
}

/// The slot of the muted track in [`look_session`].
const MUTED: usize = 2;
/// The kick's picked palette colour.
const PICKED: u8 = 9;

/// The demo with what the look shows: a colour picked for the kick, its four beats at
/// velocities 127, 100, 60 and 20, and a sliced sample track with slice locks (badges `1`–`4`).
fn look_session() -> SessionState {
    let mut s = SessionState::demo();
    s.tracks[0].color = Some(PICKED);
    for (i, v) in [(0, 127), (4, 100), (8, 60), (12, 20)] {
        s.tracks[0].steps[i].velocity = v;
    }
    let mut take = Track::new(
        "take".parse().unwrap(),
        "Take 1",
        "sample:rec-0123456789abcdef".parse().unwrap(),
    );
    take.cuts = vec![0, 100, 200, 300, 400];
    for i in 0..4 {
        take.steps[i].on = true;
        take.steps[i].locks.slice = Some(i as u8);
    }
    s.tracks.push(take);
    s
}

/// Restores `session` with track slot [`MUTED`] muted, through the plugin's saved state (the
/// way a host reopens a project).
fn restore(instance: &mut PluginInstance<GuiHost>, session: &SessionState) {
    let handle = instance.plugin_handle();
    let state: PluginState = handle.get_extension().expect("the plugin saves state");
    let mut saved = Vec::new();
    state.save(&handle, &mut saved).expect("save state");
    let mut doc = saved_state::parse(&saved);
    saved_state::set_field(
        &mut doc,
        "session",
        &serde_json::to_string(session).unwrap(),
    );
    let key = format!("mute_{}", MUTED + 1);
    assert!(
        doc["params"].get(&key).is_some(),
        "a {key} parameter in {}",
        doc["params"]
    );
    // nice-plug saves a bool parameter as `{"bool": false}`.
    doc["params"][&key] = serde_json::json!({ "bool": true });
    let bytes = saved_state::to_bytes(&doc);
    state
        .load(&handle, &mut std::io::Cursor::new(&bytes[..]))
        .expect("load state");
}

/// Waits (up to 30 s: debug build, software GL) for `session`'s grid drawn at `scale`, and
/// checks its rows and on-steps; keeps the screenshot as `target/<png>`.
fn check_grid(x: &Xvfb, session: &SessionState, scale: usize, png: &str) -> Image {
    let mut rows = Vec::new();
    let mut img = None;
    for _ in 0..60 {
        std::thread::sleep(Duration::from_millis(500));
        let shot = x.screenshot(&target_dir().join(png));
        rows = shot.grid_at_scale(scale);
        let done = rows.len() == session.tracks.len();
        img = Some(shot);
        if done {
            assert!(
                img.as_ref().unwrap().distinct_colors() > 20,
                "not a blank frame"
            );
            break;
        }
    }
    let counts: Vec<usize> = rows.iter().map(Vec::len).collect();
    let want: Vec<usize> = session
        .tracks
        .iter()
        .map(|t| t.step_count as usize)
        .collect();
    assert_eq!(
        counts, want,
        "the grid inside the CLAP host at scale {scale}"
    );
    let on: usize = rows
        .iter()
        .flatten()
        .filter(|c| c.kind == CellKind::On)
        .count();
    let want_on: usize = session
        .tracks
        .iter()
        .map(|t| t.active_steps().iter().filter(|s| s.on).count())
        .sum();
    assert_eq!(on, want_on, "on-steps drawn at scale {scale}");
    img.unwrap()
}

/// The look of `session`'s grid in `img` (scale 1): track colours, velocity bars, lock badges,
/// the muted row dimmed and its M button lit.
fn check_look(img: &Image, session: &SessionState) {
    let rows = img.grid();
    for (slot, (row, track)) in rows.iter().zip(&session.tracks).enumerate() {
        let steps = track.active_steps();
        for (i, cell) in row.iter().enumerate() {
            let what = format!("{} step {}", track.name, i + 1);
            assert_eq!(cell.dimmed, slot == MUTED, "{what}: dimmed only when muted");
            if steps[i].on {
                assert_eq!(
                    cell.color,
                    Some(style::track_color_index(track) as usize),
                    "{what}: the track's colour"
                );
            }
            assert_eq!(
                cell.locked,
                badge(track, &steps[i]).is_some(),
                "{what}: a badge exactly on locked steps"
            );
        }
    }
    // The picked colour, and the families': drums orange, hats yellow, acid bass blue, the
    // pluck green, the take mint.
    let color_of = |slot: usize| rows[slot].iter().find_map(|c| c.color);
    assert_eq!(color_of(0), Some(PICKED as usize));
    assert_eq!(color_of(1), Some(0));
    assert_eq!(color_of(3), Some(2));
    assert_eq!(color_of(6), Some(7));
    assert_eq!(color_of(7), Some(4));
    assert_eq!(color_of(8), Some(13));
    // Velocity is the height of the lit bar.
    let lit: Vec<f32> = [0, 4, 8, 12].iter().map(|i| rows[0][*i].lit).collect();
    for (l, v) in lit.iter().zip([127u8, 100, 60, 20]) {
        assert!(
            (l - velocity_fraction(v)).abs() < 0.1,
            "kick velocity {v}: lit {l:.2}, want {:.2} ({lit:?})",
            velocity_fraction(v)
        );
    }
    // The M button of the muted row is lit in the mute colour; no solo is lit.
    let count = |c: egui::Color32| {
        (0..img.height)
            .flat_map(|y| (0..img.width).map(move |x| (x, y)))
            .filter(|(x, y)| img.pixel(*x, *y) == [c.r(), c.g(), c.b()])
            .count()
    };
    assert!(count(style::MUTE_ON) > 50, "a lit M button");
    assert_eq!(count(style::SOLO_ON), 0, "no lit S button");
}

/// A processing plugin (the harness's CLAP host, the build that aborts on an allocation in
/// process()) with its transport stopped: silent, until the pointer rests on a sound in the
/// editor's sound picker; then its output holds the preview.
fn preview_from_the_sound_picker(x: &Xvfb, parent: u32) {
    let bundle = clap_bundle_path(BundleKind::DebugAllocChecks);
    let mut plugin = ClapPlugin::load(&bundle, ID, 48_000.0, 512);
    let stopped = Transport {
        playing: false,
        tempo_bpm: 120.0,
        beat: 0.0,
    };
    let peak = |p: &mut ClapPlugin| {
        let b = p.process(512, Some(stopped), &[], &[]);
        b.left
            .iter()
            .chain(&b.right)
            .fold(0.0f32, |a, v| a.max(v.abs()))
    };
    for _ in 0..20 {
        assert_eq!(peak(&mut plugin), 0.0, "silent while stopped");
    }
    let config = GuiConfiguration {
        api_type: GuiApiType::X11,
        is_floating: false,
    };
    let gui: PluginGui = {
        let handle = plugin.instance().plugin_handle();
        let gui: PluginGui = handle.get_extension().expect("the plugin has a GUI");
        gui.create(&handle, config).expect("create the GUI");
        gui.set_scale(&handle, 1.0).expect("scale 1");
        // SAFETY: `parent` outlives the GUI (destroyed below).
        unsafe { gui.set_parent(&handle, Window::from_x11_handle(parent.into())) }
            .expect("embed into the host window");
        gui.show(&handle).expect("show the GUI");
        gui
    };
    let demo = SessionState::demo();
    let mut img = None;
    for _ in 0..60 {
        std::thread::sleep(Duration::from_millis(500));
        let shot = x.screenshot(&target_dir().join("editor-clap-preview.png"));
        let ok = shot.grid().len() == demo.tracks.len();
        img = Some(shot);
        if ok {
            break;
        }
    }
    let img = img.unwrap();
    let rows = img.grid();
    assert_eq!(rows.len(), demo.tracks.len(), "the demo's grid");
    // The kick's sound picker: the first wide button (egui's dark button fill) left of its
    // row's cells, on the row's first line of controls.
    let first = rows[0][0];
    let button = egui::Visuals::dark().widgets.inactive.weak_bg_fill;
    let fill = [button.r(), button.g(), button.b()];
    let (px, py) = (first.y..first.y + first.h)
        .find_map(|y| {
            let mut run = 0;
            for xx in 0..first.x {
                if img.pixel(xx, y) == fill {
                    run += 1;
                } else {
                    if run >= 60 {
                        return Some((xx - run / 2, y));
                    }
                    run = 0;
                }
            }
            None
        })
        .expect("the sound picker's button");
    x.xdotool(&["mousemove", &px.to_string(), &py.to_string(), "click", "1"]);
    std::thread::sleep(Duration::from_millis(1_000));
    // Down into the open list, over a sound or two.
    let mut heard = 0.0f32;
    'hover: for dy in [40, 60, 80, 100] {
        x.xdotool(&["mousemove", &px.to_string(), &(py + dy).to_string()]);
        for _ in 0..100 {
            heard = heard.max(peak(&mut plugin));
            if heard > 0.01 {
                break 'hover;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }
    x.screenshot(&target_dir().join("editor-clap-preview.png"));
    println!("preview peak with the transport stopped: {heard:.3}");
    assert!(heard > 0.01, "hovering a sound previews it: {heard}");
    x.xdotool(&["key", "Escape"]);
    {
        let handle = plugin.instance().plugin_handle();
        gui.hide(&handle).expect("hide");
        gui.destroy(&handle);
    }
    std::thread::sleep(Duration::from_secs(1));
    drop(plugin);
}
