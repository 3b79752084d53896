//! A TCP gate on loopback between players and a server that is killed and started again: while
//! the server is down or starting it refuses connections at once (closes them), as a deployment's
//! front would, and while it is up it forwards them to the address it was opened on.
//!
//! Why: `wrangler dev`'s own proxy accepts connections while the Worker is (re)starting and
//! queues every request until the Worker is ready, including the ones whose client has long given
//! up (its `ProxyWorker` keeps a request queue and later fetches each entry with no tie to the
//! client). Ten players retrying a WebSocket upgrade every few seconds through a slow start fill
//! that queue with abandoned upgrades, released at once (a wedged full soak had 195 connections
//! waiting in the Worker's accept queue, and its workerd spent its time handing the isolate lock
//! around). A deployment's front refuses or fails such connections instead. Opened on the
//! workerd that runs the Worker itself
//! ([`Server::direct_base_url`](crate::server::Server::direct_base_url)), the gate also keeps the
//! dev proxy out of the players' path.

use std::net::SocketAddr;

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

/// The gate; dropping it stops it and ends every forwarded connection.
pub struct Gate {
    /// Where players connect.
    addr: SocketAddr,
    /// The server's address while it is up; `None` closes the gate (and ends the connections
    /// forwarded while it was open).
    target: watch::Sender<Option<SocketAddr>>,
    /// Runs the accept loop and the forwarding tasks.
    _rt: tokio::runtime::Runtime,
}

impl Gate {
    /// A closed gate on a free loopback port.
    pub fn start() -> Gate {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("a tokio runtime");
        let listener = rt
            .block_on(TcpListener::bind("127.0.0.1:0"))
            .expect("a loopback port");
        let addr = listener.local_addr().expect("its address");
        let (target, watching) = watch::channel(None);
        rt.spawn(async move {
            while let Ok((down, _)) = listener.accept().await {
                let mut watching = watching.clone();
                let Some(to) = *watching.borrow_and_update() else {
                    drop(down); // closed: refused at once
                    continue;
                };
                tokio::spawn(async move {
                    let Ok(mut up) = TcpStream::connect(to).await else {
                        return;
                    };
                    let mut down = down;
                    let _ = down.set_nodelay(true);
                    let _ = up.set_nodelay(true);
                    tokio::select! {
                        _ = tokio::io::copy_bidirectional(&mut down, &mut up) => {}
                        _ = watching.changed() => {} // closed or moved: end this connection
                    }
                });
            }
        });
        Gate {
            addr,
            target,
            _rt: rt,
        }
    }

    /// `http://127.0.0.1:{port}` of the gate.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Forwards new connections to `base_url` (`http://host:port`).
    pub fn open(&self, base_url: &str) {
        let to: SocketAddr = base_url
            .trim_start_matches("http://")
            .parse()
            .expect("a loopback address");
        self.target.send_replace(Some(to));
    }

    /// Refuses new connections and ends the forwarded ones.
    pub fn close(&self) {
        self.target.send_replace(None);
    }
}
