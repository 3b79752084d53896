//! The melodic built-ins: sub bass, FM bass and bell (sine voices, vectorized across time) and
//! the stab (a detuned minor-7th chord of saws).

use keyboardia_core::BuiltinSound;

use crate::dsp::{semis_to_ratio, sin_centered4, Saw4, Svf, CONTROL_RATE, F4, U4};

use super::{flush, Decay};

/// Frames in a control period.
const PERIOD: usize = CONTROL_RATE as usize;

/// Level below which a decaying sound counts as died away.
const SILENT: f32 = 1e-4;

/// Chord of the stab, semitones over the root (minor 7th).
const STAB_CHORD: [f32; 4] = [0.0, 3.0, 7.0, 10.0];

/// A phase increment in cycles (below 1) as an integer phase step (2³² per cycle).
fn phase_inc(dt: f32) -> u32 {
    (dt as f64 * 4_294_967_296.0).round() as u32
}

/// Sub bass, FM bass or bell: up to three sines with three exponential envelopes, computed a
/// whole control period (16 frames) at a time, four frames per vector (see [`Sines::render`]).
///
/// The three sine lanes and the three envelopes are, per sound:
/// - sub bass: lane 0 the fundamental (plus its octave); envelopes: attack ramp (`1 − e`),
///   level;
/// - FM bass: lane 0 carrier and modulator; envelopes: attack ramp, level, FM index;
/// - bell: lanes carrier (2×), modulator (7×), partial (5.52×); envelopes: carrier level,
///   modulation depth, partial level.
#[derive(Clone, Debug)]
pub struct Sines {
    /// Which of the three sounds.
    sound: BuiltinSound,
    /// Integer phases of the lanes (a full cycle is 2³²; wrapping is free and the phase update
    /// is a one-cycle integer add, off the sine's critical path).
    phases: [u32; 3],
    /// Phase increments of the lanes per frame (a cycle is 2³²).
    phase_steps: [u32; 3],
    /// Envelope levels (at the start of the next group of four frames).
    levels: [f32; 3],
    /// Envelope multipliers over a group of four frames, `[1, d, d², d³]`.
    level_pow: [[f32; 4]; 3],
    /// Envelope multipliers from one group of four frames to the next, `d⁴`.
    level_d4: [f32; 3],
    /// The current control period, rendered ahead.
    ahead: [f32; PERIOD],
    /// Whether the note still sounds after the period in `ahead`.
    ahead_alive: bool,
}

impl Sines {
    pub fn new(sound: BuiltinSound, base_hz: f32, sr: f32) -> Self {
        let envs = match sound {
            BuiltinSound::SubBass => [
                Decay::attack(0.003, sr),
                Decay::new(2.5, sr),
                Decay::default(),
            ],
            BuiltinSound::FmBass => [
                Decay::attack(0.002, sr),
                Decay::new(1.5, sr),
                Decay::new(0.12, sr),
            ],
            _ => [
                Decay::new(1.1, sr),
                Decay::new(0.5, sr),
                Decay::new(0.35, sr),
            ],
        };
        let phase_steps = match sound {
            BuiltinSound::Bell => {
                [base_hz * 2.0 / sr, base_hz * 7.0 / sr, base_hz * 5.52 / sr].map(phase_inc)
            }
            _ => [phase_inc(base_hz / sr), 0, 0],
        };
        let mut level_pow = [[1.0; 4]; 3];
        let mut level_d4 = [1.0; 3];
        for j in 0..3 {
            let d = envs[j].per_frame;
            level_pow[j] = [1.0, d, d * d, d * d * d];
            level_d4[j] = (d * d) * (d * d);
        }
        Self {
            sound,
            phases: [0; 3],
            phase_steps,
            levels: envs.map(|e| e.level),
            level_pow,
            level_d4,
            ahead: [0.0; PERIOD],
            ahead_alive: true,
        }
    }

    /// Renders `out` (any length, starting at voice age `age0`) from whole control periods:
    /// each period (16 frames from an age that is a multiple of 16) is computed in one go into
    /// `ahead` by [`Sines::period`], and runs copy from it. So the sines work on fixed groups of
    /// four frames and the audio does not depend on how the host splits blocks. Returns the
    /// frames rendered and whether the note still sounds; a note dies only at the end of a
    /// period.
    pub fn render(&mut self, out: &mut [f32], age0: u32) -> (usize, bool) {
        let n = out.len();
        let mut i = 0;
        loop {
            let age = age0.wrapping_add(i as u32);
            let k = age as usize % PERIOD;
            if i > 0 && k == 0 && !self.ahead_alive {
                return (i, false);
            }
            if i == n {
                return (n, true);
            }
            if k == 0 {
                let mut period = self.ahead;
                self.ahead_alive = self.period(&mut period);
                self.ahead = period;
                // Flushed here rather than at the end of a call, which depends on the host's
                // block split.
                self.levels = self.levels.map(flush);
            }
            let m = (PERIOD - k).min(n - i);
            for (o, a) in out[i..i + m].iter_mut().zip(&self.ahead[k..]) {
                *o = *a;
            }
            i += m;
        }
    }

