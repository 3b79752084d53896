//! The browser app's benchmark (prints numbers; not a test): gzip sizes of the app's wasm and of
//! the worklet's engine, time from navigation to the first audible sample after Start on
//! loopback (and where it goes: the app's download, the audio graph, which the page builds as it
//! loads, the first server-time model), the worklet's CPU for the dense 16-track bench pattern as % of the audio period,
//! and the clock offset error against ground truth of the browser client and of the native
//! one (sync/), side by side.
//!
//! `cargo run -p keyboardia-tests --example web_bench` (the harness only drives the browser:
//! what it measures runs in Chromium, so a debug build of it is fine)

use std::process::Command;
use std::time::Duration;

use keyboardia_core::{SessionState, Track};
use keyboardia_tests::browser::{ensure_web_built, web_server, Browser, BrowserOptions};
use keyboardia_tests::players::{create_session, unix_ms, wait_until, Player};
use keyboardia_tests::server::LiveClient;

fn gzip_size(path: &std::path::Path) -> usize {
    let out = Command::new("sh")
        .arg("-c")
        .arg("gzip -9c < \"$1\" | wc -c")
        .arg("sh")
        .arg(path)
        .output()
        .expect("gzip");
    String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .expect("a byte count")
}

fn find(dist: &std::path::Path, prefix: &str, ext: &str) -> std::path::PathBuf {
    std::fs::read_dir(dist)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .find(|p| {
            let n = p.file_name().unwrap().to_string_lossy().to_string();
            n.starts_with(prefix) && n.ends_with(ext)
        })
        .expect("built file")
}

/// One load and Start, on the page's clock (ms since navigation start).
struct Start {
    /// Start became visible (the page's performance mark).
    shown: f64,
    /// The page's click event fired.
    clicked: f64,
    /// The first audible sample left the speakers.
    audible: f64,
    /// Start was visible before the harness's script ran (the click came late).
    late: bool,
    /// The app's wasm was downloaded (its resource timing's `responseEnd`).
    wasm_loaded: f64,
    /// The audio graph was up after the click (the page's `keyboardia-audio-ready` mark).
    audio_ready: f64,
    /// The worklet got its first server-time model (`keyboardia-model-sent`).
    model_sent: f64,
}

fn percentile(v: &mut [f64], p: f64) -> f64 {
    v.sort_by(f64::total_cmp);
    v[((v.len() - 1) as f64 * p).round() as usize]
}

