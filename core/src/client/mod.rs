//! The client side of a live session, sans-IO and driven by time, like quinn-proto's
//! `Connection`: optimistic local edits, pending ops, snapshots, the connection's lifecycle
//! (connect timeout, reconnect backoff), the clock-ping schedule and the shared-sample transfer
//! policy. It reads no clock, draws no entropy and does no I/O: the host (the `sync` crate's
//! event loop, or a simulator) feeds it time and frames and carries out what it asks.
//!
//! The user's edits apply at once to the local view and stay pending until the room broadcasts
//! them back (the ack). The local view is always `confirmed state + pending ops`: a snapshot
//! (join, reconnect, or after a gap in sequence numbers) replaces the confirmed state and the
//! pending ops are re-applied on top, the same code path for all three. Pending ops survive a
//! disconnect (bounded by [`MAX_PENDING`]) and are sent again after the next snapshot.
//!
//! - [`config`]: the timings.
//! - [`backoff`]: exponential backoff with jitter (reconnects, transfer retries).
//! - `ping`: the clock-ping schedule.
//! - [`transfers`]: which samples to fetch when, and retries of uploads and fetches.
//! - `pace`: the client's mirror of the room's message allowance; edits wait for it, so a long
//!   offline queue or a fast drag never trips the room's rate limit.

pub mod backoff;
pub mod config;
mod pace;
mod ping;
pub mod transfers;

use std::collections::VecDeque;

use crate::clock::{ClockSample, ClockSync, Timeline};
use crate::error::{ErrorCode, OpError};
use crate::model::{PatternId, SampleId, Session, SessionState};
use crate::ops::{Applied, Change, Op};
use crate::protocol::{
    decode_server, Broadcast, ClientMessage, DecodeError, OpId, Player, PlayerId, ServerMessage,
    ACK_EVERY_BYTES, PROTOCOL_VERSION,
};

pub use backoff::Backoff;
pub use config::ClientConfig;
pub use transfers::{Fetch, Retry, TransferFailure, TransferId, Upload};

use pace::Pacer;
use ping::{Fit, PingSchedule};
use transfers::{Start, Transfers};

/// Most edits kept while unacknowledged (offline queue bound).
pub const MAX_PENDING: usize = 4096;

/// Why a local edit was refused.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum EditError {
    #[error(transparent)]
    Op(#[from] OpError),
    #[error("too many edits waiting for the server ({MAX_PENDING}); reconnect to send them")]
    QueueFull,
}

/// What happened, for the GUI and the audio bridge.
#[derive(Clone, Debug, PartialEq)]
pub enum ClientEvent {
    /// A snapshot replaced the state (join, reconnect or resync); `you` is our player id.
    Synced {
        you: PlayerId,
    },
    /// Another player's edit changed the local view.
    RemoteEdit {
        by: PlayerId,
        op: Op,
        change: Change,
    },
    /// The room refused one of our edits; it was rolled back.
    Rejected {
        op: OpId,
        code: ErrorCode,
        msg: String,
    },
    /// An error not about one edit (room full, protocol version, rate limit, ...).
    Error {
        code: ErrorCode,
        msg: String,
    },
    PlayerJoined(Player),
    PlayerLeft(PlayerId),
    Timeline(Timeline),
    SampleAdded {
        id: SampleId,
        name: String,
        url: String,
        by: PlayerId,
    },
    /// A frame from the server that could not be decoded.
    BadMessage(DecodeError),
    /// Sequence numbers skipped: the client asks the host to close the socket
    /// ([`Action::Disconnect`]) and reconnects.
    Desynced,
}

/// Why the client drops its connection (the state layer's errors; the host's own I/O errors
/// wrap these, as rumqttc's `ConnectionError` wraps its `StateError`).
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum StateError {
    /// Sequence numbers skipped: the confirmed state can no longer be trusted.
    #[error("sequence gap")]
    Desynced,
    /// The server did not accept the connection in time.
    #[error("no answer within {} s", .after_ms / 1000.0)]
    ConnectTimeout {
        /// How long the client waited ([`ClientConfig::connect_timeout_ms`]).
        after_ms: f64,
    },
    /// The user asked to reconnect ([`Client::reconnect`]).
    #[error("reconnect requested")]
    ReconnectRequested,
}

