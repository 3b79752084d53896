//! Live edits, ours against the web original's, side by side (issue 18). Prints numbers; asserts
//! nothing about speed. A benchmark command, not a CI test (it installs the original from npm on
//! first use, see `scripts/original-server.sh`).
//!
//! `cargo run --release -p keyboardia-tests --example live_vs_original -- [--rounds N] [--edits N] [--direct]`
//!
//! Both servers run under `wrangler dev` at once for the whole run: our Worker
//! (`tests/src/server.rs`) and the original's unchanged TypeScript Worker (adewale/keyboardia at
//! a pinned commit, its own `wrangler.jsonc`, KV/R2/Durable Objects local), by default on the
//! same wrangler and workerd (`ORIGINAL_WRANGLER=own` runs the original on its lockfile's
//! wrangler instead). Both write each edit to their Durable Object's storage before they
//! broadcast it (the original awaits `persistToDoStorage()` in `handleToggleStep`; ours writes
//! the batch before it broadcasts or acknowledges); the run ends by killing both servers
//! (SIGKILL) and checking that the restarted servers hold every edit of the last session.
//!
//! One neutral client program for both: 10 players on one session, one blocking WebSocket
//! thread each (`TCP_NODELAY`), the same edits in the same order; only the wire format differs
//! (ours `Op::SetStep` with the value, theirs `toggle_step` with `trackId`/`step`/`seq`). Each
//! round measures, per server, three phases of `--edits` edits (default 2,000) each on a fresh
//! session:
//! - serial: a rotating sender (edit i from player i mod 10), one edit in the room at a time
//!   (the next is sent once all 10 players have the previous one). Per edit: the time from the
//!   send until the SLOWEST of the 9 peers has it; p50/p90/p99 over the edits;
//! - 1 and 4 in flight: every player sends its share, keeping 1 (or 4) of its own edits
//!   unacknowledged, and reads every broadcast. Throughput: edits acknowledged per second
//!   (from the start until the last sender has its last acknowledgement).
//!
//! For each phase, CPU per edit: the utime+stime of the server's whole process group (wrangler,
//! node, workerd) from `/proc` before and after, over the edits. The other server is idle
//! meanwhile; its own CPU in the same window is printed too ("idle"), so the accounting is seen
//! not to mix (between phases the run waits until the server that worked has gone idle, so
//! closing the sockets counts in neither). Rounds interleave (ours, original, ours, original,
//! …; `--rounds`, default 3) so machine noise hits both; every round is printed, then the
//! medians and ours/original ratios, and the load average at the start and the end.
//!
//! `OURS_VARS="K=V,K=V"` passes extra Worker variables to ours (`LIVE_SYNC_DELAY_MS=…`,
//! `LIVE_COMPACT_OPS=…`), for experiments.
//!
//! `LVO_SERIES=DIR` writes every phase's per-edit figures in edit order ([`write_series`]).
//!
//! `--direct` connects to each Worker's own workerd socket behind wrangler's entry port when
//! both can be found (else both stay on the entry port). `BENCH_STATE_DIR=/dev/shm` keeps both
//! servers' state on tmpfs.
//!
//! What the serial CPU is made of (perf, 2026-12): most of it is the runtime's, the same for
//! both servers (the hibernatable-WebSocket event, the SQLite commit and its fsync, eleven
//! frames through wrangler's entry proxy), and wrangler's local observability collector (a tail
//! of every event, stored in its own SQLite with an fsync): nearly half of each server's CPU per
//! serial edit and of its latency. Both servers inherit the environment, so
//! `X_LOCAL_OBSERVABILITY=false` measures both without that collector (it does not run in
//! production). `MINIFLARE_WORKERD_V8_FLAGS=--perf-basic-prof` makes workerd write
//! `/tmp/perf-<pid>.map`, so `perf record -g` names the JavaScript and wasm frames.

use keyboardia_core::PatternId;
use std::sync::{Arc, Barrier, Condvar, Mutex};
use std::time::{Duration, Instant};

use keyboardia_core::protocol::{ClientMessage, ServerMessage};
use keyboardia_core::{Op, SessionId, SessionState, Track, TrackId};
use keyboardia_tests::original::{self, OriginalClient, OriginalEvent, OriginalServer};
use keyboardia_tests::procs;
use keyboardia_tests::server::{Http, LiveClient, Options, RecvError, Server};

