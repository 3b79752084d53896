//! Shared samples: WAV encoding for uploads and decoding of downloads, done on the sync thread,
//! never on the audio thread.

use std::io::Cursor;

/// A decoded sample, mixed down to mono.
#[derive(Clone, Debug, PartialEq)]
pub struct DecodedSample {
    /// Frames in `[-1, 1]`.
    pub frames: Vec<f32>,
    pub sample_rate_hz: u32,
}

/// Why bytes are not a sample this build can play.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[error("not a playable WAV file: {0}")]
pub struct SampleError(pub String);

/// Decodes a WAV file (8/16/24/32-bit integer or 32-bit float, any channel count) to mono.
pub fn decode_wav(bytes: &[u8]) -> Result<DecodedSample, SampleError> {
    let err = |e: hound::Error| SampleError(e.to_string());
    let mut reader = hound::WavReader::new(Cursor::new(bytes)).map_err(err)?;
    let spec = reader.spec();
    let channels = spec.channels.max(1) as usize;
    let interleaved: Vec<f32> = match spec.sample_format {
        hound::SampleFormat::Float => reader
            .samples::<f32>()
            .collect::<Result<_, _>>()
            .map_err(err)?,
        hound::SampleFormat::Int => {
            let scale = 1.0 / (1u64 << (spec.bits_per_sample.clamp(1, 32) - 1)) as f32;
            reader
                .samples::<i32>()
                .map(|s| s.map(|v| v as f32 * scale))
                .collect::<Result<_, _>>()
                .map_err(err)?
        }
    };
    let frames = interleaved
        .chunks_exact(channels)
        .map(|f| (f.iter().sum::<f32>() / channels as f32).clamp(-1.0, 1.0))
        .collect();
    Ok(DecodedSample {
        frames,
        sample_rate_hz: spec.sample_rate,
    })
}

/// Encodes mono frames as a 16-bit WAV file (what the server accepts and stores).
pub fn encode_wav(frames: &[f32], sample_rate_hz: u32) -> Vec<u8> {
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: sample_rate_hz,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut out = Cursor::new(Vec::with_capacity(44 + frames.len() * 2));
    // Writing to memory cannot fail.
    if let Ok(mut w) = hound::WavWriter::new(&mut out, spec) {
        for f in frames {
            let _ = w.write_sample((f.clamp(-1.0, 1.0) * i16::MAX as f32).round() as i16);
        }
        let _ = w.finalize();
    }
    out.into_inner()
}

/// Encodes mono frames as a 32-bit float WAV file: lossless, so every player who decodes it
/// plays exactly these frames (those in `[-1, 1]`; [`decode_wav`] clamps the rest).
pub fn encode_wav_f32(frames: &[f32], sample_rate_hz: u32) -> Vec<u8> {
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: sample_rate_hz,
        bits_per_sample: 32,
        sample_format: hound::SampleFormat::Float,
    };
    let mut out = Cursor::new(Vec::with_capacity(58 + frames.len() * 4));
    // Writing to memory cannot fail.
    if let Ok(mut w) = hound::WavWriter::new(&mut out, spec) {
        for f in frames {
            let _ = w.write_sample(*f);
        }
        let _ = w.finalize();
    }
    out.into_inner()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_mixdown() {
        let frames: Vec<f32> = (0..1000).map(|i| (i as f32 * 0.01).sin() * 0.8).collect();
        let wav = encode_wav(&frames, 44_100);
        let back = decode_wav(&wav).unwrap();
        assert_eq!(back.sample_rate_hz, 44_100);
        assert_eq!(back.frames.len(), 1000);
        assert!(back
            .frames
            .iter()
            .zip(&frames)
            .all(|(a, b)| (a - b).abs() < 1e-4));
        // Stereo float with opposite channels mixes to silence.
        let mut cur = Cursor::new(Vec::new());
        let spec = hound::WavSpec {
            channels: 2,
            sample_rate: 48_000,
            bits_per_sample: 32,
            sample_format: hound::SampleFormat::Float,
        };
        let mut w = hound::WavWriter::new(&mut cur, spec).unwrap();
        for _ in 0..10 {
            w.write_sample(0.5f32).unwrap();
            w.write_sample(-0.5f32).unwrap();
        }
        w.finalize().unwrap();
        let d = decode_wav(&cur.into_inner()).unwrap();
        assert_eq!(d.frames, vec![0.0; 10]);
        assert!(decode_wav(b"RIFF....nonsense").is_err());
    }

    #[test]
    fn float_wavs_round_trip_bit_exactly() {
        let frames: Vec<f32> = (0..1000)
            .map(|i| (i as f32 * 0.013).sin() * 0.9 + 1e-7 * i as f32)
            .collect();
        let back = decode_wav(&encode_wav_f32(&frames, 96_000)).unwrap();
        assert_eq!(back.sample_rate_hz, 96_000);
        assert_eq!(back.frames, frames);
    }
}
