//! The bundled .vst3 in a real VST3 host: PyPI `pedalboard` (JUCE) loads it, lists its
//! parameters and renders audio offline with MIDI input. Builds the release bundle itself; needs
//! pedalboard (scripts/setup-plugin.sh, run by scripts/setup.sh).

use std::process::Command;

use keyboardia_tests::clap_host::{ensure_bundles, BundleKind};

const SCRIPT: &str = r#"
import sys, json
import numpy as np
from pedalboard import load_plugin
p = load_plugin(sys.argv[1])
names = list(p.parameters.keys())
sr = 48000
# Audition: pedalboard never starts a transport, so the sequencer waits; MIDI plays track 1.
msgs = [(bytes([0x90, 60, 100]), 0.25), (bytes([0x80, 60, 0]), 0.75)]
audio = np.asarray(p(msgs, duration=2.0, sample_rate=sr, num_channels=2, buffer_size=512))
peak = float(np.max(np.abs(audio)))
first = int(np.argmax(np.abs(audio[0]) > 0)) if peak > 0 else -1
# The demo pattern on the plugin's own clock.
p.clock = "Internal"
demo = np.asarray(p([], duration=4.2, sample_rate=sr, num_channels=2, buffer_size=333))
beat = sr * 60.0 / 118.0
rise = []
for k in range(8):
    o = int(np.ceil(k * beat))
    before = float(np.sqrt(np.mean(demo[0][max(0, o - 480):o] ** 2))) if o > 0 else 0.0
    after = float(np.sqrt(np.mean(demo[0][o:o + 480] ** 2)))
    rise.append([before, after])
print(json.dumps({"params": names, "peak": peak, "first": first, "shape": list(audio.shape),
                  "demo_peak": float(np.max(np.abs(demo))), "beats": rise}))
"#;

#[test]
fn plugin_vst3_renders_in_pedalboard() {
    let bundle = ensure_bundles(BundleKind::Release).join("keyboardia.vst3");
    let out = Command::new("python3")
        .arg("-c")
        .arg(SCRIPT)
        .arg(&bundle)
        .output()
        .expect("python3 runs (pedalboard comes from scripts/setup-plugin.sh)");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "pedalboard failed: {}\n{stdout}",
        String::from_utf8_lossy(&out.stderr)
    );
    let line = stdout.lines().last().unwrap_or_default();
    let v: serde_json::Value = serde_json::from_str(line).expect("JSON from the script");
    let params: Vec<String> = v["params"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p.as_str().unwrap().to_owned())
        .collect();
    assert!(params.iter().any(|p| p.contains("master")), "{params:?}");
    assert!(params.iter().any(|p| p.contains("swing")), "{params:?}");
    assert!(params.iter().any(|p| p == "clock"), "{params:?}");
    assert!(
        params.iter().any(|p| p.contains("track_1_volume")),
        "{params:?}"
    );
    assert!(
        params.iter().any(|p| p.contains("track_16_mute")),
        "{params:?}"
    );
    assert_eq!(v["shape"][0], 2);
    let peak = v["peak"].as_f64().unwrap();
    assert!(peak > 0.05 && peak <= 1.0, "peak {peak}");
    // The MIDI note-on at 0.25 s auditions the selected track on its frame.
    let first = v["first"].as_i64().unwrap();
    assert!((first - 12_000).abs() <= 1, "first sound at frame {first}");
    // The demo beat: a kick on every beat, each a jump in level.
    let demo_peak = v["demo_peak"].as_f64().unwrap();
    assert!(demo_peak > 0.5 && demo_peak <= 1.0, "demo peak {demo_peak}");
    for (k, pair) in v["beats"].as_array().unwrap().iter().enumerate() {
        let (before, after) = (pair[0].as_f64().unwrap(), pair[1].as_f64().unwrap());
        assert!(
            after > 0.1 && after > 1.5 * before,
            "beat {k}: {before:.3} → {after:.3}"
        );
    }
}
