//! One room and N clients in virtual time, with latency, jitter, disconnects, evictions and
//! crashes. Nothing sleeps: the simulator moves time from one delivery to the next.
//!
//! With `auto` set, the simulator is also the clients' host: it carries out their actions
//! (connects, disconnects, sample uploads and fetches against a fake HTTP store, with knobs for a
//! down or silent server and failing requests) and wakes them at their `poll_timeout`, so the
//! policy the client owns (ping schedule, connect timeout, reconnect backoff, transfer retries)
//! runs in virtual time.

use std::collections::{HashMap, HashSet};

use keyboardia_core::client::{
    Action, Client, ClientConfig, ClientEvent, Fetch, Retry, StateError, TransferFailure, Upload,
};
use keyboardia_core::clock::Timeline;
use keyboardia_core::protocol::Player;
use keyboardia_core::room::{close_code, ConnId, Room, RoomConfig, RoomEvent};
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
        self.unit() <= p
    }
    /// Uniform in [0, 1).
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
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
    /// What the host saw, for the scenarios to check (auto mode).
    log: Log,
    /// The client's clock minus the true (room's) clock at virtual time 0, in ms.
    offset_ms: f64,
    /// How fast the client's clock runs against the true one: 1e-6 is 1 ppm fast.
    drift: f64,
    /// This client's own path to the room, if not the simulator's.
    path: Option<Path>,
}

/// A network path, each way: `latency_ms` plus jitter in [0, `jitter_ms`), and a chance of a
/// frame lost once (resent after the simulator's `rto_ms`); on the way to the client also an
/// exponential delay of mean `back_ms` (0: none), as a client that reads its socket late and a
/// busy proxy add on `sync_bench`'s path (docs/scale.md, "On the real server").
#[derive(Clone, Copy, Debug)]
struct Path {
    latency_ms: f64,
    jitter_ms: f64,
    loss: f64,
    back_ms: f64,
}

/// A server that hibernates, as a Durable Object does: after `idle_ms` without a message it
/// sleeps, and the next message waits for it to wake before it is handled (and stamped):
/// `base_ms` plus a uniform [0, `spread_ms`), and with probability `slow` another [0,
/// `slow_ms`). `wrangler dev` measured 4.2–6.8 ms p50 and 6.4–14.6 ms p95 from the wire to the
/// stamp of pings 12 s apart, against 0.77 ms awake (docs/scale.md).
#[derive(Clone, Copy, Debug)]
struct Wake {
    idle_ms: f64,
    base_ms: f64,
    spread_ms: f64,
    slow: f64,
    slow_ms: f64,
}

impl Wake {
    /// What `wrangler dev` measured (see above).
    const WORKER: Wake = Wake {
        idle_ms: 10_000.0,
        base_ms: 2.5,
        spread_ms: 5.0,
        slow: 0.1,
        slow_ms: 10.0,
    };
}

impl SimClient {
    /// The client's local time at virtual (true) time `now`; exact when there is no skew.
    fn local(&self, now: f64) -> f64 {
        now * (1.0 + self.drift) + self.offset_ms
    }

    /// The client's next timer, in virtual time.
    fn timer(&self) -> Option<f64> {
        self.client
            .poll_timeout()
            .map(|t| (t - self.offset_ms) / (1.0 + self.drift))
    }

    /// The local time to wake the client with at virtual time `now`, when its timer is due: at
    /// least the timer's own time (the conversion back and forth may round below it).
    fn wake_at(&self, now: f64) -> f64 {
        let t = self.client.poll_timeout().unwrap_or(f64::NEG_INFINITY);
        self.local(now).max(t)
    }
}

/// What one client asked for and was told, with the virtual times.
#[derive(Default)]
struct Log {
    pings: Vec<f64>,
    connects: Vec<(f64, u32)>,
    disconnects: Vec<(f64, StateError)>,
    offline_delays: Vec<f64>,
    uploads: Vec<f64>,
    fetches: Vec<(f64, SampleId)>,
    retries: Vec<Retry>,
    fetched: Vec<SampleId>,
    uploaded: Vec<SampleId>,
}

/// Host work under way for a client (auto mode), finishing at a time.
enum HostTask {
    /// The socket opens (or is refused if the server is down by then).
    Open,
    Upload(Upload),
    /// A fetch and how it ends (decided when the request reached the server).
    Fetch(Fetch, Option<TransferFailure>),
}