/// I/O the host carries out for the client, in order ([`Client::poll_action`]).
#[derive(Clone, Debug, PartialEq)]
pub enum Action {
    /// Open the socket; answer with [`Client::handle_connected`] or, if it fails,
    /// [`Client::handle_disconnected`]. `attempt` counts failures since the last join.
    Connect {
        /// Failed attempts since the last join (0: the first try).
        attempt: u32,
    },
    /// Close the socket (or abandon the attempt to open it), then call
    /// [`Client::handle_disconnected`].
    Disconnect(StateError),
    /// Make one upload attempt; answer with [`Client::handle_uploaded`] or
    /// [`Client::handle_upload_failed`].
    Upload(Upload),
    /// Make one download attempt and decode the file; answer with [`Client::handle_fetched`]
    /// or [`Client::handle_fetch_failed`].
    Fetch(Fetch),
}

impl From<Start> for Action {
    fn from(start: Start) -> Self {
        match start {
            Start::Upload(up) => Action::Upload(up),
            Start::Fetch(fetch) => Action::Fetch(fetch),
        }
    }
}

/// Where the connection stands.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Link {
    /// No socket. The next connect is due at `reconnect_at_ms`, or waits for
    /// [`Client::connect`] when `None`.
    Offline {
        /// Local time (ms) of the next connect, if one is scheduled.
        reconnect_at_ms: Option<f64>,
    },
    /// The host is opening the socket.
    Connecting {
        /// Local time (ms) at which the attempt is abandoned.
        deadline_ms: f64,
    },
    /// The socket is open (hello sent).
    Connected,
    /// The client asked the host to close the socket ([`Action::Disconnect`]) and waits for
    /// [`Client::handle_disconnected`].
    Closing,
}

/// One player's view of a live session, driven by time.
///
/// # Calling protocol
/// The host owns the socket, the HTTP client and a monotonic clock; `now` is that clock's
/// time in ms (any origin, never going back). Every input that depends on time takes `now`.
///
/// - **Getters**: [`Client::state`], [`Client::pending`], [`Client::clock`],
///   [`Client::is_joined`], ... — free to call at any time.
/// - **Commands** from the user: [`Client::edit`], [`Client::set_playing`],
///   [`Client::connect`], [`Client::reconnect`], [`Client::upload_sample`],
///   [`Client::fetch_sample`].
/// - **Input** (`handle_*`): [`Client::handle_connected`] and [`Client::handle_disconnected`] as
///   the socket comes and goes, [`Client::handle_message`] for every text frame, the outcome of
///   each transfer ([`Client::handle_uploaded`], [`Client::handle_upload_failed`],
///   [`Client::handle_fetched`], [`Client::handle_fetch_failed`]), and
///   [`Client::handle_timeout`] when the time from [`Client::poll_timeout`] has come.
/// - **Output** (`poll_*`), drained after every input or command: [`Client::poll_transmit`]
///   (text frames to send on the open socket), [`Client::poll_action`] (connect, disconnect,
///   uploads and fetches to start), [`Client::poll_event`] (what happened, for the user), and
///   [`Client::poll_timeout`]: the next time the client must be woken with
///   [`Client::handle_timeout`] (pings, the connect deadline, reconnects, transfer retries).
///
/// A host loop: call [`Client::connect`] once; then repeatedly drain the outputs, wait for a
/// frame, a command, a finished transfer or the timeout, and feed it in.
#[derive(Debug)]
pub struct Client {
    /// Timings, name and seed.
    config: ClientConfig,
    /// The room's session as of `seq`; `None` before the first snapshot.
    confirmed: Option<Session>,
    /// Sequence number of the last op in `confirmed`.
    seq: u64,
    /// What the user sees and hears: `confirmed` (or the offline document) plus `pending`.
    local: SessionState,
    /// Our edits not yet acknowledged, oldest first.
    pending: VecDeque<(OpId, Op)>,
    /// How many of `pending` went out on the current connection; the rest wait for the pacer.
    sent: usize,
    /// The room's message allowance, mirrored: edits leave only when it has a token.
    pace: Pacer,
    /// The latest time (ms) any input carried, for commands that take none ([`Client::edit`]).
    now_ms: f64,
    /// The id of the next edit (never 0).
    next_op: OpId,
    /// Joined the room (snapshot received) on the current connection.
    joined: bool,
    /// Where the connection stands (and its timer).
    link: Link,
    /// Reconnect delays; reset by each snapshot.
    backoff: Backoff,
    /// Clock pings on the current connection.
    ping: PingSchedule,
    /// Sample uploads and fetches, and which samples to fetch.
    transfers: Transfers,
    /// Jitter for every backoff, seeded by the host ([`ClientConfig::seed`]).
    rng: fastrand::Rng,
    /// Our player id in the room, from the last snapshot.
    you: Option<PlayerId>,
    /// The players in the room (as of the snapshot plus joins and leaves).
    players: Vec<Player>,
    /// The room's shared timeline, once known.
    timeline: Option<Timeline>,
    /// The server-clock estimator, fed by pongs.
    clock: ClockSync,
    /// Bytes of text frames received on the current connection (for flow control acks).
    received_bytes: u64,
    /// `received_bytes` as last acknowledged to the room.
    acked_bytes: u64,
    /// Text frames waiting to be sent on the current connection.
    outbox: VecDeque<String>,
    /// I/O waiting for the host.
    actions: VecDeque<Action>,
    /// Events waiting for the host.
    events: VecDeque<ClientEvent>,
}

