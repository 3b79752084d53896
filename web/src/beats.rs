//! Beats in the browser (issue 15): the beats panel over REST (publish, history, open, remix),
//! the beat page `/b/{id}` (the app as a read-only player: the beat's state and samples, no
//! socket, no edit), and exports rendered by the worklet's engine module, instantiated a second
//! time on this thread (`web/worklet/src/export.rs`): the same renderer as `keyboardia-render`
//! (the same MIDI bytes; the same WAV but for the platforms' last-bit rounding of exp/sin/cos).
//!
//! [`AppHost`] is ui's host of the app: the page's [`WebHost`] plus [`Beats`]; on the beat page
//! its store refuses every op (`OpError::ReadOnly`), underneath the editor's read-only mode.

use std::cell::RefCell;
use std::rc::Rc;

use js_sys::{Array, Float32Array, Function, Object, Reflect, Uint8Array, WebAssembly};
use keyboardia_core::api::{self, BeatList};
use keyboardia_core::audio::decode_wav;
use keyboardia_core::beat::{beat_from_json, Beat, PublishBeat};
use keyboardia_core::schema::session_from_json;
use keyboardia_core::song::{Arrangement, PlaybackView};
use keyboardia_core::{
    BeatId, Instrument, Op, OpError, PatternId, SampleId, SessionId, SessionState,
};
use keyboardia_ui::beats_panel::{app_link, beat_link};
use keyboardia_ui::host::{
    BeatExport, BeatView, Beats, BeatsStatus, LiveSession, Meters, OpSink, Recorder, Settings,
    Store, Transport,
};
use keyboardia_ui::Host;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;

use crate::host::WebHost;
use crate::net::{self, HttpError};
use crate::page::Page;

/// Length of the page's exports: `keyboardia-render`'s default, 4 bars.
pub const EXPORT_BARS: f64 = 4.0;
/// Rate of the page's WAV exports, in Hz (`keyboardia-render`'s default).
pub const EXPORT_RATE_HZ: f64 = 48_000.0;

/// Why a beats request failed.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum BeatsError {
    /// The REST call failed (the same errors as every other call of the page).
    #[error(transparent)]
    Http(#[from] HttpError),
    /// No beat is shown, so there is nothing to remix or export.
    #[error("no beat is shown")]
    NoBeat,
    /// The engine module could not export.
    #[error("export failed: {0}")]
    Export(String),
}

/// A browser call that threw (as the page's REST calls report it).
fn js_err(e: JsValue) -> BeatsError {
    HttpError::Network(format!("{e:?}")).into()
}

/// One request (a JSON body when given); the body of a 2xx reply.
async fn call(method: &str, url: &str, json: Option<&[u8]>) -> Result<Vec<u8>, BeatsError> {
    let content_type = json.map(|_| "application/json");
    Ok(net::call(method, url, json, content_type).await?)
}

fn bad(e: impl std::fmt::Display) -> BeatsError {
    HttpError::BadReply(e.to_string()).into()
}

/// `GET /api/beats/{id}`.
pub async fn get_beat(origin: &str, id: BeatId) -> Result<Beat, BeatsError> {
    let bytes = call("GET", &format!("{origin}{}", api::beat_path(id)), None).await?;
    beat_from_json(&bytes).map_err(bad)
}

/// `POST /api/sessions/{id}/beats` with a name.
pub async fn publish(origin: &str, session: SessionId, name: &str) -> Result<Beat, BeatsError> {
    let body = serde_json::to_vec(&PublishBeat {
        name: (!name.is_empty()).then(|| name.to_owned()),
    })
    .map_err(bad)?;
    let url = format!("{origin}{}", api::session_beats_path(session));
    beat_from_json(&call("POST", &url, Some(&body)).await?).map_err(bad)
}

/// `GET /api/sessions/{id}/beats`.
pub async fn list(
    origin: &str,
    session: SessionId,
) -> Result<Vec<keyboardia_core::beat::BeatSummary>, BeatsError> {
    let url = format!("{origin}{}", api::session_beats_path(session));
    let list: BeatList = serde_json::from_slice(&call("GET", &url, None).await?).map_err(bad)?;
    Ok(list.beats)
}

/// `POST /api/beats/{id}/remix`: the new session's id.
pub async fn remix(origin: &str, id: BeatId) -> Result<SessionId, BeatsError> {
    let url = format!("{origin}{}", api::remix_path(id));
    let session = session_from_json(&call("POST", &url, None).await?).map_err(bad)?;
    Ok(session.id)
}

