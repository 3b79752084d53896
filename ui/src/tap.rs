//! Tap tempo: the tempo of the last few taps of a button, on the editor's clock.

use keyboardia_core::TEMPO_RANGE;

/// A gap between taps longer than this starts a new count, in seconds.
const RESET_AFTER_S: f64 = 2.0;
/// How many taps the tempo is averaged over.
const TAPS: usize = 5;

/// The taps so far.
#[derive(Clone, Debug, Default)]
pub struct TapTempo {
    /// When the recent taps came, in seconds on the editor's clock, oldest first (at most
    /// [`TAPS`]).
    taps_s: Vec<f64>,
}

impl TapTempo {
    /// A tap at `now_s`: the tempo of the taps so far in BPM (rounded to 0.1, within the
    /// session's range), once there are two.
    pub fn tap(&mut self, now_s: f64) -> Option<f64> {
        if self
            .taps_s
            .last()
            .is_some_and(|last| now_s - last > RESET_AFTER_S || now_s <= *last)
        {
            self.taps_s.clear();
        }
        self.taps_s.push(now_s);
        if self.taps_s.len() > TAPS {
            self.taps_s.remove(0);
        }
        let (first, last) = (self.taps_s.first()?, self.taps_s.last()?);
        let beats = self.taps_s.len() - 1;
        if beats == 0 {
            return None;
        }
        let bpm = 60.0 * beats as f64 / (last - first);
        let bpm = (bpm * 10.0).round() / 10.0;
        Some(bpm.clamp(*TEMPO_RANGE.start(), *TEMPO_RANGE.end()))
    }

    /// Taps counted so far.
    pub fn count(&self) -> usize {
        self.taps_s.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn taps_give_the_tempo_and_a_pause_starts_over() {
        let mut t = TapTempo::default();
        assert_eq!(t.tap(10.0), None);
        assert_eq!(t.tap(10.5), Some(120.0));
        assert_eq!(t.tap(11.0), Some(120.0));
        // Averaged: one late tap moves it a little.
        assert_eq!(t.tap(11.52), Some(118.4));
        // A pause starts over.
        assert_eq!(t.tap(20.0), None);
        assert_eq!(t.tap(20.4), Some(150.0));
        // Out of range is clamped.
        assert_eq!(t.tap(20.5), Some(TEMPO_RANGE.end().min(180.0)));
        let mut slow = TapTempo::default();
        slow.tap(0.0);
        assert_eq!(slow.tap(1.9), Some(*TEMPO_RANGE.start()));
    }
}
