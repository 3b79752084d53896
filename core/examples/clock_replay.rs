//! Replays the clock samples `sync_bench` wrote (`SYNC_BENCH_SAMPLES=DIR`) through the clock
//! estimator, player by player, and prints the error of the estimate against the true offset
//! from minute FROM to minute TO of each player's samples (read every 100 ms between samples, as
//! `sync_bench` reads it), split into its parts: the mean signed error, the fitted drift's error
//! (ppm: the true offset moves only as this machine's clocks slew against each other) and how
//! far each leg was from the wire to the server's stamp, for samples after a silence of the
//! whole room of 10 s or more (a Durable Object may have hibernated), for the second pings of
//! pairs, and for the others.
//!
//! `cargo run -p keyboardia-core --release --example clock_replay -- DIR/proxy.csv [FROM] [TO]
//! [DIR/loopback.csv]` (FROM, TO default 20 and 25; the other path's file, the same room's
//! other players, only adds them to the room's silences).
use keyboardia_core::clock::{ClockSample, ClockSync};

/// One line: (player, sample, true server-minus-local offset).
fn read(path: &str) -> Vec<(u32, ClockSample, f64)> {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    text.lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            let n = |i: usize| f.get(i)?.parse::<f64>().ok();
            let s = ClockSample {
                offset: n(2)?,
                rtt: n(3)?,
                at: n(4)?,
            };
            Some((f.get(1)?.parse().ok()?, s, n(5)?))
        })
        .collect()
}

/// The server's stamp of a sample on the server's clock (a Worker's stamps are whole ms).
fn stamp(s: &ClockSample) -> f64 {
    s.offset - 0.5 + s.at
}

fn pct(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

fn legs(what: &str, up: &mut [f64], down: &mut [f64]) {
    if up.is_empty() {
        return;
    }
    up.sort_by(f64::total_cmp);
    down.sort_by(f64::total_cmp);
    let s = |v: &[f64]| {
        format!(
            "min {:.2} p5 {:.2} p50 {:.2} p95 {:.2}",
            v[0],
            pct(v, 0.05),
            pct(v, 0.5),
            pct(v, 0.95)
        )
    };
    println!(
        "  {what}: {} samples, to the stamp {}; back {}",
        up.len(),
        s(up),
        s(down)
    );
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let path = args.first().expect("a samples file");
    let arg = |i: usize, d: f64| args.get(i).map_or(d, |a| a.parse().expect("minutes"));
    let (from, to) = (arg(1, 20.0), arg(2, 25.0));
    let samples = read(path);
    // Every stamp the room made, this path's and the other's, for its silences.
    let mut stamps: Vec<f64> = samples.iter().map(|(_, s, _)| stamp(s)).collect();
    if let Some(other) = args.get(3) {
        stamps.extend(read(other).iter().map(|(_, s, _)| stamp(s)));
    }
    stamps.sort_by(f64::total_cmp);
    let mut players: Vec<u32> = samples.iter().map(|(p, _, _)| *p).collect();
    players.sort();
    players.dedup();
    for player in players {
        let mine: Vec<&(u32, ClockSample, f64)> =
            samples.iter().filter(|(p, _, _)| *p == player).collect();
        let start = mine[0].1.at;
        let mut clock = ClockSync::default();
        let (mut errors, mut sum, mut drift_err) = (Vec::new(), 0.0, Vec::new());
        // Legs (to the stamp, back) after 10 s of silence in the room, of the second ping of a
        // pair (2 s or less after this player's previous), and the others.
        let mut legs_of: [(Vec<f64>, Vec<f64>); 3] = Default::default();
        for (k, (_, s, truth)) in mine.iter().enumerate() {
            clock.add(*s);
            let minute = (s.at - start) / 60_000.0;
            if minute < from || minute >= to {
                continue;
            }
            // The legs: the stamp read as the middle of its millisecond, on the local clock.
            let stamp_local = stamp(s) + 0.5 - truth;
            let half = (s.rtt - 1.0) / 2.0;
            let (up, down) = (stamp_local - (s.at - half), s.at + half - stamp_local);
            let i = stamps.partition_point(|t| *t < stamp(s));
            let idle = i == 0 || stamp(s) - stamps[i - 1] >= 10_000.0;
            let second = k > 0 && s.at - mine[k - 1].1.at <= 2_000.0;
            let class = if idle {
                0
            } else if second {
                1
            } else {
                2
            };
            legs_of[class].0.push(up);
            legs_of[class].1.push(down);
            // The error until the next sample, every 100 ms, against the true offset there.
            let e = clock.estimate().expect("a sample");
            let (next_at, next_truth) = mine.get(k + 1).map_or((s.at, *truth), |n| (n.1.at, n.2));
            let rate = if next_at > s.at {
                (next_truth - truth) / (next_at - s.at)
            } else {
                0.0
            };
            drift_err.push((e.drift - rate) * 1e6);
            let mut t = s.at;
            while t < next_at.max(s.at + 1.0) {
                let err = e.offset_at(t) - (truth + rate * (t - s.at));
                errors.push(err.abs());
                sum += err;
                t += 100.0;
            }
        }
        if errors.is_empty() {
            continue;
        }
        let n = errors.len() as f64;
        errors.sort_by(f64::total_cmp);
        drift_err.sort_by(f64::total_cmp);
        println!(
            "player {player}, minutes {from}-{to}: p50 {:.3} p99 {:.3} max {:.3} ms, mean signed \
             {:+.3} ms; fitted drift minus the clocks' own, median {:+.2} ppm",
            pct(&errors, 0.5),
            pct(&errors, 0.99),
            errors[errors.len() - 1],
            sum / n,
            pct(&drift_err, 0.5)
        );
        let [idle, second, other] = &mut legs_of;
        legs(
            "after 10 s of silence in the room",
            &mut idle.0,
            &mut idle.1,
        );
        legs("the second ping of a pair", &mut second.0, &mut second.1);
        legs("the others", &mut other.0, &mut other.1);
    }
}
