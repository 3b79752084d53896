//! The connection loop: one task that owns the WebSocket and the [`Client`] state machine.
//!
//! Like rumqttc's event loop, protocol state ([`Client`]) is separate from I/O, the loop
//! connects whenever it is disconnected, reports errors instead of swallowing them, and keeps
//! unacknowledged edits for replay after every reconnect.

use std::sync::Arc;

use futures_util::{SinkExt, StreamExt};
use keyboardia_core::client::{Client, ClientEvent, EditError};
use std::time::Duration;

use std::collections::HashSet;

use keyboardia_core::audio::decode_wav;
use keyboardia_core::{Op, SampleId, SessionId};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;

use crate::backoff::Backoff;
use crate::clock::SharedClock;
use crate::link::Server;
use crate::rest::{Rest, RestError};
use crate::{Command, ConnectionState, SampleEvent, SyncConfig, SyncEvent};

/// What ended a connection.
enum Ended {
    /// Shut down on request: stop for good.
    Shutdown,
    /// The connection was lost (or the room asked us to go): reconnect.
    Lost(String),
}

type Sink = Box<dyn FnMut(SyncEvent) + Send>;

pub(crate) struct Conn {
    pub server: Server,
    pub session: SessionId,
    pub config: SyncConfig,
    pub client: Client,
    pub commands: mpsc::Receiver<Command>,
    pub sink: Sink,
    pub clock: Arc<SharedClock>,
    pub rest: Rest,
    /// Set when the owner stops: wakes every wait of the loop, even with the command queue full.
    pub shutdown: Arc<tokio::sync::Notify>,
    /// Results of background tasks (uploads, downloads), handled by the loop.
    pub tasks: (
        mpsc::UnboundedSender<TaskDone>,
        mpsc::UnboundedReceiver<TaskDone>,
    ),
    /// What [`crate::Sync::pending`] reads.
    pub pending: Arc<std::sync::Mutex<Vec<Op>>>,
    /// (length, oldest op id) of the pending list when last mirrored.
    pub mirrored: (usize, keyboardia_core::protocol::OpId),
    /// Samples already being fetched (or fetched) in this run.
    pub requested: HashSet<SampleId>,
    /// Samples a track plays that the server did not have (yet): a player shares a recorded
    /// take by adding its track first and uploading it meanwhile. Fetched again when the room
    /// announces them, or after the next (re)connect.
    pub waiting: HashSet<SampleId>,
    /// Samples the room announced while a fetch of them was under way: if that fetch finds
    /// nothing (it asked before the upload ended), they are fetched once more.
    pub recheck: HashSet<SampleId>,
}

/// What a background task reports to the loop.
#[derive(Debug)]
pub(crate) enum TaskDone {
    /// Passed on to the sink as it is.
    Event(SyncEvent),
    /// A fetch found no such sample on the server.
    Missing { id: SampleId, name: String },
}

impl Conn {
    pub async fn run(mut self) {
        let mut backoff = Backoff::new(self.config.backoff_min, self.config.backoff_max);
        loop {
            (self.sink)(SyncEvent::Connection(ConnectionState::Connecting {
                attempt: backoff.attempt(),
            }));
            let url = self.server.socket(self.session);
            let shutdown = self.shutdown.clone();
            // A host that never answers must not keep a closing plugin waiting.
            let connecting =
                tokio::time::timeout(CONNECT_TIMEOUT, tokio_tungstenite::connect_async(url));
            let connected = tokio::select! {
                _ = shutdown.notified() => return,
                r = connecting => r,
            };
            let ended = match connected {
                Ok(Ok((ws, _))) => self.session_loop(ws, &mut backoff).await,
                Ok(Err(e)) => Ended::Lost(e.to_string()),
                Err(_) => Ended::Lost(format!("no answer within {} s", CONNECT_TIMEOUT.as_secs())),
            };
            self.client.handle_disconnected();
            let error = match ended {
                Ended::Shutdown => return,
                Ended::Lost(e) => e,
            };
            let delay = backoff.next_delay(fastrand::f64());
            (self.sink)(SyncEvent::Connection(ConnectionState::Offline {
                error,
                retry_in: delay,
            }));
            // Keep taking edits while offline: they apply locally and wait in the pending queue.
            let wake = tokio::time::Instant::now() + delay;
            loop {
                self.mirror_pending();
                tokio::select! {
                    _ = self.shutdown.notified() => return,
                    _ = tokio::time::sleep_until(wake) => break,
                    Some(done) = self.tasks.1.recv() => self.task_done(done),
                    cmd = self.commands.recv() => match cmd {
                        None => return,
                        Some(Command::Reconnect) => break,
                        Some(cmd) => self.command(cmd),
                    },
                }
            }
        }
    }

