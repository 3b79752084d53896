//! The soak: players (core's client in sync's event loop, as the plugin runs it) make random
//! edits against the real Worker under `wrangler dev`, with random disconnects and server kills
//! (SIGKILL to the whole process group, then a start on the same persisted state). Run small by
//! `tests/tests/soak.rs`, at full size by the benchmark `tests/examples/soak.rs`.
//!
//! What is checked:
//! - **no loss**: player `i` alone writes its own track `own{i}` (velocities and on/off, never
//!   deleted): at the end every cell of it holds the last value the player wrote there. The
//!   player keeps unacknowledged edits and re-sends them after a reconnect, so this covers every
//!   acknowledged edit (and every unacknowledged one too);
//! - **convergence**: every player's view (what its editor shows) ends equal to the REST state,
//!   with nothing pending, and the room (a fresh player's snapshot) agrees.
//!
//! The other edits are the noise players make together: steps and locks on shared tracks, adds
//! and deletes of shared tracks, tempo and swing.

use keyboardia_core::PatternId;
use std::time::{Duration, Instant};

use keyboardia_core::{Lock, Op, SessionId, SessionState, Track, TrackId, MAX_TRACKS};

use crate::gate::Gate;
use crate::players::{create_session, Player};
use crate::server::{LiveClient, Server};

/// The size and pace of a soak.
#[derive(Clone, Debug)]
pub struct SoakConfig {
    /// Players (at most 10, what a room holds; the last one leaves before the final check
    /// joins the room to read its snapshot).
    pub clients: usize,
    /// Edits each player makes.
    pub ops_per_client: usize,
    /// Server kills, spread at random over the run.
    pub kills: usize,
    /// Edits made by the players while the server is down, after each kill.
    pub ops_while_down: usize,
    /// Chance per edit that some player drops its connection (and reconnects).
    pub disconnect_chance: f64,
    /// Edits per second, all players together, at most (the room's per-socket rate limit is
    /// far above).
    pub ops_per_sec: f64,
    /// While the server is up, a player with this many edits not yet acknowledged waits before
    /// it makes another. Without it, a rate the server cannot sustain (a machine loaded far past
    /// its cores) piles up unacknowledged edits without bound, every one sent again at each
    /// reconnect (and applied and broadcast again): in a full run at 400 edits/s on a machine at
    /// load 15–20, the server's sockets held ~92 KB of unread frames each after the last restart
    /// and the REST API did not answer for the whole settle time.
    pub max_pending: usize,
    /// How long the players may take to agree with the REST state at the end.
    pub settle_timeout: Duration,
    /// Seeds every random choice, so a failure replays.
    pub seed: u64,
}

impl Default for SoakConfig {
    fn default() -> Self {
        Self {
            clients: 3,
            ops_per_client: 200,
            kills: 1,
            ops_while_down: 20,
            disconnect_chance: 1.0 / 100.0,
            ops_per_sec: 300.0,
            max_pending: 200,
            settle_timeout: Duration::from_secs(60),
            seed: 0x50a4_5eed,
        }
    }
}

/// What a soak did and found.
#[derive(Clone, Debug, Default)]
pub struct SoakReport {
    /// Edits sent (edits the player's own view refused are not counted: an editor would not
    /// offer them).
    pub ops: usize,
    /// Edits written to the players' own tracks, each checked at the end.
    pub own_ops: usize,
    /// Edits the room refused (e.g. a step on a shared track another player had just deleted).
    pub rejected: usize,
    /// Server kills (SIGKILL) and restarts.
    pub kills: usize,
    /// Connections dropped by the players.
    pub disconnects: usize,
    /// Cells of the own tracks whose final value is not the last one written: lost edits.
    pub losses: usize,
    /// Players whose view did not end equal to the REST state.
    pub diverged: usize,
    /// The room's own view (a fresh player's snapshot) equals the REST state.
    pub room_agrees: bool,
    /// The edits, kills and disconnects.
    pub run_time: Duration,
    /// From the last edit until every player agreed with the REST state.
    pub settle_time: Duration,
    /// The longest start of the server after a kill, until it answered.
    pub slowest_restart: Duration,
    /// Starts after a kill that did not answer in time and were killed and tried again.
    pub failed_starts: usize,
    /// The most edits one player had unacknowledged at once (sampled before each edit).
    pub peak_pending: usize,
    /// How long edits waited for players to get under [`SoakConfig::max_pending`].
    pub throttled: Duration,
    /// The REST state could not be read at the end, so losses were not counted.
    pub unchecked: bool,
}

