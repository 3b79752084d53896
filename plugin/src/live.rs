//! Live sessions: the bridge between the plugin and the sync companion.
//!
//! [`Live`] owns the [`SyncHandle`] while a session is joined, and the [`SharedClock`] the audio
//! thread reads in server-clock mode. Its sink (on the sync thread) puts the room's state into
//! the [`SessionStore`](crate::session::SessionStore) — which hands patterns to the audio thread
//! through its lock-free queues — hands decoded shared samples to the sampler, and keeps a
//! [`Status`] for the editor's session bar. Local edits reach it through the store's edit
//! listener, so every edit, from the editor or undo, goes to the room.
//!
//! The joined session (server, id, name) and the edits the room has not acknowledged are saved
//! with the plugin's state, so a DAW restart rejoins by itself and loses nothing.
//!
//! When the player is signed in (the account service, `account.rs`) the connection presents a
//! short-lived ticket on each connect, so the owner of a locked session edits it; the session's
//! owner and mode ([`Access`]) come with every snapshot of the room.
//!
//! Nothing here runs on the audio thread except [`SharedClock::read`].

use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::Instant;

use keyboardia_core::client::ClientEvent;
use keyboardia_core::protocol::PlayerId;
use keyboardia_core::{Change, Mode, Op, PatternId, SampleId, SessionId, TrackId};
use keyboardia_engine::SampleBuffer;
use keyboardia_sync::auth::SignedIn;
use keyboardia_sync::{
    ConnectionState, Rest, SampleEvent, Server, SharedClock, SyncConfig, SyncError, SyncEvent,
    SyncHandle,
};

pub use crate::persist::Joined;
use crate::session::SessionStore;

/// How long a flash lasts, what flashes, a shared sample's transfer and what the session bar
/// shows: the editor's types, which the sink fills in directly.
pub use keyboardia_ui::host::{Connection, Flash, Status, Transfer, FLASH};
/// Most remembered highlights (older ones are dropped).
const MAX_FLASHES: usize = 256;

/// The player's palette colour (0 for a player not, or no longer, present).
fn color_of(s: &Status, player: PlayerId) -> u8 {
    s.players
        .iter()
        .find(|p| p.id == player)
        .map_or(0, |p| p.color)
}

/// Records where the shared sample `name` stands (newest last, the last 8 kept).
fn set_transfer(s: &mut Status, name: &str, t: Transfer) {
    s.transfers.retain(|(n, _)| n != name);
    s.transfers.push((name.to_owned(), t));
    if s.transfers.len() > 8 {
        s.transfers.remove(0);
    }
}

/// Records where the upload of the shared take `id` stands (newest last, the last 8 kept).
fn set_upload(s: &mut Status, id: &SampleId, t: Transfer) {
    s.uploads.retain(|(u, _)| u != id);
    s.uploads.push((id.clone(), t));
    if s.uploads.len() > 8 {
        s.uploads.remove(0);
    }
}

/// The sync side's connection state as the session bar shows it (`None`: not trying).
fn connection(c: ConnectionState) -> Option<Connection> {
    match c {
        ConnectionState::Connecting { attempt } => Some(Connection::Connecting { attempt }),
        ConnectionState::Joined { .. } => Some(Connection::Joined),
        ConnectionState::Offline { error, retry_in } => Some(Connection::Offline {
            error: error.to_string(),
            retry_in,
        }),
        ConnectionState::Stopped { .. } => None,
    }
}

/// Who owns the joined session and who may edit it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Access {
    /// The owner's user id; `None` while unowned.
    pub owner_id: Option<String>,
    /// Who may edit.
    pub mode: Mode,
}

