//! The engine's level meters: each chunk raises the peak of every track slot that sounds (after
//! its volume, mute and pan) and of the master output, and an editor takes them.

mod common;

use std::sync::Arc;

use common::{capture_with, session, track};
use keyboardia_engine::{Engine, EnginePattern, InternalClock, LevelMeters, TrackMixer};

#[test]
fn meters_follow_what_each_track_and_the_master_play() {
    let sr = 48_000.0;
    let state = session(
        120.0,
        0.0,
        vec![
            track("kick", "kick", 16, &[0, 4, 8, 12]),
            track("hat", "hat_closed", 16, &[2, 6, 10, 14]),
            track("none", "snare", 16, &[]),
        ],
    );
    let pattern = EnginePattern::from_state(&state, |_| None);
    let mut engine = Engine::new(sr);
    engine.set_pattern(&pattern);
    let meters = Arc::new(LevelMeters::default());
    engine.set_meters(meters.clone());
    let mut clock = InternalClock::new(state.tempo);
    clock.play_from(0.0);
    let mut render = |engine: &mut Engine, frames: usize| {
        capture_with(
            engine,
            frames,
            &mut || 256,
            |n| clock.next_block(n as u32, sr),
            &[],
        )
    };
    let cap = render(&mut engine, 48_000);
    let (tracks, master) = meters.take();
    let out_peak = cap
        .left
        .iter()
        .chain(&cap.right)
        .fold(0.0f32, |a, x| a.max(x.abs()));
    assert_eq!(master, out_peak, "the master meter is the output's peak");
    assert!(tracks[0] > 0.05 && tracks[1] > 0.01, "{tracks:?}");
    assert_eq!(tracks[2], 0.0, "an empty track stays at zero");
    assert!(tracks[3..].iter().all(|p| *p == 0.0));

    // Muted, the kick's meter falls to zero (after the gain ramp) while the hat's still moves.
    engine.set_track_mixer(
        0,
        TrackMixer {
            volume: 1.0,
            mute: true,
            solo: false,
        },
    );
    render(&mut engine, 4_800);
    meters.take();
    render(&mut engine, 48_000);
    let (tracks, _) = meters.take();
    assert_eq!(tracks[0], 0.0, "muted kick {tracks:?}");
    assert!(tracks[1] > 0.01);
}
