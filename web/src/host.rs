//! The editor's host in the browser: ui's host traits over the [`Page`].

use std::rc::Rc;

use keyboardia_core::song::PlaybackView;
use keyboardia_core::{Instrument, PatternId, MAX_TRACKS};
use keyboardia_core::{Op, OpError, SampleId, SessionId, SessionState};
use keyboardia_ui::host::{
    AddOutcome, AddTakeError, AddTrack, Added, ClockMode, LiveError, LiveSession, Meters, OpSink,
    Recorder, Settings, Status, Store, Take, Transport, FLASH,
};
use keyboardia_ui::Host;

use crate::mic::{self, Mic, MAX_TAKE_S};
use crate::page::Page;
use crate::route;

/// ui's host over the page (every trait on one handle).
#[derive(Clone)]
pub struct WebHost {
    /// Everything the page holds.
    pub page: Rc<Page>,
    /// The microphone recorder.
    pub mic: Rc<Mic>,
}

impl OpSink for WebHost {
    fn send(&self, op: &Op) -> Result<(), OpError> {
        let result = self.page.client.borrow_mut().edit(op.clone());
        match result {
            Ok(_) => {
                self.page.pump();
                Ok(())
            }
            Err(keyboardia_core::client::EditError::Op(e)) => Err(e),
            Err(e) => {
                self.page.status.borrow_mut().error = Some(e.to_string());
                Ok(())
            }
        }
    }
}

impl Store for WebHost {
    fn state(&self) -> SessionState {
        self.page.client.borrow().state().clone()
    }

    fn sample_ids(&self) -> Vec<SampleId> {
        self.page
            .samples
            .borrow()
            .iter()
            .map(|s| s.id.clone())
            .collect()
    }
}

impl WebHost {
    /// The 16th step playing now (since the transport's start), while the timeline the page
    /// plays (the room's, or its own alone) plays.
    fn step(&self) -> Option<u64> {
        let (tl, now) = self.page.timeline_now()?;
        crate::playback::step_at(&tl, now)
    }
}

impl Transport for WebHost {
    fn playing(&self) -> bool {
        self.step().is_some()
    }

    fn sixteenth(&self) -> u64 {
        self.step().unwrap_or(0)
    }

    fn run(&self) -> bool {
        self.page.run.get()
    }

    fn set_run(&self, run: bool) {
        self.page.run.set(run);
        self.page.sync_audio();
    }

    /// From the timeline the worklet plays (the room's, or the page's own), at the page's now.
    fn playback_view(&self) -> PlaybackView {
        self.page.playback_view()
    }

    fn cue_pattern(&self, pt: PatternId) {
        self.page.cue_pattern(pt);
    }

    fn set_song_mode(&self, on: bool) {
        self.page.set_song_mode(on);
    }

    fn set_fill(&self, on: bool) {
        self.page.set_fill(on);
    }
}

impl Settings for WebHost {
    /// Like the standalone app: the session's clock once joined, no clock menu.
    fn standalone(&self) -> bool {
        true
    }

    fn clock(&self) -> ClockMode {
        ClockMode::Session
    }

    fn set_clock(&self, _mode: ClockMode) {}

    fn mute(&self, slot: usize) -> bool {
        self.page.mixer.borrow().get(slot).is_some_and(|m| m.0)
    }

    fn set_mute(&self, slot: usize, on: bool) {
        if let Some(m) = self.page.mixer.borrow_mut().get_mut(slot) {
            m.0 = on;
        }
        self.page.send_mixer();
    }

    fn solo(&self, slot: usize) -> bool {
        self.page.mixer.borrow().get(slot).is_some_and(|m| m.1)
    }

    fn set_solo(&self, slot: usize, on: bool) {
        if let Some(m) = self.page.mixer.borrow_mut().get_mut(slot) {
            m.1 = on;
        }
        self.page.send_mixer();
    }
}

/// Opens `/s/{id}` in this tab.
fn open_session(id: SessionId) {
    if let Some(w) = web_sys::window() {
        let _ = w.location().assign(&format!("/s/{id}"));
    }
}

impl LiveSession for WebHost {
    fn status(&self) -> Status {
        let mut s = self.page.status.borrow().clone();
        s.flashes.retain(|f| f.at.elapsed() < FLASH);
        s
    }

    fn is_joined(&self) -> bool {
        self.page.client.borrow().is_joined()
    }

    fn timeline_playing(&self) -> Option<bool> {
        self.page.client.borrow().timeline().map(|t| t.playing)
    }

    fn invite_link(&self) -> Option<String> {
        Some(route::invite_link(&self.page.origin, self.page.session))
    }

    fn default_server(&self) -> String {
        self.page.origin.clone()
    }

    fn parse_invite(&self, text: &str) -> Result<(Option<String>, SessionId), LiveError> {
        route::parse_invite(text)
            .map(|id| (None, id))
            .map_err(|e| LiveError(e.to_string()))
    }

