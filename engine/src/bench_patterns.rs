//! The dense patterns of the engine benchmark, shared with the golden-render tests so both play
//! exactly the same notes. Not part of the engine's API.
//!
//! Each pattern is 16 tracks × 64 steps with every step on and locks everywhere (pitch on every
//! step, ratchets, probability, nudge and volume locks on a fixed fraction of them). A and C
//! together use all 21 sounds (16 built-ins, 5 synth presets); B is a heavier stress case (every
//! synth preset twice, so two pads of ~3 voices each). [`with_fx`] turns every effect on.

use keyboardia_core::{
    DelayTime, FilterMode, Instrument, Lock, SessionFx, SessionState, Track, TrackFx,
};

/// Pattern A: the 16 built-in sounds.
pub const A: [&str; 16] = [
    "kick",
    "snare",
    "clap",
    "hat_closed",
    "hat_open",
    "tom_low",
    "tom_high",
    "rim",
    "cowbell",
    "shaker",
    "sub_bass",
    "fm_bass",
    "stab",
    "bell",
    "zap",
    "riser",
];

/// Pattern B: the five synth presets twice, plus drums.
pub const B: [&str; 16] = [
    "synth:bass",
    "synth:lead",
    "synth:pad",
    "synth:pluck",
    "synth:acid",
    "kick",
    "snare",
    "hat_closed",
    "synth:acid",
    "synth:pad",
    "synth:lead",
    "fm_bass",
    "stab",
    "clap",
    "synth:pluck",
    "synth:bass",
];

/// Pattern C: 11 built-ins and each synth preset once.
pub const C: [&str; 16] = [
    "kick",
    "snare",
    "clap",
    "hat_closed",
    "hat_open",
    "rim",
    "shaker",
    "sub_bass",
    "fm_bass",
    "stab",
    "bell",
    "synth:bass",
    "synth:lead",
    "synth:pad",
    "synth:pluck",
    "synth:acid",
];

/// A session at 128 BPM, 20 % swing, with one dense 64-step track per instrument name.
pub fn dense(instruments: &[&str]) -> SessionState {
    let tracks = instruments
        .iter()
        .enumerate()
        .map(|(i, inst)| {
            let mut t = Track::new(
                format!("t{i}").parse().expect("valid track id"),
                *inst,
                inst.parse::<Instrument>().expect("known instrument"),
            );
            t.step_count = 64;
            t.volume = 0.7;
            t.pan = (i as f32 / 7.5) - 1.0;
            for s in 0..64 {
                t.steps[s].on = true;
                t.steps[s].velocity = 60 + ((s * 7 + i * 13) % 68) as u8;
                t.steps[s]
                    .locks
                    .set(Lock::Pitch(((s * 5 + i) % 25) as i8 - 12));
                if s % 4 == 1 {
                    t.steps[s].locks.set(Lock::Ratchet(2 + (s % 3) as u8));
                }
                if s % 5 == 2 {
                    t.steps[s].locks.set(Lock::Probability(70));
                }
                if s % 6 == 3 {
                    t.steps[s].locks.set(Lock::Nudge(-15));
                }
                if s % 3 == 0 {
                    t.steps[s].locks.set(Lock::Volume(0.8));
                }
            }
            t
        })
        .collect();
    SessionState {
        tempo: 128.0,
        swing: 20.0,
        tracks,
        ..SessionState::default()
    }
}

/// `state` with every effect on: each track filtered (low-pass and high-pass in turn, resonant)
/// and driven, sending to the reverb and the delay, a cutoff lock on every fourth step; a large
/// room and a long dotted-eighth delay.
pub fn with_fx(mut state: SessionState) -> SessionState {
    for (i, t) in state.tracks.iter_mut().enumerate() {
        t.fx = TrackFx {
            filter: if i % 2 == 0 {
                FilterMode::LowPass
            } else {
                FilterMode::HighPass
            },
            cutoff_hz: 300.0 + 500.0 * i as f32,
            resonance: 0.7,
            drive: 0.5,
            reverb_send: 0.4,
            delay_send: 0.3,
        };
        for s in (0..64).step_by(4) {
            t.steps[s]
                .locks
                .set(Lock::Cutoff(200.0 + 150.0 * (s + i) as f32));
        }
    }
    state.fx = SessionFx {
        reverb_size: 0.8,
        delay_time: DelayTime::DottedEighth,
        delay_feedback: 0.6,
    };
    state
}
