//! `LiveSession`: one Durable Object per session, running core's [`Room`] on the WebSocket
//! hibernation API.
//!
//! Storage (the DO's SQLite, [`super::live_store`]): the session document as of some sequence
//! number, a log of the edits after it (one small row each), the timeline, and the sequence
//! number last written to KV. Every [`RoomEvent::Persist`] is written (an edit appended to the
//! log, any other change as the whole document) before any later transmit is sent, and the
//! runtime's output gate holds every send until the write is durable, so whatever a player saw
//! acknowledged survives eviction, restarts and crashes. The log is folded into the document
//! every [`live_store::COMPACT_OPS`] edits and whenever KV is written. KV is brought up to date
//! by an alarm a second after a change, when the last player leaves, and at once on a REST save.
//!
//! After hibernation the object is rebuilt from storage and from each open socket's attachment
//! (its connection id, player and verified user); while awake, a message's connection is found
//! by its socket ([`super::live_sockets`]) without reading the attachment, and the message is
//! handled, written and sent within the runtime's call ([`LiveSession::web_socket_message`]).

use std::cell::RefCell;
use std::rc::Rc;
use std::sync::Arc;

use keyboardia_core::api::{Evicted, CLIENT_ADDRESS_HEADER};
use keyboardia_core::clock::Timeline;
use keyboardia_core::protocol::Player;
use keyboardia_core::room::{ConnId, Room, RoomConfig, RoomEvent};
use keyboardia_core::schema::{session_to_json, state_from_json};
use keyboardia_core::{ErrorCode, OpError, SampleId, SessionId};
use serde::{Deserialize, Serialize};
use wasm_bindgen::prelude::*;
use worker::{
    durable_object, web_sys, DurableObject, Env, Request, RequestInit, Response, State, WebSocket,
    WebSocketPair, WebSocketRequestResponsePair,
};

use super::http::{error_response, json, json_of, now_ms, ApiResult};
use super::live_sockets::Sockets;
use super::live_store::{self, Store, Stored};
use super::store;
use crate::api_error::ApiError;
use crate::limits::KV_SYNC_DELAY_MS;

/// Events closer than this (ms) to the last write are a burst: the room gathers the messages
/// that follow into one write ([`Inner::gather`]). Edits one at a time are written at once.
const BURST_GAP_MS: f64 = 1.0;

/// The binding name in `wrangler.toml`.
pub const BINDING: &str = "LIVE_SESSIONS";
/// The header by which the Worker tells the DO who the verified user is (stripped from clients).
pub const USER_HEADER: &str = "x-keyboardia-user";
/// The var that makes every handler invocation log one line, `keyboardia-wake <kind> <object>
/// <ms>` (for `tests/examples/wake_bench.rs`, which counts an idle room's wake-ups).
pub const LOG_WAKES_VAR: &str = "LOG_WAKES";

/// What the Worker asks of a session's Durable Object: the DO's own route table, at the
/// internal path `/live/{id}/{call}` (never reachable from outside the Worker).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Call {
    /// Accept a player's WebSocket (the verified user in [`USER_HEADER`]).
    Socket,
    /// A REST save, validated by the Worker, applied to the room.
    Save,
    /// An uploaded sample ([`Announce`]) to tell the players about.
    Announce,
    /// Test hook: forget the room as an eviction would.
    Evict,
    /// The session as the DO has it, or 404 if it never held it.
    Current,
    /// Rewrite the session to KV with a fresh TTL and answer with it.
    Renew,
    /// A signed-in user (in [`USER_HEADER`]) claims the session.
    Claim,
    /// The owner (in [`USER_HEADER`]) sets the mode (body: core's `api::SetMode`).
    SetMode,
}

impl Call {
    const ALL: [Call; 8] = [
        Call::Socket,
        Call::Save,
        Call::Announce,
        Call::Evict,
        Call::Current,
        Call::Renew,
        Call::Claim,
        Call::SetMode,
    ];

