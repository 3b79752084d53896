//! A track's own effects: a state-variable filter (the trapezoidal, zero-delay-feedback form
//! of Zavalishin's "The Art of VA Filter Design", as Simper's "Solving the continuous SVF
//! equations using trapezoidal integration" writes it) with low-pass and high-pass outputs and
//! resonance, then a drive (a cubic soft saturation, no division per sample). Both are bypassed while neutral: a track without
//! effects is not touched.

use keyboardia_core::{FilterMode, TrackFx};

/// Damping of the filter at zero resonance (`k = 1/Q`; 2 is Q = 0.5, no peak).
const K_MAX: f32 = 2.0;
/// Damping at full resonance: Q ≈ 16.7, a 24 dB peak, still short of self-oscillation (the
/// trapezoidal SVF is stable for any `k > 0`, at any cutoff and modulation).
const K_MIN: f32 = 0.06;
/// The highest cutoff as a fraction of the sample rate (the prewarp `tan` grows without bound
/// towards Nyquist).
const MAX_CUTOFF_FRACTION: f32 = 0.45;
/// How far drive 1 pushes the signal into the saturator (+20 dB).
const MAX_DRIVE_GAIN: f32 = 10.0;
/// Magnitudes below this are set to zero (no subnormal arithmetic, a decayed filter goes idle).
pub(super) const FLUSH: f32 = 1e-20;

/// Zero for magnitudes below [`FLUSH`].
#[inline(always)]
pub(super) fn flush(x: f32) -> f32 {
    if x.abs() < FLUSH {
        0.0
    } else {
        x
    }
}

/// One track's filter and drive, with the values its last hit locked.
#[derive(Clone, Copy, Debug)]
pub(super) struct TrackChain {
    /// Which filter output plays (off: the filter is bypassed and its state cleared).
    pub mode: FilterMode,
    /// The cutoff the filter runs at now (the track's, or its last hit's lock), Hz.
    pub cutoff_hz: f32,
    /// The track's own cutoff, Hz (a hit without a cutoff lock goes back to it).
    pub base_cutoff_hz: f32,
    /// Damping `k = 1/Q` from the resonance.
    k: f32,
    /// Prewarped gain `g = tan(π·fc/fs)` of `cutoff_hz`, and the solver's coefficients.
    coefs: [f32; 3],
    /// The cutoff `coefs` were computed for (recomputed when `cutoff_hz` moves).
    coefs_hz: f32,
    /// The two integrators' states.
    ic: [f32; 2],
    /// Gain into the saturator (1 + 9 × drive); 1 or less: no drive.
    drive_gain: f32,
    /// The send to the reverb now (the track's, or its last hit's lock), linear.
    pub reverb_send: f32,
    /// The track's own reverb send.
    pub base_reverb_send: f32,
    /// The send to the delay now (the track's, or its last hit's lock), linear.
    pub delay_send: f32,
    /// The track's own delay send.
    pub base_delay_send: f32,
}

impl Default for TrackChain {
    fn default() -> Self {
        let mut c = Self {
            mode: FilterMode::Off,
            cutoff_hz: 0.0,
            base_cutoff_hz: 0.0,
            k: K_MAX,
            coefs: [0.0; 3],
            coefs_hz: -1.0,
            ic: [0.0; 2],
            drive_gain: 1.0,
            reverb_send: 0.0,
            base_reverb_send: 0.0,
            delay_send: 0.0,
            base_delay_send: 0.0,
        };
        c.set(&TrackFx::default());
        c
    }
}

