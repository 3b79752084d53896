//! The live room fed what several connections can send, in any order, with time passing,
//! sockets opening and closing, evictions (the room rebuilt from storage) and REST saves.
//! Connections 0 and 1 are real players (core's `Client`, which edits optimistically and keeps
//! its pending ops); 2 and 3 send raw frames (well-formed messages or any bytes). After every
//! step the room's invariants must hold:
//!
//! - nothing panics, and every frame the room sends decodes as a server message;
//! - the session stays valid, and the timeline's tempo is the session's;
//! - sequence numbers only grow, by one per accepted op, and each accepted op is persisted
//!   before the frame that reveals it;
//! - every accepted op is applied exactly once: replaying the broadcast ops, in order, on the
//!   state they started from gives the room's state;
//! - at most `max_players` players, with distinct ids and colours;
//! - a player that has joined holds the room's state (frames are delivered at once here): its
//!   confirmed state is the room's, and with nothing pending so is what it shows.
#![no_main]

use arbitrary::Arbitrary;
use keyboardia_core::client::{Action, Client, ClientConfig};
use keyboardia_core::clock::Timeline;
use keyboardia_core::protocol::{
    decode_server, ClientMessage, Player, ServerMessage, PROTOCOL_VERSION,
};
use keyboardia_core::room::{ConnId, Room, RoomConfig, RoomEvent};
use keyboardia_core::{
    Instrument, Lock, LockKind, Mode, Op, Session, SessionId, SessionState, Track, TrackId,
};
use libfuzzer_sys::fuzz_target;

/// Connections driven by a real [`Client`] (the others send raw frames).
const CLIENTS: usize = 2;
/// All connections.
const CONNS: usize = 4;
/// The owner's verified identity (connection 0 presents it).
const OWNER: &str = "owner";

#[derive(Arbitrary, Debug)]
struct Input {
    /// Start from the demo pattern (else the empty default).
    demo: bool,
    /// Make the session read-only (owned by connection 0's user).
    readonly: bool,
    /// A smaller room, so "room full" is reached.
    max_players: u8,
    steps: Vec<Step>,
}

#[derive(Arbitrary, Debug)]
enum Step {
    /// Open connection `conn` (for a player: ask its client to connect).
    Open(u8),
    /// Close connection `conn`.
    Close(u8),
    /// A player's edit, applied optimistically and sent when joined.
    Edit(u8, FuzzOp),
    /// A raw connection sends a well-formed message.
    Send(u8, FuzzMessage),
    /// A raw connection sends any bytes.
    Raw(u8, Vec<u8>),
    /// Time passes (ms): rate buckets refill, players' timers run.
    Tick(u16),
    /// The Durable Object is evicted: the room is rebuilt from storage and its open sockets.
    Evict,
    /// A REST save while live replaces the state.
    Save(bool),
    /// A player asks to play or stop.
    Play(u8, bool),
}

#[derive(Arbitrary, Debug)]
enum FuzzMessage {
    Hello { name: String, proto: u32 },
    Edit { op: u32, edit: FuzzOp },
    Ping(f64),
    Play,
    Stop,
}

/// An edit on one of a few track ids (so edits meet each other), with arbitrary values.
#[derive(Arbitrary, Debug)]
enum FuzzOp {
    Step {
        tr: u8,
        s: u8,
        on: bool,
    },
    Velocity {
        tr: u8,
        s: u8,
        v: u8,
    },
    Pitch {
        tr: u8,
        s: u8,
        v: i8,
    },
    Volume {
        tr: u8,
        s: u8,
        v: f32,
    },
    Unlock {
        tr: u8,
        s: u8,
    },
    Add {
        tr: u8,
        name: String,
        index: Option<u8>,
    },
    Delete {
        tr: u8,
    },
    Move {
        tr: u8,
        to: u8,
    },
    Clear {
        tr: u8,
    },
    Copy {
        from: u8,
        to: u8,
    },
    Length {
        tr: u8,
        v: u8,
    },
    Tempo(f64),
    Swing(f64),
    TrackVolume {
        tr: u8,
        v: f32,
    },
    Pan {
        tr: u8,
        v: f32,
    },
    Name {
        tr: u8,
        v: String,
    },
    Cuts {
        tr: u8,
        v: Vec<u32>,
    },
    /// Any byte: valid palette indices, out-of-range ones, and none.
    Color {
        tr: u8,
        v: Option<u8>,
    },
}

