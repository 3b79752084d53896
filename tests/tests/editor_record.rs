//! The record panel in the standalone app on a private Xvfb. With the dummy audio backend (the
//! input is silence): holding "Hold to record" with the mouse records a take (its waveform
//! appears with the take's length), and "Add to grid" adds one new, empty track to the demo's
//! grid. On a real JACK server (the dummy driver stands in for a sound card): a signal played
//! into the app's input ports is recorded, and Preview plays exactly it back out of the app.

use std::time::Duration;

use keyboardia_core::SessionState;
use keyboardia_tests::editor_screen::{target_dir, CellKind, Image, Xvfb};
use keyboardia_tests::jack::{JackServer, SignalClient, PERIOD_FRAMES};

/// A filled rectangle found on screen.
#[derive(Clone, Copy, Debug)]
struct Rect {
    x0: usize,
    y0: usize,
    x1: usize,
    y1: usize,
}

impl Rect {
    fn center(&self) -> (usize, usize) {
        ((self.x0 + self.x1) / 2, (self.y0 + self.y1) / 2)
    }
}

fn near(a: [u8; 3], b: [u8; 3], tol: u8) -> bool {
    a.iter().zip(b).all(|(x, y)| x.abs_diff(y) <= tol)
}

/// Bounding boxes of 4-connected regions of `color` (±2) whose size fits `fits(w, h)`.
fn regions(img: &Image, color: [u8; 3], fits: impl Fn(usize, usize) -> bool) -> Vec<Rect> {
    let (w, h) = (img.width, img.height);
    let mut seen = vec![false; w * h];
    let mut out = Vec::new();
    for y in 0..h {
        for x in 0..w {
            if seen[y * w + x] || !near(img.pixel(x, y), color, 2) {
                continue;
            }
            let mut r = Rect {
                x0: x,
                y0: y,
                x1: x,
                y1: y,
            };
            let mut stack = vec![(x, y)];
            seen[y * w + x] = true;
            while let Some((px, py)) = stack.pop() {
                r.x0 = r.x0.min(px);
                r.x1 = r.x1.max(px);
                r.y0 = r.y0.min(py);
                r.y1 = r.y1.max(py);
                let neighbours = [
                    (px.wrapping_sub(1), py),
                    (px + 1, py),
                    (px, py.wrapping_sub(1)),
                    (px, py + 1),
                ];
                for (nx, ny) in neighbours {
                    if nx < w && ny < h && !seen[ny * w + nx] && near(img.pixel(nx, ny), color, 2) {
                        seen[ny * w + nx] = true;
                        stack.push((nx, ny));
                    }
                }
            }
            if fits(r.x1 - r.x0 + 1, r.y1 - r.y0 + 1) {
                out.push(r);
            }
        }
    }
    out
}

/// The input meter: a 120 × 12 bar of grey 30.
fn meter(img: &Image) -> Option<Rect> {
    regions(img, [30, 30, 30], |w, h| {
        w.abs_diff(120) <= 3 && h.abs_diff(12) <= 3
    })
    .into_iter()
    .next()
}

/// The take's waveform: a wide, 64-point-tall box of grey 22.
fn waveform(img: &Image) -> Option<Rect> {
    regions(img, [22, 22, 22], |w, h| w > 400 && h.abs_diff(64) <= 3)
        .into_iter()
        .next()
}

/// Runs of button fill along row `y` right of `from_x`, as (start, end) pixel columns.
fn buttons_in_row(img: &Image, y: usize, from_x: usize, fill: [u8; 3]) -> Vec<(usize, usize)> {
    let mut runs = Vec::new();
    let mut start = None;
    for x in from_x..img.width {
        let on = near(img.pixel(x, y), fill, 2);
        match (on, start) {
            (true, None) => start = Some(x),
            (false, Some(s)) => {
                if x - s > 30 {
                    runs.push((s, x - 1));
                }
                start = None;
            }
            _ => {}
        }
    }
    runs
}

fn shot(x: &Xvfb, name: &str) -> Image {
    x.screenshot(&target_dir().join(name))
}

/// Screenshots until `ok` gives a value (up to ~10 s).
fn wait_until<T>(x: &Xvfb, what: &str, ok: impl Fn(&Image) -> Option<T>) -> T {
    for _ in 0..50 {
        std::thread::sleep(Duration::from_millis(200));
        if let Some(v) = ok(&shot(x, "editor-record-wait.png")) {
            return v;
        }
    }
    panic!("{what}: not seen on screen");
}

/// The tests of this file run one at a time (each drives an app on its own Xvfb).
fn serial() -> std::sync::MutexGuard<'static, ()> {
    static LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());
    LOCK.lock().unwrap_or_else(|e| e.into_inner())
}

