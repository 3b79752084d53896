//! Keyboardia as a standalone app: the same engine and editor as the plugin, on JACK or ALSA
//! (`--backend jack|alsa`) or headless on the dummy backend (`--backend dummy`).
//!
//! With a display the editor opens and playback starts with its Play button (or space). Without
//! one (no `DISPLAY`/`WAYLAND_DISPLAY` on Linux) the app runs without a window and plays the
//! session at once. A fresh start plays the demo beat.

fn main() {
    keyboardia::editor::set_headless(!has_display());
    nice_plug::nice_export_standalone::<keyboardia::Keyboardia>();
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
