//! Benchmark of the real Worker under `wrangler dev` on loopback. Prints numbers; asserts
//! nothing about speed.
//!
//! `cargo run -p keyboardia-tests --release --example worker_bench`
//!
//! - edit-to-peer delivery latency (p50/p99/max) with 10 players, each sending paced edits;
//! - set-step ops per second one session sustains (every op written to the Durable Object's
//!   SQLite storage before it is broadcast or acknowledged), with 10 and with 1 sending player;
//! - bytes of a set-step message (client → server and the broadcast) and of the join snapshot
//!   of full 16-track sessions.

use keyboardia_core::PatternId;
use std::collections::HashMap;
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use keyboardia_core::protocol::{Broadcast, ClientMessage, ServerMessage};
use keyboardia_core::{Lock, Op, SessionId, SessionState, Track, TrackId};
use keyboardia_tests::server::{Http, LiveClient, Options, RecvError, Server};

fn track_id(i: usize) -> TrackId {
    format!("t{i}").parse().unwrap()
}

fn sixteen_tracks() -> SessionState {
    let mut s = SessionState::default();
    for i in 0..16 {
        s.tracks.push(Track::new(
            track_id(i),
            format!("Track {i}"),
            "kick".parse().unwrap(),
        ));
    }
    s
}

fn new_session(http: &Http, state: &SessionState) -> SessionId {
    let id = http.create_session().id;
    let r = http.put(
        &id.to_string(),
        serde_json::to_string(state).unwrap().as_bytes(),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    id
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[i]
}

fn step_op(r: u64) -> Op {
    Op::SetStep {
        pt: PatternId::A,
        tr: track_id((r % 16) as usize),
        s: ((r >> 8) % 64) as u8,
        on: (r >> 16) & 1 == 1,
    }
}

/// 10 players; each sends `per_player` set-steps, spread evenly over the run (the whole room
/// sends `rate` ops per second). Returns the edit-to-peer delays in ms and the sender's own
/// round trips (edit to acknowledgement).
fn latency(base_url: &str, http: &Http, per_player: usize, rate: f64) -> (Vec<f64>, Vec<f64>) {
    const PLAYERS: usize = 10;
    let id = new_session(http, &sixteen_tracks());
    let total = PLAYERS * per_player;
    let base = Instant::now() + Duration::from_millis(1500);
    let barrier = Arc::new(Barrier::new(PLAYERS));
    let handles: Vec<_> = (0..PLAYERS)
        .map(|k| {
            let (url, barrier) = (base_url.to_owned(), barrier.clone());
            std::thread::spawn(move || {
                let mut c = LiveClient::join(&url, id, &format!("p{k}"));
                barrier.wait();
                let me = c.you();
                let mut sent: HashMap<u32, Instant> = HashMap::new();
                let mut got: Vec<(u32, u32, Instant)> = Vec::new(); // (by, op, at)
                let mut next = 0usize;
                let mut seen = 0usize;
                let interval = Duration::from_secs_f64(1.0 / rate);
                while seen < total {
                    let due =
                        (next < per_player).then(|| base + interval * (next * PLAYERS + k) as u32);
                    let now = Instant::now();
                    if due.is_some_and(|d| d <= now) {
                        let op = c.edit(step_op((k * 7919 + next * 104_729) as u64));
                        sent.insert(op, Instant::now());
                        next += 1;
                        continue;
                    }
                    let wait = due
                        .map(|d| d.saturating_duration_since(now))
                        .unwrap_or(Duration::from_secs(10))
                        .max(Duration::from_micros(100));
                    c.set_timeout(Some(wait));
                    match c.try_recv() {
                        Ok(ServerMessage::Applied(Broadcast { by, op, .. })) => {
                            got.push((by, op, Instant::now()));
                            seen += 1;
                        }
                        Ok(ServerMessage::Error(e)) => panic!("refused: {e:?}"),
                        Ok(_) | Err(RecvError::Timeout) => {}
                        Err(e) => panic!("player {k}: {e:?}"),
                    }
                }
                c.close();
                (me, sent, got)
            })
        })
        .collect();
    let results: Vec<_> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    let sends: HashMap<(u32, u32), Instant> = results
        .iter()
        .flat_map(|(me, sent, _)| sent.iter().map(move |(op, t)| ((*me, *op), *t)))
        .collect();
    let (mut peer, mut own) = (Vec::new(), Vec::new());
    for (me, _, got) in &results {
        for (by, op, at) in got {
            let sent_at = sends[&(*by, *op)];
            let ms = at.duration_since(sent_at).as_secs_f64() * 1000.0;
            if by == me {
                own.push(ms);
            } else {
                peer.push(ms);
            }
        }
    }
    peer.sort_by(f64::total_cmp);
    own.sort_by(f64::total_cmp);
    (peer, own)
}

/// `players` players each send `per_player` set-steps as fast as the room acknowledges them
/// (at most `window` unacknowledged each), and read every broadcast. Returns ops/s.
fn throughput(
    base_url: &str,
    http: &Http,
    players: usize,
    per_player: usize,
    window: usize,
) -> (f64, usize) {
    let id = new_session(http, &sixteen_tracks());
    let total = players * per_player;
    let barrier = Arc::new(Barrier::new(players + 1));
    let handles: Vec<_> = (0..players)
        .map(|k| {
            let (url, barrier) = (base_url.to_owned(), barrier.clone());
            std::thread::spawn(move || {
                let mut c = LiveClient::join(&url, id, &format!("p{k}"));
                let me = c.you();
                barrier.wait();
                let (mut sent, mut acked, mut seen, mut refused) = (0, 0, 0, 0);
                let mut r = 0x2545_F491_4F6C_DD1D_u64 ^ k as u64;
                while seen + refused < total || acked + refused < per_player {
                    if sent < per_player && sent - acked - refused < window {
                        let batch: Vec<ClientMessage> = (0..(window - (sent - acked - refused))
                            .min(per_player - sent))
                            .map(|_| {
                                r ^= r << 13;
                                r ^= r >> 7;
                                r ^= r << 17;
                                sent += 1;
                                ClientMessage::Edit {
                                    op: sent as u32,
                                    edit: step_op(r),
                                }
                            })
                            .collect();
                        c.send_batch(&batch);
                    }
                    match c.recv() {
                        ServerMessage::Applied(b) => {
                            seen += 1;
                            if b.by == me {
                                acked += 1;
                            }
                        }
                        ServerMessage::Error(_) => refused += 1,
                        _ => {}
                    }
                    if seen + refused >= total && acked + refused >= per_player {
                        break;
                    }
                }
                c.close();
                refused
            })
        })
        .collect();
    barrier.wait();
    let start = Instant::now();
    let refused: usize = handles.into_iter().map(|h| h.join().unwrap()).sum();
    let secs = start.elapsed().as_secs_f64();
    ((total - refused) as f64 / secs, refused)
}

/// A 16-track session at its fullest musical use: every track 64 steps long, every step on,
/// accents on every 4th step and a pitch lock on every 8th.
fn full_session() -> SessionState {
    let mut s = sixteen_tracks();
    for t in &mut s.tracks {
        t.step_count = 64;
        for (i, step) in t.steps.iter_mut().enumerate() {
            step.on = true;
            if i % 4 == 0 {
                step.velocity = 127;
            }
            if i % 8 == 0 {
                step.locks.set(Lock::Pitch(12));
            }
        }
    }
    s
}

/// Every step of every track with its own velocity and all five locks: the largest session the
/// model allows (with 8-byte ids and short names).
fn worst_case_session() -> SessionState {
    let mut s = full_session();
    for t in &mut s.tracks {
        for (i, step) in t.steps.iter_mut().enumerate() {
            step.velocity = 1 + (i as u8 % 126);
            step.locks.set(Lock::Pitch(-12));
            step.locks.set(Lock::Volume(0.5));
            step.locks.set(Lock::Probability(50));
            step.locks.set(Lock::Nudge(-10));
            step.locks.set(Lock::Ratchet(2));
        }
    }
    s
}

fn snapshot_bytes(server: &Server, http: &Http, state: &SessionState) -> (usize, usize) {
    let id = new_session(http, state);
    let c = LiveClient::join(&server.base_url(), id, "measure");
    let n = c.snapshot_frame_len;
    let doc = http.get(&id.to_string()).body.len();
    c.close();
    (n, doc)
}

fn main() {
    // BENCH_STATE_DIR=/dev/shm keeps the Durable Object's SQLite on tmpfs (no disk flushes).
    let server = Server::start_with(Options {
        state_root: std::env::var_os("BENCH_STATE_DIR").map(Into::into),
        ..Options::default()
    });
    let http = server.http("10.9.0.1");
    println!(
        "keyboardia worker benchmark: wrangler dev on 127.0.0.1:{} ({} cores)",
        server.port(),
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );

    let only = std::env::var("BENCH_ONLY").unwrap_or_default();
    if only.is_empty() || only == "sizes" {
        sizes(&server, &http);
    }
    let mut paths = vec![("through wrangler dev's proxy", server.base_url())];
    match server.direct_base_url() {
        Some(direct) => paths.push(("direct to the Worker's workerd", direct)),
        None => println!("(the Worker's own workerd port was not found; proxy path only)"),
    }
    // The machine may be shared: every measurement runs BENCH_RUNS times (default 3); each run
    // is printed, then the median run.
    let runs: usize = std::env::var("BENCH_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3)
        .max(1);
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!("load average before: {}", load.trim());
    for (path, base) in &paths {
        println!("-- {path} ({base})");
        if only.is_empty() || only == "latency" {
            // Warm up the isolate and the DO code paths.
            let _ = latency(base, &http, 20, 400.0);
            let mut p50s = Vec::new();
            let mut p99s = Vec::new();
            for run in 1..=runs {
                let (peer, own) = latency(base, &http, 200, 500.0);
                let (p50, p99) = (percentile(&peer, 0.5), percentile(&peer, 0.99));
                println!(
                    "  run {run}: edit-to-peer latency, 10 players, 500 ops/s total, {} deliveries: p50 {p50:.3} ms, p99 {p99:.3} ms, max {:.3} ms; sender's edit-to-ack p50 {:.3} ms, p99 {:.3} ms",
                    peer.len(),
                    peer.last().copied().unwrap_or(f64::NAN),
                    percentile(&own, 0.5),
                    percentile(&own, 0.99)
                );
                p50s.push(p50);
                p99s.push(p99);
            }
            p50s.sort_by(f64::total_cmp);
            p99s.sort_by(f64::total_cmp);
            println!(
                "edit-to-peer latency (median of {runs} runs): p50 {:.3} ms, p99 {:.3} ms (target p99 <= 1.5 ms: {})",
                p50s[runs / 2],
                p99s[runs / 2],
                if p99s[runs / 2] <= 1.5 { "met" } else { "not met" }
            );
        }
        if only.is_empty() || only == "throughput" {
            for (players, per_player, window) in [(10, 800, 32), (1, 900, 64)] {
                let mut all = Vec::new();
                for run in 1..=runs {
                    let (ops, refused) = throughput(base, &http, players, per_player, window);
                    println!("  run {run}: {players} player(s) sending {per_player} set-steps each: {ops:.0} ops/s ({refused} refused)");
                    all.push(ops);
                }
                all.sort_by(f64::total_cmp);
                println!(
                    "throughput, {players} player(s) sending, every player reading every broadcast (median of {runs} runs): {:.0} set-step ops/s, each durable before broadcast (target >= 3000: {})",
                    all[runs / 2],
                    if all[runs / 2] >= 3000.0 { "met" } else { "not met" }
                );
            }
        }
    }
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!("load average after: {}", load.trim());
}

fn sizes(server: &Server, http: &Http) {
    let set_step = ClientMessage::Edit {
        op: 1234,
        edit: Op::SetStep {
            pt: PatternId::A,
            tr: "kick".parse().unwrap(),
            s: 15,
            on: true,
        },
    }
    .encode();
    let broadcast = ServerMessage::Applied(Broadcast {
        edit: Op::SetStep {
            pt: PatternId::A,
            tr: "kick".parse().unwrap(),
            s: 15,
            on: true,
        },
        seq: 123_456,
        by: 3,
        op: 1234,
    })
    .encode();
    println!(
        "set-step message: {} bytes client->server ({set_step}), {} bytes broadcast ({broadcast})",
        set_step.len(),
        broadcast.len()
    );
    for (name, state) in [
        ("16 tracks x 16 steps, empty", sixteen_tracks()),
        ("demo beat (8 tracks)", SessionState::demo()),
        (
            "full: 16 tracks x 64 steps all on, accents, pitch locks",
            full_session(),
        ),
        (
            "worst case: every step with velocity and all 5 locks",
            worst_case_session(),
        ),
    ] {
        let (snap, doc) = snapshot_bytes(server, http, &state);
        println!("snapshot frame, {name}: {snap} bytes (REST document {doc} bytes)");
        if name.starts_with("full") {
            println!(
                "  target: a full 16-track session's snapshot <= 8 KB (8192 bytes): {}",
                if snap <= 8192 { "met" } else { "not met" }
            );
        }
    }
}