/// Whether session `id` still exists.
async fn session_exists(origin: &str, id: SessionId) -> bool {
    let url = format!("{origin}{}", api::session_path(id));
    call("GET", &url, None).await.is_ok()
}

/// What the app shows: a live session, or a published beat read-only.
pub enum Mode {
    /// `/s/{id}`: the panel publishes and lists this session's beats.
    Session,
    /// `/b/{id}`: this beat, read-only.
    Beat(Box<Beat>),
}

/// The beats side of the page.
pub struct WebBeats {
    /// The page (its origin, session, samples and audio).
    page: Rc<Page>,
    /// Session or beat page.
    mode: Mode,
    /// What the panel shows (requests write their outcome here).
    status: RefCell<BeatsStatus>,
    /// The source session's link, once it is known to exist (beat page).
    source_link: RefCell<Option<String>>,
    /// This, for the background requests the panel's calls start.
    me: std::rc::Weak<WebBeats>,
}

impl WebBeats {
    fn new(page: Rc<Page>, mode: Mode) -> Rc<Self> {
        Rc::new_cyclic(|me| Self {
            page,
            mode,
            status: RefCell::new(BeatsStatus::default()),
            source_link: RefCell::new(None),
            me: me.clone(),
        })
    }

    fn beat(&self) -> Option<&Beat> {
        match &self.mode {
            Mode::Beat(b) => Some(b),
            Mode::Session => None,
        }
    }

    fn say(&self, message: Option<String>, error: bool) {
        let mut s = self.status.borrow_mut();
        s.working = None;
        s.message = message;
        s.message_is_error = error;
        drop(s);
        self.page.request_repaint();
    }

    fn working(&self, what: &str) {
        self.status.borrow_mut().working = Some(what.to_owned());
        self.page.request_repaint();
    }

    /// Runs `f` in the background with a handle on `self`.
    fn spawn<F>(&self, f: impl FnOnce(Rc<Self>) -> F + 'static)
    where
        F: std::future::Future<Output = ()> + 'static,
    {
        if let Some(me) = self.me.upgrade() {
            wasm_bindgen_futures::spawn_local(f(me));
        }
    }

    /// Publishes the page's session as a beat named `name`; the new beat's link.
    pub async fn publish_now(self: &Rc<Self>, name: &str) -> Result<String, BeatsError> {
        self.working("Publishing…");
        let result = publish(&self.page.origin, self.page.session, name).await;
        match &result {
            Ok(beat) => {
                let link = beat_link(&self.page.origin, beat.id);
                self.status.borrow_mut().history.push(beat.summary());
                self.say(Some(format!("Published: {link}")), false);
            }
            Err(e) => self.say(Some(format!("Publish failed: {e}")), true),
        }
        result.map(|b| beat_link(&self.page.origin, b.id))
    }

    /// Remixes the beat shown and opens the new session; its id.
    pub async fn remix_now(self: &Rc<Self>) -> Result<SessionId, BeatsError> {
        let id = self.beat().map(|b| b.id).ok_or(BeatsError::NoBeat)?;
        self.working("Remixing…");
        match remix(&self.page.origin, id).await {
            Ok(session) => {
                navigate(&format!("/s/{session}"));
                Ok(session)
            }
            Err(e) => {
                self.say(Some(format!("Remix failed: {e}")), true);
                Err(e)
            }
        }
    }

    /// Renders the beat shown (`bars` bars) to a file's bytes.
    pub async fn export_bytes(&self, format: BeatExport, bars: f64) -> Result<Vec<u8>, BeatsError> {
        let beat = self.beat().ok_or(BeatsError::NoBeat)?;
        let json = serde_json::to_vec(&beat.state).map_err(bad)?;
        let engine = ExportEngine::load().await?;
        for s in self.page.samples.borrow().iter() {
            engine.add_sample(&s.id, &s.frames, s.sample_rate_hz)?;
        }
        engine.export(format, &json, bars)
    }
}

/// Opens `path` on this origin in this tab.
fn navigate(path: &str) {
    if let Some(w) = web_sys::window() {
        let _ = w.location().assign(path);
    }
}

impl Beats for WebBeats {
    fn beats_status(&self) -> BeatsStatus {
        let mut s = self.status.borrow().clone();
        s.viewing = self.beat().map(|b| BeatView {
            id: b.id,
            name: b.name.clone(),
            link: beat_link(&self.page.origin, b.id),
            source_link: self.source_link.borrow().clone(),
            created_by: b.byline().map(str::to_owned),
        });
        s
    }

