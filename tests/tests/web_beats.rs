//! The beat page `/b/{id}` in a real headless Chromium, served by the real Worker under
//! `wrangler dev` (issue 15): it shows the beat read-only with its samples fetched, plays (the
//! worklet's output is not silent), a click on the grid changes nothing (locally or on the
//! server), its exports (rendered in the browser by the worklet's engine module) are the native
//! renderer's files (MIDI byte for byte; WAV with the same header and length, its samples equal
//! up to the platforms' rounding of exp/sin/cos), and Remix opens an editable session whose
//! `remixedFrom` is the beat, where the app's Publish adds to the session's history.

use std::time::{Duration, Instant};

use base64::Engine as _;
use keyboardia_core::api;
use keyboardia_core::audio::{decode_wav, encode_wav_pcm16};
use keyboardia_core::beat::Beat;
use keyboardia_core::{Instrument, SampleId, SessionState, Track};
use keyboardia_engine::midi::{self, MidiOptions};
use keyboardia_engine::render::{bounce_wav_to, Length, RenderOptions, Renderer};
use keyboardia_engine::{EnginePattern, SampleBuffer};
use keyboardia_tests::browser::{web_server, Browser, BrowserOptions};
use serde_json::Value;

/// The beats hook's status, parsed.
fn beats_status(browser: &Browser) -> Value {
    let text = browser.js("return window.keyboardia.beats.status();");
    serde_json::from_str(text.as_str().expect("status text")).expect("status JSON")
}

/// Runs a hook returning a promise; its value (panics with the rejection).
fn await_hook(browser: &Browser, call: &str) -> Value {
    let v = browser.js_async(&format!(
        r#"
        const done = arguments[arguments.length - 1];
        Promise.resolve({call}).then((v) => {{
          if (v instanceof Uint8Array) {{
            let s = "";
            for (let i = 0; i < v.length; i += 8192) {{
              s += String.fromCharCode.apply(null, v.subarray(i, i + 8192));
            }}
            done({{ ok: btoa(s) }});
          }} else {{
            done({{ ok: v }});
          }}
        }}, (e) => done({{ err: String(e) }}));
        "#
    ));
    assert!(v["err"].is_null(), "{call} failed: {}", v["err"]);
    v["ok"].clone()
}

fn bytes_of(v: &Value) -> Vec<u8> {
    base64::engine::general_purpose::STANDARD
        .decode(v.as_str().expect("base64 bytes"))
        .expect("base64")
}

/// The WAV `keyboardia-render` writes for `bars` bars of `state`, its one sample track
/// playing `wav`.
fn native_wav(state: &SessionState, sample: &SampleId, wav: &[u8], bars: f64) -> Vec<u8> {
    let opts = RenderOptions::default();
    let pattern = EnginePattern::from_state(state, |id| (id == sample).then_some(0));
    let frames = Length::Bars(bars)
        .frames(&pattern, opts.sample_rate_hz)
        .unwrap();
    let mut renderer = Renderer::new(&pattern, &opts, frames);
    let decoded = decode_wav(wav).unwrap();
    renderer.set_sample(
        0,
        Some(std::sync::Arc::new(SampleBuffer {
            frames: decoded.frames.into_boxed_slice(),
            sample_rate_hz: decoded.sample_rate_hz as f32,
        })),
    );
    let mut out = std::io::Cursor::new(Vec::new());
    bounce_wav_to(&mut out, renderer, |_| {}).unwrap();
    out.into_inner()
}