impl Client {
    /// A client named `name` whose local document (offline, before the first snapshot) is
    /// `local`, with the default timings.
    pub fn new(name: impl Into<String>, local: SessionState) -> Self {
        Self::with_config(
            ClientConfig {
                name: name.into(),
                ..ClientConfig::default()
            },
            local,
        )
    }

    /// A client tuned by `config` whose local document (offline, before the first snapshot)
    /// is `local`. It stays offline until [`Client::connect`].
    pub fn with_config(config: ClientConfig, local: SessionState) -> Self {
        Self {
            backoff: Backoff::new(config.backoff_min_ms, config.backoff_max_ms),
            rng: fastrand::Rng::with_seed(config.seed),
            config,
            confirmed: None,
            seq: 0,
            local,
            pending: VecDeque::new(),
            sent: 0,
            pace: Pacer::default(),
            now_ms: f64::NEG_INFINITY,
            next_op: 1,
            joined: false,
            link: Link::Offline {
                reconnect_at_ms: None,
            },
            ping: PingSchedule::default(),
            transfers: Transfers::default(),
            you: None,
            players: Vec::new(),
            timeline: None,
            clock: ClockSync::default(),
            received_bytes: 0,
            acked_bytes: 0,
            outbox: VecDeque::new(),
            actions: VecDeque::new(),
            events: VecDeque::new(),
        }
    }

    pub fn config(&self) -> &ClientConfig {
        &self.config
    }

    /// The socket is open (it may not have joined yet).
    pub fn is_connected(&self) -> bool {
        self.link == Link::Connected
    }

    /// Failed connection attempts since the last join.
    pub fn attempt(&self) -> u32 {
        self.backoff.attempt()
    }

    /// Uploads and fetches under way (attempting, or waiting to retry).
    pub fn transfers_in_flight(&self) -> usize {
        self.transfers.in_flight()
    }

    /// The local view: confirmed state plus pending edits.
    pub fn state(&self) -> &SessionState {
        &self.local
    }

    /// The room's session as last confirmed, if joined once.
    pub fn confirmed(&self) -> Option<&Session> {
        self.confirmed.as_ref()
    }

    pub fn seq(&self) -> u64 {
        self.seq
    }

    pub fn is_joined(&self) -> bool {
        self.joined
    }

    pub fn you(&self) -> Option<PlayerId> {
        self.you
    }

    pub fn players(&self) -> &[Player] {
        &self.players
    }

    pub fn timeline(&self) -> Option<&Timeline> {
        self.timeline.as_ref()
    }

    pub fn clock(&self) -> &ClockSync {
        &self.clock
    }

    /// The interval (ms) between clock pings after the connect burst, as the schedule stands
    /// (it backs off while the clock agrees, and tightens when it does not).
    pub fn ping_interval_ms(&self) -> f64 {
        self.ping.interval_ms()
    }