#[test]
fn editor_record_hold_records_a_take_and_add_to_grid_adds_a_track() {
    let _serial = serial();
    let x = Xvfb::start(1600, 900);
    let (app, home) = x.start_standalone("editor-record-home");
    x.xdotool(&["search", "--name", "Keyboardia", "windowfocus", "--sync"]);

    let demo_rows = SessionState::demo().tracks.len();
    let img = shot(&x, "editor-record.png");
    assert_eq!(img.grid().len(), demo_rows, "the demo grid");
    assert!(waveform(&img).is_none(), "no take yet");
    let m = meter(&img).expect("the input meter is drawn");

    // Hold the Record button (left of the meter) for 1.5 s.
    let (bx, by) = (m.x0 - 8 - 85, m.center().1);
    x.xdotool(&["mousemove", &bx.to_string(), &by.to_string()]);
    x.xdotool(&["mousedown", "1"]);
    std::thread::sleep(Duration::from_millis(1500));
    let during = shot(&x, "editor-record-recording.png");
    x.xdotool(&["mouseup", "1"]);
    // The button turns red while recording.
    let red = (m.x0.saturating_sub(180)..m.x0)
        .any(|px| (by - 6..by + 6).any(|py| near(during.pixel(px, py), [230, 70, 60], 30)));
    assert!(red, "the Record button shows the recording");

    // The take arrives: its waveform is drawn.
    wait_until(&x, "the take's waveform", waveform);
    // The pointer away from the buttons, so none is drawn hovered.
    x.xdotool(&["mousemove", "5", "5"]);
    std::thread::sleep(Duration::from_millis(300));
    let img = shot(&x, "editor-record-take.png");
    let wave = waveform(&img).expect("the waveform stays");
    assert!(wave.x1 - wave.x0 > 400);
    let m = meter(&img).expect("the meter, above the waveform");
    assert!(m.y1 < wave.y0, "controls above the waveform");

    // The last button of the row is "Add to grid". Buttons are found by their fill (sampled
    // inside the Record button's left edge) on a row above their text.
    let cy = m.center().1;
    let fill = img.pixel(m.x0 - 8 - 165, cy);
    let runs = (cy - 7..cy - 2)
        .map(|y| buttons_in_row(&img, y, m.x1 + 1, fill))
        .max_by_key(Vec::len)
        .unwrap();
    assert!(
        runs.len() >= 2,
        "Preview and Add to grid buttons in the row: {runs:?}"
    );
    let add = runs[runs.len() - 1];
    let ax = (add.0 + add.1) / 2;
    x.xdotool(&[
        "mousemove",
        &ax.to_string(),
        &m.center().1.to_string(),
        "click",
        "1",
    ]);
    let rows = wait_until(&x, "a new track row", |img| {
        let g = img.grid();
        (g.len() == demo_rows + 1).then_some(g)
    });
    let new_row = &rows[demo_rows];
    assert_eq!(new_row.len(), 16, "a new track has 16 steps");
    assert!(
        new_row.iter().all(|c| c.kind == CellKind::Off),
        "and starts empty"
    );
    drop(app);
    let _ = std::fs::remove_dir_all(&home);
}

/// A signal unique at every frame (a hash of the frame index), so any misalignment shows.
fn signal(channel: u64, frame: u64) -> f32 {
    let h = (frame + 1)
        .wrapping_mul(0x9E37_79B9_7F4A_7C15)
        .wrapping_add(channel.wrapping_mul(0xD1B5_4A32_D192_ED03));
    let h = h ^ (h >> 29);
    ((h >> 40) as f32 / (1u64 << 24) as f32 - 0.5) * 1.6
}

