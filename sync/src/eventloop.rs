//! The event loop: one task that owns the WebSocket and drives the [`Client`] state machine.
//!
//! Like rumqttc's `eventloop.rs` beside its `state.rs`, every policy lives in the sans-IO
//! [`Client`] (ping schedule, connect timeout, reconnect backoff, which samples to fetch and
//! when to retry); this loop only does what it asks: it connects when told, feeds it frames,
//! commands, transfer outcomes and timeouts, writes what it yields, and reports to the sink.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use keyboardia_core::client::{
    Action, Client, ClientEvent, EditError, Fetch, Retry, TransferFailure, Upload,
};
use keyboardia_core::protocol::OpId;
use keyboardia_core::{Op, SessionId};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::error::UrlError;
use tokio_tungstenite::tungstenite::{self, Message};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use crate::clock::{LocalClock, SharedClock};
use crate::error::{ConnectionError, TransferError};
use crate::link::Server;
use crate::rest::{Rest, RestError, UploadedSample};
use crate::{Command, ConnectionState, SampleEvent, SyncEvent};
use keyboardia_core::audio::{decode_wav, AudioError, DecodedSample};

type Sink = Box<dyn FnMut(SyncEvent) + Send>;
type Ws = WebSocketStream<MaybeTlsStream<Stamped>>;
type Connecting = Pin<Box<dyn Future<Output = Result<Box<Ws>, tungstenite::Error>> + Send>>;

/// The WebSocket as the loop holds it.
enum Socket {
    Down,
    /// An attempt to connect, polled by the loop; the client abandons it at its deadline.
    Connecting(Connecting),
    Up(Box<Ws>),
}

/// What the socket did.
enum SocketEvent {
    Opened(Box<Ws>),
    Frame(Message),
    Lost(ConnectionError),
}

/// What a transfer task reports to the loop.
#[derive(Debug)]
pub(crate) enum TaskDone {
    /// Upload progress, passed on to the sink as it is.
    Progress(SampleEvent),
    /// An upload attempt ended.
    Uploaded {
        /// The attempt (its file moved out).
        up: Upload,
        result: Result<UploadedSample, RestError>,
    },
    /// A fetch attempt ended.
    Fetched {
        /// The attempt.
        fetch: Fetch,
        result: Result<DecodedSample, FetchError>,
    },
}

/// How one fetch attempt failed.
#[derive(Debug)]
pub(crate) enum FetchError {
    NotFound,
    Rest(RestError),
    Unplayable(AudioError),
}

pub(crate) struct EventLoop {
    /// Where the room is.
    pub server: Server,
    /// The session joined.
    pub session: SessionId,
    /// Every policy: the loop only carries out what it asks.
    pub client: Client,
    /// What the handle asks for.
    pub commands: mpsc::Receiver<Command>,
    /// Where every [`SyncEvent`] goes (runs on this thread).
    pub sink: Sink,
    /// The local clock the client's times are on, and where the server clock is published.
    pub clock: Arc<SharedClock>,
    /// Makes the sample uploads and downloads.
    pub rest: Rest,
    /// Set when the owner stops: wakes every wait of the loop, even with the command queue full.
    pub shutdown: Arc<tokio::sync::Notify>,
    /// Results of transfer tasks, handled by the loop.
    pub tasks: (
        mpsc::UnboundedSender<TaskDone>,
        mpsc::UnboundedReceiver<TaskDone>,
    ),
    /// What [`crate::SyncHandle::pending`] reads.
    pub pending: Arc<std::sync::Mutex<Vec<Op>>>,
    /// (length, oldest op id) of the pending list when last mirrored.
    pub mirrored: (usize, OpId),
    /// The client took one of the caller's edits since the caller's copy was last handed a
    /// view. The caller applies an edit to its copy before sending it, so a view sent before
    /// the edit was taken (for another player's edit, say) can reach the caller after it and
    /// wipe the edit from its copy: once the queued edits are taken, the caller gets a view
    /// that has them (see [`EventLoop::drain_events`]).
    pub edited: bool,
    /// Who this player is signed in as, if anyone: each connect presents a fresh ticket.
    pub signed_in: crate::auth::SignedIn,
    /// When the socket last read bytes (local ms, as `f64` bits): a frame arrived then, though
    /// the loop may get to it later (behind the frames read with it, or the sink's work).
    pub arrival: Arc<AtomicU64>,
    /// Where a copy of each clock sample goes ([`crate::SyncConfig::clock_samples`]).
    pub clock_samples: Option<std::sync::mpsc::Sender<keyboardia_core::clock::ClockSample>>,
}