    /// Unacknowledged edits, oldest first (saved with the plugin state).
    pub fn pending(&self) -> impl Iterator<Item = &(OpId, Op)> {
        self.pending.iter()
    }

    /// Puts back edits saved by [`Client::pending`] (after a restart), applying them locally.
    /// Edits that no longer apply are dropped.
    pub fn restore_pending(&mut self, ops: impl IntoIterator<Item = Op>) {
        for op in ops {
            let _ = self.edit(op);
        }
    }

    /// The user's edit: applied locally at once, and sent when joined and the room's allowance
    /// has room for it (else at [`Client::poll_timeout`]).
    pub fn edit(&mut self, op: Op) -> Result<Applied, EditError> {
        if self.pending.len() >= MAX_PENDING {
            return Err(EditError::QueueFull);
        }
        let applied = self.local.apply(&op)?;
        let id = self.next_op;
        self.next_op = self.next_op.wrapping_add(1).max(1);
        self.pending.push_back((id, op));
        self.send_paced(self.now_ms);
        Ok(applied)
    }

    /// Ask the room to start or stop the shared transport.
    pub fn set_playing(&mut self, playing: bool) {
        if self.joined {
            let msg = if playing {
                ClientMessage::Play
            } else {
                ClientMessage::Stop
            };
            self.send_control(&msg, self.now_ms);
        }
    }

    /// Ask the room to queue pattern `p`: it switches at the next boundary of the shared
    /// timeline (the end of the bar or of the longest track, the session's setting), the same
    /// step for every player. Stopped, it becomes the pattern that plays from the start.
    pub fn cue_pattern(&mut self, p: PatternId) {
        self.send_playback(&ClientMessage::Cue { p });
    }

    /// Ask the room to switch song mode on or off (the chain starts, or stops, at the next
    /// boundary).
    pub fn set_song_mode(&mut self, on: bool) {
        self.send_playback(&ClientMessage::SongMode { on });
    }

    /// Ask the room to hold or release the fill switch (FILL / NOT FILL conditions), stamped on
    /// the shared beat line so every player evaluates the same steps.
    pub fn set_fill(&mut self, on: bool) {
        self.send_playback(&ClientMessage::Fill { on });
    }

    /// A playback control leaves only once joined, like play and stop: before the join the
    /// local transport decides alone, and the snapshot's timeline replaces it.
    fn send_playback(&mut self, msg: &ClientMessage) {
        if self.joined {
            self.send_control(msg, self.now_ms);
        }
    }

    /// Queues a control frame (hello, ping, ack, play/stop): it leaves at once and is charged
    /// to the pacer, so the edits after it leave room for it.
    fn send_control(&mut self, msg: &ClientMessage, now: f64) {
        self.pace.charge(now);
        self.outbox.push_back(msg.encode());
    }

    /// Sends the pending edits that have not gone out on this connection, as far as the room's
    /// allowance goes at `now`; the rest wait for [`Client::poll_timeout`].
    fn send_paced(&mut self, now: f64) {
        if !self.joined {
            return;
        }
        while self.sent < self.pending.len() && self.pace.take(now) {
            let (id, op) = &self.pending[self.sent];
            self.outbox.push_back(
                ClientMessage::Edit {
                    op: *id,
                    edit: op.clone(),
                }
                .encode(),
            );
            self.sent += 1;
        }
    }

    /// Pending edits not yet sent on this connection (waiting for the join, or for the pacer).
    pub fn unsent(&self) -> usize {
        self.pending.len() - self.sent
    }

    /// Records the time an input carried (commands without one use the latest).
    fn tick(&mut self, now: f64) {
        self.now_ms = self.now_ms.max(now);
    }

    /// Go online: ask the host to connect now, unless a socket is open or opening.
    pub fn connect(&mut self, now: f64) {
        self.tick(now);
        if let Link::Offline { .. } = self.link {
            self.start_connect(now);
        }
    }

    /// "Retry now": connect at once when offline; when connected, drop the connection (it
    /// reconnects after the shortest backoff delay). Ignored while a connect is under way.
    pub fn reconnect(&mut self, now: f64) {
        self.tick(now);
        match self.link {
            Link::Offline { .. } => self.start_connect(now),
            Link::Connected => self.close(StateError::ReconnectRequested),
            Link::Connecting { .. } | Link::Closing => {}
        }
    }

