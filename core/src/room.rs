//! The live room: the authoritative, sans-IO state machine of one live session.
//!
//! One [`Room`] per session runs inside the session's Durable Object (or any other host). It
//! orders edits, keeps presence, enforces limits and keeps the shared transport timeline. It does
//! no I/O and reads no clock: the host feeds it input and drains its output.
//!
//! # Calling protocol
//! - Input: [`Room::handle_connect_from`] when a socket opens (with the identity the host
//!   verified and the client's address; first ask [`Room::accepts_connection`]),
//!   [`Room::handle_message`] for every text frame as it arrives, [`Room::handle_disconnect`]
//!   when it closes, [`Room::handle_timeout`] when the time from [`Room::poll_timeout`] has come,
//!   [`Room::replace_state`] for a REST save while live, [`Room::announce_sample`] after an
//!   upload. Each takes `now`, the server time in ms since the Unix epoch.
//!
//! # Abuse limits
//! - Messages are counted as they arrive, from one token bucket per client address (per
//!   connection when the address is unknown), kept across reconnects for the life of the room:
//!   the first message over the limit closes the socket ([`close_code::RATE_LIMITED`]) after a
//!   typed `rate_limited` error, so a burst costs the room one cheap refusal, not thousands.
//! - Every frame sent counts against the connection's credit: a client acknowledges what it
//!   has read (`{"t":"ack","b":<bytes received>}`, which core's client sends every
//!   [`ACK_EVERY_BYTES`](crate::protocol::ACK_EVERY_BYTES)); one that has more than [`RoomConfig::max_unacked_bytes`]
//!   unacknowledged (it stopped reading) is closed ([`close_code::SLOW_CONSUMER`]), so nothing
//!   queues without bound behind a reader that never reads.
//! - At most [`RoomConfig::max_unjoined`] connections may wait for their hello; one that has
//!   not said hello [`RoomConfig::hello_timeout_ms`] after it opened is closed.
//! - Output: [`Room::poll_event`] until it returns `None`, handling events **in order**. A
//!   [`RoomEvent::Persist`] precedes every transmit that reveals its op: write the session before
//!   sending anything that follows it, and nothing acknowledged can be lost.
//! - After an eviction, rebuild with [`Room::new`] from storage and [`Room::restore_player`] for
//!   each socket that is still open.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

use crate::clock::{Timeline, DEFAULT_START_LEAD_MS};
use crate::error::ErrorCode;
use crate::model::{SampleId, Session, SessionState};
pub use crate::oplog::LoggedEdit;
use crate::ops::Op;
use crate::protocol::{
    decode_client, Broadcast, ClientMessage, ErrorMessage, OpId, Player, PlayerId, ServerMessage,
    Snapshot, PROTOCOL_VERSION,
};
use crate::rate::{RateLimit, TokenBucket};
use crate::song::Arrangement;

/// The host's handle for one connection.
pub type ConnId = u64;

/// WebSocket close codes the room asks for (application range 4000–4999).
pub mod close_code {
    pub const PROTOCOL_VERSION: u16 = 4001;
    pub const ROOM_FULL: u16 = 4002;
    pub const NOT_JOINED: u16 = 4003;
    /// More messages than the client address's token bucket allows.
    pub const RATE_LIMITED: u16 = 4008;
    /// More bytes unacknowledged than [`RoomConfig::max_unacked_bytes`](super::RoomConfig).
    pub const SLOW_CONSUMER: u16 = 4009;
    /// No hello within [`RoomConfig::hello_timeout_ms`](super::RoomConfig).
    pub const HELLO_TIMEOUT: u16 = 4010;
    /// More connections waiting for their hello than [`RoomConfig::max_unjoined`](super::RoomConfig).
    pub const TOO_MANY_UNJOINED: u16 = 4011;
}

/// Colours in the editor's player palette; also the most players a room can ever hold.
pub const PALETTE_SIZE: u8 = 16;

