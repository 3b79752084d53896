//! Click-free gain changes: gains that move linearly to a new target over a fixed number of
//! frames (the engine's track gains and pan, and its master gain).

/// `C` gains (one for the master, a left/right pair for a track) and the linear ramp they are
/// on. Ticked once per frame; between ramps the gains stay at their target.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct GainRamp<const C: usize> {
    /// The gains of the last frame ticked (linear).
    current: [f32; C],
    /// Where the ramp ends (linear).
    target: [f32; C],
    /// What each frame of the ramp adds to `current`.
    step_per_frame: [f32; C],
    /// Frames left in the ramp; 0 when `current` is at `target`.
    frames_left: u32,
}

impl<const C: usize> GainRamp<C> {
    /// Gains resting at `gains`.
    pub const fn at(gains: [f32; C]) -> Self {
        Self {
            current: gains,
            target: gains,
            step_per_frame: [0.0; C],
            frames_left: 0,
        }
    }

    /// The gains of the last frame.
    pub fn current(&self) -> [f32; C] {
        self.current
    }

    /// Where the gains are going.
    pub fn target(&self) -> [f32; C] {
        self.target
    }

    /// Whether the gains are still moving.
    pub fn is_ramping(&self) -> bool {
        self.frames_left > 0
    }

    /// Moves linearly from the current gains to `target` over `frames` frames (at least 1);
    /// nothing changes if `target` is where the gains are going already.
    pub fn ramp_to(&mut self, target: [f32; C], frames: u32) {
        if target != self.target {
            self.target = target;
            let n = frames as f32;
            self.step_per_frame = std::array::from_fn(|c| (target[c] - self.current[c]) / n);
            self.frames_left = frames;
        }
    }

    /// Ends the ramp at its target at once.
    pub fn jump_to_target(&mut self) {
        self.current = self.target;
        self.frames_left = 0;
    }

    /// Advances one frame and returns its gains (the last frame of a ramp lands exactly on the
    /// target).
    #[inline(always)]
    pub fn tick(&mut self) -> [f32; C] {
        if self.frames_left > 0 {
            self.frames_left -= 1;
            if self.frames_left == 0 {
                self.current = self.target;
            } else {
                for c in 0..C {
                    self.current[c] += self.step_per_frame[c];
                }
            }
        }
        self.current
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_ramp_moves_linearly_and_lands_on_its_target() {
        let mut g = GainRamp::at([0.0, 1.0]);
        g.ramp_to([1.0, 0.0], 4);
        assert!(g.is_ramping());
        let frames: Vec<[f32; 2]> = (0..6).map(|_| g.tick()).collect();
        assert_eq!(
            frames,
            [
                [0.25, 0.75],
                [0.5, 0.5],
                [0.75, 0.25],
                [1.0, 0.0],
                [1.0, 0.0],
                [1.0, 0.0]
            ]
        );
        assert!(!g.is_ramping());
    }

    #[test]
    fn a_new_target_restarts_from_where_the_gain_is_and_the_same_one_does_not() {
        let mut g = GainRamp::at([1.0]);
        g.ramp_to([0.0], 8);
        for _ in 0..4 {
            g.tick();
        }
        g.ramp_to([0.0], 8);
        assert_eq!(g.tick(), [0.375], "the same target keeps the ramp going");
        g.ramp_to([1.0], 2);
        assert_eq!(g.tick(), [0.6875]);
        assert_eq!(g.tick(), [1.0]);
        g.ramp_to([0.2], 100);
        g.jump_to_target();
        assert_eq!((g.current(), g.is_ramping()), ([0.2], false));
    }
}
