//! The engine in the browser's AudioWorklet, in a real headless Chromium: after one click on
//! Start the page plays the session on its clock. Its output (captured through the worklet's
//! test hook, with the context frame of the first captured sample and the context-to-server
//! offset it played with) has its onsets where the offline renderer puts them, and a page and a
//! CLAP plugin in one session, both on the session clock, play the same hits at the same
//! server times. The page's meters follow the worklet's levels (moving while playing, silent
//! when stopped), and the sound picker's preview sounds with the transport stopped. Patterns,
//! the song and the fill: a pattern the page cues is stamped by the room, seen by a native
//! player, and heard from that step on; the page's fill reaches the native player and is heard
//! on the steps it was stamped for; alone on the beat page, the song switches at its bars; the
//! editor's own pattern slot, Song toggle and Fill button, clicked where the page drew them,
//! reach the room.

use std::sync::mpsc;
use std::time::{Duration, Instant};

use base64::Engine as _;
use keyboardia_core::api;
use keyboardia_core::beat::Beat;
use keyboardia_core::clock::Timeline;
use keyboardia_core::protocol::ServerMessage;
use keyboardia_core::song::Play;
use keyboardia_core::{Condition, Lock, Op, PatternId, SessionId, SessionState, SongEntry, Track};
use keyboardia_engine::render::{render_session, RenderOptions};
use keyboardia_tests::browser::{web_server, Browser, BrowserOptions};
use keyboardia_tests::clap_host::{clap_bundle_path, BundleKind, ClapPlugin};
use keyboardia_tests::onsets::{four_on_the_floor, hits};
use keyboardia_tests::players::{create_session, unix_ms};
use keyboardia_tests::saved_state;
use keyboardia_tests::server::LiveClient;
use serde_json::Value;

/// What the page's worklet captured.
struct Captured {
    /// Left channel.
    left: Vec<f32>,
    /// Context frame of `left[0]`.
    first_frame: f64,
    /// Per block: (index of its first frame in the capture, played server ms, rate).
    times: Vec<(usize, f64, f64)>,
    /// The context's rate.
    rate: f64,
    /// Two output timestamps of the context, taken around the capture: (context s, server ms at
    /// which that context time left the (fake) device: the browser's output time plus the true
    /// offset of the page's clock, from the wall clock).
    stamps: [(f64, f64); 2],
}

impl Captured {
    /// Server time (ms) of captured frame `i` as the worklet played it.
    fn server_ms(&self, i: usize) -> f64 {
        let k = self.times.partition_point(|(idx, _, _)| *idx <= i).max(1) - 1;
        let (idx, ms, rate) = self.times[k];
        ms + (i - idx) as f64 / self.rate * 1000.0 * rate
    }

