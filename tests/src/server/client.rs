//! Clients of the real Worker: REST ([`Http`]) and a live-session player ([`LiveClient`]).
//!
//! Paths and header names are core's [`keyboardia_core::api`], the Worker's own; its path
//! builders take `&str` ids so that tests can send malformed ones. Replies stay raw JSON here,
//! so the tests pin the wire format independently of core's types.

use std::io::Read;
use std::net::TcpStream;
use std::time::{Duration, Instant};

use keyboardia_core::api::{self, Method, CLIENT_ADDRESS_HEADER, SAMPLE_NAME_PARAM, SESSIONS_PATH};
use keyboardia_core::protocol::{
    decode_server, ClientMessage, OpId, ServerMessage, Snapshot, ACK_EVERY_BYTES,
};
use keyboardia_core::schema::session_from_json;
use keyboardia_core::{Op, Session, SessionId};
use tungstenite::client::IntoClientRequest;
use tungstenite::protocol::frame::coding::CloseCode;
use tungstenite::{Message, WebSocket};

/// A REST reply, whatever its status.
#[derive(Debug)]
pub struct HttpReply {
    pub status: u16,
    pub body: Vec<u8>,
    pub headers: Vec<(String, String)>,
}

impl HttpReply {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("reply is not JSON ({e}): {}", self.text()))
    }

    /// The session in a 200/201 reply, parsed and validated by core.
    pub fn session(&self) -> Session {
        assert!(
            self.status == 200 || self.status == 201,
            "expected a session, got {}: {}",
            self.status,
            self.text()
        );
        session_from_json(&self.body).expect("a valid session")
    }

    /// The `code` of an error reply.
    pub fn code(&self) -> String {
        self.json()["code"].as_str().unwrap_or_default().to_owned()
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// A REST client with its own client address.
pub struct Http {
    base: String,
    address: String,
    agent: ureq::Agent,
}

impl Http {
    pub fn new(base: String, address: &str) -> Self {
        Self {
            base,
            address: address.to_owned(),
            agent: ureq::AgentBuilder::new()
                .timeout(Duration::from_secs(30))
                .build(),
        }
    }

    pub fn base(&self) -> &str {
        &self.base
    }

    /// Any request: `path` starts with `/`.
    pub fn request(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<&[u8]>,
    ) -> HttpReply {
        let mut req = self
            .agent
            .request(method, &format!("{}{path}", self.base))
            .set(CLIENT_ADDRESS_HEADER, &self.address);
        for (k, v) in headers {
            req = req.set(k, v);
        }
        let result = match body {
            Some(b) => req.send_bytes(b),
            None => req.call(),
        };
        let resp = match result {
            Ok(r) => r,
            Err(ureq::Error::Status(_, r)) => r,
            Err(e) => panic!("{method} {path}: {e}"),
        };
        let status = resp.status();
        let headers = resp
            .headers_names()
            .into_iter()
            .filter_map(|n| resp.header(&n).map(|v| (n.clone(), v.to_owned())))
            .collect();
        let mut body = Vec::new();
        resp.into_reader()
            .take(64 << 20)
            .read_to_end(&mut body)
            .expect("read the reply body");
        HttpReply {
            status,
            body,
            headers,
        }
    }

    /// `POST /api/sessions` with an optional JSON body.
    pub fn create(&self, body: Option<&str>) -> HttpReply {
        self.request(
            Method::Post.as_str(),
            SESSIONS_PATH,
            &[],
            body.map(str::as_bytes),
        )
    }

    /// Creates an empty session and returns it.
    pub fn create_session(&self) -> Session {
        self.create(None).session()
    }

    pub fn get(&self, id: &str) -> HttpReply {
        self.request(Method::Get.as_str(), &api::session_path(id), &[], None)
    }

    pub fn put(&self, id: &str, body: &[u8]) -> HttpReply {
        self.request(
            Method::Put.as_str(),
            &api::session_path(id),
            &[],
            Some(body),
        )
    }

    pub fn fork(&self, id: &str) -> HttpReply {
        self.request(Method::Post.as_str(), &api::fork_path(id), &[], None)
    }

    pub fn upload(&self, id: &str, content_type: &str, name: &str, bytes: &[u8]) -> HttpReply {
        self.request(
            Method::Post.as_str(),
            &format!("{}?{SAMPLE_NAME_PARAM}={name}", api::samples_path(id)),
            &[("content-type", content_type)],
            Some(bytes),
        )
    }

    /// Polls `GET` until `pred` holds for the session, or panics after `timeout`.
    pub fn wait_for_session(
        &self,
        id: SessionId,
        timeout: Duration,
        mut pred: impl FnMut(&Session) -> bool,
    ) -> Session {
        let deadline = Instant::now() + timeout;
        loop {
            let s = self.get(&id.to_string()).session();
            if pred(&s) {
                return s;
            }
            assert!(
                Instant::now() < deadline,
                "session never reached the expected state; last: {s:?}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

/// One player on a live session, over a real WebSocket.
pub struct LiveClient {
    ws: WebSocket<TcpStream>,
    /// The snapshot received on join.
    pub snapshot: Option<Box<Snapshot>>,
    /// Bytes of the last text frame received (for message-size measurements).
    pub last_frame_len: usize,
    /// Bytes of the join snapshot frame.
    pub snapshot_frame_len: usize,
    next_op: OpId,
    /// Bytes of text frames read (flow control, as core's client does it).
    received_bytes: u64,
    /// `received_bytes` as last acknowledged to the room.
    acked_bytes: u64,
}

/// A distinct client address for each client that does not name one, so that tests with
/// several players from this one machine get the per-address limits of several machines.
fn fresh_address() -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static NEXT: AtomicU32 = AtomicU32::new(1);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    format!("10.200.{}.{}", (n >> 8) & 0xFF, n & 0xFF)
}

impl LiveClient {
    /// Opens the socket without saying hello (from an address of its own).
    pub fn open(base_url: &str, id: &str, query: &str) -> Result<LiveClient, tungstenite::Error> {
        Self::open_from(base_url, id, query, &fresh_address())
    }

    /// Opens the socket without saying hello, from the client address `address` (as
    /// Cloudflare reports it, [`CLIENT_ADDRESS_HEADER`]).
    pub fn open_from(
        base_url: &str,
        id: &str,
        query: &str,
        address: &str,
    ) -> Result<LiveClient, tungstenite::Error> {
        let url = format!(
            "{}{}{query}",
            base_url.replacen("http://", "ws://", 1),
            api::socket_path(id)
        );
        let host = base_url.trim_start_matches("http://");
        let stream = TcpStream::connect(host).map_err(tungstenite::Error::Io)?;
        stream.set_nodelay(true).map_err(tungstenite::Error::Io)?;
        let mut request = url.into_client_request()?;
        request.headers_mut().insert(
            CLIENT_ADDRESS_HEADER,
            address
                .parse()
                .map_err(|_| tungstenite::Error::Io(std::io::Error::other("bad address")))?,
        );
        let (ws, _) = tungstenite::client(request, stream).map_err(|e| match e {
            tungstenite::HandshakeError::Failure(e) => e,
            tungstenite::HandshakeError::Interrupted(_) => {
                tungstenite::Error::Io(std::io::Error::other("handshake interrupted"))
            }
        })?;
        let c = LiveClient {
            ws,
            snapshot: None,
            last_frame_len: 0,
            snapshot_frame_len: 0,
            next_op: 1,
            received_bytes: 0,
            acked_bytes: 0,
        };
        c.set_timeout(Some(Duration::from_secs(20)));
        Ok(c)
    }

    /// Opens the socket, says hello and waits for the snapshot.
    pub fn join(base_url: &str, id: SessionId, name: &str) -> LiveClient {
        Self::join_with(base_url, id, name, "")
    }

    /// As [`LiveClient::join`], with a query string (`?key=…`).
    pub fn join_with(base_url: &str, id: SessionId, name: &str, query: &str) -> LiveClient {
        Self::join_from(base_url, id, name, query, &fresh_address())
    }

    /// As [`LiveClient::join_with`], from the client address `address`.
    pub fn join_from(
        base_url: &str,
        id: SessionId,
        name: &str,
        query: &str,
        address: &str,
    ) -> LiveClient {
        let mut c =
            Self::open_from(base_url, &id.to_string(), query, address).expect("open the WebSocket");
        c.send(&ClientMessage::Hello {
            proto: keyboardia_core::protocol::PROTOCOL_VERSION,
            name: name.into(),
        });
        let snap = c.recv_until(|m| matches!(m, ServerMessage::Snapshot(_)));
        let ServerMessage::Snapshot(s) = snap else {
            unreachable!()
        };
        c.snapshot = Some(s);
        c.snapshot_frame_len = c.last_frame_len;
        c
    }

    pub fn set_timeout(&self, t: Option<Duration>) {
        let _ = self.ws.get_ref().set_read_timeout(t);
    }

    /// This player's id (from the join snapshot).
    pub fn you(&self) -> u32 {
        self.snapshot.as_ref().map_or(0, |s| s.you)
    }

    pub fn send(&mut self, msg: &ClientMessage) {
        self.send_text(&msg.encode());
    }

    pub fn send_text(&mut self, text: &str) {
        self.ws
            .send(Message::text(text))
            .expect("send on the WebSocket");
    }

    /// Sends many messages with one flush (as fast as the socket takes them).
    pub fn send_batch(&mut self, msgs: &[ClientMessage]) {
        for m in msgs {
            self.ws
                .write(Message::text(m.encode()))
                .expect("write on the WebSocket");
        }
        self.ws.flush().expect("flush the WebSocket");
    }

    pub fn send_binary(&mut self, bytes: Vec<u8>) {
        self.ws
            .send(Message::binary(bytes))
            .expect("send on the WebSocket");
    }

    /// Sends an edit with the next op id; an error if the connection is gone.
    pub fn try_edit(&mut self, op: Op) -> Result<OpId, tungstenite::Error> {
        let id = self.next_op;
        self.next_op += 1;
        self.ws.send(Message::text(
            ClientMessage::Edit { op: id, edit: op }.encode(),
        ))?;
        Ok(id)
    }

    /// Sends an edit with the next op id and returns that id.
    pub fn edit(&mut self, op: Op) -> OpId {
        let id = self.next_op;
        self.next_op += 1;
        self.send(&ClientMessage::Edit { op: id, edit: op });
        id
    }

    /// The next server message, or `None` when the socket was closed.
    pub fn try_recv(&mut self) -> Result<ServerMessage, RecvError> {
        loop {
            match self.ws.read() {
                Ok(Message::Text(t)) => {
                    self.last_frame_len = t.len();
                    self.count_received(t.len());
                    return decode_server(t.as_bytes())
                        .map_err(|e| RecvError::Undecodable(format!("{e}: {t}")));
                }
                Ok(Message::Close(frame)) => {
                    return Err(RecvError::Closed(
                        frame.map(|f| (f.code, f.reason.to_string())),
                    ));
                }
                Ok(Message::Binary(b)) => {
                    return Err(RecvError::Undecodable(format!("binary frame {b:?}")));
                }
                Ok(_) => continue,
                Err(tungstenite::Error::ConnectionClosed | tungstenite::Error::AlreadyClosed) => {
                    return Err(RecvError::Closed(None));
                }
                Err(tungstenite::Error::Io(e))
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                    ) =>
                {
                    return Err(RecvError::Timeout);
                }
                Err(e) => return Err(RecvError::Other(e.to_string())),
            }
        }
    }

    /// Flow control as core's client does it: acknowledges what was read every
    /// [`ACK_EVERY_BYTES`], or the room closes this client as one that does not read.
    fn count_received(&mut self, len: usize) {
        self.received_bytes += len as u64;
        if self.received_bytes - self.acked_bytes >= ACK_EVERY_BYTES {
            self.acked_bytes = self.received_bytes;
            let ack = ClientMessage::Ack {
                b: self.received_bytes,
            };
            let _ = self.ws.send(Message::text(ack.encode()));
        }
    }

    /// After the close handshake: reads (and drops) raw bytes until the server ends the TCP
    /// connection. `true` if it did within `timeout`.
    pub fn wait_for_eof(&mut self, timeout: Duration) -> bool {
        use std::io::Read;
        let deadline = Instant::now() + timeout;
        let _ = self.ws.flush(); // the close reply tungstenite queued
        let mut buf = [0u8; 4096];
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return false;
            }
            let stream = self.ws.get_mut();
            let _ = stream.set_read_timeout(Some(left));
            match stream.read(&mut buf) {
                Ok(0) => return true,
                Ok(_) => continue,
                Err(e)
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                    ) =>
                {
                    continue
                }
                Err(_) => return true,
            }
        }
    }

    /// The next raw text frame, or why none was read (for the `ping`/`pong` keep-alive, which
    /// is not JSON).
    pub fn try_recv_text(&mut self) -> Result<String, RecvError> {
        loop {
            match self.ws.read() {
                Ok(Message::Text(t)) => return Ok(t.as_str().to_owned()),
                Ok(Message::Close(frame)) => {
                    return Err(RecvError::Closed(
                        frame.map(|f| (f.code, f.reason.to_string())),
                    ));
                }
                Ok(_) => continue,
                Err(tungstenite::Error::Io(e))
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                    ) =>
                {
                    return Err(RecvError::Timeout);
                }
                Err(e) => return Err(RecvError::Other(e.to_string())),
            }
        }
    }

    /// The next raw text frame (for the `ping`/`pong` keep-alive, which is not JSON).
    pub fn recv_text(&mut self) -> String {
        loop {
            match self.ws.read().expect("read a frame") {
                Message::Text(t) => return t.as_str().to_owned(),
                Message::Close(f) => panic!("closed: {f:?}"),
                _ => continue,
            }
        }
    }

    /// The next server message; panics on close or timeout.
    pub fn recv(&mut self) -> ServerMessage {
        self.try_recv()
            .unwrap_or_else(|e| panic!("expected a message: {e:?}"))
    }

    /// Reads until a message matches `pred` and returns it (skipping others).
    pub fn recv_until(&mut self, mut pred: impl FnMut(&ServerMessage) -> bool) -> ServerMessage {
        loop {
            let m = self.recv();
            if pred(&m) {
                return m;
            }
        }
    }

    /// Closes the socket politely.
    pub fn close(mut self) {
        let _ = self.ws.close(None);
        let deadline = Instant::now() + Duration::from_secs(5);
        self.set_timeout(Some(Duration::from_millis(200)));
        while Instant::now() < deadline {
            match self.ws.read() {
                Ok(_) => continue,
                Err(tungstenite::Error::Io(e))
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                    ) =>
                {
                    continue
                }
                Err(_) => break,
            }
        }
    }
}

/// Why no message was read.
#[derive(Debug)]
pub enum RecvError {
    /// The server closed the socket, with its code and reason.
    Closed(Option<(CloseCode, String)>),
    Timeout,
    Undecodable(String),
    Other(String),
}
