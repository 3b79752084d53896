//! Small DSP building blocks, written for the audio thread: no allocation, no libm calls in the
//! per-sample paths (coefficients that need `exp`/`tan` are computed when a note starts or at
//! control rate).

use std::f32::consts::PI;

/// Samples between control-rate updates (filter cutoffs that follow an envelope). Counted from
/// the voice's start, so the output does not depend on how the host splits blocks.
pub const CONTROL_RATE: u32 = 16;

/// `sin(2π·p)` for a phase `p` in `[0, 1)`; max error about 0.001, a few multiplies.
#[inline(always)]
pub fn sin2pi(p: f32) -> f32 {
    // z in [-1, 1): sin(2πp) = -sin(πz) with z = 2p - 1.
    let z = 2.0 * p - 1.0;
    let y = 4.0 * z * (1.0 - z.abs());
    -(0.225 * (y * y.abs() - y) + y)
}

/// Wraps a phase into `[0, 1)` after one increment (increments are below 1).
#[inline(always)]
pub fn wrap(p: f32) -> f32 {
    if p >= 1.0 {
        p - 1.0
    } else {
        p
    }
}

/// A fast bounded saturator close to `tanh`, exactly ±1 for |x| ≥ 3.
#[inline(always)]
pub fn soft_clip(x: f32) -> f32 {
    let x = x.clamp(-3.0, 3.0);
    x * (27.0 + x * x) / (27.0 + 9.0 * x * x)
}

/// A cheaper saturator without a division: cubic, exactly ±1 for |x| ≥ 1.5.
#[inline(always)]
pub fn soft_clip_cubic(x: f32) -> f32 {
    let x = x.clamp(-1.5, 1.5);
    x - x * x * x * (4.0 / 27.0)
}

/// PolyBLEP residual for a discontinuity at phase 0 with increment `dt`.
#[inline(always)]
pub fn poly_blep(t: f32, dt: f32) -> f32 {
    if t < dt {
        let t = t / dt;
        t + t - t * t - 1.0
    } else if t > 1.0 - dt {
        let t = (t - 1.0) / dt;
        t * t + t + t + 1.0
    } else {
        0.0
    }
}

/// Band-limited sawtooth in `[-1, 1]` at phase `p` with increment `dt`.
#[inline(always)]
pub fn saw(p: f32, dt: f32) -> f32 {
    2.0 * p - 1.0 - poly_blep(p, dt)
}

/// Band-limited square in `[-1, 1]` at phase `p` with increment `dt`.
#[inline(always)]
pub fn square(p: f32, dt: f32) -> f32 {
    let naive = if p < 0.5 { 1.0 } else { -1.0 };
    naive + poly_blep(p, dt) - poly_blep(wrap(p + 0.5), dt)
}

/// Per-sample multiplier of an exponential decay with time constant `tau_s`.
pub fn decay_coef(tau_s: f32, sample_rate: f32) -> f32 {
    (-1.0 / (tau_s * sample_rate).max(1.0)).exp()
}

/// One-pole lowpass coefficient for a cutoff in Hz.
pub fn one_pole_coef(cutoff_hz: f32, sample_rate: f32) -> f32 {
    1.0 - (-2.0 * PI * cutoff_hz / sample_rate).exp()
}

/// Semitones to a frequency ratio.
pub fn semis_to_ratio(semitones: f32) -> f32 {
    (semitones * (std::f32::consts::LN_2 / 12.0)).exp()
}

/// MIDI note number to Hz (A4 = 69 = 440 Hz).
pub fn note_to_hz(note: f32) -> f32 {
    440.0 * semis_to_ratio(note - 69.0)
}

/// A deterministic white-noise source (xorshift32).
#[derive(Clone, Copy, Debug)]
pub struct Noise {
    /// Generator state; never zero.
    state: u32,
}

impl Noise {
    pub fn new(seed: u32) -> Self {
        Self { state: seed.max(1) }
    }

    /// Uniform in `[-1, 1)`.
    #[inline(always)]
    pub fn sample(&mut self) -> f32 {
        let mut x = self.state;
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        self.state = x;
        (x as i32) as f32 * (1.0 / 2_147_483_648.0)
    }
}

