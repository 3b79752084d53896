//! A live room on loopback without wrangler: the real `core::Room` behind tokio-tungstenite, with a server clock
//! that can be skewed, stopped and restarted on the same port with its state kept.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use keyboardia_core::clock::Timeline;
use keyboardia_core::room::{ConnId, Room, RoomConfig, RoomEvent};
use keyboardia_core::{Session, SessionId, SessionState};
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;

pub use crate::players::unix_ms;

struct Shared {
    room: Room,
    outs: HashMap<ConnId, mpsc::UnboundedSender<Message>>,
    next_conn: ConnId,
}

/// One server run. Dropping it closes every socket and the listener.
pub struct RoomServer {
    pub addr: SocketAddr,
    shared: Arc<Mutex<Shared>>,
    rt: Option<tokio::runtime::Runtime>,
}

impl RoomServer {
    pub fn session() -> Session {
        Session::new(
            SessionId::from_random_bytes([6; 16]),
            0,
            SessionState::demo(),
        )
    }

    /// Starts on `addr` (port 0 for any) with `room`'s state.
    pub fn start(addr: SocketAddr, room: Room, skew_ms: f64) -> Self {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let listener = rt.block_on(async {
            for _ in 0..50 {
                match TcpListener::bind(addr).await {
                    Ok(l) => return l,
                    Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
                }
            }
            panic!("cannot bind {addr}");
        });
        let addr = listener.local_addr().unwrap();
        let shared = Arc::new(Mutex::new(Shared {
            room,
            outs: HashMap::new(),
            next_conn: 1,
        }));
        let s = shared.clone();
        rt.spawn(async move {
            while let Ok((tcp, _)) = listener.accept().await {
                let s = s.clone();
                tokio::spawn(async move {
                    let Ok(ws) = tokio_tungstenite::accept_async(tcp).await else {
                        return;
                    };
                    let (mut tx, mut rx) = ws.split();
                    let (out_tx, mut out_rx) = mpsc::unbounded_channel();
                    let conn = {
                        let mut g = s.lock().unwrap();
                        let c = g.next_conn;
                        g.next_conn += 1;
                        g.outs.insert(c, out_tx);
                        g.room.handle_connect(c, None, unix_ms() + skew_ms);
                        c
                    };
                    tokio::spawn(async move {
                        while let Some(m) = out_rx.recv().await {
                            let close = matches!(m, Message::Close(_));
                            if tx.send(m).await.is_err() || close {
                                break;
                            }
                        }
                    });
                    while let Some(Ok(msg)) = rx.next().await {
                        if let Message::Text(t) = msg {
                            let mut g = s.lock().unwrap();
                            g.room
                                .handle_message(conn, t.as_bytes(), unix_ms() + skew_ms);
                            dispatch(&mut g);
                        }
                    }
                    let mut g = s.lock().unwrap();
                    g.outs.remove(&conn);
                    g.room.handle_disconnect(conn, unix_ms() + skew_ms);
                    dispatch(&mut g);
                });
            }
        });
        Self {
            addr,
            shared,
            rt: Some(rt),
        }
    }

    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn state(&self) -> SessionState {
        self.shared.lock().unwrap().room.session().state.clone()
    }

    pub fn players(&self) -> usize {
        self.shared.lock().unwrap().room.players().count()
    }

    /// Stops the server (every socket drops) and returns what storage would hold.
    pub fn stop(mut self) -> Room {
        let rt = self.rt.take().unwrap();
        rt.shutdown_timeout(Duration::from_millis(100));
        let g = self.shared.lock().unwrap();
        let r = &g.room;
        Room::new(
            r.session().clone(),
            r.seq(),
            *r.timeline(),
            RoomConfig::default(),
        )
    }
}

impl Drop for RoomServer {
    fn drop(&mut self) {
        if let Some(rt) = self.rt.take() {
            rt.shutdown_timeout(Duration::from_millis(100));
        }
    }
}

fn dispatch(g: &mut Shared) {
    while let Some(ev) = g.room.poll_event() {
        match ev {
            RoomEvent::Transmit { to, text } => {
                if let Some(o) = g.outs.get(&to) {
                    let _ = o.send(Message::text(text.to_string()));
                }
            }
            RoomEvent::Close { conn, code, reason } => {
                if let Some(o) = g.outs.get(&conn) {
                    let frame = tokio_tungstenite::tungstenite::protocol::CloseFrame {
                        code: code.into(),
                        reason: reason.into(),
                    };
                    let _ = o.send(Message::Close(Some(frame)));
                }
            }
            RoomEvent::Persist { .. } | RoomEvent::PersistTimeline | RoomEvent::Joined { .. } => {}
        }
    }
}

pub fn new_room(session: Session) -> Room {
    let tl = Timeline::new(session.state.tempo, unix_ms());
    Room::new(session, 0, tl, RoomConfig::default())
}
