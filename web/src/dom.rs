//! The page's few DOM helpers (no state): the notice over the page, elements by id, randomness.

use wasm_bindgen::JsCast;
use web_sys::HtmlElement;

/// The element with id `id`, if any.
pub fn element(id: &str) -> Option<HtmlElement> {
    web_sys::window()?
        .document()?
        .get_element_by_id(id)?
        .dyn_into()
        .ok()
}

/// Shows `text` over the page (a session that does not exist, an address that names none).
pub fn show_notice(text: &str) {
    if let Some(n) = element("notice") {
        n.set_inner_text(text);
        n.set_hidden(false);
    }
    if let Some(b) = element("start") {
        b.set_hidden(true);
    }
}

/// A random u64 from the browser (track ids, backoff jitter).
pub fn random_u64() -> u64 {
    let hi = (js_sys::Math::random() * 4_294_967_296.0) as u64;
    let lo = (js_sys::Math::random() * 4_294_967_296.0) as u64;
    (hi << 32) | lo
}

/// Marks a moment of the page's start on the performance timeline (the benchmark reads them:
/// where the time from navigation to sound goes).
pub fn mark(name: &str) {
    if let Some(perf) = web_sys::window().and_then(|w| w.performance()) {
        let _ = perf.mark(name);
    }
}
