//! WAV files on `hound`: decoding to floats and encoding floats, with no panic on any input.
//!
//! Integer samples decode to `value / 2^(bits-1)` (so `[-1, 1)`), float samples decode to their
//! exact bits. Encoding writes with `hound` too, so the bytes of a given sound never change
//! (a take's content id is the hash of these bytes).

use std::io::Cursor;

/// The largest data chunk written: the RIFF length field (u32) also counts the header, which
/// `hound` keeps well under this margin.
const MAX_DATA_BYTES: usize = u32::MAX as usize - 1024;

/// How the samples of a WAV file are stored (the ones this module reads).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SampleEncoding {
    /// Two's-complement integers (unsigned for 8 bits) of 8, 16, 24 or 32 valid bits.
    Int {
        /// Valid bits per sample.
        bits: u16,
    },
    /// 32-bit IEEE floats.
    Float32,
}

/// The facts of a WAV file that decoding and the sample limits care about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WavInfo {
    /// Interleaved channels per frame (at least 1).
    pub channels: u16,
    /// Frames per second (at least 1).
    pub sample_rate_hz: u32,
    /// How each sample is stored.
    pub encoding: SampleEncoding,
    /// Sample frames the data chunk declares (all of them are present once decoded).
    pub frames: u32,
}

impl WavInfo {
    /// How long the file plays, in milliseconds.
    pub fn duration_ms(&self) -> f64 {
        self.frames as f64 * 1000.0 / self.sample_rate_hz as f64
    }
}

/// A decoded WAV file.
#[derive(Clone, Debug, PartialEq)]
pub struct Wav {
    /// The file's format.
    pub info: WavInfo,
    /// Every sample, channels interleaved: integers scaled to `[-1, 1)`, floats as stored.
    pub samples: Vec<f32>,
}

/// A sound as a sampler plays it: mono, clamped to `[-1, 1]`.
#[derive(Clone, Debug, PartialEq)]
pub struct DecodedSample {
    /// Frames in `[-1, 1]` (a NaN stays NaN).
    pub frames: Vec<f32>,
    /// Frames per second.
    pub sample_rate_hz: u32,
}

impl Wav {
    /// Mixed down to mono (the mean of the channels) and clamped to `[-1, 1]`.
    pub fn into_mono(self) -> DecodedSample {
        let channels = usize::from(self.info.channels.max(1));
        let frames = self
            .samples
            .chunks_exact(channels)
            .map(|f| (f.iter().sum::<f32>() / channels as f32).clamp(-1.0, 1.0))
            .collect();
        DecodedSample {
            frames,
            sample_rate_hz: self.info.sample_rate_hz,
        }
    }
}

/// Why bytes are not a WAV file this module reads, or frames cannot be written as one.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum AudioError {
    /// Not a RIFF/WAVE file, or its header is inconsistent (`hound`'s reason).
    #[error("not a playable WAV file: {0}")]
    Malformed(&'static str),
    /// The file ends before the data its header declares.
    #[error("not a playable WAV file: it ends inside its data")]
    Truncated,
    /// A format other than PCM integers of 8, 16, 24 or 32 bits or 32-bit floats.
    #[error(
        "not a playable WAV file: only PCM integers of 8, 16, 24 or 32 bits and 32-bit floats are read"
    )]
    Unsupported,
    /// A sample rate of 0 Hz.
    #[error("not a playable WAV file: a sample rate of 0 Hz")]
    NoSampleRate,
    /// A sample rate whose bytes per second overflow the header's 32-bit field (what `hound`
    /// would compute with an overflowing multiplication).
    #[error("a sample rate of {0} Hz does not fit a WAV header")]
    RateTooHigh(u32),
    /// Frames of no channel.
    #[error("a WAV file has at least one channel")]
    NoChannels,
    /// Interleaved samples that do not fill whole frames.
    #[error("{samples} samples do not fill whole frames of {channels} channels")]
    PartialFrame {
        /// Interleaved samples given.
        samples: usize,
        /// Channels per frame.
        channels: u16,
    },
    /// More samples than a WAV file holds.
    #[error("{samples} samples do not fit in a WAV file (4 GiB of data at most)")]
    TooLarge {
        /// Interleaved samples given.
        samples: usize,
    },
}

