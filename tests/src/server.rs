//! The real Worker under `wrangler dev`, for tests and the benchmark.
//!
//! [`Server::start`] builds the Worker (once per test binary, and only when its sources are newer
//! than the build), starts `wrangler dev` on a free loopback port with a fresh persist directory,
//! and waits until it answers. [`Server::restart`] stops it and starts it again on the same state.
//! Dropping the server kills its whole process group (wrangler, node, workerd) and removes the
//! state, so nothing is left running, even when a test panics.
//!
//! [`Http`] and [`LiveClient`] are the clients: REST through `ureq`, live sessions through a
//! blocking `tungstenite` WebSocket, both speaking core's types.

mod client;

pub use client::{Http, HttpReply, LiveClient, RecvError};

use std::io::{BufRead, BufReader};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant, SystemTime};

use crate::procs::{self, free_port};

/// How long `wrangler dev` may take to answer after start.
const READY_TIMEOUT: Duration = Duration::from_secs(90);

/// The repository root.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ has a parent")
        .to_path_buf()
}

/// Settings of one server.
#[derive(Clone, Debug)]
pub struct Options {
    /// `[vars]` overrides, e.g. `("RATE_CREATE_PER_MIN", "3")`.
    pub vars: Vec<(String, String)>,
    /// Where the persist directory is made (default: the system temp dir).
    pub state_root: Option<PathBuf>,
}

impl Default for Options {
    fn default() -> Self {
        // Generous limits, so tests that are not about rate limits never meet them.
        Self {
            vars: vec![
                ("RATE_CREATE_PER_MIN".into(), "100000".into()),
                ("RATE_FORK_PER_MIN".into(), "100000".into()),
                ("RATE_UPLOAD_PER_MIN".into(), "100000".into()),
                ("RATE_SAVE_PER_MIN".into(), "100000".into()),
                ("RATE_PUBLISH_PER_MIN".into(), "100000".into()),
                ("ROOM_MSGS_PER_SEC".into(), "100000".into()),
                ("ROOM_BURST".into(), "100000".into()),
                // Enables POST /api/sessions/{id}/test/evict (see core's api::Route::TestEvict).
                ("TEST_HOOKS".into(), "1".into()),
            ],
            state_root: None,
        }
    }
}

impl Options {
    /// The limits as deployed (`wrangler.toml`'s), for tests of the limits themselves; the
    /// test hooks stay on.
    pub fn production_limits() -> Self {
        Self {
            vars: vec![("TEST_HOOKS".into(), "1".into())],
            state_root: None,
        }
    }
}

/// A running `wrangler dev`.
pub struct Server {
    /// `wrangler dev` (the leader of its own process group), while running.
    child: Option<Child>,
    /// The loopback port it serves on; kept across restarts.
    port: u16,
    /// Its inspector port (the default one would clash between servers).
    inspector_port: u16,
    /// It has served once (so a restart keeps its port).
    served: bool,
    /// This server's directory: the build copy, its `wrangler.toml` and `state/`.
    persist: PathBuf,
    /// Where wrangler's output goes (kept when a test panics).
    log: PathBuf,
    options: Options,
    /// The static assets served (`[assets] directory`); `None`: `web/dist` when the web app is
    /// built, else an empty directory.
    assets: Option<PathBuf>,
    /// Apply the D1 migrations (`worker/migrations/`, the accounts) before the first start.
    migrate: bool,
}

/// How a start ended, short of a panic.
enum Ready {
    Serving,
    /// Wrangler exited because its port or inspector port was taken.
    PortTaken,
}

fn newest_mtime(dir: &Path) -> SystemTime {
    let mut newest = SystemTime::UNIX_EPOCH;
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            let p = e.path();
            let t = if p.is_dir() {
                newest_mtime(&p)
            } else {
                e.metadata()
                    .and_then(|m| m.modified())
                    .unwrap_or(SystemTime::UNIX_EPOCH)
            };
            newest = newest.max(t);
        }
    }
    newest
}

