//! The percussive built-ins: kick, snare, clap, hats, toms, rim, cowbell, shaker, zap, riser.
//!
//! Each type holds one note's synthesis state. `new` computes what needs `exp` (decay
//! multipliers, filter coefficients) from the pitch `ratio` (a frequency ratio: a pitch lock of
//! +12 is 2.0); `render` writes raw unit-gain frames for a run that stays within one control
//! period of the voice's age (see [`super::control_periods`]) and says whether the sound goes
//! on. Decayed state is flushed to zero at the end of every run ([`flush`]).

use crate::dsp::{
    one_pole_coef, saw, semis_to_ratio, sin2pi, soft_clip, square, wrap, Noise, Svf, CONTROL_RATE,
};

use super::{flush, Decay};

/// Level below which a decaying sound counts as died away.
const SILENT: f32 = 1e-4;

/// 808-style metallic oscillator frequencies (Hz) of the hats.
const HAT_FREQS_HZ: [f32; 6] = [205.3, 304.4, 369.6, 522.7, 540.0, 800.0];

/// A sine body with a falling pitch and a high-passed noise click.
#[derive(Clone, Debug)]
pub struct Kick {
    /// Phase of the body sine, in cycles.
    phase: f32,
    /// Frequency the pitch sweep falls to, in Hz.
    floor_hz: f32,
    /// Extra frequency at the start of the sweep, in Hz (scaled by `sweep`).
    sweep_hz: f32,
    /// One-pole coefficient of the low-pass whose residue is the click (a high-pass).
    click_lp_coef: f32,
    /// The click's low-pass state.
    click_lp: f32,
    /// Level of the body.
    body: Decay,
    /// The pitch sweep.
    sweep: Decay,
    /// Level of the click.
    click: Decay,
    /// The click's noise.
    noise: Noise,
}

impl Kick {
    pub fn new(ratio: f32, noise: Noise, sr: f32) -> Self {
        Self {
            phase: 0.0,
            floor_hz: 48.0 * ratio,
            sweep_hz: 150.0 * ratio,
            click_lp_coef: one_pole_coef(2500.0, sr),
            click_lp: 0.0,
            body: Decay::new(0.18, sr),
            sweep: Decay::new(0.028, sr),
            click: Decay::new(0.0025, sr),
            noise,
        }
    }

    pub fn render(&mut self, out: &mut [f32], sr: f32) -> bool {
        let inv_sr = 1.0 / sr;
        let (mut e0, d0) = (self.body.level, self.body.per_frame);
        let (mut e1, d1) = (self.sweep.level, self.sweep.per_frame);
        let (mut e2, d2) = (self.click.level, self.click.per_frame);
        let (k0, k1, k2) = (self.floor_hz, self.sweep_hz, self.click_lp_coef);
        let mut ph = self.phase;
        let mut hp_lp = self.click_lp;
        for o in out.iter_mut() {
            let f = k0 + k1 * e1;
            ph = wrap(ph + f * inv_sr);
            let n = self.noise.sample();
            hp_lp += k2 * (n - hp_lp);
            let body = sin2pi(ph) * e0;
            let click = (n - hp_lp) * e2 * 0.35;
            *o = soft_clip(1.5 * (body + click)) * 0.9;
            e0 *= d0;
            e1 *= d1;
            e2 *= d2;
        }
        self.phase = ph;
        self.click_lp = flush(hp_lp);
        self.body.level = flush(e0);
        self.sweep.level = flush(e1);
        self.click.level = flush(e2);
        e0 > SILENT
    }
}

/// Two sines with a pitch blip, plus low-passed then high-passed noise (the snares).
#[derive(Clone, Debug)]
pub struct Snare {
    /// Phases of the two body sines, in cycles.
    phases: [f32; 2],
    /// Frequencies of the two body sines, in Hz.
    body_hz: [f32; 2],
    /// Level of the body.
    body: Decay,
    /// Level of the noise (the snares).
    snares: Decay,
    /// The pitch blip at the start of the body.
    blip: Decay,
    /// Low-pass on the noise.
    noise_lp: Svf,
    /// High-pass after it.
    noise_hp: Svf,
    /// The snares' noise.
    noise: Noise,
}

