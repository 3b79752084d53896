//! Sync benchmark against the real Worker under `wrangler dev` (prints numbers, asserts nothing):
//! - clock offset error p50/p99/max on loopback and through a 50 ± 20 ms, 2 % loss proxy, two
//!   players each, read every 100 ms against this machine's wall clock (the Worker's), while the
//!   clock locks and in steady state, with the pings each player sends per minute in steady
//!   state (the ping schedule backs off to one every 24 s once the clock is locked);
//! - edit-to-peer latency between two sync clients: from player A's `edit()` until player B's
//!   sync thread hands the new state to its sink (where the plugin passes it to the audio thread,
//!   which picks it up at its next block).
//!
//! `cargo run --release -p keyboardia-tests --example sync_bench -- [MINUTES] [STEADY_FROM_MIN]`
//! (defaults 25 and 20: the ping interval reaches 24 s soon after the samples span 15 minutes,
//! by about minute 17). A third argument, `MAX_PING_MS`, sets another longest ping interval than
//! the client's 24 s (e.g. `-- 30 25 30000`: 30 s, reached as soon); a fourth,
//! `PAIR_FROM_MS`, the interval from which pings go in pairs (`never`: single pings; e.g.
//! `-- 25 20 24000 never`).
//!
//! With `SYNC_BENCH_ROOMS=2` the proxied players are in a room of their own (by default all
//! four share one, and the loopback players' pings wake the object before the proxied ones
//! arrive). With `SYNC_BENCH_SAMPLES=DIR` set, every clock sample of the four players is written to
//! `DIR/loopback.csv` and `DIR/proxy.csv` with the true offset (see `clock_run`).
//!
//! `sync_bench -- probe [N] [INTERVAL_MS]` instead times each leg of N raw pings (default 300,
//! 100 ms apart) on both paths (the server's
//! clock is this machine's) and how late the proxy released its frames: how asymmetric the
//! paths are, which no two-way exchange can see.

use keyboardia_core::PatternId;
use std::time::{Duration, Instant};

use keyboardia_core::protocol::{ClientMessage, ServerMessage};
use keyboardia_core::{Op, SessionId, SessionState, TrackId};
use keyboardia_sync::SyncEvent;
use keyboardia_tests::netem::{Impairment, Proxy};
use keyboardia_tests::players::{create_session, unix_ms, wait_until, Player};
use keyboardia_tests::server::{LiveClient, Server};

fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

/// What two players measured of their clocks: errors (ms) and clock samples per minute.
struct ClockRun {
    /// |estimate - truth| every 100 ms from the start to `steady`, sorted.
    locking: Vec<f64>,
    /// The same from `steady` on, sorted.
    steady: Vec<f64>,
    /// Pongs each player received per minute from `steady` on (one per ping sent).
    pings_per_min: Vec<f64>,
    /// The mean signed error (estimate - truth, ms) from `steady` on: a bias, where the
    /// spread about it is the estimator's noise.
    steady_bias_ms: f64,
}

/// Ping schedule settings other than the client's.
#[derive(Clone, Copy, Debug, Default)]
struct Tuning {
    /// The longest ping interval.
    ping_max: Option<Duration>,
    /// The interval from which pings go in pairs ([`Duration::MAX`]: never).
    pair_from: Option<Duration>,
}