/// The plugin's live-session bridge (shared by `Arc` between the plugin, its editor and the sync
/// thread's sink).
pub struct Live {
    /// The session the room's state goes into (held weakly: a live session never keeps a closed
    /// plugin alive).
    store: Weak<SessionStore>,
    /// Server clock for the audio thread; survives leaving and rejoining.
    clock: Arc<SharedClock>,
    /// The running sync companion, when joined.
    sync: Mutex<Option<SyncHandle>>,
    /// The joined session (its pending edits are read from `sync` when saving); `None` when
    /// playing alone. `status.session` is its id.
    joined: Mutex<Option<Joined>>,
    /// What the session bar shows, filled in by the sync thread's sink.
    status: Arc<Mutex<Status>>,
    /// What the host restored before the plugin could join (joined in `initialize`).
    restored: Mutex<Option<Joined>>,
    /// The identity every connection presents (shared with the account service, which signs
    /// in and out).
    signed_in: SignedIn,
    /// The joined session's owner and mode, as the room's last snapshot or this player's last
    /// claim or lock said; `None` until known, and when not joined.
    access: Arc<Mutex<Option<Access>>>,
}

impl Live {
    /// A bridge, not joined, that puts the room's state into `store`, joining anonymously.
    pub fn new(store: &Arc<SessionStore>) -> Self {
        Self::with_sign_in(store, SignedIn::default())
    }

