//! The idle-room benchmark: silent players in one room under `wrangler dev`, and how often they
//! wake its Durable Object. Every handler invocation of the object (WebSocket message, alarm,
//! fetch, close) logs one line when the Worker runs with `LOG_WAKES=1`
//! (`worker/src/wasm/live.rs`); this counts them per idle minute, by kind, and groups them into
//! wakes (invocations less than 10 s apart: Cloudflare lets an idle object hibernate after 10 s).
//!
//! ```text
//! cargo run -p keyboardia-tests --release --example wake_bench -- [WARMUP_MIN] [MINUTES] [PLAYERS] [FIXED_PING_MS|-] [EDITS_PER_MIN] [unaligned]
//! ```
//! Defaults: 20 minutes of warm-up (the players' clocks lock and their pings back off), then 5
//! measured minutes, 4 players. Nobody edits. `FIXED_PING_MS` pins the ping interval instead
//! (`500` is the schedule before issue 19: two pings a second per player, forever), e.g.
//! `-- 1 3 4 500`; `-` keeps the adaptive schedule. `EDITS_PER_MIN` makes the first player edit
//! (a step on, then off) at that rate: an active room, for the cost model in `docs/scale.md`.
//! A sixth argument `unaligned` turns off the pings' alignment on the room's grid of server
//! time (`ClientConfig::ping_align`), to measure what it saves. The players join 7 s apart.

use std::time::{Duration, Instant};

use std::sync::{mpsc, Arc};

use keyboardia_core::SessionState;
use keyboardia_sync::{Server as Link, SharedClock, SyncConfig, SyncHandle};
use keyboardia_tests::players::{create_session, unix_ms, Player};
use keyboardia_tests::server::{Options, Server};

/// A silent player: its ping interval pinned to `fixed_ms` (the schedule before issue 19 at
/// 500) or adaptive, its pings on the room's grid of server time or not (`align`).
fn silent_player(
    base: &str,
    id: keyboardia_core::SessionId,
    name: &str,
    fixed_ms: Option<u64>,
    align: bool,
) -> Player {
    let (tx, rx) = mpsc::channel();
    let mut config = SyncConfig {
        name: name.into(),
        ping_align: align,
        ..SyncConfig::default()
    };
    if let Some(ms) = fixed_ms {
        config.ping_lock_interval = Duration::from_millis(ms);
        config.ping_max_interval = Duration::from_millis(ms);
    }
    let sync = SyncHandle::start(
        Link::new(base).unwrap(),
        id,
        config,
        SessionState::default(),
        vec![],
        Arc::new(SharedClock::default()),
        move |e| {
            let _ = tx.send(e);
        },
    )
    .unwrap();
    Player {
        sync,
        events: rx,
        state: SessionState::default(),
        joined: false,
        offline_delays: Vec::new(),
        rejected: 0,
    }
}

