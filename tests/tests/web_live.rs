//! The browser app in a real headless Chromium, served by the real Worker under `wrangler dev`,
//! in one live session with a CLAP plugin in a real host: the page joins as soon as it loads,
//! shows in the room's presence, a step clicked in the page (a real pointer click where the
//! page says the cell is) reaches the plugin, a touch tap toggles a step, and an edit made in
//! the plugin (a recorded take added to the grid) shows in the page, its sound downloaded and
//! decoded there. Then the server goes away and comes back: the page recovers and the edits
//! made offline merge.

use keyboardia_core::PatternId;
use std::time::{Duration, Instant};

use keyboardia_core::protocol::ServerMessage;
use keyboardia_core::{Instrument, SessionId};
use keyboardia_tests::browser::{web_server, Browser, BrowserOptions};
use keyboardia_tests::clap_host::{clap_bundle_path, BundleKind, ClapPlugin, Transport};
use keyboardia_tests::onsets::four_on_the_floor;
use keyboardia_tests::players::create_session;
use keyboardia_tests::saved_state;
use keyboardia_tests::server::LiveClient;

const SR: f64 = 48_000.0;
const BLOCK: usize = 512;
const STOPPED: Transport = Transport {
    playing: false,
    tempo_bpm: 120.0,
    beat: 0.0,
};

/// A plugin joined to `session` through its saved state (as a DAW project would).
fn joined_plugin(base: &str, session: SessionId, name: &str) -> ClapPlugin {
    let path = clap_bundle_path(BundleKind::Release);
    let mut p = ClapPlugin::load(&path, "dev.keyboardia.sequencer", SR, BLOCK);
    let mut state = saved_state::parse(&p.save_state());
    let joined =
        serde_json::json!({ "server": base, "session": session, "name": name, "pending": [] });
    state["fields"]["live"] = serde_json::Value::String(joined.to_string());
    p.load_state(&saved_state::to_bytes(&state));
    p.reactivate();
    p
}

fn saved_session(p: &mut ClapPlugin) -> keyboardia_core::SessionState {
    let saved = saved_state::parse(&p.save_state());
    serde_json::from_str(&saved_state::field(&saved, "session")).unwrap()
}

/// Runs the plugin's host (transport stopped) until `done` or the timeout.
fn idle_until(p: &mut ClapPlugin, what: &str, mut done: impl FnMut(&mut ClapPlugin) -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !done(p) {
        let _ = p.process(BLOCK, Some(STOPPED), &[], &[]);
        std::thread::sleep(Duration::from_millis(10));
        assert!(Instant::now() < deadline, "timed out: {what}");
    }
}

/// What the plugin records: three 1 kHz bursts a quarter second apart.
fn bursts(frame: usize) -> f32 {
    let t = (frame % 12_000) as f32 / SR as f32;
    if frame >= 36_000 {
        return 0.0;
    }
    (t * 2.0 * std::f32::consts::PI * 1_000.0).sin() * 0.8 * (-t * 30.0).exp()
}

/// The centre of the kick's `step` cell, in CSS pixels, where the page drew it.
fn cell_centre(browser: &Browser, step: u8) -> (f64, f64) {
    let cell = browser.wait_for(
        &format!("window.keyboardia.cell(0, {step})"),
        Duration::from_secs(10),
    );
    let r: Vec<f64> = cell
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect();
    (r[0] + r[2] / 2.0, r[1] + r[3] / 2.0)
}

