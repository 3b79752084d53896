//! The live room: the authoritative, sans-IO state machine of one live session.
//!
//! One [`Room`] per session runs inside the session's Durable Object (or any other host). It
//! orders edits, keeps presence, enforces limits and keeps the shared transport timeline. It does
//! no I/O and reads no clock: the host feeds it input and drains its output.
//!
//! # Calling protocol
//! - Input: [`Room::handle_connect`] when a socket opens (with the identity the host verified),
//!   [`Room::handle_message`] for every text frame, [`Room::handle_disconnect`] when it closes,
//!   [`Room::replace_state`] for a REST save while live, [`Room::announce_sample`] after an
//!   upload. Each takes `now`, the server time in ms since the Unix epoch.
//! - Output: [`Room::poll_event`] until it returns `None`, handling events **in order**. A
//!   [`RoomEvent::Persist`] precedes every transmit that reveals its op: write the session before
//!   sending anything that follows it, and nothing acknowledged can be lost.
//! - After an eviction, rebuild with [`Room::new`] from storage and [`Room::restore_player`] for
//!   each socket that is still open.

use std::collections::VecDeque;
use std::sync::Arc;

use crate::clock::{Timeline, DEFAULT_START_LEAD_MS};
use crate::error::ErrorCode;
use crate::model::{SampleId, Session, SessionState};
use crate::ops::Op;
use crate::protocol::{
    decode_client, Broadcast, ClientMessage, ErrorMessage, OpId, Player, PlayerId, ServerMessage,
    Snapshot, PROTOCOL_VERSION,
};
use crate::rate::TokenBucket;

/// The host's handle for one connection.
pub type ConnId = u64;

/// WebSocket close codes the room asks for (application range 4000–4999).
pub mod close_code {
    pub const PROTOCOL_VERSION: u16 = 4001;
    pub const ROOM_FULL: u16 = 4002;
    pub const NOT_JOINED: u16 = 4003;
}

/// Colours in the editor's player palette; also the most players a room can ever hold.
pub const PALETTE_SIZE: u8 = 16;

/// Limits of one room.
#[derive(Clone, Debug, PartialEq)]
pub struct RoomConfig {
    /// Most players at once; the next hello is refused with [`ErrorCode::RoomFull`].
    pub max_players: usize,
    /// Sustained messages per second per connection (token bucket refill rate).
    pub msgs_per_sec: f64,
    /// Burst size per connection (token bucket capacity).
    pub burst: f64,
    /// How far ahead a shared start is scheduled (see [`Timeline::play`]).
    pub start_lead_ms: f64,
}

impl Default for RoomConfig {
    fn default() -> Self {
        Self {
            max_players: 10,
            msgs_per_sec: 500.0,
            burst: 1000.0,
            start_lead_ms: DEFAULT_START_LEAD_MS,
        }
    }
}

