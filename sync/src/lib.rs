//! The sync companion: keeps a local session in step with a live room on a Keyboardia server.
//!
//! [`SyncHandle::start`] spawns one background thread that owns a current-thread tokio runtime,
//! the WebSocket and a [`keyboardia_core::client::Client`], the sans-IO state machine that holds
//! every policy (reconnect backoff with jitter, replay of edits made while offline, the clock-ping
//! schedule, which shared samples to fetch and when to retry). The thread's event loop only
//! carries out what the client asks, and reports everything through a sink callback that runs on
//! the sync thread. It never touches the audio
//! thread directly: the audio thread reads the server clock from a lock-free [`SharedClock`],
//! and the embedder forwards state through its own lock-free queues.

pub mod auth;
pub mod clock;
pub mod error;
mod eventloop;
pub mod link;
pub mod rest;

use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use keyboardia_core::audio::DecodedSample;
use keyboardia_core::client::{Client, ClientConfig, ClientEvent, EditError};
use keyboardia_core::clock::ClockSample;
use keyboardia_core::protocol::PlayerId;
use keyboardia_core::{Mode, Op, PatternId, SampleId, SessionId, SessionState};
use tokio::sync::mpsc;

pub use clock::{LocalClock, ServerClock, SharedClock};
pub use error::{ConnectionError, StateError, TransferError};
pub use link::{parse_invite, Server, DEFAULT_SERVER};
pub use rest::{Rest, RestError, UploadedSample};

/// Commands waiting for the sync thread; a full queue pushes back on the caller.
pub const COMMAND_QUEUE: usize = 1024;

/// Tuning of the connection (the client's [`ClientConfig`], in [`Duration`]s).
#[derive(Clone, Debug)]
pub struct SyncConfig {
    /// The player's display name.
    pub name: String,
    /// First reconnect delay bound.
    pub backoff_min: Duration,
    /// Longest reconnect delay.
    pub backoff_max: Duration,
    /// Pings sent quickly after each connect, for a first rough lock on the server clock.
    pub ping_burst: u32,
    /// Interval between the pings of the burst.
    pub ping_burst_interval: Duration,
    /// Interval after the burst while the clock locks (two pings a second), and the shortest
    /// one after answers disagree with the fitted clock.
    pub ping_lock_interval: Duration,
    /// Longest interval once locked: core's client backs off to it while the clock agrees
    /// (see `keyboardia_core::client::ClientConfig`).
    pub ping_max_interval: Duration,
    /// Ping on the room's grid of server time once at the longest interval (see
    /// `keyboardia_core::client::ClientConfig::ping_align`).
    pub ping_align: bool,
    /// From this interval on, pings go in pairs `ping_pair_gap` apart, a pair every two
    /// intervals (see `keyboardia_core::client::ClientConfig::ping_pair_from_ms`; a server that
    /// hibernates stamps the first late); [`Duration::MAX`]: never.
    pub ping_pair_from: Duration,
    /// The time between the two pings of a pair.
    pub ping_pair_gap: Duration,
    /// The server clock's resolution: its time stamps are whole multiples of it (see
    /// `keyboardia_core::client::ClientConfig::server_clock_tick_ms`). A Worker's are whole
    /// milliseconds (the default); zero for a server that stamps far finer.
    pub server_clock_tick: Duration,
    /// Where a copy of every clock sample (ping/pong exchange) goes as it is taken, if
    /// anywhere: the raw exchanges behind the estimate, for benchmarks.
    pub clock_samples: Option<std::sync::mpsc::Sender<ClockSample>>,
}

impl Default for SyncConfig {
    /// The client's default timings ([`ClientConfig::default`]).
    fn default() -> Self {
        let c = ClientConfig::default();
        let ms = |ms: f64| Duration::from_micros((ms * 1000.0).round() as u64);
        Self {
            name: c.name,
            backoff_min: ms(c.backoff_min_ms),
            backoff_max: ms(c.backoff_max_ms),
            ping_burst: c.ping_burst,
            ping_burst_interval: ms(c.ping_burst_interval_ms),
            ping_lock_interval: ms(c.ping_lock_interval_ms),
            ping_max_interval: ms(c.ping_max_interval_ms),
            ping_align: c.ping_align,
            ping_pair_from: if c.ping_pair_from_ms.is_finite() {
                ms(c.ping_pair_from_ms)
            } else {
                Duration::MAX
            },
            ping_pair_gap: ms(c.ping_pair_gap_ms),
            server_clock_tick: ms(c.server_clock_tick_ms),
            clock_samples: None,
        }
    }
}

