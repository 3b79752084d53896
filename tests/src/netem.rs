//! A TCP proxy on loopback that makes a bad network (a userspace netem): delay with jitter in each direction, and
//! loss as TCP shows it to an application — a lost segment arrives one retransmission timeout
//! late, and everything behind it waits (the stream never reorders).

use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio::time::Instant;

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

pub struct Proxy {
    pub addr: SocketAddr,
    rt: Option<tokio::runtime::Runtime>,
}

impl Proxy {
    pub fn start(target: SocketAddr, imp: Impairment) -> Self {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let listener = rt.block_on(TcpListener::bind("127.0.0.1:0")).unwrap();
        let addr = listener.local_addr().unwrap();
        rt.spawn(async move {
            while let Ok((down, _)) = listener.accept().await {
                let Ok(up) = TcpStream::connect(target).await else {
                    continue;
                };
                let _ = down.set_nodelay(true);
                let _ = up.set_nodelay(true);
                let (dr, dw) = down.into_split();
                let (ur, uw) = up.into_split();
                tokio::spawn(pipe(dr, uw, imp));
                tokio::spawn(pipe(ur, dw, imp));
            }
        });
        Self { addr, rt: Some(rt) }
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        if let Some(rt) = self.rt.take() {
            rt.shutdown_timeout(Duration::from_millis(100));
        }
    }
}

async fn pipe(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    imp: Impairment,
) {
    let (tx, mut rx) = mpsc::unbounded_channel::<(Instant, Vec<u8>)>();
    let writer = tokio::spawn(async move {
        while let Some((at, bytes)) = rx.recv().await {
            tokio::time::sleep_until(at).await;
            if to.write_all(&bytes).await.is_err() {
                break;
            }
        }
    });
    let mut last = Instant::now();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = match from.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        let mut ms = imp.delay_ms + (fastrand::f64() * 2.0 - 1.0) * imp.jitter_ms;
        if fastrand::f64() < imp.loss {
            ms += imp.rto_ms;
        }
        let at = (Instant::now() + Duration::from_secs_f64(ms.max(0.0) / 1000.0)).max(last);
        last = at;
        if tx.send((at, buf[..n].to_vec())).is_err() {
            break;
        }
    }
    drop(tx);
    let _ = writer.await;
}