#[test]
fn the_beat_page_plays_read_only_exports_and_remixes() {
    let server = web_server();
    let base = server.base_url();
    let http = server.http("10.6.0.1");

    // A session playing the demo and a shared sample, published as a beat.
    let session = http.create_session();
    let id = session.id.to_string();
    let wav = encode_wav_pcm16(
        22_050,
        1,
        &(0..8_000)
            .map(|i| ((i as f32 * 0.07).sin() * 14_000.0 * (-(i as f32) / 3_000.0).exp()) as i16)
            .collect::<Vec<_>>(),
    )
    .unwrap();
    let up = http.upload(&id, "audio/wav", "blip", &wav);
    assert_eq!(up.status, 201, "{}", up.text());
    let sample: SampleId = up.json()["id"].as_str().unwrap().parse().unwrap();
    let mut state = SessionState {
        seed: session.state.seed,
        ..SessionState::demo()
    };
    let mut blip = Track::new(
        "blip".parse().unwrap(),
        "blip",
        Instrument::Sample(sample.clone()),
    );
    for s in [2, 6, 10, 14] {
        blip.steps[s].on = true;
    }
    state.tracks.push(blip);
    let put = http.put(&id, &serde_json::to_vec(&state).unwrap());
    assert_eq!(put.status, 200, "{}", put.text());
    let published = http.request(
        "POST",
        &api::session_beats_path(&id),
        &[],
        Some(br#"{"name":"Friday"}"#),
    );
    assert_eq!(published.status, 201, "{}", published.text());
    let beat: Beat = serde_json::from_slice(&published.body).unwrap();
    let beat_path = api::beat_path(beat.id);

    // The page shows it read-only, fetches its sample and finds its source session.
    let browser = Browser::start(BrowserOptions::default());
    browser.goto(&format!("{base}/b/{}", beat.id));
    browser.wait_for(
        "window.keyboardia && window.keyboardia.beats && \
         JSON.parse(window.keyboardia.beats.status()).viewing",
        Duration::from_secs(60),
    );
    let s = beats_status(&browser);
    assert_eq!(s["viewing"]["name"], "Friday");
    assert_eq!(
        s["openInApp"],
        format!("keyboardia:{base}/b/{}", beat.id),
        "Open in Keyboardia"
    );
    browser.wait_for(
        &format!("JSON.parse(window.keyboardia.status()).samples.includes('{sample}')"),
        Duration::from_secs(20),
    );
    browser.wait_for(
        "JSON.parse(window.keyboardia.beats.status()).viewing.sourceLink",
        Duration::from_secs(20),
    );
    assert_eq!(browser.state(), beat.state);
    assert_eq!(
        browser.status()["connection"],
        "none",
        "a beat page opens no socket"
    );

    // A click on an off step, a drag and keys change nothing, locally or on the server.
    let kick_off = (0..16)
        .find(|&s| !beat.state.tracks[0].steps[s].on)
        .unwrap();
    let cell = browser.wait_for(
        &format!("window.keyboardia.cell(0, {kick_off})"),
        Duration::from_secs(20),
    );
    let r: Vec<f64> = cell
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect();
    browser.click_at(r[0] + r[2] / 2.0, r[1] + r[3] / 2.0);
    browser.js("document.querySelector('canvas').dispatchEvent(new KeyboardEvent('keydown', {key: 'Delete', bubbles: true}));");
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(browser.state(), beat.state, "the grid is not editable");
    let after = http.request("GET", &beat_path, &[], None);
    assert!(
        after.body == published.body,
        "the beat on the server is unchanged"
    );

    // It plays: Start unlocks sound and the worklet's output is not silent.
    browser.click("#start");
    browser.wait_for("window.keyboardia.port()", Duration::from_secs(20));
    let peak = await_hook(
        &browser,
        r#"new Promise((resolve) => {
          const port = window.keyboardia.port();
          const frames = Math.round(2 * window.keyboardia.audio().rate);
          port.onmessage = (e) => {
            const d = e.data;
            if (d.t !== "captured") return;
            if (!d.done) { setTimeout(() => port.postMessage({ t: "captured" }), 100); return; }
            let peak = 0;
            for (const x of d.left) peak = Math.max(peak, Math.abs(x));
            resolve(peak);
          };
          port.postMessage({ t: "capture", frames });
          setTimeout(() => port.postMessage({ t: "captured" }), 100);
        })"#,
    );
    let peak = peak.as_f64().unwrap();
    assert!(peak > 0.05, "the beat page plays (peak {peak})");

    // Exports rendered in the browser are the native renderer's files, byte for byte.
    // (The engine's exp/sin/cos are the platform's: Rust's libm on wasm32, glibc here. They
    // round differently in the last bit now and then, so a few samples differ by about 1e-7.)
    let got_wav = bytes_of(&await_hook(
        &browser,
        "window.keyboardia.beats.export('wav', 1)",
    ));
    let want_wav = native_wav(&beat.state, &sample, &wav, 1.0);
    assert_eq!(got_wav.len(), want_wav.len(), "the WAV's length");
    assert!(got_wav[..44] == want_wav[..44], "the WAV's header");
    let floats = |b: &[u8]| -> Vec<f32> {
        b[44..]
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect()
    };
    let (got, want) = (floats(&got_wav), floats(&want_wav));
    let differing = got.iter().zip(&want).filter(|(a, b)| a != b).count();
    let worst = got
        .iter()
        .zip(&want)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0f32, f32::max);
    eprintln!(
        "WAV export: {differing} of {} samples differ, by at most {worst:e}",
        got.len()
    );
    assert!(
        worst <= 1e-6 && differing * 100 <= got.len(),
        "the browser's WAV is not keyboardia-render's: {differing} samples differ, by up to {worst}"
    );
    assert!(
        want.iter().any(|x| x.abs() > 0.05),
        "the export is not silent"
    );
    let got_mid = bytes_of(&await_hook(
        &browser,
        "window.keyboardia.beats.export('mid', 4)",
    ));
    let native_mid = midi::export(&beat.state, Length::Bars(4.0), &MidiOptions::default()).unwrap();
    assert!(
        got_mid == native_mid,
        "the browser's MIDI is not keyboardia-render's"
    );

    // Remix opens an editable session whose lineage names the beat.
    let remixed = await_hook(&browser, "window.keyboardia.beats.remix()");
    let remixed = remixed.as_str().unwrap().to_owned();
    browser.wait_for(
        &format!(
            "location.pathname === '/s/{remixed}' && window.keyboardia && \
             JSON.parse(window.keyboardia.status()).joined"
        ),
        Duration::from_secs(60),
    );
    assert_eq!(
        http.get(&remixed).session().remixed_from,
        Some(beat.id),
        "remixedFrom"
    );
    let cell = browser.wait_for(
        &format!("window.keyboardia.cell(0, {kick_off})"),
        Duration::from_secs(20),
    );
    let r: Vec<f64> = cell
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect();
    browser.click_at(r[0] + r[2] / 2.0, r[1] + r[3] / 2.0);
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let on = http.get(&remixed).session().state.tracks[0].steps[kick_off].on;
        if on && browser.state().tracks[0].steps[kick_off].on {
            break;
        }
        assert!(Instant::now() < deadline, "the remix is editable");
        std::thread::sleep(Duration::from_millis(100));
    }

    // The app publishes the remix; its history lists it.
    let link = await_hook(&browser, "window.keyboardia.beats.publish('Saturday')");
    assert!(link.as_str().unwrap().contains("/b/"), "{link}");
    let history = beats_status(&browser)["history"].clone();
    assert!(
        history
            .as_array()
            .unwrap()
            .iter()
            .any(|b| b["name"] == "Saturday"),
        "{history}"
    );
}