    /// One period, vectorized across time: four frames per vector, envelopes
    /// `e·[1, d, d², d³]` from the value at the start of each group of four. Returns whether the
    /// note still sounds after it.
    fn period(&mut self, out: &mut [f32; PERIOD]) -> bool {
        let dt = self.phase_steps;
        // Frame j of a group: phase p + (j + 1)·dt, envelope e·d^j.
        let steps = dt.map(|d| U4::new([1, 2, 3, 4].map(|j| d.wrapping_mul(j))));
        let powers = self.level_pow.map(F4::new);
        let d4 = self.level_d4;
        let splat = F4::splat;
        let one = splat(1.0);
        let sound = self.sound;
        for group in out.chunks_exact_mut(4) {
            let (p, e) = (self.phases, self.levels);
            let env = |j: usize| splat(e[j]) * powers[j];
            let ph = |j: usize| U4::splat(p[j]).wrapping_add(steps[j]);
            let y = match sound {
                BuiltinSound::SubBass => {
                    let p0 = ph(0);
                    let s = sin_centered4(p0.centered_unit())
                        + splat(0.18) * sin_centered4(p0.wrapping_add(p0).centered_unit());
                    splat(0.85) * s * (one - env(0)) * env(1)
                }
                BuiltinSound::FmBass => {
                    let p0 = ph(0);
                    let index = splat(0.12) + splat(0.75) * env(2);
                    let m = sin_centered4(p0.centered_unit());
                    let c = sin_centered4(p0.add_cycles(index * m).centered_unit());
                    splat(0.8) * c * (one - env(0)) * env(1)
                }
                _ => {
                    let m = sin_centered4(ph(1).centered_unit()) * splat(0.9) * env(1);
                    let c = sin_centered4(ph(0).add_cycles(m).centered_unit());
                    splat(0.55) * c * env(0)
                        + splat(0.2) * sin_centered4(ph(2).centered_unit()) * env(2)
                }
            };
            y.store(group.try_into().expect("groups of four"));
            for j in 0..3 {
                self.phases[j] = p[j].wrapping_add(dt[j].wrapping_mul(4));
                self.levels[j] = e[j] * d4[j];
            }
        }
        match sound {
            BuiltinSound::Bell => self.levels[0] > SILENT,
            _ => self.levels[1] > SILENT,
        }
    }
}

/// A minor-7th chord of four slightly detuned saws through a low-pass that closes.
#[derive(Clone, Debug)]
pub struct Stab {
    /// Phases of the four saws, in cycles.
    phases: [f32; 4],
    /// Phase increments of the four saws, in cycles per frame.
    phase_steps: [f32; 4],
    /// The level.
    level: Decay,
    /// The filter envelope.
    filter_env: Decay,
    /// The low-pass, set at control rate.
    lp: Svf,
}

impl Stab {
    pub fn new(base_hz: f32, sr: f32) -> Self {
        let mut phase_steps = [0.0; 4];
        for (i, st) in STAB_CHORD.iter().enumerate() {
            // Slight detune per chord note for width.
            phase_steps[i] = base_hz * semis_to_ratio(st + 0.06 * i as f32) / sr;
        }
        Self {
            phases: [0.0; 4],
            phase_steps,
            level: Decay::new(0.28, sr),
            filter_env: Decay::new(0.09, sr),
            lp: Svf::default(),
        }
    }

    /// Renders a run within one control period: only its first frame can be on the grid.
    pub fn render(&mut self, out: &mut [f32], age0: u32, sr: f32) -> bool {
        let (mut e0, d0) = (self.level.level, self.level.per_frame);
        let (mut e1, d1) = (self.filter_env.level, self.filter_env.per_frame);
        if age0.is_multiple_of(CONTROL_RATE) {
            self.lp.set(350.0 + 5200.0 * e1, 1.4, sr);
        }
        let mut svf = self.lp;
        let mut osc = Saw4::new(self.phases, self.phase_steps, [1.0; 4]);
        for o in out.iter_mut() {
            let x = osc.tick();
            *o = 0.24 * svf.tick(x).low * e0;
            e0 *= d0;
            e1 *= d1;
        }
        svf.flush();
        self.lp = svf;
        self.phases = osc.phases();
        self.level.level = flush(e0);
        self.filter_env.level = flush(e1);
        e0 > SILENT
    }
}