    fn publish(&self, name: &str) {
        let name = name.to_owned();
        self.spawn(|me| async move {
            let _ = me.publish_now(&name).await;
        });
    }

    fn refresh_history(&self) {
        if self.beat().is_some() {
            return;
        }
        self.spawn(|me| async move {
            match list(&me.page.origin, me.page.session).await {
                Ok(beats) => {
                    me.status.borrow_mut().history = beats;
                    me.page.request_repaint();
                }
                Err(e) => me.say(Some(format!("History: {e}")), true),
            }
        });
    }

    fn open_beat(&self, server: Option<&str>, id: BeatId) {
        navigate(&beat_link(server.unwrap_or(""), id));
    }

    fn remix(&self) {
        self.spawn(|me| async move {
            let _ = me.remix_now().await;
        });
    }

    fn exports(&self) -> bool {
        self.beat().is_some()
    }

    fn export(&self, format: BeatExport) {
        self.spawn(move |me| async move {
            me.working("Rendering…");
            match me.export_bytes(format, EXPORT_BARS).await {
                Ok(bytes) => {
                    let name = me.file_name(format);
                    match download(&bytes, &name, mime(format)) {
                        Ok(()) => me.say(Some(format!("Exported {name}")), false),
                        Err(e) => me.say(Some(format!("Download failed: {e}")), true),
                    }
                }
                Err(e) => me.say(Some(e.to_string()), true),
            }
        });
    }

    fn open_in_app_link(&self) -> Option<String> {
        let beat = self.beat()?;
        Some(app_link(&beat_link(&self.page.origin, beat.id)))
    }
}

impl WebBeats {
    /// The file an export downloads as: the beat's name (or id), 4 bars.
    fn file_name(&self, format: BeatExport) -> String {
        let base = self
            .beat()
            .map(|b| {
                b.name
                    .as_deref()
                    .map(|n| {
                        n.chars()
                            .map(|c| if c.is_alphanumeric() { c } else { '-' })
                            .collect()
                    })
                    .unwrap_or_else(|| format!("beat-{}", b.id))
            })
            .unwrap_or_else(|| "beat".into());
        let ext = match format {
            BeatExport::Wav => "wav",
            BeatExport::Midi => "mid",
        };
        format!("{base}.{ext}")
    }
}

fn mime(format: BeatExport) -> &'static str {
    match format {
        BeatExport::Wav => "audio/wav",
        BeatExport::Midi => "audio/midi",
    }
}

/// Hands `bytes` to the browser as a download named `name`.
fn download(bytes: &[u8], name: &str, mime: &str) -> Result<(), BeatsError> {
    let parts = Array::of1(&Uint8Array::from(bytes));
    let options = web_sys::BlobPropertyBag::new();
    options.set_type(mime);
    let blob =
        web_sys::Blob::new_with_u8_array_sequence_and_options(&parts, &options).map_err(js_err)?;
    let url = web_sys::Url::create_object_url_with_blob(&blob).map_err(js_err)?;
    let document = web_sys::window()
        .and_then(|w| w.document())
        .ok_or_else(|| BeatsError::Export("no document".into()))?;
    let a: web_sys::HtmlAnchorElement = document
        .create_element("a")
        .map_err(js_err)?
        .dyn_into()
        .map_err(|_| BeatsError::Export("no link element".into()))?;
    a.set_href(&url);
    a.set_download(name);
    a.click();
    let _ = web_sys::Url::revoke_object_url(&url);
    Ok(())
}

/// The worklet's engine module, instantiated on this thread for an export.
struct ExportEngine {
    /// The instance's exports (`kb_*`, `memory`).
    exports: Object,
}

impl ExportEngine {
    /// Instantiates the module the page compiled at load (`window.KEYBOARDIA_ENGINE`), or
    /// fetches and compiles it.
    async fn load() -> Result<Self, BeatsError> {
        let window = web_sys::window().ok_or_else(|| BeatsError::Export("no window".into()))?;
        let prefetched = Reflect::get(&window, &"KEYBOARDIA_ENGINE".into())
            .ok()
            .and_then(|p| p.dyn_into::<js_sys::Promise>().ok());
        let module = match prefetched {
            Some(p) => JsFuture::from(p).await.ok(),
            None => None,
        };
        let module = match module {
            Some(m) => m,
            None => {
                let url = crate::audio::asset("worklet")
                    .ok_or_else(|| BeatsError::Export("the page names no engine".into()))?;
                let bytes = net::get(&url).await?;
                JsFuture::from(WebAssembly::compile(&Uint8Array::from(bytes.as_slice())))
                    .await
                    .map_err(js_err)?
            }
        };
        let module: WebAssembly::Module = module.dyn_into().map_err(js_err)?;
        let instance = WebAssembly::Instance::new(&module, &Object::new()).map_err(js_err)?;
        Ok(Self {
            exports: instance.exports(),
        })
    }