/// `KEYBOARDIA_WORKER_BUILD`: a Worker built elsewhere (`worker/build` of another checkout) to
/// run instead of this one's, e.g. to measure a fault on an older version with today's tests.
fn prebuilt() -> Option<PathBuf> {
    std::env::var_os("KEYBOARDIA_WORKER_BUILD").map(PathBuf::from)
}

/// Builds the Worker unless `worker/build` is newer than every source it is made of.
fn ensure_built() {
    static BUILT: OnceLock<()> = OnceLock::new();
    BUILT.get_or_init(|| {
        if prebuilt().is_some() {
            return;
        }
        let root = repo_root();
        let wasm = root.join("worker/build/index_bg.wasm");
        let built = std::fs::metadata(&wasm).and_then(|m| m.modified()).ok();
        let sources = [
            newest_mtime(&root.join("worker/src")),
            newest_mtime(&root.join("core/src")),
            std::fs::metadata(root.join("worker/Cargo.toml"))
                .and_then(|m| m.modified())
                .unwrap_or(SystemTime::UNIX_EPOCH),
            std::fs::metadata(root.join("Cargo.lock"))
                .and_then(|m| m.modified())
                .unwrap_or(SystemTime::UNIX_EPOCH),
        ];
        let newest = sources.into_iter().max().unwrap_or(SystemTime::UNIX_EPOCH);
        if built.is_some_and(|b| b >= newest) {
            return;
        }
        let status = Command::new("bash")
            .arg(root.join("scripts/build-worker.sh"))
            .current_dir(&root)
            .status()
            .expect("run scripts/build-worker.sh");
        assert!(status.success(), "building the Worker failed");
    });
}

impl Server {
    /// Builds if needed and starts a server with default options.
    pub fn start() -> Server {
        Self::start_with(Options::default())
    }

    pub fn start_with(options: Options) -> Server {
        Self::start_serving(options, None)
    }

    /// Starts a server whose D1 database (the accounts) is migrated first, as
    /// `scripts/server.sh` does (`wrangler d1 migrations apply DB --local`). Tests of sign-in
    /// need it; the others save the few seconds it takes.
    pub fn start_with_accounts(options: Options) -> Server {
        Self::start_inner(options, None, true)
    }

    /// Starts a server whose static assets (the web app) come from `assets` instead of
    /// `web/dist`.
    pub fn start_with_assets(options: Options, assets: &Path) -> Server {
        Self::start_serving(options, Some(assets.to_path_buf()))
    }

    fn start_serving(options: Options, assets: Option<PathBuf>) -> Server {
        Self::start_inner(options, assets, false)
    }

    fn start_inner(options: Options, assets: Option<PathBuf>, migrate: bool) -> Server {
        Self::start_on(options, assets, migrate, free_port())
    }