/// One of six track ids: four of the demo's and two that only adds make.
fn track_id(n: u8) -> TrackId {
    ["kick", "snare", "hat", "bass", "fuzz1", "fuzz2"][usize::from(n % 6)]
        .parse()
        .expect("a valid track id")
}

impl FuzzOp {
    fn op(&self) -> Op {
        match *self {
            FuzzOp::Step { tr, s, on } => Op::SetStep {
                pt: keyboardia_core::PatternId::A,
                tr: track_id(tr),
                s,
                on,
            },
            FuzzOp::Velocity { tr, s, v } => Op::SetVelocity {
                pt: keyboardia_core::PatternId::A,
                tr: track_id(tr),
                s,
                v,
            },
            FuzzOp::Pitch { tr, s, v } => Op::SetLock {
                pt: keyboardia_core::PatternId::A,
                tr: track_id(tr),
                s,
                lock: Lock::Pitch(v),
            },
            FuzzOp::Volume { tr, s, v } => Op::SetLock {
                pt: keyboardia_core::PatternId::A,
                tr: track_id(tr),
                s,
                lock: Lock::Volume(v),
            },
            FuzzOp::Unlock { tr, s } => Op::ClearLock {
                pt: keyboardia_core::PatternId::A,
                tr: track_id(tr),
                s,
                k: LockKind::Pitch,
            },
            FuzzOp::Add {
                tr,
                ref name,
                index,
            } => Op::AddTrack {
                track: Box::new(Track::new(
                    track_id(tr),
                    name.clone(),
                    Instrument::Sound(keyboardia_core::BuiltinSound::Kick),
                )),
                index,
            },
            FuzzOp::Delete { tr } => Op::DeleteTrack { tr: track_id(tr) },
            FuzzOp::Move { tr, to } => Op::MoveTrack {
                tr: track_id(tr),
                to,
            },
            FuzzOp::Clear { tr } => Op::ClearTrack {
                pt: keyboardia_core::PatternId::A,
                tr: track_id(tr),
            },
            FuzzOp::Copy { from, to } => Op::CopySequence {
                pt: keyboardia_core::PatternId::A,
                from: track_id(from),
                to: track_id(to),
            },
            FuzzOp::Length { tr, v } => Op::SetStepCount {
                pt: keyboardia_core::PatternId::A,
                tr: track_id(tr),
                v,
            },
            FuzzOp::Tempo(v) => Op::SetTempo { v },
            FuzzOp::Swing(v) => Op::SetSwing { v },
            FuzzOp::TrackVolume { tr, v } => Op::SetVolume {
                tr: track_id(tr),
                v,
            },
            FuzzOp::Pan { tr, v } => Op::SetPan {
                tr: track_id(tr),
                v,
            },
            FuzzOp::Name { tr, ref v } => Op::SetName {
                tr: track_id(tr),
                v: v.clone(),
            },
            FuzzOp::Cuts { tr, ref v } => Op::SetCuts {
                tr: track_id(tr),
                v: v.clone(),
            },
            FuzzOp::Color { tr, v } => Op::SetColor {
                tr: track_id(tr),
                v,
            },
        }
    }
}