/// Limits of one room.
#[derive(Clone, Debug, PartialEq)]
pub struct RoomConfig {
    /// Most players at once; the next hello is refused with [`ErrorCode::RoomFull`].
    pub max_players: usize,
    /// Sustained messages per second per client address (token bucket refill rate).
    pub msgs_per_sec: f64,
    /// Burst size per client address (token bucket capacity).
    pub burst: f64,
    /// How far ahead a shared start is scheduled (see [`Timeline::play`]).
    pub start_lead_ms: f64,
    /// Most connections waiting for their hello at once ([`Room::accepts_connection`]).
    pub max_unjoined: usize,
    /// A connection that has not said hello this long (ms) after it opened is closed.
    pub hello_timeout_ms: f64,
    /// Most bytes sent to a connection and not yet acknowledged before it is closed as a
    /// reader that does not read (well above [`ACK_EVERY_BYTES`](crate::protocol::ACK_EVERY_BYTES) plus the largest snapshot).
    pub max_unacked_bytes: u64,
}

impl Default for RoomConfig {
    fn default() -> Self {
        Self {
            max_players: 10,
            msgs_per_sec: RateLimit::ROOM_DEFAULT.per_sec,
            burst: RateLimit::ROOM_DEFAULT.burst,
            start_lead_ms: DEFAULT_START_LEAD_MS,
            max_unjoined: 16,
            hello_timeout_ms: 10_000.0,
            // The largest snapshot (a worst-case 8-pattern session) is about 1.05 MB.
            max_unacked_bytes: 2 * 1024 * 1024,
        }
    }
}

/// Output of the room, to be handled in order.
#[derive(Clone, Debug, PartialEq)]
pub enum RoomEvent {
    /// The session changed; its state now includes every op up to `seq`. Write it durably
    /// before sending any later [`RoomEvent::Transmit`]. `edit` is the change when it is one
    /// edit (`seq - 1` → `seq`), which a host may append to a log instead of rewriting the
    /// document; `None` when the document must be written whole (a save, a claim, a lock).
    Persist { seq: u64, edit: Option<LoggedEdit> },
    /// The timeline changed: write [`Room::timeline`].
    PersistTimeline,
    /// A connection joined as `player`: keep this with the socket (an attachment) so
    /// [`Room::restore_player`] can bring it back after an eviction.
    Joined {
        conn: ConnId,
        player: Player,
        user: Option<String>,
    },
    /// Send `text` to `to`. Broadcasts share one allocation.
    Transmit { to: ConnId, text: Arc<str> },
    /// Close the connection (after sending what came before).
    Close {
        conn: ConnId,
        code: u16,
        reason: &'static str,
    },
}

/// Whose token bucket a connection's messages draw from.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
enum BucketKey {
    /// The client address the host reported: shared by every connection from it, and kept
    /// across reconnects.
    Address(String),
    /// The connection itself, when the host knows no address.
    Conn(ConnId),
}

/// One open connection.
#[derive(Clone, Debug)]
struct Conn {
    id: ConnId,
    /// Set by the hello.
    player: Option<Player>,
    /// The identity the host verified (owner checks for read-only sessions).
    user: Option<String>,
    /// The bucket in [`Room::buckets`] its messages draw from.
    bucket: BucketKey,
    /// When the socket opened (ms); the hello deadline counts from here.
    opened_ms: f64,
    /// Bytes of every frame sent to it.
    sent_bytes: u64,
    /// Bytes it acknowledged reading (never above `sent_bytes`).
    acked_bytes: u64,
}