    /// A bridge whose connections present `signed_in`'s identity.
    pub fn with_sign_in(store: &Arc<SessionStore>, signed_in: SignedIn) -> Self {
        Self {
            store: Arc::downgrade(store),
            clock: Arc::new(SharedClock::default()),
            sync: Mutex::new(None),
            joined: Mutex::new(None),
            status: Arc::new(Mutex::new(Status::default())),
            restored: Mutex::new(None),
            signed_in,
            access: Arc::new(Mutex::new(None)),
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Live {
    /// The clock the audio thread reads in server mode.
    pub fn clock(&self) -> &Arc<SharedClock> {
        &self.clock
    }

    /// A copy of the status for the editor.
    pub fn status(&self) -> Status {
        let mut s = lock(&self.status);
        s.flashes.retain(|f| f.at.elapsed() < FLASH);
        s.clone()
    }

    pub fn is_joined(&self) -> bool {
        lock(&self.sync).is_some()
    }

    /// The joined session (server, id, name), if any.
    pub fn joined(&self) -> Option<Joined> {
        lock(&self.joined).clone()
    }

    /// The link other players paste to join.
    pub fn invite_link(&self) -> Option<String> {
        lock(&self.sync).as_ref().map(|s| s.invite_link())
    }

    /// Joins `joined.session` on `joined.server`; the current pattern plays until the first
    /// snapshot replaces it. Leaves the current session first.
    pub fn join(&self, joined: Joined) -> Result<(), String> {
        let server = Server::new(&joined.server)
            .map_err(|_| format!("not a server address: {}", joined.server))?;
        self.leave();
        let config = SyncConfig {
            name: joined.name.clone(),
            ..SyncConfig::default()
        };
        let state = self.store.upgrade().map(|s| s.state()).unwrap_or_default();
        // Before the sync thread starts, so its first reports are not wiped.
        *lock(&self.status) = Status {
            session: Some(joined.session),
            ..Status::default()
        };
        *lock(&self.access) = None;
        let sink = sink(self.store.clone(), self.status.clone(), self.access.clone());
        let sync = SyncHandle::start_signed_in(
            server,
            joined.session,
            config,
            state,
            joined.pending.clone(),
            self.clock.clone(),
            self.signed_in.clone(),
            sink,
        )
        .map_err(|e| {
            *lock(&self.status) = Status::default();
            format!("cannot start the sync thread: {e}")
        })?;
        *lock(&self.joined) = Some(Joined {
            pending: Vec::new(),
            ..joined
        });
        *lock(&self.sync) = Some(sync);
        Ok(())
    }

    /// Creates a session on `server` holding the current pattern, and joins it.
    pub fn create(&self, server: &str, name: &str) -> Result<SessionId, String> {
        let rest =
            Rest::new(Server::new(server).map_err(|_| format!("not a server address: {server}"))?);
        let state = self.store.upgrade().map(|s| s.state()).unwrap_or_default();
        let session = block_on(rest.create(&state)).map_err(|e| e.to_string())?;
        self.join(Joined {
            server: server.into(),
            session: session.id,
            name: name.into(),
            pending: vec![],
        })?;
        Ok(session.id)
    }

    /// Forks the joined session (a new session with its current state) and joins the fork.
    pub fn fork(&self) -> Result<SessionId, String> {
        let joined = lock(&self.joined).clone().ok_or("not in a session")?;
        let rest = Rest::new(Server::new(&joined.server).map_err(|e| e.to_string())?);
        let fork = block_on(rest.fork(joined.session)).map_err(|e| e.to_string())?;
        self.join(Joined {
            session: fork.id,
            pending: vec![],
            ..joined
        })?;
        Ok(fork.id)
    }

    /// Leaves the session; the pattern stays as it is, to keep playing alone.
    pub fn leave(&self) {
        let sync = lock(&self.sync).take();
        // Joined outside the lock: the sync thread's sink takes the status lock.
        drop(sync);
        *lock(&self.joined) = None;
        *lock(&self.status) = Status::default();
        *lock(&self.access) = None;
    }

    /// The joined session's owner and mode, once known.
    pub fn access(&self) -> Option<Access> {
        lock(&self.access).clone()
    }

    /// Records the owner and mode a claim or lock of this player's returned (the room's
    /// snapshot says the same a moment later).
    pub fn set_access(&self, session: SessionId, access: Access) {
        if lock(&self.status).session == Some(session) {
            *lock(&self.access) = Some(access);
        }
    }

    /// The identity the connections present.
    pub fn signed_in(&self) -> &SignedIn {
        &self.signed_in
    }

    /// Connects again now, presenting the current identity (after signing in or out).
    pub fn reconnect(&self) {
        if let Some(sync) = lock(&self.sync).as_ref() {
            let _ = sync.reconnect();
        }
    }

    /// Sends a local edit the store has applied (the store's edit listener).
    pub fn forward(&self, op: &Op) {
        if let Some(sync) = lock(&self.sync).as_ref() {
            if let Err(e) = sync.edit(op.clone()) {
                lock(&self.status).error = Some(e.to_string());
            }
        }
    }

    /// Starts or stops the shared transport (server-clock mode).
    pub fn set_playing(&self, playing: bool) {
        if let Some(sync) = lock(&self.sync).as_ref() {
            let _ = sync.set_playing(playing);
        }
    }

    /// Queues pattern `pt` on the session's shared timeline (session-clock mode): the room
    /// stamps where it takes over, the same step for every player.
    pub fn cue_pattern(&self, pt: PatternId) {
        self.command(|sync| sync.cue_pattern(pt));
    }

    /// Switches the session's song mode on or off (session-clock mode).
    pub fn set_song_mode(&self, on: bool) {
        self.command(|sync| sync.set_song_mode(on));
    }

    /// Holds or releases the session's fill switch (session-clock mode).
    pub fn set_fill(&self, on: bool) {
        self.command(|sync| sync.set_fill(on));
    }

    /// Runs `send` on the sync handle while joined; a failure shows in the session bar.
    fn command(&self, send: impl FnOnce(&SyncHandle) -> Result<(), SyncError>) {
        if let Some(sync) = lock(&self.sync).as_ref() {
            if let Err(e) = send(sync) {
                lock(&self.status).error = Some(e.to_string());
            }
        }
    }

    /// Shares a WAV file with the session.
    pub fn share_sample(&self, name: &str, wav: Vec<u8>) -> Result<(), String> {
        let guard = lock(&self.sync);
        let sync = guard.as_ref().ok_or("join a session to share samples")?;
        sync.upload_sample(name, wav).map_err(|e| e.to_string())?;
        set_transfer(
            &mut lock(&self.status),
            name,
            Transfer::Uploading { sent: 0, total: 0 },
        );
        Ok(())
    }

    /// Shares a recorded take with the session: uploads `wav` under its content id, which is
    /// returned (tracks may play it at once; every player fetches it once the room announces
    /// the upload). Network failures are retried until it gets through; if the server refuses
    /// it for good, the tracks playing it are taken off the grid (see [`sample_event`]).
    pub fn share_take(&self, name: &str, wav: Vec<u8>) -> Result<SampleId, String> {
        let guard = lock(&self.sync);
        let sync = guard.as_ref().ok_or("not in a live session")?;
        let id = sync
            .upload_sample_as(name, wav)
            .map_err(|e| format!("cannot share the take: {e}"))?;
        set_upload(
            &mut lock(&self.status),
            &id,
            Transfer::Uploading { sent: 0, total: 0 },
        );
        Ok(id)
    }

    /// Joins what the host restored, if anything (called once the plugin is set up).
    pub fn rejoin_restored(&self) {
        if let Some(joined) = lock(&self.restored).take() {
            if let Err(e) = self.join(joined) {
                lock(&self.status).error = Some(e);
            }
        }
    }

    fn saved(&self) -> Option<Joined> {
        let joined = lock(&self.joined).clone()?;
        let pending = lock(&self.sync)
            .as_ref()
            .map(|s| s.pending())
            .unwrap_or_default();
        Some(Joined { pending, ..joined })
    }
}

/// Runs a REST call to completion from a GUI thread (these are quick, rare user actions).
/// Runs one REST call to completion on a runtime of its own (the editor's calls).
pub(crate) fn block_on<F: std::future::Future>(f: F) -> F::Output {
    match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt.block_on(f),
        Err(e) => panic!("cannot start a runtime for a REST call: {e}"),
    }
}

/// The sync thread's sink: state into the store, samples to the sampler, the rest to the status.
/// It holds the store weakly, so a live session never keeps a closed plugin alive.
fn sink(
    store: Weak<SessionStore>,
    status: Arc<Mutex<Status>>,
    access: Arc<Mutex<Option<Access>>>,
) -> impl FnMut(SyncEvent) + Send + 'static {
    move |event| match event {
        SyncEvent::Access { owner_id, mode } => *lock(&access) = Some(Access { owner_id, mode }),
        SyncEvent::State(state) => {
            if let Some(store) = store.upgrade() {
                store.replace_state(*state);
            }
        }
        SyncEvent::Connection(c) => {
            let mut s = lock(&status);
            match &c {
                ConnectionState::Joined { you } => s.you = Some(*you),
                // Said once, and it stays: the sync side no longer tries.
                ConnectionState::Stopped { error } => {
                    s.error = Some(format!("{error}: check the link; not retrying"));
                }
                _ => {}
            }
            s.connection = connection(c);
        }
        SyncEvent::Players(players) => lock(&status).players = players,
        SyncEvent::EditRefused { error, .. } => lock(&status).error = Some(error.to_string()),
        SyncEvent::Client(ev) => client_event(ev, &status),
        SyncEvent::Sample(ev) => {
            if let Some(store) = store.upgrade() {
                sample_event(ev, &store, &status);
            }
        }
    }
}

fn client_event(ev: ClientEvent, status: &Mutex<Status>) {
    let mut s = lock(status);
    match ev {
        ClientEvent::Synced { you } => s.you = Some(you),
        // The list itself comes whole with `SyncEvent::Players`.
        ClientEvent::PlayerJoined(_) | ClientEvent::PlayerLeft(_) => {}
        ClientEvent::RemoteEdit { by, change, .. } => {
            let color = color_of(&s, by);
            let (track, step) = match change {
                Change::Step { track, step } => (track, Some(step)),
                Change::Pattern { track }
                | Change::TrackSettings { track }
                | Change::TrackAdded { track, .. } => (track, None),
                _ => return,
            };
            s.flashes.push(Flash {
                track,
                step,
                color,
                at: Instant::now(),
            });
            if s.flashes.len() > MAX_FLASHES {
                s.flashes.remove(0);
            }
        }
        ClientEvent::Rejected { msg, .. } | ClientEvent::Error { msg, .. } => s.error = Some(msg),
        ClientEvent::BadMessage(e) => s.error = Some(e.to_string()),
        ClientEvent::Timeline(_) | ClientEvent::SampleAdded { .. } | ClientEvent::Desynced => {}
    }
}

fn sample_event(ev: SampleEvent, store: &SessionStore, status: &Mutex<Status>) {
    match ev {
        SampleEvent::Ready { id, name, sample } => {
            let buffer = SampleBuffer {
                frames: sample.frames.into_boxed_slice(),
                sample_rate_hz: sample.sample_rate_hz as f32,
            };
            let mut s = lock(status);
            if store.load_sample(id.clone(), buffer).is_some() {
                set_transfer(&mut s, &name, Transfer::Downloaded(id));
            } else {
                set_transfer(
                    &mut s,
                    &name,
                    Transfer::Failed {
                        error: "every sample slot is in use".into(),
                        retrying: false,
                    },
                );
            }
        }
        SampleEvent::Uploading {
            name,
            id,
            sent,
            total,
        } => {
            let mut s = lock(status);
            match id {
                Some(id) => set_upload(&mut s, &id, Transfer::Uploading { sent, total }),
                None => set_transfer(&mut s, &name, Transfer::Uploading { sent, total }),
            }
        }
        SampleEvent::Uploaded(up) => {
            let mut s = lock(status);
            if s.upload_of(&up.id).is_some() {
                set_upload(&mut s, &up.id, Transfer::Uploaded(up.id.clone()));
            }
            set_transfer(&mut s, &up.name, Transfer::Uploaded(up.id))
        }
        SampleEvent::UploadFailed {
            name,
            id,
            error,
            retry_in,
        } => {
            let failed = Transfer::Failed {
                error: error.to_string(),
                retrying: retry_in.is_some(),
            };
            match id {
                Some(id) => {
                    set_upload(&mut lock(status), &id, failed);
                    if retry_in.is_none() {
                        // Nobody else will ever hear it: no track in the room may play it.
                        drop_tracks_playing(store, &id);
                    }
                }
                None => set_transfer(&mut lock(status), &name, failed),
            }
        }
        SampleEvent::FetchFailed {
            id,
            error,
            retry_in,
        } => set_transfer(
            &mut lock(status),
            id.as_str(),
            Transfer::Failed {
                error: error.to_string(),
                retrying: retry_in.is_some(),
            },
        ),
    }
}

/// Deletes the tracks that play `sample`, through the normal edit path (so the room drops them
/// too).
fn drop_tracks_playing(store: &SessionStore, sample: &SampleId) {
    let playing: Vec<TrackId> = store
        .state()
        .tracks
        .iter()
        .filter(|t| t.instrument == keyboardia_core::Instrument::Sample(sample.clone()))
        .map(|t| t.id)
        .collect();
    for tr in playing {
        let _ = store.apply(&Op::DeleteTrack { tr });
    }
}

impl Live {
    /// What the host restored (`"live"`), joined in [`Live::rejoin_restored`].
    pub fn set_restored(&self, joined: Option<Joined>) {
        *lock(&self.restored) = joined;
    }

