//! A TCP proxy on loopback that makes a bad network (a userspace netem): delay with jitter in each direction, and
//! loss as TCP shows it to an application — a lost segment arrives one retransmission timeout
//! late, and everything behind it waits (the stream never reorders).
//!
//! Both directions are the same code on threads of their own: one reads and stamps each chunk
//! as it arrives, one writes it at the chosen instant, sleeping until just before it and then
//! yielding until it passes ([`sleep_until`]). An async timer would round every release up to
//! its next millisecond tick and add the wake-up of a shared runtime: frames came out 0.3 to
//! 4 ms past their instants (p50 1.8 ms one way, 1.2 ms the other, `sync_bench -- probe`), and
//! what is not the same both ways shifts the clock a two-way exchange measures.

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

#[derive(Clone, Copy, Debug)]
pub struct Impairment {
    pub delay_ms: f64,
    /// Uniform in ±jitter.
    pub jitter_ms: f64,
    /// Probability that a segment is lost once.
    pub loss: f64,
    /// Retransmission timeout added to a lost segment.
    pub rto_ms: f64,
}

/// One chunk carried, on this machine's wall clock (ms since the Unix epoch, the clock a
/// Worker under `wrangler dev` stamps with).
#[derive(Clone, Copy, Debug)]
pub struct Release {
    /// When its read returned.
    pub arrived_ms: f64,
    /// The delay the impairment chose (ms), lengthened to keep the stream in order.
    pub delay_ms: f64,
    /// When its write began.
    pub released_ms: f64,
    /// How late (ms) the write began past the chosen instant.
    pub late_ms: f64,
}

/// The chunks carried so far, per direction: to the server, to the client.
type Releases = Arc<Mutex<[Vec<Release>; 2]>>;

fn unix_ms() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64() * 1000.0)
}

pub struct Proxy {
    pub addr: SocketAddr,
    stop: Arc<AtomicBool>,
    /// Every socket of every connection, to cut them when the proxy goes.
    sockets: Arc<Mutex<Vec<TcpStream>>>,
    accept: Option<JoinHandle<()>>,
    releases: Releases,
}

impl Proxy {
    pub fn start(target: SocketAddr, imp: Impairment) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let sockets = Arc::new(Mutex::new(Vec::<TcpStream>::new()));
        let releases = Releases::default();
        let accept = {
            let (stop, sockets, late) = (stop.clone(), sockets.clone(), releases.clone());
            std::thread::Builder::new()
                .name("netem-accept".into())
                .spawn(move || {
                    for down in listener.incoming() {
                        if stop.load(Ordering::Acquire) {
                            return;
                        }
                        let Ok(down) = down else { continue };
                        let Ok(up) = TcpStream::connect_timeout(&target, Duration::from_secs(5))
                        else {
                            continue;
                        };
                        let _ = down.set_nodelay(true);
                        let _ = up.set_nodelay(true);
                        let (Ok(down2), Ok(up2)) = (down.try_clone(), up.try_clone()) else {
                            continue;
                        };
                        if let Ok(mut s) = sockets.lock() {
                            s.retain(|s| s.peer_addr().is_ok());
                            if let (Ok(a), Ok(b)) = (down.try_clone(), up.try_clone()) {
                                s.extend([a, b]);
                            }
                        }
                        pipe(down, up, imp, late.clone(), 0);
                        pipe(up2, down2, imp, late.clone(), 1);
                    }
                })
                .unwrap()
        };
        Self {
            addr,
            stop,
            sockets,
            accept: Some(accept),
            releases,
        }
    }

    /// How late (ms) the chunks' writes began past their chosen instants, to the server and
    /// to the client, each sorted.
    pub fn lateness(&self) -> [Vec<f64>; 2] {
        self.releases().map(|r| {
            let mut l: Vec<f64> = r.iter().map(|r| r.late_ms).collect();
            l.sort_by(f64::total_cmp);
            l
        })
    }

    /// Every chunk carried so far, in order, to the server and to the client.
    pub fn releases(&self) -> [Vec<Release>; 2] {
        self.releases.lock().unwrap().clone()
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Release);
        // Wake the accepting thread, then cut every connection (its threads then end).
        let _ = TcpStream::connect(self.addr);
        if let Some(accept) = self.accept.take() {
            let _ = accept.join();
        }
        if let Ok(sockets) = self.sockets.lock() {
            for s in sockets.iter() {
                let _ = s.shutdown(Shutdown::Both);
            }
        }
    }
}

