//! The web original (adewale/keyboardia, TypeScript) under `wrangler dev`, for the side-by-side
//! benchmark `tests/examples/live_vs_original.rs` only (no test uses it; CI never fetches it).
//!
//! [`OriginalServer::start`] runs `scripts/original-server.sh` (which exports the original's
//! `app/` at a pinned commit into `target/original/` and installs its npm dependencies once), on a
//! free loopback port with a fresh persist directory, in its own process group. Its code runs
//! unchanged: we only speak its protocol, through [`OriginalClient`] (its `toggle_step` /
//! `step_toggled` messages, `app/src/worker/live-session.ts`) and its REST API
//! (`POST /api/sessions`, `GET /api/sessions/{id}`).
//!
//! [`group_cpu`], [`group_of_port`] and [`direct_url`] read `/proc` to account a server's CPU
//! time and to find the workerd port behind `wrangler dev`'s proxy; they serve our own
//! [`crate::server::Server`] as well.

use std::io::{BufRead, BufReader};
use std::net::TcpStream;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use serde::Deserialize;
use tungstenite::client::IntoClientRequest;
use tungstenite::{Message, WebSocket};

use crate::procs::free_port;
use crate::server::{repo_root, stop_group, Http};

/// How long the original's `wrangler dev` may take to answer after start (it bundles its
/// TypeScript with esbuild first).
const READY_TIMEOUT: Duration = Duration::from_secs(180);

/// The original's per-minute session-create limit, raised so the benchmark's sessions never
/// meet it (its `SESSION_CREATE_RATE_LIMIT_PER_MINUTE` var, `app/src/worker/rate-limit.ts`).
const CREATE_LIMIT_VAR: &str = "SESSION_CREATE_RATE_LIMIT_PER_MINUTE:1000000";

