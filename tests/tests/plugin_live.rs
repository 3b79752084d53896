//! Two Keyboardia plugins in a real CLAP host, joined to one live session on the real Worker
//! (through their saved state, as a DAW project would), in session-clock mode: one "play" for
//! the session, and both render the beat at the same moments. Edits made through one plugin's
//! session reach the other's audio.

use std::time::{Duration, Instant};

use keyboardia_core::protocol::ClientMessage;
use keyboardia_core::{Op, SessionId, Track};
use keyboardia_tests::clap_host::{clap_bundle_path, BundleKind, ClapPlugin};
use keyboardia_tests::onsets::{four_on_the_floor, hits};
use keyboardia_tests::players::{create_session, unix_ms};
use keyboardia_tests::server::{LiveClient, Server};

const SR: f64 = 48_000.0;
const BLOCK: usize = 512;

/// A plugin joined to `session` through its saved state, in session-clock mode.
fn joined_plugin(base: &str, session: SessionId, name: &str) -> ClapPlugin {
    let path = clap_bundle_path(BundleKind::Release);
    let mut p = ClapPlugin::load(&path, "dev.keyboardia.sequencer", SR, BLOCK);
    // nice-plug's CLAP state: a little-endian u64 length, then JSON whose persisted fields are
    // JSON strings.
    let saved = p.save_state();
    let len = u64::from_le_bytes(saved[..8].try_into().unwrap()) as usize;
    let mut state: serde_json::Value = serde_json::from_slice(&saved[8..8 + len]).unwrap();
    let joined =
        serde_json::json!({ "server": base, "session": session, "name": name, "pending": [] });
    state["fields"]["live"] = serde_json::Value::String(joined.to_string());
    let json = serde_json::to_vec(&state).unwrap();
    let mut bytes = (json.len() as u64).to_le_bytes().to_vec();
    bytes.extend(json);
    p.load_state(&bytes);
    // The host restarts its engine after loading the project: the plugin joins.
    p.reactivate();
    p
}

/// Processes both plugins block by block at the pace of a real audio device for `secs`,
/// returning each one's left channel and the wall-clock time of its first frame.
fn render_live(
    plugins: &mut [&mut ClapPlugin],
    secs: f64,
    clock_param: Option<f64>,
) -> Vec<(Vec<f32>, f64)> {
    let blocks = (secs * SR / BLOCK as f64) as usize;
    let mut out: Vec<(Vec<f32>, f64)> = plugins.iter().map(|_| (Vec::new(), 0.0)).collect();
    let start = Instant::now();
    let wall0 = unix_ms();
    for k in 0..blocks {
        let due = start + Duration::from_secs_f64(k as f64 * BLOCK as f64 / SR);
        if let Some(wait) = due.checked_duration_since(Instant::now()) {
            std::thread::sleep(wait);
        }
        for (i, p) in plugins.iter_mut().enumerate() {
            let params: Vec<(u32, clack_host::prelude::ClapId, f64)> = match clock_param {
                Some(v) if k == 0 => vec![(0, p.param_id("Clock"), v)],
                _ => vec![],
            };
            let b = p.process(BLOCK, None, &[], &params);
            out[i].0.extend_from_slice(&b.left);
        }
    }
    for o in out.iter_mut() {
        o.1 = wall0;
    }
    out
}

#[test]
fn two_plugins_in_one_session_play_in_time() {
    let server = Server::start();
    let base = server.base_url();
    let id = create_session(&base, &four_on_the_floor());

    let mut a = joined_plugin(&base, id, "Ada");
    // The second player opens the project later.
    std::thread::sleep(Duration::from_millis(700));
    let mut b = joined_plugin(&base, id, "Bob");
    // Select the session clock ("Clock" is an enum: Host, Internal, Session) and let the clocks
    // settle while rendering silence (nobody pressed play yet).
    let session_clock = a.param_range("Clock").2;
    let quiet = render_live(&mut [&mut a, &mut b], 3.0, Some(session_clock));
    // Until the session answers, session mode plays alone on the internal clock; once joined,
    // it follows the session's timeline, which is stopped.
    let tail = (1.5 * SR) as usize;
    for (l, _) in &quiet {
        let last = &l[l.len() - tail..];
        assert!(
            last.iter().all(|v| v.abs() < 1e-3),
            "silent once joined, before play"
        );
    }

    // One player presses play for everybody (here through a third client of the room).
    let mut c = LiveClient::join(&base, id, "conductor");
    c.send(&ClientMessage::Play);
    let played = render_live(&mut [&mut a, &mut b], 2.5, None);
    let onsets: Vec<Vec<f64>> = played
        .iter()
        .map(|(l, wall0)| {
            hits(l)
                .into_iter()
                .map(|i| wall0 + i as f64 * 1000.0 / SR)
                .collect()
        })
        .collect();
    assert!(onsets[0].len() >= 3, "A played {:?}", onsets[0]);
    assert_eq!(onsets[0].len(), onsets[1].len(), "{onsets:?}");
    let worst = onsets[0]
        .iter()
        .zip(&onsets[1])
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f64::max);
    println!(
        "{} beats, worst misalignment between the two plugins {worst:.3} ms",
        onsets[0].len()
    );
    assert!(worst <= 1.0, "{onsets:?}");
    // Beats are 500 ms apart.
    for w in onsets[0].windows(2) {
        assert!((w[1] - w[0] - 500.0).abs() < 2.0, "{onsets:?}");
    }

    // An edit through the session (a snare on the off-beats) reaches both plugins' audio.
    c.edit(Op::AddTrack {
        track: Box::new({
            let mut t = Track::new("snare".parse().unwrap(), "Snare", "snare".parse().unwrap());
            for s in [2, 6, 10, 14] {
                t.steps[s].on = true;
            }
            t
        }),
        index: None,
    });
    std::thread::sleep(Duration::from_millis(300));
    let after = render_live(&mut [&mut a, &mut b], 1.5, None);
    for (l, _) in &after {
        assert!(
            hits(l).len() >= 5,
            "kick and snare both play: {} hits",
            hits(l).len()
        );
    }
    c.close();
}
