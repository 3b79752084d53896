//! The standalone app's editor, rendered for real under a private Xvfb: a fresh start shows the
//! demo pattern (one row per track, each with its own step count, on-steps, lock marks and the
//! page separators); a mouse click toggles a step, Ctrl+Z / Ctrl+Shift+Z undo and redo it,
//! shift+click selects a step for the lock editor and Escape closes it; F opens the effects panel
//! beside the grid without taking a row from it; pressing Play (the space
//! bar, through the X server) starts per-track playheads that move and wrap at each track's own
//! length.

use std::time::Duration;

use keyboardia_core::SessionState;
use keyboardia_tests::editor_screen::{
    assert_no_glyph_boxes, target_dir, Cell, CellKind, Image, Xvfb, GLYPH_REPORT,
};

/// What a row of the demo should look like: (steps, on-steps, locked steps).
fn expected_rows() -> Vec<(usize, Vec<usize>, Vec<usize>)> {
    SessionState::demo()
        .tracks
        .iter()
        .map(|t| {
            let steps = t.active_steps();
            let on = (0..steps.len()).filter(|i| steps[*i].on).collect();
            let locked = (0..steps.len())
                .filter(|i| !steps[*i].locks.is_empty())
                .collect();
            (steps.len(), on, locked)
        })
        .collect()
}

fn check_demo_grid(img: &Image) {
    assert!(
        img.distinct_colors() > 20,
        "the frame is blank ({} colours)",
        img.distinct_colors()
    );
    let rows = img.grid();
    let expected = expected_rows();
    let counts: Vec<usize> = rows.iter().map(Vec::len).collect();
    let want: Vec<usize> = expected.iter().map(|e| e.0).collect();
    assert_eq!(counts, want, "cells per drawn row (one row per demo track)");
    for (i, (row, (_, on, locked))) in rows.iter().zip(&expected).enumerate() {
        let drawn_on: Vec<usize> = (0..row.len())
            .filter(|j| row[*j].kind == CellKind::On)
            .collect();
        assert_eq!(&drawn_on, on, "on-steps of track {i}");
        let drawn_locked: Vec<usize> = (0..row.len()).filter(|j| row[*j].locked).collect();
        assert_eq!(&drawn_locked, locked, "lock marks of track {i}");
        // Rows line up on one left edge; a small gap groups each beat of 4 steps and a wider
        // one each page of 16 (cells are sized to the window, so the pitch is measured).
        assert_eq!(row[0].x, rows[0][0].x, "row {i} starts where the others do");
        let pitch = row[1].x - row[0].x;
        assert!(pitch >= 12, "step pitch {pitch}");
        for j in 1..row.len() {
            let gap = row[j].x - row[j - 1].x;
            if j % 16 == 0 {
                assert!(
                    gap > pitch + 4,
                    "page separator before step {j} of track {i}"
                );
            } else if j % 4 == 0 {
                assert!(
                    gap > pitch + 1,
                    "beat gap before step {j} of track {i}: {gap}"
                );
            } else {
                assert!(
                    gap.abs_diff(pitch) <= 1,
                    "step pitch at {j} of track {i}: {gap}"
                );
            }
        }
    }
    // Rows are evenly spaced (track controls are fixed height, nothing overlaps).
    let pitch = rows[1][0].y - rows[0][0].y;
    assert!(pitch >= rows[0][0].h);
    for w in rows.windows(2) {
        assert_eq!(w[1][0].y - w[0][0].y, pitch);
    }
}

/// Per row, the index of the playhead cell (exactly one per row).
fn playheads(img: &Image) -> Vec<usize> {
    img.grid()
        .iter()
        .enumerate()
        .map(|(i, row)| {
            let at: Vec<usize> = (0..row.len()).filter(|j| row[*j].kind.playhead()).collect();
            assert_eq!(at.len(), 1, "one playhead in row {i}, got {at:?}");
            // The playhead still shows whether its step is on.
            let on = SessionState::demo().tracks[i].steps[at[0]].on;
            let want = if on {
                CellKind::PlayheadOn
            } else {
                CellKind::PlayheadOff
            };
            assert_eq!(row[at[0]].kind, want, "playhead cell of row {i}");
            at[0]
        })
        .collect()
}

