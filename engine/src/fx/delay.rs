//! The shared tempo-synced delay: one line (mono in, the echoes on both channels), its length
//! a note value of the tempo, a low-pass in the feedback loop so each echo is a little darker,
//! feedback below 1 so echoes always die away. The length glides to a new tempo or note value
//! (read with linear interpolation), so a change never clicks. The buffer is allocated once.

use super::filter::flush;

/// The longest echo the buffer holds, in seconds (a quarter note at 30 BPM).
pub(super) const MAX_DELAY_S: f32 = 2.0;
/// Per-sample glide of the delay length towards its target (≈ 50 ms at 48 kHz).
const GLIDE: f32 = 0.0005;
/// The feedback loop's low-pass coefficient (one pole, ≈ 5 kHz at 48 kHz).
const LOOP_LP: f32 = 0.5;

/// The delay line and its state.
pub(super) struct Delay {
    /// The samples, allocated once ([`MAX_DELAY_S`] plus room for interpolation).
    buf: Box<[f32]>,
    /// Next write index.
    pos: usize,
    /// The length played now, in samples (glides towards `target_len`).
    len: f32,
    /// The length of the note value at the tempo, in samples.
    target_len: f32,
    /// Feedback gain, below 1.
    feedback: f32,
    /// The feedback loop's low-pass state.
    lp: f32,
    /// Frames in a row with no input and a silent output.
    quiet_frames: usize,
    /// Nothing left in the line: processing is skipped until the next input.
    idle: bool,
}

impl Delay {
    pub fn new(sample_rate: f32) -> Self {
        let n = (MAX_DELAY_S * sample_rate) as usize + 4;
        Self {
            buf: vec![0.0; n].into_boxed_slice(),
            pos: 0,
            len: 0.25 * sample_rate,
            target_len: 0.25 * sample_rate,
            feedback: keyboardia_core::DEFAULT_DELAY_FEEDBACK,
            lp: 0.0,
            quiet_frames: 0,
            idle: true,
        }
    }

    /// The echo's length in samples (clamped to the buffer) and the feedback.
    pub fn set(&mut self, len_samples: f32, feedback: f32) {
        let max = (self.buf.len() - 3) as f32;
        let len = if len_samples.is_finite() {
            len_samples.clamp(1.0, max)
        } else {
            max
        };
        if self.idle {
            self.len = len;
        }
        self.target_len = len;
        self.feedback = feedback.clamp(0.0, 0.95);
    }

    pub fn is_idle(&self) -> bool {
        self.idle
    }

    /// Adds the echoes of `input` (consumed: zeroed) to `l`/`r`.
    pub fn process(&mut self, input: &mut [f32], fed: bool, l: &mut [f32], r: &mut [f32]) {
        if fed {
            self.idle = false;
            self.quiet_frames = 0;
        }
        if self.idle {
            return;
        }
        // Once the glide has settled (a step no longer moves the length), the length is the
        // same for every frame: its whole and fractional parts are computed once.
        let peak = if self.len + (self.target_len - self.len) * GLIDE == self.len {
            self.run::<false>(input, l, r)
        } else {
            self.run::<true>(input, l, r)
        };
        // Flushed once per chunk; the line goes idle (zeroed) long before it could decay into
        // the subnormal range.
        self.lp = flush(self.lp);
        if !fed && peak < super::reverb::SILENT {
            self.quiet_frames += input.len();
            if self.quiet_frames as f32 > self.len * 2.0 + 4.0 {
                self.reset();
            }
        } else {
            self.quiet_frames = 0;
        }
    }

    /// Plays and feeds the line over a chunk; returns the chunk's peak echo. `GLIDING`: the
    /// length moves towards its target (else it is settled and stays).
    #[inline(always)]
    fn run<const GLIDING: bool>(&mut self, input: &mut [f32], l: &mut [f32], r: &mut [f32]) -> f32 {
        let n = self.buf.len();
        let mut peak = 0.0f32;
        let (mut len, target, fb) = (self.len, self.target_len, self.feedback);
        let (mut lp, mut pos) = (self.lp, self.pos);
        let frames = input.len().min(l.len()).min(r.len());
        let (mut whole, mut frac) = (len as usize, len - (len as usize) as f32);
        for i in 0..frames {
            if GLIDING {
                len += (target - len) * GLIDE;
                whole = len as usize;
                frac = len - whole as f32;
            }
            // `whole + 1 < n` (the length is clamped to the buffer less 3): one conditional
            // add wraps each read index, no division per sample.
            let ia = if pos >= whole {
                pos - whole
            } else {
                pos + n - whole
            };
            let ib = if ia == 0 { n - 1 } else { ia - 1 };
            let a = self.buf[ia];
            let b = self.buf[ib];
            let echo = a + (b - a) * frac;
            lp += (echo - lp) * LOOP_LP;
            self.buf[pos] = input[i] + lp * fb;
            input[i] = 0.0;
            pos = if pos + 1 == n { 0 } else { pos + 1 };
            l[i] += echo;
            r[i] += echo;
            peak = peak.max(echo.abs());
        }
        (self.len, self.lp, self.pos) = (len, lp, pos);
        peak
    }

    pub fn reset(&mut self) {
        self.buf.fill(0.0);
        self.lp = 0.0;
        self.len = self.target_len;
        self.quiet_frames = 0;
        self.idle = true;
    }
}