/// The TCP stream under the WebSocket (and TLS), noting on the local clock when each read
/// brought bytes: a pong's receive time is when it came off the socket, not when the loop
/// handled it.
pub(crate) struct Stamped {
    tcp: TcpStream,
    clock: LocalClock,
    arrival: Arc<AtomicU64>,
}

impl AsyncRead for Stamped {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.tcp).poll_read(cx, buf);
        if matches!(polled, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            let now = self.clock.now_ms();
            self.arrival.store(now.to_bits(), Ordering::Release);
        }
        polled
    }
}

impl AsyncWrite for Stamped {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.tcp).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.tcp).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.tcp).poll_shutdown(cx)
    }
}

/// Opens the WebSocket at `url` as `connect_async` does, on a [`Stamped`] stream with Nagle's
/// algorithm off (a ping must leave when it is stamped, not wait for the last frame's ack).
async fn connect(
    url: String,
    clock: LocalClock,
    arrival: Arc<AtomicU64>,
) -> Result<Box<Ws>, tungstenite::Error> {
    let request = url.into_client_request()?;
    let uri = request.uri();
    let host = uri
        .host()
        .map(|h| h.trim_start_matches('[').trim_end_matches(']').to_owned())
        .ok_or(tungstenite::Error::Url(UrlError::NoHostName))?;
    let port = uri
        .port_u16()
        .or_else(|| match uri.scheme_str() {
            Some("wss") => Some(443),
            Some("ws") => Some(80),
            _ => None,
        })
        .ok_or(tungstenite::Error::Url(UrlError::UnsupportedUrlScheme))?;
    let tcp = TcpStream::connect((host.as_str(), port)).await?;
    tcp.set_nodelay(true)?;
    let stream = Stamped {
        tcp,
        clock,
        arrival,
    };
    let (ws, _) =
        tokio_tungstenite::client_async_tls_with_config(request, stream, None, None).await?;
    Ok(Box::new(ws))
}

impl EventLoop {
    fn now(&self) -> f64 {
        self.clock.local().now_ms()
    }

    /// When the frame just taken from the socket came off it (at most now).
    fn arrived(&self) -> f64 {
        let now = self.now();
        let at = f64::from_bits(self.arrival.load(Ordering::Acquire));
        if at.is_finite() && at > 0.0 {
            at.min(now)
        } else {
            now
        }
    }

    pub async fn run(mut self) {
        let now = self.now();
        self.client.connect(now);
        let mut socket = Socket::Down;
        loop {
            self.drive(&mut socket).await;
            self.mirror_pending();
            let wake = self
                .client
                .poll_timeout()
                .map(|t| tokio::time::Instant::from_std(self.clock.local().instant_at(t)));
            tokio::select! {
                _ = self.shutdown.notified() => return close(socket).await,
                ev = next(&mut socket) => self.socket_event(&mut socket, ev),
                Some(done) = self.tasks.1.recv() => self.task_done(done),
                cmd = self.commands.recv() => match cmd {
                    None => return close(socket).await,
                    Some(cmd) => self.command(cmd),
                },
                _ = sleep_until(wake) => {
                    let now = self.now();
                    self.client.handle_timeout(now);
                }
            }
        }
    }

    /// Carries out everything the client yields: events to the sink, actions, frames.
    async fn drive(&mut self, socket: &mut Socket) {
        loop {
            self.drain_events();
            let mut acted = false;
            while let Some(action) = self.client.poll_action() {
                acted = true;
                self.act(socket, action);
            }
            if let Socket::Up(ws) = socket {
                if let Err(e) = flush(&mut self.client, ws).await {
                    self.lost(socket, e.into());
                    continue;
                }
            } else {
                // Nothing is queued while no socket is open; drop what a closed one left.
                while self.client.poll_transmit().is_some() {}
            }
            if !acted {
                return;
            }
        }
    }

    fn act(&mut self, socket: &mut Socket, action: Action) {
        match action {
            Action::Connect { attempt } => {
                (self.sink)(SyncEvent::Connection(ConnectionState::Connecting {
                    attempt,
                }));
                let url = self.server.socket(self.session);
                let (signed_in, session) = (self.signed_in.clone(), self.session);
                let (clock, arrival) = (*self.clock.local(), self.arrival.clone());
                *socket = Socket::Connecting(Box::pin(async move {
                    let url = format!("{url}{}", signed_in.socket_query(session).await);
                    connect(url, clock, arrival).await
                }));
            }
            Action::Disconnect(why) => self.lost(socket, why.into()),
            Action::Upload(up) => {
                tokio::spawn(upload(
                    self.rest.clone(),
                    self.session,
                    up,
                    self.tasks.0.clone(),
                ));
            }
            Action::Fetch(fetch) => {
                tokio::spawn(download(
                    self.rest.clone(),
                    self.session,
                    fetch,
                    self.tasks.0.clone(),
                ));
            }
        }
    }

