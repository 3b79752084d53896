//! The bundled .vst3 in a real VST3 host: PyPI `pedalboard` (JUCE) loads it, lists its
//! parameters and renders audio offline with MIDI input. Builds the release bundle itself; needs
//! pedalboard (scripts/setup-plugin.sh, run by scripts/setup.sh).

use std::process::Command;

use keyboardia_tests::clap_host::{ensure_bundles, BundleKind};

const SCRIPT: &str = r#"
import sys, json, re
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
# State: save, restore into a fresh instance, save again.
p.automate_swing = True
p([], duration=0.05, sample_rate=sr, num_channels=2, buffer_size=512, reset=False)  # deliver it
saved = p.raw_state
q = load_plugin(sys.argv[1])
q.raw_state = saved
# The session inside: JUCE wraps the component state in XML with its own base64 flavour.
T = ".ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+"
def juce_b64(s):
    size, chars = s.split(".", 1)
    acc, pos = 0, 0
    for ch in chars:
        i = T.find(ch)
        if i >= 0:
            acc |= i << pos
            pos += 6
    return acc.to_bytes((pos + 7) // 8, "little")[: int(size)]
xml = saved[8:].decode("utf-8", "replace")
component = juce_b64(re.search(r"<IComponent>(.*?)</IComponent>", xml, re.S).group(1).strip())
doc = json.loads(component[component.find(b"{"):])
session = json.loads(json.loads(doc["fields"]["session"]))
state = {"identical": q.raw_state == saved, "clock": str(q.clock), "swing_auto": bool(q.automate_swing),
         "tempo": session["tempo"], "tracks": len(session["tracks"])}
print(json.dumps({"params": names, "peak": peak, "first": first, "shape": list(audio.shape),
                  "demo_peak": float(np.max(np.abs(demo))), "beats": rise, "state": state}))
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
    // Save → load → save through the VST3 component state is byte-identical and restores params.
    let st = &v["state"];
    assert_eq!(st["identical"], true, "{st}");
    assert_eq!(st["clock"], "Internal", "{st}");
    assert_eq!(st["swing_auto"], true, "{st}");
    // The whole session is in the VST3 state: the demo's 118 BPM and 8 tracks.
    assert_eq!(st["tempo"], 118.0, "{st}");
    assert_eq!(st["tracks"], 8, "{st}");
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
