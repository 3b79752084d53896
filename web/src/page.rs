//! The page's state and its event loop around core's live [`Client`], in the browser: the
//! counterpart of `sync/src/eventloop.rs`. Every policy (optimistic edits, the offline queue,
//! reconnect backoff, the ping schedule, sample fetches and retries) lives in the client; this
//! file carries out what it asks with the browser's WebSocket, `fetch` and `setTimeout`, on the
//! page's one thread, and keeps the worklet's copy of the session and clock up to date.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use keyboardia_core::audio::decode_wav;
use keyboardia_core::client::{
    Action, Client, ClientConfig, ClientEvent, Fetch, Retry, TransferFailure, Upload,
};
use keyboardia_core::clock::Timeline;
use keyboardia_core::song::{Arrangement, PlaybackView};
use keyboardia_core::{PatternId, SampleId, SessionId, SessionState, MAX_TRACKS};
use keyboardia_ui::host::{Connection, Status, Transfer};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use web_sys::{AudioContext, AudioContextState};

use crate::audio::Audio;
use crate::clockmap::{ContextClock, Model};
use crate::dom::{mark, show_notice};
use crate::net::{self, HttpError};
use crate::playback::{self, Alone};
use crate::socket::{Report, Socket, SocketEvent, Transport};
use crate::status;

/// A decoded sample the page holds (sent to the worklet once audio runs).
pub struct LoadedSample {
    /// The session's id for it.
    pub id: SampleId,
    /// Mono frames.
    pub frames: Rc<Vec<f32>>,
    /// Its rate in Hz.
    pub sample_rate_hz: f32,
}

/// A `setTimeout` handle and the callback it runs.
type Timer = (i32, Closure<dyn FnMut()>);

/// Everything the page holds; shared by the editor's host, the callbacks and the test hooks.
pub struct Page {
    /// The session this page plays (from `/s/{id}`).
    pub session: SessionId,
    /// `location.origin`: the API, the room and the invite link live here.
    pub origin: String,
    /// The live client: every policy of the session.
    pub client: RefCell<Client>,
    /// What the session bar shows.
    pub status: RefCell<Status>,
    /// The worker that owns the WebSocket (from [`Page::start`] on).
    transport: RefCell<Option<Transport>>,
    /// The WebSocket, while open or opening.
    socket: RefCell<Option<Socket>>,
    /// Bumped for every new socket, so callbacks of an old one are ignored.
    socket_serial: Cell<u64>,
    /// The pending `setTimeout` for the client's next timer, and its callback.
    timer: RefCell<Option<Timer>>,
    /// The audio graph, once built (from page load on, see [`Page::prepare_audio`]).
    pub audio: RefCell<Option<Audio>>,
    /// The context of the graph, while it is built and after.
    audio_ctx: RefCell<Option<AudioContext>>,
    /// The build under way (a promise of it, so a second caller can wait for it).
    audio_build: RefCell<Option<js_sys::Promise>>,
    /// Start was pressed (or the recorder started audio): the worklet plays only then, so a
    /// graph built at load stays silent where the browser lets a context run before a gesture.
    unlocked: Cell<bool>,
    /// Samples downloaded or recorded, in sampler order.
    pub samples: RefCell<Vec<LoadedSample>>,
    /// Context time ↔ local time, from the context's output timestamps.
    pub context_clock: RefCell<ContextClock>,
    /// The session document the worklet plays (to send only changes).
    sent_state: RefCell<Option<SessionState>>,
    /// The server-time model the worklet has (to send only changes).
    sent_model: Cell<Option<Model>>,
    /// The timeline the worklet has.
    sent_timeline: Cell<Option<Timeline>>,
    /// Redraws the editor after something changed outside it.
    pub repaint: RefCell<Option<egui::Context>>,
    /// The session does not exist (or expired): no more connecting.
    pub gone: Cell<bool>,
    /// This player's mute and solo per track slot (not shared).
    pub mixer: RefCell<[(bool, bool); MAX_TRACKS]>,
    /// The local play request (playing alone before a session is joined).
    pub run: Cell<bool>,
    /// The page's own transport, played while no room's timeline is followed (the beat page,
    /// a session page before its room's snapshot).
    pub alone: RefCell<Alone>,
    /// Who the page's sign-in cookie signs in, once known: `Some(None)` signed out,
    /// `Some(Some(user id))` signed in (the socket then carries a ticket). Kept up to date by
    /// the page's account (`account.rs`).
    pub user: RefCell<Option<Option<String>>>,
    /// Whether the newest socket was opened with a ticket (so learning that the page is signed
    /// in needs no reconnect).
    pub ticketed: Cell<bool>,
}