    async fn session_loop<S>(&mut self, ws: S, backoff: &mut Backoff) -> Ended
    where
        S: futures_util::Stream<Item = Result<Message, tokio_tungstenite::tungstenite::Error>>
            + futures_util::Sink<Message, Error = tokio_tungstenite::tungstenite::Error>
            + Unpin,
    {
        let (mut tx, mut rx) = ws.split();
        self.client.handle_connected();
        // A quick burst of pings fills the clock window, then a slow refresh keeps it fresh.
        let mut pings_sent = 0u32;
        let mut ping_at = tokio::time::Instant::now();
        loop {
            self.mirror_pending();
            if let Err(e) = self.flush(&mut tx).await {
                return Ended::Lost(e);
            }
            tokio::select! {
                _ = self.shutdown.notified() => {
                    let _ = tx.send(Message::Close(None)).await;
                    return Ended::Shutdown;
                }
                Some(done) = self.tasks.1.recv() => self.task_done(done),
                msg = rx.next() => match msg {
                    Some(Ok(Message::Text(text))) => {
                        let now = self.clock.local().now_ms();
                        self.client.handle_message(text.as_bytes(), now);
                        if let Some(reason) = self.drain_events(backoff) {
                            return Ended::Lost(reason);
                        }
                    }
                    Some(Ok(Message::Close(frame))) => {
                        let why = frame.map(|f| format!("closed by server: {} {}", u16::from(f.code), f.reason))
                            .unwrap_or_else(|| "closed by server".into());
                        return Ended::Lost(why);
                    }
                    Some(Ok(_)) => {}
                    Some(Err(e)) => return Ended::Lost(e.to_string()),
                    None => return Ended::Lost("connection closed".into()),
                },
                cmd = self.commands.recv() => match cmd {
                    None => {
                        let _ = tx.send(Message::Close(None)).await;
                        return Ended::Shutdown;
                    }
                    Some(Command::Reconnect) => return Ended::Lost("reconnect requested".into()),
                    Some(cmd) => self.command(cmd),
                },
                _ = tokio::time::sleep_until(ping_at) => {
                    self.client.ping(self.clock.local().now_ms());
                    pings_sent += 1;
                    let every = if pings_sent < self.config.ping_burst {
                        self.config.ping_burst_interval
                    } else if (pings_sent as usize) < keyboardia_core::clock::CLOCK_WINDOW {
                        self.config.ping_fill_interval
                    } else {
                        self.config.ping_interval
                    };
                    ping_at += every;
                }
            }
        }
    }

    async fn flush<T>(&mut self, tx: &mut T) -> Result<(), String>
    where
        T: futures_util::Sink<Message, Error = tokio_tungstenite::tungstenite::Error> + Unpin,
    {
        while let Some(text) = self.client.poll_transmit() {
            tx.feed(Message::text(text))
                .await
                .map_err(|e| e.to_string())?;
        }
        tx.flush().await.map_err(|e| e.to_string())
    }

    /// Copies the pending list for [`crate::Sync::pending`] when it changed.
    fn mirror_pending(&mut self) {
        let now = (
            self.client.pending().count(),
            self.client.pending().next().map_or(0, |(id, _)| *id),
        );
        if now != self.mirrored {
            self.mirrored = now;
            if let Ok(mut m) = self.pending.lock() {
                m.clear();
                m.extend(self.client.pending().map(|(_, op)| op.clone()));
            }
        }
    }

