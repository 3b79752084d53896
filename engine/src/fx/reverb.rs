//! The shared reverb: Schroeder–Moorer's structure as "Freeverb" (Jezar at Dreampoint, 2000,
//! public domain) arranges it — per channel eight parallel feedback combs with a one-pole
//! low-pass in each loop, then four series all-passes, the right channel's delays 23 samples
//! longer for width — written here from the published description and its delay lengths.
//! It runs at half the sample rate (two frames averaged in, its output interpolated back):
//! half the cost, and a reverb's tail holds nothing above a quarter of the rate anyway (the
//! combs damp the high end). Every buffer is allocated once in [`Reverb::new`].

use super::filter::flush;

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

    #[inline(always)]
    fn comb(&mut self, x: f32, feedback: f32) -> f32 {
        let out = self.buf[self.pos];
        self.lp = out * (1.0 - DAMP) + self.lp * DAMP;
        self.buf[self.pos] = x + self.lp * feedback;
        self.pos = if self.pos + 1 == self.buf.len() {
            0
        } else {
            self.pos + 1
        };
        out
    }

    #[inline(always)]
    fn allpass(&mut self, x: f32) -> f32 {
        let delayed = self.buf[self.pos];
        self.buf[self.pos] = x + delayed * ALLPASS_FEEDBACK;
        self.pos = if self.pos + 1 == self.buf.len() {
            0
        } else {
            self.pos + 1
        };
        delayed - x
    }

    fn clear(&mut self) {
        self.buf.fill(0.0);
        self.lp = 0.0;
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
        if fed {
            self.idle = false;
            self.quiet_frames = 0;
        }
        if self.idle {
            return;
        }
        let fb = self.feedback;
        let mut peak = 0.0f32;
        for i in 0..input.len() {
            let x = input[i];
            input[i] = 0.0;
            // The second frame of a pair runs the network on the pair's mean; each frame
            // plays a point on the line between the network's last two outputs.
            let out = if self.odd {
                let x = (self.held_in + x) * (0.5 * INPUT_GAIN);
                self.previous = self.last;
                let channels = [&mut self.left, &mut self.right];
                for (o, (combs, passes)) in self.last.iter_mut().zip(channels) {
                    let mut y = 0.0;
                    for c in combs.iter_mut() {
                        y += c.comb(x, fb);
                    }
                    for a in passes.iter_mut() {
                        y = a.allpass(y);
                    }
                    *o = y;
                }
                self.previous
            } else {
                self.held_in = x;
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
