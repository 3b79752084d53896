//! The sample limits and what a sample upload must be: a WAV file (checked by decoding it, so a
//! file whose content does not match its declared type is refused, whatever its content type
//! says) within the limits, named by its content id when the uploader names it.

use std::ops::RangeInclusive;

use super::wav::{read_info, AudioError, WavInfo};
use crate::model::SampleId;

/// The longest sample, in seconds: uploads, and the takes the plugin records.
pub const MAX_SAMPLE_S: f64 = 5.0;
/// [`MAX_SAMPLE_S`] in milliseconds.
pub const MAX_SAMPLE_MS: f64 = MAX_SAMPLE_S * 1000.0;
/// The largest sample upload, in bytes (5 s of 48 kHz 24-bit stereo is 1.44 MB; 5 s of a
/// 48 kHz mono float take is 0.96 MB).
pub const MAX_SAMPLE_BYTES: usize = 2 * 1024 * 1024;
/// Channel counts an upload may have.
pub const SAMPLE_CHANNELS: RangeInclusive<u16> = 1..=8;
/// Sample rates an upload may have, in Hz.
pub const SAMPLE_RATES_HZ: RangeInclusive<u32> = 8_000..=192_000;
/// Longest sample display name, in bytes of UTF-8.
pub const SAMPLE_NAME_MAX_BYTES: usize = 64;

/// Content types an upload may declare (all name WAV).
pub const WAV_CONTENT_TYPES: &[&str] =
    &["audio/wav", "audio/wave", "audio/x-wav", "audio/vnd.wave"];
/// The content type samples are stored and served with.
pub const WAV_CONTENT_TYPE: &str = "audio/wav";

/// Why an upload is refused; the message is the error reply's.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum UploadError {
    /// The declared content type names no WAV file.
    #[error("content type {0:?} is not accepted; send audio/wav")]
    ContentType(String),
    /// More bytes than [`MAX_SAMPLE_BYTES`].
    #[error("the sample is {bytes} bytes, at most {MAX_SAMPLE_BYTES} allowed")]
    TooLarge {
        /// Bytes received.
        bytes: usize,
    },
    /// Not a WAV file every player can decode.
    #[error(transparent)]
    Unreadable(#[from] AudioError),
    /// A channel count outside [`SAMPLE_CHANNELS`].
    #[error("unsupported channel count {0}")]
    Channels(u16),
    /// A sample rate outside [`SAMPLE_RATES_HZ`].
    #[error("unsupported sample rate {0}")]
    SampleRate(u32),
    /// Longer than [`MAX_SAMPLE_MS`].
    #[error("the sample lasts {duration_ms:.0} ms, at most {MAX_SAMPLE_MS:.0} ms allowed")]
    TooLong {
        /// How long the upload plays.
        duration_ms: f64,
    },
    /// The uploader named the sample with an id that is not the hash of its bytes.
    #[error("the sample id {proposed} is not the content id of the body ({expected})")]
    NotContentId {
        /// The id the uploader gave.
        proposed: SampleId,
        /// The content id of the bytes received.
        expected: SampleId,
    },
}

/// Is `content_type` (a header value, maybe with parameters) one that names WAV?
pub fn is_wav_content_type(content_type: &str) -> bool {
    let mime = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    WAV_CONTENT_TYPES.contains(&mime.as_str())
}

/// [`is_wav_content_type`] as a check (done before the body is read).
pub fn check_content_type(content_type: &str) -> Result<(), UploadError> {
    if is_wav_content_type(content_type) {
        Ok(())
    } else {
        Err(UploadError::ContentType(content_type.to_owned()))
    }
}

/// A display name of 1 to [`SAMPLE_NAME_MAX_BYTES`] bytes without control characters.
pub fn is_valid_sample_name(name: &str) -> bool {
    !name.is_empty() && name.len() <= SAMPLE_NAME_MAX_BYTES && !name.chars().any(char::is_control)
}

/// Checks that `id`, proposed by the uploader, is the content id of `bytes`.
pub fn check_content_id(id: &SampleId, bytes: &[u8]) -> Result<(), UploadError> {
    let expected = SampleId::for_content(bytes);
    if *id == expected {
        Ok(())
    } else {
        Err(UploadError::NotContentId {
            proposed: id.clone(),
            expected,
        })
    }
}