/// Waits until the page's kick has `step` set to `on`.
fn wait_step(browser: &Browser, step: usize, on: bool, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(5);
    while browser.state().tracks[0].steps[step].on != on {
        assert!(Instant::now() < deadline, "{what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn a_page_and_a_plugin_edit_one_session() {
    let server = web_server();
    let base = server.base_url();
    let id = create_session(&base, &four_on_the_floor());
    let mut watcher = LiveClient::join(&base, id, "watcher");

    let browser = Browser::start(BrowserOptions::default());
    browser.goto(&format!("{base}/s/{id}"));
    // Joined before any click: the grid holds the session, and the room sees the player.
    browser.wait_for(
        "window.keyboardia && JSON.parse(window.keyboardia.status()).joined",
        Duration::from_secs(30),
    );
    let kick = &browser.state().tracks[0];
    let on: Vec<usize> = (0..16).filter(|s| kick.steps[*s].on).collect();
    assert_eq!(on, [0, 4, 8, 12]);
    watcher.set_timeout(Some(Duration::from_secs(10)));
    watcher.recv_until(|m| matches!(m, ServerMessage::Join { player } if player.name == "Browser"));
    assert!(
        browser.js("return document.getElementById('start').hidden === false;") == true,
        "the Start control shows"
    );

    let mut plugin = joined_plugin(&base, id, "Ada");
    idle_until(&mut plugin, "the plugin joins", |p| {
        !saved_session(p).tracks.is_empty()
    });
    browser.wait_for(
        "JSON.parse(window.keyboardia.status()).players.some(p => p.name === 'Ada')",
        Duration::from_secs(10),
    );

    // A real pointer click on step 3 of the kick, where the page drew it.
    let (x, y) = cell_centre(&browser, 2);
    browser.click_at(x, y);
    wait_step(&browser, 2, true, "the click did not set step 3");
    // Touch: a tap on step 4 sets it, a second tap clears it (and the page saw a finger, not a
    // mouse).
    browser.js("window.__pointers = []; addEventListener('pointerdown', \
         (e) => window.__pointers.push(e.pointerType), true);");
    let (x, y) = cell_centre(&browser, 3);
    browser.tap_at(x, y);
    wait_step(&browser, 3, true, "a touch tap did not set step 4");
    browser.tap_at(x, y);
    wait_step(
        &browser,
        3,
        false,
        "a second touch tap did not clear step 4",
    );
    assert_eq!(
        browser.js("return window.__pointers;"),
        serde_json::json!(["touch", "touch"])
    );
    idle_until(&mut plugin, "the page's step reaches the plugin", |p| {
        saved_session(p).tracks[0].steps[2].on
    });
    // Through the test hook too (the same op a click sends).
    browser.js("return window.keyboardia.setStep(0, 6, true);");
    idle_until(&mut plugin, "the hook's step reaches the plugin", |p| {
        saved_session(p).tracks[0].steps[6].on
    });

    // An edit made in the plugin: a take recorded through its Input sidechain and added to the
    // grid. The track shows in the page, and the page downloads and decodes its sound.
    let mut pos = 0usize;
    let mut block_with = |p: &mut ClapPlugin, params: &[(&str, f64)]| {
        let l: Vec<f32> = (pos..pos + BLOCK).map(bursts).collect();
        let events: Vec<_> = params.iter().map(|(n, v)| (0, p.param_id(n), *v)).collect();
        let _ = p.process_with_input(BLOCK, Some(STOPPED), &[], &events, Some((&l, &l)));
        pos += BLOCK;
    };
    block_with(&mut plugin, &[("Record", 1.0)]);
    for _ in 0..(72_000 / BLOCK) {
        block_with(&mut plugin, &[]);
    }
    block_with(&mut plugin, &[("Record", 0.0)]);
    block_with(&mut plugin, &[("Add Take to Grid", 1.0)]);
    let deadline = Instant::now() + Duration::from_secs(20);
    let sample = loop {
        // The plugin copies the take out on its audio thread while its background task waits:
        // keep processing at a steady pace between two looks at the page.
        for _ in 0..20 {
            block_with(&mut plugin, &[]);
            std::thread::sleep(Duration::from_millis(5));
        }
        if let Some(t) = browser.state().tracks.iter().find(|t| t.name == "Take 1") {
            match &t.instrument {
                Instrument::Sample(s) => break s.clone(),
                other => panic!("the take's track plays {other:?}"),
            }
        }
        if Instant::now() > deadline {
            let names = |s: &keyboardia_core::SessionState| -> Vec<String> {
                s.tracks.iter().map(|t| t.name.clone()).collect()
            };
            panic!(
                "the plugin's take never reached the page: plugin has {:?}, page has {:?}, page status {}",
                names(&saved_session(&mut plugin)),
                names(&browser.state()),
                browser.status()
            );
        }
    };
    browser.wait_for(
        &format!(
            "JSON.parse(window.keyboardia.status()).samples.includes('{}')",
            sample.as_str()
        ),
        Duration::from_secs(20),
    );
    drop(plugin);
    watcher.close();
}

#[test]
fn the_page_recovers_when_the_server_comes_back_and_offline_edits_merge() {
    let mut server = web_server();
    let base = server.base_url();
    let id = create_session(&base, &four_on_the_floor());
    let browser = Browser::start(BrowserOptions::default());
    browser.goto(&format!("{base}/s/{id}"));
    browser.wait_for(
        "window.keyboardia && JSON.parse(window.keyboardia.status()).joined",
        Duration::from_secs(30),
    );

    server.stop();
    browser.wait_for(
        "!JSON.parse(window.keyboardia.status()).joined",
        Duration::from_secs(10),
    );
    // Edits while offline: applied at once, kept pending.
    browser.js("window.keyboardia.setStep(0, 1, true); window.keyboardia.setStep(0, 0, false);");
    let s = browser.state();
    assert!(s.tracks[0].steps[1].on && !s.tracks[0].steps[0].on);
    assert_eq!(browser.status()["pending"], 2);

    server.restart();
    // Another player edits meanwhile (after the restart, before the page is back).
    let mut other = LiveClient::join(&base, id, "other");
    other.edit(keyboardia_core::Op::SetStep {
        pt: PatternId::A,
        tr: "kick".parse().unwrap(),
        s: 15,
        on: true,
    });
    browser.wait_for(
        "JSON.parse(window.keyboardia.status()).joined && JSON.parse(window.keyboardia.status()).pending === 0",
        Duration::from_secs(30),
    );
    let merged = browser.state();
    let on: Vec<usize> = (0..16).filter(|s| merged.tracks[0].steps[*s].on).collect();
    assert_eq!(
        on,
        [1, 4, 8, 12, 15],
        "offline edits merged with the other's"
    );
    // And the room holds the same (a fresh player's snapshot).
    let fresh = LiveClient::join(&base, id, "fresh");
    let room = &fresh.snapshot.as_ref().expect("a snapshot").session.state;
    assert_eq!(room.tracks[0].steps, merged.tracks[0].steps);
    fresh.close();
    other.close();
}

#[test]
fn an_unknown_session_gets_a_clear_page_and_no_retries() {
    let server = web_server();
    let base = server.base_url();
    let browser = Browser::start(BrowserOptions::default());
    let unknown = "0b3b8d2e-7c1a-4f5e-9a6b-1c2d3e4f5a6b";
    browser.goto(&format!("{base}/s/{unknown}"));
    // Either the Worker answers with its not-found page, or the app meets the API's not_found:
    // both say so clearly, and the page stops trying.
    let text = browser.wait_for(
        "(document.body.innerText.match(/does not exist|expired/i) || [])[0]",
        Duration::from_secs(20),
    );
    assert!(text.is_string());
    let has_app = browser.js("return !!window.keyboardia;") == true;
    if has_app {
        let s = browser.status();
        assert_eq!(s["gone"], true, "{s}");
        let attempts = browser.js("return performance.getEntriesByType('resource').length;");
        std::thread::sleep(Duration::from_secs(3));
        let later = browser.js("return performance.getEntriesByType('resource').length;");
        assert_eq!(
            attempts, later,
            "no more requests once the session is known to be gone"
        );
        assert_eq!(browser.status()["connection"], s["connection"]);
    }
}
