//! The audio graph: an AudioContext and the engine's AudioWorkletNode (`processor.js`, which
//! instantiates the worklet's own wasm module inside the worklet scope). Everything reaches the
//! engine as port messages, parsed there outside `process()`.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use js_sys::{Array, Float32Array, Object, Reflect};
use keyboardia_core::clock::Timeline;
use keyboardia_core::{BuiltinSound, Instrument, SampleId, SessionState, SynthPreset, MAX_TRACKS};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use web_sys::{AudioContext, AudioWorkletNode, AudioWorkletNodeOptions, MessageEvent, MessagePort};

use crate::clockmap::{ContextClock, Model};
use crate::net::{self, HttpError};

/// How often the context's output timestamp is read, in ms.
const TIMESTAMP_INTERVAL_MS: i32 = 100;
/// The shortest interval between two asks for the meters' levels, in ms (the editor asks once
/// a frame; about 30 answers a second move the meters smoothly).
const LEVELS_INTERVAL_MS: f64 = 30.0;

/// Why audio could not start.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum AudioError {
    /// The browser refused an audio call.
    #[error("audio could not start: {0}")]
    Browser(String),
    /// The page does not name its asset files.
    #[error("the page does not name its audio files")]
    NoAssets,
    /// The engine module could not be fetched.
    #[error("the audio engine could not be loaded: {0}")]
    Fetch(#[from] HttpError),
}

fn js_err(e: JsValue) -> AudioError {
    AudioError::Browser(
        e.as_string()
            .or_else(|| {
                Reflect::get(&e, &"message".into())
                    .ok()
                    .and_then(|m| m.as_string())
            })
            .unwrap_or_else(|| format!("{e:?}")),
    )
}

/// A message for the processor: an object with `t` and the given fields.
fn message(t: &str, fields: &[(&str, JsValue)]) -> Object {
    let o = Object::new();
    let _ = Reflect::set(&o, &"t".into(), &t.into());
    for (k, v) in fields {
        let _ = Reflect::set(&o, &(*k).into(), v);
    }
    o
}

/// The asset named `key` in `window.KEYBOARDIA_ASSETS` (written by scripts/build-web.sh).
pub fn asset(key: &str) -> Option<String> {
    let window = web_sys::window()?;
    let assets = Reflect::get(&window, &"KEYBOARDIA_ASSETS".into()).ok()?;
    Reflect::get(&assets, &key.into()).ok()?.as_string()
}

/// The engine module the page started fetching and compiling at load
/// (`window.KEYBOARDIA_ENGINE`, see index.html); `None` when there is none or it failed.
async fn prefetched_engine() -> Option<JsValue> {
    let window = web_sys::window()?;
    let promise = Reflect::get(&window, &"KEYBOARDIA_ENGINE".into()).ok()?;
    let promise: js_sys::Promise = promise.dyn_into().ok()?;
    JsFuture::from(promise).await.ok()
}

/// The running audio graph.
pub struct Audio {
    /// The context (its time is the worklet's clock).
    pub ctx: AudioContext,
    /// The engine's node (held so it lives as long as the page's audio).
    _node: AudioWorkletNode,
    /// The node's port (messages to the engine).
    pub port: MessagePort,
    /// The context's rate in Hz.
    pub sample_rate_hz: f64,
    /// Reads the output timestamp; kept alive with the graph.
    _timestamps: Closure<dyn Fn()>,
    /// The highest levels the processor reported since the editor last took them.
    levels: Rc<RefCell<Levels>>,
    /// The levels last handed to the editor (what its meters show; read by the test hooks).
    shown: Cell<Levels>,
    /// When the levels were last asked for (`performance.now()` ms).
    levels_asked_ms: Cell<f64>,
    /// Receives the processor's `levels` answers; kept alive with the graph.
    _on_levels: Closure<dyn Fn(JsValue)>,
}

/// Output levels as the processor reports them: peaks (linear) since the last take.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Levels {
    /// Each track slot's peak.
    pub tracks: [f32; MAX_TRACKS],
    /// The master output's peak.
    pub master: f32,
}

impl Levels {
    /// Raises the levels to the peaks in a `levels` answer (`MAX_TRACKS` tracks, the master).
    fn raise(&mut self, answer: &[f32]) {
        for (l, a) in self.tracks.iter_mut().zip(answer) {
            *l = l.max(*a);
        }
        if let Some(m) = answer.get(MAX_TRACKS) {
            self.master = self.master.max(*m);
        }
    }
}

