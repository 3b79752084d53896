//! Beats in the plugin and the standalone app (issue 15): publish the joined session as a named
//! beat, its history, open a beat read-only, remix it; over sync's REST client.
//!
//! Opening a beat shows it in the editor's read-only mode and plays it: the session being
//! edited is put aside (its pattern kept here, the live session left), the beat's state and
//! pinned samples go into the store. **Close beat** brings the pattern back and rejoins;
//! **Remix** creates the remix session on the server and joins it (editable again). A beat link
//! pasted into the session bar's join field, or given to `keyboardia-standalone` (also as a
//! `keyboardia:` link, see [`open_at_start`]), opens the beat.
//!
//! The REST calls run on the editor's thread (like New session and Fork), bounded by the REST
//! client's timeouts.

use std::sync::{Arc, Mutex, MutexGuard};

use keyboardia_core::audio::{decode_wav, AudioError};
use keyboardia_core::beat::Beat;
use keyboardia_core::{BeatId, SampleId, SessionId, SessionState};
use keyboardia_engine::SampleBuffer;
use keyboardia_sync::{Rest, RestError, Server, DEFAULT_SERVER};
use keyboardia_ui::beats_panel::{beat_link, parse_beat_link};
use keyboardia_ui::host::{self as ui, BeatView, BeatsStatus, LiveError};

use crate::live::{block_on, Joined, Live};
use crate::session::SessionStore;

/// A beat link the app was started with (`keyboardia-standalone <link>`), opened when the
/// editor first asks for the beats panel.
static AT_START: Mutex<Option<(Option<String>, BeatId)>> = Mutex::new(None);

