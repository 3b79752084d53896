//! Onsets in rendered audio, and a pattern whose onsets are easy to find.

use keyboardia_core::{SessionState, Track};

/// Where hits start: the first sample above 0.1 after 10 ms (at 48 kHz) with none. Works for
/// sounds that ring on between hits (a kick decays to ~0.05 by the next beat), where a
/// silence-gap detector would see one long sound.
pub fn hits(x: &[f32]) -> Vec<usize> {
    let mut out = Vec::new();
    let mut last_loud: Option<usize> = None;
    for (i, v) in x.iter().enumerate() {
        if v.abs() > 0.1 {
            if last_loud.is_none_or(|l| i - l > 480) {
                out.push(i);
            }
            last_loud = Some(i);
        }
    }
    out
}

/// Frames where the signal starts after at least `gap` frames of exact silence (for gated
/// sounds, which stop dead between hits).
pub fn after_silence(x: &[f32], gap: usize) -> Vec<usize> {
    let mut out = Vec::new();
    let mut silent = gap;
    for (i, v) in x.iter().enumerate() {
        if *v != 0.0 {
            if silent >= gap {
                out.push(i);
            }
            silent = 0;
        } else {
            silent += 1;
        }
    }
    out
}

/// A kick on every beat at 120 BPM: one hit every 500 ms.
pub fn four_on_the_floor() -> SessionState {
    let mut kick = Track::new("kick".parse().unwrap(), "Kick", "kick".parse().unwrap());
    for s in [0, 4, 8, 12] {
        kick.steps[s].on = true;
    }
    SessionState {
        tempo: 120.0,
        tracks: vec![kick],
        ..SessionState::default()
    }
}