/// Players on each session (the original's maximum).
const PLAYERS: usize = 10;
/// Tracks of each session.
const TRACKS: usize = 16;
/// Steps of each track the edits touch.
const STEPS: usize = 16;

/// A server counts as idle after this long without a CPU tick (10 ms ticks).
const SETTLE_QUIET: Duration = Duration::from_millis(300);
/// How long to wait at most for a server to go idle between phases.
const SETTLE_MAX: Duration = Duration::from_secs(5);

/// Which server a target is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Ours,
    Original,
}

/// Edit `i` toggles cell `(i mod 16, (i / 16) mod 16)`: the 256 cells in turn, so in serial
/// order the toggle turns the cell on in even passes and off in odd ones.
fn cell(i: usize) -> (usize, usize) {
    (i % TRACKS, (i / TRACKS) % STEPS)
}

/// The cell's value after edit `i` (applied in order from all-off): what ours is told to set.
fn value_after(i: usize) -> bool {
    (i / (TRACKS * STEPS)).is_multiple_of(2)
}

fn track_name(t: usize) -> String {
    format!("t{t}")
}

/// The grid after edits `0..n` in order.
fn expected_grid(n: usize) -> Vec<Vec<bool>> {
    let mut g = vec![vec![false; STEPS]; TRACKS];
    for i in 0..n {
        let (t, s) = cell(i);
        g[t][s] = value_after(i);
    }
    g
}

/// One player's connection, whichever server.
trait Player: Send {
    /// Sends edits (by index) in one write.
    fn send(&mut self, edits: &[usize]);
    /// The next message: `Some(i)` for the broadcast of edit `i`, `None` for anything else.
    fn recv(&mut self) -> Option<usize>;
    fn close(self: Box<Self>);
}

struct OursPlayer(LiveClient);

impl Player for OursPlayer {
    fn send(&mut self, edits: &[usize]) {
        let msgs: Vec<ClientMessage> = edits
            .iter()
            .map(|&i| {
                let (t, s) = cell(i);
                ClientMessage::Edit {
                    op: i as u32 + 1,
                    edit: Op::SetStep {
                        pt: PatternId::A,
                        tr: track_name(t).parse().expect("track id"),
                        s: s as u8,
                        on: value_after(i),
                    },
                }
            })
            .collect();
        self.0.send_batch(&msgs);
    }

    fn recv(&mut self) -> Option<usize> {
        match self.0.try_recv() {
            Ok(ServerMessage::Applied(b)) => Some(b.op as usize - 1),
            Ok(ServerMessage::Error(e)) => panic!("ours refused an edit: {e:?}"),
            Ok(_) => None,
            Err(RecvError::Timeout) => panic!("ours: no message for 20 s"),
            Err(e) => panic!("ours: {e:?}"),
        }
    }

    fn close(self: Box<Self>) {
        self.0.close();
    }
}

struct OriginalPlayer(OriginalClient);

impl Player for OriginalPlayer {
    fn send(&mut self, edits: &[usize]) {
        let names: Vec<(String, u32, u64)> = edits
            .iter()
            .map(|&i| {
                let (t, s) = cell(i);
                (track_name(t), s as u32, i as u64 + 1)
            })
            .collect();
        let toggles: Vec<(&str, u32, u64)> =
            names.iter().map(|(t, s, q)| (t.as_str(), *s, *q)).collect();
        self.0.send_toggles(&toggles).expect("original: send");
    }

    fn recv(&mut self) -> Option<usize> {
        match self.0.recv() {
            Ok(OriginalEvent::StepToggled {
                client_seq: Some(q),
                ..
            }) => Some(q as usize - 1),
            Ok(_) => None,
            Err(e) => panic!("original: {e}"),
        }
    }

    fn close(self: Box<Self>) {
        self.0.close();
    }
}

/// A server under test.
struct Target {
    kind: Kind,
    /// Where the players and REST calls go.
    base: String,
    /// Its process group (for CPU accounting).
    pgid: i32,
    /// REST through its entry port (sessions, the persisted check).
    http: Http,
}

