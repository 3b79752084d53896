//! One room and N clients in virtual time, with latency, jitter, disconnects, evictions and
//! crashes. Nothing sleeps: the simulator moves time from one delivery to the next.

use std::collections::HashMap;

use keyboardia_core::client::{Client, ClientEvent};
use keyboardia_core::clock::Timeline;
use keyboardia_core::protocol::Player;
use keyboardia_core::room::{ConnId, Room, RoomConfig, RoomEvent};
use keyboardia_core::*;
use proptest::prelude::*;

/// xorshift64*: deterministic, seedable.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn chance(&mut self, p: f64) -> bool {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64 <= p
    }
}

#[derive(Clone, Copy, PartialEq, Debug)]
enum To {
    Room(ConnId),
    Client(usize),
}

struct Packet {
    at: f64,
    to: To,
    /// The connection the packet travels on; dropped when that connection closes.
    conn: ConnId,
    text: String,
}

struct SimClient {
    client: Client,
    conn: Option<ConnId>,
}

/// What the host would keep in durable storage.
struct Stored {
    session: Session,
    seq: u64,
    timeline: Timeline,
}

struct Sim {
    now: f64,
    rng: Rng,
    latency_ms: f64,
    jitter_ms: f64,
    room: Room,
    stored: Stored,
    /// Socket attachments: survive an eviction, not a crash.
    attachments: HashMap<ConnId, (Player, Option<String>)>,
    clients: Vec<SimClient>,
    net: Vec<Packet>,
    /// Per link, the time of the last packet queued: a WebSocket never reorders.
    link_busy_until: HashMap<(ConnId, bool), f64>,
    next_conn: ConnId,
    /// (seq) of every op a client saw acknowledged.
    acked: Vec<u64>,
}

impl Sim {
    fn new(seed: u64, n: usize) -> Self {
        let session = Session::new(
            SessionId::from_random_bytes([4; 16]),
            0,
            SessionState::demo(),
        );
        let timeline = Timeline::new(session.state.tempo, 0.0);
        let room = Room::new(session.clone(), 0, timeline, RoomConfig::default());
        Self {
            now: 1_000.0,
            rng: Rng(seed | 1),
            latency_ms: 20.0,
            jitter_ms: 15.0,
            room,
            stored: Stored {
                session,
                seq: 0,
                timeline,
            },
            attachments: HashMap::new(),
            clients: (0..n)
                .map(|i| SimClient {
                    client: Client::new(format!("p{i}"), SessionState::default()),
                    conn: None,
                })
                .collect(),
            net: Vec::new(),
            link_busy_until: HashMap::new(),
            next_conn: 1,
            acked: Vec::new(),
        }
    }

    fn send(&mut self, to: To, conn: ConnId, text: String) {
        let up = matches!(to, To::Room(_));
        let delay = self.latency_ms + self.rng.below((self.jitter_ms as u64).max(1)) as f64;
        let busy = self.link_busy_until.entry((conn, up)).or_insert(0.0);
        let at = (self.now + delay).max(*busy + 0.001);
        *busy = at;
        self.net.push(Packet { at, to, conn, text });
    }

    fn connect(&mut self, i: usize) {
        if self.clients[i].conn.is_some() {
            return;
        }
        let conn = self.next_conn;
        self.next_conn += 1;
        self.clients[i].conn = Some(conn);
        self.clients[i].client.handle_connected();
        self.room.handle_connect(conn, None, self.now);
        self.flush_client(i);
    }

    fn disconnect(&mut self, i: usize) {
        let Some(conn) = self.clients[i].conn.take() else {
            return;
        };
        self.net.retain(|p| p.conn != conn);
        self.clients[i].client.handle_disconnected();
        self.room.handle_disconnect(conn, self.now);
        self.attachments.remove(&conn);
        self.drain_room();
    }

    /// The host evicts the room from memory; sockets stay open (hibernation).
    fn evict(&mut self) {
        self.room = Room::new(
            self.stored.session.clone(),
            self.stored.seq,
            self.stored.timeline,
            RoomConfig::default(),
        );
        for (conn, (player, user)) in &self.attachments {
            self.room
                .restore_player(*conn, player.clone(), user.clone(), self.now);
        }
    }

    /// The server process dies: every socket drops, memory is lost, storage survives.
    fn crash(&mut self) {
        for i in 0..self.clients.len() {
            if let Some(conn) = self.clients[i].conn.take() {
                self.net.retain(|p| p.conn != conn);
                self.clients[i].client.handle_disconnected();
            }
        }
        self.attachments.clear();
        self.room = Room::new(
            self.stored.session.clone(),
            self.stored.seq,
            self.stored.timeline,
            RoomConfig::default(),
        );
        assert!(
            self.acked.iter().all(|s| *s <= self.stored.seq),
            "an acknowledged op was lost"
        );
    }

    fn flush_client(&mut self, i: usize) {
        let Some(conn) = self.clients[i].conn else {
            return;
        };
        while let Some(text) = self.clients[i].client.poll_transmit() {
            self.send(To::Room(conn), conn, text);
        }
    }

