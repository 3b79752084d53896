//! The shared reverb: Schroeder–Moorer's structure as "Freeverb" (Jezar at Dreampoint, 2000,
//! public domain) arranges it — per channel eight parallel feedback combs with a one-pole
//! low-pass in each loop, then four series all-passes, the right channel's delays 23 samples
//! longer for width — written here from the published description and its delay lengths.
//! It runs at half the sample rate (two frames averaged in, its output interpolated back):
//! half the cost, and a reverb's tail holds nothing above a quarter of the rate anyway (the
//! combs damp the high end). Every buffer is allocated once in [`Reverb::new`].

use super::filter::flush;
use crate::voice::MAX_CHUNK;

/// Comb lengths in samples at 44.1 kHz (Freeverb's tuning).
const COMBS: [usize; 8] = [1116, 1188, 1277, 1356, 1422, 1491, 1557, 1617];
/// All-pass lengths in samples at 44.1 kHz.
const ALLPASSES: [usize; 4] = [556, 441, 341, 225];
/// The right channel's extra delay at 44.1 kHz.
const SPREAD: usize = 23;
/// Gain into the combs (eight of them add up).
const INPUT_GAIN: f32 = 0.03;
/// Comb feedback at size 0 and its range up to size 1 (0.7 … 0.98).
const ROOM_OFFSET: f32 = 0.7;
const ROOM_SCALE: f32 = 0.28;
/// Low-pass damping inside the comb loops (the high end dies first).
const DAMP: f32 = 0.2;
/// All-pass feedback.
const ALLPASS_FEEDBACK: f32 = 0.5;
/// An output below this (−140 dB, under a 24-bit file's last bit) is silence: a reverb that
/// stays this quiet with no input for its longest path goes idle (its lines zeroed).
pub(super) const SILENT: f32 = 1e-7;

/// A delay line with its write position.
struct Line {
    /// The samples, allocated once.
    buf: Box<[f32]>,
    /// Next write index.
    pos: usize,
    /// The comb's damping low-pass state (unused by all-passes).
    lp: f32,
}

impl Line {
    fn new(len: usize) -> Self {
        Self {
            buf: vec![0.0; len.max(1)].into_boxed_slice(),
            pos: 0,
            lp: 0.0,
        }
    }

    /// The all-pass over a run of samples in place: `y` becomes the delayed line less the
    /// input, the line takes the input plus half the delayed line.
    #[inline(always)]
    fn allpass_run(&mut self, y: &mut [f32]) {
        let mut k = 0;
        while k < y.len() {
            let run = (y.len() - k).min(self.buf.len() - self.pos);
            let buf = &mut self.buf[self.pos..self.pos + run];
            for (b, v) in buf.iter_mut().zip(&mut y[k..k + run]) {
                let delayed = *b;
                *b = *v + delayed * ALLPASS_FEEDBACK;
                *v = delayed - *v;
            }
            self.pos += run;
            if self.pos == self.buf.len() {
                self.pos = 0;
            }
            k += run;
        }
    }

    fn clear(&mut self) {
        self.buf.fill(0.0);
        self.lp = 0.0;
    }
}

/// The most network runs in one call: one per pair of frames of a chunk.
const MAX_RUNS: usize = MAX_CHUNK / 2 + 1;