/// The local clock of the client: `performance.now()` in ms.
pub fn now_ms() -> f64 {
    web_sys::window()
        .and_then(|w| w.performance())
        .map_or(0.0, |p| p.now())
}

impl Page {
    /// A page for `session` on `origin`, with `local` shown until the room's snapshot arrives.
    pub fn new(session: SessionId, origin: String, local: SessionState, seed: u64) -> Rc<Page> {
        let config = ClientConfig {
            name: "Browser".into(),
            seed,
            ..ClientConfig::default()
        };
        let alone = Alone::new(local.tempo, now_ms());
        Rc::new(Page {
            alone: RefCell::new(alone),
            session,
            origin,
            client: RefCell::new(Client::with_config(config, local)),
            status: RefCell::new(Status {
                session: Some(session),
                ..Status::default()
            }),
            transport: RefCell::new(None),
            socket: RefCell::new(None),
            socket_serial: Cell::new(0),
            timer: RefCell::new(None),
            audio: RefCell::new(None),
            audio_ctx: RefCell::new(None),
            audio_build: RefCell::new(None),
            unlocked: Cell::new(false),
            samples: RefCell::new(Vec::new()),
            context_clock: RefCell::new(ContextClock::default()),
            sent_state: RefCell::new(None),
            sent_model: Cell::new(None),
            sent_timeline: Cell::new(None),
            repaint: RefCell::new(None),
            gone: Cell::new(false),
            mixer: RefCell::new([(false, false); MAX_TRACKS]),
            run: Cell::new(false),
            user: RefCell::new(None),
            ticketed: Cell::new(false),
        })
    }

    /// The server time now, when the clock estimate is known.
    pub fn server_now_ms(&self) -> Option<f64> {
        let now = now_ms();
        // The offset as of now: with pings up to half a minute apart, the newest sample's
        // offset is stale by the drift since then.
        let offset = self.client.borrow().clock().offset_at(now)?;
        Some(now + offset)
    }

    /// Starts the live session (the socket's worker, and connect now) and prepares audio.
    pub fn start(self: &Rc<Self>) {
        let weak = Rc::downgrade(self);
        match Transport::start(move |report| {
            if let Some(page) = weak.upgrade() {
                page.on_socket(report);
            }
        }) {
            Ok(t) => *self.transport.borrow_mut() = Some(t),
            Err(e) => web_sys::console::error_1(&e),
        }
        self.client.borrow_mut().connect(now_ms());
        self.pump();
        self.prepare_audio();
    }

    /// Builds the audio graph as the page loads, in the context index.html created before the
    /// app loaded (`window.KEYBOARDIA_AUDIO`; a browser holds a context made before any user
    /// gesture suspended until one resumes it): the audio device, the worklet's module and its
    /// engine, the slow part of a cold start, get ready while the visitor looks at the grid.
    /// Nothing sounds before [`Page::start_audio`] (the Start button).
    pub fn prepare_audio(self: &Rc<Self>) {
        let Some(ctx) = web_sys::window()
            .and_then(|w| js_sys::Reflect::get(&w, &"KEYBOARDIA_AUDIO".into()).ok())
            .and_then(|c| c.dyn_into::<AudioContext>().ok())
            .filter(|c| c.state() != AudioContextState::Closed)
        else {
            return;
        };
        let page = self.clone();
        wasm_bindgen_futures::spawn_local(async move {
            if let Err(e) = page.build_audio(ctx).await {
                web_sys::console::warn_1(&e.into());
            }
        });
    }

    /// The context for Start: the one the page prepared, else a new one (call it inside the
    /// user's gesture).
    pub fn audio_context(&self) -> Result<AudioContext, JsValue> {
        match self.audio_ctx.borrow().as_ref() {
            Some(ctx) => Ok(ctx.clone()),
            None => AudioContext::new(),
        }
    }