    /// The last path segment.
    const fn as_str(self) -> &'static str {
        match self {
            Call::Socket => "ws",
            Call::Save => "save",
            Call::Announce => "announce",
            Call::Evict => "evict",
            Call::Current => "current",
            Call::Renew => "renew",
            Call::Claim => "claim",
            Call::SetMode => "mode",
        }
    }

    /// The session and the call an internal path names.
    fn parse(path: &str) -> ApiResult<(SessionId, Call)> {
        let parts: Vec<&str> = path.trim_matches('/').split('/').collect();
        let ["live", id, action] = parts.as_slice() else {
            return Err(ApiError::not_found("live endpoint"));
        };
        let id: SessionId = id.parse()?;
        let call = Call::ALL
            .into_iter()
            .find(|c| c.as_str() == *action)
            .ok_or_else(|| ApiError::not_found("live endpoint"))?;
        Ok((id, call))
    }
}

/// Sends `init` to the session's DO as `call` and returns its response unchanged.
pub async fn call(env: &Env, id: SessionId, call: Call, init: &RequestInit) -> ApiResult {
    let stub = env.durable_object(BINDING)?.get_by_name(&id.to_string())?;
    let url = format!("https://live/live/{id}/{}", call.as_str());
    let req = Request::new_with_init(&url, init)?;
    Ok(stub.fetch_with_request(req).await?)
}

/// Kept with each socket so the room can be rebuilt after hibernation.
#[derive(Serialize, Deserialize)]
struct Attachment {
    conn: ConnId,
    /// Set once the socket said hello.
    player: Option<Player>,
    /// The verified owner id, if the socket presented the owner key.
    user: Option<String>,
    /// The client's address (its messages draw from that address's token bucket).
    #[serde(default)]
    address: Option<String>,
    /// When the socket was accepted (ms since the epoch): its hello deadline counts from here.
    #[serde(default)]
    opened_ms: f64,
}

/// The body of an internal announce call.
#[derive(Serialize, Deserialize)]
pub struct Announce {
    /// The stored sample's id.
    pub id: SampleId,
    /// Its display name.
    pub name: String,
    /// Where players download it.
    pub url: String,
}

/// What exists only while the object is awake.
struct Live {
    /// core's room: the authority on the session while it is live.
    room: Room,
    /// Open sockets, by connection id and by socket.
    sockets: Sockets,
    /// The id for the next socket (above every id in an attachment, so ids are never reused).
    next_conn: ConnId,
    /// The sequence number last written to KV.
    kv_seq: u64,
    /// When the one alarm is set for (ms since the epoch), if it is: the KV write a second
    /// after a change, or the room's next hello deadline, whichever is first.
    alarm_at: Option<f64>,
    /// Storage: the writes waiting, and where the document and the op log stand.
    store: Store,
    /// How long after a change KV is written (ms; `LIVE_SYNC_DELAY_MS` overrides
    /// [`KV_SYNC_DELAY_MS`]).
    sync_delay_ms: f64,
    /// Sends that wait for the next write, in order.
    held: Vec<Out>,
    /// The recipients of one text, reused by [`Inner::flush`] (ids as JavaScript numbers).
    to: Vec<f64>,
    /// A batch is being gathered ([`Inner::gather`]): handlers leave their writes and
    /// sends to it.
    gathering: bool,
    /// When the last write-and-send was made (ms since the epoch; the runtime's clock moves
    /// between events): an event closer to it than [`BURST_GAP_MS`] starts a batch.
    last_flush_ms: f64,
}

/// An outgoing message that may have to wait for a write (closes do not: [`close_now`]).
enum Out {
    Send(ConnId, Arc<str>),
}

impl Live {
    /// Queues `out`; it goes out in order after any pending write.
    fn out(&mut self, out: Out) {
        self.held.push(out);
    }
}

/// The Durable Object. workers-rs's macro exports its constructor, `fetch` and `alarm`; the
/// three WebSocket handlers are exported by hand ([`LiveSession::web_socket_message`]), so that a
/// message is handled in the runtime's call itself: no future, promise or microtask per message
/// unless it has to wait (a wake's load, a burst's gathering).
#[durable_object(alarm)]
pub struct LiveSession {
    /// The object's state, shared with the futures of handlers that wait.
    inner: Rc<Inner>,
}

