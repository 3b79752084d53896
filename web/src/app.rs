//! The page's entry: reads the session from the address, joins it at once (the grid, the
//! players and every edit show and can be edited before any click), runs the ui editor in an
//! eframe web shell, and wires the Start button that unlocks sound. A beat's address (`/b/{id}`)
//! opens the beat read-only instead (see [`crate::beats`]).

use std::rc::Rc;

use keyboardia_core::SessionState;
use keyboardia_ui::{Controller, Editor};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

use crate::beats::AppHost;
use crate::dom::{element, random_u64, show_notice};
use crate::hooks::{find_text, GridRows, TextQueryCell};
use crate::host::WebHost;
use crate::mic::Mic;
use crate::net::{self, HttpError};
use crate::page::Page;
use crate::sound::start_sound;

/// The eframe app: the editor over the page.
struct App {
    /// The ui crate's editor.
    editor: Editor<AppHost>,
    /// Copied from the editor after each frame.
    grid_rows: GridRows,
    /// The `textRect` hook's search, run after each frame while a test asks.
    texts: TextQueryCell,
}

impl eframe::App for App {
    fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut eframe::Frame) {
        self.editor.ui(ui);
        self.grid_rows
            .borrow_mut()
            .clone_from(&self.editor.grid_rows().to_vec());
        let mut q = self.texts.borrow_mut();
        if let Some(text) = &q.wanted {
            q.found = find_text(ui.ctx(), text);
        }
    }
}

/// The Start button: [`start_sound`].
fn wire_start(page: &Rc<Page>) {
    let Some(button) = element("start") else {
        return;
    };
    button.set_hidden(false);
    // When Start became clickable (the benchmark reads it: a WebDriver click arrives late on a
    // busy page, so the harness cannot time it from outside).
    if let Some(perf) = web_sys::window().and_then(|w| w.performance()) {
        let _ = perf.mark("keyboardia-start-shown");
    }
    let page = page.clone();
    let on_click = Closure::wrap(Box::new(move || start_sound(&page)) as Box<dyn FnMut()>);
    button.set_onclick(Some(on_click.as_ref().unchecked_ref()));
    on_click.forget();
}

/// The page's entry point (called by the module's start).
pub fn run() -> Result<(), JsValue> {
    let window = web_sys::window().ok_or("no window")?;
    let location = window.location();
    let origin = location.origin()?;
    let pathname = location.pathname()?;
    if let Some(beat) = crate::route::beat_of(&pathname) {
        let beat = match beat {
            Ok(id) => id,
            Err(e) => {
                show_notice(&e.to_string());
                return Ok(());
            }
        };
        wasm_bindgen_futures::spawn_local(async move {
            let mic = Rc::new(Mic::default());
            match crate::beats::beat_page(origin, beat, mic).await {
                Ok(host) => {
                    wire_start(&host.web.page);
                    if let Err(e) = start_editor(host) {
                        show_notice(&format!("The editor could not start: {e:?}"));
                    }
                }
                Err(e) => show_notice(&format!("This beat cannot be played: {e}")),
            }
        });
        return Ok(());
    }
    let session = match crate::route::session_of(&pathname) {
        Ok(id) => id,
        Err(e) => {
            show_notice(&e.to_string());
            return Ok(());
        }
    };
    let page = Page::new(session, origin, SessionState::default(), random_u64());
    // Join at once; the REST load only checks that the session exists.
    page.start();
    {
        let page = page.clone();
        wasm_bindgen_futures::spawn_local(async move {
            if let Err(HttpError::NotFound) = net::load_session(&page.origin, page.session).await {
                page.mark_gone();
            }
        });
    }
    wire_start(&page);
    let mic = Rc::new(Mic::default());
    start_editor(crate::beats::session_host(WebHost { page, mic }))
}

/// Runs the editor over `host` in the page's canvas, with the test hooks.
fn start_editor(host: AppHost) -> Result<(), JsValue> {
    let grid_rows = GridRows::default();
    let texts = TextQueryCell::default();
    let canvas = web_sys::window()
        .and_then(|w| w.document())
        .ok_or("no document")?
        .get_element_by_id("keyboardia")
        .ok_or("no canvas")?
        .dyn_into::<web_sys::HtmlCanvasElement>()?;
    let page = host.web.page.clone();
    crate::hooks::install(&page, &host.web.mic, grid_rows.clone(), texts.clone());
    crate::beats::install_hooks(&host);
    if let Some(account) = &host.account {
        crate::account::install_hooks(account);
    }
    wasm_bindgen_futures::spawn_local(async move {
        let started = eframe::WebRunner::new()
            .start(
                canvas,
                eframe::WebOptions::default(),
                Box::new(move |cc| {
                    *page.repaint.borrow_mut() = Some(cc.egui_ctx.clone());
                    let state = page.client.borrow().state().clone();
                    let controller = Controller::new(state, Box::new(random_u64));
                    Ok(Box::new(App {
                        editor: Editor::with_controller(host, controller),
                        grid_rows,
                        texts,
                    }))
                }),
            )
            .await;
        if let Err(e) = started {
            show_notice(&format!("The editor could not start: {e:?}"));
        }
    });
    Ok(())
}
