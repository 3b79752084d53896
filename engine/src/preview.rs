//! Sound preview: the sound picker plays a sound once, on a voice of its own outside the track
//! pools, whether the sequencer plays or not. It goes through the master gain, limiter and the
//! master meter like everything else, at the track's volume and pan (not its mute: a producer
//! who previews a sound on a muted track still wants to hear it).
//!
//! The request crosses to the audio thread as one `u64` in a [`PreviewMailbox`] (latest wins,
//! no allocation, lock or wait on either side); the engine starts it with
//! [`Engine::preview`](crate::Engine::preview), which chokes the previous preview, so sweeping
//! the pointer over a list never piles sounds up.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use keyboardia_core::{BuiltinSound, SynthPreset};

use crate::voice::{NoteParams, Patch, SampleBank, Voice, MAX_CHUNK, ONE_SHOT_VARIANTS};

/// How long a gated (melodic or sample) preview holds its note, in seconds.
pub const PREVIEW_GATE_S: f32 = 0.6;
/// The longest a preview rings (a bell's or riser's own tail is cut there with a short fade),
/// in seconds.
pub const PREVIEW_MAX_S: f32 = 2.0;
/// The velocity a preview plays at (a step's default).
pub const PREVIEW_VELOCITY: u8 = 100;

/// One preview: what to play, at which level and where.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Preview {
    /// The sound (a sample as its slot in the engine's bank).
    pub patch: Patch,
    /// Linear gain, 0..=1 (the track's volume).
    pub volume: f32,
    /// -1 (left) ..= 1 (right) (the track's pan).
    pub pan: f32,
}

/// Bit set in every encoded preview, so 0 means "nothing posted".
const PRESENT: u64 = 1 << 63;

impl Preview {
    /// The preview as one word: bit 63 set, bits 0..16 the patch (kind × 256 + index), 16..32
    /// the volume and 32..48 the pan, each quantized to 16 bits.
    pub fn encode(self) -> u64 {
        let patch: u64 = match self.patch {
            Patch::Sound(s) => BuiltinSound::ALL.iter().position(|x| *x == s).unwrap_or(0) as u64,
            Patch::Synth(p) => {
                0x100 + SynthPreset::ALL.iter().position(|x| *x == p).unwrap_or(0) as u64
            }
            Patch::Sample(slot) => 0x200 + u64::from(slot),
        };
        let volume = (self.volume.clamp(0.0, 1.0) * 65535.0).round() as u64;
        let pan = ((self.pan.clamp(-1.0, 1.0) + 1.0) * 32767.5).round() as u64;
        PRESENT | patch | volume << 16 | pan << 32
    }

    /// The preview `bits` encodes (`None` for 0 or a word no [`Preview::encode`] makes).
    pub fn decode(bits: u64) -> Option<Self> {
        if bits & PRESENT == 0 {
            return None;
        }
        let index = (bits & 0xff) as usize;
        let patch = match (bits >> 8) & 0xff {
            0 => Patch::Sound(*BuiltinSound::ALL.get(index)?),
            1 => Patch::Synth(*SynthPreset::ALL.get(index)?),
            2 => Patch::Sample(index as u8),
            _ => return None,
        };
        Some(Self {
            patch,
            volume: ((bits >> 16) & 0xffff) as f32 / 65535.0,
            pan: ((bits >> 32) & 0xffff) as f32 / 32767.5 - 1.0,
        })
    }
}

/// The editor's side posts, the audio thread takes: one atomic word, the latest request wins.
#[derive(Debug, Default)]
pub struct PreviewMailbox {
    /// The latest [`Preview::encode`]d request not yet taken (0: none).
    latest: AtomicU64,
}

impl PreviewMailbox {
    /// Any thread: asks the audio thread to play `preview` (replacing one not yet taken).
    pub fn post(&self, preview: Preview) {
        self.latest.store(preview.encode(), Ordering::Release);
    }

    /// Audio thread: the request posted since the last call, if any.
    pub fn take(&self) -> Option<Preview> {
        Preview::decode(self.latest.swap(0, Ordering::Acquire))
    }
}

