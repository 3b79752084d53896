//! `window.keyboardia`: what tests and the benchmark read from the page (the session, the
//! presence, where a step is drawn, the audio clock) and a few commands, so a browser test
//! clicks a step where it is drawn instead of guessing pixels.

use std::rc::Rc;

use js_sys::{Function, Object, Reflect};
use keyboardia_core::Op;
use keyboardia_ui::host::Connection;
use wasm_bindgen::prelude::*;

use crate::mic::Mic;
use crate::page::{now_ms, Page};

/// Grid rows as the editor drew them last (for [`install`]'s `cell`).
pub type GridRows = std::rc::Rc<std::cell::RefCell<Vec<(keyboardia_core::TrackId, egui::Rect)>>>;

/// A text the `textRect` hook looks for in the editor's frames, and where the last frame drew
/// it (egui points). Searched only while a test asks, so frames cost nothing otherwise.
#[derive(Default)]
pub struct TextQuery {
    /// The exact text of a label to find.
    pub wanted: Option<String>,
    /// Where the last frame drew it, if it did.
    pub found: Option<egui::Rect>,
}

/// Shared between the hooks and the app (see [`TextQuery`]).
pub type TextQueryCell = std::rc::Rc<std::cell::RefCell<TextQuery>>;

/// Where the first text shape reading exactly `text` lies in the frame `ctx` just drew (layers
/// back to front), in egui points.
pub fn find_text(ctx: &egui::Context, text: &str) -> Option<egui::Rect> {
    let layers: Vec<egui::LayerId> = ctx.memory(|m| m.layer_ids().collect());
    ctx.graphics(|g| {
        let shapes = layers
            .iter()
            .filter_map(|l| g.get(*l))
            .flat_map(|list| list.all_entries())
            .map(|c| &c.shape);
        keyboardia_ui::shapes::text_rect(shapes, text)
    })
}

fn set(o: &Object, k: &str, v: JsValue) {
    let _ = Reflect::set(o, &k.into(), &v);
}

fn func0(f: impl Fn() -> JsValue + 'static) -> Function {
    Closure::wrap(Box::new(f) as Box<dyn Fn() -> JsValue>)
        .into_js_value()
        .into()
}

/// `[x, y, w, h]` in CSS pixels of `r`, a rect in the editor's points.
fn css_rect(page: &Page, r: egui::Rect) -> JsValue {
    let ppp = page
        .repaint
        .borrow()
        .as_ref()
        .map_or(1.0, |c| c.zoom_factor());
    js_sys::Array::of4(
        &(r.left() * ppp).into(),
        &(r.top() * ppp).into(),
        &(r.width() * ppp).into(),
        &(r.height() * ppp).into(),
    )
    .into()
}

/// The page's status as JSON text.
fn status_json(page: &Page, mic: &Mic) -> String {
    let c = page.client.borrow();
    let s = page.status.borrow();
    let connection = match &s.connection {
        Some(Connection::Joined) => "joined".to_owned(),
        Some(Connection::Connecting { attempt }) => format!("connecting {attempt}"),
        Some(Connection::Offline { error, .. }) => format!("offline: {error}"),
        None => "none".to_owned(),
    };
    let players: Vec<_> = c
        .players()
        .iter()
        .map(|p| serde_json::json!({"id": p.id, "name": p.name}))
        .collect();
    serde_json::json!({
        "session": page.session.to_string(),
        "joined": c.is_joined(),
        "you": c.you(),
        "players": players,
        "connection": connection,
        "gone": page.gone.get(),
        "error": s.error,
        "pending": c.pending().count(),
        "seq": c.seq(),
        "samples": page.samples.borrow().iter().map(|s| s.id.to_string()).collect::<Vec<_>>(),
        "clockOffsetMs": c.clock().offset_at(now_ms()),
        "clockRttMs": c.clock().estimate().map(|e| e.rtt),
        "timeline": c.timeline(),
        "recording": mic.recording(),
        "takes": mic.serial(),
    })
    .to_string()
}