impl TrackChain {
    /// Takes the track's settings. A lock of the last hit keeps its value only while the
    /// track's own value did not change.
    pub fn set(&mut self, fx: &TrackFx) {
        if self.mode != fx.filter {
            self.ic = [0.0; 2];
        }
        self.mode = fx.filter;
        if self.base_cutoff_hz != fx.cutoff_hz {
            self.base_cutoff_hz = fx.cutoff_hz;
            self.cutoff_hz = fx.cutoff_hz;
        }
        if self.base_reverb_send != fx.reverb_send {
            self.base_reverb_send = fx.reverb_send;
            self.reverb_send = fx.reverb_send;
        }
        if self.base_delay_send != fx.delay_send {
            self.base_delay_send = fx.delay_send;
            self.delay_send = fx.delay_send;
        }
        let k = K_MAX - (K_MAX - K_MIN) * fx.resonance.clamp(0.0, 1.0);
        if k != self.k {
            self.k = k;
            self.coefs_hz = -1.0;
        }
        self.drive_gain = 1.0 + (MAX_DRIVE_GAIN - 1.0) * fx.drive.clamp(0.0, 1.0);
    }

    /// A hit's locks (`None`: back to the track's own value).
    pub fn hit(&mut self, cutoff_hz: Option<f32>, reverb: Option<f32>, delay: Option<f32>) {
        self.cutoff_hz = cutoff_hz.unwrap_or(self.base_cutoff_hz);
        self.reverb_send = reverb.unwrap_or(self.base_reverb_send);
        self.delay_send = delay.unwrap_or(self.base_delay_send);
    }

    /// Clears the filter's state (a reset).
    pub fn clear(&mut self) {
        self.ic = [0.0; 2];
    }

    /// Whether the filter or the drive changes the sound.
    pub fn shapes(&self) -> bool {
        self.mode != FilterMode::Off || self.drive_gain > 1.0
    }

    /// Whether the filter still rings with no input (its state has not decayed to zero).
    pub fn rings(&self) -> bool {
        self.mode != FilterMode::Off && self.ic != [0.0; 2]
    }

    /// The filter's coefficients for the lanes (the rack runs every track's filter
    /// at once): `[a1, a2, a3]` of the solver and `[m0, m1, m2]`, the output as a mix of the
    /// input, the band-pass and the low-pass. A track without a filter gets zeros and
    /// `[1, 0, 0]`: its input passes exactly. `cutoff_scale` multiplies the cutoff (host
    /// automation; 1 without).
    pub fn lane_coefs(&mut self, sample_rate: f32, cutoff_scale: f32) -> ([f32; 3], [f32; 3]) {
        match self.mode {
            FilterMode::Off => ([0.0; 3], [1.0, 0.0, 0.0]),
            mode => {
                let cutoff_hz = self.cutoff_hz * cutoff_scale;
                if self.coefs_hz != cutoff_hz {
                    self.coefs_hz = cutoff_hz;
                    let fc = cutoff_hz.clamp(1.0, MAX_CUTOFF_FRACTION * sample_rate);
                    let g = (std::f32::consts::PI * fc / sample_rate).tan();
                    let a1 = 1.0 / (1.0 + g * (g + self.k));
                    self.coefs = [a1, g * a1, g * g * a1];
                }
                let mix = if mode == FilterMode::HighPass {
                    [1.0, -self.k, -1.0]
                } else {
                    [0.0, 0.0, 1.0]
                };
                (self.coefs, mix)
            }
        }
    }

    /// The integrators' states, for the lanes.
    pub fn state(&self) -> [f32; 2] {
        self.ic
    }

    /// Takes the integrators' states back from the lanes.
    pub fn set_state(&mut self, ic: [f32; 2]) {
        self.ic = if self.mode == FilterMode::Off {
            [0.0; 2]
        } else {
            ic
        };
    }

    /// The drive for the lanes: `Some((pre, makeup))` (the signal is driven as
    /// `soft_clip_cubic(x·pre)·makeup`), `None` without drive.
    pub fn drive_gains(&self) -> Option<(f32, f32)> {
        (self.drive_gain > 1.0).then(|| {
            let pre = self.drive_gain;
            // Unity for small signals would make drive a loudness knob: the makeup 1/√pre
            // keeps the level and bounds the output by 1/√pre.
            (pre, 1.0 / pre.sqrt())
        })
    }
}
