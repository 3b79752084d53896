//! The session's dice seed: engines fed the same document roll the same dice, whoever runs them
//! (a player, the browser, a bounce), and another session's seed rolls other dice.

mod common;

use common::{capture_with, session, track};
use keyboardia_core::schema::{session_from_json, session_to_json};
use keyboardia_core::{Lock, Session, SessionId, SessionState, DEFAULT_SEED};
use keyboardia_engine::render::{render_session, RenderOptions};
use keyboardia_engine::{Engine, EnginePattern, InternalClock};

const SR: f64 = 48_000.0;

/// A session whose every step has a 50 % probability lock: each roll shows in the hits.
fn dice(seed: u64) -> SessionState {
    let mut hat = track("hat", "rim", 16, &(0..16).collect::<Vec<_>>());
    let mut bass = track("bass", "synth:acid", 12, &(0..12).collect::<Vec<_>>());
    for i in 0..16 {
        hat.steps[i].locks.set(Lock::Probability(50));
        bass.steps[i].locks.set(Lock::Probability(30 + i as u8 * 4));
    }
    SessionState {
        seed,
        ..session(180.0, 20.0, vec![hat, bass])
    }
}

/// The note-on frames of 32 bars of `state`, played the way every player does: the pattern and
/// the seed from the document, in blocks of `block` frames.
fn hits(state: &SessionState, block: usize) -> Vec<(usize, u8)> {
    let pattern = EnginePattern::from_state(state, |_| None);
    let mut engine = Engine::new(SR);
    engine.set_seed(pattern.seed);
    engine.set_pattern(&pattern);
    let mut clock = InternalClock::new(state.tempo);
    clock.play_from(0.0);
    let cap = capture_with(
        &mut engine,
        (32.0 * 4.0 * 60.0 / state.tempo * SR) as usize,
        &mut || block,
        |n| clock.next_block(n as u32, SR),
        &[],
    );
    cap.midi
        .iter()
        .filter(|(_, m)| m.on)
        .map(|(f, m)| (*f, m.channel))
        .collect()
}

/// The document as another player gets it: through its JSON.
fn received(state: &SessionState) -> SessionState {
    let s = Session::new(SessionId::from_random_bytes([9; 16]), 0, state.clone());
    session_from_json(session_to_json(&s).as_bytes())
        .unwrap()
        .state
}

#[test]
fn engines_fed_the_same_document_roll_the_same_dice() {
    let doc = dice(0x5eed_0000_1234_abcd);
    let mine = hits(&doc, 512);
    // 512 rolls at 50 % and 384 more: some hit, some miss.
    let all = 2 * 32 * 16;
    assert!(
        mine.len() > all / 4 && mine.len() < all * 3 / 4,
        "{} hits",
        mine.len()
    );
    // Another player: its own engine, the document from the wire, other block sizes.
    let theirs = received(&doc);
    assert_eq!(theirs.seed, doc.seed);
    assert_eq!(hits(&theirs, 128), mine);
    assert_eq!(hits(&theirs, 333), mine);
}

#[test]
fn another_seed_rolls_other_dice() {
    let a = hits(&dice(1), 512);
    let b = hits(&dice(2), 512);
    let default = hits(&dice(DEFAULT_SEED), 512);
    assert_ne!(a, b);
    assert_ne!(a, default);
    assert_ne!(b, default);
}

#[test]
fn bounces_follow_the_document_seed() {
    let opts = RenderOptions::default();
    assert_eq!(opts.seed, None, "a bounce plays the session's own seed");
    let a = render_session(&dice(7), &opts, 4.0);
    assert!(a.peak() > 0.05);
    assert!(
        render_session(&dice(7), &opts, 4.0) == a,
        "same seed, same audio"
    );
    let b = render_session(&dice(8), &opts, 4.0);
    assert!(b != a, "another seed, other audio");
    // An explicit seed overrides the document's.
    let forced = RenderOptions {
        seed: Some(7),
        ..opts
    };
    assert!(render_session(&dice(8), &forced, 4.0) == a);
}