    fn command(&mut self, cmd: Command) {
        match cmd {
            Command::Edit(op) => self.edit(op),
            Command::SetPlaying(p) => self.client.set_playing(p),
            Command::Upload { name, wav, id } => {
                tokio::spawn(upload(
                    self.rest.clone(),
                    self.session,
                    Upload { name, wav, id },
                    self.tasks.0.clone(),
                ));
            }
            Command::Fetch { id, name } => {
                // Asked for explicitly: fetch again even if this run did before.
                self.requested.remove(&id);
                self.fetch(id, name);
            }
            Command::Reconnect => {}
        }
    }

    fn edit(&mut self, op: Op) {
        match self.client.edit(op.clone()) {
            Ok(_) => {}
            Err(e) => {
                (self.sink)(SyncEvent::EditRefused {
                    op,
                    error: e.clone(),
                });
                if let EditError::Op(_) = e {
                    // The caller's view had drifted from ours: hand it the truth.
                    (self.sink)(SyncEvent::State(Box::new(self.client.state().clone())));
                }
            }
        }
    }

    /// A background task finished or reported progress.
    fn task_done(&mut self, done: TaskDone) {
        match done {
            TaskDone::Event(ev) => {
                if let SyncEvent::Sample(SampleEvent::Ready { id, .. }) = &ev {
                    self.recheck.remove(id);
                }
                if let SyncEvent::Sample(SampleEvent::FetchFailed {
                    id, retry_in: None, ..
                }) = &ev
                {
                    // Final: another announcement or reconnect may try again.
                    self.requested.remove(id);
                    self.recheck.remove(id);
                }
                (self.sink)(ev);
            }
            TaskDone::Missing { id, name } => {
                self.requested.remove(&id);
                if self.recheck.remove(&id) {
                    // Announced while we asked: it is there now.
                    self.fetch(id, name);
                    return;
                }
                self.waiting.insert(id.clone());
                (self.sink)(SyncEvent::Sample(SampleEvent::FetchFailed {
                    id,
                    error: "not on the server yet: waiting for the player who shares it".into(),
                    retry_in: None,
                }));
            }
        }
    }

    /// The room announced a sample: fetch it, even if an earlier try found nothing.
    fn announced(&mut self, id: SampleId, name: String) {
        self.waiting.remove(&id);
        if self.requested.contains(&id) {
            self.recheck.insert(id);
        } else {
            self.fetch(id, name);
        }
    }

    fn fetch(&mut self, id: SampleId, name: String) {
        if self.requested.insert(id.clone()) {
            let (rest, tx) = (self.rest.clone(), self.tasks.0.clone());
            tokio::spawn(fetch(rest, self.session, id, name, tx));
        }
    }

    /// Fetches every sample the session plays that this run has not fetched yet (samples shared
    /// before this player joined).
    fn fetch_referenced(&mut self) {
        let wanted: Vec<(SampleId, String)> = self
            .client
            .state()
            .tracks
            .iter()
            .filter_map(|t| match &t.instrument {
                keyboardia_core::Instrument::Sample(id)
                    if !self.requested.contains(id) && !self.waiting.contains(id) =>
                {
                    Some((id.clone(), t.name.clone()))
                }
                _ => None,
            })
            .collect();
        for (id, name) in wanted {
            self.fetch(id, name);
        }
    }