impl FuzzMessage {
    fn encode(&self) -> String {
        match self {
            FuzzMessage::Hello { name, proto } => ClientMessage::Hello {
                // Mostly the right version, so raw connections join.
                proto: if proto % 8 == 0 {
                    *proto
                } else {
                    PROTOCOL_VERSION
                },
                name: name.clone(),
            },
            FuzzMessage::Edit { op, edit } => ClientMessage::Edit {
                op: *op,
                edit: edit.op(),
            },
            FuzzMessage::Ping(c) => ClientMessage::Ping { c: *c },
            FuzzMessage::Play => ClientMessage::Play,
            FuzzMessage::Stop => ClientMessage::Stop,
        }
        .encode()
    }
}

/// One connection slot.
struct Slot {
    /// The host's id of the open socket (a fresh one per socket, as a real host gives).
    open: Option<ConnId>,
    /// The verified identity it presents.
    user: Option<String>,
    /// The player (slots below [`CLIENTS`]).
    client: Option<Client>,
}

struct Harness {
    room: Room,
    slots: Vec<Slot>,
    now: f64,
    next_conn: ConnId,
    /// The room's state when the broadcast ops being replayed started.
    replayed: SessionState,
    /// Sequence number of the last broadcast op seen (or of the last save).
    last_applied: u64,
    /// Highest sequence number persisted so far.
    persisted: u64,
    /// The room's sequence number after the last step.
    last_seq: u64,
    /// Connection → player, from [`RoomEvent::Joined`] (what the host keeps as the socket's
    /// attachment, for [`Room::restore_player`] after an eviction).
    joined: Vec<(ConnId, Player)>,
    /// The last frame checked (a broadcast repeats it for each recipient).
    last_frame: Option<std::sync::Arc<str>>,
    /// What the last deep check saw (see [`Harness::check`]).
    fingerprint: Vec<(bool, u64, usize)>,
}

impl Harness {
    fn slot_of(&self, conn: ConnId) -> Option<usize> {
        self.slots.iter().position(|s| s.open == Some(conn))
    }

    fn open(&mut self, i: usize) {
        if self.slots[i].open.is_some() {
            return;
        }
        let conn = self.next_conn;
        self.next_conn += 1;
        self.slots[i].open = Some(conn);
        let user = self.slots[i].user.clone();
        self.room.handle_connect(conn, user, self.now);
        if let Some(c) = self.slots[i].client.as_mut() {
            c.handle_connected(self.now);
        }
    }

    fn close(&mut self, i: usize) {
        if let Some(conn) = self.slots[i].open.take() {
            self.room.handle_disconnect(conn, self.now);
        }
        if let Some(c) = self.slots[i].client.as_mut() {
            c.handle_disconnected(self.now);
        }
    }

    fn send(&mut self, i: usize, bytes: &[u8]) {
        if let Some(conn) = self.slots[i].open {
            self.room.handle_message(conn, bytes, self.now);
        }
    }

    /// Delivers everything until nothing moves, checking each event.
    fn settle(&mut self) {
        for _ in 0..64 {
            let mut moved = false;
            for i in 0..CLIENTS {
                while let Some(action) = self.slots[i].client.as_mut().and_then(|c| c.poll_action())
                {
                    moved = true;
                    match action {
                        Action::Connect { .. } => {
                            if self.slots[i].open.is_none() {
                                self.open(i);
                            } else {
                                // The client asked while a socket is still open: the host
                                // drops the old one first.
                                self.close(i);
                            }
                        }
                        Action::Disconnect(_) => self.close(i),
                        Action::Upload(_) | Action::Fetch(_) => {}
                    }
                }
                while let Some(frame) = self.slots[i]
                    .client
                    .as_mut()
                    .and_then(|c| c.poll_transmit())
                {
                    moved = true;
                    self.send(i, frame.as_bytes());
                }
                if let Some(c) = self.slots[i].client.as_mut() {
                    while c.poll_event().is_some() {}
                }
            }
            while let Some(ev) = self.room.poll_event() {
                moved = true;
                self.event(ev);
            }
            if !moved {
                return;
            }
        }
    }