impl SyncConfig {
    /// The client's config; `seed` seeds the jitter of its backoffs.
    pub fn client_config(&self, seed: u64) -> ClientConfig {
        let ms = |d: Duration| d.as_nanos() as f64 / 1e6;
        ClientConfig {
            name: self.name.clone(),
            backoff_min_ms: ms(self.backoff_min),
            backoff_max_ms: ms(self.backoff_max),
            ping_burst: self.ping_burst,
            ping_burst_interval_ms: ms(self.ping_burst_interval),
            ping_lock_interval_ms: ms(self.ping_lock_interval),
            ping_max_interval_ms: ms(self.ping_max_interval),
            ping_align: self.ping_align,
            ping_pair_from_ms: if self.ping_pair_from == Duration::MAX {
                f64::INFINITY
            } else {
                ms(self.ping_pair_from)
            },
            ping_pair_gap_ms: ms(self.ping_pair_gap),
            server_clock_tick_ms: ms(self.server_clock_tick),
            seed,
            ..ClientConfig::default()
        }
    }
}

/// Where the connection stands.
#[derive(Clone, Debug)]
pub enum ConnectionState {
    Connecting {
        attempt: u32,
    },
    /// In the room as player `you`.
    Joined {
        you: PlayerId,
    },
    /// Not connected; the next attempt is in `retry_in`. The instrument keeps working alone.
    Offline {
        error: ConnectionError,
        retry_in: Duration,
    },
    /// Not connected and not trying again: the server has no such session
    /// ([`ConnectionError::UnknownSession`]). The instrument keeps working alone.
    Stopped {
        error: ConnectionError,
    },
}

/// What the sync thread reports (on the sync thread).
#[derive(Clone, Debug)]
pub enum SyncEvent {
    Connection(ConnectionState),
    /// The local view: replace your copy with this. Sent when it changed for a reason other
    /// than the caller's own edits (snapshot, another player's edit, a refused edit rolled
    /// back), and after the caller's edits were taken: a view sent while an edit of the caller
    /// was still queued lacks it, and the one sent after it was taken gives it back.
    State(Box<SessionState>),
    /// An event of the room protocol (presence, timeline, samples, refusals, ...).
    Client(ClientEvent),
    /// Everyone in the room, this player included: the join snapshot's list, then after each
    /// join or leave. Replace your list with it (so players who left while this one was
    /// offline are gone at the next join); empty once the session turns out unknown.
    Players(Vec<keyboardia_core::protocol::Player>),
    /// An edit the sync thread could not take (the op did not apply to its view, or the
    /// offline queue is full).
    EditRefused {
        op: Op,
        error: EditError,
    },
    /// Progress and outcome of shared-sample uploads and downloads.
    Sample(SampleEvent),
    /// Who owns the session and who may edit it, from each snapshot: on join and reconnect, and
    /// whenever the session is claimed or locked (the room then sends every player a fresh one).
    Access {
        /// The owner's user id (or an owner key's hash); `None` while unowned.
        owner_id: Option<String>,
        /// Who may edit.
        mode: Mode,
    },
}

/// Shared samples on their way. Failures are always reported; network failures are retried
/// (`retry_in`), refusals and undecodable files are not (retrying cannot help).
#[derive(Clone, Debug)]
pub enum SampleEvent {
    Uploading {
        name: String,
        /// The id the uploader chose ([`SyncHandle::upload_sample_as`]), if it did.
        id: Option<SampleId>,
        sent: usize,
        total: usize,
    },
    Uploaded(UploadedSample),
    UploadFailed {
        name: String,
        /// The id the uploader chose, if it did.
        id: Option<SampleId>,
        error: TransferError,
        retry_in: Option<Duration>,
    },
    /// Downloaded and decoded (off the audio thread), ready to hand to the engine.
    Ready {
        id: SampleId,
        name: String,
        sample: DecodedSample,
    },
    FetchFailed {
        id: SampleId,
        error: TransferError,
        retry_in: Option<Duration>,
    },
}

#[derive(Debug)]
pub(crate) enum Command {
    Edit(Op),
    SetPlaying(bool),
    /// Queue a pattern on the shared timeline.
    Cue(PatternId),
    /// Song mode on or off on the shared timeline.
    SongMode(bool),
    /// The shared fill switch.
    Fill(bool),
    /// Drop the connection and connect again now.
    Reconnect,
    Upload {
        name: String,
        wav: Vec<u8>,
        /// The content id to upload under; the server picks one when `None`.
        id: Option<SampleId>,
    },
    Fetch {
        id: SampleId,
        name: String,
    },
}

