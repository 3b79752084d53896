//! Recording from the microphone (getUserMedia) with the plugin's take flow: hold to record (up
//! to 5 s), preview, see the detected onsets, add the take to the grid (shared with the session
//! under its content id, like the plugin's takes).

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use js_sys::{Float32Array, Object, Reflect};
use keyboardia_core::audio::{decode_wav, encode_wav_f32, encode_wav_i16, MAX_SAMPLE_BYTES};
use keyboardia_core::edit::{clean_cuts, clean_name};
use keyboardia_core::{Instrument, Op, SampleId, Track, TrackId, MAX_TRACKS};
use keyboardia_ui::host::{AddTakeError, AddTrack, Added, Take};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use web_sys::{AudioWorkletNode, AudioWorkletNodeOptions, MediaStreamConstraints, MessageEvent};

use crate::page::Page;

/// The longest take, in seconds (the plugin's limit).
pub const MAX_TAKE_S: f64 = 5.0;
/// How often the level and length are polled while the record panel is open, in ms.
const POLL_MS: i32 = 100;

/// A JS callback taking one value.
type Callback = Closure<dyn FnMut(JsValue)>;

/// The microphone's node and the takes it made.
#[derive(Default)]
pub struct Mic {
    /// The recorder node, once the microphone is open.
    node: RefCell<Option<AudioWorkletNode>>,
    /// Opening the microphone is under way.
    opening: Cell<bool>,
    /// The Record button is held.
    hold: Cell<bool>,
    /// A take is being recorded.
    recording: Cell<bool>,
    /// Frames in the current or last take.
    frames: Cell<usize>,
    /// Input peak since the last poll (linear).
    peak: Cell<f32>,
    /// Finished takes.
    serial: Cell<u64>,
    /// The latest take, until the editor polls it.
    new_take: RefCell<Option<Take>>,
    /// The latest take, for the preview.
    last_take: RefCell<Option<Take>>,
    /// The capture's rate in Hz (the context's).
    sample_rate_hz: Cell<f32>,
    /// Port and poll callbacks, kept alive with the node.
    callbacks: RefCell<Vec<Callback>>,
}

impl Mic {
    pub fn recording(&self) -> bool {
        self.recording.get()
    }

    pub fn frames(&self) -> usize {
        self.frames.get()
    }

    pub fn serial(&self) -> u64 {
        self.serial.get()
    }

    pub fn sample_rate_hz(&self) -> f32 {
        match self.sample_rate_hz.get() {
            r if r > 0.0 => r,
            _ => 48_000.0,
        }
    }

    pub fn peak(&self) -> f32 {
        self.peak.get()
    }

    pub fn poll_take(&self) -> Option<Take> {
        self.new_take.borrow_mut().take()
    }

    pub fn last_take(&self) -> Option<Take> {
        self.last_take.borrow().clone()
    }

    /// Holds or releases the Record button.
    pub fn set_hold(page: &Rc<Page>, mic: &Rc<Mic>, hold: bool) {
        if mic.hold.replace(hold) == hold {
            return;
        }
        if !hold {
            if mic.recording.get() {
                mic.post(&message("stop"));
            }
            return;
        }
        if mic.node.borrow().is_some() {
            mic.start_take();
        } else if !mic.opening.replace(true) {
            let (page, mic) = (page.clone(), mic.clone());
            wasm_bindgen_futures::spawn_local(async move {
                let result = open(&page, &mic).await;
                mic.opening.set(false);
                match result {
                    Ok(()) if mic.hold.get() => mic.start_take(),
                    Ok(()) => {}
                    Err(e) => {
                        mic.hold.set(false);
                        page.status.borrow_mut().error = Some(e);
                    }
                }
                page.request_repaint();
            });
        }
    }

    fn start_take(&self) {
        let max = (MAX_TAKE_S * f64::from(self.sample_rate_hz())) as u32;
        let msg = message("start");
        let _ = Reflect::set(&msg, &"max".into(), &max.into());
        self.post(&msg);
        self.frames.set(0);
        self.recording.set(true);
    }