    fn event(&mut self, ev: RoomEvent) {
        match ev {
            RoomEvent::Persist { seq, .. } => {
                assert!(
                    seq > self.persisted,
                    "persisted {seq} after {}",
                    self.persisted
                );
                self.persisted = seq;
            }
            RoomEvent::PersistTimeline => {}
            RoomEvent::Joined { conn, player, .. } => self.joined.push((conn, player)),
            RoomEvent::Transmit { to, text } => {
                // A broadcast is one allocation sent to many: check it once.
                let fresh = !self
                    .last_frame
                    .as_ref()
                    .is_some_and(|last| std::sync::Arc::ptr_eq(last, &text));
                if fresh {
                    self.check_frame(&text);
                    self.last_frame = Some(text.clone());
                }
                if let Some(i) = self.slot_of(to) {
                    let now = self.now;
                    if let Some(c) = self.slots[i].client.as_mut() {
                        c.handle_message(text.as_bytes(), now);
                    }
                }
            }
            RoomEvent::Close { conn, .. } => {
                if let Some(i) = self.slot_of(conn) {
                    self.close(i);
                }
            }
        }
    }

    /// A frame the room sends: it decodes, and an op it reveals is persisted, next in sequence,
    /// and replays on the state the ops started from.
    fn check_frame(&mut self, text: &str) {
        let msg = decode_server(text.as_bytes())
            .unwrap_or_else(|e| panic!("the room sent {text}, which does not decode: {e}"));
        match &msg {
            ServerMessage::Applied(b) => {
                assert!(
                    b.seq <= self.persisted,
                    "op {} revealed before persisted",
                    b.seq
                );
                if b.seq > self.last_applied {
                    assert_eq!(b.seq, self.last_applied + 1, "sequence numbers skip");
                    self.replayed
                        .apply(&b.edit)
                        .unwrap_or_else(|e| panic!("accepted {:?} does not replay: {e}", b.edit));
                    self.last_applied = b.seq;
                }
            }
            ServerMessage::Snapshot(s) => assert!(s.seq <= self.persisted.max(self.last_seq)),
            _ => {}
        }
    }

    fn check(&mut self) {
        let players: Vec<_> = self.room.players().collect();
        assert!(players.len() <= self.room.config().max_players);
        for (k, p) in players.iter().enumerate() {
            for q in &players[..k] {
                assert!(p.id != q.id && p.color != q.color, "{p:?} and {q:?}");
            }
        }
        // The deep checks cost most of a run: make them when something they look at moved
        // (the state changes only with the sequence number; a player's view with its joins,
        // its sequence number and its pending edits).
        let fingerprint: Vec<(bool, u64, usize)> = std::iter::once((true, self.room.seq(), 0))
            .chain(self.slots[..CLIENTS].iter().map(|s| {
                let c = s.client.as_ref().expect("a player");
                (c.is_joined(), c.seq(), c.pending().count())
            }))
            .collect();
        if fingerprint == self.fingerprint {
            return;
        }
        self.fingerprint = fingerprint;
        let state = &self.room.session().state;
        state.validate().expect("the room's state stays valid");
        assert_eq!(
            self.room.timeline().tempo,
            state.tempo,
            "timeline and state agree"
        );
        let seq = self.room.seq();
        assert!(
            seq >= self.last_seq,
            "seq went back from {} to {seq}",
            self.last_seq
        );
        self.last_seq = seq;
        assert_eq!(seq, self.last_applied, "every accepted op was broadcast");
        assert_eq!(
            &self.replayed, state,
            "each accepted op applied exactly once"
        );
        for slot in &self.slots[..CLIENTS] {
            let c = slot.client.as_ref().expect("a player");
            if !c.is_joined() {
                continue;
            }
            let confirmed = c.confirmed().expect("joined");
            assert_eq!(c.seq(), seq, "a joined player is up to date");
            assert_eq!(
                &confirmed.state, state,
                "a joined player holds the room's state"
            );
            if c.pending().next().is_none() {
                assert_eq!(
                    c.state(),
                    state,
                    "with nothing pending it shows the room's state"
                );
            }
        }
    }