/// The authoritative state of one live session.
#[derive(Debug)]
pub struct Room {
    session: Session,
    /// Sequence number of the last accepted op.
    seq: u64,
    timeline: Timeline,
    config: RoomConfig,
    /// Open connections in join order.
    conns: Vec<Conn>,
    /// The next player id to hand out; ids are never reused within a room's life.
    next_player: PlayerId,
    /// Messages each client address (or address-less connection) may still send right now
    /// (refilled at [`RoomConfig::msgs_per_sec`] up to [`RoomConfig::burst`]); an address's
    /// bucket outlives its connections, so a reconnect gets no fresh burst.
    buckets: HashMap<BucketKey, TokenBucket>,
    events: VecDeque<RoomEvent>,
}

/// Addresses' buckets kept before full ones are forgotten (a full bucket is the default).
const MAX_BUCKETS: usize = 1024;

impl Room {
    /// A room over `session`, whose state includes every op up to `seq`.
    pub fn new(session: Session, seq: u64, timeline: Timeline, config: RoomConfig) -> Self {
        Self {
            session,
            seq,
            timeline,
            config,
            conns: Vec::new(),
            next_player: 1,
            buckets: HashMap::new(),
            events: VecDeque::new(),
        }
    }

    pub fn session(&self) -> &Session {
        &self.session
    }

    pub fn seq(&self) -> u64 {
        self.seq
    }

    pub fn timeline(&self) -> &Timeline {
        &self.timeline
    }

    pub fn config(&self) -> &RoomConfig {
        &self.config
    }

    /// The players present, in join order.
    pub fn players(&self) -> impl Iterator<Item = &Player> {
        self.conns.iter().filter_map(|c| c.player.as_ref())
    }

    /// Brings back a joined connection after an eviction (from its attachment). Emits nothing.
    pub fn restore_player(&mut self, conn: ConnId, player: Player, user: Option<String>, now: f64) {
        self.restore_player_from(conn, player, user, None, now);
    }

    /// [`Room::restore_player`] with the client's address.
    pub fn restore_player_from(
        &mut self,
        conn: ConnId,
        player: Player,
        user: Option<String>,
        address: Option<String>,
        now: f64,
    ) {
        self.next_player = self.next_player.max(player.id + 1);
        self.add_conn(conn, user, address, now);
        if let Some(c) = self.conns.last_mut() {
            c.player = Some(player);
        }
    }

    /// A socket opened. `user` is the identity the host verified, `None` when anonymous.
    pub fn handle_connect(&mut self, conn: ConnId, user: Option<String>, now: f64) {
        self.handle_connect_from(conn, user, None, now);
    }

    /// Whether another connection may wait for its hello now: a host refuses the socket
    /// before accepting it when not ([`RoomConfig::max_unjoined`]).
    pub fn accepts_connection(&self) -> bool {
        self.unjoined() < self.config.max_unjoined
    }

    /// A socket opened at `now` (or, after an eviction, at the time it first opened) from the
    /// client `address` as the host saw it (`None`: unknown; its messages then draw from a
    /// bucket of its own). Over [`RoomConfig::max_unjoined`] it is closed at once.
    pub fn handle_connect_from(
        &mut self,
        conn: ConnId,
        user: Option<String>,
        address: Option<String>,
        now: f64,
    ) {
        if !self.accepts_connection() {
            self.conns.retain(|c| c.id != conn);
            let error = ServerMessage::Error(ErrorMessage {
                code: ErrorCode::TooManyConnections,
                msg: "too many connections waiting to join this session".into(),
                op: None,
            });
            self.events.push_back(RoomEvent::Transmit {
                to: conn,
                text: error.encode().into(),
            });
            self.events.push_back(RoomEvent::Close {
                conn,
                code: close_code::TOO_MANY_UNJOINED,
                reason: "too many unjoined",
            });
            return;
        }
        self.add_conn(conn, user, address, now);
    }

    fn add_conn(&mut self, conn: ConnId, user: Option<String>, address: Option<String>, now: f64) {
        self.conns.retain(|c| c.id != conn);
        self.conns.push(Conn {
            id: conn,
            player: None,
            user,
            bucket: address.map_or(BucketKey::Conn(conn), BucketKey::Address),
            opened_ms: now,
            sent_bytes: 0,
            acked_bytes: 0,
        });
    }