/// Why talking to the original failed.
#[derive(Debug, thiserror::Error)]
pub enum OriginalError {
    #[error("socket: {0}")]
    Io(#[from] std::io::Error),
    #[error("WebSocket: {0}")]
    WebSocket(#[from] tungstenite::Error),
    #[error("undecodable message ({error}): {text}")]
    Undecodable {
        error: serde_json::Error,
        text: String,
    },
    #[error("the server closed the socket")]
    Closed,
    #[error("no message within the read timeout")]
    Timeout,
    #[error("the server refused: {0}")]
    Refused(String),
}

/// The original's Worker under `wrangler dev`.
pub struct OriginalServer {
    /// `wrangler dev` (the leader of its own process group), while running.
    child: Option<Child>,
    /// The loopback port wrangler's proxy serves on; kept across restarts.
    port: u16,
    /// Its inspector port (the default one would clash with other servers').
    inspector_port: u16,
    /// Its persist directory (KV, R2, Durable Object SQLite); removed on drop.
    persist: PathBuf,
    /// Where wrangler's output goes (kept with `KEYBOARDIA_KEEP_LOGS`).
    log: PathBuf,
}

impl OriginalServer {
    /// Installs the original if needed (output on stderr) and starts it with its state under
    /// `state_root` (default: the system temp dir).
    pub fn start(state_root: Option<PathBuf>) -> OriginalServer {
        let status = Command::new("bash")
            .arg(repo_root().join("scripts/original-server.sh"))
            .arg("install")
            .status()
            .expect("run scripts/original-server.sh install");
        assert!(status.success(), "installing the original failed");
        static COUNTER: AtomicU32 = AtomicU32::new(0);
        let name = format!(
            "keyboardia-original-{}-{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        );
        let persist = state_root.unwrap_or_else(std::env::temp_dir).join(&name);
        let _ = std::fs::remove_dir_all(&persist);
        std::fs::create_dir_all(&persist).expect("create the persist dir");
        let mut server = OriginalServer {
            child: None,
            port: free_port(),
            inspector_port: free_port(),
            persist,
            log: std::env::temp_dir().join(format!("{name}.log")),
        };
        server.spawn();
        server
    }

    fn spawn(&mut self) {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .expect("open the server log");
        let mut cmd = Command::new("bash");
        cmd.arg(repo_root().join("scripts/original-server.sh"))
            .arg("dev")
            .args(["--ip", "127.0.0.1", "--port", &self.port.to_string()])
            .args(["--inspector-port", &self.inspector_port.to_string()])
            .arg("--persist-to")
            .arg(&self.persist)
            .args(["--var", CREATE_LIMIT_VAR])
            .args(["--log-level", "warn"])
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log handle"))
            .stderr(log)
            .process_group(0);
        // SAFETY: prctl is async-signal-safe; if this process dies without dropping the
        // server, the kernel sends SIGTERM to wrangler.
        unsafe {
            cmd.pre_exec(|| {
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM);
                Ok(())
            });
        }
        self.child = Some(cmd.spawn().expect("start the original's wrangler dev"));
        self.wait_ready();
    }

    fn wait_ready(&mut self) {
        let deadline = Instant::now() + READY_TIMEOUT;
        let url = format!("{}/api/health", self.base_url());
        let agent = ureq::AgentBuilder::new()
            .timeout(Duration::from_secs(2))
            .build();
        loop {
            if let Ok(r) = agent.get(&url).call() {
                if r.status() == 200 {
                    return;
                }
            }
            if let Some(Ok(Some(status))) = self.child.as_mut().map(|c| c.try_wait()) {
                panic!(
                    "the original's wrangler dev exited with {status}:\n{}",
                    self.log_tail()
                );
            }
            assert!(
                Instant::now() < deadline,
                "the original not ready after {READY_TIMEOUT:?}:\n{}",
                self.log_tail()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// `http://127.0.0.1:{port}` (through wrangler's proxy).
    pub fn base_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The ports of wrangler's proxy and inspector (not the Worker's own).
    pub fn own_ports(&self) -> [u16; 2] {
        [self.port, self.inspector_port]
    }

    /// The process group of wrangler, node and workerd, while running.
    pub fn pgid(&self) -> Option<i32> {
        self.child.as_ref().map(|c| c.id() as i32)
    }

    /// The last lines of the server's log.
    pub fn log_tail(&self) -> String {
        let Ok(f) = std::fs::File::open(&self.log) else {
            return String::new();
        };
        let lines: Vec<String> = BufReader::new(f).lines().map_while(Result::ok).collect();
        lines[lines.len().saturating_sub(40)..].join("\n")
    }

    /// SIGKILL to the whole process group (nothing flushes), then waits until it is gone.
    pub fn kill(&mut self) {
        self.signal_and_reap(libc::SIGKILL);
    }

    /// Starts a killed server again on the same port and persisted state.
    pub fn start_again(&mut self) {
        if self.child.is_none() {
            self.spawn();
        }
    }

    fn signal_and_reap(&mut self, signal: i32) {
        if let Some(child) = self.child.take() {
            stop_group(child, signal);
        }
    }
}

impl Drop for OriginalServer {
    fn drop(&mut self) {
        self.signal_and_reap(libc::SIGTERM);
        let _ = std::fs::remove_dir_all(&self.persist);
        if !std::thread::panicking() && std::env::var_os("KEYBOARDIA_KEEP_LOGS").is_none() {
            let _ = std::fs::remove_file(&self.log);
        } else {
            eprintln!(
                "the original's wrangler dev log kept at {}",
                self.log.display()
            );
        }
    }
}

/// One track of the original's session model (`SessionTrack`, `app/src/shared/state.ts`):
/// 128-slot step and lock arrays (its invariant), 16 steps played.
fn original_track(id: &str) -> serde_json::Value {
    serde_json::json!({
        "id": id,
        "name": id,
        "sampleId": "kick",
        "steps": vec![false; 128],
        "parameterLocks": vec![serde_json::Value::Null; 128],
        "volume": 1,
        "muted": false,
        "transpose": 0,
        "stepCount": 16,
    })
}

/// `POST /api/sessions` with tracks `track_ids` (all steps off); returns the session's id.
pub fn create_session(http: &Http, track_ids: &[String]) -> Result<String, OriginalError> {
    let tracks: Vec<_> = track_ids.iter().map(|t| original_track(t)).collect();
    let body = serde_json::json!({ "tracks": tracks, "tempo": 120, "swing": 0 }).to_string();
    let r = http.request(
        "POST",
        "/api/sessions",
        &[("content-type", "application/json")],
        Some(body.as_bytes()),
    );
    if r.status != 201 {
        return Err(OriginalError::Refused(format!(
            "{}: {}",
            r.status,
            r.text()
        )));
    }
    r.json()["id"]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| OriginalError::Refused(r.text()))
}

/// `GET /api/sessions/{id}`: each track's id and its first `steps` steps (what the Durable
/// Object holds, loaded from its storage after a restart).
pub fn session_steps(
    http: &Http,
    id: &str,
    steps: usize,
) -> Result<Vec<(String, Vec<bool>)>, OriginalError> {
    let r = http.request("GET", &format!("/api/sessions/{id}"), &[], None);
    if r.status != 200 {
        return Err(OriginalError::Refused(format!(
            "{}: {}",
            r.status,
            r.text()
        )));
    }
    let v = r.json();
    let tracks = v["state"]["tracks"]
        .as_array()
        .ok_or_else(|| OriginalError::Refused(format!("no tracks in {}", r.text())))?;
    Ok(tracks
        .iter()
        .map(|t| {
            let id = t["id"].as_str().unwrap_or_default().to_owned();
            let on = (0..steps)
                .map(|s| t["steps"][s].as_bool().unwrap_or(false))
                .collect();
            (id, on)
        })
        .collect())
}

/// A message from the original's live session, as far as the benchmark reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OriginalEvent {
    /// `step_toggled`: a toggle applied, persisted and broadcast to everyone (sender included).
    StepToggled {
        /// The sender's `playerId`.
        player_id: String,
        /// The sender's own `seq` for it, echoed as `clientSeq`.
        client_seq: Option<u64>,
        /// The room's sequence number.
        seq: Option<u64>,
        /// The step's value after the toggle.
        value: bool,
    },
    /// Any other message, by its `type`.
    Other(String),
}

/// The fields of a server message the benchmark reads (serde skips the rest).
#[derive(Deserialize)]
struct Incoming {
    /// The message type (`snapshot`, `step_toggled`, `player_joined`, `error`, …).
    #[serde(rename = "type")]
    kind: String,
    /// `step_toggled`: the sender.
    #[serde(rename = "playerId", default)]
    player_id: Option<String>,
    /// `step_toggled`: the sender's `seq`.
    #[serde(rename = "clientSeq", default)]
    client_seq: Option<u64>,
    /// State-mutating broadcasts: the room's sequence number.
    #[serde(default)]
    seq: Option<u64>,
    /// `step_toggled`: the new value.
    #[serde(default)]
    value: Option<bool>,
    /// `error`: why.
    #[serde(default)]
    message: Option<String>,
}

/// One player of the original's live session over a real WebSocket (blocking, `TCP_NODELAY`,
/// as our [`crate::server::LiveClient`]).
pub struct OriginalClient {
    /// The socket.
    ws: WebSocket<TcpStream>,
}

impl OriginalClient {
    /// Opens `/api/sessions/{id}/ws?playerId=…` and waits for the join snapshot.
    pub fn join(base_url: &str, id: &str, player_id: &str) -> Result<Self, OriginalError> {
        let url = format!(
            "{}/api/sessions/{id}/ws?playerId={player_id}",
            base_url.replacen("http://", "ws://", 1)
        );
        let stream = TcpStream::connect(base_url.trim_start_matches("http://"))?;
        stream.set_nodelay(true)?;
        stream.set_read_timeout(Some(Duration::from_secs(20)))?;
        let request = url.into_client_request()?;
        let (ws, _) = tungstenite::client(request, stream).map_err(|e| match e {
            tungstenite::HandshakeError::Failure(e) => OriginalError::WebSocket(e),
            tungstenite::HandshakeError::Interrupted(_) => {
                OriginalError::Io(std::io::Error::other("handshake interrupted"))
            }
        })?;
        let mut c = OriginalClient { ws };
        loop {
            if let OriginalEvent::Other(kind) = c.recv()? {
                if kind == "snapshot" {
                    return Ok(c);
                }
            }
        }
    }

    /// Writes `toggle_step` for each `(track id, step, seq)`, then flushes once.
    pub fn send_toggles(&mut self, toggles: &[(&str, u32, u64)]) -> Result<(), OriginalError> {
        for (track, step, seq) in toggles {
            let text = serde_json::json!({
                "type": "toggle_step",
                "trackId": track,
                "step": step,
                "seq": seq,
            })
            .to_string();
            self.ws.write(Message::text(text))?;
        }
        self.ws.flush()?;
        Ok(())
    }

    /// The next message.
    pub fn recv(&mut self) -> Result<OriginalEvent, OriginalError> {
        loop {
            let text = match self.ws.read() {
                Ok(Message::Text(t)) => t,
                Ok(Message::Close(_))
                | Err(tungstenite::Error::ConnectionClosed | tungstenite::Error::AlreadyClosed) => {
                    return Err(OriginalError::Closed)
                }
                Ok(_) => continue,
                Err(tungstenite::Error::Io(e))
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                    ) =>
                {
                    return Err(OriginalError::Timeout)
                }
                Err(e) => return Err(e.into()),
            };
            let m: Incoming =
                serde_json::from_str(&text).map_err(|error| OriginalError::Undecodable {
                    error,
                    text: text.as_str().chars().take(200).collect(),
                })?;
            return Ok(match m.kind.as_str() {
                "step_toggled" => OriginalEvent::StepToggled {
                    player_id: m.player_id.unwrap_or_default(),
                    client_seq: m.client_seq,
                    seq: m.seq,
                    value: m.value.unwrap_or(false),
                },
                "error" => return Err(OriginalError::Refused(m.message.unwrap_or_default())),
                _ => OriginalEvent::Other(m.kind),
            });
        }
    }

    /// Closes the socket (best effort).
    pub fn close(mut self) {
        let _ = self.ws.close(None);
        let _ = self.ws.flush();
    }
}