impl From<hound::Error> for AudioError {
    fn from(e: hound::Error) -> Self {
        match e {
            // Reading from memory fails only at its end; writing to memory does not fail.
            hound::Error::IoError(_) => AudioError::Truncated,
            hound::Error::FormatError(why) => AudioError::Malformed(why),
            _ => AudioError::Unsupported,
        }
    }
}

/// Reads the header; the reader stands at the first sample.
fn open(bytes: &[u8]) -> Result<(hound::WavReader<&[u8]>, WavInfo), AudioError> {
    let reader = hound::WavReader::new(bytes)?;
    let spec = reader.spec();
    let encoding = match (spec.sample_format, spec.bits_per_sample) {
        (hound::SampleFormat::Float, 32) => SampleEncoding::Float32,
        (hound::SampleFormat::Int, bits @ (8 | 16 | 24 | 32)) => SampleEncoding::Int { bits },
        _ => return Err(AudioError::Unsupported),
    };
    if spec.sample_rate == 0 {
        return Err(AudioError::NoSampleRate);
    }
    let info = WavInfo {
        channels: spec.channels,
        sample_rate_hz: spec.sample_rate,
        encoding,
        frames: reader.duration(),
    };
    Ok((reader, info))
}

/// Calls `each` with every sample as a float (see the module doc), in file order.
fn for_each_sample(
    reader: &mut hound::WavReader<&[u8]>,
    encoding: SampleEncoding,
    mut each: impl FnMut(f32),
) -> Result<(), AudioError> {
    match encoding {
        SampleEncoding::Float32 => {
            for s in reader.samples::<f32>() {
                each(s?);
            }
        }
        SampleEncoding::Int { bits } => {
            let scale = 1.0 / (1u64 << (bits - 1)) as f32;
            for s in reader.samples::<i32>() {
                each(s? as f32 * scale);
            }
        }
    }
    Ok(())
}

/// Reads a WAV file's header and checks that all its samples are there and readable, without
/// keeping them (what an upload check needs).
pub fn read_info(bytes: &[u8]) -> Result<WavInfo, AudioError> {
    let (mut reader, info) = open(bytes)?;
    for_each_sample(&mut reader, info.encoding, |_| {})?;
    Ok(info)
}

/// Decodes a WAV file (8/16/24/32-bit integer or 32-bit float, any channel count).
pub fn decode(bytes: &[u8]) -> Result<Wav, AudioError> {
    let (mut reader, info) = open(bytes)?;
    // Every sample takes at least a byte: a lying header cannot make this allocate more.
    let mut samples = Vec::with_capacity((reader.len() as usize).min(bytes.len()));
    for_each_sample(&mut reader, info.encoding, |s| samples.push(s))?;
    Ok(Wav { info, samples })
}

/// Decodes a WAV file to what a sampler plays: mono, in `[-1, 1]` (see [`Wav::into_mono`]).
pub fn decode_wav(bytes: &[u8]) -> Result<DecodedSample, AudioError> {
    decode(bytes).map(Wav::into_mono)
}

