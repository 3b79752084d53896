//! Keyboardia as a standalone app: the same engine and editor as the plugin, on JACK or ALSA
//! (`--backend jack|alsa`) or headless on the dummy backend (`--backend dummy`).
//!
//! `keyboardia-standalone [PROJECT] [OPTIONS]` opens the project file `PROJECT` (a
//! `.keyboardia` file, created if missing; the first argument if it does not start with `-`,
//! or any argument ending in `.keyboardia`) and autosaves it a few seconds after each change,
//! when the window closes and on SIGTERM, SIGINT or SIGHUP (see `keyboardia::project`).
//! Without one it starts on the demo beat and nothing is saved until *Save As*.
//!
//! `keyboardia-standalone BEAT_LINK` (`http://host/b/{id}`, or the beat page's "Open in
//! Keyboardia" link `keyboardia:http://host/b/{id}`) opens that published beat read-only once
//! the editor shows, with Remix and Close beat (see `keyboardia::beats`).
//!
//! Takes are recorded from the audio device's input, the app's main input: `--input-device
//! NAME` with ALSA (a stereo capture device), `--connect-jack-inputs PORT_L,PORT_R` (or any
//! connection to `keyboardia:input_1/2`) with JACK. Without one (and with `--backend dummy`)
//! takes are silent.
//!
//! With a display the editor opens and playback starts with its Play button (or space). Without
//! one (no `DISPLAY`/`WAYLAND_DISPLAY` on Linux) the app runs without a window and plays the
//! session at once. A fresh start plays the demo beat.

use std::path::PathBuf;
use std::process::ExitCode;

use keyboardia::project;

fn main() -> ExitCode {
    let args = take_beat_link(std::env::args().collect());
    let (project_path, args) = split_project(args);
    if let Some(path) = project_path {
        // A file that exists but does not load is never overwritten.
        if path.exists() {
            if let Err(e) = project::read_fields(&path) {
                eprintln!("keyboardia-standalone: {e}");
                return ExitCode::from(2);
            }
        }
        project::set_standalone_path(path);
        save_on_termination();
    }
    keyboardia::editor::set_headless(!has_display());
    if nice_plug::prelude::nice_export_standalone_with_args::<keyboardia::KeyboardiaStandalone, _>(
        args,
    ) {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// Takes a beat link out of the arguments (the first that is one) and has the app open it.
fn take_beat_link(mut args: Vec<String>) -> Vec<String> {
    let at = args
        .iter()
        .skip(1)
        .position(|a| !a.starts_with('-') && keyboardia::beats::open_at_start(a));
    if let Some(i) = at {
        args.remove(i + 1);
    }
    args
}

/// Takes the project path out of the arguments (see the crate doc); the rest go to nice-plug.
fn split_project(mut args: Vec<String>) -> (Option<PathBuf>, Vec<String>) {
    let at = args
        .iter()
        .skip(1)
        .position(|a| a.ends_with(&format!(".{}", project::EXTENSION)) && !a.starts_with('-'));
    let at = at
        .map(|i| i + 1)
        .or_else(|| args.get(1).filter(|a| !a.starts_with('-')).map(|_| 1));
    match at {
        Some(i) => {
            let path = PathBuf::from(args.remove(i));
            (Some(path), args)
        }
        None => (None, args),
    }
}

/// SIGTERM, SIGINT and SIGHUP save the project, then end the app (with or without a window;
/// the autosave has already written all but the last few seconds).
fn save_on_termination() {
    use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
    let mut signals = match signal_hook::iterator::Signals::new([SIGTERM, SIGINT, SIGHUP]) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("keyboardia-standalone: cannot watch for SIGTERM: {e}");
            return;
        }
    };
    std::thread::spawn(move || {
        if let Some(signal) = signals.forever().next() {
            let code = match project::save_open() {
                Ok(_) => 128 + signal,
                Err(e) => {
                    eprintln!("keyboardia-standalone: {e}");
                    1
                }
            };
            std::process::exit(code);
        }
    });
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

#[cfg(test)]
mod tests {
    use super::*;

    fn split(args: &[&str]) -> (Option<PathBuf>, Vec<String>) {
        split_project(args.iter().map(|s| s.to_string()).collect())
    }

    #[test]
    fn the_project_is_the_first_argument_or_any_keyboardia_file() {
        assert_eq!(split(&["app"]), (None, vec!["app".into()]));
        assert_eq!(
            split(&["app", "beat.keyboardia", "--backend", "dummy"]),
            (
                Some("beat.keyboardia".into()),
                vec!["app".into(), "--backend".into(), "dummy".into()]
            )
        );
        assert_eq!(
            split(&["app", "--backend", "dummy", "x/beat.keyboardia"]),
            (
                Some("x/beat.keyboardia".into()),
                vec!["app".into(), "--backend".into(), "dummy".into()]
            )
        );
        assert_eq!(split(&["app", "my-beat"]).0, Some("my-beat".into()));
        assert_eq!(split(&["app", "--backend", "dummy"]).0, None);
    }

    #[test]
    fn a_beat_link_is_opened_not_taken_for_a_project() {
        let link = "keyboardia:http://127.0.0.1:8787/b/0b3b8d2e-7c1a-4f5e-9a6b-1c2d3e4f5a6b";
        let args: Vec<String> = ["app", link, "--backend", "dummy"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let rest = take_beat_link(args);
        assert_eq!(rest, vec!["app", "--backend", "dummy"]);
        assert_eq!(split_project(rest).0, None);
        let plain: Vec<String> = ["app", "beat.keyboardia"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert_eq!(take_beat_link(plain.clone()), plain);
    }
}