    /// Starts sound (the Start button, the recorder): resumes `ctx` (from
    /// [`Page::audio_context`], inside the user's gesture; a context other than the prepared one
    /// is closed and the prepared one resumed), builds the graph unless it is built or being
    /// built, and lets the worklet play.
    pub async fn start_audio(self: &Rc<Self>, ctx: AudioContext) -> Result<(), String> {
        mark("keyboardia-audio-start");
        self.unlocked.set(true);
        let prepared = self.audio_ctx.borrow().clone();
        let ctx = match prepared {
            Some(p) if p != ctx => {
                let _ = ctx.close();
                p
            }
            _ => ctx,
        };
        let _ = ctx.resume();
        self.build_audio(ctx).await?;
        mark("keyboardia-audio-ready");
        self.tick_audio();
        self.tick_until_model(MODEL_TRIES);
        Ok(())
    }

    /// Right after Start, reads the output timestamp every [`MODEL_POLL_MS`] until the worklet
    /// has its server-time model: a context's first output timestamp comes some time after it
    /// resumes, and the regular tick comes every 100 ms.
    fn tick_until_model(self: &Rc<Self>, tries: u32) {
        if self.sent_model.get().is_some() || tries == 0 {
            return;
        }
        let page = self.clone();
        let f = Closure::once_into_js(move || {
            page.tick_audio();
            page.tick_until_model(tries - 1);
        });
        if let Some(w) = web_sys::window() {
            let _ = w.set_timeout_with_callback_and_timeout_and_arguments_0(
                f.unchecked_ref(),
                MODEL_POLL_MS,
            );
        }
    }

    /// Builds the graph in `ctx`, once: a second caller waits for the first one's build.
    async fn build_audio(self: &Rc<Self>, ctx: AudioContext) -> Result<(), String> {
        if self.audio.borrow().is_some() {
            return Ok(());
        }
        let running = self.audio_build.borrow().clone();
        let build = match running {
            Some(p) => p,
            None => {
                *self.audio_ctx.borrow_mut() = Some(ctx.clone());
                let page = self.clone();
                let p = wasm_bindgen_futures::future_to_promise(async move {
                    let built = page.build_audio_in(ctx).await;
                    page.audio_build.borrow_mut().take();
                    if built.is_err() {
                        page.audio_ctx.borrow_mut().take();
                    }
                    built
                        .map(|()| JsValue::UNDEFINED)
                        .map_err(|e| JsValue::from_str(&e))
                });
                *self.audio_build.borrow_mut() = Some(p.clone());
                p
            }
        };
        JsFuture::from(build).await.map(|_| ()).map_err(|e| {
            e.as_string()
                .unwrap_or_else(|| "audio could not start".into())
        })
    }

    /// The context, the worklet and the engine, which gets the page's samples, mixer, session
    /// and clock.
    async fn build_audio_in(self: &Rc<Self>, ctx: AudioContext) -> Result<(), String> {
        let weak = Rc::downgrade(self);
        let audio = Audio::start(ctx, move || {
            if let Some(page) = weak.upgrade() {
                page.tick_audio();
            }
        })
        .await
        .map_err(|e| e.to_string())?;
        for s in self.samples.borrow().iter() {
            audio.send_sample(&s.id, &s.frames, s.sample_rate_hz);
        }
        *self.audio.borrow_mut() = Some(audio);
        self.send_mixer();
        self.tick_audio();
        Ok(())
    }

    /// Reads the context's output timestamp and brings the worklet up to date.
    fn tick_audio(&self) {
        if let Some(audio) = self.audio.borrow().as_ref() {
            crate::audio::observe_timestamp(
                &audio.ctx,
                &mut self.context_clock.borrow_mut(),
                now_ms(),
            );
        }
        self.sync_audio();
    }

    /// The session was not found: stop for good and say so.
    pub fn mark_gone(self: &Rc<Self>) {
        self.gone.set(true);
        self.socket.borrow_mut().take();
        if let Some((id, _)) = self.timer.borrow_mut().take() {
            if let Some(w) = web_sys::window() {
                w.clear_timeout_with_handle(id);
            }
        }
        self.status.borrow_mut().error = Some(NOT_FOUND.to_owned());
        show_notice(NOT_FOUND);
        self.request_repaint();
    }

    pub fn request_repaint(&self) {
        if let Some(ctx) = self.repaint.borrow().as_ref() {
            ctx.request_repaint();
        }
    }