    /// Creates a session holding this pattern and opens it (in this tab, once created).
    fn create(&self, _server: &str, _name: &str) -> Result<SessionId, LiveError> {
        let page = self.page.clone();
        let state = page.client.borrow().state().clone();
        wasm_bindgen_futures::spawn_local(async move {
            match crate::net::create_session(&page.origin, &state).await {
                Ok(id) => open_session(id),
                Err(e) => page.status.borrow_mut().error = Some(e.to_string()),
            }
        });
        // The page moves to the new session as soon as the server answers.
        Ok(self.page.session)
    }

    fn join(&self, _server: &str, session: SessionId, _name: &str) -> Result<(), LiveError> {
        open_session(session);
        Ok(())
    }

    fn fork(&self) -> Result<SessionId, LiveError> {
        let page = self.page.clone();
        wasm_bindgen_futures::spawn_local(async move {
            match crate::net::fork_session(&page.origin, page.session).await {
                Ok(id) => open_session(id),
                Err(e) => page.status.borrow_mut().error = Some(e.to_string()),
            }
        });
        Ok(self.page.session)
    }

    /// Leaves for the start page (which opens a new session).
    fn leave(&self) {
        if let Some(w) = web_sys::window() {
            let _ = w.location().assign("/");
        }
    }

    fn set_playing(&self, playing: bool) {
        self.page.client.borrow_mut().set_playing(playing);
        self.page.pump();
    }

    fn share_sample_file(&self, _path: &str) -> Result<String, LiveError> {
        Err(LiveError(
            "The browser cannot read files by path: record a take instead.".into(),
        ))
    }
}

impl Recorder for WebHost {
    fn set_hold(&self, hold: bool) {
        Mic::set_hold(&self.page, &self.mic, hold);
    }

    fn request_preview(&self) {
        self.request_preview_range(0, usize::MAX);
    }

    fn request_preview_range(&self, start: usize, end: usize) {
        let Some(take) = self.mic.last_take() else {
            return;
        };
        let mono = take.mono();
        let end = end.min(mono.len());
        if start >= end {
            return;
        }
        if let Some(audio) = self.page.audio.borrow().as_ref() {
            if let Err(e) = audio.play_buffer(&mono[start..end], take.sample_rate_hz) {
                self.page.status.borrow_mut().error = Some(e.to_string());
            }
        }
    }

    fn recording(&self) -> bool {
        self.mic.recording()
    }

    fn previewing(&self) -> bool {
        false
    }

    fn take_frames(&self) -> usize {
        self.mic.frames()
    }

    fn take_serial(&self) -> u64 {
        self.mic.serial()
    }

    fn sample_rate_hz(&self) -> f32 {
        self.mic.sample_rate_hz()
    }

    fn max_take_s(&self) -> f64 {
        MAX_TAKE_S
    }

    fn input_peak(&self) -> f32 {
        self.mic.peak()
    }

    fn poll_take(&self) -> Option<Take> {
        self.mic.poll_take()
    }

    fn onsets(&self, take: &Take) -> Vec<usize> {
        keyboardia_engine::onsets::detect(&take.mono(), take.sample_rate_hz)
    }

    fn add_take(
        &self,
        take: &Take,
        name: &str,
        add_track: AddTrack<'_>,
    ) -> Result<Added, AddTakeError> {
        mic::add_take(&self.page, take, name, add_track)
    }

    fn take_added(&self) -> Option<AddOutcome> {
        None
    }
}

impl Host for WebHost {
    fn store(&self) -> &dyn Store {
        self
    }

    fn transport(&self) -> &dyn Transport {
        self
    }

    fn settings(&self) -> &dyn Settings {
        self
    }

    fn live(&self) -> &dyn LiveSession {
        self
    }

    fn recorder(&self) -> &dyn Recorder {
        self
    }

    /// The worklet's preview voice (nothing before Start sound: there is no audio yet).
    fn preview_sound(&self, sound: &Instrument, volume: f32, pan: f32) {
        if let Some(audio) = self.page.audio.borrow().as_ref() {
            audio.preview(sound, volume, pan);
        }
    }

    fn meters(&self) -> Option<&dyn Meters> {
        Some(self)
    }

    /// The fill switch, stamped on the timeline the page plays ([`Transport::set_fill`]).
    fn set_fill(&mut self, on: bool) {
        self.page.set_fill(on);
    }
}

/// The worklet engine's levels, polled through its port (flat before Start sound).
impl Meters for WebHost {
    fn take_peaks(&self) -> ([f32; MAX_TRACKS], f32) {
        let levels = self
            .page
            .audio
            .borrow()
            .as_ref()
            .map(|a| a.take_levels())
            .unwrap_or_default();
        (levels.tracks, levels.master)
    }
}
