//! The plugin's live-session bridge (`keyboardia::live::Live`, what the session bar shows)
//! against the real Worker under `wrangler dev`: the players list holds everyone present,
//! this player included, from the join snapshot on, with two and three real clients; players
//! who left while this one was offline are gone after it rejoins; and a session the server
//! does not have is said to be unknown, once, and not retried.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use keyboardia::live::Connection;
use keyboardia::live::{Joined, Live};
use keyboardia::session::SessionStore;
use keyboardia_core::SessionId;
use keyboardia_tests::server::Server;

/// One player: a store and its live bridge, as a plugin holds them.
struct Player {
    /// Kept alive: the bridge holds it weakly.
    _store: Arc<SessionStore>,
    live: Live,
}

impl Player {
    fn new() -> Self {
        let store = Arc::new(SessionStore::default());
        let live = Live::new(&store);
        Self {
            _store: store,
            live,
        }
    }

    fn join(&self, server: &str, session: SessionId, name: &str) {
        self.live
            .join(Joined {
                server: server.into(),
                session,
                name: name.into(),
                pending: vec![],
            })
            .unwrap();
    }

    /// The names on the players list, and whether this player is on it (as "you").
    fn list(&self) -> (BTreeSet<String>, bool) {
        let s = self.live.status();
        let names = s.players.iter().map(|p| p.name.clone()).collect();
        let you = s
            .you
            .is_some_and(|you| s.players.iter().any(|p| p.id == you));
        (names, you)
    }
}

fn names(list: &[&str]) -> BTreeSet<String> {
    list.iter().map(|s| s.to_string()).collect()
}

/// Waits (generously: the CI box is busy) until `ok` holds.
fn eventually(what: &str, secs: u64, mut ok: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while !ok() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Waits until each of `players` lists exactly `expected`, itself included.
fn all_list(players: &[&Player], expected: &[&str]) {
    let expected = names(expected);
    eventually(&format!("everyone lists {expected:?}"), 60, || {
        players.iter().all(|p| p.list() == (expected.clone(), true))
    });
}

#[test]
fn the_players_list_shows_everyone_present_from_the_snapshot_and_forgets_who_left_meanwhile() {
    let mut server = Server::start();
    let base = server.base_url();
    let (ada, bob, cyd) = (Player::new(), Player::new(), Player::new());
    let id = ada.live.create(&base, "Ada").unwrap();

    // Two: the second player sees the first, who was there before it (only the join snapshot
    // says so), and itself.
    bob.join(&base, id, "Bob");
    all_list(&[&ada, &bob], &["Ada", "Bob"]);

    // Three: the same for the third.
    cyd.join(&base, id, "Cyd");
    all_list(&[&ada, &bob, &cyd], &["Ada", "Bob", "Cyd"]);

    // Bob leaves while the server is down (Ada and Cyd are offline and cannot hear it); after
    // the restart both rejoin, and their lists come from the new snapshots: Bob is gone.
    server.kill();
    bob.live.leave();
    assert!(bob.live.status().players.is_empty());
    server.start_again();
    eventually("Ada and Cyd rejoin", 120, || {
        [&ada, &cyd]
            .iter()
            .all(|p| matches!(p.live.status().connection, Some(Connection::Joined)))
    });
    all_list(&[&ada, &cyd], &["Ada", "Cyd"]);
}

#[test]
fn joining_an_unknown_session_says_so_and_stops_retrying() {
    let server = Server::start();
    let base = server.base_url();
    let player = Player::new();
    let unknown = SessionId::from_random_bytes([0x5a; 16]);
    player.join(&base, unknown, "Ada");
    eventually("the unknown session is reported", 60, || {
        player.live.status().error.is_some()
    });
    let status = player.live.status();
    let error = status.error.clone().unwrap();
    assert!(
        error.contains(&unknown.to_string()) && error.contains("no session"),
        "{error}"
    );
    assert!(status.connection.is_none(), "not trying: {status:?}");
    // Well past the longest first backoff delays: no new attempt starts.
    let until = Instant::now() + Duration::from_secs(3);
    while Instant::now() < until {
        let s = player.live.status();
        assert!(s.connection.is_none(), "retried: {:?}", s.connection);
        std::thread::sleep(Duration::from_millis(20));
    }
    // The player still plays alone, and can leave.
    player.live.leave();
    assert!(player.live.status().error.is_none());
}
