//! Recording from the microphone in a real headless Chromium: with Chromium's fake capture
//! device a held Record makes a take that goes onto the grid and is shared with the session
//! (the server holds its sound); with the permission refused, the page says so and keeps
//! working.

use std::time::Duration;

use keyboardia_core::Instrument;
use keyboardia_tests::browser::{web_server, Browser, BrowserOptions};
use keyboardia_tests::onsets::four_on_the_floor;
use keyboardia_tests::players::create_session;

fn joined(browser: &Browser, base: &str, id: keyboardia_core::SessionId) {
    browser.goto(&format!("{base}/s/{id}"));
    browser.wait_for(
        "window.keyboardia && JSON.parse(window.keyboardia.status()).joined",
        Duration::from_secs(30),
    );
}

#[test]
fn a_take_from_the_fake_microphone_goes_onto_the_grid_and_to_the_server() {
    let server = web_server();
    let base = server.base_url();
    let id = create_session(&base, &four_on_the_floor());
    let browser = Browser::start(BrowserOptions {
        fake_microphone: true,
        ..BrowserOptions::default()
    });
    joined(&browser, &base, id);
    browser.click("#start");
    browser.wait_for("window.keyboardia.port()", Duration::from_secs(15));

    browser.js("window.keyboardia.hold(true);");
    browser.wait_for(
        "JSON.parse(window.keyboardia.status()).recording",
        Duration::from_secs(10),
    );
    std::thread::sleep(Duration::from_millis(1_500));
    browser.js("window.keyboardia.hold(false);");
    browser.wait_for(
        "JSON.parse(window.keyboardia.status()).takes === 1",
        Duration::from_secs(10),
    );
    let track = browser.js("return window.keyboardia.addTake();");
    let track = track.as_str().expect("a track id");
    assert!(!track.starts_with("error"), "{track}");

    let state = browser.state();
    let t = state
        .tracks
        .iter()
        .find(|t| t.id.to_string() == track)
        .expect("the take's track");
    assert_eq!(t.name, "Take 1");
    let Instrument::Sample(sample) = &t.instrument else {
        panic!("the take's track plays {:?}", t.instrument);
    };
    // Shared: the server holds the sound (uploaded under its content id) and the room the track.
    let http = server.http("10.8.0.1");
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    let wav = loop {
        let r = http.request(
            "GET",
            &keyboardia_core::api::sample_path(id, sample),
            &[],
            None,
        );
        if r.status == 200 {
            break r.body;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the take never reached the server"
        );
        std::thread::sleep(Duration::from_millis(200));
    };
    let decoded = keyboardia_core::audio::decode_wav(&wav).expect("a WAV");
    let secs = decoded.frames.len() as f64 / decoded.sample_rate_hz as f64;
    assert!((1.0..=5.0).contains(&secs), "a take of {secs} s");
    assert!(
        decoded.frames.iter().any(|x| x.abs() > 0.01),
        "the fake device's sound is in the take"
    );
    // The room holds the track (a fresh player's snapshot; REST reads the saved copy, which
    // lags the live room).
    let fresh = keyboardia_tests::server::LiveClient::join(&base, id, "fresh");
    let room = &fresh.snapshot.as_ref().expect("a snapshot").session.state;
    assert!(room.tracks.iter().any(|t| t.id.to_string() == track));
    fresh.close();
}

#[test]
fn a_refused_microphone_is_reported_and_the_page_keeps_working() {
    let server = web_server();
    let base = server.base_url();
    let id = create_session(&base, &four_on_the_floor());
    let browser = Browser::start(BrowserOptions {
        deny_permissions: true,
        ..BrowserOptions::default()
    });
    joined(&browser, &base, id);
    browser.click("#start");
    browser.wait_for("window.keyboardia.port()", Duration::from_secs(15));
    browser.js("window.keyboardia.hold(true);");
    let error = browser.wait_for(
        "JSON.parse(window.keyboardia.status()).error",
        Duration::from_secs(10),
    );
    let error = error.as_str().unwrap();
    assert!(
        error.contains("Microphone permission was refused"),
        "{error}"
    );
    let s = browser.status();
    assert_eq!(s["recording"], false);
    assert_eq!(s["takes"], 0);
    // Still in the session and editing.
    browser.js("return window.keyboardia.setStep(0, 1, true);");
    browser.wait_for(
        "JSON.parse(window.keyboardia.status()).pending === 0",
        Duration::from_secs(10),
    );
    assert!(browser.state().tracks[0].steps[1].on);
    assert_eq!(s["joined"], true);
}