    /// Carries out everything the client yields, then re-arms its timer and updates the worklet.
    pub fn pump(self: &Rc<Self>) {
        if self.gone.get() {
            return;
        }
        loop {
            let (events, actions, frames) = {
                let mut c = self.client.borrow_mut();
                let events: Vec<ClientEvent> = std::iter::from_fn(|| c.poll_event()).collect();
                let actions: Vec<Action> = std::iter::from_fn(|| c.poll_action()).collect();
                let frames: Vec<String> = std::iter::from_fn(|| c.poll_transmit()).collect();
                (events, actions, frames)
            };
            let now = web_time::Instant::now();
            for ev in &events {
                if let ClientEvent::Synced { .. } = ev {
                    self.status.borrow_mut().connection = Some(Connection::Joined);
                }
                status::apply(&mut self.status.borrow_mut(), ev, now);
            }
            if let Some(s) = self.socket.borrow().as_ref() {
                for f in &frames {
                    s.send(f);
                }
            }
            let acted = !actions.is_empty();
            for a in actions {
                self.act(a);
            }
            if !acted && events.is_empty() {
                break;
            }
        }
        {
            let c = self.client.borrow();
            let mut s = self.status.borrow_mut();
            s.players = c.players().to_vec();
            s.you = c.you();
        }
        self.arm_timer();
        self.sync_audio();
        self.request_repaint();
    }

    fn act(self: &Rc<Self>, action: Action) {
        match action {
            Action::Connect { attempt } => {
                self.status.borrow_mut().connection = Some(Connection::Connecting { attempt });
                if attempt > 0 {
                    // Failing again and again: the session may be gone.
                    let page = self.clone();
                    wasm_bindgen_futures::spawn_local(async move {
                        if let Err(HttpError::NotFound) =
                            net::load_session(&page.origin, page.session).await
                        {
                            page.mark_gone();
                        }
                    });
                }
                self.open_socket();
            }
            Action::Disconnect(why) => {
                self.socket.borrow_mut().take();
                self.lost(why.to_string());
            }
            Action::Upload(up) => self.upload(up),
            Action::Fetch(fetch) => self.fetch(fetch),
        }
    }

    /// The connection is gone: tell the client and the user.
    fn lost(self: &Rc<Self>, error: String) {
        let retry = self.client.borrow_mut().handle_disconnected(now_ms());
        self.status.borrow_mut().connection = Some(Connection::Offline {
            error,
            retry_in: std::time::Duration::from_secs_f64(retry.max(0.0) / 1000.0),
        });
    }

    /// Whether this page may edit its session (core's rule over the room's owner and mode):
    /// the editor draws someone else's locked session disabled.
    pub fn can_edit(&self) -> bool {
        let user = self.user.borrow().clone().flatten();
        self.client
            .borrow()
            .confirmed()
            .is_none_or(|s| s.can_edit(user.as_deref()))
    }

    /// Drops the connection and connects again (after signing in or out: the room learns who
    /// this page is from the new socket's ticket, or that it is anonymous).
    pub fn reconnect(self: &Rc<Self>) {
        self.client.borrow_mut().reconnect(now_ms());
        self.pump();
    }

    /// Opens a socket: with a ticket when the page may be signed in (asked for first; the
    /// token itself is an HttpOnly cookie the page never reads, and never goes in a URL),
    /// anonymously otherwise.
    fn open_socket(self: &Rc<Self>) {
        self.socket.borrow_mut().take();
        let serial = self.socket_serial.get() + 1;
        self.socket_serial.set(serial);
        if *self.user.borrow() == Some(None) {
            return self.open_socket_with(serial, "");
        }
        let page = self.clone();
        wasm_bindgen_futures::spawn_local(async move {
            let query = match net::ticket(&page.origin, page.session).await {
                Ok(Some(t)) => format!("?{}={t}", keyboardia_core::api::TICKET_PARAM),
                Ok(None) => {
                    page.user.replace(Some(None));
                    String::new()
                }
                Err(_) => String::new(),
            };
            // A newer socket (or the session's end) superseded this one meanwhile.
            if page.socket_serial.get() == serial && !page.gone.get() {
                page.open_socket_with(serial, &query);
            }
        });
    }

    fn open_socket_with(self: &Rc<Self>, serial: u64, query: &str) {
        self.ticketed.set(!query.is_empty());
        let url = format!(
            "{}{query}",
            crate::route::socket_url(&self.origin, self.session)
        );
        let socket = self
            .transport
            .borrow()
            .as_ref()
            .map(|t| t.open(serial, &url));
        match socket {
            Some(s) => *self.socket.borrow_mut() = Some(s),
            None => self.lost("cannot open a WebSocket".into()),
        }
    }

