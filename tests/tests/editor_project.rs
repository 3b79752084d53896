//! The standalone app on a project file, rendered for real under a private Xvfb: the editor is
//! laid out as without one (the file bar sits under it), a step clicked on screen is in the file
//! after SIGTERM, and it shows again after reopening.

use std::time::Duration;

use keyboardia_tests::editor_screen::{target_dir, CellKind, Image, Xvfb};

/// Screenshots until `ok(image)` holds (up to ~20 s: the CI box is busy).
fn wait_for_image(x: &Xvfb, what: &str, ok: impl Fn(&Image) -> bool) {
    for _ in 0..80 {
        std::thread::sleep(Duration::from_millis(150));
        if ok(&x.screenshot(&target_dir().join("editor-project-step.png"))) {
            return;
        }
    }
    panic!("{what}: not seen on screen");
}

#[test]
fn a_step_clicked_in_a_project_is_saved_on_sigterm_and_shown_after_reopening() {
    let x = Xvfb::start(1600, 900);
    let dir = target_dir().join(format!("editor-project-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let project = dir.join("beat.keyboardia");
    let path = project.to_str().unwrap();
    let args = [path, "--backend", "dummy"];

    // A new project: created with the demo, whose eight rows draw as always.
    let (app, home) = x.start_standalone_with("editor-project-home", &args);
    let img = x.screenshot(&target_dir().join("editor-project.png"));
    assert!(project.exists(), "created at start");
    let rows = img.grid();
    assert_eq!(rows.len(), 8, "the demo's rows are on screen");
    let cell = rows[0][1];
    assert_eq!(cell.kind, CellKind::Off);
    x.xdotool(&["search", "--name", "Keyboardia", "windowfocus", "--sync"]);
    let (cx, cy) = (
        (cell.x + cell.w / 2).to_string(),
        (cell.y + cell.h / 2).to_string(),
    );
    x.xdotool(&["mousemove", &cx, &cy, "click", "1"]);
    wait_for_image(&x, "the clicked step turns on", |img| {
        let g = img.grid();
        g.len() == 8 && g[0][1].kind == CellKind::On
    });
    // SIGTERM: saved before it exits, autosave or not (waited for generously: the CI box is
    // busy).
    let mut app = app;
    unsafe { libc::kill(app.0.id() as i32, libc::SIGTERM) };
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    let status = loop {
        if let Some(status) = app.0.try_wait().unwrap() {
            break status;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the app ignores SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(status.code(), Some(143), "saved, then ended by SIGTERM");
    drop(app);
    let _ = std::fs::remove_dir_all(&home);
    let saved = keyboardia::project::read_fields(&project).unwrap();
    let json: String = serde_json::from_str(&saved["session"]).unwrap();
    let state = keyboardia_core::schema::state_from_json(json.as_bytes()).unwrap();
    assert!(state.tracks[0].steps[1].on, "the click is in the file");

    // Reopened: the step shows on.
    let (app, home) = x.start_standalone_with("editor-project-home", &args);
    let img = x.screenshot(&target_dir().join("editor-project-reopened.png"));
    assert_eq!(img.grid()[0][1].kind, CellKind::On);
    drop(app);
    let _ = std::fs::remove_dir_all(&home);
    let _ = std::fs::remove_dir_all(&dir);
}
