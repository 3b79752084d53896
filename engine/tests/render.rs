//! The offline renderer command: session JSON → WAV of N bars.

use std::process::Command;

use keyboardia_core::SessionState;
use keyboardia_engine::render::bars_to_frames;

#[test]
fn renders_a_session_file_to_a_wav_of_n_bars() {
    let dir = std::env::temp_dir().join(format!("kb-render-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let json = dir.join("demo.json");
    std::fs::write(&json, serde_json::to_string(&SessionState::demo()).unwrap()).unwrap();
    let wav = dir.join("demo.wav");
    let out = Command::new(env!("CARGO_BIN_EXE_keyboardia-render"))
        .arg(&json)
        .arg(&wav)
        .args(["--bars", "2", "--rate", "44100", "--block", "128"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let decoded = keyboardia_core::audio::decode(&std::fs::read(&wav).unwrap()).unwrap();
    let info = decoded.info;
    assert_eq!((info.channels, info.sample_rate_hz), (2, 44_100));
    let samples = decoded.samples;
    assert_eq!(samples.len() / 2, bars_to_frames(2.0, 118.0, 44_100.0));
    let peak = samples.iter().fold(0f32, |m, v| m.max(v.abs()));
    assert!(peak > 0.2 && peak <= 1.0, "peak {peak}");
    // A bad document is refused with a message, not a panic.
    std::fs::write(&json, "{ not json").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_keyboardia-render"))
        .arg(&json)
        .arg(&wav)
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(!String::from_utf8_lossy(&out.stderr).is_empty());
    std::fs::remove_dir_all(&dir).ok();
}