/// Why a command could not be queued.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum SyncError {
    #[error("the sync thread is busy: too many commands queued")]
    Busy,
    #[error("the sync thread has stopped")]
    Stopped,
}

/// Handle to the background sync thread. Dropping it shuts the thread down.
pub struct SyncHandle {
    /// Commands for the sync thread (bounded: back-pressure reaches the caller).
    commands: mpsc::Sender<Command>,
    /// The server clock the sync thread publishes, for the audio thread.
    clock: Arc<SharedClock>,
    /// The server joined.
    server: Server,
    /// The session joined.
    session: SessionId,
    /// The edits the room has not acknowledged yet, as of the sync thread's last step.
    pending: Arc<Mutex<Vec<Op>>>,
    /// Wakes the sync thread to stop, whatever it is waiting for.
    shutdown: Arc<tokio::sync::Notify>,
    /// The sync thread; `None` once joined.
    thread: Option<JoinHandle<()>>,
}

impl SyncHandle {
    /// Joins `session` on `server`. `local` is the document to show until the first snapshot
    /// (and to keep playing if the server is never reached); `pending` are edits saved from an
    /// earlier run that the server has not acknowledged. `sink` receives every [`SyncEvent`] on
    /// the sync thread: keep it quick.
    pub fn start(
        server: Server,
        session: SessionId,
        config: SyncConfig,
        local: SessionState,
        pending: Vec<Op>,
        clock: Arc<SharedClock>,
        sink: impl FnMut(SyncEvent) + Send + 'static,
    ) -> std::io::Result<Self> {
        let anonymous = auth::SignedIn::default();
        Self::start_signed_in(
            server, session, config, local, pending, clock, anonymous, sink,
        )
    }