/// What a [`LiveSession`] holds.
struct Inner {
    /// Storage, sockets and alarms of this object.
    state: State,
    /// Bindings (KV for the first load and for keeping KV current).
    env: Env,
    /// The room while the object is awake; `None` after a wake until the first event loads it.
    live: RefCell<Option<Live>>,
    /// Log each handler invocation ([`LOG_WAKES_VAR`] is `1`): what wakes the object is what
    /// an idle room costs.
    log_wakes: bool,
}

/// Closes `conn` at once rather than after the next write: from then on the runtime's frames
/// from it (a burst may have thousands in flight) are dropped on arrival by
/// [`LiveSession::web_socket_message`] before any work. What was queued for it waits on a write
/// that may not be made yet, so it is dropped unsent (nothing unwritten is revealed), except the
/// room's last message to it, which is always the typed error that explains the close (it
/// reveals no op).
fn close_now(live: &mut Live, conn: ConnId, code: u16, reason: &'static str) {
    let mut error = None;
    live.held.retain(|Out::Send(to, text)| {
        let keep = *to != conn;
        if !keep {
            error = Some(text.clone());
        }
        keep
    });
    if let Some(ws) = live.sockets.remove(conn) {
        if let Some(text) = error {
            let _ = ws.send_with_str(&*text);
        }
        let _ = ws.close(Some(code), Some(reason));
    }
}

/// Whether the socket is still open (not closed by the room or the client).
fn is_open(ws: &WebSocket) -> bool {
    const OPEN: u16 = 1;
    AsRef::<worker::web_sys::WebSocket>::as_ref(ws).ready_state() == OPEN
}

impl Inner {
    fn sql(&self) -> worker::SqlStorage {
        self.state.storage().sql()
    }

    /// One handler invocation of kind `kind` (fetch, alarm, message, close, error), logged when
    /// [`LOG_WAKES_VAR`] asks for it (at warning level: the test harness runs `wrangler dev`
    /// with `--log-level warn`).
    fn woken(&self, kind: &str) {
        if self.log_wakes {
            worker::console_warn!("keyboardia-wake {kind} {} {}", self.state.id(), now_ms());
        }
    }

    /// A `[vars]` number, if set to a finite number ≥ 1.
    fn var_at_least_1(&self, name: &str) -> Option<f64> {
        self.env
            .var(name)
            .ok()
            .and_then(|v| v.to_string().trim().parse::<f64>().ok())
            .filter(|v| v.is_finite() && *v >= 1.0)
    }

    /// core's limits, with the message rate and burst per client address from the
    /// `ROOM_MSGS_PER_SEC` and `ROOM_BURST` vars when set.
    fn room_config(&self) -> RoomConfig {
        let var = |name: &str| self.var_at_least_1(name);
        let default = RoomConfig::default();
        RoomConfig {
            msgs_per_sec: var("ROOM_MSGS_PER_SEC").unwrap_or(default.msgs_per_sec),
            burst: var("ROOM_BURST").unwrap_or(default.burst),
            ..default
        }
    }

    /// Makes sure the room is in memory: from SQLite, or on the very first wake from KV (`id`
    /// must then be known; an unknown session is a 404).
    async fn ensure_live(&self, id: Option<SessionId>) -> ApiResult<()> {
        if self.live.borrow().is_some() {
            return Ok(());
        }
        let sql = self.sql();
        let stored = match live_store::load(&sql)? {
            Some(stored) => stored,
            None => {
                let id = id.ok_or_else(|| ApiError::not_found("live session"))?;
                let session = store::get(&self.env, id).await?;
                if self.live.borrow().is_some() {
                    return Ok(()); // another request loaded it meanwhile
                }
                let timeline = Timeline::new(session.state.tempo, now_ms());
                live_store::create(&sql, &session, &timeline)?;
                Stored {
                    session,
                    seq: 0,
                    doc_seq: 0,
                    timeline,
                    kv_seq: 0,
                }
            }
        };
        let alarm_at = self.state.storage().get_alarm().await?.map(|t| t as f64);
        if self.live.borrow().is_some() {
            return Ok(()); // another request loaded it meanwhile
        }
        let now = now_ms();
        let Stored {
            session,
            seq,
            doc_seq,
            timeline,
            kv_seq,
        } = stored;
        let mut room = Room::new(session, seq, timeline, self.room_config());
        let mut sockets = Sockets::new();
        let mut next_conn = 1;
        for ws in self.state.get_websockets() {
            let Ok(Some(a)) = ws.deserialize_attachment::<Attachment>() else {
                continue;
            };
            next_conn = next_conn.max(a.conn + 1);
            if !is_open(&ws) {
                continue; // closed by the room (rate limit, slow reader, ...) or by the client
            }
            match a.player {
                Some(player) => room.restore_player_from(a.conn, player, a.user, a.address, now),
                None => {
                    let opened = if a.opened_ms > 0.0 { a.opened_ms } else { now };
                    room.handle_connect_from(a.conn, a.user, a.address, opened);
                }
            }
            sockets.insert(a.conn, ws);
        }
        let compact_ops = self
            .var_at_least_1("LIVE_COMPACT_OPS")
            .map_or(live_store::COMPACT_OPS, |v| v as u64);
        *self.live.borrow_mut() = Some(Live {
            room,
            sockets,
            next_conn,
            kv_seq,
            alarm_at,
            store: Store::new(sql, doc_seq, seq, compact_ops),
            sync_delay_ms: self
                .var_at_least_1("LIVE_SYNC_DELAY_MS")
                .unwrap_or(KV_SYNC_DELAY_MS),
            held: Vec::new(),
            to: Vec::new(),
            gathering: false,
            last_flush_ms: 0.0,
        });
        Ok(())
    }

