//! Sample files: the one place that reads, checks and writes them, on the `hound` crate.
//!
//! - [`wav`](self::decode): decoding a WAV file (8/16/24/32-bit integer or 32-bit float, any
//!   channel count) to floats, and encoding floats as WAV. Every input is handled without a
//!   panic: a damaged or hostile file is an [`AudioError`].
//! - [`riff`]: raw RIFF bytes built by hand, for tests and fuzz seeds.
//! - [`upload`](self::validate_sample): the sample limits (duration, bytes, channels, rates,
//!   name) and what a sample upload must be: a WAV file within the limits, named by its content
//!   id when the uploader names it.
//!
//! The Worker validates uploads with it, the sync companion decodes downloads and the plugin
//! encodes takes and saves its samples with it, and the offline renderer writes its bounces.

pub mod riff;
mod upload;
mod wav;

pub use upload::{
    check_content_id, check_content_type, is_valid_sample_name, is_wav_content_type,
    validate_sample, UploadError, MAX_SAMPLE_BYTES, MAX_SAMPLE_MS, MAX_SAMPLE_S, SAMPLE_CHANNELS,
    SAMPLE_NAME_MAX_BYTES, SAMPLE_RATES_HZ, WAV_CONTENT_TYPE, WAV_CONTENT_TYPES,
};
pub use wav::{
    decode, decode_wav, encode_wav_f32, encode_wav_i16, encode_wav_pcm16, encode_wav_stereo_f32,
    read_info, AudioError, DecodedSample, SampleEncoding, Wav, WavInfo,
};