    fn evict(&mut self) {
        let mut room = Room::new(
            self.room.session().clone(),
            self.room.seq(),
            *self.room.timeline(),
            self.room.config().clone(),
        );
        let players: Vec<_> = self
            .slots
            .iter()
            .filter_map(|s| s.open)
            .filter_map(|conn| {
                // The attachment the host kept: which player this socket joined as.
                self.room_player(conn).map(|p| (conn, p))
            })
            .collect();
        for (conn, player) in players {
            let user = self.slots[self.slot_of(conn).unwrap()].user.clone();
            room.restore_player(conn, player, user, self.now);
        }
        self.room = room;
    }

    /// The player the room knows connection `conn` as (what the attachment keeps).
    fn room_player(&self, conn: ConnId) -> Option<Player> {
        self.joined
            .iter()
            .find(|(c, _)| *c == conn)
            .map(|(_, p)| p.clone())
    }
}

fuzz_target!(|input: Input| {
    let now = 1.7e12;
    let mut state = if input.demo {
        SessionState::demo()
    } else {
        SessionState::default()
    };
    state.tempo = state.tempo.clamp(60.0, 180.0);
    let mut session = Session::new(SessionId::from_random_bytes([7; 16]), now as u64, state);
    if input.readonly {
        session.mode = Mode::Readonly;
        session.owner_id = Some(OWNER.into());
    }
    let config = RoomConfig {
        max_players: usize::from(input.max_players % 12).max(1),
        ..RoomConfig::default()
    };
    let timeline = Timeline::new(session.state.tempo, now);
    let replayed = session.state.clone();
    let mut h = Harness {
        room: Room::new(session, 0, timeline, config),
        slots: (0..CONNS)
            .map(|i| Slot {
                open: None,
                user: (i == 0).then(|| OWNER.to_owned()),
                client: (i < CLIENTS).then(|| {
                    Client::with_config(
                        ClientConfig {
                            name: format!("p{i}"),
                            seed: i as u64,
                            ..ClientConfig::default()
                        },
                        SessionState::default(),
                    )
                }),
            })
            .collect(),
        now,
        next_conn: 1,
        replayed,
        last_applied: 0,
        persisted: 0,
        last_seq: 0,
        joined: Vec::new(),
        last_frame: None,
        fingerprint: Vec::new(),
    };
    for step in input.steps.iter().take(128) {
        match step {
            Step::Open(c) => {
                let i = usize::from(*c) % CONNS;
                match h.slots[i].client.as_mut() {
                    Some(client) => client.connect(h.now),
                    None => h.open(i),
                }
            }
            Step::Close(c) => h.close(usize::from(*c) % CONNS),
            Step::Edit(c, op) => {
                let i = usize::from(*c) % CLIENTS;
                let _ = h.slots[i].client.as_mut().unwrap().edit(op.op());
            }
            Step::Send(c, msg) => h.send(
                CLIENTS + usize::from(*c) % (CONNS - CLIENTS),
                msg.encode().as_bytes(),
            ),
            Step::Raw(c, bytes) => h.send(CLIENTS + usize::from(*c) % (CONNS - CLIENTS), bytes),
            Step::Tick(ms) => {
                h.now += f64::from(*ms);
                let now = h.now;
                for s in &mut h.slots {
                    if let Some(c) = s.client.as_mut() {
                        c.handle_timeout(now);
                    }
                }
            }
            Step::Evict => h.evict(),
            Step::Save(demo) => {
                let state = if *demo {
                    SessionState::demo()
                } else {
                    SessionState::default()
                };
                h.room.replace_state(state.clone(), h.now);
                h.replayed = state;
                h.last_applied = h.room.seq();
            }
            Step::Play(c, play) => {
                let i = usize::from(*c) % CLIENTS;
                h.slots[i].client.as_mut().unwrap().set_playing(*play);
            }
        }
        h.settle();
        h.check();
    }
});