/// The engine's preview voice and its fixed stereo gains.
#[derive(Clone, Debug, Default)]
pub(crate) struct PreviewVoice {
    /// The note (inactive when nothing previews).
    voice: Voice,
    /// (left, right) gain: volume × constant-power pan.
    gains: [f32; 2],
    /// Counts previews, to vary the one-shot variant and the noise seed.
    serial: u32,
    /// Frames until the preview is released ([`PREVIEW_MAX_S`]).
    frames_left: u32,
}

impl PreviewVoice {
    /// Starts `p`, replacing the previous preview (no allocation: one-shot tables are shared
    /// `Arc`s the engine holds).
    pub(crate) fn start(&mut self, p: Preview, one_shots: &[Vec<Arc<[f32]>>], sample_rate: f32) {
        self.serial = self.serial.wrapping_add(1);
        let params = NoteParams {
            pitch_semis: 0.0,
            velocity: PREVIEW_VELOCITY,
            gain: 1.0,
            gate_frames: (PREVIEW_GATE_S * sample_rate) as u32,
        };
        let table = match p.patch {
            Patch::Sound(s) => one_shots
                .get(s as usize)
                .and_then(|v| v.get(self.serial as usize % ONE_SHOT_VARIANTS))
                .cloned(),
            _ => None,
        };
        match table {
            Some(t) => self
                .voice
                .start_one_shot(0, p.patch, params, t, sample_rate),
            None => self
                .voice
                .start(0, p.patch, params, self.serial, sample_rate),
        }
        self.frames_left = (PREVIEW_MAX_S * sample_rate) as u32;
        let g = p.volume.clamp(0.0, 1.0);
        let angle = (p.pan.clamp(-1.0, 1.0) + 1.0) * std::f32::consts::FRAC_PI_4;
        self.gains = [g * angle.cos().max(0.0), g * angle.sin().max(0.0)];
    }

    /// Silences the preview at once (host reset).
    pub(crate) fn stop(&mut self) {
        self.voice.active = false;
    }

    /// Whether a preview sounds.
    pub(crate) fn active(&self) -> bool {
        self.voice.active
    }

    /// Adds the next `mix_l.len()` (≤ [`MAX_CHUNK`]) frames of the preview to the mix.
    pub(crate) fn render(&mut self, mix_l: &mut [f32], mix_r: &mut [f32], bank: &SampleBank) {
        if !self.voice.active {
            return;
        }
        let n = mix_l.len().min(mix_r.len()).min(MAX_CHUNK);
        let mut mono = [0.0f32; MAX_CHUNK];
        self.voice.render(&mut mono[..n], bank);
        self.frames_left = self.frames_left.saturating_sub(n as u32);
        if self.frames_left == 0 {
            self.voice.release();
        }
        let [gl, gr] = self.gains;
        for i in 0..n {
            mix_l[i] += mono[i] * gl;
            mix_r[i] += mono[i] * gr;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_patch_survives_the_mailbox() {
        let mut patches: Vec<Patch> = BuiltinSound::ALL.iter().map(|s| Patch::Sound(*s)).collect();
        patches.extend(SynthPreset::ALL.iter().map(|p| Patch::Synth(*p)));
        patches.extend([Patch::Sample(0), Patch::Sample(31)]);
        let mailbox = PreviewMailbox::default();
        assert_eq!(mailbox.take(), None);
        for patch in patches {
            let p = Preview {
                patch,
                volume: 0.8,
                pan: -0.5,
            };
            mailbox.post(p);
            let got = mailbox.take().expect("posted");
            assert_eq!(got.patch, patch);
            assert!((got.volume - 0.8).abs() < 1e-4 && (got.pan + 0.5).abs() < 1e-4);
            assert_eq!(mailbox.take(), None, "taken once");
        }
        assert_eq!(Preview::decode(PRESENT | 0x300), None);
        assert_eq!(Preview::decode(PRESENT | 0xff), None, "no sound 255");
    }
}