/// The standalone app on a JACK server, its input connected with `--connect-jack-inputs` to a
/// client playing a known signal, its output to the same client's recorder. Holding Record for
/// 1.5 s takes the device input; Preview plays it back: what comes out of the app is exactly a
/// 1.5 s stretch of what went in, and nothing else (the input never passes through).
#[test]
fn editor_record_in_the_standalone_from_a_jack_input() {
    let _serial = serial();
    let _jack = JackServer::start();
    let source = SignalClient::start("signal", signal);
    let x = Xvfb::start(1600, 900);
    let (app, home) = x.start_standalone_with(
        "editor-record-jack-home",
        &[
            "--backend",
            "jack",
            "--connect-jack-inputs",
            "signal:out_l,signal:out_r",
        ],
    );
    source.connect("keyboardia:output_1", "signal:in_l");
    source.connect("keyboardia:output_2", "signal:in_r");
    assert!(
        source.is_connected("keyboardia:input_1"),
        "the app connected its input"
    );
    assert!(source.is_connected("keyboardia:input_2"));
    x.xdotool(&["search", "--name", "Keyboardia", "windowfocus", "--sync"]);

    let img = shot(&x, "editor-record-jack.png");
    let m = meter(&img).expect("the input meter is drawn");
    // The signal starts: the meter shows the input's level (its bar is drawn green).
    source.sound(true);
    wait_until(&x, "the input meter moving", |img| {
        let y = m.center().1;
        (m.x0..m.x1)
            .any(|px| near(img.pixel(px, y), [90, 200, 110], 30))
            .then_some(())
    });

    // Hold Record for 1.5 s.
    let (bx, by) = (m.x0 - 8 - 85, m.center().1);
    x.xdotool(&["mousemove", &bx.to_string(), &by.to_string()]);
    x.xdotool(&["mousedown", "1"]);
    std::thread::sleep(Duration::from_millis(1500));
    x.xdotool(&["mouseup", "1"]);
    // Silence again, so the meter falls back to its empty bar and can be found; the take's
    // Preview and Add to grid buttons appear right of it.
    source.sound(false);
    x.xdotool(&["mousemove", "5", "5"]);
    let (cy, runs) = wait_until(&x, "the take's Preview and Add to grid buttons", |img| {
        let m = meter(img)?;
        let cy = m.center().1;
        let fill = img.pixel(m.x0 - 8 - 165, cy);
        let runs = (cy - 7..cy - 2)
            .map(|y| buttons_in_row(img, y, m.x1 + 1, fill))
            .max_by_key(Vec::len)?;
        (runs.len() >= 2).then_some((cy, runs))
    });
    shot(&x, "editor-record-jack-take.png");
    let preview = runs[runs.len() - 2];

    // Only the preview may come out of the app from here on.
    let before = source.take_recorded();
    assert!(
        before.0.len() > 48_000,
        "the app's output reached the recorder"
    );
    assert!(
        before.0.iter().chain(&before.1).all(|v| *v == 0.0),
        "nothing came out while recording: the input is not passed through"
    );
    let px = (preview.0 + preview.1) / 2;
    x.xdotool(&["mousemove", &px.to_string(), &cy.to_string(), "click", "1"]);
    std::thread::sleep(Duration::from_millis(2500));
    let (l, r) = source.take_recorded();
    drop(app);
    let _ = std::fs::remove_dir_all(&home);

    let first = l
        .iter()
        .position(|v| *v != 0.0)
        .expect("the preview came out");
    let len = l[first..].iter().rposition(|v| *v != 0.0).unwrap() + 1;
    assert!(
        l[..first].iter().chain(&r[..first]).all(|v| *v == 0.0),
        "nothing but the preview came out"
    );
    let secs = len as f64 / 48_000.0;
    // Held for 1.5 s; a GUI drawn in software on a busy machine may see the press late.
    assert!(
        (0.3..2.2).contains(&secs),
        "a take of at most about 1.5 s: {secs} s"
    );
    // The app processes whole JACK periods, so each period of the preview is one period of the
    // take. Each must be exactly a stretch of the input (both channels), the stretches in order,
    // one period apart; a busy machine may make the app miss a period now and then (JACK then
    // skips it: silence out, a gap in what it took), which is counted, and must stay rare.
    let played = source.played();
    let (mut prev, mut periods, mut gaps, mut missed) = (None::<u64>, 0, 0, 0);
    for (c, chunk) in l[first..first + len].chunks(PERIOD_FRAMES).enumerate() {
        let at = first + c * PERIOD_FRAMES;
        if chunk.iter().all(|v| *v == 0.0) {
            missed += 1;
            continue;
        }
        let is_at = |f: u64| {
            (0..chunk.len()).all(|k| {
                signal(0, f + k as u64) == l[at + k] && signal(1, f + k as u64) == r[at + k]
            })
        };
        let next = prev.map_or(0, |p| p + PERIOD_FRAMES as u64);
        let f = if prev.is_some() && is_at(next) {
            next
        } else {
            gaps += prev.is_some() as usize;
            (next..played)
                .find(|&f| signal(0, f) == chunk[0] && is_at(f))
                .unwrap_or_else(|| panic!("period {c} of the preview is not the input's"))
        };
        prev = Some(f);
        periods += 1;
    }
    let n = len.div_ceil(PERIOD_FRAMES);
    println!(
        "took {secs:.3} s of the JACK input; {periods} of {n} periods of the preview are exactly \
         the input's, in order ({gaps} gaps, {missed} missed periods)"
    );
    assert!(
        (gaps + missed) * 10 <= n,
        "the app missed too many periods: {gaps} gaps, {missed} silent of {n}"
    );
}