    fn unjoined(&self) -> usize {
        self.conns.iter().filter(|c| c.player.is_none()).count()
    }

    /// A socket closed (or errored).
    pub fn handle_disconnect(&mut self, conn: ConnId, _now: f64) {
        let Some(i) = self.conns.iter().position(|c| c.id == conn) else {
            return;
        };
        let gone = self.conns.remove(i);
        if let BucketKey::Conn(_) = gone.bucket {
            self.buckets.remove(&gone.bucket);
        }
        if let Some(player) = gone.player {
            self.broadcast(&ServerMessage::Leave { id: player.id }, None);
        }
    }

    /// When [`Room::handle_timeout`] is next due: the earliest hello deadline.
    pub fn poll_timeout(&self) -> Option<f64> {
        self.conns
            .iter()
            .filter(|c| c.player.is_none())
            .map(|c| c.opened_ms + self.config.hello_timeout_ms)
            .min_by(f64::total_cmp)
    }

    /// Closes every connection whose hello is overdue at `now`.
    pub fn handle_timeout(&mut self, now: f64) {
        let late: Vec<ConnId> = self
            .conns
            .iter()
            .filter(|c| c.player.is_none() && c.opened_ms + self.config.hello_timeout_ms <= now)
            .map(|c| c.id)
            .collect();
        for conn in late {
            let msg = format!(
                "no hello within {} s",
                self.config.hello_timeout_ms / 1000.0
            );
            self.error_to(conn, ErrorCode::NotJoined, msg, None);
            self.close(conn, close_code::HELLO_TIMEOUT, "hello timeout");
        }
    }

    /// One text frame from `conn`, as it arrives. Frames from a connection the room does not
    /// know (closed by the room, frames still in flight) are dropped.
    pub fn handle_message(&mut self, conn: ConnId, bytes: &[u8], now: f64) {
        let Some(i) = self.conns.iter().position(|c| c.id == conn) else {
            return;
        };
        if !self.take_token(i, now) {
            self.error_to(
                conn,
                ErrorCode::RateLimited,
                "slow down: too many messages; closing".into(),
                None,
            );
            self.close(conn, close_code::RATE_LIMITED, "rate limited");
            return;
        }
        let msg = match decode_client(bytes) {
            Ok(m) => m,
            Err(e) => {
                // The op id is recoverable from many malformed edits; echo it so the sender
                // can drop the op from its pending list.
                let op = op_id_of(bytes);
                self.error_to(conn, e.code, e.detail, op);
                return;
            }
        };
        let joined = self.conns[i].player.is_some();
        match msg {
            ClientMessage::Hello { proto, name } => self.hello(i, proto, name),
            ClientMessage::Ack { b } => {
                let c = &mut self.conns[i];
                c.acked_bytes = c.acked_bytes.max(b.min(c.sent_bytes));
            }
            _ if !joined => {
                self.error_to(conn, ErrorCode::NotJoined, "say hello first".into(), None);
                self.close(conn, close_code::NOT_JOINED, "not joined");
            }
            ClientMessage::Edit { op, edit } => self.edit(i, op, edit, now),
            ClientMessage::Ping { c } => self.send(conn, &ServerMessage::Pong { c, s: now }),
            ClientMessage::Play | ClientMessage::Stop => {
                if !self.session.can_edit(self.conns[i].user.as_deref()) {
                    self.error_to(
                        conn,
                        ErrorCode::ReadOnly,
                        "this session is read-only".into(),
                        None,
                    );
                    return;
                }
                if matches!(msg, ClientMessage::Play) {
                    self.timeline.play(now, self.config.start_lead_ms);
                } else {
                    self.timeline.stop();
                }
                self.events.push_back(RoomEvent::PersistTimeline);
                self.broadcast(&ServerMessage::Timeline(self.timeline), None);
            }
            ClientMessage::Cue { .. }
            | ClientMessage::SongMode { .. }
            | ClientMessage::Fill { .. } => self.playback(i, &msg, now),
        }
    }

