//! Two players in server-clock mode sound together: two engines, each driven by its own sync
//! client (its own local clock and its own estimate of the server clock), joining the session at
//! different times, render audio whose onsets land on the same server times within 1 ms; and
//! players' engines roll the probability dice with the session's seed, so they play the same
//! hits.

use std::time::Duration;

use keyboardia_core::{Lock, SessionState, DEFAULT_SEED};
use keyboardia_engine::{Engine, EnginePattern, InternalClock, TimelineWithOffset};
use keyboardia_tests::onsets::{four_on_the_floor, hits};
use keyboardia_tests::players::{create_session, unix_ms, wait_until, Player};
use keyboardia_tests::server::Server;

const SR: f64 = 48_000.0;
const BLOCK: usize = 256;

/// Renders two seconds starting now, the way an audio callback would: block start times come
/// from the player's local clock, the beat from its server-clock estimate. Returns each onset as
/// a true server time (this machine's wall clock, which is also the Worker's clock).
fn render_onsets(player: &Player, state: &SessionState) -> Vec<f64> {
    let shared = player.sync.clock();
    let server = shared.read().expect("clock published");
    assert!(server.timeline.playing, "the shared transport plays");
    let clock = TimelineWithOffset {
        timeline: server.timeline,
        offset_ms: server.offset_ms,
    };
    // Read both clocks at the same instant: the device's sample 0 plays at local `l0`, which is
    // wall-clock `w0`.
    let (l0, w0) = (shared.local().now_ms(), unix_ms());
    let mut engine = Engine::new(SR);
    let pattern = EnginePattern::from_state(state, |_| None);
    engine.set_seed(pattern.seed);
    engine.set_pattern(&pattern);
    let frames = (2.0 * SR) as usize;
    let (mut left, mut right) = (vec![0.0f32; frames], vec![0.0f32; frames]);
    for start in (0..frames).step_by(BLOCK) {
        let end = (start + BLOCK).min(frames);
        let block = clock.block_at(
            l0 + start as f64 * 1000.0 / SR,
            (end - start) as f64 * 1000.0 / SR,
        );
        engine.process(
            &block,
            &[],
            &mut left[start..end],
            &mut right[start..end],
            None,
        );
    }
    let lag = attack_frames(state);
    hits(&left)
        .into_iter()
        .map(|i| w0 + (i - lag) as f64 * 1000.0 / SR)
        .collect()
}

/// Frames from a hit's start to its detection, from a render that starts exactly on a beat.
fn attack_frames(state: &SessionState) -> usize {
    let mut engine = Engine::new(SR);
    let pattern = EnginePattern::from_state(state, |_| None);
    engine.set_seed(pattern.seed);
    engine.set_pattern(&pattern);
    let mut clock = keyboardia_engine::InternalClock::new(state.tempo);
    clock.play_from(0.0);
    let (mut l, mut r) = (vec![0.0f32; 4800], vec![0.0f32; 4800]);
    let block = clock.next_block(4800, SR);
    engine.process(&block, &[], &mut l, &mut r, None);
    hits(&l)[0]
}

#[test]
fn two_engines_in_server_mode_play_in_time() {
    let server = Server::start();
    let state = four_on_the_floor();
    let id = create_session(&server.base_url(), &state);

    let mut a = Player::start(
        &server.base_url(),
        id,
        "Ada",
        SessionState::default(),
        vec![],
    );
    wait_until("A joined", &mut [&mut a], |p| p[0].joined);
    a.sync.set_playing(true).unwrap();
    // B joins later, with a local clock that started later.
    std::thread::sleep(Duration::from_millis(1300));
    let mut b = Player::start(
        &server.base_url(),
        id,
        "Bob",
        SessionState::default(),
        vec![],
    );
    wait_until("B joined", &mut [&mut a, &mut b], |p| {
        p.iter().all(|p| p.joined)
    });
    std::thread::sleep(Duration::from_millis(2500));

    let oa = render_onsets(&a, &state);
    std::thread::sleep(Duration::from_millis(170));
    let ob = render_onsets(&b, &state);
    // Every beat is 500 ms; the renders overlap by about 1.8 s.
    let mut pairs = 0;
    let mut worst: f64 = 0.0;
    for ta in &oa {
        if let Some(tb) = ob.iter().find(|tb| (*tb - ta).abs() < 250.0) {
            worst = worst.max((tb - ta).abs());
            pairs += 1;
        }
    }
    println!("{pairs} shared onsets, worst misalignment {worst:.3} ms");
    assert!(pairs >= 3, "A {oa:?} B {ob:?}");
    assert!(worst <= 1.0, "onsets differ by {worst} ms");
    // And they sit on the session's beat grid.
    let tl = a.sync.clock().read().unwrap().timeline;
    for t in oa.iter().chain(&ob) {
        let beat = tl.beat_at(*t) - tl.start_beat;
        assert!(
            (beat - beat.round()).abs() * 500.0 <= 1.0,
            "onset off the grid by {} ms",
            (beat - beat.round()) * 500.0
        );
    }
}

/// Note-on (frame, channel) pairs of 16 bars of `state` from its first beat, played as every
/// player does: the pattern and the dice seed from the document.
fn note_ons(state: &SessionState) -> Vec<(usize, u8)> {
    let pattern = EnginePattern::from_state(state, |_| None);
    let mut engine = Engine::new(SR);
    engine.set_seed(pattern.seed);
    engine.set_pattern(&pattern);
    let mut clock = InternalClock::new(state.tempo);
    clock.play_from(0.0);
    let frames = (16.0 * 4.0 * 60.0 / state.tempo * SR) as usize;
    let (mut l, mut r) = (vec![0.0f32; BLOCK], vec![0.0f32; BLOCK]);
    let mut ons = Vec::new();
    for start in (0..frames).step_by(BLOCK) {
        let block = clock.next_block(BLOCK as u32, SR);
        engine.process(&block, &[], &mut l, &mut r, None);
        ons.extend(
            engine
                .midi_out()
                .iter()
                .filter(|m| m.on)
                .map(|m| (start + m.offset as usize, m.channel)),
        );
    }
    ons
}

#[test]
fn players_roll_the_dice_of_the_server_session() {
    let server = Server::start();
    let mut state = four_on_the_floor();
    for step in &mut state.tracks[0].steps[..16] {
        step.on = true;
        step.locks.set(Lock::Probability(50));
    }
    let id = create_session(&server.base_url(), &state);
    let truth = server.http("10.8.0.1").get(&id.to_string()).session().state;
    assert_ne!(
        truth.seed, DEFAULT_SEED,
        "the server gives each session its own seed"
    );

    // One player starts from nothing, the other from its own copy with the default seed.
    let mut a = Player::start(
        &server.base_url(),
        id,
        "Ada",
        SessionState::default(),
        vec![],
    );
    let mut b = Player::start(&server.base_url(), id, "Bob", state.clone(), vec![]);
    wait_until("both joined with the session", &mut [&mut a, &mut b], |p| {
        p.iter().all(|p| p.joined && p.state == truth)
    });
    let hits = note_ons(&a.state);
    assert!(
        hits.len() > 16 && hits.len() < 16 * 16 - 16,
        "{} hits",
        hits.len()
    );
    assert_eq!(note_ons(&b.state), hits, "both players hear the same hits");
    let default = SessionState {
        seed: DEFAULT_SEED,
        ..truth.clone()
    };
    assert_ne!(
        note_ons(&default),
        hits,
        "the session's seed, not the default"
    );
}
