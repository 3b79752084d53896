use super::*;
use crate::samples::tests::{bits_of, take_frames};
use crate::services::Services;
use keyboardia_core::PatternId;
use keyboardia_core::{Instrument, Op, SampleId, SessionState};
use keyboardia_engine::SampleBuffer;

/// Parameters and services as the plugin holds them.
fn plugin() -> (Arc<KeyboardiaParams>, Services) {
    let params = Arc::new(KeyboardiaParams::default());
    let (services, _ends) = Services::new(&params);
    (params, services)
}

fn open(dir: &Path, name: &str) -> (Arc<KeyboardiaParams>, Services, Project) {
    let (params, services) = plugin();
    let project = Project::open(
        &dir.join(name),
        params.clone(),
        services.store.clone(),
        services.live.clone(),
        Some(dir.join("config/recent.json")),
    )
    .expect("the project opens");
    (params, services, project)
}

/// Waits up to 30 s (generous: the CI box is busy) for `ok`.
fn eventually(what: &str, ok: impl Fn() -> bool) {
    let start = Instant::now();
    while !ok() {
        assert!(start.elapsed() < Duration::from_secs(30), "{what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn session_of(path: &Path) -> SessionState {
    let fields = read_fields(path).unwrap();
    let json: String = serde_json::from_str(&fields["session"]).unwrap();
    state_from_json(json.as_bytes()).unwrap()
}

#[test]
fn a_missing_project_is_created_and_edits_are_autosaved_atomically() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("beat.keyboardia");
    let (_params, services, project) = open(dir.path(), "beat.keyboardia");
    assert_eq!(session_of(&path), SessionState::demo(), "created at once");
    assert!(!project.dirty());
    let tr = services.store.state().tracks[0].id;
    services
        .store
        .apply(&Op::SetStep {
            pt: PatternId::A,
            tr,
            s: 1,
            on: true,
        })
        .unwrap();
    assert!(project.dirty());
    eventually("the edit is autosaved", || {
        session_of(&path).tracks[0].steps[1].on
    });
    assert!(!project.dirty());
    // Only the project is left in the directory: no temporary file stays behind.
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .filter(|n| n != "config")
        .collect();
    assert_eq!(names, vec![std::ffi::OsString::from("beat.keyboardia")]);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o644, "not the temporary file's 0600");
    }
}

#[test]
fn closing_saves_and_reopening_gives_back_the_session_and_its_samples_bit_exact() {
    let dir = tempfile::tempdir().unwrap();
    let id: SampleId = "rec-take".parse().unwrap();
    let frames = take_frames(12_000, None);
    let state = {
        let (_p, services, project) = open(dir.path(), "take.keyboardia");
        let mut state = SessionState::demo();
        state.tracks[0].instrument = Instrument::Sample(id.clone());
        services.store.replace_state(state.clone());
        let buffer = SampleBuffer {
            frames: frames.clone().into(),
            sample_rate_hz: 44_100.0,
        };
        services.store.load_sample(id.clone(), buffer).unwrap();
        // Closed at once, well before the autosave: the drop saves.
        drop(project);
        state
    };
    let (_p, services, project) = open(dir.path(), "take.keyboardia");
    assert_eq!(services.store.state(), state);
    let used = services.store.used_samples();
    assert_eq!(used.len(), 1);
    // The store holds cleaned frames (denormals and -0.0 are 0.0): exactly those come back.
    let held: Vec<f32> = frames.iter().map(|&x| crate::flush::clean(x)).collect();
    assert!(bits_of(&used[0].1.frames) == bits_of(&held), "bit-exact");
    // An unchanged project is not rewritten.
    let before = std::fs::read(project.path()).unwrap();
    project.save().unwrap();
    assert_eq!(std::fs::read(project.path()).unwrap(), before);
    assert_eq!(
        project.recent().paths,
        vec![std::path::absolute(dir.path().join("take.keyboardia")).unwrap()]
    );
}

