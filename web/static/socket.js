// The page's WebSocket to the room, owned by this dedicated worker (web/src/socket.rs is the
// page's side). The page's main thread runs the editor (eframe paints inside event callbacks),
// so a frame reaches it tens of ms after it arrived; the clock estimator needs when the frame
// really arrived and when the ping really left. This thread does nothing else: it stamps each
// frame on arrival and each ping as it is sent, on the PAGE's clock.
//
// Clocks: `performance.now()` here counts from this worker's `timeOrigin`, the page's from its
// own; both origins are on one clock (ms since the epoch), so a worker time converts to the
// page's by adding `timeOrigin(worker) - timeOrigin(page)`, computed once per socket.
//
// Page -> worker: {t:"open", serial, url, timeOrigin}  open a socket (closing any other)
//                 {t:"send", serial, text, ping}      send a text frame; a ping ({"t":"ping","c"})
//                                                     gets `c` = the time it is sent
//                 {t:"close", serial}                 close it
// Worker -> page: {t:"open"|"message"|"close", serial, at, text?, code?}  `at`: page clock, ms
"use strict";

let ws = null;
let serial = -1;
let shift = 0;

const now = () => performance.now() + shift;

function close() {
  if (ws) {
    ws.onopen = ws.onmessage = ws.onclose = ws.onerror = null;
    try { ws.close(); } catch (_) { /* already closed */ }
  }
  ws = null;
}

onmessage = (e) => {
  const m = e.data;
  if (m.t === "open") {
    close();
    serial = m.serial;
    shift = performance.timeOrigin - m.timeOrigin;
    const id = serial;
    let socket;
    try {
      socket = new WebSocket(m.url);
    } catch (_) {
      postMessage({ t: "close", serial: id, at: now(), code: 0 });
      return;
    }
    ws = socket;
    socket.onopen = () => postMessage({ t: "open", serial: id, at: now() });
    socket.onmessage = (ev) => {
      const at = now();
      if (typeof ev.data === "string") postMessage({ t: "message", serial: id, at, text: ev.data });
    };
    socket.onclose = (ev) => {
      if (ws === socket) ws = null;
      postMessage({ t: "close", serial: id, at: now(), code: ev.code });
    };
  } else if (m.t === "send") {
    if (!ws || m.serial !== serial || ws.readyState !== WebSocket.OPEN) return;
    if (m.ping) {
      const ping = JSON.parse(m.text);
      ping.c = now();
      ws.send(JSON.stringify(ping));
    } else {
      ws.send(m.text);
    }
  } else if (m.t === "close") {
    if (m.serial === serial) close();
  }
};
