//! Processes and ports on this machine, from `/proc`: a free loopback port, a process
//! group's members, CPU time and listening sockets. Shared by the harnesses that start
//! servers (ours, the web original's, chromedriver) and the benchmarks that account for them.

use std::collections::HashSet;
use std::net::TcpListener;
use std::time::{Duration, Instant};

/// A loopback port free at this moment. Another process can take it before the caller binds
/// it: callers that start a server on it must handle "address in use" (pick another).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

/// CPU time (user + system) of every live process in process group `pgid`, from `/proc`.
pub fn group_cpu(pgid: i32) -> Duration {
    // SAFETY: sysconf only reads a constant.
    let ticks_per_sec = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as f64;
    let mut ticks = 0u64;
    for pid in group_pids(pgid) {
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        // Fields after the command name (which may hold spaces, so split after its ')'):
        // state is field 3, utime 14, stime 15.
        let Some(rest) = stat.rsplit_once(')').map(|(_, r)| r) else {
            continue;
        };
        let fields: Vec<&str> = rest.split_whitespace().collect();
        let field = |n: usize| fields.get(n - 3).and_then(|f| f.parse::<u64>().ok());
        ticks += field(14).unwrap_or(0) + field(15).unwrap_or(0);
    }
    Duration::from_secs_f64(ticks as f64 / ticks_per_sec)
}

/// Waits until process group `pgid` is idle: no CPU tick over `quiet` in a row (e.g. after
/// sockets closed, until the server has handled the closes), at most `timeout`. Returns the
/// time waited.
pub fn settle(pgid: i32, quiet: Duration, timeout: Duration) -> Duration {
    let start = Instant::now();
    let mut last = group_cpu(pgid);
    let mut still_since = Instant::now();
    while start.elapsed() < timeout {
        std::thread::sleep(Duration::from_millis(50));
        let now = group_cpu(pgid);
        if now != last {
            last = now;
            still_since = Instant::now();
        } else if still_since.elapsed() >= quiet {
            break;
        }
    }
    start.elapsed()
}

/// The pids of process group `pgid`.
pub fn group_pids(pgid: i32) -> Vec<i32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|e| e.file_name().to_string_lossy().parse::<i32>().ok())
        // SAFETY: getpgid only reads the process table.
        .filter(|&pid| unsafe { libc::getpgid(pid) } == pgid)
        .collect()
}

/// The socket inodes the processes of group `pgid` hold.
fn group_socket_inodes(pgid: i32) -> HashSet<String> {
    let mut inodes = HashSet::new();
    for pid in group_pids(pgid) {
        let Ok(fds) = std::fs::read_dir(format!("/proc/{pid}/fd")) else {
            continue;
        };
        for fd in fds.flatten() {
            if let Ok(link) = std::fs::read_link(fd.path()) {
                let link = link.to_string_lossy().into_owned();
                if let Some(inode) = link
                    .strip_prefix("socket:[")
                    .and_then(|l| l.strip_suffix(']'))
                {
                    inodes.insert(inode.to_owned());
                }
            }
        }
    }
    inodes
}

/// Loopback TCP ports in LISTEN state, with their socket inodes.
fn loopback_listeners() -> Vec<(u16, String)> {
    let table = std::fs::read_to_string("/proc/net/tcp").unwrap_or_default();
    table
        .lines()
        .skip(1)
        .filter_map(|line| {
            let cols: Vec<&str> = line.split_whitespace().collect();
            // local address, state 0A = LISTEN, inode
            if cols.len() < 10 || cols[3] != "0A" {
                return None;
            }
            let (ip, port) = cols[1].split_once(':')?;
            if ip != "0100007F" {
                return None;
            }
            Some((u16::from_str_radix(port, 16).ok()?, cols[9].to_owned()))
        })
        .collect()
}

/// The process group of the process that listens on loopback `port` (e.g. our
/// `Server`'s wrangler in the tests' server harness, whose child handle is private to it).
pub fn group_of_port(port: u16) -> Option<i32> {
    let inode = loopback_listeners()
        .into_iter()
        .find(|(p, _)| *p == port)?
        .1;
    let entries = std::fs::read_dir("/proc").ok()?;
    for pid in entries
        .flatten()
        .filter_map(|e| e.file_name().to_string_lossy().parse::<i32>().ok())
    {
        let Ok(fds) = std::fs::read_dir(format!("/proc/{pid}/fd")) else {
            continue;
        };
        for fd in fds.flatten() {
            if std::fs::read_link(fd.path())
                .is_ok_and(|l| l.to_string_lossy() == format!("socket:[{inode}]"))
            {
                // SAFETY: getpgid only reads the process table.
                let pgid = unsafe { libc::getpgid(pid) };
                return (pgid > 0).then_some(pgid);
            }
        }
    }
    None
}

/// The Worker's own workerd address behind `wrangler dev`'s proxy: the loopback port that a
/// process of group `pgid` listens on (other than `exclude`) whose `GET /api/health` body
/// contains `expect`. `None` if there is none.
pub fn direct_url(pgid: i32, exclude: &[u16], expect: &str) -> Option<String> {
    let inodes = group_socket_inodes(pgid);
    let agent = ureq::AgentBuilder::new()
        .timeout(Duration::from_secs(2))
        .build();
    loopback_listeners()
        .into_iter()
        .filter(|(port, inode)| inodes.contains(inode) && !exclude.contains(port))
        .map(|(port, _)| format!("http://127.0.0.1:{port}"))
        .find(|url| {
            agent
                .get(&format!("{url}/api/health"))
                .call()
                .ok()
                .and_then(|r| r.into_string().ok())
                .is_some_and(|body| body.contains(expect))
        })
}
