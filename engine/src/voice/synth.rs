//! The five synth presets: bass, lead, pad and pluck (band-limited saws through a state-variable
//! low-pass, [`SawSynth`]) and the acid line (a saw through a 4-pole ladder with accent and
//! slide, [`Acid`]).
//!
//! Both render any run of frames (up to [`super::MAX_CHUNK`], any start age) with their
//! control-rate updates on the voice's own 16-frame grid, and return the frames rendered and
//! whether the note still sounds; a note dies only at the end of a control period.

use keyboardia_core::SynthPreset;

use crate::dsp::{one_pole_coef, saw, soft_clip_cubic, wrap, Ladder, Saw4, Svf, CONTROL_RATE};

use super::{control_periods, flush, Decay};

/// Bass, lead, pad or pluck: four band-limited saws (a square is the difference of two saws
/// half a cycle apart) through a low-pass.
#[derive(Clone, Debug)]
pub struct SawSynth {
    /// Which of the four presets.
    preset: SynthPreset,
    /// The note's frequency in Hz.
    freq_hz: f32,
    /// Phases of the four saws, in cycles.
    phases: [f32; 4],
    /// The attack ramp (`1 − level`).
    attack: Decay,
    /// Filter envelope (bass, lead, pluck) or brightness (pad).
    filter_env: Decay,
    /// Level (bass: its sustain shape; pluck: the note dies with it; unused otherwise).
    level: Decay,
    /// The low-pass (set at control rate, except the pad's fixed one).
    lp: Svf,
}

impl SawSynth {
    pub fn new(preset: SynthPreset, base_hz: f32, sr: f32) -> Self {
        let mut lp = Svf::default();
        let mut phases = [0.0; 4];
        let (attack, filter_env, level) = match preset {
            SynthPreset::Bass => {
                // The square's second saw, half a cycle ahead.
                phases[2] = 0.5;
                (0.002, 0.14, Some(0.35))
            }
            SynthPreset::Lead => {
                phases[3] = 0.5;
                (0.004, 0.3, None)
            }
            SynthPreset::Pad => {
                lp.set(1500.0, 0.8, sr);
                phases = [0.0, 0.31, 0.62, 0.17];
                (0.07, 1.5, None)
            }
            _ => {
                phases[2] = 0.5;
                (0.0015, 0.07, Some(0.32))
            }
        };
        Self {
            preset,
            freq_hz: base_hz,
            phases,
            attack: Decay::attack(attack, sr),
            filter_env: Decay::new(filter_env, sr),
            level: level.map_or(Decay::default(), |tau| Decay::new(tau, sr)),
            lp,
        }
    }

    pub fn render(&mut self, out: &mut [f32], age0: u32, sr: f32) -> (usize, bool) {
        let inv_sr = 1.0 / sr;
        let (d0, d1, d2) = (
            self.attack.per_frame,
            self.filter_env.per_frame,
            self.level.per_frame,
        );
        let ph = self.phases;
        let n = out.len();
        let dt = self.freq_hz * inv_sr;
        let mut svf = self.lp;
        let (mut a0, mut a1, mut a2) = (self.attack.level, self.filter_env.level, self.level.level);
        let mut result = (n, true);
        let osc = match self.preset {
            SynthPreset::Bass => {
                // Lanes: saw, and the square as the difference of two saws half a cycle apart.
                let dts = [dt, 1.003 * dt, 1.003 * dt, dt];
                let mut osc = Saw4::new(ph, dts, [0.7, -0.5, 0.5, 0.0]);
                for (lo, hi) in control_periods(age0, n) {
                    if (age0 + lo as u32).is_multiple_of(CONTROL_RATE) {
                        svf.set(160.0 + 1500.0 * a1, 1.5, sr);
                    }
                    for o in out[lo..hi].iter_mut() {
                        let x = osc.tick();
                        let amp = (1.0 - a0) * (0.8 + 0.2 * a2);
                        *o = 0.75 * soft_clip_cubic(1.3 * svf.tick(x).low) * amp;
                        a0 *= d0;
                        a1 *= d1;
                        a2 *= d2;
                    }
                }
                osc
            }
            SynthPreset::Lead => {
                // Lanes: two detuned saws, and the square as the difference of two saws.
                let dts = [dt * 1.0046, dt * 0.9954, dt, dt];
                let mut osc = Saw4::new(ph, dts, [0.45, 0.45, -0.3, 0.3]);
                for (lo, hi) in control_periods(age0, n) {
                    if (age0 + lo as u32).is_multiple_of(CONTROL_RATE) {
                        svf.set(2200.0 + 2800.0 * a1, 1.1, sr);
                    }
                    for o in out[lo..hi].iter_mut() {
                        let x = osc.tick();
                        *o = 0.6 * svf.tick(x).low * (1.0 - a0);
                        a0 *= d0;
                        a1 *= d1;
                    }
                }
                osc
            }
            SynthPreset::Pad => {
                let dts = [dt * 0.993, dt, dt * 1.007, dt * 2.003];
                let mut osc = Saw4::new(ph, dts, [1.0, 1.0, 1.0, 0.4]);
                for o in out.iter_mut() {
                    let x = osc.tick();
                    *o = 0.32 * svf.tick(x).low * (1.0 - a0) * (0.75 + 0.25 * a1);
                    a0 *= d0;
                    a1 *= d1;
                }
                osc
            }
            _ => {
                // Pluck. Lanes: saw, and the octave square as the difference of two saws.
                let dts = [dt, 2.0 * dt, 2.0 * dt, dt];
                let mut osc = Saw4::new(ph, dts, [0.6, -0.35, 0.35, 0.0]);
                for (lo, hi) in control_periods(age0, n) {
                    if (age0 + lo as u32).is_multiple_of(CONTROL_RATE) {
                        svf.set(180.0 + 6500.0 * a1, 1.6, sr);
                    }
                    for o in out[lo..hi].iter_mut() {
                        let x = osc.tick();
                        *o = 1.25 * svf.tick(x).low * (1.0 - a0) * a2;
                        a0 *= d0;
                        a1 *= d1;
                        a2 *= d2;
                    }
                    // Died away: checked at the end of each control period.
                    if (age0 + hi as u32).is_multiple_of(CONTROL_RATE) && a2 <= 1e-4 {
                        result = (hi, false);
                        break;
                    }
                }
                osc
            }
        };
        svf.flush();
        self.lp = svf;
        self.phases = osc.phases();
        self.attack.level = flush(a0);
        self.filter_env.level = flush(a1);
        self.level.level = flush(a2);
        result
    }
}

