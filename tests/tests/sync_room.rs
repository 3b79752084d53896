//! The sync companion against a real room on loopback: convergence, offline edits, reconnects
//! after a server restart, and clock sync.

use keyboardia_core::PatternId;
use std::time::Duration;

use keyboardia_core::{Op, SessionState, TrackId};
use keyboardia_sync::SyncConfig;
use keyboardia_tests::players::{wait_until, Player};
use keyboardia_tests::room_server::*;

/// Ada and Bob, joined to the room at `base`, both starting from an empty document.
fn two_players(base: &str) -> (Player, Player) {
    let start = |name| {
        Player::start(
            base,
            RoomServer::session().id,
            name,
            SessionState::default(),
            vec![],
        )
    };
    let (mut a, mut b) = (start("Ada"), start("Bob"));
    wait_until("both joined", &mut [&mut a, &mut b], |p| {
        p.iter().all(|p| p.joined)
    });
    (a, b)
}

fn kick() -> TrackId {
    "kick".parse().unwrap()
}

#[test]
fn two_players_edit_one_pattern() {
    let server = RoomServer::start(
        "127.0.0.1:0".parse().unwrap(),
        new_room(RoomServer::session()),
        0.0,
    );
    let (mut a, mut b) = two_players(&server.base_url());
    assert_eq!(
        a.state,
        SessionState::demo(),
        "the snapshot replaced the offline document"
    );
    a.edit(Op::SetStep {
        pt: PatternId::A,
        tr: kick(),
        s: 3,
        on: true,
    });
    b.edit(Op::SetTempo { v: 133.0 });
    let truth = || server.state();
    wait_until("convergence", &mut [&mut a, &mut b], |p| {
        let t = truth();
        t.tempo == 133.0 && t.track(kick()).unwrap().steps[3].on && p.iter().all(|p| p.state == t)
    });
    assert_eq!(server.players(), 2);
}

#[test]
fn offline_edits_survive_a_server_restart() {
    let server = RoomServer::start(
        "127.0.0.1:0".parse().unwrap(),
        new_room(RoomServer::session()),
        0.0,
    );
    let addr = server.addr;
    let base = server.base_url();
    let (mut a, mut b) = two_players(&base);
    a.edit(Op::SetStep {
        pt: PatternId::A,
        tr: kick(),
        s: 1,
        on: true,
    });
    wait_until("ack", &mut [&mut a], |_| {
        server.state().track(kick()).unwrap().steps[1].on
    });

    // The server goes away; both keep editing alone.
    let stored = server.stop();
    wait_until("both offline", &mut [&mut a, &mut b], |p| {
        p.iter().all(|p| !p.joined && p.offline_delays.len() >= 2)
    });
    for s in 8..12 {
        a.edit(Op::SetStep {
            pt: PatternId::A,
            tr: kick(),
            s,
            on: true,
        });
    }
    b.edit(Op::SetSwing { v: 61.0 });
    std::thread::sleep(Duration::from_millis(300));

    // It comes back on the same address with what it had stored.
    let server = RoomServer::start(addr, stored, 0.0);
    wait_until("rejoined and converged", &mut [&mut a, &mut b], |p| {
        let t = server.state();
        p.iter().all(|p| p.joined && p.state == t)
            && t.swing == 61.0
            && (8..12).all(|s| t.track(kick()).unwrap().steps[s].on)
            && t.track(kick()).unwrap().steps[1].on
    });
    wait_until("nothing pending", &mut [&mut a], |p| {
        p[0].sync.pending().is_empty()
    });
    // Backoff grew while the server was away, and stayed within its bounds.
    assert!(a
        .offline_delays
        .iter()
        .all(|d| *d >= Duration::from_millis(50) && *d <= Duration::from_millis(400)));
}

#[test]
fn pending_edits_from_a_previous_run_are_replayed() {
    let server = RoomServer::start(
        "127.0.0.1:0".parse().unwrap(),
        new_room(RoomServer::session()),
        0.0,
    );
    let saved = vec![
        Op::SetStep {
            pt: PatternId::A,
            tr: kick(),
            s: 5,
            on: true,
        },
        Op::SetSwing { v: 12.0 },
    ];
    let mut a = Player::start(
        &server.base_url(),
        RoomServer::session().id,
        "Ada",
        SessionState::demo(),
        saved,
    );
    wait_until("replayed", &mut [&mut a], |p| {
        let t = server.state();
        p[0].joined && t.swing == 12.0 && t.track(kick()).unwrap().steps[5].on && p[0].state == t
    });
}