    /// As [`SyncHandle::start`], presenting `signed_in`'s identity (a short-lived ticket on
    /// each connect), so the owner of a locked session edits it.
    #[allow(clippy::too_many_arguments)]
    pub fn start_signed_in(
        server: Server,
        session: SessionId,
        config: SyncConfig,
        local: SessionState,
        pending: Vec<Op>,
        clock: Arc<SharedClock>,
        signed_in: auth::SignedIn,
        sink: impl FnMut(SyncEvent) + Send + 'static,
    ) -> std::io::Result<Self> {
        let (tx, rx) = mpsc::channel(COMMAND_QUEUE);
        let pending_mirror = Arc::new(Mutex::new(pending.clone()));
        let shutdown = Arc::new(tokio::sync::Notify::new());
        let mut client = Client::with_config(config.client_config(fastrand::u64(..)), local);
        client.restore_pending(pending);
        let event_loop = eventloop::EventLoop {
            server: server.clone(),
            session,
            client,
            commands: rx,
            sink: Box::new(sink),
            clock: clock.clone(),
            rest: Rest::new(server.clone()),
            shutdown: shutdown.clone(),
            tasks: mpsc::unbounded_channel(),
            pending: pending_mirror.clone(),
            mirrored: (usize::MAX, 0),
            edited: false,
            signed_in,
            arrival: Default::default(),
            clock_samples: config.clock_samples,
        };
        let thread = std::thread::Builder::new()
            .name("keyboardia-sync".into())
            .spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build();
                match rt {
                    Ok(rt) => rt.block_on(event_loop.run()),
                    Err(e) => {
                        let mut sink = event_loop.sink;
                        sink(SyncEvent::Connection(ConnectionState::Offline {
                            error: ConnectionError::Runtime(Arc::new(e)),
                            retry_in: Duration::MAX,
                        }));
                    }
                }
            })?;
        Ok(Self {
            commands: tx,
            clock,
            server,
            session,
            pending: pending_mirror,
            shutdown,
            thread: Some(thread),
        })
    }

    fn send(&self, cmd: Command) -> Result<(), SyncError> {
        self.commands.try_send(cmd).map_err(|e| match e {
            mpsc::error::TrySendError::Full(_) => SyncError::Busy,
            mpsc::error::TrySendError::Closed(_) => SyncError::Stopped,
        })
    }

    /// Sends an edit the caller has already applied to its own copy.
    pub fn edit(&self, op: Op) -> Result<(), SyncError> {
        self.send(Command::Edit(op))
    }

    /// Starts or stops the session's shared transport (at the next bar).
    pub fn set_playing(&self, playing: bool) -> Result<(), SyncError> {
        self.send(Command::SetPlaying(playing))
    }

    /// Queues pattern `p` on the session's shared timeline: the room stamps the step where it
    /// takes over (the next bar line or the end of the longest track), the same for every
    /// player; while the transport is stopped it plays from the start. See
    /// [`Client::cue_pattern`].
    pub fn cue_pattern(&self, p: PatternId) -> Result<(), SyncError> {
        self.send(Command::Cue(p))
    }

    /// Switches song mode on or off on the shared timeline (at the next boundary); see
    /// [`Client::set_song_mode`].
    pub fn set_song_mode(&self, on: bool) -> Result<(), SyncError> {
        self.send(Command::SongMode(on))
    }

    /// Holds or releases the session's fill switch (FILL / NOT FILL trig conditions), stamped
    /// on the shared beat line; see [`Client::set_fill`].
    pub fn set_fill(&self, on: bool) -> Result<(), SyncError> {
        self.send(Command::Fill(on))
    }

    /// Uploads a WAV file as a shared sample of this session; progress and the outcome arrive as
    /// [`SampleEvent`]s, and every player (this one too) is told through the room.
    pub fn upload_sample(&self, name: impl Into<String>, wav: Vec<u8>) -> Result<(), SyncError> {
        self.send(Command::Upload {
            name: name.into(),
            wav,
            id: None,
        })
    }

    /// Uploads a WAV file under its content id ([`SampleId::for_content`] of `wav`), which the
    /// caller may already use in edits: a track playing it can reach the room before the upload
    /// ends, and every player fetches the sample once the room announces it. Network failures
    /// and busy servers are retried until it gets through; progress and the outcome arrive as
    /// [`SampleEvent`]s carrying the id.
    pub fn upload_sample_as(
        &self,
        name: impl Into<String>,
        wav: Vec<u8>,
    ) -> Result<SampleId, SyncError> {
        let id = SampleId::for_content(&wav);
        self.send(Command::Upload {
            name: name.into(),
            wav,
            id: Some(id.clone()),
        })?;
        Ok(id)
    }

    /// Downloads and decodes a sample of this session again (e.g. after the embedder lost it).
    /// Announced samples, and samples the session plays, are fetched without asking.
    pub fn fetch_sample(&self, id: SampleId, name: impl Into<String>) -> Result<(), SyncError> {
        self.send(Command::Fetch {
            id,
            name: name.into(),
        })
    }

    /// Drops the connection and connects again at once (e.g. "retry now").
    pub fn reconnect(&self) -> Result<(), SyncError> {
        self.send(Command::Reconnect)
    }

    /// Edits not yet acknowledged by the room (to keep in the plugin's saved state, and pass back
    /// to [`SyncHandle::start`] after a restart). Not for the audio thread.
    pub fn pending(&self) -> Vec<Op> {
        self.pending.lock().map(|p| p.clone()).unwrap_or_default()
    }

    pub fn clock(&self) -> &Arc<SharedClock> {
        &self.clock
    }

    pub fn server(&self) -> &Server {
        &self.server
    }

    pub fn session(&self) -> SessionId {
        self.session
    }

    /// The link to share with other players.
    pub fn invite_link(&self) -> String {
        self.server.invite_link(self.session)
    }

    /// Stops the thread and waits for it.
    pub fn shutdown(mut self) {
        self.stop();
    }

    fn stop(&mut self) {
        // A stored permit: the thread sees it even if it is not waiting right now.
        self.shutdown.notify_one();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for SyncHandle {
    fn drop(&mut self) {
        self.stop();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sync_config_carries_the_clients_timings_both_ways() {
        let sync = SyncConfig::default();
        assert_eq!(sync.ping_burst_interval, Duration::from_millis(15));
        assert_eq!(sync.ping_lock_interval, Duration::from_millis(500));
        assert_eq!(sync.ping_max_interval, Duration::from_secs(24));
        assert_eq!(sync.backoff_min, Duration::from_millis(250));
        assert_eq!(sync.backoff_max, Duration::from_secs(10));
        assert_eq!(sync.server_clock_tick, Duration::from_millis(1));
        assert_eq!(sync.ping_pair_from, Duration::from_secs(10));
        assert_eq!(sync.ping_pair_gap, Duration::from_secs(1));
        let never = SyncConfig {
            ping_pair_from: Duration::MAX,
            ..SyncConfig::default()
        };
        assert_eq!(never.client_config(7).ping_pair_from_ms, f64::INFINITY);
        let client = sync.client_config(7);
        assert_eq!(
            client,
            ClientConfig {
                seed: 7,
                ..ClientConfig::default()
            }
        );
    }
}