    /// Forwards the client's events; returns a reason when the connection must be dropped.
    fn drain_events(&mut self, backoff: &mut Backoff) -> Option<String> {
        let mut state_changed = false;
        let mut drop_reason = None;
        while let Some(ev) = self.client.poll_event() {
            match &ev {
                ClientEvent::Synced { you } => {
                    backoff.reset();
                    // A fresh view of the room: try the missing samples once more.
                    self.waiting.clear();
                    state_changed = true;
                    (self.sink)(SyncEvent::Connection(ConnectionState::Joined { you: *you }));
                }
                ClientEvent::RemoteEdit { .. } | ClientEvent::Rejected { .. } => {
                    state_changed = true
                }
                ClientEvent::Desynced => drop_reason = Some("sequence gap".to_string()),
                ClientEvent::SampleAdded { id, name, .. } => {
                    self.announced(id.clone(), name.clone())
                }
                _ => {}
            }
            (self.sink)(SyncEvent::Client(ev));
        }
        if let Some(tl) = self.client.timeline() {
            self.clock
                .publish(tl, self.client.clock().estimate().as_ref());
        }
        if state_changed {
            self.fetch_referenced();
            (self.sink)(SyncEvent::State(Box::new(self.client.state().clone())));
        }
        drop_reason
    }
}

/// Longest wait for a server to accept a connection.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Delay bounds for retried sample transfers.
const TRANSFER_RETRY: (Duration, Duration) = (Duration::from_millis(500), Duration::from_secs(15));

/// A sample file to upload.
pub(crate) struct Upload {
    name: String,
    wav: Vec<u8>,
    /// Its content id, when the uploader chose it.
    id: Option<SampleId>,
}

/// Uploads until it succeeds or the server refuses for good; reports progress and every failure.
async fn upload(rest: Rest, session: SessionId, up: Upload, tx: mpsc::UnboundedSender<TaskDone>) {
    let mut backoff = Backoff::new(TRANSFER_RETRY.0, TRANSFER_RETRY.1);
    let event = |ev| TaskDone::Event(SyncEvent::Sample(ev));
    loop {
        let (progress_tx, name, id) = (tx.clone(), up.name.clone(), up.id.clone());
        let progress = move |sent, total| {
            let _ = progress_tx.send(event(SampleEvent::Uploading {
                name: name.clone(),
                id: id.clone(),
                sent,
                total,
            }));
        };
        let (wav, name) = (up.wav.clone(), up.name.as_str());
        let result = match &up.id {
            Some(id) => {
                rest.upload_sample_as(session, id, name, wav, progress)
                    .await
            }
            None => {
                rest.upload_sample_with_progress(session, name, wav, progress)
                    .await
            }
        };
        let (error, retry) = match result {
            Ok(done) => {
                let _ = tx.send(event(SampleEvent::Uploaded(done)));
                return;
            }
            Err(e) => {
                let retry = e
                    .is_transient()
                    .then(|| backoff.next_delay(fastrand::f64()));
                (e.to_string(), retry)
            }
        };
        let _ = tx.send(event(SampleEvent::UploadFailed {
            name: up.name.clone(),
            id: up.id.clone(),
            error,
            retry_in: retry,
        }));
        match retry {
            Some(d) => tokio::time::sleep(d).await,
            None => return,
        }
    }
}

/// Downloads and decodes until it succeeds or the file turns out unplayable.
async fn fetch(
    rest: Rest,
    session: SessionId,
    id: SampleId,
    name: String,
    tx: mpsc::UnboundedSender<TaskDone>,
) {
    let mut backoff = Backoff::new(TRANSFER_RETRY.0, TRANSFER_RETRY.1);
    let event = |ev| TaskDone::Event(SyncEvent::Sample(ev));
    loop {
        let (error, retry) = match rest.download_sample(session, &id).await {
            Ok(bytes) => match decode_wav(&bytes) {
                Ok(sample) => {
                    let _ = tx.send(event(SampleEvent::Ready { id, name, sample }));
                    return;
                }
                Err(e) => (e.to_string(), None),
            },
            Err(RestError::Refused { status: 404, .. }) => {
                let _ = tx.send(TaskDone::Missing { id, name });
                return;
            }
            Err(e) => {
                let retry = e
                    .is_transient()
                    .then(|| backoff.next_delay(fastrand::f64()));
                (e.to_string(), retry)
            }
        };
        let _ = tx.send(event(SampleEvent::FetchFailed {
            id: id.clone(),
            error,
            retry_in: retry,
        }));
        match retry {
            Some(d) => tokio::time::sleep(d).await,
            None => return,
        }
    }
}