/// The fake HTTP sample store.
#[derive(Default)]
struct Http {
    /// Samples stored.
    blobs: HashSet<SampleId>,
    /// This many next requests fail as network errors (transient).
    fail_next: u32,
    /// Uploads are refused for good (e.g. too long).
    refuse_uploads: bool,
    /// Time from a request to its reply.
    latency_ms: f64,
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
    /// The simulator carries out the clients' actions and runs their timers.
    auto: bool,
    /// Connects are refused (the server is down).
    server_down: bool,
    /// Connects are never answered.
    server_silent: bool,
    http: Http,
    /// (finish time, client, task).
    host: Vec<(f64, usize, HostTask)>,
    /// Sockets the room closed for sending too fast: a client that paces itself never is.
    rate_limited: usize,
    /// Jitter uniform in [0, jitter_ms) (else whole ms, as the older scenarios were tuned with).
    smooth_jitter: bool,
    /// Probability that a frame is lost once on the way (TCP then resends it).
    loss: f64,
    /// What a loss adds to the frame's delay: the retransmission timeout, in ms.
    rto_ms: f64,
    /// The room's clock reads whole multiples of this (ms, cut down), as a Worker's
    /// `Date.now()` reads whole milliseconds; 0: exact.
    server_tick_ms: f64,
    /// The room hibernates when idle (`None`: always awake).
    wake: Option<Wake>,
    /// When the room last handled a message (the idle time runs from there).
    room_last: f64,
    /// Until when the room is waking: messages arriving before wait for it.
    room_waking_until: f64,
    /// Wakes so far (a message that found the room asleep).
    wakes: usize,
    /// Frames held for the current wake, in order.
    deferred: u64,
    /// The wakes' own draws (the network's stay the same with and without them).
    wake_rng: Rng,
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
                    client: Client::with_config(
                        ClientConfig {
                            name: format!("p{i}"),
                            seed: seed ^ i as u64,
                            // The room's clock is exact unless a scenario sets a tick.
                            server_clock_tick_ms: 0.0,
                            ..ClientConfig::default()
                        },
                        SessionState::default(),
                    ),
                    conn: None,
                    log: Log::default(),
                    offset_ms: 0.0,
                    drift: 0.0,
                    path: None,
                })
                .collect(),
            net: Vec::new(),
            link_busy_until: HashMap::new(),
            next_conn: 1,
            acked: Vec::new(),
            auto: false,
            server_down: false,
            server_silent: false,
            http: Http::default(),
            host: Vec::new(),
            rate_limited: 0,
            smooth_jitter: false,
            loss: 0.0,
            rto_ms: 200.0,
            server_tick_ms: 0.0,
            wake: None,
            room_last: 0.0,
            room_waking_until: f64::NEG_INFINITY,
            wakes: 0,
            deferred: 0,
            wake_rng: Rng(seed.rotate_left(17) | 1),
        }
    }

    /// The room's clock now: the true time, cut down to the server's tick.
    fn server_now(&self) -> f64 {
        if self.server_tick_ms > 0.0 {
            (self.now / self.server_tick_ms).floor() * self.server_tick_ms
        } else {
            self.now
        }
    }

    /// A simulator that hosts its clients (20 ms each way, no jitter); they stay offline until
    /// [`Sim::online`].
    fn hosted(seed: u64, n: usize) -> Self {
        let mut sim = Self::new(seed, n);
        sim.auto = true;
        sim.latency_ms = 20.0;
        sim.jitter_ms = 0.0;
        sim.http.latency_ms = 20.0;
        sim
    }

    /// Tells every client to go online.
    fn online(&mut self) {
        for i in 0..self.clients.len() {
            let local = self.clients[i].local(self.now);
            self.clients[i].client.connect(local);
            self.pump(i);
        }
    }

    /// The user's edit on client `i`.
    fn edit(&mut self, i: usize, op: Op) {
        self.clients[i].client.edit(op).unwrap();
        self.pump(i);
    }

    fn client(&self, i: usize) -> &Client {
        &self.clients[i].client
    }

    /// Carries out what client `i` asks for (auto mode) and sends its frames.
    fn pump(&mut self, i: usize) {
        while let Some(action) = self.clients[i].client.poll_action() {
            if !self.auto {
                continue;
            }
            let (now, done) = (self.now, self.now + self.latency_ms);
            let http_done = self.now + self.http.latency_ms;
            match action {
                Action::Connect { attempt } => {
                    self.clients[i].log.connects.push((now, attempt));
                    if !self.server_silent {
                        self.host.push((done, i, HostTask::Open));
                    }
                }
                Action::Disconnect(why) => {
                    self.clients[i].log.disconnects.push((now, why));
                    self.host
                        .retain(|(_, c, t)| !(*c == i && matches!(t, HostTask::Open)));
                    if self.clients[i].conn.is_some() {
                        self.disconnect(i);
                    } else {
                        let local = self.clients[i].local(now);
                        let d = self.clients[i].client.handle_disconnected(local);
                        self.clients[i].log.offline_delays.push(d);
                    }
                }
                Action::Upload(up) => {
                    self.clients[i].log.uploads.push(now);
                    self.host.push((http_done, i, HostTask::Upload(up)));
                }
                Action::Fetch(f) => {
                    self.clients[i].log.fetches.push((now, f.id.clone()));
                    // The server answers as of when the request arrives.
                    let failure = if self.http.fail_next > 0 {
                        self.http.fail_next -= 1;
                        Some(TransferFailure::Transient)
                    } else if !self.http.blobs.contains(&f.id) {
                        Some(TransferFailure::NotFound)
                    } else {
                        None
                    };
                    self.host.push((http_done, i, HostTask::Fetch(f, failure)));
                }
            }
        }
        if self.auto {
            while self.clients[i].client.poll_event().is_some() {}
        }
        self.flush_client(i);
    }

    /// Finishes host task `k` (auto mode).
    fn finish(&mut self, k: usize) {
        let (_, i, task) = self.host.swap_remove(k);
        let now = self.clients[i].local(self.now);
        match task {
            HostTask::Open if self.server_down => {
                let d = self.clients[i].client.handle_disconnected(now);
                self.clients[i].log.offline_delays.push(d);
            }
            HostTask::Open => self.connect(i),
            HostTask::Upload(up) => {
                let id = up.id.clone().expect("uploads under a content id");
                if self.http.fail_next > 0 {
                    self.http.fail_next -= 1;
                    let r = self.clients[i].client.handle_upload_failed(
                        now,
                        up.transfer,
                        TransferFailure::Transient,
                    );
                    self.clients[i].log.retries.push(r);
                } else if self.http.refuse_uploads {
                    let r = self.clients[i].client.handle_upload_failed(
                        now,
                        up.transfer,
                        TransferFailure::Final,
                    );
                    self.clients[i].log.retries.push(r);
                } else {
                    self.http.blobs.insert(id.clone());
                    self.clients[i].client.handle_uploaded(up.transfer);
                    self.clients[i].log.uploaded.push(id.clone());
                    self.room
                        .announce_sample(id.clone(), up.name, format!("/samples/{id}"));
                    self.drain_room();
                }
            }
            HostTask::Fetch(f, failure) => {
                let c = &mut self.clients[i];
                match failure {
                    Some(failure) => {
                        let r = c.client.handle_fetch_failed(now, f.transfer, failure);
                        c.log.retries.push(r);
                    }
                    None => {
                        c.client.handle_fetched(f.transfer);
                        c.log.fetched.push(f.id);
                    }
                }
            }
        }
        self.pump(i);
    }

    /// Runs everything due up to `until` (auto mode): deliveries, host tasks, client timers.
    fn run_until(&mut self, until: f64) {
        loop {
            let packet = self.net.iter().map(|p| p.at).min_by(f64::total_cmp);
            let task = self.host.iter().map(|t| t.0).min_by(f64::total_cmp);
            let timer = self
                .clients
                .iter()
                .filter_map(|c| c.timer())
                .min_by(f64::total_cmp);
            let Some(next) = [packet, task, timer]
                .into_iter()
                .flatten()
                .min_by(f64::total_cmp)
                .filter(|t| *t <= until)
            else {
                break;
            };
            self.now = self.now.max(next);
            if packet == Some(next) {
                self.deliver_one();
            } else if task == Some(next) {
                let k = self.host.iter().position(|t| t.0 == next).unwrap();
                self.finish(k);
            } else {
                for i in 0..self.clients.len() {
                    if self.clients[i].timer().is_some_and(|t| t <= self.now) {
                        let local = self.clients[i].wake_at(self.now);
                        self.clients[i].client.handle_timeout(local);
                        self.pump(i);
                    }
                }
            }
        }
        self.now = self.now.max(until);
    }

    /// Runs for `ms` of virtual time (auto mode).
    fn run_for(&mut self, ms: f64) {
        self.run_until(self.now + ms);
    }

    fn send(&mut self, to: To, conn: ConnId, text: String) {
        let up = matches!(to, To::Room(_));
        let client = match to {
            To::Client(i) => Some(i),
            To::Room(conn) => self.clients.iter().position(|c| c.conn == Some(conn)),
        };
        let path = client.and_then(|i| self.clients[i].path).unwrap_or(Path {
            latency_ms: self.latency_ms,
            jitter_ms: self.jitter_ms,
            loss: self.loss,
            back_ms: 0.0,
        });
        let jitter = if self.smooth_jitter {
            self.rng.unit() * path.jitter_ms
        } else {
            self.rng.below((path.jitter_ms as u64).max(1)) as f64
        };
        let mut delay = path.latency_ms + jitter;
        if !up && path.back_ms > 0.0 {
            // Drawn only on such a path, so that every other path's draws stay as they were.
            delay -= path.back_ms * (1.0 - self.rng.unit()).ln();
        }
        if path.loss > 0.0 && self.rng.chance(path.loss) {
            delay += self.rto_ms;
        }
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
        let local = self.clients[i].local(self.now);
        self.clients[i].client.handle_connected(local);
        self.room.handle_connect(conn, None, self.server_now());
        self.pump(i);
    }

    fn disconnect(&mut self, i: usize) {
        let Some(conn) = self.clients[i].conn.take() else {
            return;
        };
        self.net.retain(|p| p.conn != conn);
        let local = self.clients[i].local(self.now);
        let d = self.clients[i].client.handle_disconnected(local);
        self.clients[i].log.offline_delays.push(d);
        self.room.handle_disconnect(conn, self.server_now());
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
        // Sockets still waiting for their hello come back too (the room drops frames from
        // connections it does not know).
        for c in &self.clients {
            if let Some(conn) = c.conn.filter(|conn| !self.attachments.contains_key(conn)) {
                self.room.handle_connect(conn, None, self.server_now());
            }
        }
    }

    /// The server process dies: every socket drops, memory is lost, storage survives.
    fn crash(&mut self) {
        for i in 0..self.clients.len() {
            if let Some(conn) = self.clients[i].conn.take() {
                self.net.retain(|p| p.conn != conn);
                let local = self.clients[i].local(self.now);
                let d = self.clients[i].client.handle_disconnected(local);
                self.clients[i].log.offline_delays.push(d);
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
            if text.contains(r#""t":"ping""#) {
                self.clients[i].log.pings.push(self.now);
            }
            self.send(To::Room(conn), conn, text);
        }
    }

    fn drain_room(&mut self) {
        while let Some(ev) = self.room.poll_event() {
            match ev {
                RoomEvent::Persist { seq, .. } => {
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
                RoomEvent::Close { conn, code, .. } => {
                    self.rate_limited += usize::from(code == close_code::RATE_LIMITED);
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
        let mut p = self.net.swap_remove(k);
        self.now = self.now.max(p.at);
        match p.to {
            To::Room(_) if self.wake.is_some() && self.room_asleep() => {
                // Handled once the room is awake, after the frames that arrived before it.
                self.deferred += 1;
                p.at = self.room_waking_until + 1e-9 * self.deferred as f64;
                self.net.push(p);
            }
            To::Room(conn) => {
                self.room_last = self.now;
                self.room
                    .handle_message(conn, p.text.as_bytes(), self.server_now());
                self.drain_room();
            }
            To::Client(i) => {
                let pending_before = self.clients[i].client.pending().count();
                let seq_before = self.clients[i].client.seq();
                let local = self.clients[i].local(self.now);
                self.clients[i]
                    .client
                    .handle_message(p.text.as_bytes(), local);
                if self.clients[i].client.pending().count() < pending_before {
                    self.acked
                        .push(self.clients[i].client.seq().max(seq_before));
                }
                if !self.auto {
                    while let Some(ev) = self.clients[i].client.poll_event() {
                        if ev == ClientEvent::Desynced {
                            self.disconnect(i);
                            self.connect(i);
                        }
                    }
                }
                self.pump(i);
            }
        }
        true
    }

    /// Whether a frame reaching the room now waits for it to wake (starting a wake if it was
    /// asleep).
    fn room_asleep(&mut self) -> bool {
        let Some(w) = self.wake else {
            return false;
        };
        if self.now < self.room_waking_until {
            return true;
        }
        if self.now - self.room_last.max(self.room_waking_until) <= w.idle_ms {
            return false;
        }
        let mut wake = w.base_ms + self.wake_rng.unit() * w.spread_ms;
        if self.wake_rng.chance(w.slow) {
            wake += self.wake_rng.unit() * w.slow_ms;
        }
        self.room_waking_until = self.now + wake;
        self.wakes += 1;
        self.deferred = 0;
        true
    }

    fn run_until_quiet(&mut self) {
        let mut n = 0;
        while self.deliver_one() {
            n += 1;
            assert!(n < 1_000_000, "network never went quiet");
        }
    }

    /// Delivers everything, waking the clients whose edits wait for the room's allowance (the
    /// client paces itself), until no edit is left to send.
    fn settle(&mut self) {
        for _ in 0..100_000 {
            self.run_until_quiet();
            let waiting: Vec<usize> = (0..self.clients.len())
                .filter(|i| {
                    let c = &self.clients[*i].client;
                    c.is_joined() && c.unsent() > 0
                })
                .collect();
            let Some(at) = waiting
                .iter()
                .filter_map(|i| self.clients[*i].client.poll_timeout())
                .min_by(f64::total_cmp)
            else {
                return;
            };
            self.now = self.now.max(at);
            for i in waiting {
                self.clients[i].client.handle_timeout(self.now);
                self.flush_client(i);
                self.pump(i);
            }
        }
        panic!("paced edits never drained");
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
                pt: PatternId::A,
                tr,
                s: self.rng.below(64) as u8,
                lock: Lock::Pitch(self.rng.below(49) as i8 - 24),
            },
            (4, Some(tr)) => Op::SetStepCount {
                pt: PatternId::A,
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
                Some(to) if to != from => Op::CopySequence {
                    pt: PatternId::A,
                    from,
                    to,
                },
                _ => Op::ClearTrack {
                    pt: PatternId::A,
                    tr: from,
                },
            },
            (_, Some(tr)) => Op::SetStep {
                pt: PatternId::A,
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
        assert_eq!(self.rate_limited, 0, "a client was closed for its rate");
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
    sim.settle();
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
            pt: PatternId::A,
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
            pt: PatternId::A,
            tr: kick,
            s: 2,
            on: true,
        })
        .unwrap();
    sim.clients[1]
        .client
        .edit(Op::SetStep {
            pt: PatternId::A,
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
                pt: PatternId::A,
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
            pt: PatternId::A,
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

// ---- The policy the client owns, in virtual time (the simulator hosts the clients). ----

fn kick() -> TrackId {
    "kick".parse().unwrap()
}

fn sample_track(name: &str, sample: &SampleId) -> Op {
    Op::AddTrack {
        track: Box::new(Track::new(
            name.parse().unwrap(),
            name,
            Instrument::Sample(sample.clone()),
        )),
        index: None,
    }
}

#[test]
fn a_long_offline_queue_replays_under_the_rooms_rate_limit() {
    let mut sim = Sim::hosted(3, 2);
    sim.online();
    sim.run_for(1_000.0);
    sim.disconnect(0);
    // 1,000 edits made offline: five times the room's burst.
    for k in 0..1_000u32 {
        let op = Op::SetStep {
            pt: PatternId::A,
            tr: kick(),
            s: (k % 16) as u8,
            on: k % 3 == 0,
        };
        sim.clients[0].client.edit(op).unwrap();
    }
    sim.run_for(5_000.0);
    let left = sim.client(0).pending().count();
    assert!(left > 0, "paced: not all of it in 5 s");
    sim.run_for(10_000.0);
    sim.settle();
    // Before pacing, the replay tripped the limit at once, and every reconnect did again.
    sim.assert_converged();
    assert!(sim.clients[0].log.disconnects.is_empty(), "never closed");
}

#[test]
fn pings_burst_then_lock_then_back_off() {
    let mut sim = Sim::hosted(1, 1);
    sim.online();
    let opened = sim.now + 20.0;
    sim.run_for(25.0 * 60_000.0);
    let pings = &sim.clients[0].log.pings;
    // The first ping goes as the socket opens; 32 pings 15 ms apart, then two a second while
    // the clock locks...
    assert_eq!(pings[0], opened);
    let gaps: Vec<f64> = pings.windows(2).map(|w| w[1] - w[0]).collect();
    assert!(gaps[..31].iter().all(|g| *g == 15.0), "{:?}", &gaps[..32]);
    assert!(
        gaps[31..37].iter().all(|g| *g == 500.0),
        "{:?}",
        &gaps[31..40]
    );
    // ...then, while every answer agrees with the clock, the interval doubles after eight answers
    // once the samples span 90 intervals (or 15 minutes), up to 24 s: it never shrinks, and
    // only ever doubles or caps.
    let first_pair = gaps.iter().position(|g| *g > 8_000.0).unwrap() - 1;
    for w in gaps[31..first_pair].windows(2) {
        assert!(w[1] == w[0] || w[1] == w[0] * 2.0, "{w:?}");
    }
    assert_eq!(gaps[first_pair - 1], 8_000.0);
    // From 16 s on (past the 10 s after which a Durable Object may hibernate) the pings go in
    // pairs 1 s apart, a pair every two intervals: 1 s, then 31 s; at 24 s, 1 s then 47 s.
    let rounds = &gaps[first_pair..];
    assert!(
        rounds.iter().step_by(2).all(|g| *g == 1_000.0),
        "{rounds:?}"
    );
    let rests: Vec<f64> = rounds.iter().skip(1).step_by(2).copied().collect();
    let longest = rests.iter().position(|g| *g != 31_000.0).unwrap();
    // At 24 s the rounds move onto the room's grid of server time (multiples of 48 s): one
    // round 24–72 s after the last, then 48 s each.
    assert!((23_000.0..=71_000.0).contains(&rests[longest]), "{rests:?}");
    assert!(
        rests[longest + 1..].iter().all(|g| *g == 47_000.0),
        "{rests:?}"
    );
    // The grid runs from the room's timeline anchor (rooms do not all wake at once).
    let anchor = sim.client(0).timeline().unwrap().anchor_time;
    let mut firsts = pings[first_pair + 2 * longest + 2..].iter().step_by(2);
    assert!(firsts.len() >= 5);
    assert!(firsts.all(|t| (t - anchor).rem_euclid(48_000.0) == 0.0));
    assert_eq!(sim.client(0).ping_interval_ms(), 24_000.0);
    // At the longest interval soon after the samples span 15 minutes; then 2.5 pings a minute.
    let late = pings
        .iter()
        .filter(|t| **t > opened + 20.0 * 60_000.0)
        .count();
    assert!(late <= 14, "{late} pings in the last 5 minutes");
    // Room and client share virtual time: the estimate finds no offset, no drift and the 40 ms
    // round trip.
    let est = sim.client(0).clock().estimate().unwrap();
    assert!(
        est.offset.abs() < 1e-9 && est.drift.abs() < 1e-12 && est.rtt == 40.0,
        "{est:?}"
    );
}

/// The clock error (ms) of client `i` now: its estimate of server minus local time against the
/// truth.
fn clock_error(sim: &Sim, i: usize) -> Option<f64> {
    let c = &sim.clients[i];
    let local = c.local(sim.now);
    let truth = sim.now - local;
    c.client.clock().offset_at(local).map(|o| o - truth)
}

/// Runs `sim` for `minutes`, sampling every client's clock error every 250 ms after `from_min`
/// minutes; returns the sorted absolute errors and each client's pings per minute after
/// `steady_min` minutes.
fn clock_run(sim: &mut Sim, minutes: f64, from_min: f64, steady_min: f64) -> (Vec<f64>, Vec<f64>) {
    let start = sim.now;
    let mut errors = Vec::new();
    while sim.now < start + minutes * 60_000.0 {
        sim.run_for(250.0);
        if sim.now >= start + from_min * 60_000.0 {
            for i in 0..sim.clients.len() {
                let e = clock_error(sim, i).expect("locked").abs();
                errors.push(e);
            }
        }
    }
    errors.sort_by(f64::total_cmp);
    let steady = start + steady_min * 60_000.0;
    let rates = sim
        .clients
        .iter()
        .map(|c| {
            let n = c.log.pings.iter().filter(|t| **t >= steady).count();
            n as f64 / (minutes - steady_min)
        })
        .collect();
    (errors, rates)
}

fn pct(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

/// Clients whose clocks are off by minutes and run ±100 ppm against the room's.
fn skewed(seed: u64) -> Sim {
    let mut sim = Sim::hosted(seed, 2);
    sim.clients[0].offset_ms = 1.0e6;
    sim.clients[0].drift = 100e-6;
    sim.clients[1].offset_ms = -3.7e5;
    sim.clients[1].drift = -100e-6;
    sim.smooth_jitter = true;
    sim
}

#[test]
fn sparse_pings_keep_a_drifting_clock_within_a_millisecond_on_loopback() {
    let mut sim = skewed(21);
    // Loopback: 0.05–0.25 ms each way.
    sim.latency_ms = 0.05;
    sim.jitter_ms = 0.2;
    sim.online();
    let (errors, rates) = clock_run(&mut sim, 60.0, 2.0, 20.0);
    let (p50, p99, max) = (
        pct(&errors, 0.5),
        pct(&errors, 0.99),
        errors[errors.len() - 1],
    );
    eprintln!("loopback: p50 {p50:.4} ms p99 {p99:.4} ms max {max:.4} ms, pings/min {rates:?}");
    assert!(p99 <= 1.0, "p99 {p99} ms");
    assert!(rates.iter().all(|r| *r <= 3.0), "{rates:?}");
    for i in 0..2 {
        let d = sim.client(i).clock().estimate().unwrap().drift;
        let want = (1.0 / (1.0 + sim.clients[i].drift)) - 1.0;
        assert!((d - want).abs() < 2e-6, "drift {d} want {want}");
    }
}

#[test]
fn sparse_pings_keep_a_drifting_clock_within_two_milliseconds_through_a_bad_network() {
    // Twelve runs of an hour from joining, errors sampled from the second minute on (the
    // windows hold the lock's dense anchor and an hour of sparse pings at most: the error falls
    // as the window grows, and the first hour is the hardest part). Each run's error is mostly
    // a constant of its own, so a few runs say little about the pooled p99: three of them once
    // put it at 1.95 ms with one estimator and 2.67 ms with a better one.
    let mut pooled = Vec::new();
    for seed in (0..12).map(|k| 22 + 100 * k) {
        let mut sim = skewed(seed);
        // 50 ± 20 ms each way, 2 % of frames lost once (a 200 ms retransmission).
        sim.latency_ms = 30.0;
        sim.jitter_ms = 40.0;
        sim.loss = 0.02;
        sim.online();
        let (errors, rates) = clock_run(&mut sim, 60.0, 2.0, 20.0);
        let (p50, p99) = (pct(&errors, 0.5), pct(&errors, 0.99));
        let max = errors[errors.len() - 1];
        eprintln!(
            "bad network, seed {seed}: p50 {p50:.4} ms p99 {p99:.4} ms max {max:.4} ms, \
             pings/min {rates:?}"
        );
        assert!(max <= 4.0, "max {max} ms");
        assert!(rates.iter().all(|r| *r <= 3.0), "{rates:?}");
        pooled.extend(errors);
    }
    pooled.sort_by(f64::total_cmp);
    let p99 = pct(&pooled, 0.99);
    eprintln!(
        "bad network, pooled: p50 {:.4} ms p99 {p99:.4} ms",
        pct(&pooled, 0.5)
    );
    assert!(p99 <= 2.5, "p99 {p99} ms");
}

/// Runs `sim` for `minutes`, sampling every client's signed clock error (estimate minus truth)
/// every 250 ms after `from_min` minutes; returns their mean and the sorted absolute errors.
fn signed_clock_run(sim: &mut Sim, minutes: f64, from_min: f64) -> (f64, Vec<f64>) {
    let start = sim.now;
    let (mut sum, mut errors) = (0.0, Vec::new());
    while sim.now < start + minutes * 60_000.0 {
        sim.run_for(250.0);
        if sim.now >= start + from_min * 60_000.0 {
            for i in 0..sim.clients.len() {
                let e = clock_error(sim, i).expect("locked");
                sum += e;
                errors.push(e.abs());
            }
        }
    }
    errors.sort_by(f64::total_cmp);
    (sum / errors.len() as f64, errors)
}

#[test]
fn a_server_clock_of_whole_milliseconds_leaves_no_bias_once_modelled() {
    // The room's clock reads whole milliseconds, cut down, as a Worker's `Date.now()` does: a
    // stamp T means a time in [T, T + 1). Taken at face value it puts the clock half a
    // millisecond low; the client told the tick (`server_clock_tick_ms`) is not biased.
    let run = |told_tick: f64| {
        let mut sim = skewed(24);
        sim.latency_ms = 0.05;
        sim.jitter_ms = 0.2;
        sim.server_tick_ms = 1.0;
        for (i, c) in sim.clients.iter_mut().enumerate() {
            c.client = Client::with_config(
                ClientConfig {
                    name: format!("p{i}"),
                    seed: 24 ^ i as u64,
                    server_clock_tick_ms: told_tick,
                    ..ClientConfig::default()
                },
                SessionState::default(),
            );
        }
        sim.online();
        signed_clock_run(&mut sim, 30.0, 2.0)
    };
    let (bias, errors) = run(1.0);
    let (naive_bias, naive) = run(0.0);
    let p99 = |e: &[f64]| pct(e, 0.99);
    eprintln!(
        "1 ms server clock, loopback: told the tick: mean signed {bias:+.4} ms p99 {:.4} ms; \
         not told: mean signed {naive_bias:+.4} ms p99 {:.4} ms",
        p99(&errors),
        p99(&naive)
    );
    assert!(bias.abs() <= 0.1, "bias {bias} ms");
    assert!(p99(&errors) <= 0.5, "p99 {} ms", p99(&errors));
    assert!((-0.6..=-0.4).contains(&naive_bias), "bias {naive_bias} ms");
}

#[test]
fn a_clock_step_tightens_the_pings_and_the_clock_relocks() {
    let mut sim = skewed(23);
    sim.latency_ms = 30.0;
    sim.jitter_ms = 40.0;
    sim.online();
    sim.run_for(25.0 * 60_000.0);
    assert_eq!(sim.client(0).ping_interval_ms(), 24_000.0);
    // Client 0's clock steps 100 ms ahead (as when a clock is set).
    sim.clients[0].offset_ms += 100.0;
    let stepped = sim.now;
    // The next round of pings (a pair every 48 s) finds both answers off the line.
    while sim.client(0).ping_interval_ms() >= 24_000.0 {
        assert!(
            sim.now - stepped < 50_000.0,
            "the pings tightened after one round"
        );
        sim.run_for(100.0);
    }
    let tightened = sim.now;
    sim.run_for(45_000.0);
    let pings = sim.clients[0]
        .log
        .pings
        .iter()
        .filter(|t| **t > tightened)
        .count();
    assert!(pings > 3, "{pings} pings in the 45 s after");
    let err = clock_error(&sim, 0).unwrap().abs();
    assert!(err < 2.0, "relocked: {err} ms");
    // Client 1 did not notice.
    assert_eq!(sim.client(1).ping_interval_ms(), 24_000.0);
}

#[test]
fn a_silent_server_times_out_and_reconnects_back_off_within_bounds() {
    let delays = |seed| {
        let mut sim = Sim::hosted(seed, 1);
        sim.server_silent = true;
        sim.online();
        sim.run_for(120_000.0);
        let log = &sim.clients[0].log;
        assert!(log.disconnects.len() >= 8);
        for (k, (at, why)) in log.disconnects.iter().enumerate() {
            // Every attempt is abandoned 5 s after it started...
            assert_eq!(*why, StateError::ConnectTimeout { after_ms: 5_000.0 });
            assert_eq!(*at, log.connects[k].0 + 5_000.0);
            assert_eq!(log.connects[k].1, k as u32, "attempts counted");
            // ...and the next starts after the backoff delay, jittered in [250, 250·2ᵏ] ms, capped.
            let d = log.offline_delays[k];
            assert!(
                d >= 250.0 && d <= (250.0 * 2f64.powi(k as i32)).min(10_000.0),
                "{k}: {d}"
            );
            if let Some(next) = log.connects.get(k + 1) {
                assert_eq!(next.0, at + d);
            }
        }
        assert!(!sim.client(0).is_joined());
        log.offline_delays.clone()
    };
    let a = delays(5);
    assert_eq!(a, delays(5), "the seed decides the jitter");
    assert_ne!(a, delays(6), "another seed, another jitter");
    assert!(a.iter().any(|d| *d > 2_000.0), "delays grew: {a:?}");
}

#[test]
fn a_join_resets_the_backoff() {
    let mut sim = Sim::hosted(8, 1);
    sim.server_down = true;
    sim.online();
    sim.run_for(5_000.0);
    let refused = sim.clients[0].log.offline_delays.len();
    assert!(refused >= 4, "refused connects back off: {refused}");
    assert!(sim.client(0).attempt() >= 4);
    sim.server_down = false;
    sim.run_for(10_000.0);
    assert!(sim.client(0).is_joined());
    assert_eq!(sim.client(0).attempt(), 0);
    // The next failure starts from the shortest delay again.
    sim.crash();
    assert_eq!(sim.clients[0].log.offline_delays.last(), Some(&250.0));
}

#[test]
fn offline_edits_reach_the_room_when_the_server_comes_back() {
    let mut sim = Sim::hosted(3, 2);
    sim.online();
    sim.run_for(1_000.0);
    assert!(sim.client(0).is_joined() && sim.client(1).is_joined());
    sim.crash();
    sim.server_down = true;
    for s in 0..10 {
        sim.edit(
            0,
            Op::SetStep {
                pt: PatternId::A,
                tr: kick(),
                s,
                on: true,
            },
        );
    }
    sim.edit(1, Op::SetSwing { v: 33.0 });
    sim.run_for(20_000.0);
    assert_eq!(sim.client(0).pending().count(), 10, "kept while offline");
    assert!(sim.clients[0].log.offline_delays.len() >= 4, "kept trying");
    sim.server_down = false;
    let back = sim.now;
    sim.run_for(15_000.0);
    sim.assert_converged();
    let st = &sim.room.session().state;
    assert!((0..10).all(|s| st.track(kick()).unwrap().steps[s].on));
    assert_eq!(st.swing, 33.0);
    // The ping schedule restarted with the new connection: a burst again.
    let pings: Vec<f64> = sim.clients[0]
        .log
        .pings
        .iter()
        .copied()
        .filter(|t| *t > back)
        .collect();
    assert_eq!(pings[1] - pings[0], 15.0);
}

#[test]
fn retry_now_reconnects() {
    let mut sim = Sim::hosted(9, 1);
    sim.online();
    sim.run_for(1_000.0);
    // Connected: the connection drops, and comes back after the shortest delay.
    let t = sim.now;
    sim.clients[0].client.reconnect(t);
    sim.pump(0);
    let log = &sim.clients[0].log;
    assert_eq!(
        log.disconnects.last(),
        Some(&(t, StateError::ReconnectRequested))
    );
    assert_eq!(log.offline_delays.last(), Some(&250.0));
    sim.run_for(1_000.0);
    assert_eq!(sim.clients[0].log.connects.last().unwrap().0, t + 250.0);
    assert!(sim.client(0).is_joined());
    // Offline: it connects at once instead of waiting out the delay.
    sim.crash();
    let t = sim.now;
    sim.clients[0].client.reconnect(t);
    sim.pump(0);
    assert_eq!(sim.clients[0].log.connects.last().unwrap().0, t);
}

#[test]
fn a_sequence_gap_drops_the_connection_and_rejoins() {
    let mut sim = Sim::hosted(10, 1);
    sim.online();
    sim.run_for(1_000.0);
    let you = sim.client(0).you().unwrap();
    let gap = protocol::ServerMessage::Applied(protocol::Broadcast {
        edit: Op::SetSwing { v: 5.0 },
        seq: sim.client(0).seq() + 2,
        by: you,
        op: 999,
    })
    .encode();
    let now = sim.now;
    sim.clients[0].client.handle_message(gap.as_bytes(), now);
    sim.pump(0);
    assert_eq!(
        sim.clients[0].log.disconnects.last(),
        Some(&(now, StateError::Desynced))
    );
    sim.run_for(1_000.0);
    assert!(sim.client(0).is_joined());
    sim.assert_converged();
}

#[test]
fn a_sample_fetch_is_retried_with_backoff_until_it_arrives() {
    let mut sim = Sim::hosted(11, 2);
    sim.online();
    sim.run_for(1_000.0);
    let id = SampleId::for_content(b"a shared sample");
    sim.http.blobs.insert(id.clone());
    sim.http.fail_next = 3;
    sim.edit(0, sample_track("vox", &id));
    sim.run_for(10_000.0);
    let log = &sim.clients[1].log;
    assert_eq!(log.fetched, std::slice::from_ref(&id));
    assert_eq!(
        log.fetches.len(),
        4,
        "three network failures, then it arrives"
    );
    for (k, r) in log.retries.iter().enumerate() {
        let Retry::InMs(d) = *r else { panic!("{r:?}") };
        assert!(d >= 500.0 && d <= 500.0 * 2f64.powi(k as i32), "{k}: {d}");
        // Retried exactly when the delay ran out (the failure came one HTTP latency in).
        assert_eq!(log.fetches[k + 1].0, log.fetches[k].0 + 20.0 + d);
    }
    assert_eq!(sim.client(1).transfers_in_flight(), 0);
    // The player who added the track does not fetch what it made (no remote change).
    assert!(sim.clients[0].log.fetches.is_empty());
}

#[test]
fn a_track_whose_sample_is_not_uploaded_yet_waits_for_the_announcement() {
    let mut sim = Sim::hosted(12, 2);
    sim.online();
    sim.run_for(1_000.0);
    let wav = b"a recorded take".to_vec();
    let id = SampleId::for_content(&wav);
    // The take's track reaches the room before its upload starts.
    sim.edit(0, sample_track("take1", &id));
    sim.run_for(500.0);
    assert_eq!(sim.clients[1].log.fetches.len(), 1);
    assert_eq!(
        sim.clients[1].log.retries,
        [Retry::Never],
        "told it is missing"
    );
    // More changes do not ask again: it waits.
    sim.edit(0, Op::SetTempo { v: 100.0 });
    sim.run_for(500.0);
    assert_eq!(sim.clients[1].log.fetches.len(), 1);
    // The upload ends, the room announces it, and it is fetched at once.
    sim.clients[0]
        .client
        .upload_sample("Take 1", wav, Some(id.clone()));
    sim.pump(0);
    let t = sim.now;
    sim.run_for(500.0);
    let log = &sim.clients[1].log;
    assert_eq!(log.fetched, std::slice::from_ref(&id));
    // Upload (20 ms), announcement (20 ms), fetch.
    assert_eq!(log.fetches[1].0, t + 40.0);
    assert_eq!(sim.clients[0].log.uploaded, [id]);
}

#[test]
fn a_waiting_sample_is_tried_again_after_a_reconnect() {
    let mut sim = Sim::hosted(13, 2);
    sim.online();
    sim.run_for(1_000.0);
    let id = SampleId::for_content(b"uploaded elsewhere");
    sim.edit(0, sample_track("take1", &id));
    sim.run_for(500.0);
    assert_eq!(sim.clients[1].log.retries, [Retry::Never]);
    // It reaches the server without an announcement this player hears.
    sim.http.blobs.insert(id.clone());
    sim.run_for(5_000.0);
    assert!(sim.clients[1].log.fetched.is_empty());
    sim.crash();
    sim.run_for(2_000.0);
    assert!(sim.client(1).is_joined());
    assert_eq!(sim.clients[1].log.fetched, [id]);
}

#[test]
fn an_announcement_during_a_fetch_that_finds_nothing_fetches_again() {
    let mut sim = Sim::hosted(14, 2);
    sim.online();
    sim.run_for(1_000.0);
    sim.http.latency_ms = 300.0;
    let id = SampleId::for_content(b"racing upload");
    sim.edit(0, sample_track("take1", &id));
    // Player 1's fetch is under way (it will find nothing) when the upload ends elsewhere.
    sim.run_for(60.0);
    assert_eq!(sim.clients[1].log.fetches.len(), 1);
    sim.http.blobs.insert(id.clone());
    sim.room
        .announce_sample(id.clone(), "Take 1".into(), "/x".into());
    sim.drain_room();
    sim.run_for(1_000.0);
    let log = &sim.clients[1].log;
    assert_eq!(log.retries, [Retry::Silently], "nothing to tell the user");
    assert_eq!(log.fetches.len(), 2);
    assert_eq!(log.fetched, [id]);
}

#[test]
fn uploads_retry_network_failures_and_give_up_on_refusals() {
    let mut sim = Sim::hosted(15, 2);
    sim.online();
    sim.run_for(1_000.0);
    let wav = b"take".to_vec();
    let id = SampleId::for_content(&wav);
    sim.http.fail_next = 2;
    sim.clients[0]
        .client
        .upload_sample("Take", wav, Some(id.clone()));
    sim.pump(0);
    sim.run_for(5_000.0);
    let log = &sim.clients[0].log;
    assert_eq!(log.uploads.len(), 3);
    assert!(matches!(
        log.retries[..],
        [Retry::InMs(500.0), Retry::InMs(_)]
    ));
    assert_eq!(log.uploaded, std::slice::from_ref(&id));
    assert_eq!(sim.clients[1].log.fetched, [id], "announced and fetched");
    // A refusal is final.
    sim.http.refuse_uploads = true;
    let other = b"too long".to_vec();
    let other_id = SampleId::for_content(&other);
    sim.clients[0]
        .client
        .upload_sample("Long", other, Some(other_id));
    sim.pump(0);
    sim.run_for(60_000.0);
    let log = &sim.clients[0].log;
    assert_eq!(log.uploads.len(), 4);
    assert_eq!(log.retries.last(), Some(&Retry::Never));
    assert_eq!(sim.client(0).transfers_in_flight(), 0);
}

#[test]
fn hosted_chaos_with_timers_converges() {
    for seed in 0..4 {
        let mut sim = Sim::hosted(seed * 31 + 7, 4);
        sim.online();
        for _ in 0..400 {
            let i = sim.rng.below(4) as usize;
            match sim.rng.below(100) {
                0..=79 => sim.random_edit(i),
                80..=84 => sim.disconnect(i),
                85 => sim.evict(),
                86 => sim.crash(),
                _ => {}
            }
            sim.pump(i);
            let dt = sim.rng.below(50) as f64;
            sim.run_for(dt);
        }
        // Everyone comes back by their own timers.
        sim.run_for(30_000.0);
        sim.assert_converged();
    }
}

/// The beats a plugin plays on the session clock (120 BPM, the timeline's beat 0 at local 0),
/// as the frame positions where a beat starts, when the host calls it back block by block at
/// the local times `called` (one per block of `block` frames at 48 kHz). The plugin places each
/// block through core's `SampleClock`, as `plugin/src/lib.rs` does.
fn plugin_beats(called: &[f64], block: u64) -> Vec<f64> {
    use keyboardia_core::clock::SampleClock;
    let rate = 48_000.0;
    let mut clock = SampleClock::new(rate);
    let mut beats = Vec::new();
    for (k, t) in called.iter().enumerate() {
        let pos = k as u64 * block;
        clock.observe(pos, *t);
        let beat = clock.local_ms_at(pos).unwrap() / 500.0;
        let end = beat + block as f64 * 1000.0 / rate / 500.0;
        if beat.ceil() < end && beat >= 0.0 {
            // The frame (ms of audio) where the beat lands within the block.
            beats.push(pos as f64 * 1000.0 / rate + (beat.ceil() - beat) * 500.0);
        }
    }
    beats
}

#[test]
fn a_pause_in_the_hosts_callbacks_does_not_bend_the_beat() {
    // plugin_live's render loop: blocks of 512 frames called in real time, 0–3 ms late, for
    // 3 s; then the host stops calling for `gap` ms (the test joins a third client and presses
    // play meanwhile) and calls on in real time from there. The frame counter does not know
    // about the pause: every later block comes `gap` ms later than the frames say. The beats
    // after it must still come 500 ms apart (plugin_live allows ±2 ms): the local time of a
    // frame follows the new line at once, not a slope bent by a fit across the step.
    let block = 512u64;
    let per_block = block as f64 * 1000.0 / 48_000.0;
    for gap in [40.0, 150.0, 400.0, 1500.0] {
        let mut rng = Rng(7 + gap as u64);
        let mut called = Vec::new();
        for k in 0..281 {
            called.push(10_000.0 + k as f64 * per_block + 3.0 * rng.unit());
        }
        let restart = called[280] + per_block + gap;
        for k in 0..400 {
            called.push(restart + k as f64 * per_block + 3.0 * rng.unit());
        }
        let beats = plugin_beats(&called, block);
        // The beats of the 2.5 s after the pause, from the first one 250 ms in.
        let after: Vec<f64> = beats
            .iter()
            .copied()
            .filter(|b| *b > 281.0 * per_block + 250.0)
            .collect();
        let worst = after
            .windows(2)
            .map(|w| (w[1] - w[0] - 500.0).abs())
            .fold(0.0, f64::max);
        assert!(
            after.len() >= 5 && worst < 1.0,
            "gap {gap} ms: beats {after:?} (worst {worst} ms off 500)"
        );
        // A stall that the host catches up on (it calls the late blocks back to back until it
        // is on time again) is not a step: the beats keep their place.
        let mut called = Vec::new();
        let mut at: f64 = 0.0;
        for k in 0..681 {
            let due = 10_000.0 + k as f64 * per_block;
            at = if k == 281 {
                due + gap
            } else {
                due.max(at + 0.05)
            } + 3.0 * rng.unit();
            called.push(at);
        }
        let beats = plugin_beats(&called, block);
        let worst = beats
            .windows(2)
            .filter(|w| w[0] > 1_000.0)
            .map(|w| (w[1] - w[0] - 500.0).abs())
            .fold(0.0, f64::max);
        assert!(
            worst < 1.0,
            "stall of {gap} ms: beats {beats:?} (worst {worst} ms off 500)"
        );
    }
}

#[test]
fn a_silent_rooms_pings_go_together_once_locked() {
    // Four players whose clocks are off by minutes and run at different rates, through 50 ± 20
    // ms and 2 % loss, in a room that hibernates when idle: once locked, they ping on the room's
    // grid of server time, so an idle room wakes its server once per round (a pair of pings
    // each, every 48 s) for all of them.
    let mut sim = Sim::hosted(24, 4);
    for (i, (offset, drift)) in [
        (1.0e6, 100e-6),
        (-3.7e5, -100e-6),
        (42.0, 30e-6),
        (-9e4, 0.0),
    ]
    .into_iter()
    .enumerate()
    {
        sim.clients[i].offset_ms = offset;
        sim.clients[i].drift = drift;
    }
    sim.smooth_jitter = true;
    sim.latency_ms = 30.0;
    sim.jitter_ms = 40.0;
    sim.loss = 0.02;
    sim.wake = Some(Wake::WORKER);
    sim.online();
    sim.run_for(25.0 * 60_000.0);
    let (from, woken) = (sim.now, sim.wakes);
    sim.run_for(5.0 * 60_000.0);
    let wakes = sim.wakes - woken;
    let mut pings: Vec<f64> = sim
        .clients
        .iter()
        .flat_map(|c| c.log.pings.iter().copied())
        .filter(|t| *t >= from)
        .collect();
    pings.sort_by(f64::total_cmp);
    // Each round: the first pings of the four players, how far apart the players' clocks put
    // the grid, and the second pings a second later.
    let mut round = vec![pings[0]];
    let (mut spread, mut length): (f64, f64) = (0.0, 0.0);
    let mut n = 0;
    for t in pings[1..].iter().chain([&f64::INFINITY]) {
        if t - round[round.len() - 1] > 10_000.0 {
            n += 1;
            if round.len() == 8 {
                spread = spread.max(round[3] - round[0]);
                length = length.max(round[7] - round[0]);
            }
            round.clear();
        }
        round.push(*t);
    }
    eprintln!(
        "4 silent players, last 5 min: {} pings in {n} rounds, {wakes} wakes, first pings of a \
         round spread over {spread:.1} ms, a round over {length:.1} ms",
        pings.len()
    );
    assert!(pings.len() <= 4 * 14, "{} pings", pings.len());
    assert!(
        wakes <= 7 && wakes <= n,
        "{wakes} wakes in {n} rounds: {pings:?}"
    );
    assert!(
        spread > 0.0 && spread < 50.0,
        "first pings spread over {spread} ms"
    );
    assert!(length < 1_050.0, "a round spreads over {length} ms");
}

#[test]
fn a_cue_song_mode_and_fill_from_one_player_reach_every_players_timeline() {
    let mut sim = Sim::new(11, 2);
    sim.connect(0);
    sim.connect(1);
    sim.run_until_quiet();
    let b: PatternId = "B".parse().unwrap();
    sim.clients[0].client.set_playing(true);
    sim.flush_client(0);
    sim.run_until_quiet();
    sim.clients[1].client.cue_pattern(b);
    sim.clients[1].client.set_fill(true);
    sim.flush_client(1);
    sim.run_until_quiet();
    let seen: Vec<_> = (0..2)
        .map(|i| sim.clients[i].client.timeline().unwrap().playback)
        .collect();
    assert_eq!(seen[0], seen[1], "every player holds the same playback");
    let next = seen[0].next.expect("B is queued");
    assert_eq!(next.play, keyboardia_core::song::Play::Pattern(b));
    assert!(
        next.at_beat > 0.0 && next.at_beat % 4.0 == 0.0,
        "on a bar line: {next:?}"
    );
    assert!(seen[0].fill);
    sim.clients[0].client.set_song_mode(true);
    sim.flush_client(0);
    sim.run_until_quiet();
    let pb = sim.clients[1].client.timeline().unwrap().playback;
    assert!(
        matches!(
            pb.next.map(|c| c.play),
            Some(keyboardia_core::song::Play::Song)
        ),
        "{pb:?}"
    );
}

/// Each client's signed clock errors (estimate minus truth, ms), read every 250 ms from
/// `from_min` to `minutes` after now, once it has an estimate.
fn signed_errors(sim: &mut Sim, minutes: f64, from_min: f64) -> Vec<Vec<f64>> {
    let start = sim.now;
    let mut errors = vec![Vec::new(); sim.clients.len()];
    while sim.now < start + minutes * 60_000.0 {
        sim.run_for(250.0);
        if sim.now >= start + from_min * 60_000.0 {
            for (i, e) in errors.iter_mut().enumerate() {
                e.extend(clock_error(sim, i));
            }
        }
    }
    errors
}

/// The 50 ± 20 ms, 2 % loss path of `sync_bench`'s proxy.
const BAD: Path = Path {
    latency_ms: 30.0,
    jitter_ms: 40.0,
    loss: 0.02,
    back_ms: 0.0,
};

/// Runs of [`bad_path_runs`]: 20, or `SIM_CLOCK_RUNS` (the per-run constant varies so much
/// that telling two schedules apart takes a hundred runs or more).
fn runs() -> u64 {
    std::env::var("SIM_CLOCK_RUNS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(20)
}

/// The mean (ms) of the extra delay on the way back of [`BAD`] in [`bad_path_runs`]:
/// `SIM_BACK_MS`, else 0 (an exponential 1 ms makes the simulator's legs as hard for the
/// estimator as `sync_bench`'s real ones, docs/scale.md).
fn back_ms() -> f64 {
    std::env::var("SIM_BACK_MS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0)
}

/// [`runs`] runs of 25 minutes, two players each through [`BAD`] (clocks ±100 ppm) and
/// `loopback` more on a loopback path in the same room (as in `sync_bench`), errors of the
/// two from minute 20: (each one's mean signed error, the pooled absolute errors sorted, wakes
/// per minute in the last 5 minutes).
fn bad_path_runs(wake: Option<Wake>, loopback: usize, tune: impl Fn(&mut ClientConfig)) -> Runs {
    let mut r = Runs::default();
    for seed in (0..runs()).map(|k| 31 + 100 * k) {
        let mut sim = Sim::hosted(seed, 2 + loopback);
        sim.smooth_jitter = true;
        for (i, c) in sim.clients.iter_mut().enumerate() {
            let mut config = ClientConfig {
                name: format!("p{i}"),
                seed: seed ^ i as u64,
                server_clock_tick_ms: 0.0,
                ..ClientConfig::default()
            };
            tune(&mut config);
            c.client = Client::with_config(config, SessionState::default());
            c.offset_ms = [1.0e6, -3.7e5, 2.2e4, -9.1e5][i % 4];
            c.drift = [100e-6, -100e-6, 60e-6, -30e-6][i % 4];
            c.path = Some(if i < 2 {
                Path {
                    back_ms: back_ms(),
                    ..BAD
                }
            } else {
                Path {
                    latency_ms: 0.05,
                    jitter_ms: 0.2,
                    loss: 0.0,
                    back_ms: 0.0,
                }
            });
        }
        sim.wake = wake;
        sim.online();
        sim.run_for(20.0 * 60_000.0);
        let (before, from) = (sim.wakes, sim.now);
        let errors = signed_errors(&mut sim, 5.0, 0.0);
        r.wakes += (sim.wakes - before) as f64 / 5.0 / runs() as f64;
        let mut run = Vec::new();
        for (e, c) in errors[..2].iter().zip(&sim.clients) {
            r.means.push(e.iter().sum::<f64>() / e.len() as f64);
            run.extend(e.iter().map(|e| e.abs()));
            let pings = c.log.pings.iter().filter(|t| **t >= from).count();
            r.pings.push(pings as f64 / 5.0);
        }
        run.sort_by(f64::total_cmp);
        r.p99s.push(pct(&run, 0.99));
        r.pooled.extend(run);
    }
    r.pooled.sort_by(f64::total_cmp);
    r
}

/// What [`bad_path_runs`] measured.
#[derive(Default)]
struct Runs {
    /// Each player's mean signed error (ms).
    means: Vec<f64>,
    /// The absolute errors of every run, sorted.
    pooled: Vec<f64>,
    /// Each run's p99 of its two players' absolute errors, as `sync_bench` reports it.
    p99s: Vec<f64>,
    /// Wakes of the room per minute.
    wakes: f64,
    /// Each player's pings per minute in the last 5 minutes.
    pings: Vec<f64>,
}

/// The average and the root mean square of the players' mean signed errors (ms).
fn bias(runs: &Runs) -> (f64, f64) {
    let n = runs.means.len() as f64;
    let mean = runs.means.iter().sum::<f64>() / n;
    (
        mean,
        (runs.means.iter().map(|m| m * m).sum::<f64>() / n).sqrt(),
    )
}

#[test]
fn a_hibernating_server_does_not_bias_the_clock_and_pairs_wake_it_half_as_often() {
    // A Durable Object idle for 10 s hibernates, and the next ping waits milliseconds for it to
    // wake before it is stamped: that sample's upper bound is loose. With one ping every 24 s
    // every round wakes the room, so once locked the newest samples all have loose upper bounds
    // while the dense ones of the lock have tight ones. Hull edges read apart tilted with them
    // (the clock read +0.56 ms high on average over 200 runs); the widest strip between the
    // bounds rests on the samples that bound it tightly, wherever they are, and does not.
    // Pairs (the second ping a second after the first, which finds the room awake; a pair every
    // 48 s, the same 2.5 pings a minute) keep a tight sample in every round and wake the room
    // half as often.
    let show = |what: &str, runs: &Runs| {
        let (mean, rms) = bias(runs);
        let worst = runs.means.iter().fold(0f64, |w, m| w.max(m.abs()));
        let pooled = &runs.pooled;
        let met = runs.p99s.iter().filter(|p| **p <= 2.0).count();
        eprintln!(
            "{what}: minutes 20-25, pooled p50 {:.3} p99 {:.3} max {:.3} ms; each player's \
             mean signed error: average {mean:+.3}, rms {rms:.3}, largest {worst:.3} ms; runs \
             with p99 <= 2 ms: {met} of {}; wakes/min {:.2}; pings/min mean {:.2}, over 3 {} \
             of {}",
            pct(pooled, 0.5),
            pct(pooled, 0.99),
            pooled[pooled.len() - 1],
            runs.p99s.len(),
            runs.wakes,
            runs.pings.iter().sum::<f64>() / runs.pings.len() as f64,
            runs.pings.iter().filter(|p| **p > 3.0).count(),
            runs.pings.len(),
        );
    };
    let single = |c: &mut ClientConfig| c.ping_pair_from_ms = f64::INFINITY;
    let paired = |_: &mut ClientConfig| {};
    let mut results = Vec::new();
    for (what, tune) in [
        ("single pings", &single as &dyn Fn(&mut ClientConfig)),
        ("pairs", &paired),
    ] {
        let awake = bad_path_runs(None, 0, tune);
        show(&format!("{what}, always awake"), &awake);
        let hibernating = bad_path_runs(Some(Wake::WORKER), 0, tune);
        show(&format!("{what}, hibernating"), &hibernating);
        let mixed = bad_path_runs(Some(Wake::WORKER), 2, tune);
        show(&format!("{what}, hibernating, 2 more on loopback"), &mixed);
        results.push((awake, hibernating));
    }
    let [(awake, single), (_, pairs)] = &results[..] else {
        unreachable!()
    };
    // Every round of single pings wakes the room; pairs, one round in two minutes' worth.
    assert!(single.wakes > 2.0, "{} wakes/min", single.wakes);
    assert!(
        pairs.wakes < 0.6 * single.wakes,
        "{} wakes/min",
        pairs.wakes
    );
    // Neither single pings nor pairs read the clock off on average for the wakes...
    let (b_awake, b_single, b_pairs) = (bias(awake), bias(single), bias(pairs));
    for b in [b_single, b_pairs] {
        assert!((b.0 - b_awake.0).abs() < 0.3, "{b:?} against {b_awake:?}");
    }
    // ...and a tight sample in every round leaves each player's constant smaller.
    assert!(b_pairs.1 < b_single.1, "{b_pairs:?} against {b_single:?}");
}
