//! The page's side of its WebSocket, which a dedicated worker owns (`web/static/socket.js`).
//!
//! eframe runs the editor's frames inside the main thread's event callbacks, so a pong read
//! there was stamped when the page got to it (68 ms late at the median while the editor drew)
//! and the clock estimate was off by half of that. The worker does nothing but the socket: it
//! stamps every frame when it arrives and every ping when it really leaves, on the page's clock
//! (`performance.now()`, converted from the worker's by the difference of the two
//! `performance.timeOrigin`s), and the page hands core's client those times.
//!
//! Each socket has a serial: events of an older one are ignored.

use js_sys::{Object, Reflect};
use keyboardia_core::protocol::{decode_client, ClientMessage};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{MessageEvent, Worker};

/// What the worker reports about the current socket.
#[derive(Clone, Debug, PartialEq)]
pub enum SocketEvent {
    /// It opened.
    Open,
    /// A text frame arrived.
    Message(String),
    /// It closed (or could not open), with the close code (0 when it never opened).
    Close(u16),
}

/// One report: which socket, when (page clock, ms), and what.
#[derive(Clone, Debug, PartialEq)]
pub struct Report {
    /// The socket's serial.
    pub serial: u64,
    /// When it happened, on the page's `performance.now()` clock (ms).
    pub at_ms: f64,
    /// What happened.
    pub event: SocketEvent,
}

impl Report {
    /// Reads one of the worker's messages; `None` for anything else.
    fn parse(data: &JsValue) -> Option<Report> {
        let get = |k: &str| Reflect::get(data, &k.into()).ok();
        let serial = get("serial")?.as_f64()? as u64;
        let at_ms = get("at")?.as_f64().filter(|t| t.is_finite())?;
        let event = match get("t")?.as_string()?.as_str() {
            "open" => SocketEvent::Open,
            "message" => SocketEvent::Message(get("text")?.as_string()?),
            "close" => SocketEvent::Close(get("code")?.as_f64().unwrap_or(0.0) as u16),
            _ => return None,
        };
        Some(Report {
            serial,
            at_ms,
            event,
        })
    }
}

/// The worker and the page's callback for its reports.
pub struct Transport {
    /// The worker (started by index.html as the page loads, else here).
    worker: Worker,
    /// Receives its reports; kept alive as long as the worker.
    _on_message: Closure<dyn FnMut(MessageEvent)>,
}

/// A message for the worker: an object with `t` and the given fields.
fn message(t: &str, fields: &[(&str, JsValue)]) -> Object {
    let o = Object::new();
    let _ = Reflect::set(&o, &"t".into(), &t.into());
    for (k, v) in fields {
        let _ = Reflect::set(&o, &(*k).into(), v);
    }
    o
}

impl Transport {
    /// Takes the worker index.html started (`window.KEYBOARDIA_SOCKET`), or starts one, and
    /// hands each of its reports to `on_report`.
    pub fn start(mut on_report: impl FnMut(Report) + 'static) -> Result<Transport, JsValue> {
        let window = web_sys::window().ok_or("no window")?;
        let early = Reflect::get(&window, &"KEYBOARDIA_SOCKET".into())?;
        let worker = match early.dyn_into::<Worker>() {
            Ok(w) => w,
            Err(_) => {
                let url = crate::audio::asset("socket").ok_or("no socket worker asset")?;
                Worker::new(&url)?
            }
        };
        let on_message = Closure::wrap(Box::new(move |e: MessageEvent| {
            if let Some(r) = Report::parse(&e.data()) {
                on_report(r);
            }
        }) as Box<dyn FnMut(MessageEvent)>);
        worker.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        Ok(Transport {
            worker,
            _on_message: on_message,
        })
    }

    /// Opens socket `serial` to `url` (closing any other).
    pub fn open(&self, serial: u64, url: &str) -> Socket {
        let origin = web_sys::window()
            .and_then(|w| w.performance())
            .map_or(0.0, |p| p.time_origin());
        let _ = self.worker.post_message(&message(
            "open",
            &[
                ("serial", (serial as f64).into()),
                ("url", url.into()),
                ("timeOrigin", origin.into()),
            ],
        ));
        Socket {
            worker: self.worker.clone(),
            serial,
        }
    }
}

/// An open (or opening) socket; dropping it closes it.
pub struct Socket {
    /// The worker that owns it.
    worker: Worker,
    /// Its serial.
    pub serial: u64,
}

impl Socket {
    /// Sends a text frame (dropped if the socket is not open). A clock ping is stamped by the
    /// worker with the time it really leaves.
    pub fn send(&self, frame: &str) {
        let ping = matches!(
            decode_client(frame.as_bytes()),
            Ok(ClientMessage::Ping { .. })
        );
        let _ = self.worker.post_message(&message(
            "send",
            &[
                ("serial", (self.serial as f64).into()),
                ("text", frame.into()),
                ("ping", ping.into()),
            ],
        ));
    }
}

impl Drop for Socket {
    fn drop(&mut self) {
        let _ = self.worker.post_message(&message(
            "close",
            &[("serial", (self.serial as f64).into())],
        ));
    }
}