/// Opens the beat `link` names (`…/b/{id}` or `keyboardia:…/b/{id}`) once the editor shows;
/// `false` when it is no beat link.
pub fn open_at_start(link: &str) -> bool {
    match parse_beat_link(link) {
        Some(beat) => {
            *lock(&AT_START) = Some(beat);
            true
        }
        None => false,
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// A beat shown read-only, and what it put aside.
struct Viewing {
    /// What the panel shows.
    view: BeatView,
    /// The server it came from (remix goes there).
    server: String,
    /// The pattern being edited before, brought back by Close.
    before: SessionState,
    /// The live session left to show the beat, rejoined by Close.
    rejoin: Option<Joined>,
}

/// The panel's state.
#[derive(Default)]
struct State {
    /// History, request outcome (its `viewing` is filled from `viewing`).
    status: BeatsStatus,
    /// The beat shown, if any.
    viewing: Option<Viewing>,
}

/// Beats over REST, for the editor (see the module doc).
pub struct PluginBeats {
    /// The session the beat is shown in.
    store: Arc<SessionStore>,
    /// The live session (publish and history need it joined; a beat is shown outside it).
    live: Arc<Live>,
    /// What the panel shows.
    state: Mutex<State>,
}

/// Why a beats request failed (what the panel shows).
#[derive(Debug, thiserror::Error)]
pub enum BeatsError {
    /// Publish and history need a joined session.
    #[error("join or start a live session first")]
    NotJoined,
    /// Remix needs a beat shown.
    #[error("no beat is open")]
    NoBeat,
    /// The server address does not parse.
    #[error("not a server address: {0}")]
    BadServer(String),
    /// The server refused or could not be reached.
    #[error(transparent)]
    Rest(#[from] RestError),
    /// A pinned sample is not a WAV file this app reads.
    #[error("sample {id}: {source}")]
    Sample {
        /// The sample.
        id: SampleId,
        /// Why it does not decode.
        source: AudioError,
    },
    /// Joining the remix (or the session put aside) failed.
    #[error("{0}")]
    Join(String),
}

type Failed = BeatsError;

fn rest_on(server: &str) -> Result<Rest, Failed> {
    Ok(Rest::new(
        Server::new(server).map_err(|_| BeatsError::BadServer(server.to_owned()))?,
    ))
}

impl PluginBeats {
    pub fn new(store: Arc<SessionStore>, live: Arc<Live>) -> Self {
        Self {
            store,
            live,
            state: Mutex::new(State::default()),
        }
    }

    fn say(&self, result: Result<String, Failed>) {
        let mut s = lock(&self.state);
        s.status.message_is_error = result.is_err();
        s.status.message = Some(result.unwrap_or_else(|e| e.to_string()));
    }

    /// The joined session, or why there is none.
    fn joined(&self) -> Result<Joined, Failed> {
        self.live.joined().ok_or(BeatsError::NotJoined)
    }

    /// Publishes the joined session now as a beat named `name`; the beat.
    pub fn publish_now(&self, name: &str) -> Result<Beat, Failed> {
        let joined = self.joined()?;
        let rest = rest_on(&joined.server)?;
        let name = (!name.is_empty()).then_some(name);
        let beat = block_on(rest.publish_beat(joined.session, name))?;
        lock(&self.state).status.history.push(beat.summary());
        Ok(beat)
    }

    /// The joined session's beats, fetched again.
    pub fn history_now(&self) -> Result<usize, Failed> {
        let joined = self.joined()?;
        let beats = block_on(rest_on(&joined.server)?.list_beats(joined.session))?;
        let n = beats.len();
        lock(&self.state).status.history = beats;
        Ok(n)
    }

    /// Opens beat `id` read-only (see the module doc); the beat.
    pub fn open_now(&self, server: Option<&str>, id: BeatId) -> Result<Beat, Failed> {
        let server = server
            .map(str::to_owned)
            .or_else(|| self.live.joined().map(|j| j.server))
            .or_else(|| lock(&self.state).viewing.as_ref().map(|v| v.server.clone()))
            .unwrap_or_else(|| DEFAULT_SERVER.to_owned());
        let rest = rest_on(&server)?;
        let beat = block_on(rest.get_beat(id))?;
        let mut samples = Vec::new();
        for sample in beat.sample_ids() {
            let bytes = block_on(rest.beat_sample(id, &sample))?;
            let decoded = decode_wav(&bytes).map_err(|source| BeatsError::Sample {
                id: sample.clone(),
                source,
            })?;
            samples.push((sample, decoded));
        }
        let source = block_on(rest.load(beat.source_session_id))
            .ok()
            .map(|s| rest.server().invite_link(s.id));
        let view = BeatView {
            id,
            name: beat.name.clone(),
            link: beat_link(rest.server().base(), id),
            source_link: source,
            created_by: beat.byline().map(str::to_owned),
        };
        // Put the session aside (once: opening another beat keeps the first thing put aside).
        let aside = lock(&self.state)
            .viewing
            .take()
            .map(|v| (v.before, v.rejoin));
        let (before, rejoin) = aside.unwrap_or_else(|| {
            let rejoin = self.live.joined();
            self.live.leave();
            (self.store.state(), rejoin)
        });
        for (sample, decoded) in samples {
            self.store.load_sample(
                sample,
                SampleBuffer {
                    frames: decoded.frames.into_boxed_slice(),
                    sample_rate_hz: decoded.sample_rate_hz as f32,
                },
            );
        }
        self.store.replace_state(beat.state.clone());
        lock(&self.state).viewing = Some(Viewing {
            view,
            server: rest.server().base().to_owned(),
            before,
            rejoin,
        });
        Ok(beat)
    }

    /// Remixes the beat shown and joins the remix (editable); its id.
    pub fn remix_now(&self) -> Result<SessionId, Failed> {
        let (server, id, name) = {
            let s = lock(&self.state);
            let v = s.viewing.as_ref().ok_or(BeatsError::NoBeat)?;
            let name = v
                .rejoin
                .as_ref()
                .map_or("Player".into(), |j| j.name.clone());
            (v.server.clone(), v.view.id, name)
        };
        let session = block_on(rest_on(&server)?.remix_beat(id))?;
        lock(&self.state).viewing = None;
        lock(&self.state).status.history.clear();
        self.live
            .join(Joined {
                server,
                session: session.id,
                name,
                pending: vec![],
            })
            .map_err(BeatsError::Join)?;
        Ok(session.id)
    }

    /// Back from the beat to the pattern and session put aside.
    pub fn close_now(&self) {
        let Some(v) = lock(&self.state).viewing.take() else {
            return;
        };
        self.store.replace_state(v.before);
        if let Some(joined) = v.rejoin {
            if let Err(e) = self.live.join(joined) {
                self.say(Err(BeatsError::Join(e)));
            }
        }
    }

    /// Opens the beat the app was started with, once.
    fn open_pending(&self) {
        let pending = lock(&AT_START).take();
        if let Some((server, id)) = pending {
            let r = self.open_now(server.as_deref(), id);
            self.say(r.map(|_| format!("opened beat {id}")));
        }
    }
}

impl ui::Beats for PluginBeats {
    fn beats_status(&self) -> BeatsStatus {
        self.open_pending();
        let s = lock(&self.state);
        BeatsStatus {
            viewing: s.viewing.as_ref().map(|v| v.view.clone()),
            ..s.status.clone()
        }
    }

    fn publish(&self, name: &str) {
        let r = self.publish_now(name);
        self.say(r.map(|b| format!("published {}", b.id)));
    }

    fn refresh_history(&self) {
        if let Err(e) = self.history_now() {
            self.say(Err(e));
        }
    }

    fn open_beat(&self, server: Option<&str>, id: BeatId) {
        let r = self.open_now(server, id);
        self.say(r.map(|_| format!("opened beat {id}")));
    }

    fn remix(&self) {
        let r = self.remix_now();
        self.say(r.map(|id| format!("remixed into session {id}")));
    }

    fn closable(&self) -> bool {
        true
    }

    fn close_beat(&self) {
        self.close_now();
    }
}

/// The live session as the editor sees it: [`Live`]'s, plus beat links in the join field.
impl ui::LiveSession for PluginBeats {
    fn status(&self) -> ui::Status {
        ui::LiveSession::status(&*self.live)
    }
    fn is_joined(&self) -> bool {
        ui::LiveSession::is_joined(&*self.live)
    }
    fn timeline_playing(&self) -> Option<bool> {
        self.live.timeline_playing()
    }
    fn invite_link(&self) -> Option<String> {
        ui::LiveSession::invite_link(&*self.live)
    }
    fn default_server(&self) -> String {
        self.live.default_server()
    }
    fn parse_invite(&self, text: &str) -> Result<(Option<String>, SessionId), LiveError> {
        self.live.parse_invite(text)
    }
    fn create(&self, server: &str, name: &str) -> Result<SessionId, LiveError> {
        ui::LiveSession::create(&*self.live, server, name)
    }
    fn join(&self, server: &str, session: SessionId, name: &str) -> Result<(), LiveError> {
        ui::LiveSession::join(&*self.live, server, session, name)
    }
    fn fork(&self) -> Result<SessionId, LiveError> {
        ui::LiveSession::fork(&*self.live)
    }
    fn leave(&self) {
        ui::LiveSession::leave(&*self.live)
    }
    fn set_playing(&self, playing: bool) {
        ui::LiveSession::set_playing(&*self.live, playing)
    }
    fn share_sample_file(&self, path: &str) -> Result<String, LiveError> {
        self.live.share_sample_file(path)
    }
    fn open_beat_link(&self, text: &str) -> Option<Result<String, LiveError>> {
        let (server, id) = parse_beat_link(text)?;
        Some(
            self.open_now(server.as_deref(), id)
                .map(|_| format!("opened beat {id} (read-only)"))
                .map_err(|e| LiveError(e.to_string())),
        )
    }
}
