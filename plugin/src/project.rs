//! Project files (`.keyboardia`): the standalone app's document on disk.
//!
//! A project file is exactly the plugin's saved state, as a DAW stores it: nice-plug's
//! [`PluginState`] JSON, whose `fields` are the persisted fields of [`KeyboardiaParams`]
//! (`"session"`, `"samples"`, `"live"`; see [`crate::persist`]). So a state saved by the plugin
//! opens in the app, a project opens in the plugin's preset loader, and the session document's
//! own schema migration ([`keyboardia_core::schema`]) and the samples' legacy encoding keep older
//! files loading. A bare session document (the JSON `keyboardia-render` reads) opens too.
//! Parameters are not saved: mixer, clock and latency settings are the player's, not the
//! project's.
//!
//! [`Project`] is the service behind an open file: it loads the file into the services through
//! the persisted fields' restore hooks, saves them through their refresh hooks, and autosaves on
//! its own thread [`AUTOSAVE_DELAY`] after the first unsaved change (so a crash loses at most
//! that much), and once more when it is dropped (the app's window closed) or [`save_open`] is
//! called (the app's SIGTERM handler). Every write is atomic: a temporary file in the same
//! directory, synced, then renamed over the project.
//!
//! The recent-files list ([`Recent`]) lives in the user's config directory (the `directories`
//! crate finds it).

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, Weak};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use keyboardia_core::schema::{state_from_json, SchemaError};
use nice_plug::prelude::{Params, PluginState};

use crate::live::Live;
use crate::params::KeyboardiaParams;
use crate::session::SessionStore;

/// The project file extension (without the dot).
pub const EXTENSION: &str = "keyboardia";

/// How long after the first unsaved change the autosave writes.
pub const AUTOSAVE_DELAY: Duration = Duration::from_secs(2);

/// How often the autosave thread looks for changes.
const AUTOSAVE_POLL: Duration = Duration::from_millis(200);

/// Most entries in the recent-files list.
pub const MAX_RECENT: usize = 10;