/// `performance.now()`, in ms (0 without a window).
fn now_ms() -> f64 {
    web_sys::window()
        .and_then(|w| w.performance())
        .map_or(0.0, |p| p.now())
}

impl Audio {
    /// Loads the processor and the engine module into `ctx` (created inside the user's click:
    /// browsers need the gesture) and starts the node. `tick` runs every
    /// [`TIMESTAMP_INTERVAL_MS`] (the page reads the output timestamp and updates the worklet).
    pub async fn start(ctx: AudioContext, tick: impl Fn() + 'static) -> Result<Audio, AudioError> {
        let processor = asset("processor").ok_or(AudioError::NoAssets)?;
        let worklet = asset("worklet").ok_or(AudioError::NoAssets)?;
        let window = web_sys::window().ok_or(AudioError::NoAssets)?;
        let add = ctx
            .audio_worklet()
            .map_err(js_err)?
            .add_module(&processor)
            .map_err(js_err)?;
        let module = match prefetched_engine().await {
            Some(module) => module,
            None => {
                let bytes = js_sys::Uint8Array::from(&net::get(&worklet).await?[..]);
                JsFuture::from(js_sys::WebAssembly::compile(&bytes))
                    .await
                    .map_err(js_err)?
            }
        };
        JsFuture::from(add).await.map_err(js_err)?;
        let options = AudioWorkletNodeOptions::new();
        options.set_number_of_inputs(0);
        options.set_number_of_outputs(1);
        options.set_output_channel_count(&Array::of1(&2.into()));
        let processor_options = Object::new();
        let _ = Reflect::set(&processor_options, &"module".into(), &module);
        options.set_processor_options(Some(&processor_options));
        let node =
            AudioWorkletNode::new_with_options(&ctx, "keyboardia", &options).map_err(js_err)?;
        node.connect_with_audio_node(&ctx.destination())
            .map_err(js_err)?;
        let port = node.port().map_err(js_err)?;
        let timestamps = Closure::wrap(Box::new(tick) as Box<dyn Fn()>);
        window
            .set_interval_with_callback_and_timeout_and_arguments_0(
                timestamps.as_ref().unchecked_ref(),
                TIMESTAMP_INTERVAL_MS,
            )
            .map_err(js_err)?;
        // The processor's answers to the meters' asks (a listener, so the test hooks may set
        // `onmessage` too).
        let levels = Rc::new(RefCell::new(Levels::default()));
        let sink = levels.clone();
        let on_levels = Closure::wrap(Box::new(move |e: JsValue| {
            let Ok(e) = e.dyn_into::<MessageEvent>() else {
                return;
            };
            let d = e.data();
            if Reflect::get(&d, &"t".into())
                .ok()
                .and_then(|t| t.as_string())
                .as_deref()
                != Some("levels")
            {
                return;
            }
            if let Ok(a) = Reflect::get(&d, &"levels".into()) {
                if let Ok(a) = a.dyn_into::<Float32Array>() {
                    sink.borrow_mut().raise(&a.to_vec());
                }
            }
        }) as Box<dyn Fn(JsValue)>);
        port.add_event_listener_with_callback("message", on_levels.as_ref().unchecked_ref())
            .map_err(js_err)?;
        port.start();
        let _ = JsFuture::from(ctx.resume().map_err(js_err)?).await;
        Ok(Audio {
            sample_rate_hz: ctx.sample_rate() as f64,
            ctx,
            _node: node,
            port,
            _timestamps: timestamps,
            levels,
            shown: Cell::new(Levels::default()),
            levels_asked_ms: Cell::new(f64::NEG_INFINITY),
            _on_levels: on_levels,
        })
    }

    /// The levels reported since the last call, taking them; asks the processor for fresh
    /// ones (at most every [`LEVELS_INTERVAL_MS`]), which arrive by the next call or so.
    pub fn take_levels(&self) -> Levels {
        let now = now_ms();
        if now - self.levels_asked_ms.get() >= LEVELS_INTERVAL_MS {
            self.levels_asked_ms.set(now);
            self.post(&message("levels", &[]));
        }
        let levels = std::mem::take(&mut *self.levels.borrow_mut());
        self.shown.set(levels);
        levels
    }

    /// The levels last handed to the editor's meters.
    pub fn shown_levels(&self) -> Levels {
        self.shown.get()
    }

