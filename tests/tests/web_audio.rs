//! The engine in the browser's AudioWorklet, in a real headless Chromium: after one click on
//! Start the page plays the session on its clock. Its output (captured through the worklet's
//! test hook, with the context frame of the first captured sample and the context-to-server
//! offset it played with) has its onsets where the offline renderer puts them, and a page and a
//! CLAP plugin in one session, both on the session clock, play the same hits at the same
//! server times.

use std::sync::mpsc;
use std::time::{Duration, Instant};

use base64::Engine as _;
use keyboardia_core::{Lock, SessionId, SessionState, Track};
use keyboardia_engine::render::{render_session, RenderOptions};
use keyboardia_tests::browser::{web_server, Browser, BrowserOptions};
use keyboardia_tests::clap_host::{clap_bundle_path, BundleKind, ClapPlugin};
use keyboardia_tests::onsets::{four_on_the_floor, hits};
use keyboardia_tests::players::{create_session, unix_ms};
use keyboardia_tests::saved_state;
use serde_json::Value;

/// What the page's worklet captured.
struct Captured {
    /// Left channel.
    left: Vec<f32>,
    /// Context frame of `left[0]`.
    first_frame: f64,
    /// Context-to-server offset played at the first frame (ms).
    offset_ms: f64,
    /// The context's rate.
    rate: f64,
}

impl Captured {
    /// Server time (ms) of captured frame `i`.
    fn server_ms(&self, i: usize) -> f64 {
        (self.first_frame + i as f64) / self.rate * 1000.0 + self.offset_ms
    }
}

/// Opens the session, waits until joined, clicks Start, and waits until the shared timeline
/// plays and the worklet runs on the session clock.
fn start_page(browser: &Browser, base: &str, id: SessionId) {
    browser.goto(&format!("{base}/s/{id}"));
    browser.wait_for(
        "window.keyboardia && JSON.parse(window.keyboardia.status()).joined",
        Duration::from_secs(30),
    );
    browser.click("#start");
    browser.wait_for(
        "window.keyboardia.port() && (JSON.parse(window.keyboardia.status()).timeline || {}).playing",
        Duration::from_secs(15),
    );
    browser.wait_for(
        "window.keyboardia.audio() && window.keyboardia.audio().contextToServerMs !== null",
        Duration::from_secs(10),
    );
}

/// Captures `seconds` of the worklet's output.
fn capture(browser: &Browser, seconds: f64) -> Captured {
    let v = browser.js_async(&format!(
        r#"
        const done = arguments[arguments.length - 1];
        const port = window.keyboardia.port();
        const rate = window.keyboardia.audio().rate;
        port.onmessage = (e) => {{
          const d = e.data;
          if (d.t !== "captured") return;
          if (!d.done) {{ setTimeout(() => port.postMessage({{ t: "captured" }}), 100); return; }}
          const bytes = new Uint8Array(d.left.buffer);
          let s = "";
          for (let i = 0; i < bytes.length; i += 8192) {{
            s += String.fromCharCode.apply(null, bytes.subarray(i, i + 8192));
          }}
          done({{ left: btoa(s), first: d.first, offsetMs: d.offsetMs, rate: d.rate }});
        }};
        port.postMessage({{ t: "capture", frames: Math.round({seconds} * rate) }});
        setTimeout(() => port.postMessage({{ t: "captured" }}), 100);
        "#
    ));
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(v["left"].as_str().expect("captured frames"))
        .expect("base64");
    let left = bytes
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect();
    Captured {
        left,
        first_frame: v["first"].as_f64().unwrap(),
        offset_ms: v["offsetMs"].as_f64().expect("captured in session mode"),
        rate: v["rate"].as_f64().unwrap(),
    }
}

/// The session's timeline as the page knows it.
fn timeline(browser: &Browser) -> Value {
    browser.status()["timeline"].clone()
}

/// Beat of server time `t` on `tl` (counted from the start beat).
fn beat_at(tl: &Value, t: f64) -> f64 {
    let f = |k: &str| tl[k].as_f64().unwrap();
    f("anchorBeat") + (t - f("anchorTime")) * f("tempo") / 60_000.0 - f("startBeat")
}

/// The tests of this file run one at a time (real-time audio on a shared machine).
fn serial() -> std::sync::MutexGuard<'static, ()> {
    static LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());
    LOCK.lock().unwrap_or_else(|e| e.into_inner())
}

#[test]
fn the_worklet_plays_onsets_where_the_offline_renderer_puts_them() {
    let _serial = serial();
    let server = web_server();
    let base = server.base_url();
    let state = four_on_the_floor();
    let id = create_session(&base, &state);
    let browser = Browser::start(BrowserOptions::default());
    start_page(&browser, &base, id);
    // Let the clock estimate settle, then capture 3 s.
    std::thread::sleep(Duration::from_millis(1_500));
    let cap = capture(&browser, 3.0);
    let tl = timeline(&browser);
    let tempo = tl["tempo"].as_f64().unwrap();
    let ms_per_beat = 60_000.0 / tempo;

    // (A hit at the very start may be the tail of one before the capture.)
    let got: Vec<f64> = hits(&cap.left)
        .into_iter()
        .filter(|&i| i > 480)
        .map(|i| beat_at(&tl, cap.server_ms(i)))
        .collect();
    assert!(got.len() >= 5, "onsets in 3 s at 120 BPM: {got:?}");
    let offline = render_session(
        &state,
        &RenderOptions {
            sample_rate_hz: cap.rate,
            block_frames: 128,
            ..RenderOptions::default()
        },
        2.0,
    );
    let frames_per_beat = cap.rate * 60.0 / tempo;
    let want: Vec<f64> = hits(&offline.left)
        .into_iter()
        .map(|i| i as f64 / frames_per_beat)
        .collect();
    assert_eq!(want.len(), 8, "{want:?}");
    let bar_beats = 4.0;
    let mut worst: f64 = 0.0;
    for b in &got {
        let d = want
            .iter()
            .map(|w| {
                let x = (b - w).rem_euclid(bar_beats);
                x.min(bar_beats - x) * ms_per_beat
            })
            .fold(f64::INFINITY, f64::min);
        worst = worst.max(d);
    }
    println!(
        "{} onsets in the worklet's output, worst distance to the offline render {worst:.3} ms",
        got.len()
    );
    assert!(worst <= 1.0, "{got:?} vs {want:?}");
}