/// One logged invocation: (kind, server ms).
fn wakes(log: &str) -> Vec<(String, f64)> {
    log.lines()
        .filter_map(|l| {
            let rest = &l[l.find("keyboardia-wake ")? + "keyboardia-wake ".len()..];
            let mut parts = rest.split_whitespace();
            let kind = parts.next()?.to_owned();
            let _object = parts.next()?;
            // wrangler colours its warnings: the time is the token's leading digits.
            let ms = parts.next()?;
            let digits = ms.find(|c: char| !c.is_ascii_digit()).unwrap_or(ms.len());
            let ms = ms[..digits].parse().ok()?;
            Some((kind, ms))
        })
        .collect()
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let arg = |i: usize, default: f64| -> f64 {
        args.get(i)
            .map(|a| a.parse().unwrap_or_else(|_| panic!("not a number: {a}")))
            .unwrap_or(default)
    };
    let (warmup_min, minutes, players) = (arg(0, 20.0), arg(1, 5.0), arg(2, 4.0) as usize);
    let fixed = args
        .get(3)
        .filter(|a| a.as_str() != "-")
        .map(|_| arg(3, 500.0) as u64);
    let edits_per_min = arg(4, 0.0);
    let align = args.get(5).is_none_or(|a| a != "unaligned");
    let mut options = Options::default();
    options.vars.push(("LOG_WAKES".into(), "1".into()));
    let server = Server::start_with(options);
    let base = server.base_url();
    let id = create_session(&base, &SessionState::demo());
    // The players come in 7 s apart, as people join a room one by one.
    let mut ps: Vec<Player> = Vec::new();
    for i in 0..players {
        if i > 0 {
            std::thread::sleep(Duration::from_secs(7));
        }
        ps.push(silent_player(&base, id, &format!("p{i}"), fixed, align));
        for p in ps.iter_mut() {
            p.pump();
        }
    }
    let deadline = Instant::now() + Duration::from_secs(30);
    while !ps.iter_mut().all(|p| {
        p.pump();
        p.joined
    }) {
        assert!(Instant::now() < deadline, "players did not join");
        std::thread::sleep(Duration::from_millis(20));
    }
    let mut schedule = match fixed {
        Some(ms) => format!("pings every {ms} ms"),
        None => "adaptive pings".to_owned(),
    };
    if !align {
        schedule += ", not aligned";
    }
    if edits_per_min > 0.0 {
        schedule += &format!(", {edits_per_min} edits/min");
    }
    println!(
        "{players} silent players joined ({schedule}); warming up {warmup_min} min, then measuring {minutes} min"
    );
    let kick: keyboardia_core::TrackId = "kick".parse().unwrap();
    let mut next_edit = unix_ms();
    let mut edits = 0u64;
    let mut wait = |until: f64, ps: &mut Vec<Player>| {
        while unix_ms() < until {
            for p in ps.iter_mut() {
                p.pump();
            }
            if edits_per_min > 0.0 && unix_ms() >= next_edit {
                let on = edits.is_multiple_of(2);
                ps[0].edit(keyboardia_core::Op::SetStep {
                    tr: kick,
                    s: 3,
                    on,
                    pt: keyboardia_core::PatternId::A,
                });
                edits += 1;
                next_edit += 60_000.0 / edits_per_min;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    };
    let start = unix_ms();
    let from = start + warmup_min * 60_000.0;
    let to = from + minutes * 60_000.0;
    // A line per minute, warm-up included, so the back-off shows.
    let mut minute = start;
    while minute < to {
        wait(minute + 60_000.0, &mut ps);
        let all = wakes(&server.log_text());
        let n = |kind: &str| {
            all.iter()
                .filter(|(k, t)| k == kind && *t >= minute && *t < minute + 60_000.0)
                .count()
        };
        println!(
            "minute {:>5.1}: {} invocations (messages {}, alarms {}, fetches {}, closes {})",
            (minute - start) / 60_000.0,
            n("message") + n("alarm") + n("fetch") + n("close") + n("error"),
            n("message"),
            n("alarm"),
            n("fetch"),
            n("close"),
        );
        minute += 60_000.0;
    }
    assert!(ps.iter_mut().all(|p| {
        p.pump();
        p.joined
    }));
    let all = wakes(&server.log_text());
    let idle: Vec<f64> = all
        .iter()
        .filter(|(_, t)| *t >= from && *t < to)
        .map(|(_, t)| *t)
        .collect();
    let alarms = all
        .iter()
        .filter(|(k, t)| k == "alarm" && *t >= from && *t < to)
        .count();
    // Wakes: runs of invocations less than 10 s apart; awake time: each run plus the 10 s an
    // object waits before it may hibernate (the most an idle object is billed for, under the
    // older reading of the pricing page; see docs/scale.md).
    let (mut runs, mut awake_ms) = (0usize, 0.0);
    let mut run: Option<(f64, f64)> = None;
    for t in idle.iter().copied() {
        match run {
            Some((first, last)) if t - last < 10_000.0 => run = Some((first, t)),
            _ => {
                if let Some((first, last)) = run {
                    awake_ms += last - first + 10_000.0;
                }
                runs += 1;
                run = Some((t, t));
            }
        }
    }
    if let Some((first, last)) = run {
        awake_ms += (last - first + 10_000.0).min(to - first);
    }
    println!(
        "room of {players} players ({schedule}), minutes {warmup_min}-{}: {:.1} handler \
         invocations per minute ({:.1} alarms), {:.1} wakes per minute, awake at most {:.0} % of \
         the time",
        warmup_min + minutes,
        idle.len() as f64 / minutes,
        alarms as f64 / minutes,
        runs as f64 / minutes,
        100.0 * awake_ms / (to - from)
    );
}
