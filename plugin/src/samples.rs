//! The samples the sampler holds, saved with the host's project (`#[persist = "samples"]`):
//! recorded takes added to the grid and shared samples downloaded in a live session come back
//! bit-exact when the project is reopened.
//!
//! The saved value is a JSON array of `{id, wav}`, one entry per sample a track uses, in slot
//! order. `wav` is the sample as the lossless file a live session shares: a mono 32-bit float
//! WAV ([`audio::encode_wav_f32`]), deflated and base64-encoded. A take shared in a live session
//! is saved as the very bytes every player downloaded, so its id is their content id. States
//! saved before this format (`{id, rate, frames, data}`, see [`v1`]) still load. Saving and
//! loading run on the host's main thread, never in `process()`.

use std::sync::{Arc, Mutex};

use base64::Engine as _;
use keyboardia_core::{audio, SampleId};
use keyboardia_engine::SampleBuffer;
use serde::{Deserialize, Serialize};

/// Deflate level: 6 is miniz's default, a good size/speed balance for minute-long takes.
const DEFLATE_LEVEL: u8 = 6;
/// The largest WAV file a saved entry may inflate to (a damaged state cannot make loading
/// allocate without end): 64 MiB, far above any take or shared sample.
const MAX_SAVED_WAV_BYTES: usize = 64 << 20;

/// One saved sample.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct SavedSample {
    /// The sample's id (tracks play `sample:<id>`).
    pub id: SampleId,
    /// The sample as a mono 32-bit float WAV, deflated, base64 (see the module doc).
    pub wav: String,
}

/// An entry of a saved state: this build's, or one saved before it.
#[derive(Deserialize)]
#[serde(untagged)]
enum SavedEntry {
    Wav(SavedSample),
    V1(v1::SavedFrames),
}

/// The lossless file of a sample: a mono 32-bit float WAV at its rate (a rate is a whole number
/// of Hz: it comes from a file or from the host). `None` only for what no WAV holds.
pub fn sample_wav(b: &SampleBuffer) -> Option<Vec<u8>> {
    audio::encode_wav_f32(&b.frames, b.sample_rate_hz.round() as u32).ok()
}

/// The saved entry of one sample.
fn saved_sample(id: &SampleId, b: &SampleBuffer) -> Option<SavedSample> {
    let packed = miniz_oxide::deflate::compress_to_vec(&sample_wav(b)?, DEFLATE_LEVEL);
    Some(SavedSample {
        id: id.clone(),
        wav: base64::engine::general_purpose::STANDARD.encode(packed),
    })
}

/// The sample a saved `wav` holds; `None` unless it is a mono WAV.
fn load_wav(wav: &str) -> Option<SampleBuffer> {
    let packed = base64::engine::general_purpose::STANDARD.decode(wav).ok()?;
    let bytes =
        miniz_oxide::inflate::decompress_to_vec_with_limit(&packed, MAX_SAVED_WAV_BYTES).ok()?;
    let decoded = audio::decode(&bytes).ok()?;
    (decoded.info.channels == 1).then(|| SampleBuffer {
        frames: decoded.samples.into_boxed_slice(),
        sample_rate_hz: decoded.info.sample_rate_hz as f32,
    })
}

/// Encodes samples as the saved JSON (canonical: the same samples always give the same text).
pub fn encode_samples<'a>(
    samples: impl IntoIterator<Item = (&'a SampleId, &'a SampleBuffer)>,
) -> String {
    let saved: Vec<SavedSample> = samples
        .into_iter()
        .filter_map(|(id, b)| saved_sample(id, b))
        .collect();
    serde_json::to_string(&saved).unwrap_or_else(|_| "[]".into())
}

