//! The connection loop: one task that owns the WebSocket and the [`Client`] state machine.
//!
//! Like rumqttc's event loop, protocol state ([`Client`]) is separate from I/O, the loop
//! connects whenever it is disconnected, reports errors instead of swallowing them, and keeps
//! unacknowledged edits for replay after every reconnect.

use std::sync::Arc;

use futures_util::{SinkExt, StreamExt};
use keyboardia_core::client::{Client, ClientEvent, EditError};
use std::time::Duration;

use keyboardia_core::{Op, SessionId};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;

use crate::backoff::Backoff;
use crate::clock::SharedClock;
use crate::link::Server;
use crate::rest::{Rest, RestError};
use crate::samples::decode_wav;
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
    /// Results of background tasks (uploads, downloads), forwarded to the sink by the loop.
    pub tasks: (
        mpsc::UnboundedSender<SyncEvent>,
        mpsc::UnboundedReceiver<SyncEvent>,
    ),
    /// What [`crate::Sync::pending`] reads.
    pub pending: Arc<std::sync::Mutex<Vec<Op>>>,
    /// (length, oldest op id) of the pending list when last mirrored.
    pub mirrored: (usize, keyboardia_core::protocol::OpId),
    /// Samples already being fetched (or fetched) in this run.
    pub requested: std::collections::HashSet<keyboardia_core::SampleId>,
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
                    Some(ev) = self.tasks.1.recv() => (self.sink)(ev),
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
                Some(ev) = self.tasks.1.recv() => (self.sink)(ev),
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
            Command::Upload { name, wav } => {
                tokio::spawn(upload(
                    self.rest.clone(),
                    self.session,
                    name,
                    wav,
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

    fn fetch(&mut self, id: keyboardia_core::SampleId, name: String) {
        if self.requested.insert(id.clone()) {
            let (rest, tx) = (self.rest.clone(), self.tasks.0.clone());
            tokio::spawn(fetch(rest, self.session, id, name, tx));
        }
    }

    /// Fetches every sample the session plays that this run has not fetched yet (samples shared
    /// before this player joined).
    fn fetch_referenced(&mut self) {
        let wanted: Vec<(keyboardia_core::SampleId, String)> = self
            .client
            .state()
            .tracks
            .iter()
            .filter_map(|t| match &t.instrument {
                keyboardia_core::Instrument::Sample(id) if !self.requested.contains(id) => {
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
                    state_changed = true;
                    (self.sink)(SyncEvent::Connection(ConnectionState::Joined { you: *you }));
                }
                ClientEvent::RemoteEdit { .. } | ClientEvent::Rejected { .. } => {
                    state_changed = true
                }
                ClientEvent::Desynced => drop_reason = Some("sequence gap".to_string()),
                ClientEvent::SampleAdded { id, name, .. } => self.fetch(id.clone(), name.clone()),
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

/// Uploads until it succeeds or the server refuses; reports progress and every failure.
async fn upload(
    rest: Rest,
    session: SessionId,
    name: String,
    wav: Vec<u8>,
    tx: mpsc::UnboundedSender<SyncEvent>,
) {
    let mut backoff = Backoff::new(TRANSFER_RETRY.0, TRANSFER_RETRY.1);
    loop {
        let (progress_tx, progress_name) = (tx.clone(), name.clone());
        let progress = move |sent, total| {
            let _ = progress_tx.send(SyncEvent::Sample(SampleEvent::Uploading {
                name: progress_name.clone(),
                sent,
                total,
            }));
        };
        let result = rest
            .upload_sample_with_progress(session, &name, wav.clone(), progress)
            .await;
        let (error, retry) = match result {
            Ok(up) => {
                let _ = tx.send(SyncEvent::Sample(SampleEvent::Uploaded(up)));
                return;
            }
            Err(e @ RestError::Refused { .. }) => (e.to_string(), None),
            Err(e) => (e.to_string(), Some(backoff.next_delay(fastrand::f64()))),
        };
        let _ = tx.send(SyncEvent::Sample(SampleEvent::UploadFailed {
            name: name.clone(),
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
    id: keyboardia_core::SampleId,
    name: String,
    tx: mpsc::UnboundedSender<SyncEvent>,
) {
    let mut backoff = Backoff::new(TRANSFER_RETRY.0, TRANSFER_RETRY.1);
    loop {
        let (error, retry) = match rest.download_sample(session, &id).await {
            Ok(bytes) => match decode_wav(&bytes) {
                Ok(sample) => {
                    let _ = tx.send(SyncEvent::Sample(SampleEvent::Ready { id, name, sample }));
                    return;
                }
                Err(e) => (e.to_string(), None),
            },
            Err(e @ RestError::Refused { .. }) => (e.to_string(), None),
            Err(e) => (e.to_string(), Some(backoff.next_delay(fastrand::f64()))),
        };
        let _ = tx.send(SyncEvent::Sample(SampleEvent::FetchFailed {
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