    /// The first captured frame the worklet played at or after server time `t` (by its played
    /// clock, the one it placed its hits by).
    fn frame_at(&self, t: f64) -> Option<usize> {
        let (mut lo, mut hi) = (0, self.left.len());
        while lo < hi {
            let mid = (lo + hi) / 2;
            if self.server_ms(mid) < t {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        (lo < self.left.len()).then_some(lo)
    }

    /// Server time at which captured frame `i` left the browser's audio device, by the browser's
    /// output timestamps and the wall clock: independent of the page's clock estimate, its
    /// audio clock model and the worklet's clock.
    fn heard_unix_ms(&self, i: usize) -> f64 {
        let [(x0, u0), (x1, u1)] = self.stamps;
        let x = (self.first_frame + i as f64) / self.rate;
        u0 + (x - x0) * (u1 - u0) / (x1 - x0)
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

/// A script's function `stamp()`: the browser's own pairing of context time and output time
/// (performance.now()), in server time by ground truth, not by the page's clock estimate (an
/// error of that estimate moves the page's hits and would cancel out): wrangler dev stamps with
/// this machine's wall clock, so server time is `performance.now() + (Date.now() -
/// performance.now())`. `Date.now()` counts whole ms (floor): the largest difference over 2 ms
/// of readings. (performance.timeOrigin is no reference: here Chromium's wall clock runs tens of
/// ms off the system's.)
const STAMP_JS: &str = r#"
    const stamp = () => {
      const t = window.keyboardia.audio().context.getOutputTimestamp();
      let truth = -Infinity;
      const end = performance.now() + 2;
      for (let i = 0; i < 100000 && performance.now() < end; i++)
        truth = Math.max(truth, Date.now() - performance.now());
      return [t.contextTime, t.performanceTime + truth];
    };
"#;

/// Captures `seconds` of the worklet's output.
fn capture(browser: &Browser, seconds: f64) -> Captured {
    begin_capture(browser, seconds);
    finish_capture(browser)
}

/// Starts capturing the next `seconds` of the worklet's output (and takes the first output
/// timestamp); [`finish_capture`] waits for it.
fn begin_capture(browser: &Browser, seconds: f64) {
    browser.js(&format!(
        r#"{STAMP_JS}
        const rate = window.keyboardia.audio().rate;
        window.capture = {{ s0: stamp() }};
        window.keyboardia.port().postMessage({{ t: "capture", frames: Math.round({seconds} * rate) }});
        return true;
        "#
    ));
}

/// Waits for the capture [`begin_capture`] started; what it holds.
fn finish_capture(browser: &Browser) -> Captured {
    let v = browser.js_async(&format!(
        r#"{STAMP_JS}
        const done = arguments[arguments.length - 1];
        const port = window.keyboardia.port();
        port.onmessage = (e) => {{
          const d = e.data;
          if (d.t !== "captured") return;
          if (!d.done) {{ setTimeout(() => port.postMessage({{ t: "captured" }}), 100); return; }}
          const bytes = new Uint8Array(d.left.buffer);
          let s = "";
          for (let i = 0; i < bytes.length; i += 8192) {{
            s += String.fromCharCode.apply(null, bytes.subarray(i, i + 8192));
          }}
          done({{ left: btoa(s), first: d.first, times: Array.from(d.times), rate: d.rate,
                  stamps: [window.capture.s0, stamp()] }});
        }};
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
    let flat: Vec<f64> = v["times"]
        .as_array()
        .expect("block times")
        .iter()
        .map(|x| x.as_f64().unwrap_or(f64::NAN))
        .collect();
    let times: Vec<(usize, f64, f64)> = flat
        .chunks_exact(3)
        .map(|c| (c[0] as usize, c[1], c[2]))
        .collect();
    assert!(
        !times.is_empty() && times.iter().all(|t| t.1.is_finite()),
        "captured while following a timeline"
    );
    let stamp = |k: usize| {
        let s = &v["stamps"][k];
        (s[0].as_f64().unwrap(), s[1].as_f64().unwrap())
    };
    Captured {
        left,
        first_frame: v["first"].as_f64().unwrap(),
        times,
        rate: v["rate"].as_f64().unwrap(),
        stamps: [stamp(0), stamp(1)],
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

    meters_move_and_the_picker_previews(&browser);
}

/// The page's meters (the levels the editor draws, from the worklet's engine) move while the
/// session plays, on the kick's row and the master, and fall silent once it stops; then the
/// sound picker's preview sounds with the transport stopped: the worklet's output holds it and
/// the master meter shows it.
fn meters_move_and_the_picker_previews(browser: &Browser) {
    let meters = |b: &Browser| -> Vec<f64> {
        let v = b.js("return window.keyboardia.meters();");
        v.as_array()
            .expect("meters once audio runs")
            .iter()
            .map(|x| x.as_f64().unwrap())
            .collect()
    };
    assert_eq!(meters(browser).len(), keyboardia_core::MAX_TRACKS + 1);
    browser.wait_for(
        "window.keyboardia.meters()[0] > 0.01 && window.keyboardia.meters()[16] > 0.01",
        Duration::from_secs(10),
    );
    browser.js("window.keyboardia.stop(); return true;");
    browser.wait_for(
        "!(JSON.parse(window.keyboardia.status()).timeline || {}).playing",
        Duration::from_secs(10),
    );
    // Silent for a whole second (the kick's tail and the meters' polling have passed).
    let deadline = Instant::now() + Duration::from_secs(15);
    let mut quiet_since = None;
    loop {
        let m = meters(browser);
        if m.iter().all(|x| *x == 0.0) {
            let since = *quiet_since.get_or_insert_with(Instant::now);
            if since.elapsed() > Duration::from_secs(1) {
                break;
            }
        } else {
            quiet_since = None;
        }
        assert!(
            Instant::now() < deadline,
            "the meters stay up when stopped: {m:?}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    // The preview, as the picker asks for it, while stopped: captured and metered.
    let v = browser.js_async(
        r#"
        const done = arguments[arguments.length - 1];
        const port = window.keyboardia.port();
        const rate = window.keyboardia.audio().rate;
        let master = 0;
        const watch = setInterval(() => {
          master = Math.max(master, window.keyboardia.meters()[16]);
        }, 20);
        port.onmessage = (e) => {
          const d = e.data;
          if (d.t !== "captured") return;
          if (!d.done) { setTimeout(() => port.postMessage({ t: "captured" }), 100); return; }
          clearInterval(watch);
          let peak = 0;
          for (const x of d.left) peak = Math.max(peak, Math.abs(x));
          done({ peak, master });
        };
        port.postMessage({ t: "capture", frames: Math.round(1.0 * rate) });
        setTimeout(() => {
          if (!window.keyboardia.preview("snare", 0.8, 0)) done({ error: "refused" });
          setTimeout(() => port.postMessage({ t: "captured" }), 100);
        }, 100);
        "#,
    );
    let peak = v["peak"].as_f64().unwrap_or_else(|| panic!("{v}"));
    let master = v["master"].as_f64().unwrap();
    println!("stopped, the preview: output peak {peak:.3}, master meter {master:.3}");
    assert!(peak > 0.05, "the preview is heard: {v}");
    assert!(master > 0.05, "the master meter shows it: {v}");
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

/// A kick on every beat of a 4-bar track, each with a 75 % probability lock. The session's seed
/// is drawn by the server, so the 8 rolls of a 4 s capture are random: fewer than 2 hits has
/// p < 4e-4, and about one run in ten has no drop (the hits must still match).
fn dice_kicks() -> SessionState {
    let mut kick = Track::new("kick".parse().unwrap(), "Kick", "kick".parse().unwrap());
    kick.step_count = 64;
    for s in (0..64).step_by(4) {
        kick.steps[s].on = true;
        kick.steps[s].locks.set(Lock::Probability(75));
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
        std::thread::sleep(Duration::from_millis(3_000));
        let cap = capture(&browser, 4.0);
        let tl = timeline(&browser);
        tx.send(()).unwrap();
        (cap, tl)
    });

    const SR: f64 = 48_000.0;
    const BLOCK: usize = 512;
    let start = Instant::now();
    let mut left = Vec::new();
    let mut block_at: Vec<f64> = Vec::new();
    let mut sample_clock = keyboardia_core::clock::SampleClock::new(SR);
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
        // When the host hands the block to the plugin. The plugin reads its clock once a block
        // and places the block by a least-squares line through those reads (core's
        // `SampleClock`), not by the read itself: the same estimator over the same (sample
        // position, time) pairs gives where the plugin put this block, free of the callback
        // jitter of this loop on a loaded machine.
        let pos = (k * BLOCK) as u64;
        sample_clock.observe(pos, unix_ms());
        block_at.push(sample_clock.local_ms_at(pos).expect("observed"));
        let b = plugin.process(BLOCK, None, &[], &params);
        left.extend_from_slice(&b.left);
        k += 1;
        if rx.try_recv().is_ok() {
            break;
        }
        assert!(Instant::now() < deadline, "the page never finished");
    }
    let (cap, tl) = page.join().expect("the page's thread");

    // Both in server time (wrangler dev runs on this machine: its clock is the wall clock). The
    // page's hits are placed by when the browser says they left its audio device (its output
    // timestamps and the wall clock), not by the page's own clock estimate.
    let page_idx: Vec<usize> = hits(&cap.left).into_iter().filter(|&i| i > 480).collect();
    let page_hits: Vec<f64> = page_idx.iter().map(|&i| cap.heard_unix_ms(i)).collect();
    let believed: Vec<f64> = page_idx
        .iter()
        .map(|&i| cap.server_ms(i) - cap.heard_unix_ms(i))
        .collect();
    println!("page: its played server time minus the browser's output time, per hit: {believed:?}");
    let plugin_hits: Vec<f64> = hits(&left)
        .into_iter()
        .map(|i| block_at[i / BLOCK] + (i % BLOCK) as f64 * 1000.0 / SR)
        .collect();
    // The hits inside the capture (the page's first 10 ms hold no onsets: `page_idx`). A hit
    // within 2 ms of a window edge may have its partner on the other side of it, so every hit
    // inside is matched with the nearest of all the other side's hits, and the plugin's are
    // checked only a further 5 ms inside: a hit missing on either side fails.
    let (from, to) = (cap.heard_unix_ms(0), cap.heard_unix_ms(cap.left.len()));
    let inside = |t: f64, margin: f64| t > from + 12.0 + margin && t < to - 5.0 - margin;
    let page_in: Vec<f64> = page_hits
        .iter()
        .copied()
        .filter(|&t| inside(t, 0.0))
        .collect();
    let plugin_in: Vec<f64> = plugin_hits
        .iter()
        .copied()
        .filter(|&t| inside(t, 5.0))
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
    let nearest = |t: f64, among: &[f64]| {
        among
            .iter()
            .map(|u| (t - u).abs())
            .fold(f64::INFINITY, f64::min)
    };
    let distances: Vec<f64> = page_in
        .iter()
        .map(|&t| nearest(t, &plugin_hits))
        .chain(plugin_in.iter().map(|&t| nearest(t, &page_hits)))
        .collect();
    let worst = distances.iter().copied().fold(0.0, f64::max);
    println!(
        "{} page hits, {} plugin hits, worst page-plugin distance {worst:.3} ms",
        page_in.len(),
        plugin_in.len()
    );
    // The plugin's side holds the issue's 2 ms: its hits sit on the session's beat grid (500 ms
    // a beat), placed as the plugin places them (see `sample_clock` above; 0.1 to 0.3 ms off in
    // the runs here, against 2.4 ms when this harness timed them by its callback times).
    let grid_ms = |t: f64| {
        let b = beat_at(&tl, t);
        (b - b.round()).abs() * 500.0
    };
    for t in &plugin_in {
        assert!(
            grid_ms(*t) <= 2.0,
            "plugin hit {} ms off the grid",
            grid_ms(*t)
        );
    }
    // The page's side holds the issue's 2 ms too (0.37 ms at load average 17 on 2 cores):
    // its socket lives in a worker that stamps pongs on arrival, so its clock estimate is
    // within a ms of the truth while the editor draws (when the main thread stamped them it was
    // 40 ms off in web_bench, and wandered by up to 6 ms within one capture). `KEYBOARDIA_PHASE_MS`
    // overrides the bound (to look at a run by hand).
    let bound_ms: f64 = std::env::var("KEYBOARDIA_PHASE_MS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2.0);
    assert!(
        worst <= bound_ms,
        "the same hits within {bound_ms} ms: {page_in:?} vs {plugin_in:?} ({distances:?})"
    );
    // And the page is on the same beat grid (the same bar for both).
    for t in &page_in {
        assert!(
            grid_ms(*t) <= bound_ms,
            "page hit {} ms off the grid",
            grid_ms(*t)
        );
    }
}

/// Pattern B, parsed.
fn pattern_b() -> PatternId {
    "B".parse().unwrap()
}

/// A song of a bar of A, then a bar of B, looping.
fn a_then_b() -> Vec<SongEntry> {
    vec![
        SongEntry {
            pattern: PatternId::A,
            repeats: 1,
        },
        SongEntry {
            pattern: pattern_b(),
            repeats: 1,
        },
    ]
}

/// A kick whose pattern A plays the quarters and pattern B the offbeats, plus a FILL kick on
/// each of B's downbeats: where the hits fall tells which pattern plays, and whether the fill
/// is on.
fn switching_kicks() -> SessionState {
    let id = "kick".parse().unwrap();
    let mut state = SessionState {
        tempo: 120.0,
        tracks: vec![Track::new(id, "Kick", "kick".parse().unwrap())],
        ..SessionState::default()
    };
    let b = pattern_b();
    for (pt, steps) in [(PatternId::A, [0, 4, 8, 12]), (b, [2, 6, 10, 14])] {
        for s in steps {
            state
                .apply(&Op::SetStep {
                    tr: id,
                    s,
                    on: true,
                    pt,
                })
                .unwrap();
        }
    }
    for op in [
        Op::SetStep {
            tr: id,
            s: 0,
            on: true,
            pt: b,
        },
        Op::SetLock {
            tr: id,
            s: 0,
            lock: Lock::Condition(Condition::Fill),
            pt: b,
        },
    ] {
        state.apply(&op).unwrap();
    }
    state
}

/// The page's `playback()` hook, parsed.
fn playback(browser: &Browser) -> Value {
    let text = browser.js("return window.keyboardia.playback();");
    serde_json::from_str(text.as_str().expect("playback text")).expect("playback JSON")
}

/// The first timeline the native player receives that `pred` accepts.
fn next_timeline(client: &mut LiveClient, pred: impl Fn(&Timeline) -> bool) -> Timeline {
    let m = client.recv_until(|m| matches!(m, ServerMessage::Timeline(t) if pred(t)));
    let ServerMessage::Timeline(t) = m else {
        unreachable!()
    };
    t
}

/// Whether a hit starts at captured frame `i`: the next 10 ms are more than twice as loud as
/// the 10 ms before (a kick 250 ms after another rises well above its tail).
fn hit_starts_at(x: &[f32], i: usize) -> bool {
    let peak = |r: std::ops::Range<usize>| x[r].iter().fold(0.0f32, |a, v| a.max(v.abs()));
    let before = peak(i.saturating_sub(504)..i.saturating_sub(24));
    let after = peak(i.saturating_sub(24)..(i + 480).min(x.len()));
    after > 2.0 * before + 0.05
}

/// The hit-time bound against the session's grid (`KEYBOARDIA_PHASE_MS` overrides it).
fn phase_bound_ms() -> f64 {
    std::env::var("KEYBOARDIA_PHASE_MS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2.0)
}

#[test]
fn a_cue_and_the_fill_from_the_page_play_on_the_steps_the_room_stamps() {
    let _serial = serial();
    let server = web_server();
    let base = server.base_url();
    let id = create_session(&base, &switching_kicks());
    let mut native = LiveClient::join(&base, id, "native");
    let browser = Browser::start(BrowserOptions::default());
    start_page(&browser, &base, id);
    let started = next_timeline(&mut native, |t| t.playing);
    // Let the clock estimate settle and the transport start (a cue before the start would
    // play B from it); then, early in a bar (so A plays two more quarters before B takes over
    // at the next bar line), capture while the page cues B and, a bar into B, holds the fill.
    std::thread::sleep(Duration::from_millis(1_500));
    browser.wait_for(
        "(s => s !== null && s % 16 < 6)(JSON.parse(window.keyboardia.playback()).step)",
        Duration::from_secs(5),
    );
    begin_capture(&browser, 9.0);
    assert_eq!(
        browser.js("return window.keyboardia.cuePattern('B');"),
        Value::Bool(true)
    );
    let cued = next_timeline(&mut native, |t| t.playback.next.is_some());
    let cue = cued.playback.next.unwrap();
    assert_eq!(cue.play, Play::Pattern(pattern_b()));
    assert_eq!(cue.at_beat % 4.0, 0.0, "on a bar line");
    assert_eq!(cued.start_beat, started.start_beat);
    // The page plays the same stamp.
    let page_tl = browser.wait_for(
        "(JSON.parse(window.keyboardia.playback()).timeline.playback || {}).next",
        Duration::from_secs(5),
    );
    assert_eq!(page_tl["atBeat"].as_f64(), Some(cue.at_beat));
    let switch = cue.at_beat - cued.start_beat;
    assert!(
        switch >= 4.0,
        "B takes over a bar or more after the start: {switch}"
    );
    browser.wait_for(
        &format!(
            "JSON.parse(window.keyboardia.playback()).step >= {}",
            (switch + 4.0) * 4.0
        ),
        Duration::from_secs(10),
    );
    let view = playback(&browser);
    assert_eq!(
        (view["pattern"].as_str(), view["live"].as_bool()),
        (Some("B"), Some(true)),
        "{view}"
    );
    browser.js("window.keyboardia.fill(true); return true;");
    let filled = next_timeline(&mut native, |t| t.playback.fill);
    let fill = filled.playback.fill_beat - filled.start_beat;
    browser.wait_for(
        "JSON.parse(window.keyboardia.playback()).timeline.playback.fill === true",
        Duration::from_secs(5),
    );
    let cap = finish_capture(&browser);
    browser.js("window.keyboardia.fill(false); return true;");
    let released = next_timeline(&mut native, |t| !t.playback.fill);
    assert!(released.playback.fill_beat > filled.playback.fill_beat);
    // The fill's timeline still switches to B on the cue's step.
    let switch_step = (switch * 4.0) as u64;
    for (step, pt) in [(switch_step - 1, PatternId::A), (switch_step, pattern_b())] {
        let (play, _) = filled.playback.play_at(filled.start_beat, step);
        assert_eq!(play, Play::Pattern(pt), "step {step}");
    }

    // Positions by the native player's timeline, of the hits as the browser's device played
    // them (ground truth: its output timestamps and the wall clock).
    let tl = filled;
    let pos = |i: usize| tl.beat_at(cap.heard_unix_ms(i)) - tl.start_beat;
    let end = pos(cap.left.len() - 1);
    let fill_bar = (fill / 4.0).ceil() * 4.0;
    assert!(
        end > fill_bar + 4.0,
        "the capture holds a bar of the fill: ends {end}, fill {fill}"
    );
    let mut errors_ms = Vec::new();
    let (mut a_hits, mut b_hits) = (0, 0);
    for i in hits(&cap.left).into_iter().filter(|&i| i > 480) {
        let p = pos(i);
        if p >= fill_bar - 0.1 {
            break;
        }
        // A's quarters before the switch, B's offbeats from its bar on.
        let (grid, count) = if p < switch - 0.1 {
            (p.round(), &mut a_hits)
        } else {
            ((p - 0.5).round() + 0.5, &mut b_hits)
        };
        *count += 1;
        errors_ms.push((p - grid) * 60_000.0 / tl.tempo);
    }
    let worst = errors_ms.iter().fold(0.0f64, |w, e| w.max(e.abs()));
    let mut sorted: Vec<f64> = errors_ms.iter().map(|e| e.abs()).collect();
    sorted.sort_by(f64::total_cmp);
    println!(
        "cue: switch at position {switch}, {a_hits} A hits then {b_hits} B hits; page hits vs \
         the native player's grid: median {:.3} ms, worst {worst:.3} ms ({errors_ms:?})",
        sorted[sorted.len() / 2]
    );
    assert!(
        a_hits >= 2 && b_hits >= 4,
        "{a_hits} A hits, {b_hits} B hits"
    );
    assert!(
        worst <= phase_bound_ms(),
        "a hit off the pattern playing: {errors_ms:?}"
    );

    // B's downbeats (FILL steps): silent before the fill's stamp, heard from it on, where the
    // worklet played that beat.
    let mut heard = Vec::new();
    let mut bar = switch;
    while bar < end - 0.5 {
        let i = cap
            .frame_at(tl.time_at(tl.start_beat + bar))
            .expect("captured");
        heard.push((bar, hit_starts_at(&cap.left, i)));
        bar += 4.0;
    }
    println!("fill stamped at position {fill}; B's downbeats (position, heard): {heard:?}");
    assert!(heard.iter().any(|(b, _)| *b < fill) && heard.iter().any(|(b, _)| *b >= fill));
    for (b, h) in &heard {
        assert_eq!(
            *h,
            *b >= fill,
            "B's downbeat at {b} (fill from {fill}): {heard:?}"
        );
    }
}

#[test]
fn a_song_played_alone_on_the_beat_page_switches_at_its_bars() {
    let _serial = serial();
    let server = web_server();
    let base = server.base_url();
    let http = server.http("10.6.1.1");
    // The song: a bar of A (quarters), a bar of B (offbeats), looping.
    let state = SessionState {
        song: a_then_b(),
        ..switching_kicks()
    };
    let session = http.create_session();
    let put = http.put(
        &session.id.to_string(),
        &serde_json::to_vec(&state).unwrap(),
    );
    assert_eq!(put.status, 200, "{}", put.text());
    let published = http.request(
        "POST",
        &api::session_beats_path(session.id),
        &[],
        Some(b"{}"),
    );
    assert_eq!(published.status, 201, "{}", published.text());
    let beat: Beat = serde_json::from_slice(&published.body).unwrap();

    let browser = Browser::start(BrowserOptions::default());
    browser.goto(&format!("{base}/b/{}", beat.id));
    browser.wait_for(
        "window.keyboardia && window.keyboardia.beats && \
         JSON.parse(window.keyboardia.beats.status()).viewing",
        Duration::from_secs(60),
    );
    browser.click("#start");
    browser.wait_for(
        "window.keyboardia.port() && JSON.parse(window.keyboardia.playback()).step !== null",
        Duration::from_secs(20),
    );
    let cap = capture(&browser, 5.0);
    let view = playback(&browser);
    assert_eq!(view["live"], Value::Bool(false), "alone: {view}");
    assert_eq!(view["songMode"], Value::Bool(true), "{view}");
    let tl: Timeline = serde_json::from_value(view["timeline"].clone()).unwrap();
    assert_eq!(tl.playback.play, Play::Song);
    // Positions on the page's own transport, by the clock the worklet played it on.
    let mut errors_ms = Vec::new();
    let mut bars = [0usize; 2];
    for i in hits(&cap.left).into_iter().filter(|&i| i > 480) {
        let p = tl.beat_at(cap.server_ms(i)) - tl.start_beat;
        let b_bar = (p / 4.0).floor() as i64 % 2 == 1;
        let grid = if b_bar {
            (p - 0.5).round() + 0.5
        } else {
            p.round()
        };
        bars[usize::from(b_bar)] += 1;
        errors_ms.push((p - grid) * 60_000.0 / tl.tempo);
    }
    let worst = errors_ms.iter().fold(0.0f64, |w, e| w.max(e.abs()));
    println!(
        "song alone: {} hits in A's bars, {} in B's; worst distance to the pattern's grid \
         {worst:.3} ms",
        bars[0], bars[1]
    );
    assert!(bars[0] >= 3 && bars[1] >= 3, "{bars:?}");
    assert!(worst <= 1.0, "a hit off its bar's pattern: {errors_ms:?}");
}

/// The editor's own controls, clicked where the page drew them (real pointer events through
/// egui's hit tests, not the test hooks): the pattern slot **B** cues B, the **Song** toggle
/// switches song mode on, and **Fill** held down and let go turns the fill on and off. Each
/// reaches the room, which stamps it, and a native player receives the stamps.
#[test]
fn the_editors_pattern_song_and_fill_buttons_reach_the_room() {
    let _serial = serial();
    let server = web_server();
    let base = server.base_url();
    let mut state = switching_kicks();
    let song = a_then_b();
    state.apply(&Op::SetSong { v: song }).unwrap();
    let id = create_session(&base, &state);
    let mut native = LiveClient::join(&base, id, "native");
    let browser = Browser::start(BrowserOptions::default());
    start_page(&browser, &base, id);
    let started = next_timeline(&mut native, |t| t.playing);

    let (x, y) = browser.text_centre("B", Duration::from_secs(10));
    browser.click_at(x, y);
    let cued = next_timeline(&mut native, |t| t.playback.next.is_some());
    let cue = cued.playback.next.unwrap();
    assert_eq!(cue.play, Play::Pattern(pattern_b()), "the slot cued B");
    assert_eq!(cue.at_beat % 4.0, 0.0, "on a bar line");
    assert_eq!(cued.start_beat, started.start_beat);

    let (x, y) = browser.text_centre("Song", Duration::from_secs(10));
    browser.click_at(x, y);
    let song_on = next_timeline(&mut native, |t| {
        t.playback.play == Play::Song || t.playback.next.is_some_and(|c| c.play == Play::Song)
    });
    println!("song mode stamped: {:?}", song_on.playback);
    browser.wait_for(
        "(pb => pb.play === 'song' || (pb.next || {}).play === 'song')\
         ((JSON.parse(window.keyboardia.playback()).timeline || {}).playback || {})",
        Duration::from_secs(5),
    );

    let (x, y) = browser.text_centre("Fill", Duration::from_secs(10));
    browser.hold_at(x, y, Duration::from_millis(800));
    let on = next_timeline(&mut native, |t| t.playback.fill);
    let off = next_timeline(&mut native, |t| !t.playback.fill);
    let steps = (off.playback.fill_beat - on.playback.fill_beat) * 4.0;
    println!(
        "fill held 800 ms: on at beat {}, off {steps} steps later",
        on.playback.fill_beat
    );
    // 800 ms at 120 BPM is 6.4 steps; the press and release are each stamped on the next step
    // the room has not handed out (allow for the WebDriver's own delays).
    assert!(
        (1.0..=16.0).contains(&steps),
        "the fill lasted {steps} steps"
    );
}