    /// Takes the room's events in order. Writes are made by [`Inner::flush`]; every
    /// send that follows an unwritten change waits in `held` until the write is made, so nothing
    /// reveals an op before it is durable.
    fn drain(&self, live: &mut Live, now: f64) -> ApiResult<()> {
        while let Some(event) = live.room.poll_event() {
            match event {
                RoomEvent::Persist { seq, edit } => live.store.persist(seq, edit),
                RoomEvent::PersistTimeline => live.store.persist_timeline(),
                RoomEvent::Joined { conn, player, user } => {
                    if let Some(ws) = live.sockets.get(conn) {
                        let old = ws.deserialize_attachment::<Attachment>()?;
                        ws.serialize_attachment(Attachment {
                            conn,
                            player: Some(player),
                            user,
                            address: old.as_ref().and_then(|a| a.address.clone()),
                            opened_ms: old.map_or(0.0, |a| a.opened_ms),
                        })?;
                    }
                }
                RoomEvent::Transmit { to, text } => live.out(Out::Send(to, text)),
                RoomEvent::Close { conn, code, reason } => {
                    close_now(live, conn, code, reason);
                    live.room.handle_disconnect(conn, now);
                }
            }
        }
        Ok(())
    }

    /// Makes the writes the room's events asked for (an edit is one small log row), then sends
    /// everything that waited for them. The runtime's output gate holds every send until the
    /// write before it is durable, so an op is on disk before anyone sees it. Messages that
    /// arrive in a burst are gathered into one write first ([`Inner::gather`]).
    fn flush(&self, live: &mut Live, now: f64) -> ApiResult<bool> {
        let wrote = live.store.write(&live.room)?;
        // One JavaScript string and one call per text, whatever the number of sockets it goes
        // to (a broadcast's transmits are consecutive and share one allocation).
        let mut i = 0;
        while i < live.held.len() {
            let Out::Send(_, text) = &live.held[i];
            live.to.clear();
            let mut j = i;
            while let Some(Out::Send(to, t)) = live.held.get(j) {
                if !Arc::ptr_eq(t, text) {
                    break;
                }
                live.to.push(*to as f64);
                j += 1;
            }
            let js = live.store.js_text(text);
            live.sockets.send_to(&live.to, &js);
            i = j;
        }
        live.held.clear();
        live.store.end_round();
        if wrote {
            let at = now + live.sync_delay_ms;
            self.alarm_by(live, at, now);
        }
        Ok(wrote)
    }

    /// Makes sure the alarm fires by `at` (ms since the epoch; `now` is the runtime's clock):
    /// sets it unless it is already set earlier. Not awaited: the alarm is a storage write like
    /// any other (ordered, covered by the output gate), and waiting for it would hold up the
    /// caller.
    fn alarm_by(&self, live: &mut Live, at: f64, now: f64) {
        if live.alarm_at.is_some_and(|a| a <= at) {
            return;
        }
        live.alarm_at = Some(at);
        let storage = self.state.storage();
        let offset_ms = (at - now).max(0.0) as i64;
        wasm_bindgen_futures::spawn_local(async move {
            if let Err(e) = storage.set_alarm(offset_ms).await {
                worker::console_error!("setting the alarm failed: {e}");
            }
        });
    }