    /// What the socket's worker reports, at the time it happened (on this page's clock; a
    /// report the page reads late still carries when the frame arrived).
    fn on_socket(self: &Rc<Self>, report: Report) {
        let current = self
            .socket
            .borrow()
            .as_ref()
            .is_some_and(|s| s.serial == report.serial);
        if !current || self.gone.get() {
            return;
        }
        let at = report.at_ms;
        match report.event {
            SocketEvent::Open => self.client.borrow_mut().handle_connected(at),
            SocketEvent::Message(text) => {
                self.client.borrow_mut().handle_message(text.as_bytes(), at);
            }
            SocketEvent::Close(code) => {
                self.socket.borrow_mut().take();
                self.lost(format!("connection closed ({code})"));
            }
        }
        self.pump();
    }

    /// Re-arms the one `setTimeout` at the client's next timer.
    fn arm_timer(self: &Rc<Self>) {
        let Some(window) = web_sys::window() else {
            return;
        };
        if let Some((id, _)) = self.timer.borrow_mut().take() {
            window.clear_timeout_with_handle(id);
        }
        let Some(at) = self.client.borrow().poll_timeout() else {
            return;
        };
        let delay = (at - now_ms()).clamp(0.0, 600_000.0).ceil() as i32;
        let page = self.clone();
        let f = Closure::wrap(Box::new(move || {
            page.timer.borrow_mut().take();
            page.client.borrow_mut().handle_timeout(now_ms());
            page.pump();
        }) as Box<dyn FnMut()>);
        if let Ok(id) = window.set_timeout_with_callback_and_timeout_and_arguments_0(
            f.as_ref().unchecked_ref(),
            delay,
        ) {
            *self.timer.borrow_mut() = Some((id, f));
        }
    }

    fn upload(self: &Rc<Self>, mut up: Upload) {
        let page = self.clone();
        let wav = std::mem::take(&mut up.wav);
        if let Some(id) = &up.id {
            status::set_upload(
                &mut self.status.borrow_mut(),
                id,
                Transfer::Uploading {
                    sent: 0,
                    total: wav.len(),
                },
            );
        }
        wasm_bindgen_futures::spawn_local(async move {
            let result =
                net::upload_sample(&page.origin, page.session, &up.name, up.id.as_ref(), &wav)
                    .await;
            {
                let mut c = page.client.borrow_mut();
                match &result {
                    Ok(_) => c.handle_uploaded(up.transfer),
                    Err(e) => {
                        let failure = if e.is_transient() {
                            TransferFailure::Transient
                        } else {
                            TransferFailure::Final
                        };
                        let retry = c.handle_upload_failed(now_ms(), up.transfer, failure);
                        if let Some(id) = &up.id {
                            status::set_upload(
                                &mut page.status.borrow_mut(),
                                id,
                                Transfer::Failed {
                                    error: e.to_string(),
                                    retrying: matches!(retry, Retry::InMs(_)),
                                },
                            );
                        }
                    }
                }
            }
            if let (Ok(done), Some(id)) = (&result, &up.id) {
                status::set_upload(
                    &mut page.status.borrow_mut(),
                    id,
                    Transfer::Uploaded(done.id.clone()),
                );
            }
            page.pump();
        });
    }

    fn fetch(self: &Rc<Self>, fetch: Fetch) {
        let page = self.clone();
        wasm_bindgen_futures::spawn_local(async move {
            let got = net::download_sample(&page.origin, page.session, &fetch.id).await;
            let failure = match got {
                Ok(bytes) => match decode_wav(&bytes) {
                    Ok(sample) => {
                        page.client.borrow_mut().handle_fetched(fetch.transfer);
                        page.add_sample(
                            fetch.id.clone(),
                            sample.frames,
                            sample.sample_rate_hz as f32,
                        );
                        status::set_transfer(
                            &mut page.status.borrow_mut(),
                            &fetch.name,
                            Transfer::Downloaded(fetch.id.clone()),
                        );
                        None
                    }
                    Err(_) => Some(TransferFailure::Final),
                },
                Err(HttpError::NotFound) => Some(TransferFailure::NotFound),
                Err(e) if e.is_transient() => Some(TransferFailure::Transient),
                Err(_) => Some(TransferFailure::Final),
            };
            if let Some(failure) = failure {
                let retry =
                    page.client
                        .borrow_mut()
                        .handle_fetch_failed(now_ms(), fetch.transfer, failure);
                if retry != Retry::Silently {
                    status::set_transfer(
                        &mut page.status.borrow_mut(),
                        fetch.id.as_str(),
                        Transfer::Failed {
                            error: "download failed".into(),
                            retrying: matches!(retry, Retry::InMs(_)),
                        },
                    );
                }
            }
            page.pump();
        });
    }