    /// The connection is gone (or never came): tell the client and the user. A session the
    /// server does not have is not retried.
    fn lost(&mut self, socket: &mut Socket, error: ConnectionError) {
        *socket = Socket::Down;
        let now = self.now();
        if error.is_not_found() {
            self.client.handle_session_unknown(now);
            (self.sink)(SyncEvent::Players(Vec::new()));
            let error = ConnectionError::UnknownSession {
                session: self.session,
            };
            return (self.sink)(SyncEvent::Connection(ConnectionState::Stopped { error }));
        }
        let retry_in = self.client.handle_disconnected(now);
        (self.sink)(SyncEvent::Connection(ConnectionState::Offline {
            error,
            retry_in: ms(retry_in),
        }));
    }

    fn socket_event(&mut self, socket: &mut Socket, ev: SocketEvent) {
        match ev {
            SocketEvent::Opened(ws) => {
                *socket = Socket::Up(ws);
                let now = self.now();
                self.client.handle_connected(now);
            }
            SocketEvent::Frame(Message::Text(text)) => {
                // The pong's receive time (t3) is when its bytes were read: the frames read
                // with it and the sink's work for them do not delay it.
                let now = self.arrived();
                let taken = self.client.clock().estimate().map(|e| e.samples);
                self.client.handle_message(text.as_bytes(), now);
                if let Some(tx) = &self.clock_samples {
                    if self.client.clock().estimate().map(|e| e.samples) != taken {
                        if let Some(s) = self.client.clock().newest() {
                            let _ = tx.send(s);
                        }
                    }
                }
                if let Some(tl) = self.client.timeline() {
                    self.clock
                        .publish(tl, self.client.clock().estimate().as_ref());
                }
            }
            SocketEvent::Frame(Message::Close(frame)) => {
                let error = match frame {
                    Some(f) => ConnectionError::ClosedByServer {
                        code: u16::from(f.code),
                        reason: f.reason.to_string(),
                    },
                    None => ConnectionError::ClosedByServerWithoutReason,
                };
                self.lost(socket, error);
            }
            SocketEvent::Frame(_) => {}
            SocketEvent::Lost(error) => self.lost(socket, error),
        }
    }