    /// Runs `f` on the awake room, takes its events, writes and sends: at once, unless a
    /// batch is being gathered ([`Inner::gather`]), which then takes them. Returns `f`'s
    /// result and whether this write began a burst (the caller then gathers what follows).
    /// Nothing here waits: a message is handled within the runtime's call.
    fn apply<T>(
        &self,
        now: f64,
        f: impl FnOnce(&mut Live) -> ApiResult<T>,
    ) -> ApiResult<(ApiResult<T>, bool)> {
        let mut guard = self.live.borrow_mut();
        let live = guard
            .as_mut()
            .ok_or_else(|| ApiError::internal("room not loaded"))?;
        let out = f(live);
        self.drain(live, now)?;
        if let Some(at) = live.room.poll_timeout() {
            self.alarm_by(live, at, now);
        }
        if live.gathering {
            return Ok((out, false)); // the batch being gathered writes and sends it
        }
        let burst = now - live.last_flush_ms < BURST_GAP_MS;
        live.last_flush_ms = now;
        // Only writes are worth gathering: other replies (pongs) go out at once.
        let wrote = self.flush(live, now)?;
        Ok((out, burst && wrote))
    }

    /// [`Inner::apply`], then the gathering of a burst it began.
    async fn with_room<T>(&self, f: impl FnOnce(&mut Live) -> ApiResult<T>) -> ApiResult<T> {
        let (out, burst) = self.apply(now_ms(), f)?;
        if burst {
            self.gather().await?;
        }
        out
    }

    /// Group commit under a burst of writes: yields one turn of the event loop at a time, so
    /// that the messages already queued are handled meanwhile, and writes and sends them
    /// together, until a turn brings nothing to write. (One write then covers many edits; a
    /// lone edit is written at once, without the extra turn.)
    async fn gather(&self) -> ApiResult<()> {
        if let Some(live) = self.live.borrow_mut().as_mut() {
            live.gathering = true;
        }
        let result = loop {
            worker::Delay::from(std::time::Duration::from_millis(0)).await;
            let mut guard = self.live.borrow_mut();
            let Some(live) = guard.as_mut() else {
                break Ok(());
            };
            match self.flush(live, now_ms()) {
                Ok(true) => continue,
                Ok(false) => break Ok(()),
                Err(e) => break Err(e),
            }
        };
        if let Some(live) = self.live.borrow_mut().as_mut() {
            live.gathering = false;
        }
        result
    }

    /// Folds the op log into the document and writes the session to KV, each if needed: one
    /// serialization serves both.
    async fn sync_kv(&self) -> ApiResult<()> {
        let pending = {
            let mut guard = self.live.borrow_mut();
            let live = guard
                .as_mut()
                .ok_or_else(|| ApiError::internal("room not loaded"))?;
            let kv_behind = live.room.seq() > live.kv_seq;
            let text = if live.store.is_dirty() || live.store.uncompacted() > 0 {
                Some(live.store.compact(&live.room)?)
            } else {
                kv_behind.then(|| session_to_json(live.room.session()))
            };
            match text {
                Some(text) if kv_behind => Some((live.room.session().id, text, live.room.seq())),
                _ => None,
            }
        };
        let Some((id, text, seq)) = pending else {
            return Ok(());
        };
        store::put_text(&self.env, id, text).await?;
        self.kv_written(seq)
    }

    /// Records that KV holds the session as of `seq` (in SQLite, to survive eviction, and in
    /// the loaded room).
    fn kv_written(&self, seq: u64) -> ApiResult<()> {
        live_store::set_kv_seq(&self.sql(), seq)?;
        if let Some(live) = self.live.borrow_mut().as_mut() {
            live.kv_seq = live.kv_seq.max(seq);
        }
        Ok(())
    }