    fn start_on(options: Options, assets: Option<PathBuf>, migrate: bool, port: u16) -> Server {
        ensure_built();
        static COUNTER: AtomicU32 = AtomicU32::new(0);
        let root = options
            .state_root
            .clone()
            .unwrap_or_else(std::env::temp_dir);
        let persist = root.join(format!(
            "keyboardia-wrangler-{}-{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&persist);
        std::fs::create_dir_all(&persist).expect("create the persist dir");
        let mut server = Server {
            child: None,
            port,
            inspector_port: free_port(),
            served: false,
            log: std::env::temp_dir().join(format!(
                "{}.log",
                persist
                    .file_name()
                    .and_then(|n| n.to_str())
                    .unwrap_or("wrangler")
            )),
            persist,
            options,
            assets,
            migrate,
        };
        server.snapshot_build();
        if server.migrate {
            server.apply_migrations();
        }
        server.spawn();
        server
    }

    /// Copies the built Worker and a `wrangler.toml` pointing at the copy (and at the assets of
    /// [`Server::start_with_assets`]) into this server's directory, so a rebuild while the server runs (another test binary, a developer) cannot
    /// reload it under a running test.
    fn snapshot_build(&self) {
        fn copy_dir(from: &Path, to: &Path) {
            std::fs::create_dir_all(to).expect("create the build copy");
            for e in std::fs::read_dir(from)
                .expect("read worker/build")
                .flatten()
            {
                let (src, dst) = (e.path(), to.join(e.file_name()));
                if src.is_dir() {
                    if e.file_name() != ".tmp" {
                        copy_dir(&src, &dst);
                    }
                } else {
                    std::fs::copy(&src, &dst).expect("copy the build");
                }
            }
        }
        let root = repo_root();
        let build = self.persist.join("build");
        copy_dir(
            &prebuilt().unwrap_or_else(|| root.join("worker/build")),
            &build,
        );
        let config = std::fs::read_to_string(root.join("wrangler.toml")).expect("wrangler.toml");
        let main = build.join("worker/shim.mjs");
        let assets = self.assets.clone().unwrap_or_else(|| {
            let dist = root.join("web/dist");
            if dist.join("index.html").is_file() {
                dist
            } else {
                let empty = self.persist.join("assets");
                std::fs::create_dir_all(&empty).expect("create the assets dir");
                empty
            }
        });
        let config: String = config
            .lines()
            .map(|l| {
                if l.starts_with("main = ") {
                    format!("main = {:?}", main.display().to_string())
                } else if l.starts_with("migrations_dir = ") {
                    let dir = root.join("worker/migrations");
                    format!("migrations_dir = {:?}", dir.display().to_string())
                } else if l.starts_with("directory = ") {
                    format!("directory = {:?}", assets.display().to_string())
                } else {
                    l.to_owned()
                }
            })
            .collect::<Vec<_>>()
            .join("\n");
        std::fs::write(self.persist.join("wrangler.toml"), config).expect("write wrangler.toml");
    }

    /// `wrangler d1 migrations apply DB --local` on this server's state.
    fn apply_migrations(&self) {
        let root = repo_root();
        let out = Command::new("bash")
            .arg(root.join("scripts/wrangler.sh"))
            .args(["d1", "migrations", "apply", "DB", "--local"])
            .arg("--config")
            .arg(self.persist.join("wrangler.toml"))
            .arg("--persist-to")
            .arg(self.persist.join("state"))
            .env("CI", "1")
            .current_dir(&root)
            .stdin(Stdio::null())
            .output()
            .expect("run wrangler d1 migrations apply");
        assert!(
            out.status.success(),
            "applying the D1 migrations failed:\n{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// This server's directory (its `wrangler.toml`, state, and the local runtime's
    /// `.wrangler/tmp/`, where mail sent through the `send_email` binding lands).
    pub fn dir(&self) -> &Path {
        &self.persist
    }

    /// Starts wrangler and waits until it serves. A port taken between [`free_port`] and
    /// wrangler's bind (another test binary's server or browser can take any free port) makes
    /// wrangler exit at once: a first start then takes fresh ports, a restart (which keeps its
    /// port, so clients find it again) waits and tries the same port again.
    fn spawn(&mut self) {
        // Two servers starting at once fight over ports and CPU; start them one at a time.
        static STARTING: Mutex<()> = Mutex::new(());
        let _one_at_a_time = STARTING.lock().unwrap_or_else(|e| e.into_inner());
        const ATTEMPTS: u32 = 5;
        for attempt in 1..=ATTEMPTS {
            let log_start = std::fs::metadata(&self.log).map(|m| m.len()).unwrap_or(0);
            self.spawn_once();
            match self.wait_ready(log_start) {
                Ready::Serving => {
                    self.served = true;
                    return;
                }
                Ready::PortTaken if attempt < ATTEMPTS => {
                    if let Some(child) = self.child.take() {
                        stop_group(child, libc::SIGKILL);
                    }
                    if !self.served {
                        self.port = free_port();
                        self.inspector_port = free_port();
                    } else {
                        std::thread::sleep(Duration::from_millis(500));
                    }
                }
                Ready::PortTaken => panic!(
                    "wrangler dev found its port taken {ATTEMPTS} times:\n{}",
                    self.log_tail()
                ),
            }
        }
    }

    fn spawn_once(&mut self) {
        let root = repo_root();
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .expect("open the server log");
        let mut cmd = Command::new("bash");
        cmd.arg(root.join("scripts/wrangler.sh"))
            .arg("dev")
            .arg("--config")
            .arg(self.persist.join("wrangler.toml"))
            .args(["--ip", "127.0.0.1", "--port", &self.port.to_string()])
            .args(["--inspector-port", &self.inspector_port.to_string()])
            .arg("--persist-to")
            .arg(self.persist.join("state"))
            .arg("--show-interactive-dev-session=false")
            .args(["--log-level", "warn"]);
        for (k, v) in &self.options.vars {
            cmd.args(["--var", &format!("{k}:{v}")]);
        }
        cmd.current_dir(&root)
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log handle"))
            .stderr(log)
            .process_group(0);
        // SAFETY: prctl is async-signal-safe; if this test process dies without dropping the
        // server, the kernel sends SIGTERM to the wrangler process.
        unsafe {
            cmd.pre_exec(|| {
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM);
                Ok(())
            });
        }
        let child = cmd.spawn().expect("start wrangler dev");
        self.child = Some(child);
    }

    /// Waits until the server answers its health check; panics on any failure but a port
    /// taken under it.
    fn wait_ready(&mut self, log_start: u64) -> Ready {
        let deadline = Instant::now() + READY_TIMEOUT;
        let url = format!("{}{}", self.base_url(), keyboardia_core::api::HEALTH_PATH);
        let agent = ureq::AgentBuilder::new()
            .timeout(Duration::from_secs(2))
            .build();
        loop {
            if let Ok(r) = agent.get(&url).call() {
                if r.status() == 200 {
                    return Ready::Serving;
                }
            }
            if let Some(child) = self.child.as_mut() {
                if let Ok(Some(status)) = child.try_wait() {
                    if self.log_since(log_start).contains("Address already in use") {
                        return Ready::PortTaken;
                    }
                    panic!(
                        "wrangler dev exited with {status} before it was ready:\n{}",
                        self.log_tail()
                    );
                }
            }
            if Instant::now() > deadline {
                panic!(
                    "wrangler dev not ready after {READY_TIMEOUT:?}:\n{}",
                    self.log_tail()
                );
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// The log written from byte `start` on.
    fn log_since(&self, start: u64) -> String {
        let text = std::fs::read(&self.log).unwrap_or_default();
        String::from_utf8_lossy(text.get(start as usize..).unwrap_or_default()).into_owned()
    }

    /// The last lines of the server's log (for failure messages).
    pub fn log_tail(&self) -> String {
        let Ok(f) = std::fs::File::open(&self.log) else {
            return String::new();
        };
        let lines: Vec<String> = BufReader::new(f).lines().map_while(Result::ok).collect();
        lines[lines.len().saturating_sub(40)..].join("\n")
    }

    /// The whole server log so far (to check that nothing panicked).
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// `http://127.0.0.1:{port}`
    pub fn base_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// A REST client that presents `address` as its client address (`CF-Connecting-IP`, which
    /// Cloudflare sets in production and `wrangler dev` passes through), so each test has its
    /// own rate-limit buckets.
    pub fn http(&self, address: &str) -> Http {
        Http::new(self.base_url(), address)
    }

    /// The address of the workerd process that runs the Worker itself, behind `wrangler dev`'s
    /// own proxy (which adds a process hop to every frame). Found by asking each loopback port
    /// that a process of this server's group listens on for `/api/health`. For benchmarks that
    /// want the Worker's latency without the dev proxy; `None` if it cannot be found.
    pub fn direct_base_url(&self) -> Option<String> {
        let pgid = self.child.as_ref()?.id() as i32;
        procs::direct_url(pgid, &[self.port, self.inspector_port], "\"ok\":true")
    }

    /// Makes the session's Durable Object forget its room, as an eviction would, while its
    /// sockets stay open (needs the `TEST_HOOKS` var, on by default here). Retries while writes
    /// are in flight.
    pub fn evict(&self, id: keyboardia_core::SessionId) {
        let http = self.http("127.0.0.1");
        for _ in 0..100 {
            let r = http.request("POST", &keyboardia_core::api::evict_path(id), &[], None);
            match r.status {
                200 => {
                    assert_eq!(r.json()["evicted"], true, "the room was live");
                    return;
                }
                409 => std::thread::sleep(Duration::from_millis(20)),
                s => panic!("evict: {s} {}", r.text()),
            }
        }
        panic!("evict: writes never settled");
    }

    /// Stops the server (its whole process group) and waits until it is gone.
    pub fn stop(&mut self) {
        if let Some(child) = self.child.take() {
            stop_group(child, libc::SIGTERM);
        }
    }

    /// Kills the server at once, as a crash or the OOM killer would: SIGKILL to its whole
    /// process group (wrangler, node, workerd), so nothing shuts down or flushes. Waits until
    /// the group is gone; [`Server::start_again`] brings it back on the same persisted state.
    pub fn kill(&mut self) {
        if let Some(child) = self.child.take() {
            stop_group(child, libc::SIGKILL);
        }
    }

    /// Starts a stopped or killed server again on the same port and persisted state (does
    /// nothing while it runs).
    pub fn start_again(&mut self) {
        if self.child.is_none() {
            self.spawn();
        }
    }

    /// Stops the server and starts it again on the same port and persisted state (as a
    /// deployment restart or an eviction would).
    pub fn restart(&mut self) {
        self.stop();
        self.spawn();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_dir_all(&self.persist);
        if !std::thread::panicking() && std::env::var_os("KEYBOARDIA_KEEP_LOGS").is_none() {
            let _ = std::fs::remove_file(&self.log);
        } else {
            eprintln!("wrangler dev log kept at {}", self.log.display());
        }
    }
}

/// Sends `signal` to the process group `child` leads (a server started with
/// `process_group(0)`: wrangler, node, workerd), SIGKILLs whatever is left after 10 s, reaps
/// the child, and waits (up to 60 s) until the group is empty: a killed workerd that still
/// holds the persisted SQLite files would stall the next start (seen on a loaded machine).
pub fn stop_group(mut child: Child, signal: libc::c_int) {
    let pgid = child.id() as libc::pid_t;
    // SAFETY: signals our own process group (the child is its leader).
    unsafe {
        libc::kill(-pgid, signal);
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    while !matches!(child.try_wait(), Ok(Some(_))) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    // SAFETY: as above; whatever is left of the group, and the leader if it ignored `signal`.
    unsafe {
        libc::kill(-pgid, libc::SIGKILL);
    }
    let _ = child.wait();
    let deadline = Instant::now() + Duration::from_secs(60);
    // SAFETY: signal 0 only checks whether the group still has members.
    while unsafe { libc::kill(-pgid, 0) } == 0 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[cfg(test)]
mod tests {
    use std::net::TcpListener;

    use super::*;

    #[test]
    fn a_port_taken_before_the_first_start_is_swapped_for_a_free_one() {
        let held = TcpListener::bind("127.0.0.1:0").expect("a loopback port");
        let taken = held.local_addr().expect("its address").port();
        let server = Server::start_on(Options::default(), None, false, taken);
        assert_ne!(server.port(), taken);
        let health = format!("{}{}", server.base_url(), keyboardia_core::api::HEALTH_PATH);
        assert_eq!(ureq::get(&health).call().expect("health").status(), 200);
        assert!(server.log_text().contains("Address already in use"));
    }
}
