//! Sync benchmark against the real Worker under `wrangler dev` (prints numbers, asserts nothing):
//! - clock offset error p50/p99 on loopback and through a 50 ± 20 ms, 2 % loss proxy;
//! - edit-to-peer latency between two sync clients: from player A's `edit()` until player B's
//!   sync thread hands the new state to its sink (where the plugin passes it to the audio thread,
//!   which picks it up at its next block).
//!
//! `cargo run --release -p keyboardia-tests --example sync_bench`

use keyboardia_core::PatternId;
use std::time::{Duration, Instant};

use keyboardia_core::{Op, SessionId, SessionState, TrackId};
use keyboardia_sync::SyncEvent;
use keyboardia_tests::netem::{Impairment, Proxy};
use keyboardia_tests::players::{create_session, unix_ms, wait_until, Player};
use keyboardia_tests::server::Server;

fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

fn clock_errors(base: &str, id: SessionId, settle: Duration) -> Vec<f64> {
    let mut a = Player::start(base, id, "clock", SessionState::default(), vec![]);
    wait_until("joined", &mut [&mut a], |p| p[0].joined);
    std::thread::sleep(settle);
    let clock = a.sync.clock().clone();
    let mut errors: Vec<f64> = (0..200)
        .map(|_| {
            std::thread::sleep(Duration::from_millis(10));
            let est = clock.read().expect("published").offset_ms;
            (est - (unix_ms() - clock.local().now_ms())).abs()
        })
        .collect();
    errors.sort_by(f64::total_cmp);
    errors
}

fn main() {
    let server = Server::start();
    let base = server.base_url();
    let id = create_session(&base, &SessionState::demo());

    let e = clock_errors(&base, id, Duration::from_secs(3));
    println!(
        "clock offset error, loopback via wrangler dev: p50 {:.3} ms  p99 {:.3} ms",
        percentile(&e, 0.5),
        percentile(&e, 0.99)
    );
    let bad = Impairment {
        delay_ms: 50.0,
        jitter_ms: 20.0,
        loss: 0.02,
        rto_ms: 200.0,
    };
    let proxy = Proxy::start(format!("127.0.0.1:{}", server.port()).parse().unwrap(), bad);
    let e = clock_errors(
        &format!("http://{}", proxy.addr),
        id,
        Duration::from_secs(8),
    );
    println!(
        "clock offset error, 50±20 ms + 2% loss proxy: p50 {:.3} ms  p99 {:.3} ms",
        percentile(&e, 0.5),
        percentile(&e, 0.99)
    );

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