#[test]
fn editor_shows_the_demo_grid_and_plays_on_space() {
    let x = Xvfb::start(1600, 900);
    let (app, home) = x.start_standalone("editor-home");

    let shot = target_dir().join("editor-standalone.png");
    let img = x.screenshot(&shot);
    check_demo_grid(&img);
    assert!(
        img.grid().iter().flatten().all(|c| !c.kind.playhead()),
        "stopped on a fresh start (the user presses Play)"
    );

    x.xdotool(&["search", "--name", "Keyboardia", "windowfocus", "--sync"]);
    // Click kick step 2 (off in the demo): it turns on; undo, redo, undo.
    let rows = img.grid();
    let cell = rows[0][1];
    assert_eq!(cell.kind, CellKind::Off);
    let (cx, cy) = (
        (cell.x + cell.w / 2).to_string(),
        (cell.y + cell.h / 2).to_string(),
    );
    x.xdotool(&["mousemove", &cx, &cy, "click", "1"]);
    wait_for(&x, "the clicked step turns on", |g| {
        g[0][1].kind == CellKind::On
    });
    x.xdotool(&["key", "ctrl+z"]);
    wait_for(&x, "Ctrl+Z turns it off", |g| g[0][1].kind == CellKind::Off);
    x.xdotool(&["key", "ctrl+shift+z"]);
    wait_for(&x, "Ctrl+Shift+Z turns it on", |g| {
        g[0][1].kind == CellKind::On
    });
    x.xdotool(&["key", "ctrl+z"]);
    wait_for(&x, "and undo again", |g| g[0][1].kind == CellKind::Off);

    // Shift+click a locked bass step: it is outlined (its lock editor is open); Escape closes.
    let bass = rows[6][3];
    assert!(bass.locked);
    let (bx, by) = (
        (bass.x + bass.w / 2).to_string(),
        (bass.y + bass.h / 2).to_string(),
    );
    x.xdotool(&["mousemove", &bx, &by]);
    x.xdotool(&["keydown", "shift", "click", "1", "keyup", "shift"]);
    let outlined = |img: &Image| {
        let p = img.pixel(bass.x - 1, bass.y + bass.h / 2);
        p.iter().all(|c| *c > 200)
    };
    wait_for_image(&x, "shift+click selects the step", outlined);
    let img = x.screenshot(&target_dir().join("editor-standalone-locks.png"));
    assert_eq!(
        img.grid()[6][3].kind,
        CellKind::On,
        "shift+click does not toggle"
    );
    x.xdotool(&["key", "Escape"]);
    wait_for_image(&x, "Escape closes the lock editor", |img| !outlined(img));

    // F opens the effects panel right of the grid: every row stays, the grid only gets
    // narrower (the panel's text goes through the glyph check below); F closes it again.
    let pitch = |g: &[Vec<Cell>]| g[0][1].x - g[0][0].x;
    let wide = pitch(&img.grid());
    x.xdotool(&["key", "f"]);
    wait_for(&x, "F opens the effects panel beside the grid", |g| {
        g.len() == expected_rows().len() && pitch(g) < wide
    });
    let img = x.screenshot(&target_dir().join("editor-standalone-fx.png"));
    let rows = img.grid();
    for (i, (row, (steps, on, _))) in rows.iter().zip(expected_rows()).enumerate() {
        let shown = steps.min(16);
        assert!(row.len() >= shown, "row {i}: {} cells", row.len());
        let drawn_on: Vec<usize> = (0..shown)
            .filter(|j| row[*j].kind == CellKind::On)
            .collect();
        let want: Vec<usize> = on.into_iter().filter(|j| *j < shown).collect();
        assert_eq!(drawn_on, want, "on-steps of track {i} beside the panel");
        assert_eq!(row[0].x, rows[0][0].x, "row {i} starts where the others do");
    }
    x.xdotool(&["key", "f"]);
    wait_for_image(&x, "F closes it", |img| {
        let g = img.grid();
        g.len() == expected_rows().len() && pitch(&g) == wide
    });

    // Press Play the way a user does: space, with the editor focused.
    x.xdotool(&[
        "search",
        "--name",
        "Keyboardia",
        "key",
        "--window",
        "%1",
        "space",
    ]);
    let mut first = None;
    let mut moved = false;
    for n in 0..40 {
        std::thread::sleep(Duration::from_millis(150));
        let img = x.screenshot(&target_dir().join("editor-standalone-playing.png"));
        let grid = img.grid();
        if !grid.iter().flatten().any(|c| c.kind.playhead()) {
            assert!(n < 20, "no playhead {n} screenshots after pressing space");
            continue;
        }
        let heads = playheads(&img);
        let steps: Vec<usize> = expected_rows().iter().map(|e| e.0).collect();
        // One global 16th counter, wrapped at each track's own length: the 16-step tracks
        // agree, the 12-step shaker is at counter mod 12, the 64-step lead at counter mod 64.
        let consistent = (0..64).any(|k| {
            let counter = heads[7] + 64 * k;
            heads.iter().zip(&steps).all(|(h, n)| *h == counter % n)
        });
        assert!(consistent, "playheads {heads:?} for step counts {steps:?}");
        match first {
            None => first = Some(heads),
            Some(ref f) if *f != heads => {
                moved = true;
                break;
            }
            _ => {}
        }
    }
    assert!(first.is_some(), "playheads appeared");
    assert!(moved, "playheads move while playing");
    // Every character of every frame above had its glyph: no symbol drew as a box.
    assert_no_glyph_boxes(&home.join(GLYPH_REPORT), "·×");
    drop(app);
    let _ = std::fs::remove_dir_all(&home);
}

/// Screenshots until `ok(grid)` holds (up to ~10 s).
fn wait_for(x: &Xvfb, what: &str, ok: impl Fn(&[Vec<Cell>]) -> bool) {
    wait_for_image(x, what, |img| {
        let g = img.grid();
        g.len() == 8 && ok(&g)
    });
}

/// Screenshots until `ok(image)` holds (up to ~10 s).
fn wait_for_image(x: &Xvfb, what: &str, ok: impl Fn(&Image) -> bool) {
    for _ in 0..40 {
        std::thread::sleep(Duration::from_millis(100));
        if ok(&x.screenshot(&target_dir().join("editor-standalone-step.png"))) {
            return;
        }
    }
    panic!("{what}: not seen on screen");
}