impl Target {
    fn name(&self) -> &'static str {
        match self.kind {
            Kind::Ours => "ours",
            Kind::Original => "original",
        }
    }

    fn new_session(&self) -> String {
        match self.kind {
            Kind::Ours => {
                let mut state = SessionState::default();
                for t in 0..TRACKS {
                    state.tracks.push(Track::new(
                        track_name(t).parse::<TrackId>().expect("track id"),
                        track_name(t),
                        "kick".parse().expect("instrument"),
                    ));
                }
                let id = self.http.create_session().id.to_string();
                let r = self.http.put(
                    &id,
                    serde_json::to_string(&state).expect("state").as_bytes(),
                );
                assert_eq!(r.status, 200, "ours: PUT the session: {}", r.text());
                id
            }
            Kind::Original => {
                let ids: Vec<String> = (0..TRACKS).map(track_name).collect();
                original::create_session(&self.http, &ids).expect("original: create a session")
            }
        }
    }

    fn join(&self, id: &str, k: usize) -> Box<dyn Player> {
        match self.kind {
            Kind::Ours => {
                let id: SessionId = id.parse().expect("session id");
                Box::new(OursPlayer(LiveClient::join(
                    &self.base,
                    id,
                    &format!("p{k}"),
                )))
            }
            Kind::Original => Box::new(OriginalPlayer(
                OriginalClient::join(&self.base, id, &format!("p{k}")).expect("original: join"),
            )),
        }
    }

    /// The persisted grid (tracks in order, first `STEPS` steps), through REST.
    fn grid(&self, id: &str) -> Vec<Vec<bool>> {
        let rows: Vec<(String, Vec<bool>)> = match self.kind {
            Kind::Ours => self
                .http
                .get(id)
                .session()
                .state
                .tracks
                .iter()
                .map(|t| {
                    (
                        t.id.to_string(),
                        t.steps.iter().take(STEPS).map(|s| s.on).collect(),
                    )
                })
                .collect(),
            Kind::Original => {
                original::session_steps(&self.http, id, STEPS).expect("original: read the session")
            }
        };
        (0..TRACKS)
            .map(|t| {
                rows.iter()
                    .find(|(id, _)| *id == track_name(t))
                    .map(|(_, on)| on.clone())
                    .unwrap_or_default()
            })
            .collect()
    }
}