fn main() {
    let dist = ensure_web_built();
    let app = find(&dist, "keyboardia-web-", ".wasm");
    let worklet = find(&dist, "worklet-", ".wasm");
    println!("keyboardia web benchmark");
    println!(
        "app wasm: {} bytes, gzip {:.2} MB (target <= 2 MB)",
        std::fs::metadata(&app).unwrap().len(),
        gzip_size(&app) as f64 / 1e6
    );
    println!(
        "worklet engine wasm: {} bytes, gzip {:.1} KB (target <= 300 KB)",
        std::fs::metadata(&worklet).unwrap().len(),
        gzip_size(&worklet) as f64 / 1e3
    );

    let server = web_server();
    let base = server.base_url();
    // A session already playing (another player pressed Play), a kick on every 16th.
    let mut kick = Track::new("kick".parse().unwrap(), "Kick", "kick".parse().unwrap());
    for s in 0..16 {
        kick.steps[s].on = true;
    }
    let state = SessionState {
        tracks: vec![kick],
        ..SessionState::default()
    };
    let id = create_session(&base, &state);
    let mut conductor = LiveClient::join(&base, id, "conductor");
    conductor.send(&keyboardia_core::protocol::ClientMessage::Play);
    std::thread::sleep(Duration::from_secs(3));

    // Navigation -> first audible sample, end to end on the page's clock (`performance.now()`,
    // 0 at navigation start): a script clicks Start the moment the page shows it (a user who
    // clicks at once; `element.click()` needs no WebDriver round trip, which takes ~0.4 s while
    // the editor redraws), and the worklet reports the first frame it wrote that is not silent,
    // converted to the local time at which it leaves the speakers. The first load is cold (the
    // browser's cache is empty), the others warm (the hashed assets are cached for a year).
    let browser = Browser::start(BrowserOptions::default());
    let mut starts = Vec::new();
    for _ in 0..4 {
        browser.goto(&format!("{base}/s/{id}"));
        let v = browser.js_async(
            r#"const done = arguments[arguments.length - 1];
            const start = document.getElementById('start');
            let clicked = null, late = false;
            const click = () => {
              if (clicked !== null) return;
              start.addEventListener('click', (e) => { clicked = e.timeStamp; }, {once: true});
              start.click();
              waitAudible();
            };
            const waitAudible = () => {
              const a = window.keyboardia && window.keyboardia.audio();
              const port = window.keyboardia && window.keyboardia.port();
              if (!a || !port || a.contextToLocalMs === null) { setTimeout(waitAudible, 5); return; }
              port.onmessage = (e) => {
                if (e.data.t !== "status") return;
                if (e.data.firstAudible < 0) { setTimeout(() => port.postMessage({t: "status"}), 5); return; }
                const ctxMs = e.data.firstAudible / e.data.rate * 1000;
                const at = (name) => {
                  const e = performance.getEntriesByName(name);
                  return e.length ? e[0].startTime : null;
                };
                const wasm = performance.getEntriesByType('resource')
                  .find((r) => r.name.includes('/keyboardia-web-') && r.name.endsWith('.wasm'));
                done([at('keyboardia-start-shown'), clicked,
                      window.keyboardia.audio().contextToLocalMs + ctxMs, late,
                      wasm ? wasm.responseEnd : null, at('keyboardia-audio-ready'),
                      at('keyboardia-model-sent')]);
              };
              port.postMessage({t: "status"});
            };
            if (!start.hidden) { late = true; click(); }
            else new MutationObserver(() => { if (!start.hidden) click(); })
              .observe(start, {attributes: true, attributeFilter: ['hidden']});"#,
        );
        starts.push(Start {
            shown: v[0].as_f64().expect("Start shown"),
            clicked: v[1].as_f64().expect("Start clicked"),
            audible: v[2].as_f64().expect("first audible time"),
            late: v[3] == true,
            wasm_loaded: v[4].as_f64().unwrap_or(f64::NAN),
            audio_ready: v[5].as_f64().unwrap_or(f64::NAN),
            model_sent: v[6].as_f64().unwrap_or(f64::NAN),
        });
    }
    let ms = |f: &dyn Fn(&Start) -> f64| starts.iter().map(|s| f(s).round()).collect::<Vec<_>>();
    println!(
        "navigation -> first audible sample, end to end on the page's clock: cold {:.0} ms, warm {:?} ms (target <= 1500 ms)",
        starts[0].audible,
        &ms(&|s| s.audible)[1..]
    );
    println!(
        "  navigation -> Start shown: {:?} ms; Start shown -> clicked: {:?} ms; click -> first audible sample: {:?} ms",
        ms(&|s| s.shown),
        ms(&|s| s.clicked - s.shown),
        ms(&|s| s.audible - s.clicked)
    );
    println!(
        "  navigation -> app wasm downloaded: {:?} ms; click -> audio graph up: {:?} ms; audio up -> first server-time model: {:?} ms; model -> first audible sample: {:?} ms",
        ms(&|s| s.wasm_loaded),
        ms(&|s| s.audio_ready - s.clicked),
        ms(&|s| s.model_sent - s.audio_ready),
        ms(&|s| s.audible - s.model_sent)
    );
    if starts.iter().any(|s| s.late) {
        println!("  (Start showed before the harness's script was in the page on some loads: those clicks came late, the figure is an upper bound)");
    }

    // The worklet's CPU on the dense pattern, measured inside the worklet scope.
    let dense = keyboardia_engine::bench_patterns::dense(&keyboardia_engine::bench_patterns::A);
    let json = serde_json::to_string(&dense).unwrap();
    let blocks = 3_000;
    let v = browser.js_async(&format!(
        r#"const done = arguments[arguments.length - 1];
        const port = window.keyboardia.port();
        port.onmessage = (e) => {{ if (e.data.t === "bench") done(e.data); }};
        port.postMessage({{t: "bench", json: {json:?}, blocks: {blocks}}});"#
    ));
    let ms = v["ms"].as_f64().unwrap();
    assert_eq!(
        v["blocks"].as_u64(),
        Some(blocks as u64),
        "the worklet rendered the pattern"
    );
    let rate = v["rate"].as_f64().unwrap();
    let period_ms = 128.0 / rate * 1000.0;
    println!(
        "worklet CPU, dense 16-track pattern A: {:.3} ms per 128-frame block = {:.1} % of the audio period ({:.2} ms at {} Hz)",
        ms / blocks as f64,
        100.0 * ms / blocks as f64 / period_ms,
        period_ms,
        rate
    );

    // Clock offset error against ground truth, the browser client and the native one (sync/,
    // the plugin's) side by side, sampled together for 20 s. On loopback wrangler dev's
    // `Date.now()` (what the room stamps its pongs with) and both clients read this machine's
    // wall clock, so the true offset of each client's local clock is known:
    // - the page's local clock is `performance.now()`; the truth is `Date.now() -
    //   performance.now()`. `Date.now()` counts whole ms (floor), so one reading is up to 1 ms
    //   below the truth: the page takes the largest of ~2,000 readings over 2 ms.
    // - the native client's local clock is its `LocalClock`; the truth is the wall clock (in
    //   µs) minus it.
    let mut native = Player::start(&base, id, "native", SessionState::default(), vec![]);
    wait_until("the native client joins", &mut [&mut native], |p| {
        p[0].joined
    });
    let native_clock = native.sync.clock().clone();
    std::thread::sleep(Duration::from_secs(3));
    let (mut page_err, mut native_err) = (Vec::new(), Vec::new());
    let mut rtts = Vec::new();
    for _ in 0..200 {
        std::thread::sleep(Duration::from_millis(100));
        let v = browser.js("const s = JSON.parse(window.keyboardia.status()); \
             let truth = -Infinity; const end = performance.now() + 2; \
             for (let i = 0; i < 100000 && performance.now() < end; i++) \
               truth = Math.max(truth, Date.now() - performance.now()); \
             return [s.clockOffsetMs, truth, s.clockRttMs];");
        if let (Some(est), Some(truth), Some(rtt)) = (v[0].as_f64(), v[1].as_f64(), v[2].as_f64()) {
            page_err.push((est - truth).abs());
            rtts.push(rtt);
        }
        if let Some(c) = native_clock.read() {
            native_err.push((c.offset_ms - (unix_ms() - native_clock.local().now_ms())).abs());
        }
    }
    let line = |who: &str, e: &mut Vec<f64>| {
        println!(
            "clock offset error vs ground truth, {who}: p50 {:.3} ms  p99 {:.3} ms  max {:.3} ms ({} samples; target p99 <= 1 ms, the same as native)",
            percentile(e, 0.5),
            percentile(e, 0.99),
            e.iter().copied().fold(0.0, f64::max),
            e.len()
        )
    };
    line("browser client", &mut page_err);
    line("native client ", &mut native_err);
    println!(
        "  (the browser client's trusted round trip: p50 {:.2} ms)",
        percentile(&mut rtts, 0.5)
    );
    drop(native);
    conductor.close();
}