    async fn accept_socket(&self, req: &Request, id: SessionId) -> ApiResult {
        self.ensure_live(Some(id)).await?;
        let user = req.headers().get(USER_HEADER)?;
        let address = req.headers().get(CLIENT_ADDRESS_HEADER)?;
        let full = self
            .live
            .borrow()
            .as_ref()
            .is_some_and(|l| !l.room.accepts_connection());
        if full {
            return Err(ApiError::new(
                503,
                ErrorCode::TooManyConnections,
                "too many connections waiting to join this session; try again",
            ));
        }
        let pair = WebSocketPair::new()?;
        self.state.accept_web_socket(&pair.server);
        let pong = WebSocketRequestResponsePair::new("ping", "pong")
            .map_err(|e| ApiError::internal(format!("auto-response: {e:?}")))?;
        self.state.set_websocket_auto_response(&pong);
        let server = pair.server;
        self.with_room(|live| {
            let conn = live.next_conn;
            live.next_conn += 1;
            let now = now_ms();
            server.serialize_attachment(Attachment {
                conn,
                player: None,
                user: user.clone(),
                address: address.clone(),
                opened_ms: now,
            })?;
            live.sockets.insert(conn, server);
            live.room.handle_connect_from(conn, user, address, now);
            Ok(())
        })
        .await?;
        Ok(Response::from_websocket(pair.client)?)
    }

    async fn save(&self, mut req: Request, id: SessionId) -> ApiResult {
        let state = state_from_json(&req.bytes().await?)?;
        let user = req.headers().get(USER_HEADER)?;
        self.ensure_live(Some(id)).await?;
        self.with_room(|live| {
            if !live.room.session().can_edit(user.as_deref()) {
                return Err(ApiError::new(
                    403,
                    keyboardia_core::ErrorCode::ReadOnly,
                    OpError::ReadOnly.to_string(),
                ));
            }
            live.room.replace_state(state, now_ms());
            Ok(())
        })
        .await?;
        self.sync_kv().await?;
        let text = {
            let guard = self.live.borrow();
            guard.as_ref().map(|l| session_to_json(l.room.session()))
        };
        json(200, text.unwrap_or_default())
    }

    /// A claim or a lock: core's [`keyboardia_core::access`] decides, the room applies it (every
    /// player gets the new owner and mode), and KV is written at once so that checks made
    /// from KV (sample uploads) see it.
    async fn change_access(&self, mut req: Request, id: SessionId, call: Call) -> ApiResult {
        use keyboardia_core::access;
        let user = req.headers().get(USER_HEADER)?;
        let mode = match call {
            Call::SetMode => Some(req.json::<keyboardia_core::api::SetMode>().await?.mode),
            _ => None,
        };
        self.ensure_live(Some(id)).await?;
        self.with_room(|live| {
            Ok(live.room.change_access(now_ms(), |s| match mode {
                Some(m) => access::set_mode(s, user.as_deref(), m).map(|_| ()),
                None => access::claim(s, user.as_deref()),
            })?)
        })
        .await?;
        self.sync_kv().await?;
        let text = {
            let guard = self.live.borrow();
            guard.as_ref().map(|l| session_to_json(l.room.session()))
        };
        json(200, text.unwrap_or_default())
    }

