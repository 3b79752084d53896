//! The standalone app's project file, end to end: the real app binary, headless on the dummy
//! backend, opened on a saved state from an earlier build (the plugin's state from before
//! samples were saved as WAV, with two sample tracks), ended with SIGTERM, reopened and ended
//! again. The first SIGTERM rewrites the file in today's format; the second leaves it as it
//! is; the document and the rendered audio (samples included) are identical each time.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use keyboardia::project::{read_fields, Fields};
use keyboardia_core::schema::state_from_json;
use keyboardia_core::SessionState;
use keyboardia_engine::{Engine, EnginePattern, InternalClock};
use keyboardia_tests::editor_screen::{cargo_build_bin, target_dir};

const FIXTURE: &str = "fixtures/plugin-state-samples-v1.json";

/// The session and the samples (cleaned as the app's store holds them) of a project's fields.
fn contents(fields: &Fields) -> (SessionState, Vec<(String, Vec<u32>, u32)>) {
    let session: String = serde_json::from_str(&fields["session"]).unwrap();
    let samples: String = serde_json::from_str(&fields["samples"]).unwrap();
    let samples = keyboardia::samples::decode_samples(&samples)
        .into_iter()
        .map(|(id, b)| {
            let bits = b
                .frames
                .iter()
                .map(|&x| keyboardia::flush::clean(x).to_bits())
                .collect();
            (id.to_string(), bits, b.sample_rate_hz.to_bits())
        })
        .collect();
    (state_from_json(session.as_bytes()).unwrap(), samples)
}

/// One bar of the project, its samples loaded, as bits.
fn render(fields: &Fields) -> Vec<u32> {
    let (state, samples) = contents(fields);
    let pattern = EnginePattern::from_state(&state, |id| {
        samples
            .iter()
            .position(|(s, _, _)| *s == id.to_string())
            .map(|i| i as u8)
    });
    let mut engine = Engine::new(48_000.0);
    for (slot, (_, bits, rate)) in samples.iter().enumerate() {
        let buffer = keyboardia_engine::SampleBuffer {
            frames: bits.iter().map(|&b| f32::from_bits(b)).collect(),
            sample_rate_hz: f32::from_bits(*rate),
        };
        let _ = engine.set_sample(slot, Some(Arc::new(buffer)));
    }
    engine.set_seed(pattern.seed);
    engine.set_pattern(&pattern);
    let mut clock = InternalClock::new(pattern.tempo_bpm);
    clock.play_from(0.0);
    let frames = keyboardia_engine::render::bars_to_frames(1.0, pattern.tempo_bpm, 48_000.0);
    let (mut left, mut right) = (vec![0.0; frames], vec![0.0; frames]);
    for at in (0..frames).step_by(512) {
        let n = 512.min(frames - at);
        let c = clock.next_block(n as u32, 48_000.0);
        engine.process(&c, &[], &mut left[at..at + n], &mut right[at..at + n], None);
    }
    left.iter().chain(&right).map(|x| x.to_bits()).collect()
}

/// Starts the app headless on `project` with its own config directory.
fn start(bin: &Path, project: &Path, config: &Path) -> Child {
    Command::new(bin)
        .arg(project)
        .args(["--backend", "dummy"])
        .env_remove("DISPLAY")
        .env_remove("WAYLAND_DISPLAY")
        .env("XDG_CONFIG_HOME", config)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start the standalone app")
}

/// Waits (generously: the CI box is busy) until the app has opened its project: it then
/// lists it first in its recent-files list.
fn wait_opened(app: &mut Child, recent: &Path, project: &Path) {
    let start = Instant::now();
    let want = std::path::absolute(project).unwrap();
    loop {
        let listed: Vec<PathBuf> = std::fs::read(recent)
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_default();
        if listed.first() == Some(&want) {
            // Loaded; give it a moment to start its audio thread (nothing depends on it).
            std::thread::sleep(Duration::from_millis(500));
            return;
        }
        assert!(app.try_wait().unwrap().is_none(), "the app exited early");
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "the app did not open {project:?}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Sends SIGTERM and waits for the app to end; it exits with 128 + 15.
fn terminate(mut app: Child) {
    unsafe { libc::kill(app.id() as i32, libc::SIGTERM) };
    let start = Instant::now();
    loop {
        if let Some(status) = app.try_wait().unwrap() {
            assert_eq!(status.code(), Some(143), "ended by SIGTERM after saving");
            return;
        }
        if start.elapsed() > Duration::from_secs(60) {
            let _ = app.kill();
            panic!("the app ignores SIGTERM");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn a_project_saved_by_an_earlier_build_survives_sigterm_and_reopens_identical() {
    let bin = cargo_build_bin("keyboardia-standalone", "keyboardia-standalone");
    let dir = target_dir().join(format!("standalone-project-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let config = dir.join("config");
    let recent = config.join("keyboardia/recent.json");
    let project = dir.join("old.keyboardia");
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join(FIXTURE);
    std::fs::copy(&fixture, &project).unwrap();
    let original = read_fields(&project).unwrap();
    let (state, samples) = contents(&original);
    assert_eq!(state.tracks.len(), 2);
    assert_eq!(samples.len(), 2, "the fixture holds two samples");
    let audio = render(&original);
    assert!(
        audio.iter().any(|&b| f32::from_bits(b).abs() > 0.05),
        "the sample tracks are audible"
    );

    // First run: nothing changes, but SIGTERM saves, which writes today's format.
    let mut app = start(&bin, &project, &config);
    wait_opened(&mut app, &recent, &project);
    terminate(app);
    let first = std::fs::read(&project).unwrap();
    assert_ne!(
        first,
        std::fs::read(&fixture).unwrap(),
        "rewritten by the save on SIGTERM"
    );
    let saved = read_fields(&project).unwrap();
    assert_eq!(contents(&saved), (state.clone(), samples.clone()));
    assert!(
        render(&saved) == audio,
        "the same audio after the first run"
    );

    // Second run: reopened and ended the same way, the file is byte for byte the same.
    std::fs::remove_file(&recent).unwrap();
    let mut app = start(&bin, &project, &config);
    wait_opened(&mut app, &recent, &project);
    terminate(app);
    assert!(
        std::fs::read(&project).unwrap() == first,
        "save → load → save is byte-identical"
    );
    let reopened = read_fields(&project).unwrap();
    assert_eq!(contents(&reopened), (state, samples));
    assert!(render(&reopened) == audio, "the same audio after reopening");
    // No temporary file is left beside the project.
    let names: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(names.iter().all(|n| !n.ends_with(".tmp")), "{names:?}");

    // A file that is not a project is refused at start and left alone.
    let junk = dir.join("junk.keyboardia");
    std::fs::write(&junk, b"not a project").unwrap();
    let status = Command::new(&bin)
        .arg(&junk)
        .args(["--backend", "dummy"])
        .env_remove("DISPLAY")
        .env_remove("WAYLAND_DISPLAY")
        .env("XDG_CONFIG_HOME", &config)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .unwrap();
    assert_eq!(status.code(), Some(2));
    assert_eq!(std::fs::read(&junk).unwrap(), b"not a project");
    let _ = std::fs::remove_dir_all(&dir);
}