    /// A pattern cue, song mode or fill change from the player on connection `i`: stamped on
    /// the timeline at the beat where it takes effect (at least the start lead from `now`, so
    /// every player hears it), persisted with the timeline and broadcast in it. Refused in a
    /// read-only session, like play and stop.
    fn playback(&mut self, i: usize, msg: &ClientMessage, now: f64) {
        let conn = self.conns[i].id;
        if !self.session.can_edit(self.conns[i].user.as_deref()) {
            self.error_to(
                conn,
                ErrorCode::ReadOnly,
                "this session is read-only".into(),
                None,
            );
            return;
        }
        let tl = self.timeline;
        let earliest = tl.beat_at(now + self.config.start_lead_ms);
        let arr = Arrangement::of(&self.session.state);
        let pb = &mut self.timeline.playback;
        match *msg {
            ClientMessage::Cue { p } => {
                pb.cue_pattern(&arr, p, tl.playing, tl.start_beat, earliest)
            }
            ClientMessage::SongMode { on } => {
                pb.set_song_mode(&arr, on, tl.playing, tl.start_beat, earliest)
            }
            ClientMessage::Fill { on } => pb.set_fill(on, tl.playing, tl.start_beat, earliest),
            _ => return,
        }
        if self.timeline != tl {
            self.events.push_back(RoomEvent::PersistTimeline);
        }
        self.broadcast(&ServerMessage::Timeline(self.timeline), None);
    }

    /// Asks the host to close `conn` (after what was sent to it before) and forgets it at once,
    /// so frames still in flight from it are dropped; the others hear that its player left.
    fn close(&mut self, conn: ConnId, code: u16, reason: &'static str) {
        if !self.conns.iter().any(|c| c.id == conn) {
            return;
        }
        self.events
            .push_back(RoomEvent::Close { conn, code, reason });
        self.handle_disconnect(conn, 0.0);
    }

    /// A REST save while the room is live: the new state replaces the old one for everybody.
    /// `state` must be valid ([`SessionState::validate`]); the caller checks it.
    pub fn replace_state(&mut self, state: SessionState, now: f64) {
        if state.tempo != self.timeline.tempo {
            self.timeline.set_tempo(now, state.tempo);
            self.events.push_back(RoomEvent::PersistTimeline);
        }
        self.session.replace_state(state);
        self.session.updated_at = self.session.updated_at.max(now as u64);
        self.seq += 1;
        self.events.push_back(RoomEvent::Persist {
            seq: self.seq,
            edit: None,
        });
        let conns: Vec<ConnId> = self
            .conns
            .iter()
            .filter(|c| c.player.is_some())
            .map(|c| c.id)
            .collect();
        for conn in conns {
            self.send_snapshot(conn);
        }
    }

    /// Tells every player that a sample was uploaded (by REST, so no player id: `by` is 0).
    pub fn announce_sample(&mut self, id: SampleId, name: String, url: String) {
        self.broadcast(
            &ServerMessage::SampleAdded {
                id,
                name,
                url,
                by: 0,
            },
            None,
        );
    }

    /// A claim or a lock while the room is live (the rule is [`crate::access`]): `change`
    /// edits the session's owner or mode; when it succeeds the session is persisted and every
    /// player gets a fresh snapshot carrying the new owner and mode. Players' rights follow at
    /// once: each edit is checked against the session as it is now.
    pub fn change_access<T>(
        &mut self,
        now: f64,
        change: impl FnOnce(&mut Session) -> Result<T, crate::access::AccessError>,
    ) -> Result<T, crate::access::AccessError> {
        let out = change(&mut self.session)?;
        self.session.updated_at = self.session.updated_at.max(now as u64);
        self.seq += 1;
        self.events.push_back(RoomEvent::Persist {
            seq: self.seq,
            edit: None,
        });
        let joined: Vec<ConnId> = self
            .conns
            .iter()
            .filter(|c| c.player.is_some())
            .map(|c| c.id)
            .collect();
        for conn in joined {
            self.send_snapshot(conn);
        }
        Ok(out)
    }

