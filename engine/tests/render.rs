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

/// The format follows the output's extension: `.mid` exports the session's notes as a Standard
/// MIDI File, `--loops` counts loops of the longest track, and `.wav` streams the same length.
#[test]
fn exports_midi_or_wav_by_the_outputs_extension() {
    use keyboardia_engine::midi::{self, MidiOptions};
    use keyboardia_engine::render::Length;

    let dir = std::env::temp_dir().join(format!("kb-export-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let render = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_keyboardia-render"))
            .args(args)
            .current_dir(&dir)
            .output()
            .unwrap()
    };
    let out = render(&["--demo", "demo.mid", "--loops", "2", "--ppq", "480"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let bytes = std::fs::read(dir.join("demo.mid")).unwrap();
    let opts = MidiOptions {
        ticks_per_beat: 480,
        seed: None,
    };
    assert_eq!(
        bytes,
        midi::export(&SessionState::demo(), Length::Loops(2), &opts).unwrap()
    );
    let smf = midly::Smf::parse(&bytes).unwrap();
    assert_eq!(smf.tracks.len(), 1 + SessionState::demo().tracks.len());

    // Two loops of the demo's 64-step lead are 8 bars, streamed with its progress on stderr.
    let out = render(&["--demo", "demo.WAV", "--loops", "2", "--rate", "8000"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("100 %"));
    let decoded =
        keyboardia_core::audio::decode(&std::fs::read(dir.join("demo.WAV")).unwrap()).unwrap();
    assert_eq!(
        decoded.samples.len() / 2,
        bars_to_frames(8.0, 118.0, 8_000.0)
    );

    // Another extension is a usage error, and nothing is written.
    let out = render(&["--demo", "demo.mp3"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(!dir.join("demo.mp3").exists());
    std::fs::remove_dir_all(&dir).ok();
}
