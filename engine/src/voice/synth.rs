//! The five synth presets: bass, lead, pad and pluck (band-limited saws through a state-variable
//! low-pass, [`SawSynth`]) and the acid line (a saw through a 4-pole ladder with accent and
//! slide, [`Acid`]).
//!
//! Both render any run of frames (up to [`super::MAX_CHUNK`], any start age) with their
//! control-rate updates on the voice's own 16-frame grid, and return the frames rendered and
//! whether the note still sounds; a note dies only at the end of a control period.

use keyboardia_core::SynthPreset;

use crate::dsp::{one_pole_coef, saw, soft_clip_cubic, wrap, Ladder, Saw4, Svf, CONTROL_RATE, F4};

use super::{control_periods, flush, Decay, MAX_CHUNK};

/// The weights of the pad's four saws.
const PAD_WEIGHTS: [f32; 4] = [1.0, 1.0, 1.0, 0.4];

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
                let mut osc = Saw4::new(ph, dts, PAD_WEIGHTS);
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

impl SawSynth {
    /// Whether this is a pad note (see [`render_pads`]).
    pub fn is_pad(&self) -> bool {
        self.preset == SynthPreset::Pad
    }
}

/// One pad note of [`render_pads`]: the note, its sample rate, and the frames at which its
/// runs end (increasing; the last is where it stops): what separate [`SawSynth::render`] calls
/// over those runs would render.
pub struct PadLane<'a> {
    pub synth: &'a mut SawSynth,
    pub sample_rate: f32,
    pub run_ends: &'a [usize],
}

