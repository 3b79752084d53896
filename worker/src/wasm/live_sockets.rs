//! A live session's open sockets, by connection id and by socket, and sending one text to
//! many of them.
//!
//! Each message handler must know which connection a socket is. Reading the socket's
//! attachment for that costs a structured-clone read and a field-by-field conversion per
//! message; a JavaScript `Map` from the socket object to its id costs one call. The attachment
//! stays the source after a wake (the map is rebuilt from it).
//!
//! A broadcast is one JavaScript string handed to every socket ([`Sockets::send`]), not one
//! conversion of the Rust text per socket.

use std::collections::HashMap;

use keyboardia_core::room::ConnId;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use worker::WebSocket;

#[wasm_bindgen]
extern "C" {
    /// The runtime's WebSocket, for `send` with a JavaScript string already made.
    #[wasm_bindgen(extends = js_sys::Object)]
    type RawSocket;

    #[wasm_bindgen(method, catch, js_name = send)]
    fn send_value(this: &RawSocket, data: &JsValue) -> Result<(), JsValue>;
}

/// The open sockets of the room.
pub struct Sockets {
    /// Open sockets by connection id.
    by_conn: HashMap<ConnId, WebSocket>,
    /// Socket object → connection id (a number), the same entries as `by_conn`.
    conn_of: js_sys::Map,
}

impl Sockets {
    pub fn new() -> Self {
        Self {
            by_conn: HashMap::new(),
            conn_of: js_sys::Map::new(),
        }
    }

    pub fn insert(&mut self, conn: ConnId, ws: WebSocket) {
        self.conn_of
            .set(ws.as_ref().as_ref(), &JsValue::from_f64(conn as f64));
        self.by_conn.insert(conn, ws);
    }

    pub fn remove(&mut self, conn: ConnId) -> Option<WebSocket> {
        let ws = self.by_conn.remove(&conn)?;
        self.conn_of.delete(ws.as_ref().as_ref());
        Some(ws)
    }

    pub fn get(&self, conn: ConnId) -> Option<&WebSocket> {
        self.by_conn.get(&conn)
    }

    /// The connection id of an open socket this room holds (`None` for one it closed or
    /// never held).
    pub fn conn_of(&self, ws: &WebSocket) -> Option<ConnId> {
        self.conn_of
            .get(ws.as_ref().as_ref())
            .as_f64()
            .map(|c| c as ConnId)
    }

    /// Sends `text` (a JavaScript string) to `conn`. A closing socket cannot be sent to; its
    /// close event follows, so the failure is not an error.
    pub fn send(&self, conn: ConnId, text: &JsValue) {
        if let Some(ws) = self.by_conn.get(&conn) {
            let raw: &RawSocket = ws.as_ref().unchecked_ref();
            let _ = raw.send_value(text);
        }
    }
}