/// Why a project could not be read, written or exported.
#[derive(Debug, thiserror::Error)]
pub enum ProjectError {
    /// The file could not be read.
    #[error("cannot read {}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The file (or its temporary twin) could not be written.
    #[error("cannot write {}: {source}", path.display())]
    Write {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The file is neither a saved state nor a session document.
    #[error("{} is not a Keyboardia project: {source}", path.display())]
    NotAProject {
        /// The file.
        path: PathBuf,
        /// Why its session document does not load.
        source: SchemaError,
    },
    /// The bounce could not be made (too long for a WAV file, or the encoder refused).
    #[error("cannot bounce the WAV: {0}")]
    Bounce(#[from] keyboardia_engine::render::BounceError),
    /// The export's length does not fit the session.
    #[error("cannot export: {0}")]
    Length(#[from] keyboardia_engine::render::LengthError),
    /// The MIDI file could not be written.
    #[error("cannot export MIDI: {0}")]
    Midi(#[from] keyboardia_engine::midi::ExportError),
}

/// The persisted fields of a project file, keyed as in [`KeyboardiaParams`].
pub type Fields = BTreeMap<String, String>;

/// Reads a project file: a saved state's fields, or a bare session document as `"session"`.
/// The session document is checked (any schema version core migrates), so a file that would
/// not load is refused before anything is replaced.
pub fn read_fields(path: &Path) -> Result<Fields, ProjectError> {
    let bytes = std::fs::read(path).map_err(|source| ProjectError::Read {
        path: path.to_owned(),
        source,
    })?;
    decode_fields(&bytes).map_err(|source| ProjectError::NotAProject {
        path: path.to_owned(),
        source,
    })
}

/// See [`read_fields`].
pub fn decode_fields(bytes: &[u8]) -> Result<Fields, SchemaError> {
    let fields = match serde_json::from_slice::<PluginState>(bytes) {
        Ok(state) if state.fields.contains_key("session") => state.fields,
        // Not a saved state: a session document (the session field holds its JSON as a string).
        _ => {
            let text = String::from_utf8_lossy(bytes).into_owned();
            BTreeMap::from([("session".to_owned(), to_field(&text))])
        }
    };
    let session: String = fields
        .get("session")
        .and_then(|s| serde_json::from_str(s).ok())
        .unwrap_or_default();
    state_from_json(session.as_bytes())?;
    Ok(fields)
}

/// A field value as nice-plug stores it: the value's JSON (a string field is a JSON string).
fn to_field(value: &str) -> String {
    serde_json::to_string(value).unwrap_or_default()
}

/// The bytes of a project file holding `fields`.
pub fn encode_fields(fields: Fields) -> Vec<u8> {
    let state = PluginState {
        version: env!("CARGO_PKG_VERSION").to_owned(),
        params: BTreeMap::new(),
        fields,
    };
    serde_json::to_vec(&state).unwrap_or_default()
}

/// Writes `bytes` to `path` atomically: a temporary file beside it, synced, renamed over it.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), ProjectError> {
    let err = |source| ProjectError::Write {
        path: path.to_owned(),
        source,
    };
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let mut tmp = tempfile::Builder::new()
        .prefix(".keyboardia-")
        .suffix(".tmp")
        .tempfile_in(dir)
        .map_err(err)?;
    tmp.write_all(bytes).map_err(err)?;
    // The file keeps its permissions; a new one gets the usual ones, not the temporary's 0600.
    let permissions = match std::fs::metadata(path) {
        Ok(m) => Some(m.permissions()),
        Err(_) => default_permissions(),
    };
    if let Some(p) = permissions {
        tmp.as_file().set_permissions(p).map_err(err)?;
    }
    tmp.as_file().sync_all().map_err(err)?;
    tmp.persist(path).map_err(|e| err(e.error))?;
    Ok(())
}

/// Read and write for the user, read for others (a new file's permissions).
#[cfg(unix)]
fn default_permissions() -> Option<std::fs::Permissions> {
    use std::os::unix::fs::PermissionsExt;
    Some(std::fs::Permissions::from_mode(0o644))
}

#[cfg(not(unix))]
fn default_permissions() -> Option<std::fs::Permissions> {
    None
}

/// The project path given to the standalone app (see [`set_standalone_path`]).
static STANDALONE_PATH: OnceLock<PathBuf> = OnceLock::new();

/// Set by the standalone app before it starts: the project it opens (created if missing).
pub fn set_standalone_path(path: PathBuf) {
    let _ = STANDALONE_PATH.set(path);
}

/// The project the standalone app was started on, if any.
pub fn standalone_path() -> Option<&'static Path> {
    STANDALONE_PATH.get().map(PathBuf::as_path)
}

/// The open project, for [`save_open`] (held weakly: it never keeps a closed plugin alive).
static OPEN: Mutex<Option<Weak<Shared>>> = Mutex::new(None);

/// Saves the open project now, if there is one (the standalone's SIGTERM handler calls it
/// before it exits). Returns the path written.
pub fn save_open() -> Result<Option<PathBuf>, ProjectError> {
    let open = lock(&OPEN).as_ref().and_then(Weak::upgrade);
    match open {
        Some(shared) => shared.save().map(Some),
        None => Ok(None),
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// What the project and its autosave thread share.
struct Shared {
    /// The plain data saved with the project; its fields' hooks reach the services.
    params: Arc<KeyboardiaParams>,
    /// The session, watched for changes through its change counter.
    store: Arc<SessionStore>,
    /// The live session: left before another project opens, rejoined after.
    live: Arc<Live>,
    /// The file saves go to.
    path: Mutex<PathBuf>,
    /// What was last written and when, so unchanged state is not rewritten.
    saved: Mutex<Saved>,
    /// The last save error, shown by the editor until a save succeeds.
    error: Mutex<Option<String>>,
    /// The file of the recent-files list (`None`: no list is kept).
    recent: Option<PathBuf>,
}

/// The last write.
#[derive(Default)]
struct Saved {
    /// The store's change counter the last write (or load) saw.
    changes: u64,
    /// The bytes last written to (or read from) the current path.
    bytes: Vec<u8>,
}

impl Shared {
    /// Writes the current state to the project's path (unless the file already holds it).
    fn save(&self) -> Result<PathBuf, ProjectError> {
        let path = lock(&self.path).clone();
        let changes = self.store.changes();
        let bytes = encode_fields(self.params.serialize_fields());
        let mut saved = lock(&self.saved);
        if saved.bytes != bytes || !path.exists() {
            let result = write_atomic(&path, &bytes);
            *lock(&self.error) = result.as_ref().err().map(ToString::to_string);
            result?;
            saved.bytes = bytes;
        }
        saved.changes = changes;
        Ok(path)
    }

    /// Loads `fields` into the services (leaving and rejoining the live session as saved).
    fn load(&self, fields: &Fields) {
        self.live.leave();
        // A file without a live session clears the one restored before.
        self.live.set_restored(None);
        self.params.deserialize_fields(fields);
        self.live.rejoin_restored();
    }

    /// Opens the existing file `path` (at start).
    fn open_file(&self, path: &Path) -> Result<(), ProjectError> {
        let fields = read_fields(path)?;
        self.load_fields(&fields, path)
    }

    fn load_fields(&self, fields: &Fields, path: &Path) -> Result<(), ProjectError> {
        self.load(fields);
        let mut saved = lock(&self.saved);
        saved.changes = self.store.changes();
        // What the file held: a save of an unchanged project does not rewrite it (an older
        // file is rewritten in today's format by the first save: an autosave after a change,
        // closing the app or SIGTERM).
        saved.bytes = std::fs::read(path).unwrap_or_default();
        drop(saved);
        Recent::add(self.recent.as_deref(), path);
        Ok(())
    }
}

/// An open project file with its autosave thread (see the module doc). Dropping it saves once
/// more and stops the thread.
pub struct Project {
    /// Shared with the autosave thread.
    shared: Arc<Shared>,
    /// Stops the autosave thread (dropped, or sent to).
    stop: Option<mpsc::Sender<()>>,
    /// The autosave thread, joined on drop.
    thread: Option<JoinHandle<()>>,
}

impl Project {
    /// Opens `path` into the services (or, if it does not exist, creates it from the current
    /// session) and starts autosaving to it. Also the project [`save_open`] saves.
    pub fn open(
        path: &Path,
        params: Arc<KeyboardiaParams>,
        store: Arc<SessionStore>,
        live: Arc<Live>,
        recent: Option<PathBuf>,
    ) -> Result<Self, ProjectError> {
        let shared = Arc::new(Shared {
            params,
            store,
            live,
            path: Mutex::new(path.to_owned()),
            saved: Mutex::new(Saved::default()),
            error: Mutex::new(None),
            recent,
        });
        if path.exists() {
            shared.open_file(path)?;
        } else {
            shared.save()?;
            Recent::add(shared.recent.as_deref(), path);
        }
        *lock(&OPEN) = Some(Arc::downgrade(&shared));
        let (stop, stopped) = mpsc::channel();
        let weak = Arc::downgrade(&shared);
        let thread = std::thread::Builder::new()
            .name("keyboardia-autosave".into())
            .spawn(move || autosave(weak, stopped))
            .ok();
        Ok(Self {
            shared,
            stop: Some(stop),
            thread,
        })
    }

    /// The recent-files list.
    pub fn recent(&self) -> Recent {
        Recent::load(self.shared.recent.as_deref())
    }

    /// The file saves go to.
    pub fn path(&self) -> PathBuf {
        lock(&self.shared.path).clone()
    }

    /// The last save error, if the last save failed.
    pub fn error(&self) -> Option<String> {
        lock(&self.shared.error).clone()
    }

    /// Whether changes are waiting for the autosave.
    pub fn dirty(&self) -> bool {
        self.shared.store.changes() != lock(&self.shared.saved).changes
    }

    /// Saves now.
    pub fn save(&self) -> Result<PathBuf, ProjectError> {
        self.shared.save()
    }

    /// Saves the current state to `path`, which becomes the project's file.
    pub fn save_as(&self, path: &Path) -> Result<(), ProjectError> {
        let before = std::mem::replace(&mut *lock(&self.shared.path), path.to_owned());
        lock(&self.shared.saved).bytes.clear();
        if let Err(e) = self.shared.save() {
            *lock(&self.shared.path) = before;
            return Err(e);
        }
        Recent::add(self.shared.recent.as_deref(), path);
        Ok(())
    }

    /// Saves the current project, then opens `path` (a file that does not load changes
    /// nothing). A missing file is created from the current session, as at start.
    pub fn open_other(&self, path: &Path) -> Result<(), ProjectError> {
        if !path.exists() {
            return self.save_as(path);
        }
        let fields = read_fields(path)?;
        let _ = self.shared.save();
        *lock(&self.shared.path) = path.to_owned();
        self.shared.load_fields(&fields, path)
    }
}

impl Drop for Project {
    fn drop(&mut self) {
        drop(self.stop.take());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
        // The last word: the window closed or the app ends.
        let _ = self.shared.save();
    }
}

/// The autosave thread: writes [`AUTOSAVE_DELAY`] after the first change the last write did
/// not see (so steady editing still saves every few seconds), until stopped.
fn autosave(shared: Weak<Shared>, stop: mpsc::Receiver<()>) {
    let mut first_change: Option<Instant> = None;
    loop {
        match stop.recv_timeout(AUTOSAVE_POLL) {
            Err(RecvTimeoutError::Timeout) => {}
            _ => return,
        }
        let Some(shared) = shared.upgrade() else {
            return;
        };
        if shared.store.changes() == lock(&shared.saved).changes {
            first_change = None;
            continue;
        }
        let since = *first_change.get_or_insert_with(Instant::now);
        if since.elapsed() >= AUTOSAVE_DELAY {
            // A failed save is shown by the editor and tried again after the next delay.
            let _ = shared.save();
            first_change = None;
        }
    }
}

/// Bounces one loop of the session (the longest track once, at least a bar), its sample tracks
/// included, with the offline renderer, streamed to `path` as a 48 kHz stereo float WAV,
/// atomically. Returns the frames written.
pub fn export_wav(store: &SessionStore, path: &Path) -> Result<usize, ProjectError> {
    use keyboardia_engine::render::{
        bars_to_frames, bounce_wav_to, Length, RenderOptions, Renderer,
    };
    let (pattern, samples) = store.pattern_with_samples();
    let opts = RenderOptions::default();
    let one_bar = bars_to_frames(1.0, pattern.tempo_bpm, opts.sample_rate_hz);
    let frames = Length::Loops(1)
        .frames(&pattern, opts.sample_rate_hz)?
        .max(one_bar);
    let mut renderer = Renderer::new(&pattern, &opts, frames);
    for (slot, buffer) in samples {
        renderer.set_sample(slot, Some(buffer));
    }
    let mut wav = std::io::Cursor::new(Vec::new());
    bounce_wav_to(&mut wav, renderer, |_| {})?;
    write_atomic(path, wav.get_ref())?;
    Ok(frames)
}

/// Exports one loop of the session as a Standard MIDI File (type 1, a track per track, the
/// session's seed rolling the probability locks), atomically. Returns the file's size.
pub fn export_midi(store: &SessionStore, path: &Path) -> Result<usize, ProjectError> {
    use keyboardia_engine::midi::{export, MidiOptions};
    use keyboardia_engine::render::Length;
    let bytes = export(&store.state(), Length::Loops(1), &MidiOptions::default())?;
    write_atomic(path, &bytes)?;
    Ok(bytes.len())
}

/// The recent-files list (most recent first), kept as JSON in a file of the user's config
/// directory ([`Recent::default_file`]).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Recent {
    /// The files, most recent first, at most [`MAX_RECENT`], no duplicates.
    pub paths: Vec<PathBuf>,
}

impl Recent {
    /// Where the app keeps the list (`$XDG_CONFIG_HOME/keyboardia/recent.json` on Linux).
    pub fn default_file() -> Option<PathBuf> {
        let dirs = directories::ProjectDirs::from("dev", "keyboardia", "keyboardia")?;
        Some(dirs.config_dir().join("recent.json"))
    }

    /// The list saved in `file` (empty if there is none or it does not parse).
    pub fn load(file: Option<&Path>) -> Self {
        let paths = file
            .and_then(|f| std::fs::read(f).ok())
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_default();
        Self { paths }
    }

    /// Puts `path` first (absolute) in the list saved in `file`. A list that cannot be saved is
    /// only a convenience lost, never an error for the project.
    pub fn add(file: Option<&Path>, path: &Path) -> Self {
        let mut recent = Self::load(file);
        let path = std::path::absolute(path).unwrap_or_else(|_| path.to_owned());
        recent.paths.retain(|p| *p != path);
        recent.paths.insert(0, path);
        recent.paths.truncate(MAX_RECENT);
        if let Some(file) = file {
            if let Some(dir) = file.parent() {
                let _ = std::fs::create_dir_all(dir);
            }
            if let Ok(json) = serde_json::to_vec(&recent.paths) {
                let _ = write_atomic(file, &json);
            }
        }
        recent
    }
}

#[cfg(test)]
#[path = "project_tests.rs"]
mod tests;
