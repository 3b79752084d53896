//! Level meters from the audio thread to an editor: the peak of each track slot's output and of
//! the master since the editor last looked, as atomics (the audio thread raises them with
//! `fetch_max`, never allocating, locking or blocking; the editor takes them, resetting them).

use std::sync::atomic::{AtomicU32, Ordering};

use keyboardia_core::MAX_TRACKS;

/// The peaks (linear, ≥ 0) since the last [`LevelMeters::take`], as `f32` bits: for
/// non-negative floats the bit patterns order like the values, so `fetch_max` keeps the larger.
#[derive(Debug, Default)]
pub struct LevelMeters {
    /// Per track slot: the peak of its output after volume, mute and pan.
    tracks: [AtomicU32; MAX_TRACKS],
    /// The master output's peak, after the limiter.
    master: AtomicU32,
}

/// Bits of a level to store: finite and non-negative, else 0 (so `fetch_max` stays ordered).
fn bits(peak: f32) -> u32 {
    if peak.is_finite() && peak > 0.0 {
        peak.to_bits()
    } else {
        0
    }
}

impl LevelMeters {
    /// Audio thread: track slot `slot` peaked at `peak` (linear) in the last chunk.
    pub fn note_track(&self, slot: usize, peak: f32) {
        if let Some(a) = self.tracks.get(slot) {
            a.fetch_max(bits(peak), Ordering::Relaxed);
        }
    }

    /// Audio thread: the master output peaked at `peak` (linear) in the last chunk.
    pub fn note_master(&self, peak: f32) {
        self.master.fetch_max(bits(peak), Ordering::Relaxed);
    }

    /// The editor: each track slot's peak and the master's since the last call, resetting them.
    pub fn take(&self) -> ([f32; MAX_TRACKS], f32) {
        let tracks =
            std::array::from_fn(|i| f32::from_bits(self.tracks[i].swap(0, Ordering::Relaxed)));
        (
            tracks,
            f32::from_bits(self.master.swap(0, Ordering::Relaxed)),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn peaks_rise_until_taken_and_ignore_nonsense() {
        let m = LevelMeters::default();
        m.note_track(3, 0.25);
        m.note_track(3, 0.5);
        m.note_track(3, 0.125);
        m.note_track(99, 1.0);
        m.note_master(f32::NAN);
        m.note_master(0.75);
        m.note_master(-2.0);
        let (t, master) = m.take();
        assert_eq!(t[3], 0.5);
        assert_eq!(t.iter().filter(|v| **v > 0.0).count(), 1);
        assert_eq!(master, 0.75);
        assert_eq!(m.take(), ([0.0; MAX_TRACKS], 0.0), "taking resets");
    }
}