    /// The next output, in order.
    #[must_use]
    pub fn poll_event(&mut self) -> Option<RoomEvent> {
        self.events.pop_front()
    }

    fn take_token(&mut self, i: usize, now: f64) -> bool {
        let (per_sec, burst) = (self.config.msgs_per_sec, self.config.burst);
        let key = &self.conns[i].bucket;
        // The common case (the connection's bucket exists): one lookup, no key copied.
        if let Some(bucket) = self.buckets.get_mut(key) {
            return bucket.take(now, per_sec, burst).is_ok();
        }
        if self.buckets.len() >= MAX_BUCKETS {
            // Forget the buckets that have refilled: a new one starts full anyway.
            self.buckets.retain(|_, b| {
                let mut probe = *b;
                match probe.take(now, per_sec, burst) {
                    Ok(()) => probe.tokens + 1.0 < burst,
                    Err(_) => true, // empty: an address over its limit stays limited
                }
            });
        }
        let bucket = self
            .buckets
            .entry(key.clone())
            .or_insert_with(|| TokenBucket::full(burst, now));
        bucket.take(now, per_sec, burst).is_ok()
    }

    fn hello(&mut self, i: usize, proto: u32, name: String) {
        let conn = self.conns[i].id;
        if proto != PROTOCOL_VERSION {
            let msg = format!("this server speaks protocol {PROTOCOL_VERSION}, not {proto}");
            self.error_to(conn, ErrorCode::ProtocolVersion, msg, None);
            self.close(conn, close_code::PROTOCOL_VERSION, "protocol version");
            return;
        }
        if self.conns[i].player.is_some() {
            self.error_to(
                conn,
                ErrorCode::AlreadyJoined,
                "already joined".into(),
                None,
            );
            return;
        }
        if self.players().count() >= self.config.max_players {
            let msg = format!(
                "this session already has {} players",
                self.config.max_players
            );
            self.error_to(conn, ErrorCode::RoomFull, msg, None);
            self.close(conn, close_code::ROOM_FULL, "room full");
            return;
        }
        let used: Vec<u8> = self.players().map(|p| p.color).collect();
        let color = (0..PALETTE_SIZE).find(|c| !used.contains(c)).unwrap_or(0);
        let player = Player {
            id: self.next_player,
            name,
            color,
        };
        self.next_player += 1;
        self.conns[i].player = Some(player.clone());
        let user = self.conns[i].user.clone();
        self.events.push_back(RoomEvent::Joined {
            conn,
            player: player.clone(),
            user,
        });
        self.send_snapshot(conn);
        self.broadcast(&ServerMessage::Join { player }, Some(conn));
    }

    fn edit(&mut self, i: usize, op_id: OpId, edit: Op, now: f64) {
        let conn = &self.conns[i];
        let (conn_id, by) = (conn.id, conn.player.as_ref().map_or(0, |p| p.id));
        if let Err(e) = self.session.apply(&edit, conn.user.as_deref(), now as u64) {
            self.error_to(conn_id, e.code(), e.to_string(), Some(op_id));
            return;
        }
        self.seq += 1;
        let tempo = match edit {
            Op::SetTempo { v } if v != self.timeline.tempo => Some(v),
            _ => None,
        };
        // Encoded once: the log entry and every player's transmit share it.
        let text: Arc<str> = ServerMessage::Applied(Broadcast {
            edit,
            seq: self.seq,
            by,
            op: op_id,
        })
        .encode()
        .into();
        self.events.push_back(RoomEvent::Persist {
            seq: self.seq,
            edit: Some(LoggedEdit {
                text: text.clone(),
                at_ms: now as u64,
            }),
        });
        if let Some(v) = tempo {
            self.timeline.set_tempo(now, v);
            self.events.push_back(RoomEvent::PersistTimeline);
            self.broadcast(&ServerMessage::Timeline(self.timeline), None);
        }
        self.broadcast_text(text, None);
    }

