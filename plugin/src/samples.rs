//! The samples the sampler holds, saved with the host's project (`#[persist = "samples"]`):
//! recorded takes added to the grid and shared samples downloaded in a live session come back
//! bit-exact when the project is reopened.
//!
//! The saved value is a JSON array of `{id, rate, frames, data}`, one entry per sample a track
//! uses, in slot order. `data` is the frames' f32 bit patterns as residuals against a linear
//! prediction, computed on the integers of the bit patterns (so every value — subnormals,
//! `-0.0`, NaN payloads — round-trips exactly), split into four byte planes (low bytes first),
//! deflated and base64-encoded (see [`encode_frames`]). Saving and loading run on the host's main thread, never in `process()`.

use std::sync::{Arc, Mutex};

use base64::Engine as _;
use keyboardia_core::SampleId;
use keyboardia_engine::SampleBuffer;
use serde::{Deserialize, Serialize};

/// Deflate level: 6 is miniz's default, a good size/speed balance for minute-long takes.
const DEFLATE_LEVEL: u8 = 6;

/// One saved sample.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct SavedSample {
    /// The sample's id (tracks play `sample:<id>`).
    pub id: SampleId,
    /// Sample rate in Hz.
    pub rate: f32,
    /// Number of frames (mono).
    pub frames: usize,
    /// The frames, encoded by [`encode_frames`].
    pub data: String,
}

/// The frame predicted from the two before it (linear extrapolation, in f32: the decoder
/// computes exactly the same value from the frames it has already restored).
fn predict(a: f32, b: f32) -> f32 {
    2.0 * a - b
}

/// A float's bit pattern as an integer in the floats' order (`-0.0` and `0.0` neighbours), so
/// the difference between near values is small.
fn ordered(f: f32) -> u32 {
    let bits = f.to_bits();
    if bits & 0x8000_0000 != 0 {
        !bits
    } else {
        bits | 0x8000_0000
    }
}

/// The inverse of [`ordered`].
fn from_ordered(u: u32) -> f32 {
    f32::from_bits(if u & 0x8000_0000 != 0 {
        u & 0x7fff_ffff
    } else {
        !u
    })
}

/// Encodes frames bit-exactly: the residual of each frame's ordered bit pattern against a
/// prediction from the previous two frames (wrapping, zigzagged), split into four byte planes,
/// deflated, base64.
pub fn encode_frames(frames: &[f32]) -> String {
    let n = frames.len();
    let mut planes = vec![0u8; n * 4];
    let (mut a, mut b) = (0.0f32, 0.0f32);
    for (i, &x) in frames.iter().enumerate() {
        let r = ordered(x).wrapping_sub(ordered(predict(a, b))) as i32;
        let z = ((r << 1) ^ (r >> 31)) as u32;
        (b, a) = (a, x);
        for (k, byte) in z.to_le_bytes().into_iter().enumerate() {
            planes[k * n + i] = byte;
        }
    }
    let packed = miniz_oxide::deflate::compress_to_vec(&planes, DEFLATE_LEVEL);
    base64::engine::general_purpose::STANDARD.encode(packed)
}

/// Decodes what [`encode_frames`] made of `frames` frames; `None` if it is not exactly that.
pub fn decode_frames(data: &str, frames: usize) -> Option<Box<[f32]>> {
    let packed = base64::engine::general_purpose::STANDARD
        .decode(data)
        .ok()?;
    let len = frames.checked_mul(4)?;
    let planes = miniz_oxide::inflate::decompress_to_vec_with_limit(&packed, len).ok()?;
    if planes.len() != len {
        return None;
    }
    let (mut a, mut b) = (0.0f32, 0.0f32);
    let out = (0..frames)
        .map(|i| {
            let z = u32::from_le_bytes([
                planes[i],
                planes[frames + i],
                planes[2 * frames + i],
                planes[3 * frames + i],
            ]);
            let r = (z >> 1) ^ (z & 1).wrapping_neg();
            let x = from_ordered(ordered(predict(a, b)).wrapping_add(r));
            (b, a) = (a, x);
            x
        })
        .collect();
    Some(out)
}

/// The saved entry of one sample.
fn saved_sample(id: &SampleId, b: &SampleBuffer) -> SavedSample {
    SavedSample {
        id: id.clone(),
        rate: b.sample_rate_hz,
        frames: b.frames.len(),
        data: encode_frames(&b.frames),
    }
}

/// Encodes samples as the saved JSON (canonical: the same samples always give the same text).
pub fn encode_samples<'a>(
    samples: impl IntoIterator<Item = (&'a SampleId, &'a SampleBuffer)>,
) -> String {
    let saved: Vec<SavedSample> = samples
        .into_iter()
        .map(|(id, b)| saved_sample(id, b))
        .collect();
    serde_json::to_string(&saved).unwrap_or_else(|_| "[]".into())
}

/// Decodes the saved JSON; entries that do not decode (or have no usable rate) are skipped.
pub fn decode_samples(json: &str) -> Vec<(SampleId, SampleBuffer)> {
    let Ok(saved) = serde_json::from_str::<Vec<SavedSample>>(json) else {
        return Vec::new();
    };
    saved
        .into_iter()
        .filter(|s| s.rate.is_finite() && s.rate > 0.0)
        .filter_map(|s| {
            let frames = decode_frames(&s.data, s.frames)?;
            Some((
                s.id,
                SampleBuffer {
                    frames,
                    sample_rate_hz: s.rate,
                },
            ))
        })
        .collect()
}