impl Snare {
    pub fn new(ratio: f32, noise: Noise, sr: f32) -> Self {
        let mut noise_lp = Svf::default();
        noise_lp.set(5200.0 * ratio.sqrt(), 0.7, sr);
        let mut noise_hp = Svf::default();
        noise_hp.set(1800.0, 0.7, sr);
        Self {
            phases: [0.0; 2],
            body_hz: [185.0 * ratio, 330.0 * ratio],
            body: Decay::new(0.075, sr),
            snares: Decay::new(0.15, sr),
            blip: Decay::new(0.018, sr),
            noise_lp,
            noise_hp,
            noise,
        }
    }

    pub fn render(&mut self, out: &mut [f32], sr: f32) -> bool {
        let inv_sr = 1.0 / sr;
        let (mut e0, d0) = (self.body.level, self.body.per_frame);
        let (mut e1, d1) = (self.snares.level, self.snares.per_frame);
        let (mut e2, d2) = (self.blip.level, self.blip.per_frame);
        let [k0, k1] = self.body_hz;
        let mut ph = self.phases;
        for o in out.iter_mut() {
            ph[0] = wrap(ph[0] + k0 * (1.0 + 0.5 * e2) * inv_sr);
            ph[1] = wrap(ph[1] + k1 * (1.0 + 0.3 * e2) * inv_sr);
            let body = (0.55 * sin2pi(ph[0]) + 0.3 * sin2pi(ph[1])) * e0;
            let n = self.noise.sample();
            let bright = self.noise_lp.tick(n).low;
            let snappy = self.noise_hp.tick(bright).high;
            *o = 0.8 * body + snappy * e1;
            e0 *= d0;
            e1 *= d1;
            e2 *= d2;
        }
        self.phases = ph;
        self.body.level = flush(e0);
        self.snares.level = flush(e1);
        self.blip.level = flush(e2);
        self.noise_lp.flush();
        self.noise_hp.flush();
        e1 > SILENT || e0 > SILENT
    }
}

/// Three band-passed noise bursts and a tail.
#[derive(Clone, Debug)]
pub struct Clap {
    /// Frames between the bursts; the tail starts after the third.
    burst_spacing_frames: u32,
    /// Level of the current burst (reset to 1 at each).
    burst: Decay,
    /// Level of the tail.
    tail: Decay,
    /// Band-pass on the noise.
    band: Svf,
    /// The clap's noise.
    noise: Noise,
}

impl Clap {
    pub fn new(ratio: f32, noise: Noise, sr: f32) -> Self {
        let mut band = Svf::default();
        band.set(1250.0 * ratio, 1.6, sr);
        Self {
            burst_spacing_frames: (0.0095 * sr) as u32,
            burst: Decay::new(0.0035, sr),
            tail: Decay::new(0.16, sr),
            band,
            noise,
        }
    }

    pub fn render(&mut self, out: &mut [f32], age0: u32) -> bool {
        let (mut e0, d0) = (self.burst.level, self.burst.per_frame);
        let (mut e1, d1) = (self.tail.level, self.tail.per_frame);
        let spacing = self.burst_spacing_frames;
        for (i, o) in out.iter_mut().enumerate() {
            let age = age0 + i as u32;
            if age > 0 && age.is_multiple_of(spacing.max(1)) && age <= 3 * spacing {
                e0 = 1.0;
            }
            let n = self.noise.sample();
            let b = self.band.tick(n).band;
            let tail = if age >= 3 * spacing { e1 * 0.55 } else { 0.0 };
            *o = 1.8 * b * e0.max(tail);
            e0 *= d0;
            if age >= 3 * spacing {
                e1 *= d1;
            }
        }
        self.burst.level = flush(e0);
        self.tail.level = flush(e1);
        self.band.flush();
        age0 < 4 * spacing || e1 > SILENT
    }
}

/// Six square oscillators and noise, high-passed then low-passed (closed and open hat).
#[derive(Clone, Debug)]
pub struct Hat {
    /// Phases of the six squares, in cycles.
    phases: [f32; 6],
    /// Phase increments of the six squares, in cycles per frame.
    phase_steps: [f32; 6],
    /// The main level.
    level: Decay,
    /// A faster level on top (the stick).
    stick: Decay,
    /// High-pass on the metal and noise.
    hp: Svf,
    /// Low-pass after it.
    lp: Svf,
    /// The hat's noise.
    noise: Noise,
}