/// What [`install_playback`]'s `playback()` answers.
fn playback_json(page: &Page) -> serde_json::Value {
    let Some((tl, now)) = page.timeline_now() else {
        return serde_json::Value::Null;
    };
    let view = page.playback_view();
    let pos = view.position.map(|p| {
        serde_json::json!({
            "entry": p.entry, "pattern": p.pattern, "repeat": p.repeat, "bar": p.bar,
            "step": p.step,
        })
    });
    serde_json::json!({
        "live": page.follows_room(),
        "timeline": tl,
        "now": now,
        "step": crate::playback::step_at(&tl, now),
        "pattern": view.pattern,
        "origin": view.origin,
        "songMode": view.song_mode,
        "queued": view.queued,
        "position": pos,
        "fill": view.fill,
    })
}

/// The playback hooks: `playback()` (JSON text: the timeline the page plays with its
/// playback, whether it is the room's, the time now on its clock, the step, and what the
/// editor shows: pattern, origin, songMode, queued, position, fill), `cuePattern("B")`,
/// `songMode(on)` and `fill(on)` (what the pattern slots, the song panel and Fill do).
fn install_playback(hooks: &Object, page: &Rc<Page>) {
    let p = page.clone();
    set(
        hooks,
        "playback",
        func0(move || playback_json(&p).to_string().into()).into(),
    );
    let p = page.clone();
    let cue = Closure::wrap(Box::new(move |pt: String| -> bool {
        match pt.parse() {
            Ok(pt) => {
                p.cue_pattern(pt);
                true
            }
            Err(_) => false,
        }
    }) as Box<dyn Fn(String) -> bool>);
    set(hooks, "cuePattern", cue.into_js_value());
    let p = page.clone();
    let song = Closure::wrap(Box::new(move |on: bool| p.set_song_mode(on)) as Box<dyn Fn(bool)>);
    set(hooks, "songMode", song.into_js_value());
    let p = page.clone();
    let fill = Closure::wrap(Box::new(move |on: bool| p.set_fill(on)) as Box<dyn Fn(bool)>);
    set(hooks, "fill", fill.into_js_value());
}