/// Decodes the saved JSON (either format); entries that do not decode (or have no usable rate)
/// are skipped.
pub fn decode_samples(json: &str) -> Vec<(SampleId, SampleBuffer)> {
    let Ok(saved) = serde_json::from_str::<Vec<SavedEntry>>(json) else {
        return Vec::new();
    };
    saved
        .into_iter()
        .filter_map(|entry| match entry {
            SavedEntry::Wav(s) => Some((s.id, load_wav(&s.wav)?)),
            SavedEntry::V1(s) => Some((s.id.clone(), s.load()?)),
        })
        .filter(|(_, b)| b.sample_rate_hz.is_finite() && b.sample_rate_hz > 0.0)
        .collect()
}

/// The format states were saved in before samples were saved as WAV files: the frames' f32 bit
/// patterns as residuals against a linear prediction, computed on the integers of the bit
/// patterns (so every value round-trips exactly), split into four byte planes (low bytes
/// first), deflated and base64-encoded. Only decoded now.
mod v1 {
    use base64::Engine as _;
    use keyboardia_core::SampleId;
    use keyboardia_engine::SampleBuffer;
    use serde::Deserialize;

    /// One sample saved in this format.
    #[derive(Deserialize, Debug, Clone, PartialEq)]
    pub struct SavedFrames {
        /// The sample's id.
        pub id: SampleId,
        /// Sample rate in Hz.
        pub rate: f32,
        /// Number of frames (mono).
        pub frames: usize,
        /// The frames, encoded as the module doc says.
        pub data: String,
    }

    impl SavedFrames {
        /// The sample; `None` if `data` is not exactly `frames` frames.
        pub fn load(&self) -> Option<SampleBuffer> {
            Some(SampleBuffer {
                frames: decode_frames(&self.data, self.frames)?,
                sample_rate_hz: self.rate,
            })
        }
    }

    /// The frame predicted from the two before it (linear extrapolation, in f32: the encoder
    /// computed exactly the same value).
    fn predict(a: f32, b: f32) -> f32 {
        2.0 * a - b
    }

    /// A float's bit pattern as an integer in the floats' order (`-0.0` and `0.0` neighbours).
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

    /// Decodes `frames` frames from `data`; `None` if it is not exactly that.
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