/// What one phase measured.
struct Phase {
    /// Per edit: send → the slowest of the 9 peers has it, ms, sorted.
    slowest_ms: Vec<f64>,
    /// The server's CPU time over the phase.
    cpu: Duration,
    /// The other (idle) server's CPU time over the same window.
    idle_cpu: Duration,
    /// Edits acknowledged per second.
    edits_per_sec: f64,
    /// The session (for the persisted check).
    session: String,
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

/// What one player thread saw.
struct Seen {
    /// When each edit's broadcast arrived.
    received: Vec<Option<Instant>>,
    /// When this player sent each of its edits.
    sent: Vec<(usize, Instant)>,
    /// When its last own edit was acknowledged.
    last_ack: Option<Instant>,
}

/// Runs one phase of `n` edits on a fresh session of `target`: `window == 0` is the serial
/// phase (rotating sender, one edit in the room); else each player keeps `window` of its own
/// edits in flight.
fn phase(target: &Target, other_pgid: i32, n: usize, window: usize) -> Phase {
    let session = target.new_session();
    let players: Vec<Box<dyn Player>> = (0..PLAYERS).map(|k| target.join(&session, k)).collect();
    let start = Arc::new(Barrier::new(PLAYERS + 1));
    let end = Arc::new(Barrier::new(PLAYERS + 1));
    // Serial phase: how many players have each edit; the next sender waits on it.
    let delivered = Arc::new((Mutex::new(vec![0usize; n]), Condvar::new()));
    let handles: Vec<_> = players
        .into_iter()
        .enumerate()
        .map(|(k, mut p)| {
            let (start, end, delivered) = (start.clone(), end.clone(), delivered.clone());
            std::thread::spawn(move || {
                let mut seen = Seen {
                    received: vec![None; n],
                    sent: Vec::new(),
                    last_ack: None,
                };
                let (mut next, mut count, mut outstanding) = (k, 0usize, 0usize);
                start.wait();
                loop {
                    if window == 0 && next < n && count >= next {
                        // Every edit before `next` reached me; wait until it reached everyone.
                        if next > 0 {
                            let (lock, cv) = &*delivered;
                            let mut d = lock.lock().expect("lock");
                            while d[next - 1] < PLAYERS {
                                d = cv.wait(d).expect("wait");
                            }
                        }
                        seen.sent.push((next, Instant::now()));
                        p.send(&[next]);
                        next += PLAYERS;
                        continue;
                    }
                    if window > 0 && next < n && outstanding < window {
                        let mut batch = Vec::new();
                        while next < n && outstanding < window {
                            batch.push(next);
                            next += PLAYERS;
                            outstanding += 1;
                        }
                        let now = Instant::now();
                        seen.sent.extend(batch.iter().map(|&i| (i, now)));
                        p.send(&batch);
                        continue;
                    }
                    if count == n {
                        break;
                    }
                    let Some(i) = p.recv() else { continue };
                    let now = Instant::now();
                    assert!(seen.received[i].is_none(), "edit {i} broadcast twice");
                    seen.received[i] = Some(now);
                    count += 1;
                    if i % PLAYERS == k {
                        outstanding -= 1;
                        seen.last_ack = Some(now);
                    }
                    if window == 0 {
                        let (lock, cv) = &*delivered;
                        let mut d = lock.lock().expect("lock");
                        d[i] += 1;
                        if d[i] == PLAYERS {
                            cv.notify_all();
                        }
                    }
                }
                end.wait();
                p.close();
                seen
            })
        })
        .collect();
    let (cpu0, idle0) = (procs::group_cpu(target.pgid), procs::group_cpu(other_pgid));
    start.wait();
    let t0 = Instant::now();
    end.wait();
    let (cpu1, idle1) = (procs::group_cpu(target.pgid), procs::group_cpu(other_pgid));
    let seen: Vec<Seen> = handles
        .into_iter()
        .map(|h| h.join().expect("player thread"))
        .collect();
    // The closes (and the original's KV flush on the last one) are not edits: let them finish
    // before the next window opens, so they count in nobody's figures.
    procs::settle(target.pgid, SETTLE_QUIET, SETTLE_MAX);
    let last_ack = seen.iter().filter_map(|s| s.last_ack).max().unwrap_or(t0);
    let mut sent_at = vec![t0; n];
    for (i, at) in seen.iter().flat_map(|s| s.sent.iter()) {
        sent_at[*i] = *at;
    }
    let mut slowest_ms: Vec<f64> = (0..n)
        .map(|i| {
            seen.iter()
                .enumerate()
                .filter(|(k, _)| *k != i % PLAYERS)
                .map(|(_, s)| s.received[i].expect("every edit reached every player"))
                .max()
                .expect("peers")
                .duration_since(sent_at[i])
                .as_secs_f64()
                * 1000.0
        })
        .collect();
    if let Some(dir) = std::env::var_os("LVO_SERIES") {
        write_series(&dir, target.name(), window, t0, &sent_at, &slowest_ms);
    }
    slowest_ms.sort_by(f64::total_cmp);
    Phase {
        slowest_ms,
        cpu: cpu1.saturating_sub(cpu0),
        idle_cpu: idle1.saturating_sub(idle0),
        edits_per_sec: n as f64 / last_ack.duration_since(t0).as_secs_f64(),
        session,
    }
}

/// `LVO_SERIES=DIR`: each phase's edits in order, one line each (index, ms from the phase's
/// start to its send, slowest-peer ms), as `DIR/<server>-<window>-<n>.txt`, `n` counting the
/// phases of that server and window; to see whether the slow edits come together (at an alarm,
/// a compaction) or alone.
fn write_series(
    dir: &std::ffi::OsStr,
    name: &str,
    window: usize,
    t0: Instant,
    sent_at: &[Instant],
    slowest_ms: &[f64],
) {
    use std::fmt::Write as _;
    let dir = std::path::Path::new(dir);
    std::fs::create_dir_all(dir).expect("LVO_SERIES directory");
    let path = (0..)
        .map(|n| dir.join(format!("{name}-{window}-{n}.txt")))
        .find(|p| !p.exists())
        .expect("a free name");
    let mut text = String::new();
    for (i, (at, ms)) in sent_at.iter().zip(slowest_ms).enumerate() {
        let since = at.saturating_duration_since(t0).as_secs_f64() * 1000.0;
        writeln!(text, "{i} {since:.3} {ms:.3}").expect("write to a String");
    }
    std::fs::write(&path, text).expect("write the series");
}

/// One round of one server: its figures.
#[derive(Clone, Copy, Default)]
struct Round {
    p50: f64,
    p90: f64,
    p99: f64,
    /// Serial phase CPU per edit, ms.
    cpu_ms: f64,
    /// 1 in flight per player: edits/s and CPU per edit.
    w1: f64,
    w1_cpu_ms: f64,
    /// 4 in flight per player.
    w4: f64,
    w4_cpu_ms: f64,
}

fn cpu_ms_per_edit(p: &Phase, n: usize) -> f64 {
    p.cpu.as_secs_f64() * 1000.0 / n as f64
}

fn round(target: &Target, other_pgid: i32, n: usize, label: &str) -> (Round, String) {
    let serial = phase(target, other_pgid, n, 0);
    let w1 = phase(target, other_pgid, n, 1);
    let w4 = phase(target, other_pgid, n, 4);
    let r = Round {
        p50: percentile(&serial.slowest_ms, 0.5),
        p90: percentile(&serial.slowest_ms, 0.9),
        p99: percentile(&serial.slowest_ms, 0.99),
        cpu_ms: cpu_ms_per_edit(&serial, n),
        w1: w1.edits_per_sec,
        w1_cpu_ms: cpu_ms_per_edit(&w1, n),
        w4: w4.edits_per_sec,
        w4_cpu_ms: cpu_ms_per_edit(&w4, n),
    };
    let idle_ms = (serial.idle_cpu + w1.idle_cpu + w4.idle_cpu).as_secs_f64() * 1000.0;
    println!(
        "{label} {:<8} serial: slowest peer p50 {:.3} p90 {:.3} p99 {:.3} max {:.3} ms, CPU {:.3} ms/edit | 1 in flight: {:.0} edits/s, CPU {:.3} ms/edit, slowest peer p50 {:.3} p99 {:.3} ms | 4 in flight: {:.0} edits/s, CPU {:.3} ms/edit, slowest peer p50 {:.3} p99 {:.3} ms | other server idle: {idle_ms:.0} ms CPU",
        target.name(),
        r.p50,
        r.p90,
        r.p99,
        serial.slowest_ms.last().copied().unwrap_or(f64::NAN),
        r.cpu_ms,
        r.w1,
        r.w1_cpu_ms,
        percentile(&w1.slowest_ms, 0.5),
        percentile(&w1.slowest_ms, 0.99),
        r.w4,
        r.w4_cpu_ms,
        percentile(&w4.slowest_ms, 0.5),
        percentile(&w4.slowest_ms, 0.99),
    );
    (r, serial.session)
}

/// One line of the medians table: its name, the figure of a round, which way is better.
type Row = (&'static str, fn(&Round) -> f64, &'static str);

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    if v.is_empty() {
        return f64::NAN;
    }
    v[v.len() / 2]
}