/// Two players on `base`: their clock error and ping rate over `minutes`, steady from
/// `steady_min` on. Runs on its own thread so the loopback and proxy runs share the minutes.
///
/// With `samples` set, every clock sample each player takes is written there as a CSV line:
/// `path,player,offset,rtt,at,truth` (the sample's fields, local ms; `truth`: the true
/// server-minus-local offset, this machine's wall clock minus the player's local clock, read
/// within 100 ms of the sample), to replay or to split into legs.
fn clock_run(
    base: String,
    id: SessionId,
    minutes: f64,
    steady_min: f64,
    tuning: Tuning,
    samples_to: Option<(String, std::path::PathBuf)>,
) -> ClockRun {
    let mut taps = Vec::new();
    let mut ps: Vec<Player> = (0..2)
        .map(|i| {
            let mut config = Player::config(&format!("clock{i}"));
            if let Some(max) = tuning.ping_max {
                config.ping_max_interval = max;
            }
            if let Some(from) = tuning.pair_from {
                config.ping_pair_from = from;
            }
            if samples_to.is_some() {
                let (tx, rx) = std::sync::mpsc::channel();
                config.clock_samples = Some(tx);
                taps.push(rx);
            }
            Player::start_with(&base, id, config, SessionState::default(), vec![])
        })
        .collect();
    let mut out = samples_to.map(|(what, path)| {
        let f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .expect("the samples file");
        (what, std::io::BufWriter::new(f))
    });
    let (a, b) = ps.split_at_mut(1);
    wait_until("joined", &mut [&mut a[0], &mut b[0]], |p| {
        p.iter().all(|p| p.joined)
    });
    let start = Instant::now();
    let steady = Duration::from_secs_f64(steady_min * 60.0);
    let end = Duration::from_secs_f64(minutes * 60.0);
    let (mut locking, mut steady_errors) = (Vec::new(), Vec::new());
    let mut signed_sum = 0.0;
    let mut samples_at_steady: Option<Vec<u64>> = None;
    while start.elapsed() < end {
        std::thread::sleep(Duration::from_millis(100));
        let in_steady = start.elapsed() >= steady;
        if let Some((what, f)) = out.as_mut() {
            use std::io::Write;
            for (k, (p, rx)) in ps.iter().zip(&taps).enumerate() {
                let truth = unix_ms() - p.sync.clock().local().now_ms();
                for s in rx.try_iter() {
                    writeln!(f, "{what},{k},{},{},{},{truth}", s.offset, s.rtt, s.at)
                        .expect("write a sample");
                }
            }
        }
        for p in ps.iter_mut() {
            p.pump();
            let clock = p.sync.clock().clone();
            // Before the first pong there is no estimate to judge.
            let Some(c) = clock.read().filter(|c| c.samples > 0) else {
                continue;
            };
            let signed = c.offset_ms - (unix_ms() - clock.local().now_ms());
            let err = signed.abs();
            if in_steady {
                signed_sum += signed;
                steady_errors.push(err);
            } else {
                locking.push(err);
            }
        }
        if in_steady && samples_at_steady.is_none() {
            samples_at_steady = Some(samples(&ps));
        }
    }
    if let Some((_, f)) = out.as_mut() {
        use std::io::Write;
        f.flush().expect("flush the samples");
    }
    let first = samples_at_steady.unwrap_or_else(|| samples(&ps));
    let span = minutes - steady_min;
    let pings_per_min = samples(&ps)
        .iter()
        .zip(first)
        .map(|(last, first)| (last - first) as f64 / span)
        .collect();
    locking.sort_by(f64::total_cmp);
    steady_errors.sort_by(f64::total_cmp);
    ClockRun {
        locking,
        steady_bias_ms: signed_sum / steady_errors.len().max(1) as f64,
        steady: steady_errors,
        pings_per_min,
    }
}

/// Each player's clock samples taken on its connection.
fn samples(ps: &[Player]) -> Vec<u64> {
    ps.iter()
        .map(|p| p.sync.clock().read().map_or(0, |c| c.samples))
        .collect()
}