    fn start_connect(&mut self, now: f64) {
        self.link = Link::Connecting {
            deadline_ms: now + self.config.connect_timeout_ms,
        };
        self.actions.push_back(Action::Connect {
            attempt: self.backoff.attempt(),
        });
    }

    /// Asks the host to drop the connection.
    fn close(&mut self, why: StateError) {
        self.link = Link::Closing;
        self.actions.push_back(Action::Disconnect(why));
    }

    /// Queue a clock ping stamped with the local time `now` (ms).
    fn send_ping(&mut self, now: f64) {
        if self.link == Link::Connected {
            self.send_control(&ClientMessage::Ping { c: now }, now);
        }
    }

    /// The socket opened at `now`: say hello and start the ping schedule. The clock window
    /// restarts (the path may have changed).
    pub fn handle_connected(&mut self, now: f64) {
        self.tick(now);
        self.link = Link::Connected;
        self.joined = false;
        self.sent = 0;
        self.received_bytes = 0;
        self.acked_bytes = 0;
        self.clock.reset();
        self.ping.start(now, &self.config);
        self.outbox.clear();
        let hello = ClientMessage::Hello {
            proto: PROTOCOL_VERSION,
            name: self.config.name.clone(),
        };
        self.send_control(&hello, now);
    }

    /// The socket closed at `now`, or an attempt to open it failed. Pending edits stay, to be
    /// sent after the next snapshot. Returns the delay (ms) after which the client asks to
    /// connect again (for the user: "retrying in ...").
    pub fn handle_disconnected(&mut self, now: f64) -> f64 {
        self.tick(now);
        self.joined = false;
        self.sent = 0;
        self.outbox.clear();
        self.players.clear();
        self.ping.stop();
        let delay = self.backoff.next_delay_ms(self.rng.f64());
        self.link = Link::Offline {
            reconnect_at_ms: Some(now + delay),
        };
        delay
    }

    /// The server answered that the session does not exist (its socket upgrade got a 404):
    /// like [`Client::handle_disconnected`], but no reconnect is scheduled, since retrying
    /// cannot help; only [`Client::connect`] or [`Client::reconnect`] tries again.
    pub fn handle_session_unknown(&mut self, now: f64) {
        let _ = self.handle_disconnected(now);
        self.link = Link::Offline {
            reconnect_at_ms: None,
        };
    }

    /// Shares a WAV file as a sample of the session, under `id` ([`SampleId::for_content`] of
    /// `wav`) or, when `None`, under an id the server picks. Network failures and busy servers
    /// are retried until it gets through.
    pub fn upload_sample(
        &mut self,
        name: impl Into<String>,
        wav: Vec<u8>,
        id: Option<SampleId>,
    ) -> TransferId {
        let (transfer, action) = self.transfers.upload(name.into(), wav, id, &self.config);
        self.actions.push_back(action.into());
        transfer
    }

    /// Downloads a sample again, even if this run already did (e.g. after the host lost it).
    pub fn fetch_sample(&mut self, id: SampleId, name: impl Into<String>) {
        if let Some(action) = self.transfers.refetch(id, name.into(), &self.config) {
            self.actions.push_back(action.into());
        }
    }

    /// An upload attempt succeeded.
    pub fn handle_uploaded(&mut self, transfer: TransferId) {
        self.transfers.uploaded(transfer);
    }

    /// An upload attempt failed at `now`; says whether and when it is tried again.
    pub fn handle_upload_failed(
        &mut self,
        now: f64,
        transfer: TransferId,
        failure: TransferFailure,
    ) -> Retry {
        let unit = self.rng.f64();
        self.transfers.upload_failed(now, transfer, failure, unit)
    }

    /// A fetch attempt brought a playable sample.
    pub fn handle_fetched(&mut self, transfer: TransferId) {
        self.transfers.fetched(transfer);
    }

