//! Players for tests: a [`SyncHandle`] whose events land in a channel, plus a local copy of the
//! session edited the way the editor does (apply to your copy, then send).

use std::sync::mpsc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use keyboardia_core::client::ClientEvent;
use keyboardia_core::{Op, SessionId, SessionState};
use keyboardia_sync::*;
use std::time::{SystemTime, UNIX_EPOCH};

pub struct Player {
    pub sync: SyncHandle,
    pub events: mpsc::Receiver<SyncEvent>,
    /// The latest local view the sync thread handed over.
    pub state: SessionState,
    pub joined: bool,
    pub offline_delays: Vec<Duration>,
    /// Edits of this player the room refused (rolled back by its client).
    pub rejected: usize,
}

impl Player {
    pub fn start(
        base: &str,
        session: SessionId,
        name: &str,
        local: SessionState,
        pending: Vec<Op>,
    ) -> Self {
        Self::start_with(base, session, Self::config(name), local, pending)
    }

    /// The tests' connection tuning: the client's defaults (a Worker's server), with quick
    /// reconnects.
    pub fn config(name: &str) -> SyncConfig {
        SyncConfig {
            name: name.into(),
            backoff_min: Duration::from_millis(50),
            backoff_max: Duration::from_millis(400),
            ..SyncConfig::default()
        }
    }

    /// A player with its own tuning (e.g. the server clock's tick of a test server).
    pub fn start_with(
        base: &str,
        session: SessionId,
        config: SyncConfig,
        local: SessionState,
        pending: Vec<Op>,
    ) -> Self {
        let (tx, rx) = mpsc::channel();
        let clock = Arc::new(SharedClock::default());
        let sync = SyncHandle::start(
            Server::new(base).unwrap(),
            session,
            config,
            local.clone(),
            pending,
            clock,
            move |e| {
                let _ = tx.send(e);
            },
        )
        .unwrap();
        Self {
            sync,
            events: rx,
            state: local,
            joined: false,
            offline_delays: Vec::new(),
            rejected: 0,
        }
    }

    pub fn pump(&mut self) {
        while let Ok(e) = self.events.try_recv() {
            match e {
                SyncEvent::State(s) => self.state = *s,
                SyncEvent::Connection(ConnectionState::Joined { .. }) => self.joined = true,
                SyncEvent::Connection(ConnectionState::Offline { retry_in, .. }) => {
                    self.joined = false;
                    self.offline_delays.push(retry_in);
                }
                SyncEvent::Client(ClientEvent::Rejected { .. }) => self.rejected += 1,
                _ => {}
            }
        }
    }

    /// Edits like a GUI would: apply to its own copy, then send.
    pub fn edit(&mut self, op: Op) {
        self.state.apply(&op).unwrap();
        self.sync.edit(op).unwrap();
    }
}

pub fn wait_until(
    what: &str,
    players: &mut [&mut Player],
    mut done: impl FnMut(&mut [&mut Player]) -> bool,
) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        for p in players.iter_mut() {
            p.pump();
        }
        if done(players) {
            return;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Wall-clock milliseconds since the Unix epoch: the Worker's clock on this machine, so the
/// truth against which clock estimates are measured.
pub fn unix_ms() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
        * 1000.0
}

/// Creates a session holding `state` through the REST API at `base`; returns its id.
pub fn create_session(base: &str, state: &SessionState) -> SessionId {
    let rest = Rest::new(Server::new(base).expect("server address"));
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(rest.create(state))
        .expect("create a session")
        .id
}