/// Installs `window.keyboardia`.
pub fn install(page: &Rc<Page>, mic: &Rc<Mic>, grid_rows: GridRows, texts: TextQueryCell) {
    let Some(window) = web_sys::window() else {
        return;
    };
    let hooks = Object::new();
    let (p, m) = (page.clone(), mic.clone());
    set(
        &hooks,
        "status",
        func0(move || status_json(&p, &m).into()).into(),
    );
    let p = page.clone();
    set(
        &hooks,
        "state",
        func0(move || {
            serde_json::to_string(p.client.borrow().state())
                .unwrap_or_default()
                .into()
        })
        .into(),
    );
    // cell(trackIndex, step) -> [x, y, w, h] in CSS pixels, or null when not drawn.
    let (p, rows) = (page.clone(), grid_rows);
    let cell = Closure::wrap(Box::new(move |track: u32, step: u32| -> JsValue {
        let Some(id) = p
            .client
            .borrow()
            .state()
            .tracks
            .get(track as usize)
            .map(|t| t.id)
        else {
            return JsValue::NULL;
        };
        let rows = rows.borrow();
        let Some((_, row)) = rows.iter().find(|(t, _)| *t == id) else {
            return JsValue::NULL;
        };
        let r =
            keyboardia_ui::grid::cell_rect(*row, keyboardia_ui::editor::ROW_HEIGHT_PT, step as u8);
        css_rect(&p, r)
    }) as Box<dyn Fn(u32, u32) -> JsValue>);
    set(&hooks, "cell", cell.into_js_value());
    // textRect(text) -> [x, y, w, h] in CSS pixels of the first label reading `text` in the
    // last frame (a button the editor drew), or null; asking starts the search.
    let p = page.clone();
    let text_rect = Closure::wrap(Box::new(move |text: String| -> JsValue {
        let mut q = texts.borrow_mut();
        if q.wanted.as_deref() != Some(text.as_str()) {
            *q = TextQuery {
                wanted: Some(text),
                found: None,
            };
        }
        if let Some(ctx) = p.repaint.borrow().as_ref() {
            ctx.request_repaint();
        }
        let Some(r) = q.found else {
            return JsValue::NULL;
        };
        css_rect(&p, r)
    }) as Box<dyn Fn(String) -> JsValue>);
    set(&hooks, "textRect", text_rect.into_js_value());
    // setStep(trackIndex, step, on): the same op a click sends.
    let p = page.clone();
    let set_step = Closure::wrap(Box::new(move |track: u32, step: u32, on: bool| -> JsValue {
        let Some(tr) = p
            .client
            .borrow()
            .state()
            .tracks
            .get(track as usize)
            .map(|t| t.id)
        else {
            return false.into();
        };
        let ok = p
            .client
            .borrow_mut()
            .edit(Op::SetStep {
                tr,
                s: step as u8,
                on,
                pt: keyboardia_core::PatternId::A,
            })
            .is_ok();
        p.pump();
        ok.into()
    }) as Box<dyn Fn(u32, u32, bool) -> JsValue>);
    set(&hooks, "setStep", set_step.into_js_value());
    // The engine node's port (capture and status messages, see processor.js).
    let p = page.clone();
    set(
        &hooks,
        "port",
        func0(move || {
            p.audio
                .borrow()
                .as_ref()
                .map_or(JsValue::NULL, |a| a.port.clone().into())
        })
        .into(),
    );
    // audio() -> {rate, contextToServerMs, contextToLocalMs, state} or null before Start.
    let p = page.clone();
    set(
        &hooks,
        "audio",
        func0(move || {
            let audio = p.audio.borrow();
            let Some(a) = audio.as_ref() else {
                return JsValue::NULL;
            };
            let o = Object::new();
            set(&o, "rate", a.sample_rate_hz.into());
            set(&o, "currentTime", a.ctx.current_time().into());
            set(&o, "now", now_ms().into());
            let model = p.worklet_model();
            set(
                &o,
                "contextToServerMs",
                model.map_or(JsValue::NULL, |m| m.offset_ms.into()),
            );
            set(&o, "ratio", model.map_or(JsValue::NULL, |m| m.ratio.into()));
            set(
                &o,
                "contextToLocalMs",
                p.context_clock
                    .borrow()
                    .local_ms(0.0)
                    .map_or(JsValue::NULL, JsValue::from),
            );
            set(&o, "context", a.ctx.clone().into());
            o.into()
        })
        .into(),
    );
    // Server time now by this page's clock estimate (null before it is known).
    let p = page.clone();
    set(
        &hooks,
        "serverNow",
        func0(move || p.server_now_ms().map_or(JsValue::NULL, JsValue::from)).into(),
    );
    let p = page.clone();
    set(
        &hooks,
        "play",
        func0(move || {
            p.client.borrow_mut().set_playing(true);
            p.pump();
            JsValue::TRUE
        })
        .into(),
    );
    let (p, m) = (page.clone(), mic.clone());
    let hold = Closure::wrap(Box::new(move |on: bool| {
        Mic::set_hold(&p, &m, on);
    }) as Box<dyn Fn(bool)>);
    set(&hooks, "hold", hold.into_js_value());
    // addTake(): the latest take onto the grid (shared); the new track's id, or the error.
    let (p, m) = (page.clone(), mic.clone());
    set(
        &hooks,
        "addTake",
        func0(move || match crate::mic::add_latest_take(&p, &m) {
            Ok(added) => added.track.to_string().into(),
            Err(e) => format!("error: {e}").into(),
        })
        .into(),
    );
    // fork(): "Fork to edit": a promise of the fork's id; the page then opens it.
    let p = page.clone();
    set(
        &hooks,
        "fork",
        func0(move || {
            let p = p.clone();
            wasm_bindgen_futures::future_to_promise(async move {
                let id = crate::net::fork_session(&p.origin, p.session)
                    .await
                    .map_err(|e| JsValue::from(e.to_string()))?;
                if let Some(w) = web_sys::window() {
                    let _ = w.location().assign(&format!("/s/{id}"));
                }
                Ok(JsValue::from(id.to_string()))
            })
            .into()
        })
        .into(),
    );
    install_playback(&hooks, page);
    crate::audio_hooks::install(&hooks, page);
    let _ = Reflect::set(&window, &"keyboardia".into(), &hooks);
}