/// The acid line: a saw through a resonant 4-pole ladder with a filter envelope, accent (a
/// shorter, deeper envelope and more level) and slide (a glide to the next note).
#[derive(Clone, Debug)]
pub struct Acid {
    /// Phase of the saw, in cycles.
    phase: f32,
    /// Current fundamental in Hz (glides toward `target_hz` on a slide).
    freq_hz: f32,
    /// Pitch the fundamental glides toward, in Hz.
    target_hz: f32,
    /// Per-sample glide coefficient (one-pole toward `target_hz`).
    glide_coef: f32,
    /// How far the filter envelope opens the cutoff, in Hz.
    env_depth_hz: f32,
    /// The ladder's resonance.
    resonance: f32,
    /// Output gain of the accent (1 without).
    accent_gain: f32,
    /// The attack ramp (`1 − level`).
    attack: Decay,
    /// The filter envelope.
    filter_env: Decay,
    /// The level's decay toward its sustain.
    level: Decay,
    /// The 4-pole ladder.
    ladder: Ladder,
}

impl Acid {
    pub fn new(base_hz: f32, accent: bool, sr: f32) -> Self {
        // Shorter and deeper filter envelope when accented.
        let (tau, depth_hz, resonance) = if accent {
            (0.07, 3600.0, 3.85)
        } else {
            (0.15, 1900.0, 3.5)
        };
        Self {
            phase: 0.0,
            freq_hz: base_hz,
            target_hz: base_hz,
            glide_coef: one_pole_coef(1.0 / (2.0 * std::f32::consts::PI * 0.045), sr),
            env_depth_hz: depth_hz,
            resonance,
            accent_gain: if accent { 1.35 } else { 1.0 },
            attack: Decay::attack(0.0015, sr),
            filter_env: Decay::new(tau, sr),
            level: Decay::new(0.6, sr),
            ladder: Ladder::default(),
        }
    }

    /// Glides to `target_hz` from the current pitch (a slide), without retriggering.
    pub fn glide_to(&mut self, target_hz: f32) {
        self.target_hz = target_hz;
    }

    pub fn render(&mut self, out: &mut [f32], age0: u32, sr: f32) -> (usize, bool) {
        let inv_sr = 1.0 / sr;
        let (depth_hz, res, accent_gain) = (self.env_depth_hz, self.resonance, self.accent_gain);
        let (d0, d1, d2) = (
            self.attack.per_frame,
            self.filter_env.per_frame,
            self.level.per_frame,
        );
        let n = out.len();
        let mut dt = self.freq_hz * inv_sr;
        let mut ladder = self.ladder;
        let mut p0 = self.phase;
        let (mut a0, mut a1, mut a2) = (self.attack.level, self.filter_env.level, self.level.level);
        for (lo, hi) in control_periods(age0, n) {
            if (age0 + lo as u32).is_multiple_of(CONTROL_RATE) {
                self.freq_hz +=
                    self.glide_coef * CONTROL_RATE as f32 * (self.target_hz - self.freq_hz);
                if (self.freq_hz - self.target_hz).abs() < 0.01
                    || self.glide_coef * (CONTROL_RATE as f32) >= 1.0
                {
                    self.freq_hz = self.target_hz;
                }
                dt = self.freq_hz * inv_sr;
                let fc = (120.0 + depth_hz * a1 + 0.9 * self.freq_hz).min(0.45 * sr);
                ladder.set_cutoff(fc, sr);
            }
            for o in out[lo..hi].iter_mut() {
                p0 = wrap(p0 + dt);
                let x = saw(p0, dt);
                let y = ladder.tick(x * 0.3, res);
                let amp = (1.0 - a0) * (0.65 + 0.35 * a2) * accent_gain;
                *o = 0.9 * soft_clip_cubic(4.0 * y) * amp;
                a0 *= d0;
                a1 *= d1;
                a2 *= d2;
            }
        }
        ladder.flush();
        self.ladder = ladder;
        self.phase = p0;
        self.attack.level = flush(a0);
        self.filter_env.level = flush(a1);
        self.level.level = flush(a2);
        (n, true)
    }
}