impl std::fmt::Display for SoakReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "ops {} (own-track {}), rejected {}, kills {}, disconnects {}, losses {}{}, \
             diverged replicas {}, room agrees {}, run {:.1} s, settle {:.1} s, \
             slowest restart {:.1} s, failed starts {}, peak pending {}, throttled {:.1} s \
             ({:.0} ops/s over the run)",
            self.ops,
            self.own_ops,
            self.rejected,
            self.kills,
            self.disconnects,
            self.losses,
            if self.unchecked { " (not checked)" } else { "" },
            self.diverged,
            self.room_agrees,
            self.run_time.as_secs_f64(),
            self.settle_time.as_secs_f64(),
            self.slowest_restart.as_secs_f64(),
            self.failed_starts,
            self.peak_pending,
            self.throttled.as_secs_f64(),
            self.ops as f64 / self.run_time.as_secs_f64().max(1e-9)
        )
    }
}

/// Player `i`'s own track.
fn own_track(i: usize) -> TrackId {
    format!("own{i}").parse().expect("a valid track id")
}

/// The last value each player wrote to each step of its own track: (velocity, on).
type Written = Vec<[(Option<u8>, Option<bool>); 64]>;

/// The workerd that runs the Worker (not `wrangler dev`'s proxy, which queues requests while
/// the Worker starts; see [`Gate`]), or the proxy if it cannot be found.
fn worker_url(server: &Server) -> String {
    server
        .direct_base_url()
        .unwrap_or_else(|| server.base_url())
}

/// What the REST API at `base` serves for `id`; `None` (and a note) while it does not answer in
/// 10 s.
fn rest_state(base: &str, id: SessionId) -> Option<SessionState> {
    let url = format!("{base}{}", keyboardia_core::api::session_path(id));
    let reply = ureq::AgentBuilder::new()
        .timeout(Duration::from_secs(10))
        .build()
        .get(&url)
        .call();
    match reply {
        Ok(r) => {
            let mut body = Vec::new();
            std::io::Read::read_to_end(&mut r.into_reader(), &mut body).ok()?;
            keyboardia_core::schema::session_from_json(&body)
                .ok()
                .map(|s| s.state)
        }
        Err(e) => {
            eprintln!("soak: GET {url}: {e}");
            None
        }
    }
}

/// A random edit by player `i` that applies to its view; records writes to its own track.
fn random_op(rng: &mut fastrand::Rng, i: usize, view: &SessionState, written: &mut Written) -> Op {
    let own = own_track(i);
    let shared: Vec<TrackId> = view
        .tracks
        .iter()
        .map(|t| t.id)
        .filter(|t| !t.to_string().starts_with("own"))
        .collect();
    let s = rng.u8(..64);
    let pick = shared.get(rng.usize(..shared.len().max(1))).copied();
    match (rng.u8(..20), pick) {
        (0..=7, _) => {
            let v = rng.u8(1..=127);
            written[i][usize::from(s)].0 = Some(v);
            Op::SetVelocity {
                pt: PatternId::A,
                tr: own,
                s,
                v,
            }
        }
        (8..=10, _) => {
            let on = rng.bool();
            written[i][usize::from(s)].1 = Some(on);
            Op::SetStep {
                pt: PatternId::A,
                tr: own,
                s,
                on,
            }
        }
        (11..=14, Some(tr)) => Op::SetStep {
            pt: PatternId::A,
            tr,
            s,
            on: rng.bool(),
        },
        (15, Some(tr)) => Op::SetLock {
            pt: PatternId::A,
            tr,
            s,
            lock: Lock::Pitch(rng.i8(-24..=24)),
        },
        (16, _) if view.tracks.len() < MAX_TRACKS => Op::AddTrack {
            track: Box::new(Track::new(
                TrackId::from_random(rng.u64(..)),
                "shared",
                "clap".parse().expect("an instrument"),
            )),
            index: None,
        },
        (17, Some(tr)) if shared.len() > 2 => Op::DeleteTrack { tr },
        (18, _) => Op::SetTempo {
            v: f64::from(rng.u16(60..=180)),
        },
        _ => Op::SetSwing {
            v: f64::from(rng.u8(..=100)),
        },
    }
}