/// Renders up to four pad notes side by side, one per lane: frame `k` of lane `i` goes to
/// `out[k][i]`, bit for bit what [`SawSynth::render`] calls over each lane's runs would write
/// (the same arithmetic per lane, the states flushed where a run ends). A pad track holds
/// about three notes (the sounding one and its release tails), and one note's filter is a
/// feedback loop, bound by its latency: side by side, the loop is shared.
pub fn render_pads(lanes: &mut [Option<PadLane<'_>>; 4], out: &mut [[f32; 4]; MAX_CHUNK]) {
    // The four saws of each note as `Saw4` has them, transposed: bank `j` holds saw `j` of
    // every note (a lane per note), so a note's sum `(y0 + y1) + (y2 + y3)` is lane-wise.
    // Idle lanes hold a silent saw that stands still (mid-cycle, never near a wrap, so it
    // never sends a bank down the polyBLEP path).
    let mut ph = [[0.5f32; 4]; 4];
    let mut dt = [[0.0f32; 4]; 4];
    let mut idt = [[0.0f32; 4]; 4];
    // `Saw4`'s bounds of the phases whose polyBLEP terms are certainly zero.
    let mut lo = [[0.0f32; 4]; 4];
    let mut hi = [[1.0f32; 4]; 4];
    let mut w = [[0.0f32; 4]; 4];
    let mut m = [[[0.0f32; 4]; 2]; 2];
    let mut b = [[0.0f32; 4]; 2];
    let mut ic = [[0.0f32; 4]; 2];
    let mut lv = [[0.0f32; 4]; 2];
    let mut d = [[0.0f32; 4]; 2];
    let mut next = [0usize; 4];
    let mut end = 0;
    for (i, lane) in lanes.iter().enumerate() {
        let Some(lane) = lane else { continue };
        let s = &*lane.synth;
        // As `SawSynth::render` sets up the pad's oscillators.
        let f = s.freq_hz * (1.0 / lane.sample_rate);
        let dts = [f * 0.993, f, f * 1.007, f * 2.003];
        for j in 0..4 {
            ph[j][i] = s.phases[j];
            dt[j][i] = dts[j];
            idt[j][i] = 1.0 / dts[j];
            lo[j][i] = dts[j] * 1.001 + 1e-6;
            hi[j][i] = 1.0 - lo[j][i];
            w[j][i] = PAD_WEIGHTS[j];
        }
        let (sm, sb) = s.lp.state_space();
        for r in 0..2 {
            for c in 0..2 {
                m[r][c][i] = sm[r][c];
            }
            b[r][i] = sb[r];
        }
        [ic[0][i], ic[1][i]] = s.lp.state();
        // The pad has no level envelope (its `level` stays zero).
        for (j, e) in [&s.attack, &s.filter_env].into_iter().enumerate() {
            lv[j][i] = e.level;
            d[j][i] = e.per_frame;
        }
        end = end.max(lane.run_ends.last().copied().unwrap_or(0));
    }
    let end = end.min(MAX_CHUNK);
    let mut p = ph.map(F4::new);
    let dt = dt.map(F4::new);
    let idt = idt.map(F4::new);
    let lo = lo.map(F4::new);
    let hi = hi.map(F4::new);
    let w = w.map(F4::new);
    let [[m00, m01], [m10, m11]] = m.map(|r| r.map(F4::new));
    let [b0, b1] = b.map(F4::new);
    let [d0, d1] = d.map(F4::new);
    let [mut ic1, mut ic2] = ic.map(F4::new);
    let [mut a0, mut a1] = lv.map(F4::new);
    let (half, one) = (F4::splat(0.5), F4::splat(1.0));
    let (c032, c075, c025) = (F4::splat(0.32), F4::splat(0.75), F4::splat(0.25));
    let mut pos = 0;
    while pos < end {
        let stop = lanes
            .iter()
            .zip(next)
            .filter_map(|(l, j)| l.as_ref()?.run_ends.get(j).copied())
            .fold(end, usize::min);
        for o in out[pos..stop].iter_mut() {
            // `Saw4::tick` without its shortcut (the polyBLEP terms are exactly zero away from
            // the wraps, so the result is the same bit for bit), for every saw of every note.
            let mut y = [one; 4];
            for j in 0..4 {
                let pj = p[j] + dt[j];
                if !pj.any_outside(lo[j], hi[j]) {
                    // No note near its wrap: the naive saws (`Saw4::tick`'s shortcut).
                    p[j] = pj;
                    y[j] = (pj + pj - one) * w[j];
                    continue;
                }
                let pj = pj.wrap();
                p[j] = pj;
                let a = (one - pj * idt[j]).pos();
                let b = (one - (one - pj) * idt[j]).pos();
                y[j] = ((pj + pj - one) - (b * b - a * a)) * w[j];
            }
            let x = (y[0] + y[1]) + (y[2] + y[3]);
            // `Svf::tick`, four filters at once.
            let n1 = m00 * ic1 + (m01 * ic2 + b0 * x);
            let n2 = m11 * ic2 + (m10 * ic1 + b1 * x);
            let low = half * (ic2 + n2);
            (ic1, ic2) = (n1, n2);
            (c032 * low * (one - a0) * (c075 + c025 * a1)).store(o);
            a0 = a0 * d0;
            a1 = a1 * d1;
        }
        pos = stop;
        // Lanes whose run ends here: flushed as a render call leaves them, and stored.
        let mut st = [ic1, ic2, a0, a1].map(F4::to_array);
        let phs = p.map(F4::to_array);
        for (i, lane) in lanes.iter_mut().enumerate() {
            let Some(lane) = lane else { continue };
            if lane.run_ends.get(next[i]) != Some(&pos) {
                continue;
            }
            next[i] += 1;
            let s = &mut *lane.synth;
            s.lp.set_state([st[0][i], st[1][i]]);
            s.lp.flush();
            [st[0][i], st[1][i]] = s.lp.state();
            s.phases = [0, 1, 2, 3].map(|j| phs[j][i]);
            for (j, e) in [&mut s.attack, &mut s.filter_env].into_iter().enumerate() {
                st[2 + j][i] = flush(st[2 + j][i]);
                e.level = st[2 + j][i];
            }
        }
        [ic1, ic2, a0, a1] = st.map(F4::new);
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
