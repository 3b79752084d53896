//! The same editor inside a CLAP host: a minimal clack-host host loads the bundled `.clap`,
//! creates its GUI through the CLAP gui extension (X11, embedded in a host window on a private
//! Xvfb), and the screenshot shows the demo session's grid — the rows and cells the standalone
//! test sees. When the host sets a scale of 2 (a HiDPI screen), the editor redraws at twice the
//! size. Then the GUI is hidden and destroyed, and the plugin unloads cleanly.

use std::cell::Cell;
use std::ffi::CString;
use std::time::Duration;

use clack_extensions::gui::{
    GuiApiType, GuiConfiguration, GuiSize, HostGui, HostGuiImpl, PluginGui, Window,
};
use clack_host::prelude::*;
use keyboardia_core::SessionState;
use keyboardia_tests::clap_host::{clap_bundle_path, BundleKind};
use keyboardia_tests::editor_screen::{target_dir, CellKind, Xvfb};
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

    check_demo_grid(&x, 1, "editor-clap.png");

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
    check_demo_grid(&x, 2, "editor-clap-scale2.png");

    gui.hide(&handle).expect("hide");
    gui.destroy(&handle);
    // The editor's window thread winds down asynchronously after destroy(); give it time before
    // the library is unloaded and the X server goes away.
    std::thread::sleep(Duration::from_secs(1));
    drop(instance);
    drop(entry);
    conn.destroy_window(parent).unwrap();
    conn.flush().unwrap();
}

/// Waits (up to 30 s: debug build, software GL) for the demo grid drawn at `scale`, and checks
/// its rows and on-steps; keeps the screenshot as `target/<png>`.
fn check_demo_grid(x: &Xvfb, scale: usize, png: &str) {
    let mut rows = Vec::new();
    for _ in 0..60 {
        std::thread::sleep(Duration::from_millis(500));
        let img = x.screenshot(&target_dir().join(png));
        rows = img.grid_at_scale(scale);
        if rows.len() == SessionState::demo().tracks.len() {
            assert!(img.distinct_colors() > 20, "not a blank frame");
            break;
        }
    }
    let counts: Vec<usize> = rows.iter().map(Vec::len).collect();
    let want: Vec<usize> = SessionState::demo()
        .tracks
        .iter()
        .map(|t| t.step_count as usize)
        .collect();
    assert_eq!(
        counts, want,
        "the demo grid inside the CLAP host at scale {scale}"
    );
    let on: usize = rows
        .iter()
        .flatten()
        .filter(|c| c.kind == CellKind::On)
        .count();
    let want_on: usize = SessionState::demo()
        .tracks
        .iter()
        .map(|t| t.active_steps().iter().filter(|s| s.on).count())
        .sum();
    assert_eq!(on, want_on, "on-steps drawn at scale {scale}");
}