impl Hat {
    pub fn new(open: bool, ratio: f32, noise: Noise, sr: f32) -> Self {
        let (level, stick) = if open { (0.32, 0.05) } else { (0.038, 0.012) };
        let mut phase_steps = [0.0; 6];
        for (i, f) in HAT_FREQS_HZ.iter().enumerate() {
            phase_steps[i] = f * 1.7 * ratio / sr;
        }
        let mut hp = Svf::default();
        hp.set(7500.0 * ratio.sqrt(), 0.9, sr);
        let mut lp = Svf::default();
        lp.set(11_000.0_f32.min(0.45 * sr), 0.7, sr);
        Self {
            phases: [0.0; 6],
            phase_steps,
            level: Decay::new(level, sr),
            stick: Decay::new(stick, sr),
            hp,
            lp,
            noise,
        }
    }

    pub fn render(&mut self, out: &mut [f32]) -> bool {
        let (mut e0, d0) = (self.level.level, self.level.per_frame);
        let (mut e1, d1) = (self.stick.level, self.stick.per_frame);
        let k = self.phase_steps;
        let mut ph = self.phases;
        for o in out.iter_mut() {
            let mut m = 0.0;
            for j in 0..6 {
                ph[j] = wrap(ph[j] + k[j]);
                m += if ph[j] < 0.5 { 1.0 } else { -1.0 };
            }
            let n = self.noise.sample();
            let x = m * (1.0 / 6.0) + 0.35 * n;
            let h = self.hp.tick(x).high;
            let y = self.lp.tick(h).low;
            *o = 3.2 * y * (0.75 * e0 + 0.25 * e1);
            e0 *= d0;
            e1 *= d1;
        }
        self.phases = ph;
        self.level.level = flush(e0);
        self.stick.level = flush(e1);
        self.hp.flush();
        self.lp.flush();
        e0 > SILENT
    }
}

/// How far a tom's pitch starts above its base, as a fraction of it.
const TOM_SWEEP: f32 = 0.55;

/// A sine with a pitch drop and a low-passed noise attack (low and high tom).
#[derive(Clone, Debug)]
pub struct Tom {
    /// Phase of the sine, in cycles.
    phase: f32,
    /// Base frequency, in Hz.
    base_hz: f32,
    /// One-pole coefficient of the noise low-pass.
    noise_lp_coef: f32,
    /// The noise low-pass state.
    noise_lp: f32,
    /// Level of the sine.
    body: Decay,
    /// The pitch drop.
    sweep: Decay,
    /// Level of the noise attack.
    attack_noise: Decay,
    /// The attack's noise.
    noise: Noise,
}

impl Tom {
    pub fn new(low: bool, ratio: f32, noise: Noise, sr: f32) -> Self {
        let (body, sweep, attack) = if low {
            (0.26, 0.06, 0.004)
        } else {
            (0.18, 0.05, 0.003)
        };
        let f: f32 = if low { 92.0 } else { 165.0 };
        Self {
            phase: 0.0,
            base_hz: f * ratio,
            noise_lp_coef: one_pole_coef(3000.0, sr),
            noise_lp: 0.0,
            body: Decay::new(body, sr),
            sweep: Decay::new(sweep, sr),
            attack_noise: Decay::new(attack, sr),
            noise,
        }
    }

    pub fn render(&mut self, out: &mut [f32], sr: f32) -> bool {
        let inv_sr = 1.0 / sr;
        let (mut e0, d0) = (self.body.level, self.body.per_frame);
        let (mut e1, d1) = (self.sweep.level, self.sweep.per_frame);
        let (mut e2, d2) = (self.attack_noise.level, self.attack_noise.per_frame);
        let (k0, k2) = (self.base_hz, self.noise_lp_coef);
        let mut ph = self.phase;
        let mut lp = self.noise_lp;
        for o in out.iter_mut() {
            ph = wrap(ph + k0 * (1.0 + TOM_SWEEP * e1) * inv_sr);
            let n = self.noise.sample();
            lp += k2 * (n - lp);
            *o = soft_clip(1.2 * (sin2pi(ph) * e0 + lp * e2 * 0.8));
            e0 *= d0;
            e1 *= d1;
            e2 *= d2;
        }
        self.phase = ph;
        self.noise_lp = flush(lp);
        self.body.level = flush(e0);
        self.sweep.level = flush(e1);
        self.attack_noise.level = flush(e2);
        e0 > SILENT
    }
}

