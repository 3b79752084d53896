//! A real JACK server for the standalone app without a sound card: `jackd` with its `dummy`
//! driver runs the graph on a timer, in real time, like a device would. [`SignalClient`] is a
//! JACK client of the test that plays a known signal out of two ports and records two ports.

use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Frames per JACK period: long enough (21 ms) that a debug build drawing its editor with a
/// software renderer on a busy machine rarely misses one.
pub const PERIOD_FRAMES: usize = 1024;

/// A `jackd -d dummy` server under a private name, stopped (its process group) on drop.
pub struct JackServer {
    /// The server's name (`JACK_DEFAULT_SERVER` of its clients).
    pub name: String,
    child: Child,
}

impl JackServer {
    /// Starts a server at 48 kHz with [`PERIOD_FRAMES`]-frame periods and makes it this process's default
    /// (`JACK_DEFAULT_SERVER`, inherited by the processes it starts); waits until it answers.
    pub fn start() -> JackServer {
        use std::os::unix::process::CommandExt;
        let name = format!("keyboardia-test-{}", std::process::id());
        let mut cmd = Command::new("jackd");
        cmd.args([
            "-n",
            &name,
            "--no-realtime",
            "-d",
            "dummy",
            "-r",
            "48000",
            "-p",
        ])
        .arg(PERIOD_FRAMES.to_string())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
        // Its own process group, so stopping it stops everything it started.
        // SAFETY: setsid is async-signal-safe.
        unsafe {
            cmd.pre_exec(|| {
                libc::setsid();
                Ok(())
            });
        }
        let child = cmd
            .spawn()
            .expect("start jackd (Debian package jackd2, installed by scripts/setup.sh)");
        std::env::set_var("JACK_DEFAULT_SERVER", &name);
        let server = JackServer { name, child };
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if jack::Client::new("probe", jack::ClientOptions::NO_START_SERVER).is_ok() {
                return server;
            }
            assert!(Instant::now() < deadline, "jackd did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for JackServer {
    fn drop(&mut self) {
        let pgid = self.child.id() as i32;
        // SAFETY: signals our own child's process group.
        unsafe {
            libc::kill(-pgid, libc::SIGTERM);
        }
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        unsafe {
            libc::kill(-pgid, libc::SIGKILL);
        }
        let _ = self.child.wait();
    }
}

/// What the client's process callback shares with the test.
struct Shared {
    /// Frames played so far (the next frame of the signal).
    played: AtomicU64,
    /// Whether the signal sounds (silence otherwise; the frames count on).
    sounding: std::sync::atomic::AtomicBool,
    /// What arrived at the two input ports.
    recorded: Mutex<(Vec<f32>, Vec<f32>)>,
}

/// A JACK client named `name` with ports `out_l`, `out_r` playing `signal(channel, frame)` (once
/// [`SignalClient::sound`] says so; frame counts from the client's start) and `in_l`, `in_r`
/// recording.
pub struct SignalClient {
    client: jack::AsyncClient<(), jack::contrib::ClosureProcessHandler<(), Callback>>,
    shared: Arc<Shared>,
}

type Callback = Box<dyn FnMut(&jack::Client, &jack::ProcessScope) -> jack::Control + Send>;

impl SignalClient {
    pub fn start(name: &str, signal: fn(u64, u64) -> f32) -> SignalClient {
        let (client, _) =
            jack::Client::new(name, jack::ClientOptions::NO_START_SERVER).expect("a JACK client");
        let mut out_l = client
            .register_port("out_l", jack::AudioOut::default())
            .unwrap();
        let mut out_r = client
            .register_port("out_r", jack::AudioOut::default())
            .unwrap();
        let in_l = client
            .register_port("in_l", jack::AudioIn::default())
            .unwrap();
        let in_r = client
            .register_port("in_r", jack::AudioIn::default())
            .unwrap();
        let shared = Arc::new(Shared {
            played: AtomicU64::new(0),
            sounding: std::sync::atomic::AtomicBool::new(false),
            recorded: Mutex::new((Vec::new(), Vec::new())),
        });
        let s = shared.clone();
        let callback: Callback = Box::new(move |_, ps| {
            let start = s.played.load(Ordering::Relaxed);
            let sounding = s.sounding.load(Ordering::Relaxed);
            for (ch, port) in [(0u64, &mut out_l), (1, &mut out_r)] {
                for (i, v) in port.as_mut_slice(ps).iter_mut().enumerate() {
                    *v = if sounding {
                        signal(ch, start + i as u64)
                    } else {
                        0.0
                    };
                }
            }
            let n = ps.n_frames() as u64;
            s.played.store(start + n, Ordering::Relaxed);
            if let Ok(mut rec) = s.recorded.lock() {
                rec.0.extend_from_slice(in_l.as_slice(ps));
                rec.1.extend_from_slice(in_r.as_slice(ps));
            }
            jack::Control::Continue
        });
        let client = client
            .activate_async((), jack::contrib::ClosureProcessHandler::new(callback))
            .expect("activate the JACK client");
        SignalClient { client, shared }
    }

    /// Starts or stops the signal.
    pub fn sound(&self, on: bool) {
        self.shared.sounding.store(on, Ordering::Relaxed);
    }

    /// Frames of the signal played so far.
    pub fn played(&self) -> u64 {
        self.shared.played.load(Ordering::Relaxed)
    }

    /// Takes what was recorded so far (left, right).
    pub fn take_recorded(&self) -> (Vec<f32>, Vec<f32>) {
        std::mem::take(&mut *self.shared.recorded.lock().unwrap())
    }

    /// Connects two ports by their full names, waiting (up to 20 s) for them to exist.
    pub fn connect(&self, from: &str, to: &str) {
        let c = self.client.as_client();
        let deadline = Instant::now() + Duration::from_secs(20);
        while c.port_by_name(from).is_none() || c.port_by_name(to).is_none() {
            assert!(Instant::now() < deadline, "no ports {from} and {to}");
            std::thread::sleep(Duration::from_millis(50));
        }
        c.connect_ports_by_name(from, to)
            .unwrap_or_else(|e| panic!("connect {from} to {to}: {e}"));
    }

    /// Whether `port` is connected to anything.
    pub fn is_connected(&self, port: &str) -> bool {
        let c = self.client.as_client();
        c.port_by_name(port)
            .is_some_and(|p| p.connected_count().unwrap_or(0) > 0)
    }
}