    /// A fetch attempt failed at `now` (or brought an unplayable file: [`TransferFailure::Final`]);
    /// says whether and when it is tried again.
    pub fn handle_fetch_failed(
        &mut self,
        now: f64,
        transfer: TransferId,
        failure: TransferFailure,
    ) -> Retry {
        let unit = self.rng.f64();
        let (retry, again) =
            self.transfers
                .fetch_failed(now, transfer, failure, unit, &self.config);
        self.actions.extend(again.map(Action::from));
        retry
    }

    /// The next time (local ms) the client must be woken with [`Client::handle_timeout`], if
    /// any timer runs.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<f64> {
        let link = match self.link {
            Link::Offline { reconnect_at_ms } => reconnect_at_ms,
            Link::Connecting { deadline_ms } => Some(deadline_ms),
            Link::Connected => self.ping.next_timeout(),
            Link::Closing => None,
        };
        let paced = (self.joined && self.unsent() > 0).then(|| self.pace.ready_at());
        [link, paced, self.transfers.next_timeout()]
            .into_iter()
            .flatten()
            .min_by(f64::total_cmp)
    }

    /// Runs the timers due at `now`: the connect deadline, the reconnect, one clock ping,
    /// paced edits, transfer retries. Calling it early is harmless.
    pub fn handle_timeout(&mut self, now: f64) {
        self.tick(now);
        self.send_paced(now);
        match self.link {
            Link::Offline {
                reconnect_at_ms: Some(at),
            } if at <= now => self.start_connect(now),
            Link::Connecting { deadline_ms } if deadline_ms <= now => {
                self.close(StateError::ConnectTimeout {
                    after_ms: self.config.connect_timeout_ms,
                })
            }
            Link::Connected
                if self.ping.take_due(
                    now,
                    self.clock.offset_at(now),
                    self.timeline.map_or(0.0, |t| t.anchor_time),
                    &self.config,
                ) =>
            {
                self.send_ping(now)
            }
            _ => {}
        }
        let due = self.transfers.handle_timeout(now);
        self.actions.extend(due.into_iter().map(Action::from));
    }

    /// Fetches the samples the local view plays that this run has not fetched yet.
    fn fetch_referenced(&mut self) {
        let starts = self.transfers.fetch_referenced(&self.local, &self.config);
        self.actions.extend(starts.into_iter().map(Action::from));
    }

    /// One text frame from the room, received at local time `now` (ms).
    pub fn handle_message(&mut self, bytes: &[u8], now: f64) {
        self.tick(now);
        self.count_received(bytes.len(), now);
        let msg = match decode_server(bytes) {
            Ok(m) => m,
            Err(e) => return self.events.push_back(ClientEvent::BadMessage(e)),
        };
        match msg {
            ServerMessage::Snapshot(s) => {
                self.seq = s.seq;
                self.you = Some(s.you);
                self.players = s.players;
                self.timeline = Some(s.timeline);
                self.confirmed = Some(s.session);
                self.joined = true;
                self.pace.set_room_limit(s.rate);
                self.rebuild();
                // Everything still pending goes (again) on this connection, in order, as fast
                // as the room's allowance lets it.
                self.sent = 0;
                self.send_paced(now);
                self.events.push_back(ClientEvent::Synced { you: s.you });
                self.backoff.reset();
                // A fresh view of the room: try the missing samples once more.
                self.transfers.synced();
                self.fetch_referenced();
            }
            ServerMessage::Applied(b) => {
                if self.applied(b) {
                    self.fetch_referenced();
                }
            }
            ServerMessage::Error(e) => match e.op {
                Some(op) if self.pending.iter().take(self.sent).any(|(id, _)| *id == op) => {
                    self.pending.retain(|(id, _)| *id != op);
                    self.sent -= 1;
                    self.rebuild();
                    self.events.push_back(ClientEvent::Rejected {
                        op,
                        code: e.code,
                        msg: e.msg,
                    });
                    self.fetch_referenced();
                }
                _ => self.events.push_back(ClientEvent::Error {
                    code: e.code,
                    msg: e.msg,
                }),
            },
            ServerMessage::Join { player } => {
                self.players.retain(|p| p.id != player.id);
                self.players.push(player.clone());
                self.events.push_back(ClientEvent::PlayerJoined(player));
            }
            ServerMessage::Leave { id } => {
                self.players.retain(|p| p.id != id);
                self.events.push_back(ClientEvent::PlayerLeft(id));
            }
            ServerMessage::Pong { c, s } => {
                let residual = self.clock.add(ClockSample::with_tick(
                    c,
                    s,
                    now,
                    self.config.server_clock_tick_ms,
                ));
                if residual.is_some() && self.clock.len() == 1 {
                    // A clock stepped and the window restarted: lock again as after a connect.
                    self.ping.start(now, &self.config);
                }
                let fit = self.clock.estimate().map_or(Fit::default(), |e| Fit {
                    drift: e.drift,
                    span_ms: e.span,
                });
                self.ping.answered(now, residual, fit, &self.config);
            }
            ServerMessage::Timeline(t) => {
                self.timeline = Some(t);
                self.events.push_back(ClientEvent::Timeline(t));
            }
            ServerMessage::SampleAdded { id, name, url, by } => {
                let fetch = self
                    .transfers
                    .announced(id.clone(), name.clone(), &self.config);
                self.events
                    .push_back(ClientEvent::SampleAdded { id, name, url, by });
                self.actions.extend(fetch.map(Action::from));
            }
        }
    }

    /// Flow control: tells the room what was read every [`ACK_EVERY_BYTES`], so it keeps
    /// sending (a client that stops reading is closed by the room instead of buffered for).
    fn count_received(&mut self, len: usize, now: f64) {
        self.received_bytes = self.received_bytes.saturating_add(len as u64);
        if self.link == Link::Connected && self.received_bytes - self.acked_bytes >= ACK_EVERY_BYTES
        {
            self.acked_bytes = self.received_bytes;
            let ack = ClientMessage::Ack {
                b: self.received_bytes,
            };
            self.send_control(&ack, now);
        }
    }

    /// An op the room applied; true when it changed the local view for a remote reason.
    fn applied(&mut self, b: Broadcast) -> bool {
        let Some(confirmed) = self.confirmed.as_mut().filter(|_| self.joined) else {
            return false;
        };
        if b.seq != self.seq + 1 {
            // A gap: the confirmed state can no longer be trusted, and which of our in-flight
            // edits it holds is unknown. Reconnecting re-sends them after a fresh snapshot.
            self.joined = false;
            self.events.push_back(ClientEvent::Desynced);
            self.close(StateError::Desynced);
            return false;
        }
        self.seq = b.seq;
        // The room accepted it, so it applies to the confirmed state (same code, same result).
        let change = confirmed.state.apply(&b.edit).map(|a| a.change);
        let ours = Some(b.by) == self.you
            && self.sent > 0
            && self.pending.front().is_some_and(|(id, _)| *id == b.op);
        if ours {
            self.pending.pop_front();
            self.sent -= 1;
            if self.pending.is_empty() {
                // Cheap resync of the view with the truth once nothing is in flight.
                self.local.clone_from(&confirmed.state);
            }
            return false;
        }
        if self.pending.is_empty() {
            let _ = self.local.apply(&b.edit);
        } else {
            self.rebuild();
        }
        let Ok(change) = change else {
            return false;
        };
        self.events.push_back(ClientEvent::RemoteEdit {
            by: b.by,
            op: b.edit,
            change,
        });
        true
    }

    /// local = confirmed + pending; pending ops that no longer apply are dropped.
    fn rebuild(&mut self) {
        let Some(confirmed) = &self.confirmed else {
            return;
        };
        self.local.clone_from(&confirmed.state);
        let local = &mut self.local;
        let sent = self.sent;
        let mut i = 0;
        self.pending.retain(|(_, op)| {
            let ok = local.apply(op).is_ok();
            // Unsent ops that no longer apply are dropped; sent ones stay until the room
            // answers, so acks keep matching.
            let keep = ok || i < sent;
            i += 1;
            keep
        });
    }

    /// The next text frame to send.
    #[must_use]
    pub fn poll_transmit(&mut self) -> Option<String> {
        self.outbox.pop_front()
    }

    /// The next thing that happened, for the user.
    #[must_use]
    pub fn poll_event(&mut self) -> Option<ClientEvent> {
        self.events.pop_front()
    }

    /// The next I/O for the host to carry out.
    #[must_use]
    pub fn poll_action(&mut self) -> Option<Action> {
        self.actions.pop_front()
    }
}
