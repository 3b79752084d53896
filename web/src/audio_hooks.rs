//! The audio's test hooks on `window.keyboardia` (installed by `hooks`, kept apart so that
//! `audio` never needs the page).

use std::rc::Rc;

use js_sys::{Array, Object, Reflect};
use keyboardia_core::Instrument;
use wasm_bindgen::prelude::*;

use crate::page::Page;

/// The audio's test hooks on `window.keyboardia` (see `hooks`): `meters()` (the levels the
/// editor's meters last showed: each track slot's, then the master's; null before Start),
/// `preview(sound, volume, pan)` (what the sound picker does on hover; false for an unknown
/// sound or before Start) and `stop()` (stops the shared transport, as Stop does).
pub fn install(hooks: &Object, page: &Rc<Page>) {
    let set = |k: &str, v: JsValue| {
        let _ = Reflect::set(hooks, &k.into(), &v);
    };
    let p = page.clone();
    let meters = Closure::wrap(Box::new(move || {
        let audio = p.audio.borrow();
        let Some(a) = audio.as_ref() else {
            return JsValue::NULL;
        };
        let l = a.shown_levels();
        let all: Array = l
            .tracks
            .iter()
            .chain([&l.master])
            .map(|x| JsValue::from(*x))
            .collect();
        all.into()
    }) as Box<dyn Fn() -> JsValue>);
    set("meters", meters.into_js_value());
    let p = page.clone();
    let preview = Closure::wrap(Box::new(move |sound: String, volume: f32, pan: f32| {
        let audio = p.audio.borrow();
        match (sound.parse::<Instrument>(), audio.as_ref()) {
            (Ok(sound), Some(a)) => {
                a.preview(&sound, volume, pan);
                true
            }
            _ => false,
        }
    }) as Box<dyn Fn(String, f32, f32) -> bool>);
    set("preview", preview.into_js_value());
    let p = page.clone();
    let stop = Closure::wrap(Box::new(move || {
        p.client.borrow_mut().set_playing(false);
        p.pump();
    }) as Box<dyn Fn()>);
    set("stop", stop.into_js_value());
}
