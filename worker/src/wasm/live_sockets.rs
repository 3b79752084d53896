//! A live session's open sockets, by connection id and by socket, and sending one text to
//! many of them.
//!
//! Each message handler must know which connection a socket is. Reading the socket's
//! attachment for that costs a structured-clone read and a field-by-field conversion per
//! message; a JavaScript `Map` from the socket object to its id costs one call. The attachment
//! stays the source after a wake (the map is rebuilt from it).
//!
//! A broadcast is one JavaScript string handed to every socket, not one conversion of the Rust
//! text per socket, and one call out of wasm for all its sockets ([`Sockets::send_to`]): a
//! small JavaScript loop looks each connection up in a `Map` of the open sockets by id and
//! sends, instead of one wasm-to-JavaScript crossing (and its exception guard) per socket.

use std::collections::HashMap;

use keyboardia_core::room::ConnId;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use worker::WebSocket;

#[wasm_bindgen(inline_js = "
export function keyboardia_send_to(sockets, ids, text) {
  for (let i = 0; i < ids.length; i++) {
    const ws = sockets.get(ids[i]);
    if (ws === undefined) continue;
    // A closing socket cannot be sent to; its close event follows.
    try { ws.send(text); } catch (_) {}
  }
}
")]
extern "C" {
    /// Sends `text` to each socket of `sockets` (id → socket) named in `ids`.
    fn keyboardia_send_to(sockets: &js_sys::Map, ids: &[f64], text: &JsValue);
}

#[wasm_bindgen]
extern "C" {
    /// A `Map` from socket objects to connection ids (numbers).
    #[wasm_bindgen(extends = js_sys::Map)]
    type ConnMap;

    /// The id of `ws`, NaN when the map does not hold it (one call, no conversion of the
    /// value after it).
    #[wasm_bindgen(method, js_name = get)]
    fn get_id(this: &ConnMap, ws: &JsValue) -> f64;
}

/// The open sockets of the room.
pub struct Sockets {
    /// Open sockets by connection id.
    by_conn: HashMap<ConnId, WebSocket>,
    /// Socket object → connection id (a number), the same entries as `by_conn`.
    conn_of: js_sys::Map,
    /// Connection id (a number) → socket object, the same entries, for [`Sockets::send_to`].
    by_id: js_sys::Map,
}

impl Sockets {
    pub fn new() -> Self {
        Self {
            by_conn: HashMap::new(),
            conn_of: js_sys::Map::new(),
            by_id: js_sys::Map::new(),
        }
    }

    pub fn insert(&mut self, conn: ConnId, ws: WebSocket) {
        let id = JsValue::from_f64(conn as f64);
        self.conn_of.set(ws.as_ref().as_ref(), &id);
        self.by_id.set(&id, ws.as_ref().as_ref());
        self.by_conn.insert(conn, ws);
    }

    pub fn remove(&mut self, conn: ConnId) -> Option<WebSocket> {
        let ws = self.by_conn.remove(&conn)?;
        self.conn_of.delete(ws.as_ref().as_ref());
        self.by_id.delete(&JsValue::from_f64(conn as f64));
        Some(ws)
    }

    pub fn get(&self, conn: ConnId) -> Option<&WebSocket> {
        self.by_conn.get(&conn)
    }

    /// The connection id of an open socket this room holds (`None` for one it closed or
    /// never held).
    pub fn conn_of(&self, ws: &WebSocket) -> Option<ConnId> {
        let map: &ConnMap = self.conn_of.unchecked_ref();
        let id = map.get_id(ws.as_ref().as_ref());
        // Ids are small whole numbers (from 1); anything else is not one of ours.
        (id.is_finite() && id >= 0.0).then_some(id as ConnId)
    }

    /// Sends `text` (a JavaScript string) to each of `conns` that is open, in one call. A
    /// closing socket cannot be sent to; its close event follows, so the failure is not an
    /// error.
    pub fn send_to(&self, conns: &[f64], text: &JsValue) {
        keyboardia_send_to(&self.by_id, conns, text);
    }
}