/// Encodes the `#[persist = "samples"]` value from the samples tracks use, keeping the last
/// save's entries: a host saving often re-encodes only new samples.
#[derive(Default)]
pub struct SampleSaver {
    /// The last save's entries by buffer.
    cache: Mutex<Vec<(Arc<SampleBuffer>, SavedSample)>>,
}

impl SampleSaver {
    /// The saved JSON of `used` (the samples tracks use now, in slot order).
    pub fn json(&self, used: Vec<(SampleId, Arc<SampleBuffer>)>) -> String {
        let mut cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
        let entries: Vec<(Arc<SampleBuffer>, SavedSample)> = used
            .into_iter()
            .map(|(id, b)| {
                let saved = match cache.iter().find(|(c, s)| Arc::ptr_eq(c, &b) && s.id == id) {
                    Some((_, s)) => s.clone(),
                    None => saved_sample(&id, &b),
                };
                (b, saved)
            })
            .collect();
        let saved: Vec<&SavedSample> = entries.iter().map(|(_, s)| s).collect();
        let json = serde_json::to_string(&saved).unwrap_or_else(|_| "[]".into());
        *cache = entries;
        json
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use keyboardia_engine::{Engine, InternalClock};

    /// Values that a lossy or float-parsing codec would change.
    fn odd_values() -> Vec<f32> {
        vec![
            0.0,
            -0.0,
            f32::from_bits(1),            // smallest subnormal
            -f32::from_bits(0x007f_ffff), // largest negative subnormal
            f32::MIN_POSITIVE,
            -f32::MIN_POSITIVE,
            1.0,
            -1.0,
            f32::EPSILON,
            1.0 - f32::EPSILON / 2.0,
            0.1,
            -0.333_333_34,
        ]
    }

    /// A take-like signal of `len` frames: the odd values, then a decaying 220 Hz tone over a
    /// noise floor at -54 dBFS, quantized to `bits` bits as an audio interface delivers it
    /// (`None`: full f32 precision, the worst case).
    pub(crate) fn take_frames(len: usize, bits: Option<i32>) -> Vec<f32> {
        let mut frames = odd_values();
        let mut seed = 0x1234_5678u32;
        while frames.len() < len {
            let i = frames.len() as f32;
            seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            let noise = (seed >> 9) as f32 / (1u32 << 23) as f32 - 0.5;
            let env = (-i / 48_000.0 * 1.5).exp();
            let tone = (i * 2.0 * std::f32::consts::PI * 220.0 / 48_000.0).sin();
            let x = 0.6 * env * tone + 0.004 * noise;
            frames.push(match bits {
                Some(b) => {
                    let scale = (1u32 << (b - 1)) as f32;
                    (x * scale).round() / scale
                }
                None => x,
            });
        }
        frames
    }

    pub(crate) fn bits_of(frames: &[f32]) -> Vec<u32> {
        frames.iter().map(|f| f.to_bits()).collect()
    }

    #[test]
    fn frames_round_trip_bit_exact_including_nan_payloads_and_infinities() {
        let mut frames = odd_values();
        frames.extend([
            f32::from_bits(0x7fc0_1234),
            f32::from_bits(0xffbf_ffff),
            f32::INFINITY,
            f32::NEG_INFINITY,
            f32::MAX,
            f32::MIN,
        ]);
        let data = encode_frames(&frames);
        let back = decode_frames(&data, frames.len()).unwrap();
        assert_eq!(bits_of(&back), bits_of(&frames));
        assert_eq!(decode_frames(&encode_frames(&[]), 0).unwrap().len(), 0);
        // A wrong frame count or damaged data is refused, never misread.
        assert!(decode_frames(&data, frames.len() + 1).is_none());
        assert!(decode_frames(&data, frames.len() - 1).is_none());
        assert!(decode_frames("not base64!", frames.len()).is_none());
    }

    #[test]
    fn a_five_second_take_is_compact() {
        let raw = 5 * 48_000 * 4;
        for (what, bits) in [
            ("24-bit input", Some(24)),
            ("16-bit WAV", Some(16)),
            ("full-precision f32 (worst case)", None),
        ] {
            let frames = take_frames(5 * 48_000, bits);
            let data = encode_frames(&frames);
            println!(
                "5 s 48 kHz take, {what}: {} bytes saved (compressed + base64) vs {raw} bytes raw f32 ({:.1} %)",
                data.len(),
                100.0 * data.len() as f64 / raw as f64
            );
            if bits.is_some() {
                assert!(
                    data.len() < raw * 9 / 10,
                    "{what}: smaller than raw even after base64"
                );
            }
            assert_eq!(
                bits_of(&decode_frames(&data, frames.len()).unwrap()),
                bits_of(&frames)
            );
        }
    }

    /// Renders 100 ms of `pattern` with `buffer` in `slot`; the peak level.
    pub(crate) fn render_peak(
        pattern: &keyboardia_engine::EnginePattern,
        slot: usize,
        buffer: Arc<SampleBuffer>,
    ) -> f32 {
        let mut engine = Engine::new(48_000.0);
        let _ = engine.set_sample(slot, Some(buffer));
        engine.set_pattern(pattern);
        let mut clock = InternalClock::new(120.0);
        clock.play_from(0.0);
        let (mut l, mut r) = (vec![0.0f32; 4800], vec![0.0f32; 4800]);
        for (lc, rc) in l.chunks_mut(480).zip(r.chunks_mut(480)) {
            let b = clock.next_block(480, 48_000.0);
            engine.process(&b, &[], lc, rc, None);
        }
        l.iter().chain(&r).fold(0.0f32, |m, v| m.max(v.abs()))
    }
}
