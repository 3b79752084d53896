//! One player's burst against the real Worker, and what it does to another player's round trip.
//!
//! A flooding socket sends thousands of edits at once (far over the room's per-address limit);
//! meanwhile a calm player pings the room (a JSON `ping`, answered by the room) and a third
//! socket sends the runtime's literal `ping` keep-alive (answered by the runtime's auto-response,
//! without running the Worker). Run by `tests/tests/worker_hardening.rs` with a generous bound,
//! and by the benchmark `tests/examples/burst_bench.rs`, which prints the figures.

use keyboardia_core::PatternId;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use keyboardia_core::protocol::{ClientMessage, ServerMessage};
use keyboardia_core::{Op, SessionId};

use crate::server::{LiveClient, RecvError};

/// How a burst went.
#[derive(Clone, Debug, Default)]
pub struct BurstReport {
    /// Frames the flooding socket sent.
    pub frames: usize,
    /// How long writing them took.
    pub sent_in: Duration,
    /// From the first frame until the flooding socket saw its close.
    pub closed_after: Duration,
    /// From the first frame until the server dropped the flooding socket's connection (it
    /// answers the close only after the runtime has handed the object every frame sent before
    /// the client's close reply); `None` if that took longer than the measurement.
    pub drained_after: Option<Duration>,
    /// The close code and reason it got.
    pub close: Option<(u16, String)>,
    /// `rate_limited` errors it got before the close.
    pub limited: usize,
    /// The calm player's room pings: (sent, relative to the burst's start, in ms; round trip).
    pub room_rtts: Vec<(f64, Duration)>,
    /// The keep-alive pings (runtime auto-response): as above.
    pub keepalive_rtts: Vec<(f64, Duration)>,
}

/// Median and maximum of round trips.
fn stats(rtts: &[(f64, Duration)]) -> (Duration, Duration) {
    let mut v: Vec<Duration> = rtts.iter().map(|r| r.1).collect();
    v.sort_unstable();
    let median = v.get(v.len() / 2).copied().unwrap_or_default();
    (median, v.last().copied().unwrap_or_default())
}

impl BurstReport {
    /// The longest room ping round trip (sent at any time during the measurement).
    pub fn max_room_rtt(&self) -> Duration {
        stats(&self.room_rtts).1
    }

    /// The longest keep-alive round trip.
    pub fn max_keepalive_rtt(&self) -> Duration {
        stats(&self.keepalive_rtts).1
    }
}

impl std::fmt::Display for BurstReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let ms = |d: Duration| d.as_secs_f64() * 1e3;
        let (rm, rx) = stats(&self.room_rtts);
        let (km, kx) = stats(&self.keepalive_rtts);
        write!(
            f,
            "{} frames sent in {:.0} ms; flood closed {:?} after {:.0} ms ({} rate_limited), \
             its connection ended after {}; \
             other player's room ping: {} pings, median {:.1} ms, max {:.1} ms; \
             keep-alive ping (runtime auto-response): {} pings, median {:.1} ms, max {:.1} ms",
            self.frames,
            ms(self.sent_in),
            self.close,
            ms(self.closed_after),
            self.limited,
            self.drained_after
                .map_or("(not yet)".to_owned(), |d| format!("{:.0} ms", ms(d))),
            self.room_rtts.len(),
            ms(rm),
            ms(rx),
            self.keepalive_rtts.len(),
            ms(km),
            ms(kx),
        )
    }
}

/// A step edit on track `tr`.
fn step(tr: &str, i: u32) -> Op {
    Op::SetStep {
        pt: PatternId::A,
        tr: tr.parse().expect("a track id"),
        s: (i % 16) as u8,
        on: i.is_multiple_of(2),
    }
}