    fn post(&self, msg: &Object) {
        if let Some(node) = self.node.borrow().as_ref() {
            if let Ok(port) = node.port() {
                let _ = port.post_message(msg);
            }
        }
    }

    /// A reply from the recorder node.
    fn reply(page: &Page, mic: &Mic, data: JsValue) {
        let t = Reflect::get(&data, &"t".into())
            .ok()
            .and_then(|t| t.as_string());
        let num = |k: &str| Reflect::get(&data, &k.into()).ok().and_then(|v| v.as_f64());
        match t.as_deref() {
            Some("level") => {
                mic.frames.set(num("frames").unwrap_or(0.0) as usize);
                mic.peak.set(num("peak").unwrap_or(0.0) as f32);
                let full = Reflect::get(&data, &"full".into())
                    .ok()
                    .and_then(|v| v.as_bool());
                if full == Some(true) && mic.recording.get() {
                    mic.post(&message("stop"));
                }
            }
            Some("take") => {
                let channel = |k: &str| {
                    Reflect::get(&data, &k.into())
                        .ok()
                        .and_then(|v| v.dyn_into::<Float32Array>().ok())
                        .map(|a| a.to_vec())
                        .unwrap_or_default()
                };
                let (left, right) = (channel("left"), channel("right"));
                mic.recording.set(false);
                mic.frames.set(left.len());
                let serial = mic.serial.get() + 1;
                mic.serial.set(serial);
                let take = Take {
                    serial,
                    left,
                    right,
                    sample_rate_hz: num("rate").unwrap_or(48_000.0) as f32,
                };
                *mic.last_take.borrow_mut() = Some(take.clone());
                *mic.new_take.borrow_mut() = Some(take);
                page.request_repaint();
            }
            _ => {}
        }
    }
}

fn message(t: &str) -> Object {
    let o = Object::new();
    let _ = Reflect::set(&o, &"t".into(), &t.into());
    o
}

/// Opens the microphone (asks for permission) and the recorder node. Starts audio if needed.
async fn open(page: &Rc<Page>, mic: &Rc<Mic>) -> Result<(), String> {
    if page.audio.borrow().is_none() {
        let ctx =
            web_sys::AudioContext::new().map_err(|e| format!("audio could not start: {e:?}"))?;
        page.start_audio(ctx).await?;
    }
    let ctx = page
        .audio
        .borrow()
        .as_ref()
        .map(|a| a.ctx.clone())
        .ok_or("audio is not running")?;
    let devices = web_sys::window()
        .ok_or("no window")?
        .navigator()
        .media_devices()
        .map_err(|_| "this browser has no microphone access")?;
    let constraints = MediaStreamConstraints::new();
    constraints.set_audio(&JsValue::TRUE);
    let refused = |e: JsValue| {
        let name = Reflect::get(&e, &"name".into())
            .ok()
            .and_then(|n| n.as_string())
            .unwrap_or_default();
        format!("Microphone permission was refused ({name}): allow the microphone to record.")
    };
    let promise = devices
        .get_user_media_with_constraints(&constraints)
        .map_err(refused)?;
    let stream: web_sys::MediaStream = JsFuture::from(promise)
        .await
        .map_err(refused)?
        .dyn_into()
        .map_err(|_| "no microphone stream")?;
    let source = ctx
        .create_media_stream_source(&stream)
        .map_err(|_| "cannot read the microphone")?;
    let options = AudioWorkletNodeOptions::new();
    options.set_number_of_inputs(1);
    options.set_number_of_outputs(1);
    let node = AudioWorkletNode::new_with_options(&ctx, "keyboardia-input", &options)
        .map_err(|_| "cannot start the recorder")?;
    source
        .connect_with_audio_node(&node)
        .map_err(|_| "cannot connect the microphone")?;
    // Pulled by the graph (its output is silence).
    node.connect_with_audio_node(&ctx.destination())
        .map_err(|_| "cannot connect the recorder")?;
    let (weak, weak_mic) = (Rc::downgrade(page), Rc::downgrade(mic));
    let on_message = Closure::wrap(Box::new(move |e: JsValue| {
        if let (Some(page), Some(mic), Ok(e)) = (
            weak.upgrade(),
            weak_mic.upgrade(),
            e.dyn_into::<MessageEvent>(),
        ) {
            Mic::reply(&page, &mic, e.data());
        }
    }) as Box<dyn FnMut(JsValue)>);
    let port = node.port().map_err(|_| "no recorder port")?;
    port.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
    let port2 = port.clone();
    let poll = Closure::wrap(Box::new(move |_: JsValue| {
        let _ = port2.post_message(&message("poll"));
    }) as Box<dyn FnMut(JsValue)>);
    web_sys::window()
        .ok_or("no window")?
        .set_interval_with_callback_and_timeout_and_arguments_0(
            poll.as_ref().unchecked_ref(),
            POLL_MS,
        )
        .map_err(|_| "cannot poll the recorder")?;
    mic.sample_rate_hz.set(ctx.sample_rate());
    mic.callbacks.borrow_mut().extend([on_message, poll]);
    *mic.node.borrow_mut() = Some(node);
    Ok(())
}

