//! Host automation of the effects: per track slot, a shift of the filter's cutoff in octaves
//! and amounts added to the reverb and delay sends. These are one player's own controls (a
//! plugin's automatable parameters, like its mixer's volume), on top of the session's shared
//! settings and the steps' locks, so automating them sends nothing to a live session.
//!
//! Smooth: a new value is reached along a linear ramp of [`RAMP_S`], so a DAW's automation,
//! which arrives once per block, makes no zipper noise. The sends follow the ramp frame by
//! frame; the cutoff follows it chunk by chunk (at most [`MAX_CHUNK`] frames, 2.7 ms at 48 kHz).
//! At rest at zero (the default) nothing is computed and the sound is bit-identical to the
//! engine without automation.
//!
//! [`MAX_CHUNK`]: crate::voice::MAX_CHUNK

use keyboardia_core::MAX_TRACKS;

/// How long a new automation value takes to be reached, in seconds.
pub const RAMP_S: f64 = 0.02;
/// The cutoff shift's range, in octaves (±10 spans the whole audible range from anywhere).
pub const CUTOFF_SHIFT_OCT: std::ops::RangeInclusive<f32> = -10.0..=10.0;
/// The range of what automation adds to a send (the sum is kept within 0..=1).
pub const SEND_OFFSET: std::ops::RangeInclusive<f32> = -1.0..=1.0;

/// One track slot's automated effect values.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct FxAutomation {
    /// Moves the filter's cutoff (the track's and its locks') by this many octaves,
    /// [`CUTOFF_SHIFT_OCT`]; 0 leaves it. Nothing happens while the track's filter is off.
    pub cutoff_shift_oct: f32,
    /// Added to the track's reverb send, [`SEND_OFFSET`] (the sum is clamped to 0..=1).
    pub reverb_send_offset: f32,
    /// Added to the track's delay send, [`SEND_OFFSET`] (the sum is clamped to 0..=1).
    pub delay_send_offset: f32,
}

impl FxAutomation {
    /// Within range and finite (non-finite values count as 0).
    fn sanitized(self) -> [f32; 3] {
        let fit = |v: f32, r: &std::ops::RangeInclusive<f32>| {
            if v.is_finite() {
                v.clamp(*r.start(), *r.end())
            } else {
                0.0
            }
        };
        [
            fit(self.cutoff_shift_oct, &CUTOFF_SHIFT_OCT),
            fit(self.reverb_send_offset, &SEND_OFFSET),
            fit(self.delay_send_offset, &SEND_OFFSET),
        ]
    }
}

/// Index of the cutoff shift in a slot's values.
const CUTOFF: usize = 0;
/// Index of the reverb send offset.
pub(super) const REVERB: usize = 1;
/// Index of the delay send offset.
pub(super) const DELAY: usize = 2;

/// A slot's three values on their linear ramp, advanced a chunk at a time.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
struct Ramp {
    /// The values at the start of the current chunk.
    current: [f32; 3],
    /// Where the ramp ends.
    target: [f32; 3],
    /// What each frame adds to `current`.
    step_per_frame: [f32; 3],
    /// Frames left in the ramp; 0 when `current` is at `target`.
    frames_left: u32,
}

impl Ramp {
    /// The values `n` frames after the start of the chunk.
    fn after(&self, n: usize) -> [f32; 3] {
        if n as u32 >= self.frames_left {
            self.target
        } else {
            std::array::from_fn(|c| self.current[c] + self.step_per_frame[c] * n as f32)
        }
    }
}

/// Every slot's automation, smoothed.
#[derive(Clone, Debug)]
pub(super) struct Automation {
    /// Per track slot.
    slots: [Ramp; MAX_TRACKS],
    /// Frames a ramp lasts ([`RAMP_S`] at the sample rate), at least 1.
    ramp_frames: u32,
    /// Whether any slot is away from zero or moving (else everything is skipped).
    active: bool,
}

impl Automation {
    pub fn new(sample_rate: f32) -> Self {
        Self {
            slots: [Ramp::default(); MAX_TRACKS],
            ramp_frames: ((RAMP_S * f64::from(sample_rate)) as u32).max(1),
            active: false,
        }
    }