/// Checks an uploaded file: its size, that it decodes as WAV, its channels, rate and duration,
/// and (when the uploader named it) that `proposed` is its content id. Returns its format.
pub fn validate_sample(bytes: &[u8], proposed: Option<&SampleId>) -> Result<WavInfo, UploadError> {
    if bytes.len() > MAX_SAMPLE_BYTES {
        return Err(UploadError::TooLarge { bytes: bytes.len() });
    }
    let info = read_info(bytes)?;
    if !SAMPLE_CHANNELS.contains(&info.channels) {
        return Err(UploadError::Channels(info.channels));
    }
    if !SAMPLE_RATES_HZ.contains(&info.sample_rate_hz) {
        return Err(UploadError::SampleRate(info.sample_rate_hz));
    }
    if info.duration_ms() > MAX_SAMPLE_MS {
        return Err(UploadError::TooLong {
            duration_ms: info.duration_ms(),
        });
    }
    if let Some(id) = proposed {
        check_content_id(id, bytes)?;
    }
    Ok(info)
}

#[cfg(test)]
mod tests {
    use super::super::wav::{encode_wav_f32, encode_wav_pcm16};
    use super::*;

    #[test]
    fn a_sample_within_the_limits_passes() {
        let wav = encode_wav_pcm16(44_100, 2, &vec![0; 44_100 * 2]).unwrap();
        let info = validate_sample(&wav, None).unwrap();
        assert_eq!(info.duration_ms(), 1000.0);
        // Exactly 5 s passes; a frame more does not.
        let five = encode_wav_f32(&vec![0.0; 5 * 48_000], 48_000).unwrap();
        assert!(validate_sample(&five, None).is_ok());
        let more = encode_wav_f32(&vec![0.0; 5 * 48_000 + 1], 48_000).unwrap();
        assert!(matches!(
            validate_sample(&more, None),
            Err(UploadError::TooLong { .. })
        ));
        // A 5 s mono float take at 96 kHz fits in the byte limit; at 192 kHz it does not.
        assert!(
            encode_wav_f32(&vec![0.0; 5 * 96_000], 96_000)
                .unwrap()
                .len()
                <= MAX_SAMPLE_BYTES
        );
        let big = encode_wav_f32(&vec![0.0; 5 * 192_000], 192_000).unwrap();
        assert_eq!(
            validate_sample(&big, None),
            Err(UploadError::TooLarge { bytes: big.len() })
        );
    }

    #[test]
    fn formats_outside_the_limits_are_refused() {
        let nine = encode_wav_pcm16(8_000, 9, &[0; 9]).unwrap();
        assert_eq!(validate_sample(&nine, None), Err(UploadError::Channels(9)));
        let slow = encode_wav_pcm16(4_000, 1, &[0; 4]).unwrap();
        assert_eq!(
            validate_sample(&slow, None),
            Err(UploadError::SampleRate(4_000))
        );
        let long = encode_wav_pcm16(8_000, 1, &vec![0; 8_000 * 6]).unwrap();
        let err = validate_sample(&long, None).unwrap_err();
        assert_eq!(
            err.to_string(),
            "the sample lasts 6000 ms, at most 5000 ms allowed"
        );
        let mut truncated = encode_wav_pcm16(8_000, 1, &[0; 8_000]).unwrap();
        truncated.truncate(100);
        assert_eq!(
            validate_sample(&truncated, None),
            Err(UploadError::Unreadable(AudioError::Truncated))
        );
        assert!(matches!(
            validate_sample(b"ID3\x04 definitely an mp3", None),
            Err(UploadError::Unreadable(AudioError::Malformed(_)))
        ));
    }

    #[test]
    fn proposed_ids_must_be_the_content_id() {
        let wav = encode_wav_pcm16(48_000, 1, &[1, 2, 3]).unwrap();
        let id = SampleId::for_content(&wav);
        assert_eq!(check_content_id(&id, &wav), Ok(()));
        assert!(validate_sample(&wav, Some(&id)).is_ok());
        let other = encode_wav_pcm16(48_000, 1, &[1, 2, 4]).unwrap();
        let err = validate_sample(&other, Some(&id)).unwrap_err();
        assert!(err.to_string().contains(id.as_str()), "{err}");
        assert!(check_content_id(&"rec-1234".parse().unwrap(), &wav).is_err());
    }

    #[test]
    fn content_types_and_names() {
        assert!(is_wav_content_type("audio/wav"));
        assert!(is_wav_content_type("Audio/X-WAV; codecs=1"));
        assert!(!is_wav_content_type("audio/mpeg"));
        assert!(!is_wav_content_type("application/octet-stream"));
        assert_eq!(
            check_content_type("audio/mpeg"),
            Err(UploadError::ContentType("audio/mpeg".into()))
        );
        assert!(is_valid_sample_name("Take 1"));
        assert!(!is_valid_sample_name(""));
        assert!(!is_valid_sample_name("a\nb"));
        assert!(!is_valid_sample_name(
            &"n".repeat(SAMPLE_NAME_MAX_BYTES + 1)
        ));
    }
}
