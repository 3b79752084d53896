//! The sampler: plays a slot of the engine's sample bank (or a slice of it) at the note's pitch.

use super::{SampleBank, GATE_FADE_S};

/// One sample note.
#[derive(Clone, Debug)]
pub struct Sampler {
    /// The bank slot it plays; an empty slot plays nothing.
    slot: u8,
    /// Playback-rate ratio from the note's pitch (1 at pitch 0).
    pitch_ratio: f32,
    /// Read position in source frames.
    pos_frames: f64,
    /// Where the note stops, in source frames (exclusive): a slice's end (see
    /// [`Sampler::play_range`]), or `u32::MAX` for the end of the sample.
    end_frame: u32,
}

impl Sampler {
    pub fn new(slot: u8, pitch_ratio: f32) -> Self {
        Self {
            slot,
            pitch_ratio,
            pos_frames: 0.0,
            end_frame: u32::MAX,
        }
    }

    /// Plays only source frames `start_frame..end_frame` (a slice).
    pub fn play_range(&mut self, start_frame: u32, end_frame: u32) {
        self.pos_frames = start_frame as f64;
        self.end_frame = end_frame;
    }

    /// Plays the sample (or the slice) at the note's pitch, linearly interpolated, into `out`
    /// (a run within one control period); returns whether the note goes on. The last
    /// [`GATE_FADE_S`] (in source frames) before the end ramp down to zero: at pitch 0 and the
    /// engine's rate, output frame `j` is exactly `frames[start + j] × min(1, (end − start −
    /// j) / fade)`.
    pub fn render(&mut self, out: &mut [f32], bank: &SampleBank, sample_rate: f32) -> bool {
        let Some(buf) = bank.get(self.slot as usize).and_then(|b| b.as_deref()) else {
            return false;
        };
        let frames = &buf.frames;
        let step = self.pitch_ratio as f64 * buf.sample_rate_hz as f64 / sample_rate as f64;
        let end = (self.end_frame as usize).min(frames.len()) as f64;
        let inv_fade = 1.0 / (GATE_FADE_S * buf.sample_rate_hz).round().max(1.0) as f64;
        let mut pos = self.pos_frames;
        for o in out.iter_mut() {
            if pos >= end {
                *o = 0.0;
                continue;
            }
            let i = pos as usize;
            let f = (pos - i as f64) as f32;
            let a = frames[i];
            let b = frames.get(i + 1).copied().unwrap_or(a);
            let fade = ((end - pos) * inv_fade).min(1.0) as f32;
            *o = (a + f * (b - a)) * fade;
            pos += step;
        }
        self.pos_frames = pos;
        pos < end
    }
}