    fn drain_room(&mut self) {
        while let Some(ev) = self.room.poll_event() {
            match ev {
                RoomEvent::Persist { seq } => {
                    assert_eq!(seq, self.room.seq());
                    self.stored.session = self.room.session().clone();
                    self.stored.seq = seq;
                }
                RoomEvent::PersistTimeline => self.stored.timeline = *self.room.timeline(),
                RoomEvent::Joined { conn, player, user } => {
                    self.attachments.insert(conn, (player, user));
                }
                RoomEvent::Transmit { to, text } => {
                    // Nothing leaves the room that storage does not already hold.
                    assert_eq!(self.stored.seq, self.room.seq(), "transmit before persist");
                    if let Some(i) = self.clients.iter().position(|c| c.conn == Some(to)) {
                        self.send(To::Client(i), to, text.to_string());
                    }
                }
                RoomEvent::Close { conn, .. } => {
                    if let Some(i) = self.clients.iter().position(|c| c.conn == Some(conn)) {
                        self.disconnect(i);
                    }
                }
            }
        }
    }

    /// Delivers the next packet; false when the network is quiet.
    fn deliver_one(&mut self) -> bool {
        let Some(k) =
            (0..self.net.len()).min_by(|a, b| self.net[*a].at.total_cmp(&self.net[*b].at))
        else {
            return false;
        };
        let p = self.net.swap_remove(k);
        self.now = self.now.max(p.at);
        match p.to {
            To::Room(conn) => {
                self.room.handle_message(conn, p.text.as_bytes(), self.now);
                self.drain_room();
            }
            To::Client(i) => {
                let pending_before = self.clients[i].client.pending().count();
                let seq_before = self.clients[i].client.seq();
                self.clients[i]
                    .client
                    .handle_message(p.text.as_bytes(), self.now);
                if self.clients[i].client.pending().count() < pending_before {
                    self.acked
                        .push(self.clients[i].client.seq().max(seq_before));
                }
                while let Some(ev) = self.clients[i].client.poll_event() {
                    if ev == ClientEvent::Desynced {
                        self.disconnect(i);
                        self.connect(i);
                    }
                }
                self.flush_client(i);
            }
        }
        true
    }

    fn run_until_quiet(&mut self) {
        let mut n = 0;
        while self.deliver_one() {
            n += 1;
            assert!(n < 1_000_000, "network never went quiet");
        }
    }

    fn random_edit(&mut self, i: usize) {
        let state = self.clients[i].client.state();
        let tracks: Vec<TrackId> = state.tracks.iter().map(|t| t.id).collect();
        let pick = |rng: &mut Rng| {
            tracks
                .get(rng.below(tracks.len().max(1) as u64) as usize)
                .copied()
        };
        let op = match (self.rng.below(10), pick(&mut self.rng)) {
            (0, _) => Op::AddTrack {
                track: Box::new(Track::new(
                    TrackId::from_random(self.rng.next()),
                    "new",
                    "clap".parse().unwrap(),
                )),
                index: None,
            },
            (1, Some(tr)) => Op::DeleteTrack { tr },
            (2, _) => Op::SetTempo {
                v: 60.0 + self.rng.below(120) as f64,
            },
            (3, Some(tr)) => Op::SetLock {
                tr,
                s: self.rng.below(64) as u8,
                lock: Lock::Pitch(self.rng.below(49) as i8 - 24),
            },
            (4, Some(tr)) => Op::SetStepCount {
                tr,
                v: 1 + self.rng.below(64) as u8,
            },
            (6, Some(tr)) => {
                // Ascending cut points (a sliced take); concurrent replacements converge.
                let n = self.rng.below(5);
                Op::SetCuts {
                    tr,
                    v: (0..n)
                        .map(|i| (i * 4_800 + self.rng.below(4_800)) as u32)
                        .collect(),
                }
            }
            (5, Some(from)) => match pick(&mut self.rng) {
                Some(to) if to != from => Op::CopySequence { from, to },
                _ => Op::ClearTrack { tr: from },
            },
            (_, Some(tr)) => Op::SetStep {
                tr,
                s: self.rng.below(64) as u8,
                on: self.rng.chance(0.5),
            },
            (_, None) => Op::SetSwing {
                v: self.rng.below(101) as f64,
            },
        };
        let _ = self.clients[i].client.edit(op);
        self.flush_client(i);
    }

    fn assert_converged(&self) {
        let truth = &self.room.session().state;
        truth.validate().unwrap();
        for (i, c) in self.clients.iter().enumerate() {
            assert!(c.client.is_joined(), "client {i} not joined");
            assert_eq!(
                c.client.pending().count(),
                0,
                "client {i} has unacked edits"
            );
            assert_eq!(c.client.state(), truth, "client {i} diverged");
            assert_eq!(c.client.seq(), self.room.seq());
        }
    }
}