    /// Plays `sound` once at `volume` and `pan` (the sound picker's preview), on the engine's
    /// preview voice in the worklet.
    pub fn preview(&self, sound: &Instrument, volume: f32, pan: f32) {
        let (kind, index, id) = match sound {
            Instrument::Sound(s) => (0, BuiltinSound::ALL.iter().position(|x| x == s), ""),
            Instrument::Synth(p) => (1, SynthPreset::ALL.iter().position(|x| x == p), ""),
            Instrument::Sample(id) => (2, Some(0), id.as_str()),
        };
        let Some(index) = index else {
            return;
        };
        self.post(&message(
            "preview",
            &[
                ("kind", (kind as u32).into()),
                ("index", (index as u32).into()),
                ("id", id.into()),
                ("volume", volume.into()),
                ("pan", pan.into()),
            ],
        ));
    }

    fn post(&self, msg: &Object) {
        let _ = self.port.post_message(msg);
    }

    pub fn send_session(&self, state: &SessionState) {
        if let Ok(json) = serde_json::to_string(state) {
            self.post(&message("session", &[("json", json.into())]));
        }
    }

    /// The timeline the worklet follows, whole (its playback says what plays: the pattern
    /// or the song, a queued switch, the fill switch).
    pub fn send_timeline(&self, tl: &Timeline) {
        if let Ok(json) = serde_json::to_string(tl) {
            self.post(&message("timeline", &[("json", json.into())]));
        }
    }

    pub fn send_model(&self, model: &Model) {
        self.post(&message(
            "model",
            &[
                ("offsetMs", model.offset_ms.into()),
                ("ratio", model.ratio.into()),
            ],
        ));
    }

    pub fn send_mixer(&self, slot: usize, mute: bool, solo: bool) {
        self.post(&message(
            "mixer",
            &[
                ("slot", (slot as u32).into()),
                ("mute", mute.into()),
                ("solo", solo.into()),
            ],
        ));
    }

    pub fn send_sample(&self, id: &SampleId, frames: &[f32], sample_rate_hz: f32) {
        let array = Float32Array::from(frames);
        self.post(&message(
            "sample",
            &[
                ("id", id.as_str().into()),
                ("frames", array.into()),
                ("rate", sample_rate_hz.into()),
            ],
        ));
    }

    /// Plays `frames` once (the record panel's preview), outside the engine.
    pub fn play_buffer(&self, frames: &[f32], sample_rate_hz: f32) -> Result<(), AudioError> {
        let buffer = self
            .ctx
            .create_buffer(1, frames.len().max(1) as u32, sample_rate_hz)
            .map_err(js_err)?;
        buffer.copy_to_channel(frames, 0).map_err(js_err)?;
        let src = self.ctx.create_buffer_source().map_err(js_err)?;
        src.set_buffer(Some(&buffer));
        src.connect_with_audio_node(&self.ctx.destination())
            .map_err(js_err)?;
        src.start().map_err(js_err)
    }
}

/// Pairs a context time with the local time (`now_ms`: performance.now()) it is heard at: the
/// output timestamp when the browser gives one, else the current time plus the context's
/// latencies.
pub fn observe_timestamp(ctx: &AudioContext, clock: &mut ContextClock, now_ms: f64) {
    let ts = Reflect::get(ctx, &"getOutputTimestamp".into())
        .ok()
        .and_then(|f| f.dyn_into::<js_sys::Function>().ok())
        .and_then(|f| f.call0(ctx).ok())
        .unwrap_or(JsValue::UNDEFINED);
    let context_s = Reflect::get(&ts, &"contextTime".into())
        .ok()
        .and_then(|v| v.as_f64())
        .unwrap_or(0.0);
    let perf_ms = Reflect::get(&ts, &"performanceTime".into())
        .ok()
        .and_then(|v| v.as_f64())
        .unwrap_or(0.0);
    if context_s > 0.0 && perf_ms > 0.0 {
        clock.observe(context_s, perf_ms);
    } else {
        let seconds = |k: &str| {
            Reflect::get(ctx, &k.into())
                .ok()
                .and_then(|v| v.as_f64())
                .unwrap_or(0.0)
        };
        let latency_s = seconds("baseLatency") + seconds("outputLatency");
        clock.observe(ctx.current_time(), now_ms + latency_s * 1000.0);
    }
}