/// Adds the latest take to the grid as a new track sliced at its detected onsets, straight to
/// the session (the plugin's "Add Take to Grid" without the editor; the test hooks use it).
pub fn add_latest_take(page: &Rc<Page>, mic: &Mic) -> Result<Added, AddTakeError> {
    let take = mic.last_take().ok_or(AddTakeError::NoTake)?;
    let name = format!("Take {}", take.serial);
    let cuts = keyboardia_engine::onsets::detect(&take.mono(), take.sample_rate_hz);
    let p = page.clone();
    let mut add_track = move |sample: SampleId, name: &str| -> Result<TrackId, String> {
        let state = p.client.borrow().state().clone();
        let id = loop {
            let id = TrackId::from_random(crate::dom::random_u64());
            if state.track(id).is_none() {
                break id;
            }
        };
        let mut track = Track::new(id, clean_name(name), Instrument::Sample(sample));
        track.cuts = clean_cuts(&cuts);
        let op = Op::AddTrack {
            track: Box::new(track),
            index: None,
        };
        p.client
            .borrow_mut()
            .edit(op)
            .map_err(|e| format!("The track was not added: {e}"))?;
        Ok(id)
    };
    add_take(page, &take, &name, &mut add_track)
}

/// Adds `take` to the grid: its sound into the sampler (shared with the session under its
/// content id, as the plugin shares takes), and a track playing it through `add_track`.
pub fn add_take(
    page: &Rc<Page>,
    take: &Take,
    name: &str,
    add_track: AddTrack<'_>,
) -> Result<Added, AddTakeError> {
    if take.is_empty() {
        return Err(AddTakeError::Empty);
    }
    if page.client.borrow().state().tracks.len() >= MAX_TRACKS {
        return Err(AddTakeError::TrackCap);
    }
    let mono = take.mono();
    let rate = take.sample_rate_hz.round() as u32;
    let share = |e: keyboardia_core::audio::AudioError| AddTakeError::Share(e.to_string());
    let mut wav = encode_wav_f32(&mono, rate).map_err(share)?;
    if wav.len() > MAX_SAMPLE_BYTES {
        wav = encode_wav_i16(&mono, rate).map_err(share)?;
    }
    // What the others decode, so every player plays the same frames.
    let decoded = decode_wav(&wav).map_err(share)?;
    let id = SampleId::for_content(&wav);
    page.add_sample(id.clone(), decoded.frames, decoded.sample_rate_hz as f32);
    let joined = page.client.borrow().is_joined();
    // The upload is queued before the track's edit, like the plugin's.
    page.client
        .borrow_mut()
        .upload_sample(name, wav, Some(id.clone()));
    let track = add_track(id.clone(), name).map_err(AddTakeError::Track)?;
    page.pump();
    Ok(Added {
        track,
        sample: id,
        shared: joined,
    })
}