/// SplitMix64: the seeded, position-addressed random source of the sequencer (probability locks),
/// so a step's dice roll depends only on the seed, the track and the step's position in time.
pub fn splitmix64(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Topology-preserving state-variable filter (Cytomic/Simper), 2-pole.
#[derive(Clone, Copy, Debug, Default)]
pub struct Svf {
    /// First integrator state.
    ic1: f32,
    /// Second integrator state.
    ic2: f32,
    /// Coefficients for the current cutoff and resonance.
    a1: f32,
    /// Second coefficient.
    a2: f32,
    /// Third coefficient.
    a3: f32,
    /// Damping, `1/Q`.
    k: f32,
}

/// The three simultaneous outputs of [`Svf::tick`].
#[derive(Clone, Copy, Debug)]
pub struct SvfOut {
    /// Low-pass output.
    pub low: f32,
    /// Band-pass output.
    pub band: f32,
    /// High-pass output.
    pub high: f32,
}

impl Svf {
    /// Sets cutoff (Hz, clamped below Nyquist) and Q. Uses a Padé `tan`, so it is cheap enough
    /// for control-rate modulation.
    #[inline]
    pub fn set(&mut self, cutoff_hz: f32, q: f32, sample_rate: f32) {
        let w = (PI * cutoff_hz / sample_rate).clamp(1e-5, 1.4);
        let w2 = w * w;
        let g = w * (15.0 - w2) / (15.0 - 6.0 * w2);
        self.k = 1.0 / q.max(0.3);
        self.a1 = 1.0 / (1.0 + g * (g + self.k));
        self.a2 = g * self.a1;
        self.a3 = g * self.a2;
    }

    /// Zeroes states that decayed to near nothing (avoids slow denormal arithmetic).
    #[inline]
    pub fn flush(&mut self) {
        if self.ic1.abs() < 1e-15 {
            self.ic1 = 0.0;
        }
        if self.ic2.abs() < 1e-15 {
            self.ic2 = 0.0;
        }
    }

    #[inline(always)]
    pub fn tick(&mut self, x: f32) -> SvfOut {
        let v3 = x - self.ic2;
        let v1 = self.a1 * self.ic1 + self.a2 * v3;
        let v2 = self.ic2 + self.a2 * self.ic1 + self.a3 * v3;
        self.ic1 = 2.0 * v1 - self.ic1;
        self.ic2 = 2.0 * v2 - self.ic2;
        SvfOut {
            low: v2,
            band: v1,
            high: x - self.k * v1 - v2,
        }
    }
}

/// A 4-pole transistor-ladder-style lowpass with resonance feedback and input saturation (the
/// acid filter).
#[derive(Clone, Copy, Debug, Default)]
pub struct Ladder {
    /// The four one-pole stages.
    s: [f32; 4],
    /// One-pole coefficient for the current cutoff.
    g: f32,
}

impl Ladder {
    #[inline]
    pub fn set_cutoff(&mut self, cutoff_hz: f32, sample_rate: f32) {
        let w = (2.0 * PI * cutoff_hz / sample_rate).clamp(1e-5, 2.0);
        self.g = w / (1.0 + w);
    }

    /// Zeroes stages that decayed to near nothing (avoids slow denormal arithmetic).
    #[inline]
    pub fn flush(&mut self) {
        for s in self.s.iter_mut() {
            if s.abs() < 1e-15 {
                *s = 0.0;
            }
        }
    }

    /// `resonance` is the feedback amount: 0 (none) to ~4 (self-oscillation).
    #[inline(always)]
    pub fn tick(&mut self, x: f32, resonance: f32) -> f32 {
        let g = self.g;
        let u = soft_clip_cubic(x - resonance * self.s[3]);
        self.s[0] += g * (u - self.s[0]);
        self.s[1] += g * (self.s[0] - self.s[1]);
        self.s[2] += g * (self.s[1] - self.s[2]);
        self.s[3] += g * (self.s[2] - self.s[3]);
        self.s[3]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fast_sine_tracks_sin() {
        for i in 0..1000 {
            let p = i as f32 / 1000.0;
            let e = (sin2pi(p) - (2.0 * PI * p).sin()).abs();
            assert!(e < 0.002, "p={p} err={e}");
        }
    }

    #[test]
    fn soft_clip_is_bounded_and_odd() {
        for i in -100..=100 {
            let x = i as f32 * 0.1;
            let y = soft_clip(x);
            assert!(y.abs() <= 1.0);
            assert_eq!(y, -soft_clip(-x));
        }
        assert!((soft_clip(0.1) - 0.1f32.tanh()).abs() < 1e-3);
    }

    #[test]
    fn noise_is_roughly_zero_mean_and_bounded() {
        let mut n = Noise::new(7);
        let mut sum = 0.0f64;
        for _ in 0..100_000 {
            let x = n.sample();
            assert!((-1.0..1.0).contains(&x));
            sum += x as f64;
        }
        assert!((sum / 100_000.0).abs() < 0.01);
    }
}
