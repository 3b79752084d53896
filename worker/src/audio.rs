//! What the sample upload accepts: a WAV file (PCM or float) no longer than
//! [`MAX_SAMPLE_MS`](crate::limits::MAX_SAMPLE_MS). The header is parsed here, so a file whose
//! content does not match its declared type is refused, whatever its `Content-Type` says.

/// Content types the upload accepts (all name WAV).
pub const WAV_CONTENT_TYPES: &[&str] =
    &["audio/wav", "audio/wave", "audio/x-wav", "audio/vnd.wave"];

/// The content type samples are stored and served with.
pub const WAV_CONTENT_TYPE: &str = "audio/wav";

/// The facts of a WAV file that the limits care about.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct WavInfo {
    pub channels: u16,
    pub sample_rate: u32,
    pub bits_per_sample: u16,
    /// Sample frames in the data chunk.
    pub frames: u64,
}

impl WavInfo {
    pub fn duration_ms(&self) -> f64 {
        self.frames as f64 * 1000.0 / self.sample_rate as f64
    }
}

/// Is `content_type` (a header value, maybe with parameters) one we accept?
pub fn is_wav_content_type(content_type: &str) -> bool {
    let mime = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    WAV_CONTENT_TYPES.contains(&mime.as_str())
}

fn u16_at(b: &[u8], i: usize) -> Option<u16> {
    Some(u16::from_le_bytes(b.get(i..i + 2)?.try_into().ok()?))
}

fn u32_at(b: &[u8], i: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(i..i + 4)?.try_into().ok()?))
}

/// Parses a RIFF/WAVE header. Errors say what is wrong, for the error reply.
pub fn parse_wav(bytes: &[u8]) -> Result<WavInfo, String> {
    if bytes.len() < 12 || &bytes[0..4] != b"RIFF" || &bytes[8..12] != b"WAVE" {
        return Err("not a RIFF/WAVE file".into());
    }
    let mut pos = 12;
    let mut fmt: Option<(u16, u16, u32, u16, u16)> = None;
    while pos + 8 <= bytes.len() {
        let id = &bytes[pos..pos + 4];
        let size = u32_at(bytes, pos + 4).ok_or("truncated chunk header")? as usize;
        let body = pos + 8;
        if id == b"fmt " {
            if size < 16 {
                return Err("fmt chunk too short".into());
            }
            let get = |off| u16_at(bytes, body + off).ok_or("truncated fmt chunk");
            let format = get(0)?;
            let channels = get(2)?;
            let rate = u32_at(bytes, body + 4).ok_or("truncated fmt chunk")?;
            let block_align = get(12)?;
            let bits = get(14)?;
            fmt = Some((format, channels, rate, block_align, bits));
        } else if id == b"data" {
            let (format, channels, sample_rate, block_align, bits) =
                fmt.ok_or("data chunk before fmt chunk")?;
            if !matches!(format, 1 | 3 | 0xFFFE) {
                return Err(format!("unsupported WAV format tag {format}"));
            }
            if !(1..=8).contains(&channels) {
                return Err(format!("unsupported channel count {channels}"));
            }
            if !(8_000..=192_000).contains(&sample_rate) {
                return Err(format!("unsupported sample rate {sample_rate}"));
            }
            if !matches!(bits, 8 | 16 | 24 | 32) || block_align != channels * bits / 8 {
                return Err(format!("unsupported sample layout ({bits} bits)"));
            }
            let available = bytes.len() - body;
            if size > available {
                return Err("data chunk is truncated".into());
            }
            return Ok(WavInfo {
                channels,
                sample_rate,
                bits_per_sample: bits,
                frames: (size / block_align as usize) as u64,
            });
        }
        // Chunks are padded to an even size.
        pos = body.saturating_add(size).saturating_add(size & 1);
    }
    Err("no data chunk".into())
}

