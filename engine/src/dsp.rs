//! Small DSP building blocks, written for the audio thread: no allocation, no libm calls in the
//! per-sample paths (coefficients that need `exp`/`tan` are computed when a note starts or at
//! control rate).

use std::f32::consts::PI;

/// Whether the CPU has AVX2: the hottest loops (the engine's mixing, the effect lanes, the
/// reverb) then run a copy of themselves compiled for it. Only the instruction set differs: no
/// FMA contraction, nothing reordered, so the output is bit for bit the same either way. The
/// answer is cached by `std` (an atomic load after the first call; nothing allocates).
#[cfg(target_arch = "x86_64")]
#[inline(always)]
pub(crate) fn has_avx2() -> bool {
    std::arch::is_x86_feature_detected!("avx2")
}

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

/// `sin(2π·p)` per lane from `z = 2p − 1` (see [`U4::centered_unit`]): the same approximation
/// as [`sin2pi`].
#[inline(always)]
pub fn sin_centered4(z: F4) -> F4 {
    let y = F4::splat(4.0) * z * (F4::splat(1.0) - z.abs());
    F4::splat(0.0) - (F4::splat(0.225) * (y * y.abs() - y) + y)
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
    // x - (4/27)·x³, grouped so that x² and (4/27)·x are computed side by side.
    x - (x * x) * (x * (4.0 / 27.0))
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

/// Four `f32` lanes: one SSE register on x86-64, a plain array elsewhere (same arithmetic,
/// same results).
#[cfg(target_arch = "x86_64")]
mod lanes {
    // SAFETY (every `unsafe` below): these SSE/SSE2 intrinsics only compute on registers, and
    // SSE and SSE2 are part of the x86-64 baseline, so every x86-64 CPU has them.
    use std::arch::x86_64::*;

    #[derive(Clone, Copy)]
    pub struct F4(__m128);

    impl F4 {
        #[inline(always)]
        pub fn new(a: [f32; 4]) -> Self {
            unsafe { Self(_mm_setr_ps(a[0], a[1], a[2], a[3])) }
        }
        #[inline(always)]
        pub fn splat(x: f32) -> Self {
            unsafe { Self(_mm_set1_ps(x)) }
        }
        #[inline(always)]
        pub fn to_array(self) -> [f32; 4] {
            unsafe {
                let v = self.0;
                [
                    _mm_cvtss_f32(v),
                    _mm_cvtss_f32(_mm_shuffle_ps::<0b01_01_01_01>(v, v)),
                    _mm_cvtss_f32(_mm_shuffle_ps::<0b10_10_10_10>(v, v)),
                    _mm_cvtss_f32(_mm_shuffle_ps::<0b11_11_11_11>(v, v)),
                ]
            }
        }
        /// `max(x, 0)` per lane.
        #[inline(always)]
        pub fn pos(self) -> Self {
            unsafe { Self(_mm_max_ps(self.0, _mm_setzero_ps())) }
        }
        /// `x - 1` in lanes where `x >= 1`.
        #[inline(always)]
        pub fn wrap(self) -> Self {
            unsafe {
                let one = _mm_set1_ps(1.0);
                let ge = _mm_cmpge_ps(self.0, one);
                Self(_mm_sub_ps(self.0, _mm_and_ps(ge, one)))
            }
        }
        /// `(l0 + l1) + (l2 + l3)`.
        #[inline(always)]
        pub fn sum(self) -> f32 {
            unsafe {
                let v = self.0;
                // [l0 + l1, l1 + l0, l2 + l3, l3 + l2], then lane 0 + lane 2.
                let s = _mm_add_ps(v, _mm_shuffle_ps::<0b10_11_00_01>(v, v));
                _mm_cvtss_f32(_mm_add_ss(s, _mm_movehl_ps(s, s)))
            }
        }
        /// `|x|` per lane.
        #[inline(always)]
        pub fn abs(self) -> Self {
            unsafe { Self(_mm_andnot_ps(_mm_set1_ps(-0.0), self.0)) }
        }
        /// Each lane splatted across a vector.
        #[inline(always)]
        pub fn splat_lanes(self) -> [Self; 4] {
            let v = self.0;
            unsafe {
                [
                    Self(_mm_shuffle_ps::<0b00_00_00_00>(v, v)),
                    Self(_mm_shuffle_ps::<0b01_01_01_01>(v, v)),
                    Self(_mm_shuffle_ps::<0b10_10_10_10>(v, v)),
                    Self(_mm_shuffle_ps::<0b11_11_11_11>(v, v)),
                ]
            }
        }
        /// Lane 3.
        #[inline(always)]
        pub fn lane3(self) -> f32 {
            unsafe { _mm_cvtss_f32(_mm_shuffle_ps::<0b11_11_11_11>(self.0, self.0)) }
        }
        /// Whether any lane is below `lo` or above `hi` (or NaN).
        #[inline(always)]
        pub fn any_outside(self, lo: Self, hi: Self) -> bool {
            unsafe {
                let inside = _mm_and_ps(_mm_cmpge_ps(self.0, lo.0), _mm_cmple_ps(self.0, hi.0));
                _mm_movemask_ps(inside) != 0b1111
            }
        }
        /// Writes the lanes to `out`.
        #[inline(always)]
        pub fn store(self, out: &mut [f32; 4]) {
            // SAFETY: `out` is four writable f32s; the store is unaligned.
            unsafe { _mm_storeu_ps(out.as_mut_ptr(), self.0) }
        }
        /// The 4×4 transpose: lane `j` of result `i` is lane `i` of `v[j]`.
        #[inline(always)]
        pub fn transpose4(v: [Self; 4]) -> [Self; 4] {
            unsafe {
                let t0 = _mm_unpacklo_ps(v[0].0, v[1].0);
                let t1 = _mm_unpacklo_ps(v[2].0, v[3].0);
                let t2 = _mm_unpackhi_ps(v[0].0, v[1].0);
                let t3 = _mm_unpackhi_ps(v[2].0, v[3].0);
                [
                    Self(_mm_movelh_ps(t0, t1)),
                    Self(_mm_movehl_ps(t1, t0)),
                    Self(_mm_movelh_ps(t2, t3)),
                    Self(_mm_movehl_ps(t3, t2)),
                ]
            }
        }
    }

    /// Four `u32` lanes (wrapping arithmetic): oscillator phases, a full cycle being 2³².
    #[derive(Clone, Copy)]
    pub struct U4(__m128i);

    impl U4 {
        #[inline(always)]
        pub fn new(a: [u32; 4]) -> Self {
            unsafe {
                Self(_mm_setr_epi32(
                    a[0] as i32,
                    a[1] as i32,
                    a[2] as i32,
                    a[3] as i32,
                ))
            }
        }
        #[inline(always)]
        pub fn splat(x: u32) -> Self {
            unsafe { Self(_mm_set1_epi32(x as i32)) }
        }
        /// Wrapping add per lane.
        #[inline(always)]
        pub fn wrapping_add(self, o: Self) -> Self {
            unsafe { Self(_mm_add_epi32(self.0, o.0)) }
        }
        /// Each phase plus an offset in cycles, `|x| < 1` (truncated to 2⁻³¹ of a cycle).
        #[inline(always)]
        pub fn add_cycles(self, x: F4) -> Self {
            unsafe {
                let half_units = _mm_cvttps_epi32(_mm_mul_ps(x.0, _mm_set1_ps(2_147_483_648.0)));
                Self(_mm_add_epi32(self.0, _mm_slli_epi32::<1>(half_units)))
            }
        }
        /// Each phase `p` (a cycle is 2³²) as `2·p/2³² − 1`, in `[-1, 1)`: the phase offset by
        /// half a cycle read as a signed integer, scaled.
        #[inline(always)]
        pub fn centered_unit(self) -> F4 {
            unsafe {
                let signed = _mm_xor_si128(self.0, _mm_set1_epi32(i32::MIN));
                F4(_mm_mul_ps(
                    _mm_cvtepi32_ps(signed),
                    _mm_set1_ps(1.0 / 2_147_483_648.0),
                ))
            }
        }
    }

    impl std::ops::Add for F4 {
        type Output = Self;
        #[inline(always)]
        fn add(self, o: Self) -> Self {
            unsafe { Self(_mm_add_ps(self.0, o.0)) }
        }
    }

    impl std::ops::Sub for F4 {
        type Output = Self;
        #[inline(always)]
        fn sub(self, o: Self) -> Self {
            unsafe { Self(_mm_sub_ps(self.0, o.0)) }
        }
    }

    impl std::ops::Mul for F4 {
        type Output = Self;
        #[inline(always)]
        fn mul(self, o: Self) -> Self {
            unsafe { Self(_mm_mul_ps(self.0, o.0)) }
        }
    }
}

#[cfg(not(target_arch = "x86_64"))]
mod lanes {
    #[derive(Clone, Copy)]
    pub struct F4([f32; 4]);

    impl F4 {
        #[inline(always)]
        pub fn new(a: [f32; 4]) -> Self {
            Self(a)
        }
        #[inline(always)]
        pub fn splat(x: f32) -> Self {
            Self([x; 4])
        }
        #[inline(always)]
        pub fn to_array(self) -> [f32; 4] {
            self.0
        }
        #[inline(always)]
        pub fn pos(self) -> Self {
            Self(self.0.map(|x| if x > 0.0 { x } else { 0.0 }))
        }
        #[inline(always)]
        pub fn wrap(self) -> Self {
            Self(self.0.map(|x| if x >= 1.0 { x - 1.0 } else { x }))
        }
        #[inline(always)]
        pub fn sum(self) -> f32 {
            let v = self.0;
            (v[0] + v[1]) + (v[2] + v[3])
        }
        #[inline(always)]
        pub fn abs(self) -> Self {
            Self(self.0.map(f32::abs))
        }
        #[inline(always)]
        pub fn splat_lanes(self) -> [Self; 4] {
            self.0.map(Self::splat)
        }
        #[inline(always)]
        pub fn lane3(self) -> f32 {
            self.0[3]
        }
        #[inline(always)]
        pub fn any_outside(self, lo: Self, hi: Self) -> bool {
            (0..4).any(|i| !(self.0[i] >= lo.0[i] && self.0[i] <= hi.0[i]))
        }
        #[inline(always)]
        pub fn store(self, out: &mut [f32; 4]) {
            *out = self.0;
        }
        #[inline(always)]
        pub fn transpose4(v: [Self; 4]) -> [Self; 4] {
            std::array::from_fn(|i| Self(std::array::from_fn(|j| v[j].0[i])))
        }
    }

    #[derive(Clone, Copy)]
    pub struct U4([u32; 4]);

    impl U4 {
        #[inline(always)]
        pub fn new(a: [u32; 4]) -> Self {
            Self(a)
        }
        #[inline(always)]
        pub fn splat(x: u32) -> Self {
            Self([x; 4])
        }
        #[inline(always)]
        pub fn wrapping_add(self, o: Self) -> Self {
            Self(std::array::from_fn(|i| self.0[i].wrapping_add(o.0[i])))
        }
        #[inline(always)]
        pub fn add_cycles(self, x: super::F4) -> Self {
            let x = x.to_array();
            Self(std::array::from_fn(|i| {
                let half_units = (x[i] * 2_147_483_648.0) as i32 as u32;
                self.0[i].wrapping_add(half_units << 1)
            }))
        }
        #[inline(always)]
        pub fn centered_unit(self) -> super::F4 {
            super::F4::new(
                self.0
                    .map(|p| (p ^ 0x8000_0000) as i32 as f32 * (1.0 / 2_147_483_648.0)),
            )
        }
    }

    impl std::ops::Add for F4 {
        type Output = Self;
        #[inline(always)]
        fn add(self, o: Self) -> Self {
            Self(std::array::from_fn(|i| self.0[i] + o.0[i]))
        }
    }

    impl std::ops::Sub for F4 {
        type Output = Self;
        #[inline(always)]
        fn sub(self, o: Self) -> Self {
            Self(std::array::from_fn(|i| self.0[i] - o.0[i]))
        }
    }

    impl std::ops::Mul for F4 {
        type Output = Self;
        #[inline(always)]
        fn mul(self, o: Self) -> Self {
            Self(std::array::from_fn(|i| self.0[i] * o.0[i]))
        }
    }
}

pub use lanes::{F4, U4};

/// Four band-limited sawtooth oscillators advanced together, one per lane. Same polyBLEP as
/// [`saw`], written branch-free as `b² − a²` with `a = max(0, 1 − p/dt)` (just after the wrap)
/// and `b = max(0, 1 − (1 − p)/dt)` (just before it); a band-limited square is the difference
/// of two saws half a cycle apart.
#[derive(Clone, Copy)]
pub struct Saw4 {
    /// Phases in `[0, 1)`.
    ph: F4,
    /// Increments (below 0.5).
    dt: F4,
    /// Reciprocals of the increments.
    idt: F4,
    /// Output weight of each lane.
    w: F4,
    /// Per lane, the phase from which on the polyBLEP term after the wrap is certainly zero
    /// (the increment, with a margin for rounding).
    blep_lo: F4,
    /// Per lane, the phase up to which the polyBLEP term before the wrap is certainly zero.
    blep_hi: F4,
}

impl Saw4 {
    #[inline(always)]
    pub fn new(ph: [f32; 4], dt: [f32; 4], w: [f32; 4]) -> Self {
        // `a` (below) is zero once `p·(1/dt) ≥ 1` in floats, and `b` once `(1 − p)·(1/dt) ≥ 1`:
        // the relative margin covers the roundings of `1/dt`, the products and `1 − p`
        // (a few 2⁻²⁴), the absolute one the rounding of `blep_hi` itself near 1.
        let lo = dt.map(|d| d * 1.001 + 1e-6);
        Self {
            ph: F4::new(ph),
            dt: F4::new(dt),
            idt: F4::new(dt.map(|d| 1.0 / d)),
            w: F4::new(w),
            blep_lo: F4::new(lo),
            blep_hi: F4::new(lo.map(|l| 1.0 - l)),
        }
    }

    /// The phases (to store between calls).
    #[inline(always)]
    pub fn phases(&self) -> [f32; 4] {
        self.ph.to_array()
    }

    /// Advances one sample; returns the weighted sum of the four saws.
    #[inline(always)]
    pub fn tick(&mut self) -> f32 {
        let one = F4::splat(1.0);
        let p = self.ph + self.dt;
        if !p.any_outside(self.blep_lo, self.blep_hi) {
            // No lane is within an increment of its wrap (nor past it: `blep_hi < 1`, so the
            // wrap would change nothing): both polyBLEP terms are exactly zero
            // (`x − (0·0 − 0·0)` is `x`), so the saws are the naive ones, bit for bit.
            self.ph = p;
            return ((p + p - one) * self.w).sum();
        }
        let p = p.wrap();
        self.ph = p;
        let a = (one - p * self.idt).pos();
        let b = (one - (one - p) * self.idt).pos();
        let y = (p + p - one) - (b * b - a * a);
        (y * self.w).sum()
    }
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
    /// The same update as a 2×2 state-space step, `ic' = M·ic + b·x` (`m[row][col]`): two
    /// multiply-adds from state to state instead of five dependent operations, so the voice
    /// loop is not bound by the latency of its filter.
    m: [[f32; 2]; 2],
    /// Input column of the state-space step.
    b: [f32; 2],
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
        self.m = [
            [2.0 * self.a1 - 1.0, -2.0 * self.a2],
            [2.0 * self.a2, 1.0 - 2.0 * self.a3],
        ];
        self.b = [2.0 * self.a2, 2.0 * self.a3];
    }

    /// The state-space step `ic' = M·ic + b·x` of [`Svf::tick`]: `(M, b)`.
    #[inline(always)]
    pub fn state_space(&self) -> ([[f32; 2]; 2], [f32; 2]) {
        (self.m, self.b)
    }

    /// The two integrators' states.
    #[inline(always)]
    pub fn state(&self) -> [f32; 2] {
        [self.ic1, self.ic2]
    }

    /// Sets the two integrators' states.
    #[inline(always)]
    pub fn set_state(&mut self, [ic1, ic2]: [f32; 2]) {
        (self.ic1, self.ic2) = (ic1, ic2);
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

    /// One sample. The trapezoidal integrators' outputs are the means of their old and new
    /// states (`v = (ic + ic') / 2`), so only the states' own update is on the loop's critical
    /// path.
    #[inline(always)]
    pub fn tick(&mut self, x: f32) -> SvfOut {
        let (ic1, ic2) = (self.ic1, self.ic2);
        let n1 = self.m[0][0] * ic1 + (self.m[0][1] * ic2 + self.b[0] * x);
        let n2 = self.m[1][1] * ic2 + (self.m[1][0] * ic1 + self.b[1] * x);
        self.ic1 = n1;
        self.ic2 = n2;
        let v1 = 0.5 * (ic1 + n1);
        let v2 = 0.5 * (ic2 + n2);
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
    /// Each stage's new value as a function of the old stages and the saturated input `u`:
    /// `s'[i] = Σ_j p[j][i]·s[j] + q[i]·u` (the four cascaded one-poles unrolled), so a sample
    /// costs one multiply-add after `u` instead of four dependent one-pole updates. Stored by
    /// column (`p[j]` is old stage `j`'s weight in each new stage), so the four stages are
    /// updated as one vector.
    p: [[f32; 4]; 4],
    /// Input gains `g, g², g³, g⁴` of the unrolled stages.
    q: [f32; 4],
    /// The last saturated input `u`.
    u: f32,
    /// Resonance × the last step's `Σ_j p[j][3]·s[j]` (the part of the feedback known before `u`).
    fb_c: f32,
    /// Resonance × the last step's `q[3]` (the feedback's gain on `u`).
    fb_q: f32,
}

impl Ladder {
    #[inline]
    pub fn set_cutoff(&mut self, cutoff_hz: f32, sample_rate: f32) {
        let w = (2.0 * PI * cutoff_hz / sample_rate).clamp(1e-5, 2.0);
        // One-pole coefficient for the cutoff.
        let g = w / (1.0 + w);
        // s'[i] = a·s[i] + g·s'[i-1] with a = 1 - g, s'[-1] = u.
        let a = 1.0 - g;
        let (g2, g3) = (g * g, g * g * g);
        self.p = [
            [a, g * a, g2 * a, g3 * a],
            [0.0, a, g * a, g2 * a],
            [0.0, 0.0, a, g * a],
            [0.0, 0.0, 0.0, a],
        ];
        self.q = [g, g2, g3, g2 * g2];
    }

    /// Zeroes stages that decayed to near nothing (avoids slow denormal arithmetic).
    #[inline]
    pub fn flush(&mut self) {
        for s in self.s.iter_mut() {
            if s.abs() < 1e-15 {
                *s = 0.0;
            }
        }
        if self.s[3] == 0.0 {
            // Keep the feedback terms consistent with the flushed last stage.
            (self.u, self.fb_c) = (0.0, 0.0);
        }
    }

    /// `resonance` is the feedback amount: 0 (none) to ~4 (self-oscillation); it must stay the
    /// same from one sample to the next (it is a per-note constant).
    #[inline(always)]
    pub fn tick(&mut self, x: f32, resonance: f32) -> f32 {
        let [s0, s1, s2, s3] = F4::new(self.s).splat_lanes();
        let p = self.p.map(F4::new);
        // resonance · s3, with s3 = c3 + q3·u of the last step: only one multiply and one
        // subtract stand between the last `u` and this one.
        let u = soft_clip_cubic((x - self.fb_c) - self.fb_q * self.u);
        // The old stages' contributions do not depend on `u`: computed alongside it. Stage i
        // sums `(p0·s0 + p1·s1) + (p2·s2 + p3·s3)`, the terms above the diagonal being zero.
        let c = (p[0] * s0 + p[1] * s1) + (p[2] * s2 + p[3] * s3);
        let s = c + F4::new(self.q) * F4::splat(u);
        s.store(&mut self.s);
        self.u = u;
        self.fb_c = resonance * c.lane3();
        self.fb_q = resonance * self.q[3];
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
    fn vector_sine_of_integer_phases_tracks_sin_and_fm_offsets_wrap() {
        let mut state = 0x1234_5678u32;
        for _ in 0..1000 {
            let ps: [u32; 4] = std::array::from_fn(|_| {
                state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                state
            });
            let cycles = |p: u32| p as f64 / 4_294_967_296.0;
            let y = sin_centered4(U4::new(ps).centered_unit());
            let mut got = [0.0f32; 4];
            y.store(&mut got);
            for (g, p) in got.iter().zip(ps) {
                let want = (2.0 * std::f64::consts::PI * cycles(p)).sin();
                assert!(
                    (*g as f64 - want).abs() < 0.002,
                    "p={p} got {g} want {want}"
                );
            }
            // Offsets of either sign wrap around the cycle, to within 2⁻²³ of a cycle.
            let x = F4::new([0.9, -0.9, 0.25, -0.001]);
            let mut moved = [0.0f32; 4];
            U4::new(ps).add_cycles(x).centered_unit().store(&mut moved);
            for ((m, p), dx) in moved.iter().zip(ps).zip([0.9, -0.9, 0.25, -0.001]) {
                let want = (cycles(p) + dx).rem_euclid(1.0);
                let got = (*m as f64 + 1.0) / 2.0;
                let err = (got - want).abs().min(1.0 - (got - want).abs());
                assert!(err < 1.0 / 8_388_608.0, "p={p} dx={dx}: {got} vs {want}");
            }
        }
    }

    /// The saws as [`Saw4::tick`] computes them without its shortcut: the polyBLEP terms on
    /// every sample.
    fn saw4_reference(ph: &mut [f32; 4], dt: [f32; 4], w: [f32; 4]) -> f32 {
        let one = F4::splat(1.0);
        let (dtv, idt) = (F4::new(dt), F4::new(dt.map(|d| 1.0 / d)));
        let p = (F4::new(*ph) + dtv).wrap();
        *ph = p.to_array();
        let a = (one - p * idt).pos();
        let b = (one - (one - p) * idt).pos();
        let y = (p + p - one) - (b * b - a * a);
        (y * F4::new(w)).sum()
    }

    #[test]
    fn saw4_skips_the_polyblep_only_where_it_is_exactly_zero() {
        let mut state = 0x9E37_79B9u32;
        let mut unit = || {
            state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            (state >> 8) as f32 / (1u32 << 24) as f32
        };
        for _ in 0..200 {
            // Increments from 2 Hz to 20 kHz at 48 kHz, phases anywhere.
            let dt: [f32; 4] = std::array::from_fn(|_| 4e-5 + 0.42 * unit() * unit());
            let ph: [f32; 4] = std::array::from_fn(|_| unit());
            let w = [0.7, -0.5, 0.45, 0.3];
            let mut osc = Saw4::new(ph, dt, w);
            let mut reference = ph;
            for i in 0..4000 {
                let (got, want) = (osc.tick(), saw4_reference(&mut reference, dt, w));
                assert_eq!(got.to_bits(), want.to_bits(), "dt {dt:?} sample {i}");
            }
            assert_eq!(osc.phases().map(f32::to_bits), reference.map(f32::to_bits));
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