/// Four feedback combs over the same inputs `xs`, side by side: each plays its delayed sample,
/// damps it with its one-pole low-pass and writes the input plus the damped sample × feedback
/// back; the outputs are added to `ys` in the combs' order.
#[inline(always)]
fn combs4(group: &mut [Line], xs: &[f32], ys: &mut [f32], feedback: f32) {
    let [c0, c1, c2, c3] = group else {
        return;
    };
    let mut k = 0;
    while k < xs.len() {
        let run = [&*c0, &*c1, &*c2, &*c3]
            .iter()
            .map(|c| c.buf.len() - c.pos)
            .fold(xs.len() - k, usize::min);
        let (b0, b1) = (
            &mut c0.buf[c0.pos..c0.pos + run],
            &mut c1.buf[c1.pos..c1.pos + run],
        );
        let (b2, b3) = (
            &mut c2.buf[c2.pos..c2.pos + run],
            &mut c3.buf[c3.pos..c3.pos + run],
        );
        let (x, y) = (&xs[k..k + run], &mut ys[k..k + run]);
        let mut lp = [c0.lp, c1.lp, c2.lp, c3.lp];
        for i in 0..run {
            let out = [b0[i], b1[i], b2[i], b3[i]];
            for j in 0..4 {
                lp[j] = out[j] * (1.0 - DAMP) + lp[j] * DAMP;
            }
            b0[i] = x[i] + lp[0] * feedback;
            b1[i] = x[i] + lp[1] * feedback;
            b2[i] = x[i] + lp[2] * feedback;
            b3[i] = x[i] + lp[3] * feedback;
            y[i] = (((y[i] + out[0]) + out[1]) + out[2]) + out[3];
        }
        for (c, lp) in [&mut *c0, &mut *c1, &mut *c2, &mut *c3].into_iter().zip(lp) {
            c.lp = lp;
            c.pos += run;
            if c.pos == c.buf.len() {
                c.pos = 0;
            }
        }
        k += run;
    }
}

/// The stereo reverb (mono in, stereo out).
pub(super) struct Reverb {
    /// Combs then all-passes, left channel.
    left: ([Line; 8], [Line; 4]),
    /// Combs then all-passes, right channel.
    right: ([Line; 8], [Line; 4]),
    /// Comb feedback from the room size.
    feedback: f32,
    /// Frames in a row whose output stayed below the silence threshold with no input.
    quiet_frames: usize,
    /// Frames of quiet after which nothing is left in the lines (the longest path).
    settle_frames: usize,
    /// Nothing left in the lines: processing is skipped until the next input.
    idle: bool,
    /// Whether the next frame completes a pair (the network runs once per pair).
    odd: bool,
    /// The first frame of the current pair, waiting for the second.
    held_in: f32,
    /// The network's last output (left, right).
    last: [f32; 2],
    /// The network's output before that: each frame plays a point between the two.
    previous: [f32; 2],
}

impl Reverb {
    pub fn new(sample_rate: f32) -> Self {
        // The network runs at half the rate.
        let scale = |n: usize| ((n as f32 * sample_rate / 88_200.0).round() as usize).max(1);
        let lines = |extra: usize| {
            (
                std::array::from_fn(|i| Line::new(scale(COMBS[i] + extra))),
                std::array::from_fn(|i| Line::new(scale(ALLPASSES[i] + extra))),
            )
        };
        // The longest path in frames of the full rate.
        let settle = 2
            * (scale(COMBS[7] + SPREAD) * 2
                + ALLPASSES.iter().map(|n| scale(n + SPREAD)).sum::<usize>());
        let mut r = Self {
            left: lines(0),
            right: lines(SPREAD),
            feedback: 0.0,
            quiet_frames: 0,
            settle_frames: settle,
            idle: true,
            odd: false,
            held_in: 0.0,
            last: [0.0; 2],
            previous: [0.0; 2],
        };
        r.set_size(keyboardia_core::DEFAULT_REVERB_SIZE);
        r
    }

    pub fn set_size(&mut self, size: f32) {
        self.feedback = ROOM_OFFSET + ROOM_SCALE * size.clamp(0.0, 1.0);
    }

    pub fn is_idle(&self) -> bool {
        self.idle
    }

    /// Adds the reverb of `input` (consumed: zeroed) to `l`/`r`. `fed`: whether `input` holds
    /// anything; without it an idle reverb does nothing.
    pub fn process(&mut self, input: &mut [f32], fed: bool, l: &mut [f32], r: &mut [f32]) {
        #[cfg(target_arch = "x86_64")]
        if crate::dsp::has_avx2() {
            // SAFETY: the CPU has AVX2 (checked just above).
            return unsafe { self.process_avx2(input, fed, l, r) };
        }
        self.process_impl(input, fed, l, r)
    }