    /// Holds a decoded sample and hands it to the worklet (now, or when audio starts).
    pub fn add_sample(&self, id: SampleId, frames: Vec<f32>, sample_rate_hz: f32) {
        let frames = Rc::new(frames);
        {
            let mut samples = self.samples.borrow_mut();
            samples.retain(|s| s.id != id);
            samples.push(LoadedSample {
                id: id.clone(),
                frames: frames.clone(),
                sample_rate_hz,
            });
        }
        if let Some(audio) = self.audio.borrow().as_ref() {
            audio.send_sample(&id, &frames, sample_rate_hz);
        }
        // The pattern must be re-sent so tracks resolve the new slot.
        self.sent_state.borrow_mut().take();
    }

    /// Sends the worklet what changed: the session document, the timeline it follows (the
    /// room's once joined, else the page's own, started and stopped by the local play request
    /// and following the session's tempo) and the model of that timeline's clock.
    pub fn sync_audio(&self) {
        let audio = self.audio.borrow();
        let Some(audio) = audio.as_ref() else {
            return;
        };
        let client = self.client.borrow();
        {
            let mut sent = self.sent_state.borrow_mut();
            if sent.as_ref() != Some(client.state()) {
                audio.send_session(client.state());
                *sent = Some(client.state().clone());
            }
        }
        let now = now_ms();
        let live = follows_room(&client);
        if !live {
            let mut alone = self.alone.borrow_mut();
            alone.set_tempo(now, client.state().tempo);
            if !self.run.get() {
                alone.stop();
            } else if self.unlocked.get() && self.context_clock.borrow().local_ms(0.0).is_some() {
                // Started once the worklet can place it: its downbeat is heard.
                alone.play(now, self.alone_lead_ms());
            }
        }
        let (timeline, offset) = if live {
            (client.timeline().copied(), client.clock().offset_at(now))
        } else {
            (Some(*self.alone.borrow().timeline()), Some(0.0))
        };
        let model = offset.and_then(|offset| self.context_clock.borrow().model(offset));
        let (Some(tl), Some(model), true) = (timeline, model, self.unlocked.get()) else {
            return;
        };
        if self.sent_timeline.get() != Some(tl) {
            audio.send_timeline(&tl);
            self.sent_timeline.set(Some(tl));
        }
        // Resend when the model moves the server time of the present by more than RESEND_MS,
        // or its rate changes.
        let now_ctx = audio.ctx.current_time() * 1000.0;
        let moved = self.sent_model.get().is_none_or(|m| {
            let at = |m: &Model| m.offset_ms + now_ctx * m.ratio;
            (at(&m) - at(&model)).abs() > RESEND_MS || (m.ratio - model.ratio).abs() > 1e-6
        });
        if moved {
            if self.sent_model.get().is_none() {
                mark("keyboardia-model-sent");
            }
            audio.send_model(&model);
            self.sent_model.set(Some(model));
        }
    }

    /// How far ahead of now the page's own transport stamps a start or a switch: how far the
    /// worklet renders ahead of what is heard (the output latency, from the context clock's
    /// fit) plus [`ALONE_MARGIN_MS`] for the port message.
    fn alone_lead_ms(&self) -> f64 {
        let rendering = self.audio.borrow().as_ref().and_then(|a| {
            self.context_clock
                .borrow()
                .local_ms(a.ctx.current_time() * 1000.0)
        });
        let ahead = rendering.map_or(0.0, |heard| heard - now_ms());
        ahead.clamp(0.0, MAX_OUTPUT_LATENCY_MS) + ALONE_MARGIN_MS
    }

    /// Whether the page plays the room's timeline (else its own).
    pub fn follows_room(&self) -> bool {
        follows_room(&self.client.borrow())
    }