/// A plugin joined to `session` through its saved state.
fn joined_plugin(base: &str, session: SessionId, name: &str) -> ClapPlugin {
    let path = clap_bundle_path(BundleKind::Release);
    let mut p = ClapPlugin::load(&path, "dev.keyboardia.sequencer", 48_000.0, 512);
    let mut state = saved_state::parse(&p.save_state());
    let joined =
        serde_json::json!({ "server": base, "session": session, "name": name, "pending": [] });
    state["fields"]["live"] = serde_json::Value::String(joined.to_string());
    p.load_state(&saved_state::to_bytes(&state));
    p.reactivate();
    p
}

/// A kick on every beat of a 4-bar track, each with a 50 % probability lock.
fn dice_kicks() -> SessionState {
    let mut kick = Track::new("kick".parse().unwrap(), "Kick", "kick".parse().unwrap());
    kick.step_count = 64;
    for s in (0..64).step_by(4) {
        kick.steps[s].on = true;
        kick.steps[s].locks.set(Lock::Probability(50));
    }
    SessionState {
        tempo: 120.0,
        tracks: vec![kick],
        ..SessionState::default()
    }
}

#[test]
fn a_page_and_a_plugin_play_the_same_hits_at_the_same_server_times() {
    let _serial = serial();
    let server = web_server();
    let base = server.base_url();
    let id = create_session(&base, &dice_kicks());
    let mut plugin = joined_plugin(&base, id, "Ada");
    let session_clock = plugin.param_range("Clock").2;

    // The page runs on its own thread; the plugin's host renders in real time on this one.
    let (tx, rx) = mpsc::channel();
    let page_base = base.clone();
    let page = std::thread::spawn(move || {
        let browser = Browser::start(BrowserOptions::default());
        start_page(&browser, &page_base, id);
        std::thread::sleep(Duration::from_millis(1_500));
        let cap = capture(&browser, 4.0);
        let tl = timeline(&browser);
        tx.send(()).unwrap();
        (cap, tl)
    });

    const SR: f64 = 48_000.0;
    const BLOCK: usize = 512;
    let wall0 = unix_ms();
    let start = Instant::now();
    let mut left = Vec::new();
    let mut k = 0usize;
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let due = start + Duration::from_secs_f64(k as f64 * BLOCK as f64 / SR);
        if let Some(wait) = due.checked_duration_since(Instant::now()) {
            std::thread::sleep(wait);
        }
        let params = if k == 0 {
            vec![(0, plugin.param_id("Clock"), session_clock)]
        } else {
            vec![]
        };
        let b = plugin.process(BLOCK, None, &[], &params);
        left.extend_from_slice(&b.left);
        k += 1;
        if rx.try_recv().is_ok() {
            break;
        }
        assert!(Instant::now() < deadline, "the page never finished");
    }
    let (cap, tl) = page.join().expect("the page's thread");

    // Both in server time (wrangler dev runs on this machine: its clock is the wall clock).
    let page_hits: Vec<f64> = hits(&cap.left)
        .into_iter()
        .map(|i| cap.server_ms(i))
        .collect();
    let plugin_hits: Vec<f64> = hits(&left)
        .into_iter()
        .map(|i| wall0 + i as f64 * 1000.0 / SR)
        .collect();
    let (from, to) = (cap.server_ms(0), cap.server_ms(cap.left.len()));
    let plugin_in: Vec<f64> = plugin_hits
        .iter()
        .copied()
        .filter(|t| *t > from + 5.0 && *t < to - 5.0)
        .collect();
    let page_in: Vec<f64> = page_hits
        .iter()
        .copied()
        .filter(|t| *t > from + 5.0 && *t < to - 5.0)
        .collect();
    println!(
        "page hits (beats): {:?}\nplugin hits (beats): {:?}",
        page_in.iter().map(|t| beat_at(&tl, *t)).collect::<Vec<_>>(),
        plugin_in
            .iter()
            .map(|t| beat_at(&tl, *t))
            .collect::<Vec<_>>()
    );
    assert!(page_in.len() >= 2, "the dice let some kicks through");
    assert_eq!(page_in.len(), plugin_in.len(), "the same hits");
    let worst = page_in
        .iter()
        .zip(&plugin_in)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0, f64::max);
    println!(
        "{} hits, worst page-plugin distance {worst:.3} ms",
        page_in.len()
    );
    assert!(worst <= 2.0, "{page_in:?} vs {plugin_in:?}");
    // And they are on the beat grid of the session (the same bar for both).
    for t in &page_in {
        let b = beat_at(&tl, *t);
        assert!((b - b.round()).abs() * 500.0 < 2.0, "beat {b}");
    }
}