/// Two short sines and a high-passed noise tick.
#[derive(Clone, Debug)]
pub struct Rim {
    /// Phases of the two sines, in cycles.
    phases: [f32; 2],
    /// Phase increments of the two sines, in cycles per frame.
    phase_steps: [f32; 2],
    /// Level of the high sine.
    high: Decay,
    /// Level of the low sine (the sound ends with it).
    low: Decay,
    /// Level of the noise tick.
    tick: Decay,
    /// High-pass on the noise.
    noise_hp: Svf,
    /// The tick's noise.
    noise: Noise,
}

impl Rim {
    pub fn new(ratio: f32, noise: Noise, sr: f32) -> Self {
        let mut noise_hp = Svf::default();
        noise_hp.set(3000.0, 0.7, sr);
        Self {
            phases: [0.0; 2],
            phase_steps: [1700.0 * ratio / sr, 480.0 * ratio / sr],
            high: Decay::new(0.009, sr),
            low: Decay::new(0.012, sr),
            tick: Decay::new(0.0015, sr),
            noise_hp,
            noise,
        }
    }

    pub fn render(&mut self, out: &mut [f32]) -> bool {
        let (mut e0, d0) = (self.high.level, self.high.per_frame);
        let (mut e1, d1) = (self.low.level, self.low.per_frame);
        let (mut e2, d2) = (self.tick.level, self.tick.per_frame);
        let [k0, k1] = self.phase_steps;
        let mut ph = self.phases;
        for o in out.iter_mut() {
            ph[0] = wrap(ph[0] + k0);
            ph[1] = wrap(ph[1] + k1);
            let n = self.noise_hp.tick(self.noise.sample()).high;
            let tone = 0.7 * sin2pi(ph[0]) * e0 + 0.45 * sin2pi(ph[1]) * e1;
            *o = soft_clip(1.6 * (tone + 0.6 * n * e2));
            e0 *= d0;
            e1 *= d1;
            e2 *= d2;
        }
        self.phases = ph;
        self.high.level = flush(e0);
        self.low.level = flush(e1);
        self.tick.level = flush(e2);
        self.noise_hp.flush();
        e1 > SILENT
    }
}

/// Two band-passed squares (the 808 cowbell).
#[derive(Clone, Debug)]
pub struct Cowbell {
    /// Phases of the two squares, in cycles.
    phases: [f32; 2],
    /// Phase increments of the two squares, in cycles per frame.
    phase_steps: [f32; 2],
    /// The fast initial level.
    strike: Decay,
    /// The ringing level (the sound ends with it).
    ring: Decay,
    /// Band-pass on the squares.
    band: Svf,
}

impl Cowbell {
    pub fn new(ratio: f32, sr: f32) -> Self {
        let mut band = Svf::default();
        band.set(900.0 * ratio, 1.2, sr);
        Self {
            phases: [0.0; 2],
            phase_steps: [540.0 * ratio / sr, 800.0 * ratio / sr],
            strike: Decay::new(0.018, sr),
            ring: Decay::new(0.28, sr),
            band,
        }
    }

    pub fn render(&mut self, out: &mut [f32]) -> bool {
        let (mut e0, d0) = (self.strike.level, self.strike.per_frame);
        let (mut e1, d1) = (self.ring.level, self.ring.per_frame);
        let [k0, k1] = self.phase_steps;
        let mut ph = self.phases;
        for o in out.iter_mut() {
            ph[0] = wrap(ph[0] + k0);
            ph[1] = wrap(ph[1] + k1);
            let x = 0.5 * (square(ph[0], k0) + square(ph[1], k1));
            let b = self.band.tick(x).band;
            *o = 0.8 * b * (0.65 * e0 + 0.35 * e1);
            e0 *= d0;
            e1 *= d1;
        }
        self.phases = ph;
        self.strike.level = flush(e0);
        self.ring.level = flush(e1);
        self.band.flush();
        e1 > SILENT
    }
}

/// Band-passed noise with a soft attack.
#[derive(Clone, Debug)]
pub struct Shaker {
    /// The attack ramp (`1 − level`).
    attack: Decay,
    /// The level.
    level: Decay,
    /// Band-pass on the noise.
    band: Svf,
    /// The shaker's noise.
    noise: Noise,
}

impl Shaker {
    pub fn new(ratio: f32, noise: Noise, sr: f32) -> Self {
        let mut band = Svf::default();
        band.set(6500.0 * ratio.sqrt(), 1.1, sr);
        Self {
            attack: Decay::attack(0.006, sr),
            level: Decay::new(0.065, sr),
            band,
            noise,
        }
    }

