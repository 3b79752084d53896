//! Sound starts: the Start button and the beat page's first Play.

use std::rc::Rc;

use crate::dom::{element, show_notice};
use crate::page::Page;

/// Unlocks sound (the context is created inside the user's gesture, or right after it) and
/// plays (starting the session's transport if it is stopped; alone on a beat page).
pub fn start_sound(page: &Rc<Page>) {
    if let Some(b) = element("start") {
        b.set_hidden(true);
    }
    let ctx = match page.audio_context() {
        Ok(ctx) => ctx,
        Err(e) => {
            show_notice(&format!("Sound could not start: {e:?}"));
            return;
        }
    };
    let page = page.clone();
    wasm_bindgen_futures::spawn_local(async move {
        if let Err(e) = page.start_audio(ctx).await {
            show_notice(&e);
            return;
        }
        page.play_if_stopped();
    });
}
