//! The sample upload check the Worker runs on every upload body (`validate_sample`), and the
//! WAV decoder every player runs on a downloaded sample (`decode_wav`). Neither may panic. An
//! upload the check accepts must be playable by every player: it decodes, to as many frames as
//! its header says, within the sample limits; and a decoded sample re-encodes losslessly.
#![no_main]

use keyboardia_core::audio::{
    decode_wav, encode_wav_f32, read_info, validate_sample, MAX_SAMPLE_MS,
};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let info = read_info(data);
    let decoded = decode_wav(data);
    if let Ok(valid) = validate_sample(data, None) {
        assert_eq!(
            info.as_ref().ok(),
            Some(&valid),
            "the check reads the same header"
        );
        assert!(valid.duration_ms() <= MAX_SAMPLE_MS);
        let sample = decoded
            .as_ref()
            .unwrap_or_else(|e| panic!("accepted {valid:?} does not decode: {e}"));
        assert_eq!(sample.sample_rate_hz, valid.sample_rate_hz);
    }
    if let Ok(sample) = decoded {
        assert!(sample
            .frames
            .iter()
            .all(|x| x.is_nan() || (-1.0..=1.0).contains(x)));
        if let Ok(wav) = encode_wav_f32(&sample.frames, sample.sample_rate_hz) {
            let again = decode_wav(&wav).expect("our own encoding decodes");
            assert_eq!(again.sample_rate_hz, sample.sample_rate_hz);
            assert_eq!(again.frames.len(), sample.frames.len());
            assert!(again
                .frames
                .iter()
                .zip(&sample.frames)
                .all(|(a, b)| a.to_bits() == b.to_bits()));
        }
    }
});