    fn call(&self, name: &str, args: &[JsValue]) -> Result<JsValue, BeatsError> {
        let f: Function = Reflect::get(&self.exports, &name.into())
            .map_err(js_err)?
            .dyn_into()
            .map_err(|_| BeatsError::Export(format!("the engine has no {name}")))?;
        let args: Array = args.iter().collect();
        f.apply(&JsValue::NULL, &args).map_err(js_err)
    }

    fn call_u32(&self, name: &str, args: &[JsValue]) -> Result<u32, BeatsError> {
        Ok(self.call(name, args)?.as_f64().unwrap_or(0.0) as u32)
    }

    /// The module's memory now (it may have grown since the last call).
    fn memory(&self) -> Result<JsValue, BeatsError> {
        let memory: WebAssembly::Memory = Reflect::get(&self.exports, &"memory".into())
            .map_err(js_err)?
            .dyn_into()
            .map_err(js_err)?;
        Ok(memory.buffer())
    }

    /// Writes `bytes` into the module's scratch buffer; their length.
    fn scratch(&self, bytes: &[u8]) -> Result<usize, BeatsError> {
        let ptr = self.call_u32("kb_scratch", &[bytes.len().into()])?;
        Uint8Array::new_with_byte_offset_and_length(&self.memory()?, ptr, bytes.len() as u32)
            .copy_from(bytes);
        Ok(bytes.len())
    }

    fn add_sample(&self, id: &SampleId, frames: &[f32], rate_hz: f32) -> Result<(), BeatsError> {
        let ptr = self.call_u32("kb_export_sample_frames", &[frames.len().into()])?;
        Float32Array::new_with_byte_offset_and_length(&self.memory()?, ptr, frames.len() as u32)
            .copy_from(frames);
        let len = self.scratch(id.as_str().as_bytes())?;
        match self.call("kb_export_commit_sample", &[len.into(), rate_hz.into()])? {
            v if v.as_f64() == Some(0.0) => Ok(()),
            v => Err(BeatsError::Export(format!("sample refused ({v:?})"))),
        }
    }

    fn export(&self, format: BeatExport, json: &[u8], bars: f64) -> Result<Vec<u8>, BeatsError> {
        let len = self.scratch(json)?;
        let rc = match format {
            BeatExport::Wav => self.call(
                "kb_export_wav",
                &[len.into(), bars.into(), 0u32.into(), EXPORT_RATE_HZ.into()],
            )?,
            BeatExport::Midi => {
                self.call("kb_export_midi", &[len.into(), bars.into(), 0u32.into()])?
            }
        };
        if rc.as_f64() != Some(0.0) {
            return Err(BeatsError::Export(format!("the engine said {rc:?}")));
        }
        let ptr = self.call_u32("kb_export_ptr", &[])?;
        let n = self.call_u32("kb_export_len", &[])?;
        Ok(Uint8Array::new_with_byte_offset_and_length(&self.memory()?, ptr, n).to_vec())
    }
}

/// ui's host of the app: the page's host plus beats.
#[derive(Clone)]
pub struct AppHost {
    /// The page's host (store, transport, live session, recorder).
    pub web: WebHost,
    /// Publish, history, open, remix, export.
    pub beats: Rc<WebBeats>,
    /// Sign-in, claim and lock (a session page; the beat page has none).
    pub account: Option<Rc<crate::account::WebAccount>>,
}

impl AppHost {
    fn read_only(&self) -> bool {
        self.beats.beat().is_some()
    }
}

impl OpSink for AppHost {
    /// The beat page applies no op and sends none.
    fn send(&self, op: &Op) -> Result<(), OpError> {
        if self.read_only() {
            return Err(OpError::ReadOnly);
        }
        self.web.send(op)
    }
}

impl Store for AppHost {
    fn state(&self) -> SessionState {
        self.web.state()
    }

    fn sample_ids(&self) -> Vec<SampleId> {
        self.web.sample_ids()
    }
}

impl Transport for AppHost {
    fn playing(&self) -> bool {
        self.web.playing()
    }