    pub fn render(&mut self, out: &mut [f32]) -> bool {
        let (mut e0, d0) = (self.attack.level, self.attack.per_frame);
        let (mut e1, d1) = (self.level.level, self.level.per_frame);
        for o in out.iter_mut() {
            let n = self.noise.sample();
            let h = self.band.tick(n).band;
            *o = 1.8 * h * (1.0 - e0) * e1;
            e0 *= d0;
            e1 *= d1;
        }
        self.attack.level = flush(e0);
        self.level.level = flush(e1);
        self.band.flush();
        e1 > SILENT
    }
}

/// A saturated sine with a fast downward sweep.
#[derive(Clone, Debug)]
pub struct Zap {
    /// Phase of the sine, in cycles.
    phase: f32,
    /// Frequency the sweep falls to, in Hz.
    floor_hz: f32,
    /// Extra frequency at the start of the sweep, in Hz (scaled by `sweep`).
    sweep_hz: f32,
    /// The level.
    level: Decay,
    /// The sweep.
    sweep: Decay,
}

impl Zap {
    pub fn new(ratio: f32, sr: f32) -> Self {
        Self {
            phase: 0.0,
            floor_hz: 70.0 * ratio,
            sweep_hz: 3800.0 * ratio,
            level: Decay::new(0.11, sr),
            sweep: Decay::new(0.022, sr),
        }
    }

    pub fn render(&mut self, out: &mut [f32], sr: f32) -> bool {
        let inv_sr = 1.0 / sr;
        let (mut e0, d0) = (self.level.level, self.level.per_frame);
        let (mut e1, d1) = (self.sweep.level, self.sweep.per_frame);
        let (k0, k1) = (self.floor_hz, self.sweep_hz);
        let mut ph = self.phase;
        for o in out.iter_mut() {
            let f = k0 + k1 * e1;
            ph = wrap(ph + f * inv_sr);
            let s = sin2pi(ph);
            *o = soft_clip(2.2 * s) * 0.7 * e0;
            e0 *= d0;
            e1 *= d1;
        }
        self.phase = ph;
        self.level.level = flush(e0);
        self.sweep.level = flush(e1);
        e0 > SILENT
    }
}

/// A noise sweep and a rising saw over a fixed length.
#[derive(Clone, Debug)]
pub struct Riser {
    /// Phase of the saw, in cycles.
    phase: f32,
    /// The rise's length, in frames.
    len_frames: f32,
    /// Start frequency of the saw, in Hz.
    tone_start_hz: f32,
    /// Pitch ratio (the noise sweep transposes too).
    ratio: f32,
    /// The saw's phase increment, in cycles per frame (set at control rate).
    tone_step: f32,
    /// Band-pass on the noise, swept up at control rate.
    band: Svf,
    /// The sweep's noise.
    noise: Noise,
}

impl Riser {
    pub fn new(ratio: f32, noise: Noise, sr: f32) -> Self {
        let mut band = Svf::default();
        band.set(300.0, 2.5, sr);
        Self {
            phase: 0.0,
            len_frames: 1.2 * sr,
            tone_start_hz: 110.0 * ratio,
            ratio,
            tone_step: 0.0,
            band,
            noise,
        }
    }

    pub fn render(&mut self, out: &mut [f32], age0: u32, sr: f32) -> bool {
        let inv_sr = 1.0 / sr;
        let len = self.len_frames;
        let mut step = self.tone_step;
        let mut ph = self.phase;
        for (i, o) in out.iter_mut().enumerate() {
            let age = (age0 + i as u32) as f32;
            let t = (age / len).min(1.0);
            if (age0 + i as u32).is_multiple_of(CONTROL_RATE) {
                // Exponential sweep 300 Hz → 9 kHz (times 30 = 2^4.9).
                let fc = 300.0 * self.ratio * semis_to_ratio(58.9 * t);
                self.band.set(fc.min(0.4 * sr), 2.5, sr);
                // Tone sweeps up four octaves.
                step = self.tone_start_hz * semis_to_ratio(48.0 * t) * inv_sr;
            }
            ph = wrap(ph + step.min(0.45));
            let n = self.noise.sample();
            let b = self.band.tick(n).band;
            let tone = saw(ph, step.min(0.45));
            let env = t * t;
            let end_fade = ((len - age) / (0.02 * sr)).clamp(0.0, 1.0);
            *o = (0.9 * b + 0.22 * tone) * env * end_fade;
        }
        self.phase = ph;
        self.tone_step = flush(step);
        self.band.flush();
        (age0 as f32) < len
    }
}