    fn send_snapshot(&mut self, conn: ConnId) {
        let Some(you) = self
            .conns
            .iter()
            .find(|c| c.id == conn)
            .and_then(|c| c.player.as_ref())
        else {
            return;
        };
        let snapshot = Snapshot {
            seq: self.seq,
            you: you.id,
            session: self.session.clone(),
            players: self.players().cloned().collect(),
            timeline: self.timeline,
            rate: RateLimit {
                per_sec: self.config.msgs_per_sec,
                burst: self.config.burst,
            },
        };
        self.send(conn, &ServerMessage::Snapshot(Box::new(snapshot)));
    }

    fn error_to(&mut self, conn: ConnId, code: ErrorCode, msg: String, op: Option<OpId>) {
        self.send(conn, &ServerMessage::Error(ErrorMessage { code, msg, op }));
    }

    fn send(&mut self, to: ConnId, msg: &ServerMessage) {
        let text: Arc<str> = msg.encode().into();
        let Some(c) = self.conns.iter_mut().find(|c| c.id == to) else {
            return;
        };
        let over = transmit(&mut self.events, c, text, self.config.max_unacked_bytes);
        if over {
            self.close_slow(vec![to]);
        }
    }

    /// Sends to every joined connection except `except`.
    fn broadcast(&mut self, msg: &ServerMessage, except: Option<ConnId>) {
        self.broadcast_text(msg.encode().into(), except);
    }

    /// [`Room::broadcast`] of an encoded message.
    fn broadcast_text(&mut self, text: Arc<str>, except: Option<ConnId>) {
        let max = self.config.max_unacked_bytes;
        let mut slow = Vec::new();
        for c in &mut self.conns {
            if c.player.is_some()
                && Some(c.id) != except
                && transmit(&mut self.events, c, text.clone(), max)
            {
                slow.push(c.id);
            }
        }
        self.close_slow(slow);
    }

    /// Closes connections that stopped reading (their `leave` may close more). The error goes
    /// out uncounted, for a client whose acks were only late.
    fn close_slow(&mut self, slow: Vec<ConnId>) {
        for conn in slow {
            if !self.conns.iter().any(|c| c.id == conn) {
                continue;
            }
            let error = ServerMessage::Error(ErrorMessage {
                code: ErrorCode::SlowConsumer,
                msg: format!(
                    "more than {} bytes unread; closing",
                    self.config.max_unacked_bytes
                ),
                op: None,
            });
            self.events.push_back(RoomEvent::Transmit {
                to: conn,
                text: error.encode().into(),
            });
            self.close(conn, close_code::SLOW_CONSUMER, "slow consumer");
        }
    }
}

/// Queues `text` for `c` and counts it against its credit; true when `c` now has more than
/// `max_unacked` bytes unacknowledged (the caller closes it).
fn transmit(
    events: &mut VecDeque<RoomEvent>,
    c: &mut Conn,
    text: Arc<str>,
    max_unacked: u64,
) -> bool {
    c.sent_bytes = c.sent_bytes.saturating_add(text.len() as u64);
    events.push_back(RoomEvent::Transmit { to: c.id, text });
    c.sent_bytes - c.acked_bytes > max_unacked
}

/// The `op` field of a message that failed to decode, if it has a readable one.
fn op_id_of(bytes: &[u8]) -> Option<OpId> {
    #[derive(serde::Deserialize)]
    struct OpField {
        op: OpId,
    }
    serde_json::from_slice::<OpField>(bytes).ok().map(|f| f.op)
}
