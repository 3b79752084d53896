//! The client side of a live session, sans-IO: optimistic local edits, pending ops, snapshots.
//!
//! The user's edits apply at once to the local view and stay pending until the room broadcasts
//! them back (the ack). The local view is always `confirmed state + pending ops`: a snapshot
//! (join, reconnect, or after a gap in sequence numbers) replaces the confirmed state and the
//! pending ops are re-applied on top, the same code path for all three. Pending ops survive a
//! disconnect (bounded by [`MAX_PENDING`]) and are sent again after the next snapshot.
//!
//! # Calling protocol
//! - Input: [`Client::edit`] for the user's edits, [`Client::handle_connected`] /
//!   [`Client::handle_disconnected`] as the socket comes and goes, [`Client::handle_message`] for
//!   every text frame, [`Client::ping`] to measure the clock. Each takes the local time `now`
//!   in ms where time matters.
//! - Output: [`Client::poll_transmit`] (text frames to send) and [`Client::poll_event`].

use std::collections::VecDeque;

use crate::clock::{ClockSample, ClockSync, Timeline};
use crate::error::{ErrorCode, OpError};
use crate::model::{SampleId, Session, SessionState};
use crate::ops::{Applied, Change, Op};
use crate::protocol::{
    decode_server, Broadcast, ClientMessage, DecodeError, OpId, Player, PlayerId, ServerMessage,
    PROTOCOL_VERSION,
};

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
    /// Sequence numbers skipped: the host must close the socket and reconnect.
    Desynced,
}

/// One player's view of a live session.
#[derive(Debug)]
pub struct Client {
    name: String,
    /// The room's session as of `seq`; `None` before the first snapshot.
    confirmed: Option<Session>,
    /// Sequence number of the last op in `confirmed`.
    seq: u64,
    /// What the user sees and hears: `confirmed` (or the offline document) plus `pending`.
    local: SessionState,
    /// Our edits not yet acknowledged, oldest first.
    pending: VecDeque<(OpId, Op)>,
    /// How many of `pending` went out on the current connection.
    sent: usize,
    next_op: OpId,
    /// Joined the room (snapshot received) on the current connection.
    joined: bool,
    /// The socket is open (hello sent).
    connected: bool,
    you: Option<PlayerId>,
    players: Vec<Player>,
    timeline: Option<Timeline>,
    clock: ClockSync,
    outbox: VecDeque<String>,
    events: VecDeque<ClientEvent>,
}

impl Client {
    /// A client named `name` whose local document (offline, before the first snapshot) is
    /// `local`.
    pub fn new(name: impl Into<String>, local: SessionState) -> Self {
        Self {
            name: name.into(),
            confirmed: None,
            seq: 0,
            local,
            pending: VecDeque::new(),
            sent: 0,
            next_op: 1,
            joined: false,
            connected: false,
            you: None,
            players: Vec::new(),
            timeline: None,
            clock: ClockSync::default(),
            outbox: VecDeque::new(),
            events: VecDeque::new(),
        }
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

    /// The user's edit: applied locally at once, and sent when joined.
    pub fn edit(&mut self, op: Op) -> Result<Applied, EditError> {
        if self.pending.len() >= MAX_PENDING {
            return Err(EditError::QueueFull);
        }
        let applied = self.local.apply(&op)?;
        let id = self.next_op;
        self.next_op = self.next_op.wrapping_add(1).max(1);
        if self.joined {
            self.outbox.push_back(
                ClientMessage::Edit {
                    op: id,
                    edit: op.clone(),
                }
                .encode(),
            );
            self.sent += 1;
        }
        self.pending.push_back((id, op));
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
            self.outbox.push_back(msg.encode());
        }
    }

    /// Queue a clock ping stamped with the local time `now` (ms).
    pub fn ping(&mut self, now: f64) {
        if self.connected {
            self.outbox
                .push_back(ClientMessage::Ping { c: now }.encode());
        }
    }

    /// The socket opened: say hello. The clock window restarts (the path may have changed).
    pub fn handle_connected(&mut self) {
        self.connected = true;
        self.joined = false;
        self.sent = 0;
        self.clock.reset();
        self.outbox.clear();
        self.outbox.push_back(
            ClientMessage::Hello {
                proto: PROTOCOL_VERSION,
                name: self.name.clone(),
            }
            .encode(),
        );
    }

    /// The socket closed. Pending edits stay, to be sent after the next snapshot.
    pub fn handle_disconnected(&mut self) {
        self.connected = false;
        self.joined = false;
        self.sent = 0;
        self.outbox.clear();
        self.players.clear();
    }

    /// One text frame from the room, received at local time `now` (ms).
    pub fn handle_message(&mut self, bytes: &[u8], now: f64) {
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
                self.rebuild();
                // Everything still pending goes (again) on this connection, in order.
                self.sent = 0;
                for (id, op) in &self.pending {
                    self.outbox.push_back(
                        ClientMessage::Edit {
                            op: *id,
                            edit: op.clone(),
                        }
                        .encode(),
                    );
                    self.sent += 1;
                }
                self.events.push_back(ClientEvent::Synced { you: s.you });
            }
            ServerMessage::Applied(b) => self.applied(b),
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
            ServerMessage::Pong { c, s } => self.clock.add(ClockSample::new(c, s, now)),
            ServerMessage::Timeline(t) => {
                self.timeline = Some(t);
                self.events.push_back(ClientEvent::Timeline(t));
            }
            ServerMessage::SampleAdded { id, name, url, by } => self
                .events
                .push_back(ClientEvent::SampleAdded { id, name, url, by }),
        }
    }

    fn applied(&mut self, b: Broadcast) {
        let Some(confirmed) = self.confirmed.as_mut().filter(|_| self.joined) else {
            return;
        };
        if b.seq != self.seq + 1 {
            // A gap: the confirmed state can no longer be trusted, and which of our in-flight
            // edits it holds is unknown. Reconnecting re-sends them after a fresh snapshot.
            self.joined = false;
            self.events.push_back(ClientEvent::Desynced);
            return;
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
            return;
        }
        if self.pending.is_empty() {
            let _ = self.local.apply(&b.edit);
        } else {
            self.rebuild();
        }
        if let Ok(change) = change {
            self.events.push_back(ClientEvent::RemoteEdit {
                by: b.by,
                op: b.edit,
                change,
            });
        }
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

    #[must_use]
    pub fn poll_event(&mut self) -> Option<ClientEvent> {
        self.events.pop_front()
    }
}