/// Writes `samples` (interleaved, `count` of them) with `spec`.
fn encode<S: hound::Sample>(
    spec: hound::WavSpec,
    count: usize,
    samples: impl IntoIterator<Item = S>,
) -> Result<Vec<u8>, AudioError> {
    if spec.channels == 0 {
        return Err(AudioError::NoChannels);
    }
    if spec.sample_rate == 0 {
        return Err(AudioError::NoSampleRate);
    }
    let frame_bytes = u32::from(spec.channels) * u32::from(spec.bits_per_sample / 8);
    if spec.sample_rate.checked_mul(frame_bytes).is_none() {
        return Err(AudioError::RateTooHigh(spec.sample_rate));
    }
    if !count.is_multiple_of(usize::from(spec.channels)) {
        return Err(AudioError::PartialFrame {
            samples: count,
            channels: spec.channels,
        });
    }
    let data_bytes = count
        .checked_mul(usize::from(spec.bits_per_sample / 8))
        .filter(|&n| n <= MAX_DATA_BYTES)
        .ok_or(AudioError::TooLarge { samples: count })?;
    let mut out = Cursor::new(Vec::with_capacity(data_bytes + 80));
    let mut writer = hound::WavWriter::new(&mut out, spec)?;
    for s in samples {
        writer.write_sample(s)?;
    }
    writer.finalize()?;
    Ok(out.into_inner())
}

/// The spec of a file of `channels` channels of `bits`-bit integers or 32-bit floats.
fn spec(channels: u16, sample_rate_hz: u32, encoding: SampleEncoding) -> hound::WavSpec {
    let (bits_per_sample, sample_format) = match encoding {
        SampleEncoding::Int { bits } => (bits, hound::SampleFormat::Int),
        SampleEncoding::Float32 => (32, hound::SampleFormat::Float),
    };
    hound::WavSpec {
        channels,
        sample_rate: sample_rate_hz,
        bits_per_sample,
        sample_format,
    }
}

/// Encodes mono frames as a 32-bit float WAV file: lossless, so whoever decodes it gets exactly
/// these frames' bits ([`decode_wav`] then clamps those outside `[-1, 1]`).
pub fn encode_wav_f32(frames: &[f32], sample_rate_hz: u32) -> Result<Vec<u8>, AudioError> {
    let spec = spec(1, sample_rate_hz, SampleEncoding::Float32);
    encode(spec, frames.len(), frames.iter().copied())
}

/// Encodes mono frames as a 16-bit WAV file (rounded, clamped to `[-1, 1]`): half the size of
/// [`encode_wav_f32`], not lossless.
pub fn encode_wav_i16(frames: &[f32], sample_rate_hz: u32) -> Result<Vec<u8>, AudioError> {
    let spec = spec(1, sample_rate_hz, SampleEncoding::Int { bits: 16 });
    let quantized = frames
        .iter()
        .map(|f| (f.clamp(-1.0, 1.0) * i16::MAX as f32).round() as i16);
    encode(spec, frames.len(), quantized)
}

/// Encodes a stereo pair as a 32-bit float WAV file (as long as the shorter channel).
pub fn encode_wav_stereo_f32(
    left: &[f32],
    right: &[f32],
    sample_rate_hz: u32,
) -> Result<Vec<u8>, AudioError> {
    let spec = spec(2, sample_rate_hz, SampleEncoding::Float32);
    let frames = left.len().min(right.len());
    let count = frames.checked_mul(2).ok_or(AudioError::TooLarge {
        samples: usize::MAX,
    })?;
    let interleaved = left.iter().zip(right).flat_map(|(l, r)| [*l, *r]);
    encode(spec, count, interleaved)
}