    /// [`Reverb::process`] compiled for AVX2 (the same arithmetic, bit for bit).
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    unsafe fn process_avx2(&mut self, input: &mut [f32], fed: bool, l: &mut [f32], r: &mut [f32]) {
        self.process_impl(input, fed, l, r)
    }

    #[inline(always)]
    fn process_impl(&mut self, input: &mut [f32], fed: bool, l: &mut [f32], r: &mut [f32]) {
        if fed {
            self.idle = false;
            self.quiet_frames = 0;
        }
        if self.idle {
            return;
        }
        let fb = self.feedback;
        let frames = input.len().min(l.len()).min(r.len());
        // The network's inputs (one per pair of frames), then its outputs, a chunk at a time:
        // each line runs over the whole chunk in one go (its delay is longer than a chunk),
        // so the per-sample work has no wrap test or bounds check, and four combs run side by
        // side (each comb's damping is a feedback loop: one at a time would wait on it).
        let mut xs = [0.0f32; MAX_RUNS];
        let mut runs = 0;
        let mut odd = self.odd;
        let mut held = self.held_in;
        for x in input[..frames].iter_mut() {
            if odd {
                xs[runs] = (held + *x) * (0.5 * INPUT_GAIN);
                runs += 1;
            } else {
                held = *x;
            }
            *x = 0.0;
            odd = !odd;
        }
        self.held_in = held;
        let mut ys = [[0.0f32; MAX_RUNS]; 2];
        let channels = [&mut self.left, &mut self.right];
        for (y, (combs, passes)) in ys.iter_mut().zip(channels) {
            let y = &mut y[..runs];
            for group in combs.chunks_exact_mut(4) {
                combs4(group, &xs[..runs], y, fb);
            }
            for a in passes.iter_mut() {
                a.allpass_run(y);
            }
        }
        // Each frame plays a point on the line between the network's last two outputs; the
        // second frame of a pair brings the pair's own output in.
        let mut peak = 0.0f32;
        let mut k = 0;
        for i in 0..frames {
            let out = if self.odd {
                self.previous = self.last;
                self.last = [ys[0][k], ys[1][k]];
                k += 1;
                self.previous
            } else {
                [
                    0.5 * (self.previous[0] + self.last[0]),
                    0.5 * (self.previous[1] + self.last[1]),
                ]
            };
            self.odd = !self.odd;
            l[i] += out[0];
            r[i] += out[1];
            peak = peak.max(out[0].abs()).max(out[1].abs());
        }
        // No flush per sample: the damping states are flushed once per chunk, and the lines
        // cannot decay into the subnormal range while the reverb runs — it goes idle (lines
        // zeroed) once its output stayed under −140 dB for its longest path, far earlier.
        for line in self.left.0.iter_mut().chain(self.right.0.iter_mut()) {
            line.lp = flush(line.lp);
        }
        if !fed && peak < SILENT {
            self.quiet_frames += input.len();
            if self.quiet_frames >= self.settle_frames {
                for line in self.left.0.iter_mut().chain(self.left.1.iter_mut()) {
                    line.clear();
                }
                for line in self.right.0.iter_mut().chain(self.right.1.iter_mut()) {
                    line.clear();
                }
                self.clear_pair();
                self.idle = true;
            }
        } else {
            self.quiet_frames = 0;
        }
    }

    pub fn reset(&mut self) {
        for line in self.left.0.iter_mut().chain(self.left.1.iter_mut()) {
            line.clear();
        }
        for line in self.right.0.iter_mut().chain(self.right.1.iter_mut()) {
            line.clear();
        }
        self.clear_pair();
        self.idle = true;
        self.quiet_frames = 0;
    }

    fn clear_pair(&mut self) {
        self.odd = false;
        self.held_in = 0.0;
        self.last = [0.0; 2];
        self.previous = [0.0; 2];
    }
}