    async fn announce(&self, mut req: Request) -> ApiResult {
        let a: Announce = req.json().await?;
        if self.state.get_websockets().is_empty() {
            return json(200, r#"{"live":false}"#.into());
        }
        self.ensure_live(None).await?;
        self.with_room(|live| {
            live.room.announce_sample(a.id, a.name, a.url);
            Ok(())
        })
        .await?;
        json(200, r#"{"live":true}"#.into())
    }

    /// The session as this object has it (newer than KV by up to a second while live), or 404
    /// when this object never held the session (it then creates no storage).
    fn current(&self) -> ApiResult {
        if let Some(live) = self.live.borrow().as_ref() {
            return json(200, session_to_json(live.room.session()));
        }
        let sql = self.sql();
        if !live_store::exists(&sql)? {
            return Err(ApiError::not_found("live session"));
        }
        match live_store::load(&sql)? {
            Some(stored) => json(200, session_to_json(&stored.session)),
            None => Err(ApiError::not_found("live session")),
        }
    }

    /// Rewrites the session to KV with a fresh TTL (a GET found it due) and answers with it.
    async fn renew(&self, id: SessionId) -> ApiResult {
        self.ensure_live(Some(id)).await?;
        let (text, seq) = {
            let guard = self.live.borrow();
            let live = guard
                .as_ref()
                .ok_or_else(|| ApiError::internal("room not loaded"))?;
            (session_to_json(live.room.session()), live.room.seq())
        };
        store::put_text(&self.env, id, text.clone()).await?;
        self.kv_written(seq)?;
        json(200, text)
    }

    /// Test hook: forgets the room as an eviction or hibernation would. The sockets stay open;
    /// the next event rebuilds the room from SQLite and the sockets' attachments.
    fn evict(&self) -> ApiResult {
        let mut guard = self.live.borrow_mut();
        let busy = guard
            .as_ref()
            .is_some_and(|l| l.gathering || !l.held.is_empty() || l.store.is_dirty());
        if busy {
            return Err(ApiError::new(
                409,
                keyboardia_core::ErrorCode::Malformed,
                "writes in flight; try again",
            ));
        }
        let evicted = guard.take().is_some();
        json_of(200, &Evicted { evicted })
    }

    async fn route(&self, req: Request) -> ApiResult {
        let (id, call) = Call::parse(&req.path())?;
        match call {
            Call::Socket => self.accept_socket(&req, id).await,
            Call::Save => self.save(req, id).await,
            Call::Announce => self.announce(req).await,
            Call::Evict => self.evict(),
            Call::Current => self.current(),
            Call::Renew => self.renew(id).await,
            Call::Claim | Call::SetMode => self.change_access(req, id, call).await,
        }
    }

    /// A message, handled within the runtime's call when the room is awake and knows the
    /// socket (the common case); otherwise, or when the write began a burst, what is left to
    /// wait for. The frame is copied into wasm only once its socket is known to be live (a
    /// closed socket's frames in flight are dropped as they are).
    fn message_now(&self, ws: &WebSocket, message: &JsValue) -> ApiResult<Then> {
        let known = self
            .live
            .borrow()
            .as_ref()
            .and_then(|l| l.sockets.conn_of(ws));
        let Some(conn) = known else {
            // A socket the room closed (over its rate limit, say) may still have thousands
            // of frames in flight: drop them here, before any work, so they delay nobody.
            if !is_open(ws) {
                return Ok(Then::Done);
            }
            // After a wake: the room is rebuilt first.
            return Ok(Then::Load);
        };
        // The room drops frames from connections it closed (still in flight when it did).
        let bytes = message_bytes(message);
        let now = now_ms();
        let (out, burst) = self.apply(now, |live| {
            live.room.handle_message(conn, &bytes, now);
            Ok(())
        })?;
        out?;
        Ok(if burst { Then::Gather } else { Then::Done })
    }

    /// A message after a wake: rebuilds the room, names the socket by its attachment.
    async fn message_after_load(&self, ws: &WebSocket, bytes: &[u8]) -> ApiResult<()> {
        self.ensure_live(None).await?;
        let conn = match self
            .live
            .borrow()
            .as_ref()
            .and_then(|l| l.sockets.conn_of(ws))
        {
            Some(conn) => conn,
            None => match ws.deserialize_attachment::<Attachment>()? {
                Some(a) => a.conn,
                None => return Ok(()),
            },
        };
        self.with_room(|live| {
            live.room.handle_message(conn, bytes, now_ms());
            Ok(())
        })
        .await
    }

    async fn on_close(&self, ws: &WebSocket) -> ApiResult<()> {
        self.ensure_live(None).await?;
        let Some(a) = ws.deserialize_attachment::<Attachment>()? else {
            return Ok(());
        };
        let empty = self
            .with_room(|live| {
                live.sockets.remove(a.conn);
                live.room.handle_disconnect(a.conn, now_ms());
                Ok(live.room.players().next().is_none())
            })
            .await?;
        if empty {
            self.sync_kv().await?;
        }
        Ok(())
    }
}

fn to_worker(e: ApiError) -> worker::Error {
    worker::Error::RustError(format!("{} {}: {}", e.status, e.code, e.msg))
}

/// What a WebSocket message still needs after [`Inner::message_now`].
enum Then {
    /// Nothing: it was handled, written and sent.
    Done,
    /// Its write began a burst: gather the messages that follow ([`Inner::gather`]).
    Gather,
    /// The room is not loaded (after a wake): [`Inner::message_after_load`].
    Load,
}

/// The promise of a handler that has to wait, as the runtime expects it (an error rejects it).
fn promise(f: impl std::future::Future<Output = ApiResult<()>> + 'static) -> JsValue {
    wasm_bindgen_futures::future_to_promise(async move {
        f.await
            .map(|()| JsValue::UNDEFINED)
            .map_err(|e| JsValue::from(to_worker(e)))
    })
    .into()
}

/// The message's bytes: a text frame's UTF-8, or a binary frame's contents.
fn message_bytes(message: &JsValue) -> Vec<u8> {
    match message.as_string() {
        Some(text) => text.into_bytes(),
        None => js_sys::Uint8Array::new(message).to_vec(),
    }
}

#[wasm_bindgen]
impl LiveSession {
    /// The runtime's `webSocketMessage(ws, message)`. Handled within the call (undefined is
    /// returned) unless it has to wait: then a promise of the rest.
    #[wasm_bindgen(js_name = webSocketMessage)]
    pub fn web_socket_message(&self, ws: web_sys::WebSocket, message: JsValue) -> JsValue {
        self.inner.woken("message");
        let ws = WebSocket::from(ws);
        match self.inner.message_now(&ws, &message) {
            Ok(Then::Done) => JsValue::UNDEFINED,
            Ok(Then::Gather) => {
                let inner = self.inner.clone();
                promise(async move { inner.gather().await })
            }
            Ok(Then::Load) => {
                let inner = self.inner.clone();
                let bytes = message_bytes(&message);
                promise(async move { inner.message_after_load(&ws, &bytes).await })
            }
            Err(e) => js_sys::Promise::reject(&JsValue::from(to_worker(e))).into(),
        }
    }

    /// The runtime's `webSocketClose(ws, code, reason, wasClean)`.
    #[wasm_bindgen(js_name = webSocketClose)]
    pub fn web_socket_close(
        &self,
        ws: web_sys::WebSocket,
        _code: JsValue,
        _reason: JsValue,
        _was_clean: JsValue,
    ) -> JsValue {
        self.inner.woken("close");
        let ws = WebSocket::from(ws);
        let _ = ws.close(Some(1000), Some("bye"));
        let inner = self.inner.clone();
        promise(async move { inner.on_close(&ws).await })
    }

    /// The runtime's `webSocketError(ws, error)`.
    #[wasm_bindgen(js_name = webSocketError)]
    pub fn web_socket_error(&self, ws: web_sys::WebSocket, _error: JsValue) -> JsValue {
        self.inner.woken("error");
        let ws = WebSocket::from(ws);
        let inner = self.inner.clone();
        promise(async move { inner.on_close(&ws).await })
    }
}

impl DurableObject for LiveSession {
    fn new(state: State, env: Env) -> Self {
        let log_wakes = env
            .var(LOG_WAKES_VAR)
            .is_ok_and(|v| v.to_string().trim() == "1");
        Self {
            inner: Rc::new(Inner {
                state,
                env,
                live: RefCell::new(None),
                log_wakes,
            }),
        }
    }

    async fn fetch(&self, req: Request) -> worker::Result<Response> {
        self.inner.woken("fetch");
        match self.inner.route(req).await {
            Ok(resp) => Ok(resp),
            Err(e) => error_response(&e),
        }
    }

    async fn alarm(&self) -> worker::Result<Response> {
        let inner = &self.inner;
        inner.woken("alarm");
        if let Some(live) = inner.live.borrow_mut().as_mut() {
            live.alarm_at = None;
        }
        inner.ensure_live(None).await.map_err(to_worker)?;
        if let Some(live) = inner.live.borrow_mut().as_mut() {
            live.alarm_at = None; // the one that fired, read back by a fresh load
        }
        // Sockets that never said hello in time are closed (and the next deadline is set).
        inner
            .with_room(|live| {
                live.room.handle_timeout(now_ms());
                Ok(())
            })
            .await
            .map_err(to_worker)?;
        inner.sync_kv().await.map_err(to_worker)?;
        Response::ok("synced")
    }
}