/// Pings every `every` while `stop` is unset; returns (sent relative to `t0` in ms, round trip).
/// `raw`: the literal keep-alive `ping` (answered `pong` by the runtime) instead of a room ping.
fn ping_loop(
    mut c: LiveClient,
    raw: bool,
    every: Duration,
    t0: Instant,
    stop: Arc<AtomicBool>,
) -> Vec<(f64, Duration)> {
    let mut rtts = Vec::new();
    c.set_timeout(Some(Duration::from_millis(2)));
    let mut next = Instant::now();
    let mut waiting: Option<Instant> = None;
    let rel = |t: Instant| (t.saturating_duration_since(t0)).as_secs_f64() * 1e3;
    while !stop.load(Ordering::Relaxed) || waiting.is_some() {
        if waiting.is_none() && Instant::now() >= next {
            let now = Instant::now();
            if raw {
                c.send_text("ping");
            } else {
                c.send(&ClientMessage::Ping { c: 0.0 });
            }
            waiting = Some(now);
            next = now + every;
        }
        let got = if raw {
            c.try_recv_text().map(|t| t == "pong")
        } else {
            c.try_recv()
                .map(|m| matches!(m, ServerMessage::Pong { .. }))
        };
        match got {
            Ok(true) => {
                if let Some(sent) = waiting.take() {
                    rtts.push((rel(sent), sent.elapsed()));
                }
            }
            Ok(false) | Err(RecvError::Timeout) => {}
            Err(e) => panic!("the calm player lost its socket: {e:?}"),
        }
        if waiting.is_some_and(|w| w.elapsed() > Duration::from_secs(60)) {
            panic!("no pong within 60 s");
        }
    }
    rtts
}

/// Joins a calm player and a keep-alive socket to `id` on `base`, lets them ping undisturbed
/// for a moment, then floods from a third socket (address `flood_address`) with `frames` edits
/// of track `track` in one write, reads until the flood is closed, and keeps the pings going for
/// `after` more.
pub fn run(
    base: &str,
    id: SessionId,
    track: &str,
    flood_address: &str,
    frames: usize,
    after: Duration,
) -> BurstReport {
    let calm = LiveClient::join(base, id, "calm");
    let keepalive = LiveClient::join(base, id, "keepalive");
    let stop = Arc::new(AtomicBool::new(false));
    let t0 = Instant::now() + Duration::from_millis(300);
    let every = Duration::from_millis(20);
    let pingers: Vec<_> = [(calm, false), (keepalive, true)]
        .into_iter()
        .map(|(c, raw)| {
            let stop = stop.clone();
            std::thread::spawn(move || ping_loop(c, raw, every, t0, stop))
        })
        .collect();
    let mut flood = LiveClient::join_from(base, id, "flood", "", flood_address);
    let edits: Vec<ClientMessage> = (0..frames as u32)
        .map(|i| ClientMessage::Edit {
            op: i + 1,
            edit: step(track, i),
        })
        .collect();
    if let Some(wait) = t0.checked_duration_since(Instant::now()) {
        std::thread::sleep(wait); // a few undisturbed pings first
    }
    let start = Instant::now();
    flood.send_batch(&edits);
    let mut report = BurstReport {
        frames,
        sent_in: start.elapsed(),
        ..BurstReport::default()
    };
    flood.set_timeout(Some(Duration::from_secs(10)));
    loop {
        match flood.try_recv() {
            Ok(ServerMessage::Error(e)) if e.code == keyboardia_core::ErrorCode::RateLimited => {
                report.limited += 1
            }
            Ok(_) => {}
            Err(RecvError::Closed(frame)) => {
                report.close = frame.map(|(code, reason)| (u16::from(code), reason));
                break;
            }
            Err(e) => {
                eprintln!("burst: the flood was not closed: {e:?}");
                break;
            }
        }
    }
    report.closed_after = start.elapsed();
    // The client's close reply is queued behind every frame it sent: the connection ends once
    // the runtime has delivered them all.
    let left = (start + after).saturating_duration_since(Instant::now());
    if flood.wait_for_eof(left) {
        report.drained_after = Some(start.elapsed());
    }
    if let Some(wait) = (start + after).checked_duration_since(Instant::now()) {
        std::thread::sleep(wait);
    }
    stop.store(true, Ordering::Relaxed);
    let mut results = pingers
        .into_iter()
        .map(|p| p.join().expect("a pinger panicked"));
    report.room_rtts = results.next().unwrap_or_default();
    report.keepalive_rtts = results.next().unwrap_or_default();
    drop(flood);
    report
}