    /// The encoder of this format, kept for the tests: what states saved before held.
    #[cfg(test)]
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
        let packed = miniz_oxide::deflate::compress_to_vec(&planes, super::DEFLATE_LEVEL);
        base64::engine::general_purpose::STANDARD.encode(packed)
    }
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
            .filter_map(|(id, b)| {
                let saved = match cache.iter().find(|(c, s)| Arc::ptr_eq(c, &b) && s.id == id) {
                    Some((_, s)) => s.clone(),
                    None => saved_sample(&id, &b)?,
                };
                Some((b, saved))
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

    /// Frames with values a lossy, clamping or float-parsing codec would change.
    fn extreme_values() -> Vec<f32> {
        let mut frames = odd_values();
        frames.extend([
            f32::from_bits(0x7fc0_1234),
            f32::from_bits(0xffbf_ffff),
            f32::INFINITY,
            f32::NEG_INFINITY,
            f32::MAX,
            f32::MIN,
        ]);
        frames
    }

    /// Decodes the one sample `json` holds.
    fn decode_one(json: &str) -> SampleBuffer {
        let mut samples = decode_samples(json);
        assert_eq!(samples.len(), 1, "{json}");
        samples.remove(0).1
    }

    #[test]
    fn samples_round_trip_bit_exact_including_nan_payloads_and_infinities() {
        let id: SampleId = "rec-odd".parse().unwrap();
        let frames = extreme_values();
        let buffer = SampleBuffer {
            frames: frames.clone().into(),
            sample_rate_hz: 44_100.0,
        };
        let json = encode_samples([(&id, &buffer)]);
        let back = decode_one(&json);
        assert_eq!(bits_of(&back.frames), bits_of(&frames));
        assert_eq!(back.sample_rate_hz.to_bits(), 44_100.0f32.to_bits());
        let empty = SampleBuffer {
            frames: Box::new([]),
            sample_rate_hz: 48_000.0,
        };
        assert_eq!(decode_one(&encode_samples([(&id, &empty)])).frames.len(), 0);
    }

    #[test]
    fn v1_frames_round_trip_bit_exact_and_damage_is_refused() {
        let frames = extreme_values();
        let data = v1::encode_frames(&frames);
        let back = v1::decode_frames(&data, frames.len()).unwrap();
        assert_eq!(bits_of(&back), bits_of(&frames));
        assert_eq!(
            v1::decode_frames(&v1::encode_frames(&[]), 0).unwrap().len(),
            0
        );
        // A wrong frame count or damaged data is refused, never misread.
        assert!(v1::decode_frames(&data, frames.len() + 1).is_none());
        assert!(v1::decode_frames(&data, frames.len() - 1).is_none());
        assert!(v1::decode_frames("not base64!", frames.len()).is_none());
        // A v1 entry decodes through the same door as a WAV entry.
        let json = format!(
            r#"[{{"id":"rec-v1","rate":48000.0,"frames":{},"data":"{data}"}}]"#,
            frames.len()
        );
        assert_eq!(bits_of(&decode_one(&json).frames), bits_of(&frames));
    }

    #[test]
    fn a_take_shared_live_is_saved_as_the_file_every_player_downloaded() {
        // What `takes::take_sound` does in a live session: the sampler holds what the upload
        // decodes to, and the track plays the upload's content id.
        let wav = audio::encode_wav_f32(&take_frames(48_000, None), 48_000).unwrap();
        let id = SampleId::for_content(&wav);
        let decoded = audio::decode_wav(&wav).unwrap();
        let buffer = SampleBuffer {
            frames: decoded.frames.into(),
            sample_rate_hz: decoded.sample_rate_hz as f32,
        };
        let saved: Vec<SavedSample> =
            serde_json::from_str(&encode_samples([(&id, &buffer)])).unwrap();
        let packed = base64::engine::general_purpose::STANDARD
            .decode(&saved[0].wav)
            .unwrap();
        let file = miniz_oxide::inflate::decompress_to_vec(&packed).unwrap();
        assert!(file == wav, "the saved file is the uploaded one");
        assert_eq!(SampleId::for_content(&file), id);
    }

    /// White noise at full f32 precision (the worst case for any lossless codec).
    fn noise_frames(len: usize) -> Vec<f32> {
        let mut seed = 0x9e37_79b9u32;
        (0..len)
            .map(|_| {
                seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                (seed >> 9) as f32 / (1u32 << 23) as f32 - 0.5
            })
            .collect()
    }

    /// The size table of the saved format (`cargo test -p keyboardia size_table -- --nocapture`):
    /// bytes in the saved JSON for a 5 s, 48 kHz mono take. FLAC (flacenc 0.5, checked with
    /// claxon, outside this crate) saves 310 012 and 630 000 bytes for the two integer takes
    /// but holds integers of at most 24 bits, so no full-precision f32 take.
    #[test]
    fn size_table() {
        let id: SampleId = "rec-size".parse().unwrap();
        let raw = audio::encode_wav_f32(&[0.0; 5 * 48_000], 48_000)
            .unwrap()
            .len();
        println!("| 5 s, 48 kHz mono | raw f32 WAV | v1: planes, deflate, base64 | WAV, deflate, base64 |");
        println!("|---|---|---|---|");
        for (what, frames) in [
            ("16-bit take", take_frames(5 * 48_000, Some(16))),
            ("24-bit noisy take", take_frames(5 * 48_000, Some(24))),
            ("f32 take (tone + noise)", take_frames(5 * 48_000, None)),
            ("f32 noise", noise_frames(5 * 48_000)),
        ] {
            let buffer = SampleBuffer {
                frames: frames.clone().into(),
                sample_rate_hz: 48_000.0,
            };
            let saved = encode_samples([(&id, &buffer)]);
            let v1 = v1::encode_frames(&frames).len();
            println!("| {what} | {raw} | {v1} | {} |", saved.len());
            assert_eq!(bits_of(&decode_one(&saved).frames), bits_of(&frames));
            if what == "16-bit take" {
                assert!(saved.len() < raw * 2 / 3, "{what}: compressed");
            }
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