/// Encodes interleaved 16-bit samples of `channels` channels as they are.
pub fn encode_wav_pcm16(
    sample_rate_hz: u32,
    channels: u16,
    interleaved: &[i16],
) -> Result<Vec<u8>, AudioError> {
    let spec = spec(channels, sample_rate_hz, SampleEncoding::Int { bits: 16 });
    encode(spec, interleaved.len(), interleaved.iter().copied())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audio::riff::{fmt, riff};
    use crate::model::SampleId;

    fn bits_of(x: &[f32]) -> Vec<u32> {
        x.iter().map(|f| f.to_bits()).collect()
    }

    #[test]
    fn sixteen_bit_round_trip_and_info() {
        let frames: Vec<f32> = (0..1000).map(|i| (i as f32 * 0.01).sin() * 0.8).collect();
        let wav = encode_wav_i16(&frames, 44_100).unwrap();
        let info = read_info(&wav).unwrap();
        assert_eq!(
            info,
            WavInfo {
                channels: 1,
                sample_rate_hz: 44_100,
                encoding: SampleEncoding::Int { bits: 16 },
                frames: 1000,
            }
        );
        let back = decode_wav(&wav).unwrap();
        assert_eq!(back.sample_rate_hz, 44_100);
        assert_eq!(back.frames.len(), 1000);
        assert!(back
            .frames
            .iter()
            .zip(&frames)
            .all(|(a, b)| (a - b).abs() < 1e-4));
    }

    #[test]
    fn pcm16_reads_duration_and_mixes_down() {
        let wav = encode_wav_pcm16(44_100, 2, &vec![0i16; 44_100 * 2]).unwrap();
        let info = read_info(&wav).unwrap();
        assert_eq!((info.channels, info.frames), (2, 44_100));
        assert_eq!(info.duration_ms(), 1000.0);
        // Opposite channels mix to silence; integers scale by 2^-15.
        let wav = encode_wav_pcm16(8_000, 2, &[16_384, -16_384, -32_768, -32_768]).unwrap();
        assert_eq!(decode_wav(&wav).unwrap().frames, vec![0.0, -1.0]);
        assert_eq!(decode(&wav).unwrap().samples, vec![0.5, -0.5, -1.0, -1.0]);
    }

    #[test]
    fn float_wavs_round_trip_bit_exactly_and_mixdown_clamps() {
        let mut frames: Vec<f32> = (0..1000)
            .map(|i| (i as f32 * 0.013).sin() * 0.9 + 1e-7 * i as f32)
            .collect();
        frames.extend([-0.0, f32::from_bits(1), f32::MIN_POSITIVE, -1.0]);
        let wav = encode_wav_f32(&frames, 96_000).unwrap();
        let back = decode_wav(&wav).unwrap();
        assert_eq!(back.sample_rate_hz, 96_000);
        assert_eq!(bits_of(&back.frames), bits_of(&frames));
        // `decode` keeps every bit, even outside [-1, 1]; the sampler's mono clamps.
        let odd = [
            f32::INFINITY,
            -3.5,
            f32::from_bits(0x7fc0_1234),
            f32::MAX,
            -0.0,
        ];
        let wav = encode_wav_f32(&odd, 48_000).unwrap();
        assert_eq!(bits_of(&decode(&wav).unwrap().samples), bits_of(&odd));
        let mono = decode_wav(&wav).unwrap().frames;
        assert_eq!(&mono[..2], &[1.0, -1.0]);
        assert!(mono[2].is_nan());
        assert_eq!(mono[3], 1.0);
        // Stereo float with opposite channels mixes to silence.
        let wav = encode_wav_stereo_f32(&[0.5; 10], &[-0.5; 12], 48_000).unwrap();
        let d = decode(&wav).unwrap();
        assert_eq!((d.info.channels, d.info.frames), (2, 10));
        assert_eq!(d.into_mono().frames, vec![0.0; 10]);
    }

    #[test]
    fn encoded_bytes_are_pinned() {
        // The content id of a shared take is the hash of these bytes: they must not change
        // from build to build (pinned from the build before this module).
        let wav = encode_wav_f32(&[0.0, 0.5, -0.25, 1.0], 48_000).unwrap();
        assert_eq!(SampleId::for_content(&wav).as_str(), PINNED_F32_ID);
        let wav = encode_wav_i16(&[0.0, 0.5, -0.25, 1.0], 44_100).unwrap();
        assert_eq!(SampleId::for_content(&wav).as_str(), PINNED_I16_ID);
    }

    const PINNED_F32_ID: &str = "37b0df59210239b313ace2b4d0ee81c2";
    const PINNED_I16_ID: &str = "c588779ef6e9846e1d1111fcf2c6f8a6";

    #[test]
    fn every_container_hound_reads_decodes() {
        // 8-bit unsigned, 24-bit packed, 32-bit integers.
        let spec8 = spec(1, 8_000, SampleEncoding::Int { bits: 8 });
        let wav = encode(spec8, 3, [-128i8, 0, 64]).unwrap();
        assert_eq!(decode(&wav).unwrap().samples, vec![-1.0, 0.0, 0.5]);
        let spec24 = spec(1, 8_000, SampleEncoding::Int { bits: 24 });
        let wav = encode(spec24, 2, [-(1i32 << 23), 1 << 22]).unwrap();
        assert_eq!(decode(&wav).unwrap().samples, vec![-1.0, 0.5]);
        let spec32 = spec(1, 8_000, SampleEncoding::Int { bits: 32 });
        let wav = encode(spec32, 1, [i32::MIN]).unwrap();
        assert_eq!(decode(&wav).unwrap().samples, vec![-1.0]);
    }

    #[test]
    fn what_is_not_a_readable_wav_is_refused() {
        assert!(matches!(decode(b""), Err(AudioError::Truncated)));
        assert!(matches!(
            decode(b"ID3\x04\0\0\0\0\0\0not a wav at all"),
            Err(AudioError::Malformed(_))
        ));
        assert!(decode(b"RIFF....nonsense").is_err());
        // ADPCM, 64-bit floats, 12-bit integers.
        let adpcm = riff(&[(b"fmt ", 16, &fmt(2, 1, 8_000, 2, 16)), (b"data", 0, &[])]);
        assert_eq!(decode(&adpcm), Err(AudioError::Unsupported));
        let f64s = riff(&[(b"fmt ", 16, &fmt(3, 1, 8_000, 8, 64)), (b"data", 0, &[])]);
        assert!(decode(&f64s).is_err());
        let twelve = riff(&[(b"fmt ", 16, &fmt(1, 1, 8_000, 2, 12)), (b"data", 0, &[])]);
        assert!(decode(&twelve).is_err());
        // No channels, no block, no rate, data before fmt.
        let mono = fmt(1, 1, 8_000, 2, 16);
        for bad in [
            riff(&[
                (b"fmt ", 16, &fmt(1, 0, 8_000, 2, 16)),
                (b"data", 2, &[0, 0]),
            ]),
            riff(&[
                (b"fmt ", 16, &fmt(1, 1, 8_000, 0, 16)),
                (b"data", 2, &[0, 0]),
            ]),
            riff(&[(b"fmt ", 16, &fmt(1, 1, 0, 2, 16)), (b"data", 2, &[0, 0])]),
            riff(&[(b"data", 2, &[0, 0]), (b"fmt ", 16, &mono)]),
            riff(&[(b"fmt ", 16, &mono)]),
        ] {
            assert!(decode(&bad).is_err(), "{bad:?}");
            assert!(read_info(&bad).is_err(), "{bad:?}");
        }
        // Truncated data, and data that does not fill whole frames.
        let mut short = encode_wav_pcm16(48_000, 1, &[1, 2, 3, 4]).unwrap();
        short.truncate(short.len() - 2);
        assert_eq!(decode(&short), Err(AudioError::Truncated));
        assert_eq!(read_info(&short), Err(AudioError::Truncated));
        let odd = riff(&[
            (b"fmt ", 16, &fmt(1, 2, 8_000, 4, 16)),
            (b"data", 2, &[0, 0]),
        ]);
        assert!(decode(&odd).is_err());
    }

    #[test]
    fn chunk_sizes_near_four_gib_are_refused_without_a_panic_or_a_huge_allocation() {
        let mono = fmt(1, 1, 8_000, 2, 16);
        for size in [0xFFFF_FFF0, 0xFFFF_FFFF, 0x8000_0000] {
            // An unknown chunk (LIST) claiming nearly 4 GiB, before and after fmt.
            let list = riff(&[
                (b"fmt ", 16, &mono),
                (b"LIST", size, b"INFOISFT"),
                (b"data", 2, &[0, 0]),
            ]);
            assert_eq!(decode(&list), Err(AudioError::Truncated));
            let list_first = riff(&[(b"LIST", size, b"x"), (b"fmt ", 16, &mono)]);
            assert_eq!(read_info(&list_first), Err(AudioError::Truncated));
            // A data chunk claiming nearly 4 GiB over 4 bytes.
            let data = riff(&[(b"fmt ", 16, &mono), (b"data", size & !1, &[1, 2, 3, 4])]);
            assert_eq!(decode(&data), Err(AudioError::Truncated));
            assert_eq!(read_info(&data), Err(AudioError::Truncated));
            // A fmt chunk claiming nearly 4 GiB.
            let big_fmt = riff(&[(b"fmt ", size, &mono), (b"data", 2, &[0, 0])]);
            assert!(decode(&big_fmt).is_err());
        }
    }

    #[test]
    fn encoding_refuses_what_no_wav_holds() {
        assert_eq!(
            encode_wav_pcm16(8_000, 0, &[1]),
            Err(AudioError::NoChannels)
        );
        assert_eq!(
            encode_wav_pcm16(8_000, 2, &[1, 2, 3]),
            Err(AudioError::PartialFrame {
                samples: 3,
                channels: 2
            })
        );
        assert_eq!(encode_wav_f32(&[0.0], 0), Err(AudioError::NoSampleRate));
        // Found by the `wav` fuzz target: a file at 1,073,786,948 Hz decodes, and encoding it
        // again overflowed hound's bytes-per-second product (a panic with overflow checks).
        assert_eq!(
            encode_wav_f32(&[0.0], 0x4000_ac44),
            Err(AudioError::RateTooHigh(0x4000_ac44))
        );
        assert!(encode_wav_f32(&[0.0], u32::MAX / 4).is_ok());
        // The size check comes before anything is written (no 4 GiB buffer is made).
        let spec = spec(1, 8_000, SampleEncoding::Float32);
        assert_eq!(
            encode(spec, usize::MAX / 2, std::iter::empty::<f32>()),
            Err(AudioError::TooLarge {
                samples: usize::MAX / 2
            })
        );
        assert_eq!(
            encode(spec, MAX_DATA_BYTES / 4 + 1, std::iter::empty::<f32>()),
            Err(AudioError::TooLarge {
                samples: MAX_DATA_BYTES / 4 + 1
            })
        );
    }

    proptest::proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..256)) {
            let _ = decode(&bytes);
            let mut riff = b"RIFF\0\0\0\0WAVE".to_vec();
            riff.extend_from_slice(&bytes);
            let _ = decode(&riff);
            let _ = read_info(&riff);
        }

        #[test]
        fn damaged_headers_never_panic(
            at in 0usize..80,
            value in proptest::num::u8::ANY,
            stereo in proptest::bool::ANY,
        ) {
            let mut wav = if stereo {
                encode_wav_stereo_f32(&[0.25; 4], &[0.5; 4], 48_000).unwrap()
            } else {
                encode_wav_pcm16(8_000, 1, &[1, 2, 3, 4]).unwrap()
            };
            let at = at % wav.len();
            wav[at] = value;
            let _ = decode(&wav);
            let _ = read_info(&wav);
        }

        #[test]
        fn every_truncation_of_a_wav_is_refused_or_complete(
            frames in 0usize..200,
            cut in 0usize..500,
        ) {
            let wav = encode_wav_pcm16(8_000, 1, &vec![7; frames]).unwrap();
            let cut = cut.min(wav.len());
            match decode(&wav[..cut]) {
                Ok(w) => proptest::prop_assert_eq!(w.samples.len(), frames),
                Err(e) => proptest::prop_assert!(cut < wav.len(), "{}", e),
            }
        }
    }
}
