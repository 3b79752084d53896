//! Rendering a chunk: every track's voices (through the effect lanes when a filter or drive
//! shapes them), track gains and pan, the sends and returns, the preview, master gain, limiter
//! and soft clipper.

use keyboardia_core::MAX_TRACKS;

use super::{AuxSink, Engine};
use crate::voice::{render_pool, MAX_CHUNK};

/// Peak level (linear) above which the limiter reduces gain.
const LIMIT_THRESHOLD: f32 = 0.9;
/// Level where the soft clipper's knee starts.
const CLIP_KNEE: f32 = 0.7;
impl Engine {
    /// Which tracks sound in the next `n` frames; while any track's filter or drive shapes its
    /// sound, also renders them into the effect lanes, runs every filter at once and puts the
    /// shaped chunks into `self.shaped` (then returns `true` too).
    #[inline(always)]
    pub(super) fn shape_tracks(&mut self, n: usize) -> ([bool; MAX_TRACKS], bool) {
        let sounding: [bool; MAX_TRACKS] =
            std::array::from_fn(|t| self.voices[t].iter().any(|v| v.active) || self.fx.rings(t));
        if self.fx.begin_lanes() {
            let shaped = &mut *self.shaped;
            for (pool, mono) in self.voices.iter_mut().zip(shaped.iter_mut()) {
                mono[..n].fill(0.0);
                render_pool(pool, &mut mono[..n], &self.bank);
            }
            self.fx.put_lanes(shaped, n);
            self.fx.shape_lanes(n);
            return (sounding, self.fx.take_lanes(shaped, n));
        }
        (sounding, false)
    }

    /// Renders ≤ [`MAX_CHUNK`] frames: voices per track, track gains and pan, master, limiter.
    #[inline(always)]
    pub(super) fn render_chunk(
        &mut self,
        abs_pos: usize,
        left: &mut [f32],
        right: &mut [f32],
        aux: &mut Option<&mut AuxSink<'_>>,
    ) {
        // (Chunks are at most `MAX_CHUNK` frames; saying so lets the loops below go without
        // bounds checks, and vectorized.)
        let n = left.len().min(right.len()).min(MAX_CHUNK);
        let (left, right) = (&mut left[..n], &mut right[..n]);
        let mut mix_l = [0.0f32; MAX_CHUNK];
        let mut mix_r = [0.0f32; MAX_CHUNK];
        let (sounding, lanes) = self.shape_tracks(n);
        for (t, any) in sounding.into_iter().enumerate() {
            let pool = &mut self.voices[t];
            let ramping = self.gains[t].is_ramping();
            if !any && !ramping && aux.is_none() {
                continue;
            }
            // Per-frame gains of this chunk while a ramp runs (it runs even while silent).
            let mut gl = [0.0f32; MAX_CHUNK];
            let mut gr = [0.0f32; MAX_CHUNK];
            if ramping {
                let mut ramp = self.gains[t];
                for i in 0..n {
                    [gl[i], gr[i]] = ramp.tick();
                }
                self.gains[t] = ramp;
            }
            let mut mono = [0.0f32; MAX_CHUNK];
            if any {
                if lanes {
                    mono[..n].copy_from_slice(&self.shaped[t][..n]);
                } else {
                    render_pool(pool, &mut mono[..n], &self.bank);
                }
                let [cl, cr] = self.gains[t].current();
                self.fx.send_stereo(t, &mono[..n], cl, cr);
            }
            if let (Some(m), true) = (&self.meters, any) {
                let peak = mono[..n].iter().fold(0.0f32, |a, x| a.max(x.abs()));
                let [cl, cr] = self.gains[t].current();
                let g = if ramping {
                    gl[..n]
                        .iter()
                        .chain(&gr[..n])
                        .fold(0.0f32, |a, x| a.max(*x))
                } else {
                    cl.max(cr)
                };
                m.note_track(t, peak * g);
            }
            match aux.as_deref_mut() {
                None if !any => {}
                None if ramping => {
                    for i in 0..n {
                        mix_l[i] += mono[i] * gl[i];
                        mix_r[i] += mono[i] * gr[i];
                    }
                }
                None => {
                    let [cl, cr] = self.gains[t].current();
                    for i in 0..n {
                        mix_l[i] += mono[i] * cl;
                        mix_r[i] += mono[i] * cr;
                    }
                }
                Some(f) => {
                    let mut tl_buf = [0.0f32; MAX_CHUNK];
                    let mut tr_buf = [0.0f32; MAX_CHUNK];
                    if !ramping {
                        let [cl, cr] = self.gains[t].current();
                        gl = [cl; MAX_CHUNK];
                        gr = [cr; MAX_CHUNK];
                    }
                    for i in 0..n {
                        tl_buf[i] = mono[i] * gl[i];
                        tr_buf[i] = mono[i] * gr[i];
                        mix_l[i] += tl_buf[i];
                        mix_r[i] += tr_buf[i];
                    }
                    f(t, abs_pos, &tl_buf[..n], &tr_buf[..n]);
                }
            }
        }
        self.fx.mix_returns(&mut mix_l[..n], &mut mix_r[..n]);
        self.preview
            .render(&mut mix_l[..n], &mut mix_r[..n], &self.bank);
        // Master gain, peak limiter (instant attack, smooth release), soft clipper.
        let mut env = self.limiter_env;
        let rel = self.limiter_release;
        let mut master = self.master;
        for i in 0..n {
            let [m] = master.tick();
            let l = mix_l[i] * m;
            let r = mix_r[i] * m;
            let peak = l.abs().max(r.abs());
            env = if peak > env {
                peak
            } else {
                env * rel + (1.0 - rel) * peak
            };
            let g = if env > LIMIT_THRESHOLD {
                LIMIT_THRESHOLD / env
            } else {
                1.0
            };
            left[i] = soft_knee(l * g);
            right[i] = soft_knee(r * g);
        }
        self.master = master;
        self.limiter_env = if env < 1e-15 { 0.0 } else { env };
        if let Some(m) = &self.meters {
            let out = left.iter().chain(right.iter());
            m.note_master(out.fold(0.0f32, |a, x| a.max(x.abs())));
        }
    }
}

/// Linear below [`CLIP_KNEE`], then a smooth saturation that never exceeds 1.
#[inline(always)]
fn soft_knee(x: f32) -> f32 {
    let a = x.abs();
    if a <= CLIP_KNEE {
        x
    } else {
        let room = 1.0 - CLIP_KNEE;
        let y = CLIP_KNEE + room * crate::dsp::soft_clip((a - CLIP_KNEE) / room);
        y.min(1.0).copysign(x)
    }
}