/// Carries `from` to `to`, each chunk delayed as `imp` says: a reading thread stamps it and
/// picks its instant, a writing thread writes it then. The end of `from` ends `to`'s writing.
fn pipe(mut from: TcpStream, mut to: TcpStream, imp: Impairment, late: Releases, dir: usize) {
    let (tx, rx) = mpsc::channel::<(Instant, Release, Vec<u8>)>();
    let name = ["netem-up", "netem-down"][dir];
    std::thread::Builder::new()
        .name(format!("{name}-write"))
        .spawn(move || {
            tight_timers();
            while let Ok((at, mut release, bytes)) = rx.recv() {
                sleep_until(at);
                // Timed as the write starts: the wake-up of the reader it hands the bytes to
                // may take this thread's core for a while (a Worker waking from hibernation
                // runs for milliseconds), and that is not the proxy's lateness.
                release.late_ms = at.elapsed().as_secs_f64() * 1000.0;
                release.released_ms = unix_ms();
                if to.write_all(&bytes).is_err() {
                    break;
                }
                if let Ok(mut l) = late.lock() {
                    l[dir].push(release);
                }
            }
            let _ = to.shutdown(Shutdown::Write);
        })
        .unwrap();
    std::thread::Builder::new()
        .name(format!("{name}-read"))
        .spawn(move || {
            let mut last = Instant::now();
            let mut buf = vec![0u8; 64 * 1024];
            loop {
                let n = match from.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => n,
                };
                let arrived = Instant::now();
                let arrived_ms = unix_ms();
                let mut ms = imp.delay_ms + (fastrand::f64() * 2.0 - 1.0) * imp.jitter_ms;
                if fastrand::f64() < imp.loss {
                    ms += imp.rto_ms;
                }
                let at = (arrived + Duration::from_secs_f64(ms.max(0.0) / 1000.0)).max(last);
                last = at;
                let release = Release {
                    arrived_ms,
                    delay_ms: at.duration_since(arrived).as_secs_f64() * 1000.0,
                    released_ms: 0.0,
                    late_ms: 0.0,
                };
                if tx.send((at, release, buf[..n].to_vec())).is_err() {
                    break;
                }
            }
        })
        .unwrap();
}

/// Below this much time left, [`sleep_until`] spins instead of sleeping: a sleep can overrun
/// by the timer's slack and the scheduler's wake-up.
const SPIN: Duration = Duration::from_micros(300);

/// Returns at `at` or just after: sleeps until [`SPIN`] before it, then spins until it passes.
/// It spins rather than yields: on a busy machine a yield can give the core away for a whole
/// time slice (releases came up to 5 ms late that way at the 95th percentile).
fn sleep_until(at: Instant) {
    loop {
        let now = Instant::now();
        if now >= at {
            return;
        }
        let left = at - now;
        if left > SPIN {
            std::thread::sleep(left - SPIN);
        } else {
            std::hint::spin_loop();
        }
    }
}

/// Asks the kernel to wake this thread's sleeps within a microsecond of their end, not the
/// default 50 µs of slack.
fn tight_timers() {
    // SAFETY: PR_SET_TIMERSLACK takes a plain integer and affects only the calling thread.
    unsafe {
        libc::prctl(libc::PR_SET_TIMERSLACK, 1 as libc::c_ulong);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A frame's way through the proxy and back, timed on each leg by one clock.
    #[test]
    fn both_directions_release_frames_at_their_instants() {
        let server = TcpListener::bind("127.0.0.1:0").unwrap();
        let imp = Impairment {
            delay_ms: 5.0,
            jitter_ms: 0.0,
            loss: 0.0,
            rto_ms: 0.0,
        };
        let proxy = Proxy::start(server.local_addr().unwrap(), imp);
        let mut client = TcpStream::connect(proxy.addr).unwrap();
        client.set_nodelay(true).unwrap();
        let (mut far, _) = server.accept().unwrap();
        far.set_nodelay(true).unwrap();
        let (mut up, mut down) = (Vec::new(), Vec::new());
        let mut byte = [0u8; 1];
        for _ in 0..100 {
            let t0 = Instant::now();
            client.write_all(&[1]).unwrap();
            far.read_exact(&mut byte).unwrap();
            let t1 = Instant::now();
            far.write_all(&[2]).unwrap();
            client.read_exact(&mut byte).unwrap();
            let t2 = Instant::now();
            up.push((t1 - t0).as_secs_f64() * 1000.0 - 5.0);
            down.push((t2 - t1).as_secs_f64() * 1000.0 - 5.0);
        }
        up.sort_by(f64::total_cmp);
        down.sort_by(f64::total_cmp);
        let [l_up, l_down] = proxy.lateness();
        eprintln!(
            "excess over 5 ms, to the server: min {:.3} p50 {:.3}; to the client: min {:.3} \
             p50 {:.3}; release lateness p50 {:.3} / {:.3} ms",
            up[0], up[50], down[0], down[50], l_up[50], l_down[50]
        );
        // Never early; most frames written within a quarter of a millisecond of their instant
        // (an async timer's tick rounding put nineteen in twenty later than that), and the
        // fastest frames of each direction end to end within a millisecond of the chosen delay
        // (a thread's wake-up on a loaded machine is the rest).
        assert!(up[0] >= 0.0 && down[0] >= 0.0);
        // (The last one may be read before its writer notes it.)
        assert!(l_up.len() >= 99 && l_down.len() >= 99);
        assert!(l_up[50] < 0.25 && l_down[50] < 0.25, "{l_up:?} {l_down:?}");
        assert!(up[10] < 1.0 && down[10] < 1.0, "{up:?} {down:?}");
        // Dropping the proxy cuts the connection.
        drop(proxy);
        client
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        assert!(matches!(client.read(&mut byte), Ok(0) | Err(_)));
    }
}