    fn sixteenth(&self) -> u64 {
        self.web.sixteenth()
    }

    fn run(&self) -> bool {
        self.web.run()
    }

    /// On the beat page Play also starts sound the first time.
    fn set_run(&self, run: bool) {
        if run && self.web.page.audio.borrow().is_none() {
            crate::sound::start_sound(&self.web.page);
            return;
        }
        self.web.set_run(run);
    }

    fn playback_view(&self) -> PlaybackView {
        self.web.playback_view()
    }

    /// Playback, not an edit: the beat page switches patterns and plays the song too.
    fn cue_pattern(&self, pt: PatternId) {
        self.web.cue_pattern(pt)
    }

    fn set_song_mode(&self, on: bool) {
        self.web.set_song_mode(on)
    }

    fn set_fill(&self, on: bool) {
        Transport::set_fill(&self.web, on)
    }
}

impl LiveSession for AppHost {
    fn status(&self) -> keyboardia_ui::host::Status {
        LiveSession::status(&self.web)
    }
    fn is_joined(&self) -> bool {
        self.web.is_joined()
    }
    fn timeline_playing(&self) -> Option<bool> {
        self.web.timeline_playing()
    }
    fn invite_link(&self) -> Option<String> {
        self.web.invite_link()
    }
    fn default_server(&self) -> String {
        self.web.default_server()
    }
    fn parse_invite(
        &self,
        text: &str,
    ) -> Result<(Option<String>, SessionId), keyboardia_ui::host::LiveError> {
        self.web.parse_invite(text)
    }
    fn create(
        &self,
        server: &str,
        name: &str,
    ) -> Result<SessionId, keyboardia_ui::host::LiveError> {
        self.web.create(server, name)
    }
    fn join(
        &self,
        server: &str,
        session: SessionId,
        name: &str,
    ) -> Result<(), keyboardia_ui::host::LiveError> {
        self.web.join(server, session, name)
    }
    fn fork(&self) -> Result<SessionId, keyboardia_ui::host::LiveError> {
        self.web.fork()
    }
    fn leave(&self) {
        self.web.leave()
    }
    fn set_playing(&self, playing: bool) {
        self.web.set_playing(playing)
    }
    fn share_sample_file(&self, path: &str) -> Result<String, keyboardia_ui::host::LiveError> {
        self.web.share_sample_file(path)
    }
    /// A beat link opens the beat page.
    fn open_beat_link(&self, text: &str) -> Option<Result<String, keyboardia_ui::host::LiveError>> {
        let (server, id) = keyboardia_ui::beats_panel::parse_beat_link(text)?;
        self.beats.open_beat(server.as_deref(), id);
        Some(Ok(format!("opening beat {id}")))
    }
}

impl Host for AppHost {
    fn store(&self) -> &dyn Store {
        self
    }
    fn transport(&self) -> &dyn Transport {
        self
    }
    fn settings(&self) -> &dyn Settings {
        &self.web
    }
    fn live(&self) -> &dyn LiveSession {
        self
    }
    fn recorder(&self) -> &dyn Recorder {
        &self.web
    }
    fn preview_sound(&self, sound: &Instrument, volume: f32, pan: f32) {
        if !self.read_only() {
            self.web.preview_sound(sound, volume, pan)
        }
    }
    fn meters(&self) -> Option<&dyn Meters> {
        self.web.meters()
    }
    fn beats(&self) -> Option<&dyn Beats> {
        Some(&*self.beats)
    }
    fn set_fill(&mut self, on: bool) {
        Transport::set_fill(&self.web, on)
    }
    fn account(&self) -> Option<&dyn keyboardia_ui::host::Account> {
        self.account
            .as_deref()
            .map(|a| a as &dyn keyboardia_ui::host::Account)
    }
}

/// The host of a session page.
pub fn session_host(web: WebHost) -> AppHost {
    let beats = WebBeats::new(web.page.clone(), Mode::Session);
    beats.refresh_history();
    let account = Some(crate::account::WebAccount::new(web.page.clone()));
    AppHost {
        web,
        beats,
        account,
    }
}