    /// Copies the pending list for [`crate::SyncHandle::pending`] when it changed.
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
            Command::Cue(p) => self.client.cue_pattern(p),
            Command::SongMode(on) => self.client.set_song_mode(on),
            Command::Fill(on) => self.client.set_fill(on),
            Command::Upload { name, wav, id } => {
                self.client.upload_sample(name, wav, id);
            }
            Command::Fetch { id, name } => self.client.fetch_sample(id, name),
            Command::Reconnect => {
                let now = self.now();
                self.client.reconnect(now);
            }
        }
    }

    fn edit(&mut self, op: Op) {
        self.edited = true;
        if let Err(e) = self.client.edit(op.clone()) {
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

    /// A transfer task finished an attempt or reported progress.
    fn task_done(&mut self, done: TaskDone) {
        let now = self.now();
        let event = match done {
            TaskDone::Progress(ev) => ev,
            TaskDone::Uploaded { up, result } => match result {
                Ok(done) => {
                    self.client.handle_uploaded(up.transfer);
                    SampleEvent::Uploaded(done)
                }
                Err(e) => {
                    let retry = self
                        .client
                        .handle_upload_failed(now, up.transfer, failure_of(&e));
                    SampleEvent::UploadFailed {
                        name: up.name,
                        id: up.id,
                        error: e.into(),
                        retry_in: retry_in(retry),
                    }
                }
            },
            TaskDone::Fetched { fetch, result } => {
                let (failure, error) = match result {
                    Ok(sample) => {
                        self.client.handle_fetched(fetch.transfer);
                        let Fetch { id, name, .. } = fetch;
                        return (self.sink)(SyncEvent::Sample(SampleEvent::Ready {
                            id,
                            name,
                            sample,
                        }));
                    }
                    Err(FetchError::NotFound) => {
                        (TransferFailure::NotFound, TransferError::NotOnServerYet)
                    }
                    Err(FetchError::Rest(e)) => (failure_of(&e), e.into()),
                    Err(FetchError::Unplayable(e)) => (TransferFailure::Final, e.into()),
                };
                let retry = self
                    .client
                    .handle_fetch_failed(now, fetch.transfer, failure);
                if retry == Retry::Silently {
                    return;
                }
                SampleEvent::FetchFailed {
                    id: fetch.id,
                    error,
                    retry_in: retry_in(retry),
                }
            }
        };
        (self.sink)(SyncEvent::Sample(event));
    }

    /// Forwards the client's events to the sink, and the new local view when it changed for
    /// another reason than the caller's edits, or when edits of the caller were taken and no
    /// more wait in the queue (the caller's copy may have been replaced by a view sent before
    /// them: see [`EventLoop::edited`]). One view covers a burst of edits.
    fn drain_events(&mut self) {
        let mut state_changed = false;
        while let Some(ev) = self.client.poll_event() {
            match &ev {
                ClientEvent::Synced { you } => {
                    state_changed = true;
                    (self.sink)(SyncEvent::Connection(ConnectionState::Joined { you: *you }));
                    (self.sink)(SyncEvent::Players(self.client.players().to_vec()));
                    if let Some(session) = self.client.confirmed() {
                        (self.sink)(SyncEvent::Access {
                            owner_id: session.owner_id.clone(),
                            mode: session.mode,
                        });
                    }
                }
                ClientEvent::PlayerJoined(_) | ClientEvent::PlayerLeft(_) => {
                    (self.sink)(SyncEvent::Players(self.client.players().to_vec()));
                }
                ClientEvent::RemoteEdit { .. } | ClientEvent::Rejected { .. } => {
                    state_changed = true
                }
                _ => {}
            }
            (self.sink)(SyncEvent::Client(ev));
        }
        let edits_taken = self.edited && self.commands.is_empty();
        if state_changed || edits_taken {
            self.edited = false;
            (self.sink)(SyncEvent::State(Box::new(self.client.state().clone())));
        }
    }
}

/// The next thing the socket does; never resolves while it is down.
async fn next(socket: &mut Socket) -> SocketEvent {
    match socket {
        Socket::Down => std::future::pending().await,
        Socket::Connecting(connecting) => match connecting.await {
            Ok(ws) => SocketEvent::Opened(ws),
            Err(e) => SocketEvent::Lost(e.into()),
        },
        Socket::Up(ws) => match ws.next().await {
            Some(Ok(msg)) => SocketEvent::Frame(msg),
            Some(Err(e)) => SocketEvent::Lost(e.into()),
            None => SocketEvent::Lost(ConnectionError::Closed),
        },
    }
}

async fn sleep_until(at: Option<tokio::time::Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

/// Says goodbye on an open socket (shutting down).
async fn close(socket: Socket) {
    if let Socket::Up(mut ws) = socket {
        let _ = ws.send(Message::Close(None)).await;
    }
}

/// Sends the frames the client queued.
async fn flush(client: &mut Client, ws: &mut Ws) -> Result<(), tungstenite::Error> {
    while let Some(text) = client.poll_transmit() {
        ws.feed(Message::text(text)).await?;
    }
    ws.flush().await
}

fn ms(ms: f64) -> Duration {
    Duration::from_secs_f64(ms.max(0.0) / 1000.0)
}

fn retry_in(retry: Retry) -> Option<Duration> {
    match retry {
        Retry::InMs(d) => Some(ms(d)),
        Retry::Never | Retry::Silently => None,
    }
}

fn failure_of(e: &RestError) -> TransferFailure {
    if e.is_transient() {
        TransferFailure::Transient
    } else {
        TransferFailure::Final
    }
}

/// One upload attempt; reports progress as the body goes out, then the outcome.
async fn upload(
    rest: Rest,
    session: SessionId,
    mut up: Upload,
    tx: mpsc::UnboundedSender<TaskDone>,
) {
    // The client keeps its own copy for retries.
    let wav = std::mem::take(&mut up.wav);
    let (progress_tx, name, id) = (tx.clone(), up.name.clone(), up.id.clone());
    let progress = move |sent, total| {
        let _ = progress_tx.send(TaskDone::Progress(SampleEvent::Uploading {
            name: name.clone(),
            id: id.clone(),
            sent,
            total,
        }));
    };
    let result = match &up.id {
        Some(sample) => {
            rest.upload_sample_as(session, sample, &up.name, wav, progress)
                .await
        }
        None => {
            rest.upload_sample_with_progress(session, &up.name, wav, progress)
                .await
        }
    };
    let _ = tx.send(TaskDone::Uploaded { up, result });
}

/// One download attempt, decoded off the audio thread.
async fn download(
    rest: Rest,
    session: SessionId,
    fetch: Fetch,
    tx: mpsc::UnboundedSender<TaskDone>,
) {
    let result = match rest.download_sample(session, &fetch.id).await {
        Ok(bytes) => decode_wav(&bytes).map_err(FetchError::Unplayable),
        Err(RestError::Refused { status: 404, .. }) => Err(FetchError::NotFound),
        Err(e) => Err(FetchError::Rest(e)),
    };
    let _ = tx.send(TaskDone::Fetched { fetch, result });
}