#[test]
fn clock_offset_is_recovered_on_loopback() {
    let skew = 123_456.789;
    let server = RoomServer::start(
        "127.0.0.1:0".parse().unwrap(),
        new_room(RoomServer::session()),
        skew,
    );
    // The test server stamps its pongs to the nanosecond, not in a Worker's whole milliseconds.
    let mut a = Player::start_with(
        &server.base_url(),
        RoomServer::session().id,
        SyncConfig {
            server_clock_tick: Duration::ZERO,
            ..Player::config("Ada")
        },
        SessionState::default(),
        vec![],
    );
    wait_until("joined", &mut [&mut a], |p| p[0].joined);
    std::thread::sleep(Duration::from_millis(1000));
    let clock = a.sync.clock().clone();
    let mut errors = Vec::new();
    for _ in 0..50 {
        let est = clock.read().expect("published").offset_ms;
        // The true offset: server time (wall clock + skew) minus the sync thread's local clock.
        let truth = unix_ms() + skew - clock.local().now_ms();
        errors.push((est - truth).abs());
        std::thread::sleep(Duration::from_millis(10));
    }
    errors.sort_by(f64::total_cmp);
    let p99 = errors[errors.len() * 99 / 100];
    println!(
        "clock offset error on loopback: p50 {:.3} ms, p99 {:.3} ms",
        errors[errors.len() / 2],
        p99
    );
    assert!(p99 <= 1.0, "p99 error {p99} ms");
}

#[test]
fn stopping_never_waits_for_a_server_that_does_not_answer() {
    // Accepts TCP connections (the kernel does, from the backlog) but never answers the
    // WebSocket handshake: the sync thread is stuck inside its connect.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", silent.local_addr().unwrap());
    let player = Player::start(
        &base,
        RoomServer::session().id,
        "Ada",
        SessionState::default(),
        vec![],
    );
    std::thread::sleep(Duration::from_millis(300));
    let t = std::time::Instant::now();
    // What a DAW does when it closes the plugin.
    drop(player);
    assert!(
        t.elapsed() < Duration::from_millis(500),
        "stopping took {:?}",
        t.elapsed()
    );
}

/// The handle's playback controls reach the room, which stamps them on the shared timeline,
/// and every player's `SharedClock` (what the audio thread reads) carries the result: a cue
/// while stopped plays from the start, a cue while playing waits for the bar line, song mode
/// and the fill switch are stamped likewise.
#[test]
fn pattern_cues_song_mode_and_fill_reach_every_players_shared_clock() {
    use keyboardia_core::song::Play;
    let server = RoomServer::start(
        "127.0.0.1:0".parse().unwrap(),
        new_room(RoomServer::session()),
        0.0,
    );
    let (mut a, mut b) = two_players(&server.base_url());
    let bs: PatternId = "B".parse().unwrap();
    let c: PatternId = "C".parse().unwrap();
    let playback = |p: &Player| p.sync.clock().read().map(|c| c.timeline);
    // Stopped: B plays from the start at once.
    a.sync.cue_pattern(bs).unwrap();
    wait_until("B while stopped", &mut [&mut a, &mut b], |p| {
        p.iter().all(|p| {
            playback(p)
                .is_some_and(|t| t.playback.play == Play::Pattern(bs) && t.playback.next.is_none())
        })
    });
    // Playing: C waits for a bar line, stamped after the start; the fill switch is stamped on a
    // step; song mode replaces the queued C.
    a.sync.set_playing(true).unwrap();
    wait_until("playing", &mut [&mut a, &mut b], |p| {
        p.iter().all(|p| playback(p).is_some_and(|t| t.playing))
    });
    b.sync.cue_pattern(c).unwrap();
    wait_until("C queued", &mut [&mut a, &mut b], |p| {
        p.iter().all(|p| {
            playback(p).is_some_and(|t| t.playback.next.is_some_and(|n| n.play == Play::Pattern(c)))
        })
    });
    let tl = playback(&a).unwrap();
    let at = tl.playback.next.unwrap().at_beat;
    assert!(
        at >= tl.start_beat && (at - tl.start_beat) % 4.0 == 0.0,
        "a bar line: {tl:?}"
    );
    a.sync.set_fill(true).unwrap();
    b.sync.set_song_mode(true).unwrap();
    wait_until("song mode and fill", &mut [&mut a, &mut b], |p| {
        p.iter().all(|p| {
            playback(p).is_some_and(|t| {
                t.playback.fill && t.playback.next.is_some_and(|n| n.play == Play::Song)
            })
        })
    });
    let tl = playback(&b).unwrap();
    assert_eq!(
        tl.playback.fill_beat * 4.0,
        (tl.playback.fill_beat * 4.0).round(),
        "{tl:?}"
    );
    assert_eq!(playback(&a), playback(&b), "one timeline");
}
