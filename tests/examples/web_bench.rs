//! The browser app's benchmark (prints numbers; not a test): gzip sizes of the app's wasm and of
//! the worklet's engine, time from navigation to the first audible sample after Start on
//! loopback, the worklet's CPU for the dense 16-track bench pattern as % of the audio period,
//! and the browser client's clock offset against the server.
//!
//! `cargo run -p keyboardia-tests --example web_bench` (the harness only drives the browser:
//! what it measures runs in Chromium, so a debug build of it is fine)

use std::process::Command;
use std::time::Duration;

use keyboardia_core::{SessionState, Track};
use keyboardia_tests::browser::{ensure_web_built, web_server, Browser, BrowserOptions};
use keyboardia_tests::players::create_session;
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

/// One Start, on the page's clock (ms since navigation).
struct Start {
    /// Start became visible (the page's performance mark).
    shown: f64,
    /// The harness issued the WebDriver click.
    issued: f64,
    /// The page's click event fired.
    clicked: f64,
    /// The first audible sample left the speakers.
    audible: f64,
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

    let browser = Browser::start(BrowserOptions::default());
    let mut starts = Vec::new();
    for _ in 0..3 {
        browser.goto(&format!("{base}/s/{id}"));
        browser.wait_for(
            "!document.getElementById('start').hidden",
            Duration::from_secs(30),
        );
        // The page's own times: when Start was shown, and when its click event fired (a
        // WebDriver command waits for the page's main thread, so the harness's clock would add
        // its own latency: each round trip takes ~0.4 s while the editor redraws).
        browser.js(
            "window.__clicked = null; document.addEventListener('click', (e) => { \
             if (window.__clicked === null) window.__clicked = e.timeStamp; }, true);",
        );
        let issued = browser.js("return performance.now();").as_f64().unwrap();
        browser.click("#start");
        let v = browser.js_async(
            r#"const done = arguments[arguments.length - 1];
            const poll = () => {
              const a = window.keyboardia.audio();
              const port = window.keyboardia.port();
              if (!a || !port || a.contextToLocalMs === null) { setTimeout(poll, 20); return; }
              port.onmessage = (e) => {
                if (e.data.t !== "status") return;
                if (e.data.firstAudible < 0) { setTimeout(() => port.postMessage({t: "status"}), 20); return; }
                const ctxMs = e.data.firstAudible / e.data.rate * 1000;
                const a2 = window.keyboardia.audio();
                done(a2.contextToLocalMs + ctxMs);
              };
              port.postMessage({t: "status"});
            };
            poll();"#,
        );
        let t = browser.js(
            "return [performance.getEntriesByName('keyboardia-start-shown')[0].startTime, \
             window.__clicked];",
        );
        let (shown, clicked) = (t[0].as_f64().unwrap(), t[1].as_f64().unwrap());
        starts.push(Start {
            shown,
            issued,
            clicked,
            audible: v.as_f64().expect("first audible time"),
        });
    }
    let ms = |f: &dyn Fn(&Start) -> f64| starts.iter().map(|s| f(s).round()).collect::<Vec<_>>();
    let at_once = |s: &Start| s.shown + (s.audible - s.clicked);
    println!(
        "navigation -> first audible sample, Start clicked the moment it shows: {:?} ms, best {:.0} ms (target <= 1500 ms)",
        ms(&at_once),
        starts.iter().map(at_once).fold(f64::INFINITY, f64::min)
    );
    println!(
        "  navigation -> Start shown: {:?} ms; Start's click event -> first audible sample: {:?} ms",
        ms(&|s| s.shown),
        ms(&|s| s.audible - s.clicked)
    );
    println!(
        "  (the harness: WebDriver click issued -> click event in the page: {:?} ms; as the harness sees it, navigation -> first audible: {:?} ms)",
        ms(&|s| s.clicked - s.issued),
        ms(&|s| s.audible)
    );

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

    // The browser client's clock offset against the server: the estimate sampled for 20 s
    // (its spread), and the round trip of the samples it trusts (the error bound).
    let mut offsets = Vec::new();
    let mut rtts = Vec::new();
    for _ in 0..40 {
        std::thread::sleep(Duration::from_millis(500));
        let s = browser.status();
        if let (Some(o), Some(r)) = (s["clockOffsetMs"].as_f64(), s["clockRttMs"].as_f64()) {
            offsets.push(o);
            rtts.push(r);
        }
    }
    let median = percentile(&mut offsets.clone(), 0.5);
    let mut dev: Vec<f64> = offsets.iter().map(|o| (o - median).abs()).collect();
    println!(
        "browser clock offset: p99 deviation from its median {:.3} ms, max {:.3} ms over {} samples; trusted round trip p50 {:.2} ms (error bound rtt/2)",
        percentile(&mut dev, 0.99),
        dev.iter().copied().fold(0.0, f64::max),
        offsets.len(),
        percentile(&mut rtts, 0.5)
    );
    conductor.close();
}