/// Checks that `id`, proposed by the uploader, is the content id of `bytes`; the error says what
/// the id should have been.
pub fn check_content_id(id: &keyboardia_core::SampleId, bytes: &[u8]) -> Result<(), String> {
    let expected = keyboardia_core::SampleId::for_content(bytes);
    if *id == expected {
        Ok(())
    } else {
        Err(format!(
            "the sample id {id} is not the content id of the body ({expected})"
        ))
    }
}

/// Builds a 16-bit PCM WAV file (used by tests and the benchmark to make uploads).
pub fn wav_bytes(sample_rate: u32, channels: u16, samples: &[i16]) -> Vec<u8> {
    let data_len = (samples.len() * 2) as u32;
    let mut out = Vec::with_capacity(44 + data_len as usize);
    out.extend_from_slice(b"RIFF");
    out.extend_from_slice(&(36 + data_len).to_le_bytes());
    out.extend_from_slice(b"WAVEfmt ");
    out.extend_from_slice(&16u32.to_le_bytes());
    out.extend_from_slice(&1u16.to_le_bytes());
    out.extend_from_slice(&channels.to_le_bytes());
    out.extend_from_slice(&sample_rate.to_le_bytes());
    out.extend_from_slice(&(sample_rate * channels as u32 * 2).to_le_bytes());
    out.extend_from_slice(&(channels * 2).to_le_bytes());
    out.extend_from_slice(&16u16.to_le_bytes());
    out.extend_from_slice(b"data");
    out.extend_from_slice(&data_len.to_le_bytes());
    for s in samples {
        out.extend_from_slice(&s.to_le_bytes());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_duration_of_pcm() {
        let wav = wav_bytes(44_100, 2, &vec![0i16; 44_100 * 2]);
        let info = parse_wav(&wav).unwrap();
        assert_eq!(info.channels, 2);
        assert_eq!(info.frames, 44_100);
        assert_eq!(info.duration_ms(), 1000.0);
    }

    #[test]
    fn refuses_what_is_not_wav() {
        assert!(parse_wav(b"ID3\x04\0\0\0\0\0\0not a wav at all").is_err());
        assert!(parse_wav(b"").is_err());
        let mut wav = wav_bytes(48_000, 1, &[1, 2, 3, 4]);
        wav.truncate(wav.len() - 2);
        assert!(parse_wav(&wav).is_err(), "truncated data");
        let mut odd = wav_bytes(48_000, 1, &[1, 2]);
        odd[20] = 2; // format tag 2 (ADPCM)
        assert!(parse_wav(&odd).is_err());
    }

    proptest::proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..256)) {
            let _ = parse_wav(&bytes);
            let mut riff = b"RIFF\0\0\0\0WAVE".to_vec();
            riff.extend_from_slice(&bytes);
            let _ = parse_wav(&riff);
        }

        #[test]
        fn every_truncation_of_a_wav_is_refused_or_shorter(
            frames in 0usize..200,
            cut in 0usize..500,
        ) {
            let wav = wav_bytes(8_000, 1, &vec![7; frames]);
            let cut = cut.min(wav.len());
            if let Ok(info) = parse_wav(&wav[..cut]) {
                proptest::prop_assert!(info.frames as usize <= frames);
            }
        }
    }

    #[test]
    fn proposed_ids_must_be_the_content_id() {
        let wav = wav_bytes(48_000, 1, &[1, 2, 3]);
        let id = keyboardia_core::SampleId::for_content(&wav);
        assert_eq!(check_content_id(&id, &wav), Ok(()));
        let other = wav_bytes(48_000, 1, &[1, 2, 4]);
        let err = check_content_id(&id, &other).unwrap_err();
        assert!(err.contains(id.as_str()), "{err}");
        assert!(check_content_id(&"rec-1234".parse().unwrap(), &wav).is_err());
    }

    #[test]
    fn content_types() {
        assert!(is_wav_content_type("audio/wav"));
        assert!(is_wav_content_type("Audio/X-WAV; codecs=1"));
        assert!(!is_wav_content_type("audio/mpeg"));
        assert!(!is_wav_content_type("application/octet-stream"));
    }
}