/// Starts the killed server again on its persisted state and opens the players' gate on it;
/// notes how long that took, and returns the Worker's address. A start that does not answer
/// within the harness's 90 s is killed and tried again, and counted.
fn restart(server: &mut Server, gate: &Gate, report: &mut SoakReport) -> String {
    let t = Instant::now();
    for attempt in 1.. {
        let started =
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| server.start_again()));
        match started {
            Ok(()) => break,
            Err(e) if attempt < 3 => {
                eprintln!("soak: restart attempt {attempt} failed; killing and retrying");
                report.failed_starts += 1;
                server.kill();
                drop(e);
            }
            Err(e) => std::panic::resume_unwind(e),
        }
    }
    report.slowest_restart = report.slowest_restart.max(t.elapsed());
    let worker = worker_url(server);
    gate.open(&worker);
    worker
}

/// Runs a soak on `server` (which it kills and starts again); the caller judges the report.
pub fn run(server: &mut Server, config: &SoakConfig) -> SoakReport {
    assert!(config.clients <= 10, "a room holds 10 players");
    let mut rng = fastrand::Rng::with_seed(config.seed);
    let mut start = SessionState::default();
    for i in 0..config.clients {
        start.tracks.push(Track::new(
            own_track(i),
            format!("own {i}"),
            "rim".parse().expect("an instrument"),
        ));
    }
    for n in 0..3 {
        start.tracks.push(Track::new(
            format!("shared{n}").parse().expect("a valid track id"),
            "shared",
            "kick".parse().expect("an instrument"),
        ));
    }
    let id = create_session(&server.base_url(), &start);
    // The players reach the server through a gate that refuses them while it is down or
    // starting, as a deployment would (see [`Gate`] for why not `wrangler dev`'s proxy).
    let gate = Gate::start();
    gate.open(&worker_url(server));
    let base = gate.base_url();
    let mut players: Vec<Player> = (0..config.clients)
        .map(|i| Player::start(&base, id, &format!("soak{i}"), start.clone(), vec![]))
        .collect();
    crate::players::wait_until(
        "every player joined",
        &mut players.iter_mut().collect::<Vec<_>>(),
        |p| p.iter().all(|p| p.joined),
    );

    let total = config.clients * config.ops_per_client;
    let mut kill_at: Vec<usize> = (0..config.kills)
        .map(|_| rng.usize(total / 10..total.max(1) * 9 / 10))
        .collect();
    kill_at.sort_unstable();
    let mut written: Written = vec![[(None, None); 64]; config.clients];
    let mut report = SoakReport::default();
    let interval = Duration::from_secs_f64(1.0 / config.ops_per_sec);
    let t0 = Instant::now();
    let mut next_at = t0;
    let mut down_for = 0;
    let mut made = vec![0; config.clients];
    let mut last_note = Instant::now();
    while made.iter().sum::<usize>() < total {
        let i = rng.usize(..config.clients);
        if made[i] == config.ops_per_client {
            continue;
        }
        let p = &mut players[i];
        p.pump();
        let pending = p.sync.pending().len();
        report.peak_pending = report.peak_pending.max(pending);
        if down_for == 0 && pending >= config.max_pending {
            // Wait for the room to catch up (a kill or a restart is never held up by this).
            let t = Instant::now();
            std::thread::sleep(interval);
            report.throttled += t.elapsed();
            next_at = Instant::now();
            continue;
        }
        if last_note.elapsed() > Duration::from_secs(10) {
            last_note = Instant::now();
            let pending: usize = players.iter().map(|p| p.sync.pending().len()).sum();
            eprintln!(
                "soak: {:.0} s: {} ops, {pending} pending, throttled {:.1} s",
                t0.elapsed().as_secs_f64(),
                made.iter().sum::<usize>(),
                report.throttled.as_secs_f64()
            );
        }
        let p = &mut players[i];
        let op = random_op(&mut rng, i, &p.state, &mut written);
        made[i] += 1;
        if p.state.clone().apply(&op).is_ok() {
            report.ops += 1;
            if matches!(&op, Op::SetVelocity { tr, .. } | Op::SetStep { tr, .. } if *tr == own_track(i))
            {
                report.own_ops += 1;
            }
            p.edit(op);
        }
        if rng.f64() < config.disconnect_chance {
            let j = rng.usize(..config.clients);
            players[j].sync.reconnect().expect("the sync thread runs");
            report.disconnects += 1;
        }
        let done = made.iter().sum::<usize>();
        // A kill falls due only while the server runs (two close ones kill twice).
        if down_for == 0 && kill_at.first().is_some_and(|&k| done >= k) {
            kill_at.remove(0);
            server.kill();
            gate.close();
            report.kills += 1;
            eprintln!(
                "soak: {done} ops, kill {} at {:.1} s",
                report.kills,
                t0.elapsed().as_secs_f64()
            );
            down_for = config.ops_while_down;
        } else if down_for > 0 {
            down_for -= 1;
            if down_for == 0 {
                restart(server, &gate, &mut report);
            }
        }
        next_at += interval;
        if let Some(wait) = next_at.checked_duration_since(Instant::now()) {
            std::thread::sleep(wait);
        }
    }
    let worker = restart(server, &gate, &mut report);
    report.run_time = t0.elapsed();

    // Settle: every player joined, nothing pending, and every view equal to the REST state.
    let t1 = Instant::now();
    let mut truth = None;
    loop {
        for p in players.iter_mut() {
            p.pump();
        }
        if let Some(t) = rest_state(&worker, id) {
            let joined = players.iter().filter(|p| p.joined).count();
            let equal = players.iter().filter(|p| p.state == t).count();
            let pending: usize = players.iter().map(|p| p.sync.pending().len()).sum();
            truth = Some(t);
            if joined == players.len() && equal == players.len() && pending == 0 {
                break;
            }
            if last_note.elapsed() > Duration::from_secs(10) {
                last_note = Instant::now();
                eprintln!(
                    "soak: settling for {:.0} s: {joined} joined, {equal} equal to REST, \
                     {pending} edits pending",
                    t1.elapsed().as_secs_f64()
                );
            }
        }
        if t1.elapsed() > config.settle_timeout {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    report.settle_time = t1.elapsed();
    let Some(truth) = truth else {
        eprintln!("soak: the REST API never answered after the run: nothing could be checked");
        report.diverged = players.len();
        report.unchecked = true;
        return report;
    };
    report.diverged = players.iter().filter(|p| p.state != truth).count();
    for p in players.iter_mut() {
        p.pump();
        while let Ok(e) = p.events.try_recv() {
            drop(e);
        }
    }
    report.rejected = players.iter().map(|p| p.rejected).sum();
    for (i, cells) in written.iter().enumerate() {
        let Some(track) = truth.track(own_track(i)) else {
            report.losses += cells
                .iter()
                .filter(|c| c.0.is_some() || c.1.is_some())
                .count();
            continue;
        };
        for (s, (v, on)) in cells.iter().enumerate() {
            let step = &track.steps[s];
            if v.is_some_and(|v| v != step.velocity) || on.is_some_and(|on| on != step.on) {
                report.losses += 1;
            }
        }
    }
    // A place for the observer: the last player leaves (the room sees the close at once).
    drop(players.pop());
    std::thread::sleep(Duration::from_millis(300));
    let observer = LiveClient::join(&worker, id, "observer");
    report.room_agrees = observer
        .snapshot
        .as_ref()
        .is_some_and(|s| s.session.state == truth);
    observer.close();
    report
}