fn chaos(seed: u64, clients: usize, rounds: usize) -> Sim {
    let mut sim = Sim::new(seed, clients);
    for i in 0..clients {
        sim.connect(i);
    }
    for _ in 0..rounds {
        let i = sim.rng.below(clients as u64) as usize;
        match sim.rng.below(100) {
            0..=69 => sim.random_edit(i),
            70..=74 => sim.disconnect(i),
            75..=84 => sim.connect(i),
            85 => sim.evict(),
            86 if sim.rng.chance(0.3) => sim.crash(),
            _ => {
                for _ in 0..sim.rng.below(8) {
                    sim.deliver_one();
                }
            }
        }
        sim.now += sim.rng.below(5) as f64;
    }
    for i in 0..clients {
        sim.connect(i);
    }
    sim.run_until_quiet();
    sim
}

#[test]
fn two_players_see_each_others_edits() {
    let mut sim = Sim::new(1, 2);
    sim.connect(0);
    sim.connect(1);
    sim.run_until_quiet();
    let kick: TrackId = "kick".parse().unwrap();
    sim.clients[0]
        .client
        .edit(Op::SetStep {
            tr: kick,
            s: 1,
            on: true,
        })
        .unwrap();
    sim.flush_client(0);
    sim.run_until_quiet();
    assert!(sim.clients[1].client.state().track(kick).unwrap().steps[1].on);
    sim.assert_converged();
    assert_eq!(sim.room.players().count(), 2);
}

#[test]
fn same_cell_clicked_at_once_agrees() {
    let mut sim = Sim::new(2, 2);
    sim.connect(0);
    sim.connect(1);
    sim.run_until_quiet();
    let kick: TrackId = "kick".parse().unwrap();
    // Both see the cell off and both click it on: with absolute ops they agree at once.
    sim.clients[0]
        .client
        .edit(Op::SetStep {
            tr: kick,
            s: 2,
            on: true,
        })
        .unwrap();
    sim.clients[1]
        .client
        .edit(Op::SetStep {
            tr: kick,
            s: 2,
            on: true,
        })
        .unwrap();
    sim.flush_client(0);
    sim.flush_client(1);
    sim.run_until_quiet();
    sim.assert_converged();
    assert!(sim.room.session().state.track(kick).unwrap().steps[2].on);
}

#[test]
fn offline_edits_replay_after_reconnect() {
    let mut sim = Sim::new(3, 2);
    sim.connect(0);
    sim.connect(1);
    sim.run_until_quiet();
    sim.disconnect(0);
    let kick: TrackId = "kick".parse().unwrap();
    for s in 0..10 {
        sim.clients[0]
            .client
            .edit(Op::SetStep {
                tr: kick,
                s,
                on: true,
            })
            .unwrap();
    }
    sim.clients[1]
        .client
        .edit(Op::SetTempo { v: 99.0 })
        .unwrap();
    sim.flush_client(1);
    sim.run_until_quiet();
    assert_eq!(sim.clients[0].client.pending().count(), 10);
    assert!(
        sim.clients[0].client.state().track(kick).unwrap().steps[9].on,
        "offline edits show at once"
    );
    sim.connect(0);
    sim.run_until_quiet();
    sim.assert_converged();
    let st = &sim.room.session().state;
    assert_eq!(st.tempo, 99.0);
    assert!((0..10).all(|s| st.track(kick).unwrap().steps[s].on));
}

#[test]
fn rejected_edit_rolls_back() {
    let mut sim = Sim::new(4, 2);
    sim.connect(0);
    sim.connect(1);
    sim.run_until_quiet();
    let kick: TrackId = "kick".parse().unwrap();
    // Player 1 deletes the kick while player 0 (not yet aware) edits it.
    sim.clients[1]
        .client
        .edit(Op::DeleteTrack { tr: kick })
        .unwrap();
    sim.flush_client(1);
    sim.clients[0]
        .client
        .edit(Op::SetStep {
            tr: kick,
            s: 5,
            on: true,
        })
        .unwrap();
    sim.now += 5.0;
    sim.flush_client(0);
    let mut rejected = false;
    while sim.deliver_one() {
        while let Some(ev) = sim.clients[0].client.poll_event() {
            rejected |= matches!(
                ev,
                ClientEvent::Rejected {
                    code: ErrorCode::UnknownTrack,
                    ..
                }
            );
        }
    }
    assert!(rejected || sim.clients[0].client.state().track(kick).is_none());
    sim.assert_converged();
    assert!(sim.room.session().state.track(kick).is_none());
}

#[test]
fn eleventh_player_is_refused() {
    let mut sim = Sim::new(5, 11);
    for i in 0..11 {
        sim.connect(i);
        sim.run_until_quiet();
    }
    assert_eq!(sim.room.players().count(), 10);
    assert!(
        sim.clients[10].conn.is_none(),
        "the room closed the 11th connection"
    );
    assert!(!sim.clients[10].client.is_joined());
}

#[test]
fn ten_players_with_chaos_converge() {
    for seed in 0..12 {
        let sim = chaos(seed * 7 + 1, 10, 1500);
        sim.assert_converged();
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]
    #[test]
    fn random_chaos_converges(seed in any::<u64>(), clients in 2usize..6) {
        let sim = chaos(seed, clients, 600);
        sim.assert_converged();
    }
}