    /// Slot `t`'s new values, reached over the ramp.
    pub fn set(&mut self, t: usize, a: FxAutomation) {
        let Some(r) = self.slots.get_mut(t) else {
            return;
        };
        let target = a.sanitized();
        if target != r.target {
            r.target = target;
            let n = self.ramp_frames as f32;
            r.step_per_frame = std::array::from_fn(|c| (target[c] - r.current[c]) / n);
            r.frames_left = self.ramp_frames;
            self.active = true;
        }
    }

    /// Whether anything is automated now.
    pub fn active(&self) -> bool {
        self.active
    }

    /// The factor slot `t`'s cutoff is multiplied by over a chunk of `n` frames (the value at
    /// the chunk's middle); exactly 1 at rest.
    pub fn cutoff_scale(&self, t: usize, n: usize) -> f32 {
        if !self.active {
            return 1.0;
        }
        let oct = self.slots[t].after(n / 2)[CUTOFF];
        if oct == 0.0 {
            1.0
        } else {
            oct.exp2()
        }
    }

    /// Slot `t`'s offset of send `which` ([`REVERB`] or [`DELAY`]) at the start and at the end
    /// of a chunk of `n` frames.
    pub fn send_offsets(&self, t: usize, which: usize, n: usize) -> (f32, f32) {
        let r = &self.slots[t];
        (r.current[which], r.after(n)[which])
    }

    /// Moves every ramp on by a chunk of `n` frames.
    pub fn advance(&mut self, n: usize) {
        if !self.active {
            return;
        }
        let mut active = false;
        for r in self.slots.iter_mut() {
            if r.frames_left > 0 {
                r.current = r.after(n);
                r.frames_left = r.frames_left.saturating_sub(n as u32);
            }
            active |= r.frames_left > 0 || r.current != [0.0; 3];
        }
        self.active = active;
    }

    /// Jumps every ramp to its target (a reset).
    pub fn settle(&mut self) {
        for r in self.slots.iter_mut() {
            r.current = r.target;
            r.frames_left = 0;
        }
        self.active = self.slots.iter().any(|r| r.current != [0.0; 3]);
    }
}

/// Adds `x` × the send gain, moving linearly from `g0` (before the first frame) to `g1` (at
/// the last), into `input`.
pub(super) fn send_ramped(input: &mut [f32], x: &[f32], g0: f32, g1: f32) {
    let n = x.len().min(input.len());
    let step = (g1 - g0) / n.max(1) as f32;
    for (i, (d, s)) in input[..n].iter_mut().zip(&x[..n]).enumerate() {
        *d += s * (g0 + step * (i + 1) as f32);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_ramp_linearly_in_chunks_and_rest_at_zero_is_inactive() {
        let mut a = Automation::new(1000.0); // 20 frames per ramp
        assert!(!a.active());
        assert_eq!(a.cutoff_scale(0, 64), 1.0);
        a.set(
            3,
            FxAutomation {
                cutoff_shift_oct: 2.0,
                reverb_send_offset: 0.5,
                delay_send_offset: f32::NAN,
            },
        );
        assert!(a.active());
        assert_eq!(a.send_offsets(3, REVERB, 10), (0.0, 0.25));
        assert_eq!(a.send_offsets(3, DELAY, 10), (0.0, 0.0), "NaN counts as 0");
        a.advance(10);
        assert_eq!(a.send_offsets(3, REVERB, 30), (0.25, 0.5));
        a.advance(30);
        assert_eq!(a.cutoff_scale(3, 8), 4.0);
        a.set(3, FxAutomation::default());
        a.advance(100);
        assert!(!a.active(), "back at rest");
        assert_eq!(a.cutoff_scale(3, 8), 1.0);
    }

    #[test]
    fn a_ramped_send_lands_on_its_end_gain() {
        let mut d = [0.0f32; 4];
        send_ramped(&mut d, &[1.0; 4], 0.0, 1.0);
        assert_eq!(d, [0.25, 0.5, 0.75, 1.0]);
    }
}