/// The beat page: fetches the beat, shows it read-only and fetches its samples; the page
/// (never connected), and the host for the editor.
pub async fn beat_page(
    origin: String,
    id: BeatId,
    mic: Rc<crate::mic::Mic>,
) -> Result<AppHost, BeatsError> {
    let beat = get_beat(&origin, id).await?;
    let page = Page::new(
        beat.source_session_id,
        origin.clone(),
        beat.state.clone(),
        crate::dom::random_u64(),
    );
    if !beat.state.song.is_empty() {
        // A beat with a song plays its song, as its exports render it.
        let arr = Arrangement::of(&beat.state);
        page.alone
            .borrow_mut()
            .set_song_mode(&arr, true, crate::page::now_ms(), 0.0);
    }
    let beats = WebBeats::new(page.clone(), Mode::Beat(Box::new(beat.clone())));
    {
        let beats = beats.clone();
        let source = beat.source_session_id;
        wasm_bindgen_futures::spawn_local(async move {
            if session_exists(&beats.page.origin, source).await {
                *beats.source_link.borrow_mut() =
                    Some(crate::route::invite_link(&beats.page.origin, source));
                beats.page.request_repaint();
            }
        });
    }
    for sample in beat.sample_ids() {
        let page = page.clone();
        let url = format!("{origin}{}", api::beat_sample_path(id, &sample));
        wasm_bindgen_futures::spawn_local(async move {
            match call("GET", &url, None).await.map(|b| decode_wav(&b)) {
                Ok(Ok(s)) => page.add_sample(sample, s.frames, s.sample_rate_hz as f32),
                _ => page.status.borrow_mut().error = Some(format!("sample {sample} is missing")),
            }
            page.request_repaint();
        });
    }
    Ok(AppHost {
        web: WebHost { page, mic },
        beats,
        account: None,
    })
}

fn set(o: &Object, k: &str, v: JsValue) {
    let _ = Reflect::set(o, &k.into(), &v);
}

/// `window.keyboardia.beats` for tests: `status()` (JSON text), `publish(name)` and
/// `remix()` (promises of the link / new session id), `export(kind, bars)` (a promise of the
/// file's bytes, `kind` "wav" or "mid"): what the panel's buttons do.
pub fn install_hooks(host: &AppHost) {
    let Some(hooks) = web_sys::window()
        .and_then(|w| Reflect::get(&w, &"keyboardia".into()).ok())
        .filter(|h| h.is_object())
    else {
        return;
    };
    let o = Object::new();
    let b = host.beats.clone();
    let status = Closure::wrap(Box::new(move || -> JsValue {
        let s = b.beats_status();
        serde_json::json!({
            "viewing": s.viewing.as_ref().map(|v| serde_json::json!({
                "id": v.id.to_string(), "name": v.name, "link": v.link,
                "sourceLink": v.source_link, "createdBy": v.created_by,
            })),
            "history": s.history.iter().map(|h| serde_json::json!({
                "id": h.id.to_string(), "name": h.name,
            })).collect::<Vec<_>>(),
            "working": s.working,
            "message": s.message,
            "openInApp": b.open_in_app_link(),
        })
        .to_string()
        .into()
    }) as Box<dyn Fn() -> JsValue>);
    set(&o, "status", status.into_js_value());
    let b = host.beats.clone();
    let publish = Closure::wrap(Box::new(move |name: String| -> JsValue {
        let b = b.clone();
        wasm_bindgen_futures::future_to_promise(async move {
            b.publish_now(&name)
                .await
                .map(JsValue::from)
                .map_err(|e| JsValue::from(e.to_string()))
        })
        .into()
    }) as Box<dyn Fn(String) -> JsValue>);
    set(&o, "publish", publish.into_js_value());
    let b = host.beats.clone();
    let remix = Closure::wrap(Box::new(move || -> JsValue {
        let b = b.clone();
        wasm_bindgen_futures::future_to_promise(async move {
            b.remix_now()
                .await
                .map(|id| JsValue::from(id.to_string()))
                .map_err(|e| JsValue::from(e.to_string()))
        })
        .into()
    }) as Box<dyn Fn() -> JsValue>);
    set(&o, "remix", remix.into_js_value());
    let b = host.beats.clone();
    let export = Closure::wrap(Box::new(move |kind: String, bars: f64| -> JsValue {
        let b = b.clone();
        wasm_bindgen_futures::future_to_promise(async move {
            let format = if kind == "mid" {
                BeatExport::Midi
            } else {
                BeatExport::Wav
            };
            b.export_bytes(format, bars)
                .await
                .map(|bytes| Uint8Array::from(bytes.as_slice()).into())
                .map_err(|e| JsValue::from(e.to_string()))
        })
        .into()
    }) as Box<dyn Fn(String, f64) -> JsValue>);
    set(&o, "export", export.into_js_value());
    let _ = Reflect::set(&hooks, &"beats".into(), &o);
}