    /// What to save as `"live"`: the joined session with its unacknowledged edits, else what
    /// was restored and not joined yet (`None` when playing alone).
    pub fn saved_or_restored(&self) -> Option<Joined> {
        let restored = lock(&self.restored).clone();
        self.saved().or(restored)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn joined() -> Joined {
        Joined {
            // Nothing listens on port 1: the player stays offline.
            server: "http://127.0.0.1:1".into(),
            session: "6f2d8bcd-0b14-46ae-9f2d-8bcd0b1476ae".parse().unwrap(),
            name: "Ada".into(),
            pending: vec![Op::SetSwing { v: 33.0 }, Op::SetTempo { v: 99.0 }],
        }
    }

    #[test]
    fn unacknowledged_edits_stay_in_the_saved_state_while_offline() {
        let store = Arc::new(SessionStore::default());
        let live = Live::new(&store);
        // Restored by the host, saved again before the plugin was activated: nothing is lost.
        live.set_restored(Some(joined()));
        assert_eq!(live.saved_or_restored(), Some(joined()));
        // Activated: the session is rejoined (offline here), and the pending edits are still
        // what a save writes, waiting for the server.
        live.rejoin_restored();
        assert!(live.is_joined());
        assert_eq!(live.status().session, Some(joined().session));
        std::thread::sleep(Duration::from_millis(200));
        assert_eq!(live.saved_or_restored(), Some(joined()));
        live.leave();
        assert_eq!(live.saved_or_restored(), None, "left: nothing to rejoin");
        assert_eq!(live.status().session, None);
    }
}