struct Args {
    /// Rounds per server.
    rounds: usize,
    /// Edits per phase.
    edits: usize,
    /// Connect to each Worker's own workerd socket.
    direct: bool,
}

fn args() -> Args {
    let mut a = Args {
        rounds: 3,
        edits: 2000,
        direct: false,
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let mut number = |name: &str| -> usize {
            it.next()
                .and_then(|v| v.parse().ok())
                .unwrap_or_else(|| panic!("{name} takes a number"))
        };
        match arg.as_str() {
            "--rounds" => a.rounds = number("--rounds").max(1),
            "--edits" => a.edits = number("--edits").max(PLAYERS),
            "--direct" => a.direct = true,
            other => panic!("unknown argument {other:?} (--rounds N, --edits N, --direct)"),
        }
    }
    a
}

fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .unwrap_or_default()
        .trim()
        .to_owned()
}

fn main() {
    let a = args();
    let state_root = std::env::var_os("BENCH_STATE_DIR").map(std::path::PathBuf::from);
    println!(
        "live edits, ours vs the web original: {} rounds each, {} edits per phase, {PLAYERS} players, {} cores",
        a.rounds,
        a.edits,
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    println!("load average at start: {}", loadavg());
    let mut ours_options = Options {
        state_root: state_root.clone(),
        ..Options::default()
    };
    // `OURS_VARS="K=V,K=V"`: extra Worker variables for ours (e.g. LIVE_SYNC_DELAY_MS).
    for kv in std::env::var("OURS_VARS").unwrap_or_default().split(',') {
        if let Some((k, v)) = kv.split_once('=') {
            println!("ours with {k}={v}");
            ours_options.vars.push((k.trim().into(), v.trim().into()));
        }
    }
    let mut ours_server = Server::start_with(ours_options);
    let mut original_server = OriginalServer::start(state_root);
    let ours_pgid = procs::group_of_port(ours_server.port()).expect("our wrangler's process group");
    let original_pgid = original_server
        .pgid()
        .expect("the original's process group");
    let mut bases = (ours_server.base_url(), original_server.base_url());
    if a.direct {
        let ours_direct = ours_server.direct_base_url();
        let original_direct = procs::direct_url(
            original_pgid,
            &original_server.own_ports(),
            "\"status\":\"ok\"",
        );
        match (ours_direct, original_direct) {
            (Some(o), Some(g)) => bases = (o, g),
            (o, g) => println!(
                "--direct: workerd sockets not found for both (ours {o:?}, original {g:?}); both stay on wrangler's entry port"
            ),
        }
    }
    println!(
        "ours: {} (entry {}, process group {ours_pgid}); original: {} (entry {}, process group {original_pgid}, wrangler: {})",
        bases.0,
        ours_server.base_url(),
        bases.1,
        original_server.base_url(),
        std::env::var("ORIGINAL_WRANGLER").unwrap_or_else(|_| "ours".into())
    );
    let ours = Target {
        kind: Kind::Ours,
        base: bases.0.clone(),
        pgid: ours_pgid,
        http: ours_server.http("10.9.0.1"),
    };
    let theirs = Target {
        kind: Kind::Original,
        base: bases.1.clone(),
        pgid: original_pgid,
        http: Http::new(original_server.base_url(), "10.9.0.2"),
    };
    // Warm-up (not counted): compiles both Workers' hot paths.
    for t in [&ours, &theirs] {
        let _ = phase(t, 0, 200, 0);
        let _ = phase(t, 0, 200, 4);
    }
    for t in [&ours, &theirs] {
        procs::settle(t.pgid, SETTLE_QUIET, SETTLE_MAX);
    }
    let mut results: Vec<(Round, Round)> = Vec::new();
    let mut last_sessions = (String::new(), String::new());
    for r in 1..=a.rounds {
        let (o, os) = round(&ours, theirs.pgid, a.edits, &format!("round {r}"));
        let (g, gs) = round(&theirs, ours.pgid, a.edits, &format!("round {r}"));
        results.push((o, g));
        last_sessions = (os, gs);
    }
    let med = |f: fn(&Round) -> f64, ours: bool| {
        median(
            results
                .iter()
                .map(|(o, g)| f(if ours { o } else { g }))
                .collect(),
        )
    };
    println!("medians of {} rounds (ours / original = ratio):", a.rounds);
    let rows: [Row; 8] = [
        ("slowest-peer p50, ms", |r| r.p50, "lower is better"),
        ("slowest-peer p90, ms", |r| r.p90, "lower is better"),
        ("slowest-peer p99, ms", |r| r.p99, "lower is better"),
        ("CPU per edit (serial), ms", |r| r.cpu_ms, "lower is better"),
        (
            "throughput, 1 in flight, edits/s",
            |r| r.w1,
            "higher is better",
        ),
        (
            "CPU per edit (1 in flight), ms",
            |r| r.w1_cpu_ms,
            "lower is better",
        ),
        (
            "throughput, 4 in flight, edits/s",
            |r| r.w4,
            "higher is better",
        ),
        (
            "CPU per edit (4 in flight), ms",
            |r| r.w4_cpu_ms,
            "lower is better",
        ),
    ];
    for (name, f, better) in rows {
        let (o, g) = (med(f, true), med(f, false));
        println!(
            "  {name:<34} ours {o:>9.3}  original {g:>9.3}  ratio {:.2} ({better})",
            o / g
        );
    }
    // Durability: kill both (SIGKILL, nothing flushes), restart, read the last serial session.
    let expected = expected_grid(a.edits);
    ours_server.kill();
    original_server.kill();
    ours_server.start_again();
    original_server.start_again();
    for (t, id) in [(&ours, &last_sessions.0), (&theirs, &last_sessions.1)] {
        let got = t.grid(id);
        let cells = TRACKS * STEPS;
        let same = (0..TRACKS)
            .flat_map(|tr| (0..STEPS).map(move |s| (tr, s)))
            .filter(|&(tr, s)| got[tr].get(s) == Some(&expected[tr][s]))
            .count();
        println!(
            "after SIGKILL and restart, {}: {same}/{cells} cells of the last serial session as its {} edits left them{}",
            t.name(),
            a.edits,
            if same == cells { "" } else { "  <-- EDITS LOST" }
        );
    }
    println!("load average at end: {}", loadavg());
}