    /// The timeline the page plays (the room's once joined, else its own) and the time now on
    /// that timeline's clock (server time; the page's own clock alone), when known.
    pub fn timeline_now(&self) -> Option<(Timeline, f64)> {
        let client = self.client.borrow();
        if follows_room(&client) {
            let tl = *client.timeline()?;
            drop(client);
            Some((tl, self.server_now_ms()?))
        } else {
            Some((*self.alone.borrow().timeline(), now_ms()))
        }
    }

    /// What plays now: the pattern (and where its run began), a queued switch, song mode and
    /// its position, the fill switch.
    pub fn playback_view(&self) -> PlaybackView {
        let Some((tl, now)) = self.timeline_now() else {
            return PlaybackView::default();
        };
        let client = self.client.borrow();
        playback::view_at(&tl, &Arrangement::of(client.state()), now)
    }

    /// Queues pattern `pt`: the room stamps it once joined (everyone switches on the same
    /// step), the page's own transport before.
    pub fn cue_pattern(self: &Rc<Self>, pt: PatternId) {
        self.playback_control(
            |c| c.cue_pattern(pt),
            |alone, arr, now, lead| alone.cue_pattern(arr, pt, now, lead),
        );
    }

    /// Song mode on or off (as [`Page::cue_pattern`]).
    pub fn set_song_mode(self: &Rc<Self>, on: bool) {
        self.playback_control(
            |c| c.set_song_mode(on),
            |alone, arr, now, lead| alone.set_song_mode(arr, on, now, lead),
        );
    }

    /// The fill switch (as [`Page::cue_pattern`]).
    pub fn set_fill(self: &Rc<Self>, on: bool) {
        self.playback_control(
            |c| c.set_fill(on),
            |alone, _, now, lead| alone.set_fill(on, now, lead),
        );
    }

    /// A playback change: to the room through the client once joined, else stamped on the
    /// page's own transport; the worklet follows either.
    fn playback_control(
        self: &Rc<Self>,
        live: impl FnOnce(&mut Client),
        alone: impl FnOnce(&mut Alone, &Arrangement, f64, f64),
    ) {
        if self.follows_room() {
            live(&mut self.client.borrow_mut());
        } else {
            let lead = self.alone_lead_ms();
            let client = self.client.borrow();
            alone(
                &mut self.alone.borrow_mut(),
                &Arrangement::of(client.state()),
                now_ms(),
                lead,
            );
        }
        self.pump();
    }

    /// The server-time model the worklet plays by (for the test hooks).
    pub fn worklet_model(&self) -> Option<Model> {
        self.sent_model.get()
    }

    /// Starts the shared transport if it is stopped (the Start button: one click to sound).
    pub fn play_if_stopped(self: &Rc<Self>) {
        let stopped = {
            let c = self.client.borrow();
            c.is_joined() && !c.timeline().is_some_and(|t| t.playing)
        };
        if stopped && self.can_edit() {
            self.client.borrow_mut().set_playing(true);
        } else if !self.client.borrow().is_joined() {
            self.run.set(true);
        }
        self.pump();
    }

    /// The mute/solo of every slot, to the worklet.
    pub fn send_mixer(&self) {
        if let Some(audio) = self.audio.borrow().as_ref() {
            for (slot, (mute, solo)) in self.mixer.borrow().iter().enumerate() {
                audio.send_mixer(slot, *mute, *solo);
            }
        }
    }
}

/// How often (ms) the page looks for the context's first output timestamp after Start.
const MODEL_POLL_MS: i32 = 5;
/// For how many looks (a second in all), before the regular tick takes over.
const MODEL_TRIES: u32 = 200;

/// Smallest move of the model (at the present) worth telling the worklet, in ms.
const RESEND_MS: f64 = 0.05;

/// Time for a port message to reach the worklet, in the lead of the page's own transport (ms).
const ALONE_MARGIN_MS: f64 = 50.0;
/// The most output latency believed (ms): a wilder reading is a context clock still settling.
const MAX_OUTPUT_LATENCY_MS: f64 = 500.0;

/// Whether the page plays the room's timeline: once joined (and on through a lost connection,
/// with the room's last timeline), rather than its own.
fn follows_room(client: &Client) -> bool {
    client.timeline().is_some() && (client.is_joined() || client.confirmed().is_some())
}

/// What the page says when its session does not exist.
pub const NOT_FOUND: &str =
    "This session does not exist or has expired. Open the start page to begin a new one.";
