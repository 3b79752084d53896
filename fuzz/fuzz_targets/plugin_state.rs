//! The plugin's saved state, as a host hands it back when a project is reopened (any bytes: a
//! damaged or hostile project file). Its keys are decoded here exactly as the plugin does:
//! `"samples"` by the plugin's own decoder (`plugin/src/samples.rs`, compiled in by path so the
//! fuzzer does not build the plugin's GUI and host stack), `"session"` by core's
//! `state_from_json`, and `"live"`'s pending edits as core's `Op`s. Nothing may panic or allocate
//! without bound; samples that load save canonically (saving what loaded, loading it and saving
//! again gives the same text) with their frames' bits intact.
#![no_main]

use keyboardia_core::schema::state_from_json;
use keyboardia_core::{Op, SessionId};
use libfuzzer_sys::fuzz_target;

#[allow(dead_code)]
#[path = "../../plugin/src/samples.rs"]
mod samples;

/// The `"live"` key's shape (plugin/src/persist.rs `Joined`, whose module needs the plugin
/// framework): its fields decode with core's types, which is what is fuzzed here.
#[derive(serde::Deserialize)]
#[allow(dead_code)]
struct Joined {
    server: String,
    session: SessionId,
    name: String,
    #[serde(default)]
    pending: Vec<Op>,
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let loaded = samples::decode_samples(text);
    for (_, b) in &loaded {
        assert!(b.sample_rate_hz.is_finite() && b.sample_rate_hz > 0.0);
    }
    let saved = samples::encode_samples(loaded.iter().map(|(id, b)| (id, b)));
    let reloaded = samples::decode_samples(&saved);
    assert_eq!(
        samples::encode_samples(reloaded.iter().map(|(id, b)| (id, b))),
        saved
    );
    // Every sample that saves comes back with the same frames (its rate as whole Hz).
    let saved_count = serde_json::from_str::<Vec<serde_json::Value>>(&saved)
        .map(|v| v.len())
        .unwrap_or(0);
    assert_eq!(reloaded.len(), saved_count);
    let mut rest = reloaded.iter();
    for (id, b) in &loaded {
        if samples::sample_wav(b).is_none() {
            continue;
        }
        let (id2, b2) = rest.next().expect("a saved sample loads again");
        assert_eq!(id, id2);
        assert_eq!(b2.sample_rate_hz, (b.sample_rate_hz.round() as u32) as f32);
        assert!(b
            .frames
            .iter()
            .map(|x| x.to_bits())
            .eq(b2.frames.iter().map(|x| x.to_bits())));
    }
    if let Ok(state) = state_from_json(data) {
        state.validate().expect("a loaded session is valid");
    }
    let _ = serde_json::from_slice::<Option<Joined>>(data);
});