fn report(what: &str, run: &ClockRun, steady_min: f64, minutes: f64) {
    let line = |errors: &[f64]| {
        if errors.is_empty() {
            return "no samples".to_owned();
        }
        format!(
            "p50 {:.3} ms  p99 {:.3} ms  max {:.3} ms",
            percentile(errors, 0.5),
            percentile(errors, 0.99),
            errors[errors.len() - 1]
        )
    };
    println!(
        "clock offset error, {what}, minutes {steady_min}-{minutes} (steady): {}  mean signed {:+.3} ms  pings/min per player: {}",
        line(&run.steady),
        run.steady_bias_ms,
        run.pings_per_min
            .iter()
            .map(|r| format!("{r:.2}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    println!(
        "clock offset error, {what}, minutes 0-{steady_min} (locking): {}",
        line(&run.locking)
    );
}

/// `n` raw pings `every` apart on `base`: (sent, the server's stamp, received) each, on this
/// machine's wall clock (the Worker's).
fn raw_pings(base: &str, id: SessionId, n: usize, every: Duration) -> Vec<(f64, f64, f64)> {
    let mut c = LiveClient::join(base, id, "probe");
    let mut pings = Vec::new();
    for _ in 0..n {
        let sent = unix_ms();
        c.send(&ClientMessage::Ping { c: sent });
        let s = loop {
            if let ServerMessage::Pong { c, s } = c.recv() {
                if c == sent {
                    break s;
                }
            }
        };
        pings.push((sent, s, unix_ms()));
        std::thread::sleep(every);
    }
    pings
}

fn sorted(mut v: Vec<f64>) -> Vec<f64> {
    v.sort_by(f64::total_cmp);
    v
}

fn spread(d: &[f64]) -> String {
    format!(
        "min {:.3}  p5 {:.3}  p50 {:.3}  p95 {:.3}",
        d[0],
        percentile(d, 0.05),
        percentile(d, 0.5),
        percentile(d, 0.95)
    )
}

/// `sync_bench -- probe [N] [INTERVAL_MS]`: how asymmetric each path is. A two-way exchange
/// cannot see it (the clock estimate errs by half the difference of the fastest legs), but on
/// one machine the server's clock is ours, so each leg can be timed on its own, and through
/// the proxy each leg's parts: to the proxy, held there, from the proxy.
fn probe(n: usize, every: Duration) {
    let server = Server::start();
    let base = server.base_url();
    let id = create_session(&base, &SessionState::demo());
    let proxy = Proxy::start(format!("127.0.0.1:{}", server.port()).parse().unwrap(), BAD);
    let proxied = format!("http://{}", proxy.addr);
    // A session each: a room's pings do not queue behind the other path's.
    let other = create_session(&base, &SessionState::demo());
    let runs = [(base, id), (proxied, other)]
        .map(|(b, id)| std::thread::spawn(move || raw_pings(&b, id, n, every)));
    let mut proxied_pings = Vec::new();
    for (k, (what, run)) in ["loopback via wrangler dev", "50±20 ms + 2% loss proxy"]
        .iter()
        .zip(runs)
        .enumerate()
    {
        let pings = run.join().expect("probe");
        // The Worker's stamps are whole milliseconds cut down: read as the middle of theirs.
        let up = sorted(pings.iter().map(|(c, s, _)| s + 0.5 - c).collect());
        let down = sorted(pings.iter().map(|(_, s, r)| r - s - 0.5).collect());
        println!(
            "{what}, {n} pings {every:?} apart: to the server {}",
            spread(&up)
        );
        println!(
            "{what}, {n} pings {every:?} apart: to the client {}",
            spread(&down)
        );
        println!(
            "{what}: the fastest leg to the client minus the fastest to the server: min {:+.3} ms, p5 {:+.3} ms (the clock errs by minus half of it)",
            down[0] - up[0],
            percentile(&down, 0.05) - percentile(&up, 0.05)
        );
        if k == 1 {
            proxied_pings = pings;
        }
    }
    // Each proxied ping's legs in parts, matched to the proxy's chunks by time: the first
    // chunk to the server read after the ping was sent, the last to the client written
    // before the pong was received.
    let [to_server, to_client] = proxy.releases();
    let (mut parts_up, mut parts_down): ([Vec<f64>; 3], [Vec<f64>; 3]) = Default::default();
    for (c, s, r) in &proxied_pings {
        let s = s + 0.5;
        let up = to_server.iter().find(|x| x.arrived_ms >= *c - 0.01);
        let down = to_client.iter().rev().find(|x| x.released_ms <= *r + 0.01);
        if let (Some(u), Some(d)) = (up, down) {
            if u.released_ms > s + 0.5 || d.arrived_ms < s - 0.5 {
                continue; // not this ping's chunks
            }
            for (v, x) in parts_up.iter_mut().zip([
                u.arrived_ms - c,
                u.released_ms - u.arrived_ms - u.delay_ms,
                s - u.released_ms,
            ]) {
                v.push(x);
            }
            for (v, x) in parts_down.iter_mut().zip([
                d.arrived_ms - s,
                d.released_ms - d.arrived_ms - d.delay_ms,
                r - d.released_ms,
            ]) {
                v.push(x);
            }
        }
    }
    for (what, parts) in [("to the server", parts_up), ("to the client", parts_down)] {
        let [a, b, c] = parts.map(sorted);
        if a.is_empty() {
            continue;
        }
        println!(
            "proxied, {what}, {} pings: into the proxy {}; held past the chosen delay {}; out of the proxy to the stamp or read {}",
            a.len(),
            spread(&a),
            spread(&b),
            spread(&c)
        );
    }
    print_lateness(&proxy);
}

/// How late the proxy released its frames, each way.
fn print_lateness(proxy: &Proxy) {
    let [to_server, to_client] = proxy.lateness();
    for (what, l) in [("to the server", to_server), ("to the client", to_client)] {
        if !l.is_empty() {
            println!(
                "proxy's release past the chosen instant, {what}: {} frames, {}  max {:.3} ms",
                l.len(),
                spread(&l),
                l[l.len() - 1]
            );
        }
    }
}

const BAD: Impairment = Impairment {
    delay_ms: 50.0,
    jitter_ms: 20.0,
    loss: 0.02,
    rto_ms: 200.0,
};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("probe") {
        let n = args.get(1).map_or(300, |a| a.parse().expect("a count"));
        let every = args
            .get(2)
            .map_or(100, |a| a.parse().expect("an interval (ms)"));
        return probe(n, Duration::from_millis(every));
    }
    let arg = |i: usize, default: f64| -> f64 {
        args.get(i)
            .map(|a| a.parse().unwrap_or_else(|_| panic!("not a number: {a}")))
            .unwrap_or(default)
    };
    let (minutes, steady_min) = (arg(0, 25.0), arg(1, 20.0));
    // The longest ping interval, to measure another than the client's (24 s), and the
    // interval from which pings go in pairs (`never`: single pings, as before pairs).
    let ping_max = args
        .get(2)
        .map(|_| Duration::from_secs_f64(arg(2, 0.0) / 1000.0));
    let pair_from = args.get(3).map(|a| match a.as_str() {
        "never" => Duration::MAX,
        _ => Duration::from_secs_f64(arg(3, 0.0) / 1000.0),
    });
    let tuning = Tuning {
        ping_max,
        pair_from,
    };
    let server = Server::start();
    let base = server.base_url();
    let id = create_session(&base, &SessionState::demo());

    let proxy = Proxy::start(format!("127.0.0.1:{}", server.port()).parse().unwrap(), BAD);
    let defaults = keyboardia_sync::SyncConfig::default();
    let own_room = std::env::var("SYNC_BENCH_ROOMS").as_deref() == Ok("2");
    println!(
        "clock: 2 players on loopback and 2 through the proxy ({}) for {minutes} min (steady from {steady_min} min), longest ping interval {:?}, pairs from {:?}",
        if own_room { "a room of their own" } else { "one room" },
        ping_max.unwrap_or(defaults.ping_max_interval),
        pair_from.unwrap_or(defaults.ping_pair_from)
    );
    // SYNC_BENCH_SAMPLES=DIR: each path's clock samples go to DIR/loopback.csv and
    // DIR/proxy.csv (see `clock_run`).
    let dir = std::env::var_os("SYNC_BENCH_SAMPLES").map(std::path::PathBuf::from);
    let to = |what: &str| {
        dir.as_ref()
            .map(|d| (what.to_owned(), d.join(format!("{what}.csv"))))
    };
    let loopback = {
        let (base, to) = (base.clone(), to("loopback"));
        std::thread::spawn(move || clock_run(base, id, minutes, steady_min, tuning, to))
    };
    // SYNC_BENCH_ROOMS=2: the proxied players in a room of their own, as a room of remote
    // players is (in one room the loopback players' pings wake the object for theirs).
    let proxied_id = if own_room {
        create_session(&base, &SessionState::demo())
    } else {
        id
    };
    let proxied = {
        let (base, to) = (format!("http://{}", proxy.addr), to("proxy"));
        std::thread::spawn(move || clock_run(base, proxied_id, minutes, steady_min, tuning, to))
    };
    let loopback = loopback.join().expect("loopback run");
    let proxied = proxied.join().expect("proxy run");
    report("loopback via wrangler dev", &loopback, steady_min, minutes);
    report("50±20 ms + 2% loss proxy", &proxied, steady_min, minutes);
    print_lateness(&proxy);

    // Edit-to-peer latency: A switches a cell, B's sink sees it.
    let mut a = Player::start(&base, id, "A", SessionState::default(), vec![]);
    let mut b = Player::start(&base, id, "B", SessionState::default(), vec![]);
    wait_until("both joined", &mut [&mut a, &mut b], |p| {
        p.iter().all(|p| p.joined)
    });
    let kick: TrackId = "kick".parse().unwrap();
    let mut lat = Vec::new();
    for i in 0..300u32 {
        let on = i % 2 == 0;
        let s = (i % 64) as u8;
        b.pump();
        let t0 = Instant::now();
        a.edit(Op::SetStep {
            pt: PatternId::A,
            tr: kick,
            s,
            on,
        });
        loop {
            match b
                .events
                .recv_timeout(Duration::from_secs(5))
                .expect("B saw the edit")
            {
                SyncEvent::State(st) if st.track(kick).unwrap().steps[s as usize].on == on => break,
                _ => {}
            }
        }
        lat.push(t0.elapsed().as_secs_f64() * 1000.0);
        a.pump();
        std::thread::sleep(Duration::from_millis(3));
    }
    lat.sort_by(f64::total_cmp);
    println!(
        "edit-to-peer latency (A edit -> B engine hand-off), 300 edits: p50 {:.3} ms  p99 {:.3} ms  max {:.3} ms",
        percentile(&lat, 0.5),
        percentile(&lat, 0.99),
        lat[lat.len() - 1]
    );
    println!("(audible adds at most one audio block, e.g. 1.33 ms at 64 frames / 48 kHz, before the step plays)");
}
