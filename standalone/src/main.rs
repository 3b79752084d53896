//! Keyboardia as a standalone app: the same engine and editor as the plugin, on JACK or ALSA
//! (`--backend jack|alsa`) or headless on the dummy backend (`--backend dummy`).
//!
//! Takes are recorded from the audio device's input, the app's main input: `--input-device
//! NAME` with ALSA (a stereo capture device), `--connect-jack-inputs PORT_L,PORT_R` (or any
//! connection to `keyboardia:input_1/2`) with JACK. Without one (and with `--backend dummy`)
//! takes are silent.
//!
//! With a display the editor opens and playback starts with its Play button (or space). Without
//! one (no `DISPLAY`/`WAYLAND_DISPLAY` on Linux) the app runs without a window and plays the
//! session at once. A fresh start plays the demo beat.

fn main() {
    keyboardia::editor::set_headless(!has_display());
    nice_plug::nice_export_standalone::<keyboardia::KeyboardiaStandalone>();
}

/// Whether a window can be opened.
fn has_display() -> bool {
    if cfg!(all(unix, not(target_os = "macos"))) {
        ["DISPLAY", "WAYLAND_DISPLAY"]
            .iter()
            .any(|v| std::env::var_os(v).is_some_and(|s| !s.is_empty()))
    } else {
        true
    }
}