#[test]
fn save_as_open_and_the_recent_list() {
    let dir = tempfile::tempdir().unwrap();
    let (_p, services, project) = open(dir.path(), "a.keyboardia");
    let tr = services.store.state().tracks[0].id;
    services
        .store
        .apply(&Op::SetStep {
            pt: PatternId::A,
            tr,
            s: 2,
            on: true,
        })
        .unwrap();
    let b = dir.path().join("b.keyboardia");
    project.save_as(&b).unwrap();
    assert_eq!(project.path(), b);
    assert!(session_of(&b).tracks[0].steps[2].on);
    let recent = project.recent().paths;
    assert_eq!(recent.len(), 2);
    assert!(recent[0].ends_with("b.keyboardia") && recent[1].ends_with("a.keyboardia"));

    // Opening a.keyboardia (saved before the edit) brings back its session.
    let a = dir.path().join("a.keyboardia");
    project.open_other(&a).unwrap();
    assert_eq!(project.path(), a);
    assert!(!services.store.state().tracks[0].steps[2].on);
    assert!(project.recent().paths[0].ends_with("a.keyboardia"));

    // A file that is not a project is refused and changes nothing.
    let junk = dir.path().join("junk.keyboardia");
    std::fs::write(&junk, b"{ not json").unwrap();
    let before = services.store.state();
    let err = project.open_other(&junk).unwrap_err();
    assert!(matches!(err, ProjectError::NotAProject { .. }), "{err}");
    assert_eq!(services.store.state(), before);
    assert_eq!(project.path(), a);
    // Saving into a directory that does not exist is a typed error; the path stays.
    let err = project
        .save_as(&dir.path().join("missing/dir/c.keyboardia"))
        .unwrap_err();
    assert!(matches!(err, ProjectError::Write { .. }), "{err}");
    assert_eq!(project.path(), a);
}

#[test]
fn a_bare_session_document_of_an_older_schema_opens() {
    let dir = tempfile::tempdir().unwrap();
    let mut v1: serde_json::Value = serde_json::to_value(SessionState::demo()).unwrap();
    v1["version"] = 1.into();
    v1.as_object_mut().unwrap().remove("seed");
    let path = dir.path().join("old.keyboardia");
    std::fs::write(&path, serde_json::to_vec(&v1).unwrap()).unwrap();
    let expected = state_from_json(&serde_json::to_vec(&v1).unwrap()).unwrap();
    let (_p, services, project) = open(dir.path(), "old.keyboardia");
    assert_eq!(services.store.state(), expected);
    // The file stays as it was until the first save (here: closing), which writes today's
    // format.
    assert_eq!(
        std::fs::read(&path).unwrap(),
        serde_json::to_vec(&v1).unwrap()
    );
    drop(project);
    assert_eq!(session_of(&path), expected);
    let saved: PluginState = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    assert!(saved.fields.contains_key("samples"));
}

/// Export WAV bounces a sample track: the take plays at each of its hits (the file holds the
/// take's own sound there, scaled by the track's level), and only there.
#[test]
fn export_wav_plays_a_sample_track_at_its_hits() {
    let dir = tempfile::tempdir().unwrap();
    let (_params, services) = plugin();
    let id: SampleId = "rec-export".parse().unwrap();
    // 0.1 s of a 330 Hz tone with a fast decay: it ends long before the next hit.
    let take: Vec<f32> = (0..4_800)
        .map(|i| {
            let t = i as f32 / 48_000.0;
            0.5 * (-t * 30.0).exp() * (t * 2.0 * std::f32::consts::PI * 330.0).sin()
        })
        .collect();
    services
        .store
        .load_sample(
            id.clone(),
            SampleBuffer {
                frames: take.clone().into(),
                sample_rate_hz: 48_000.0,
            },
        )
        .unwrap();
    let mut track = keyboardia_core::Track::new(
        "take".parse().unwrap(),
        "Take",
        Instrument::Sample(id.clone()),
    );
    let hits = [0usize, 4, 8, 12];
    for s in hits {
        track.steps[s].on = true;
    }
    let state = SessionState {
        tempo: 120.0,
        tracks: vec![track],
        ..SessionState::default()
    };
    services.store.replace_state(state);
    let path = dir.path().join("take.wav");
    let frames = export_wav(&services.store, &path).expect("exported");
    assert_eq!(frames, 96_000, "one bar at 120 BPM, 48 kHz");
    let wav = keyboardia_core::audio::decode_wav(&std::fs::read(&path).unwrap()).unwrap();
    assert_eq!((wav.frames.len(), wav.sample_rate_hz), (96_000, 48_000));
    let out = &wav.frames;
    // A 16th at 120 BPM is 6000 frames.
    for s in 0..16 {
        let at = s * 6_000;
        let window = &out[at..at + 4_000];
        let energy: f32 = window.iter().map(|x| x * x).sum();
        if !hits.contains(&s) {
            assert!(energy < 1e-9, "step {s} is silent: {energy}");
            continue;
        }
        // The take's own waveform: correlation with it near 1 (a gain apart).
        let dot: f32 = window.iter().zip(&take).map(|(a, b)| a * b).sum();
        let take_energy: f32 = take[..4_000].iter().map(|x| x * x).sum();
        let corr = dot / (energy * take_energy).sqrt();
        assert!(
            corr > 0.99,
            "step {s}: the take's sound (correlation {corr})"
        );
        let gain = (energy / take_energy).sqrt();
        assert!(
            gain > 0.2 && gain < 1.0,
            "step {s}: at the track's level ({gain})"
        );
    }
}