/// Output of the room, to be handled in order.
#[derive(Clone, Debug, PartialEq)]
pub enum RoomEvent {
    /// The session changed; its state now includes every op up to `seq`. Write it durably
    /// before sending any later [`RoomEvent::Transmit`].
    Persist { seq: u64 },
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

/// One open connection.
#[derive(Clone, Debug)]
struct Conn {
    id: ConnId,
    /// Set by the hello.
    player: Option<Player>,
    /// The identity the host verified (owner checks for read-only sessions).
    user: Option<String>,
    /// Messages this connection may still send right now (refilled at
    /// [`RoomConfig::msgs_per_sec`] up to [`RoomConfig::burst`]).
    bucket: TokenBucket,
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
    events: VecDeque<RoomEvent>,
}

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
        self.next_player = self.next_player.max(player.id + 1);
        self.conns.retain(|c| c.id != conn);
        self.conns.push(Conn {
            id: conn,
            player: Some(player),
            user,
            bucket: TokenBucket::full(self.config.burst, now),
        });
    }

    /// A socket opened. `user` is the identity the host verified, `None` when anonymous.
    /// A connection the room has not seen is registered as anonymous on its first message.
    pub fn handle_connect(&mut self, conn: ConnId, user: Option<String>, now: f64) {
        self.conns.retain(|c| c.id != conn);
        self.conns.push(Conn {
            id: conn,
            player: None,
            user,
            bucket: TokenBucket::full(self.config.burst, now),
        });
    }

    /// A socket closed (or errored).
    pub fn handle_disconnect(&mut self, conn: ConnId, _now: f64) {
        let Some(i) = self.conns.iter().position(|c| c.id == conn) else {
            return;
        };
        if let Some(player) = self.conns.remove(i).player {
            self.broadcast(&ServerMessage::Leave { id: player.id }, None);
        }
    }

    /// One text frame from `conn`.
    pub fn handle_message(&mut self, conn: ConnId, bytes: &[u8], now: f64) {
        let i = match self.conns.iter().position(|c| c.id == conn) {
            Some(i) => i,
            None => {
                self.handle_connect(conn, None, now);
                self.conns.len() - 1
            }
        };
        if !self.take_token(i, now) {
            self.error_to(
                conn,
                ErrorCode::RateLimited,
                "slow down: too many messages".into(),
                None,
            );
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
            _ if !joined => {
                self.error_to(conn, ErrorCode::NotJoined, "say hello first".into(), None);
                self.events.push_back(RoomEvent::Close {
                    conn,
                    code: close_code::NOT_JOINED,
                    reason: "not joined",
                });
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
        }
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
        self.events.push_back(RoomEvent::Persist { seq: self.seq });
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

    /// The next output, in order.
    #[must_use]
    pub fn poll_event(&mut self) -> Option<RoomEvent> {
        self.events.pop_front()
    }

    fn take_token(&mut self, i: usize, now: f64) -> bool {
        let (per_sec, burst) = (self.config.msgs_per_sec, self.config.burst);
        self.conns[i].bucket.take(now, per_sec, burst).is_ok()
    }

    fn hello(&mut self, i: usize, proto: u32, name: String) {
        let conn = self.conns[i].id;
        if proto != PROTOCOL_VERSION {
            let msg = format!("this server speaks protocol {PROTOCOL_VERSION}, not {proto}");
            self.error_to(conn, ErrorCode::ProtocolVersion, msg, None);
            self.events.push_back(RoomEvent::Close {
                conn,
                code: close_code::PROTOCOL_VERSION,
                reason: "protocol version",
            });
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
            self.events.push_back(RoomEvent::Close {
                conn,
                code: close_code::ROOM_FULL,
                reason: "room full",
            });
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
        self.events.push_back(RoomEvent::Persist { seq: self.seq });
        if let Op::SetTempo { v } = edit {
            if v != self.timeline.tempo {
                self.timeline.set_tempo(now, v);
                self.events.push_back(RoomEvent::PersistTimeline);
                self.broadcast(&ServerMessage::Timeline(self.timeline), None);
            }
        }
        let msg = ServerMessage::Applied(Broadcast {
            edit,
            seq: self.seq,
            by,
            op: op_id,
        });
        self.broadcast(&msg, None);
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
        };
        self.send(conn, &ServerMessage::Snapshot(Box::new(snapshot)));
    }

    fn error_to(&mut self, conn: ConnId, code: ErrorCode, msg: String, op: Option<OpId>) {
        self.send(conn, &ServerMessage::Error(ErrorMessage { code, msg, op }));
    }

    fn send(&mut self, to: ConnId, msg: &ServerMessage) {
        self.events.push_back(RoomEvent::Transmit {
            to,
            text: msg.encode().into(),
        });
    }

    /// Sends to every joined connection except `except`.
    fn broadcast(&mut self, msg: &ServerMessage, except: Option<ConnId>) {
        let text: Arc<str> = msg.encode().into();
        for c in &self.conns {
            if c.player.is_some() && Some(c.id) != except {
                self.events.push_back(RoomEvent::Transmit {
                    to: c.id,
                    text: text.clone(),
                });
            }
        }
    }
}

/// The `op` field of a message that failed to decode, if it has a readable one.
fn op_id_of(bytes: &[u8]) -> Option<OpId> {
    #[derive(serde::Deserialize)]
    struct OpField {
        op: OpId,
    }
    serde_json::from_slice::<OpField>(bytes).ok().map(|f| f.op)
}
