//! The plugin as the editor's host: the `keyboardia-ui` host traits implemented over the
//! plugin's services and parameters.

use std::sync::Arc;

use keyboardia_core::song::PlaybackView;
use keyboardia_core::{Instrument, Op, OpError, PatternId, SampleId, SessionId, SessionState};
use keyboardia_engine::{Patch, Preview, PreviewMailbox};
use keyboardia_sync::{parse_invite, DEFAULT_SERVER};
use keyboardia_ui::host::{
    self as ui, AddOutcome, AddTakeError, AddTrack, Added, ClockMode as UiClock, LiveError, Take,
};
use nice_plug::context::gui::GuiContext;
use nice_plug::prelude::*;

use crate::live::{Joined, Live};
use crate::params::{ClockMode, KeyboardiaParams};
use crate::record::RecordShared;
use crate::session::SessionStore;
use crate::takes::Takes;
use crate::transport::Transport;

/// Exactly the handles the editor needs.
pub struct PluginHost {
    /// The session store every edit goes through.
    pub store: Arc<SessionStore>,
    /// Playheads from the audio thread, play/stop to it.
    pub transport: Arc<Transport>,
    /// Track and master peaks from the audio thread.
    pub meters: EngineMeters,
    /// The sound picker's previews, posted to the audio thread (lock-free).
    pub preview: Arc<PreviewMailbox>,
    /// Mute/solo/clock parameters, set through the host's GUI context.
    pub settings: ParamSettings,
    /// The live session: status, join/leave, shared play/stop.
    pub live: Arc<Live>,
    /// Beats: publish, history, open read-only, remix (and beat links in the join field).
    pub beats: Arc<crate::beats::PluginBeats>,
    /// Sign-in, claim and lock.
    pub account: Arc<crate::account::PluginAccount>,
    /// The recorder and the takes service.
    pub recorder: TakeRecorder,
}

impl PluginHost {
    /// The host context (parameter changes), set while the window is open.
    pub fn set_gui(&mut self, gui: Option<GuiContext>) {
        self.settings.gui = gui;
    }
}

impl ui::Host for PluginHost {
    fn store(&self) -> &dyn ui::Store {
        &*self.store
    }
    fn transport(&self) -> &dyn ui::Transport {
        &*self.transport
    }
    fn settings(&self) -> &dyn ui::Settings {
        &self.settings
    }
    fn live(&self) -> &dyn ui::LiveSession {
        &*self.beats
    }
    fn recorder(&self) -> &dyn ui::Recorder {
        &self.recorder
    }
    fn meters(&self) -> Option<&dyn ui::Meters> {
        Some(&self.meters)
    }
    fn beats(&self) -> Option<&dyn ui::Beats> {
        Some(&*self.beats)
    }
    fn account(&self) -> Option<&dyn ui::Account> {
        Some(&*self.account)
    }
    fn set_fill(&mut self, on: bool) {
        self.transport.set_fill(on);
    }
    fn preview_sound(&self, sound: &Instrument, volume: f32, pan: f32) {
        if let Some(patch) = preview_patch(&self.store, sound) {
            self.preview.post(Preview { patch, volume, pan });
        }
    }
}

/// The engine patch that previews `sound`: a sample by the slot the sampler holds it in
/// (`None` while it is not loaded).
pub fn preview_patch(store: &SessionStore, sound: &Instrument) -> Option<Patch> {
    Some(match sound {
        Instrument::Sound(s) => Patch::Sound(*s),
        Instrument::Synth(p) => Patch::Synth(*p),
        Instrument::Sample(id) => {
            let slot = store.sample_ids().iter().position(|s| s == id)?;
            Patch::Sample(u8::try_from(slot).ok()?)
        }
    })
}

/// The engine's level meters, as the editor reads them.
pub struct EngineMeters(
    /// Written by the audio thread, taken by the editor once per frame.
    pub Arc<keyboardia_engine::LevelMeters>,
);

impl ui::Meters for EngineMeters {
    fn take_peaks(&self) -> ([f32; keyboardia_core::MAX_TRACKS], f32) {
        self.0.take()
    }
}

impl ui::OpSink for SessionStore {
    fn send(&self, op: &Op) -> Result<(), OpError> {
        self.apply(op)
    }
}

impl ui::Store for SessionStore {
    fn state(&self) -> SessionState {
        SessionStore::state(self)
    }
    fn sample_ids(&self) -> Vec<SampleId> {
        SessionStore::sample_ids(self)
    }
}

impl ui::Transport for Transport {
    fn playing(&self) -> bool {
        Transport::playing(self)
    }
    fn sixteenth(&self) -> u64 {
        Transport::sixteenth(self)
    }
    fn run(&self) -> bool {
        Transport::run(self)
    }
    fn set_run(&self, run: bool) {
        Transport::set_run(self, run)
    }
    fn playback_view(&self) -> PlaybackView {
        Transport::playback_view(self)
    }
    fn cue_pattern(&self, pt: PatternId) {
        Transport::cue_pattern(self, pt)
    }
    fn set_song_mode(&self, on: bool) {
        Transport::set_song_mode(self, on)
    }
    fn set_fill(&self, on: bool) {
        Transport::set_fill(self, on)
    }
}

/// The parameters the editor shows, changed as gestures of the host's GUI context.
pub struct ParamSettings {
    /// The parameters.
    pub params: Arc<KeyboardiaParams>,
    /// The host context, while the window is open (`None`: changes are ignored).
    pub gui: Option<GuiContext>,
}

impl ParamSettings {
    /// Sets `param` to `value` as one gesture.
    fn set<P: Param>(&self, param: &P, value: P::Plain) {
        if let Some(gui) = &self.gui {
            let setter = gui.param_setter();
            setter.begin_set_parameter(param);
            setter.set_parameter(param, value);
            setter.end_set_parameter(param);
        }
    }
}

impl ui::Settings for ParamSettings {
    fn standalone(&self) -> bool {
        self.gui
            .as_ref()
            .is_some_and(|g| g.plugin_api() == PluginApi::Standalone)
    }
    fn clock(&self) -> UiClock {
        match self.params.clock.value() {
            ClockMode::Host => UiClock::Host,
            ClockMode::Internal => UiClock::Internal,
            ClockMode::Server => UiClock::Session,
        }
    }
    fn set_clock(&self, mode: UiClock) {
        let mode = match mode {
            UiClock::Host => ClockMode::Host,
            UiClock::Internal => ClockMode::Internal,
            UiClock::Session => ClockMode::Server,
        };
        self.set(&self.params.clock, mode);
    }
    fn mute(&self, slot: usize) -> bool {
        self.params.tracks.get(slot).is_some_and(|t| t.mute.value())
    }
    fn set_mute(&self, slot: usize, on: bool) {
        if let Some(t) = self.params.tracks.get(slot) {
            self.set(&t.mute, on);
        }
    }
    fn solo(&self, slot: usize) -> bool {
        self.params.tracks.get(slot).is_some_and(|t| t.solo.value())
    }
    fn set_solo(&self, slot: usize, on: bool) {
        if let Some(t) = self.params.tracks.get(slot) {
            self.set(&t.solo, on);
        }
    }
}

impl ui::LiveSession for Live {
    fn status(&self) -> ui::Status {
        Live::status(self)
    }
    fn is_joined(&self) -> bool {
        Live::is_joined(self)
    }
    fn timeline_playing(&self) -> Option<bool> {
        self.clock().read().map(|c| c.timeline.playing)
    }
    fn invite_link(&self) -> Option<String> {
        Live::invite_link(self)
    }
    fn default_server(&self) -> String {
        DEFAULT_SERVER.into()
    }
    fn parse_invite(&self, text: &str) -> Result<(Option<String>, SessionId), LiveError> {
        parse_invite(text)
            .map(|(server, id)| (server.map(|s| s.base().to_string()), id))
            .map_err(|e| LiveError(e.to_string()))
    }
    fn create(&self, server: &str, name: &str) -> Result<SessionId, LiveError> {
        Live::create(self, server, name).map_err(LiveError)
    }
    fn join(&self, server: &str, session: SessionId, name: &str) -> Result<(), LiveError> {
        Live::join(
            self,
            Joined {
                server: server.into(),
                session,
                name: name.into(),
                pending: vec![],
            },
        )
        .map_err(LiveError)
    }
    fn fork(&self) -> Result<SessionId, LiveError> {
        Live::fork(self).map_err(LiveError)
    }
    fn leave(&self) {
        Live::leave(self)
    }
    fn set_playing(&self, playing: bool) {
        Live::set_playing(self, playing)
    }
    fn share_sample_file(&self, path: &str) -> Result<String, LiveError> {
        share(self, path).map_err(LiveError)
    }
}

/// Reads the WAV file at `path`, checks it and shares it with the session.
fn share(live: &Live, path: &str) -> Result<String, String> {
    let path = std::path::Path::new(path.trim());
    let wav = std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    // Check it here, so a file the server would refuse is reported at once.
    keyboardia_core::audio::validate_sample(&wav, None).map_err(|e| e.to_string())?;
    let name: String = path
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or("sample")
        .chars()
        .take(32)
        .collect();
    live.share_sample(&name, wav)?;
    Ok(format!("sharing {name}"))
}

/// The recorder as the editor sees it: the audio thread's take, and the takes service that adds
/// a take to the grid.
pub struct TakeRecorder {
    /// The editor's side of the recorder.
    pub record: Arc<RecordShared>,
    /// Adds takes to the grid (and keeps the footswitch's outcome).
    pub takes: Arc<Takes>,
}

impl ui::Recorder for TakeRecorder {
    fn set_hold(&self, hold: bool) {
        self.record.set_hold(hold)
    }
    fn request_preview(&self) {
        self.record.request_preview()
    }
    fn request_preview_range(&self, start: usize, end: usize) {
        self.record.request_preview_range(start, end)
    }
    fn recording(&self) -> bool {
        self.record.recording()
    }
    fn previewing(&self) -> bool {
        self.record.previewing()
    }
    fn take_frames(&self) -> usize {
        self.record.take_frames()
    }
    fn take_serial(&self) -> u64 {
        self.record.take_serial()
    }
    fn sample_rate_hz(&self) -> f32 {
        self.record.sample_rate_hz()
    }
    fn max_take_s(&self) -> f64 {
        keyboardia_core::audio::MAX_SAMPLE_S
    }
    fn input_peak(&self) -> f32 {
        self.record.input_peak()
    }
    fn poll_take(&self) -> Option<Take> {
        self.record.poll_take()
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
        self.takes.add_take(take, name, add_track)
    }
    fn take_added(&self) -> Option<AddOutcome> {
        self.takes.take_added()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::params::KeyboardiaParams;
    use crate::services::{AudioEnds, Services};
    use crate::session::AudioSide;
    use keyboardia_core::{Instrument, SessionState, TrackId, MAX_TRACKS};
    use keyboardia_ui::record_panel::{add_to_grid, share_message};
    use keyboardia_ui::session_bar::SessionBar;
    use keyboardia_ui::Controller;
    use ui::Transfer;

    fn take(serial: u64) -> Take {
        let n = 4800;
        Take {
            serial,
            left: (0..n).map(|i| ((i as f32) * 0.05).sin() * 0.5).collect(),
            right: (0..n).map(|i| ((i as f32) * 0.07).sin() * 0.25).collect(),
            sample_rate_hz: 48_000.0,
        }
    }

    fn controller(store: &SessionStore) -> Controller {
        let mut n = 0u64;
        Controller::new(
            store.state(),
            Box::new(move || {
                n += 7919;
                n
            }),
        )
    }

    /// The plugin's services holding `state`, with the audio thread's queue ends.
    fn services(state: SessionState) -> (Services, AudioSide) {
        let (services, AudioEnds { audio, .. }) = Services::new(&KeyboardiaParams::default());
        services.store.replace_state(state);
        (services, audio.unwrap())
    }

    /// The editor's view of the services' recorder.
    fn recorder(sv: &Services) -> TakeRecorder {
        TakeRecorder {
            record: sv.record.clone(),
            takes: sv.takes.clone(),
        }
    }

    /// A live bridge over a fresh store, not joined.
    fn live() -> Live {
        Live::new(&Arc::new(SessionStore::default()))
    }

    fn id(s: &str) -> TrackId {
        s.parse().unwrap()
    }

    /// A click on a pattern slot, the song switch and the fill button reach the audio thread's
    /// side of the transport (no longer the trait's no-ops), and what the audio thread
    /// publishes is what the slots show.
    #[test]
    fn pattern_slots_song_mode_and_fill_reach_the_audio_side() {
        use crate::playback::Request;
        let (sv, _audio) = services(SessionState::demo());
        let transport = Arc::new(Transport::new(false));
        let t: &dyn ui::Transport = &*transport;
        let mut c = controller(&sv.store);
        let b: keyboardia_core::PatternId = "B".parse().unwrap();
        c.cue(t, b);
        assert_eq!(c.shown(), b);
        assert_eq!(transport.take_request(), Some(Request::Cue(b)));
        t.set_song_mode(true);
        assert_eq!(transport.take_request(), Some(Request::SongMode(true)));
        t.set_fill(true);
        assert!(transport.fill());
        let view = keyboardia_core::song::PlaybackView {
            pattern: b,
            song_mode: true,
            ..Default::default()
        };
        transport.publish_view(&view);
        assert_eq!(t.playback_view(), view);
    }

    #[test]
    fn clicks_reach_the_store_and_the_audio_side() {
        let (sv, mut audio) = services(SessionState::demo());
        let mut c = controller(&sv.store);
        c.click_cell(&*sv.store, id("snare"), 7, false);
        assert!(sv.store.state().tracks[1].steps[7].on);
        let mut pattern = None;
        while let Ok(p) = audio.patterns.pop() {
            pattern = Some(p);
        }
        assert!(pattern.unwrap().tracks[1].steps[7].on);
    }

    /// Laying a sliced track's slices out reaches the audio thread's pattern, locks and all.
    #[test]
    fn laid_slices_reach_the_audio_sides_pattern() {
        let mut state = SessionState::demo();
        let mut t =
            keyboardia_core::Track::new(id("take"), "Take 1", "sample:rec-1".parse().unwrap());
        t.cuts = vec![0, 4_000, 9_000];
        state.tracks.push(t);
        let (sv, mut audio) = services(state);
        let mut c = controller(&sv.store);
        assert_eq!(c.lay_slices(&*sv.store, id("take")), 3);
        let mut pattern = None;
        while let Ok(p) = audio.patterns.pop() {
            pattern = Some(p);
        }
        let pattern = pattern.unwrap();
        let slot = sv.store.state().track_index(id("take")).unwrap();
        assert_eq!(pattern.tracks[slot].steps[2].locks.slice, Some(2));
        assert_eq!(pattern.tracks[slot].cuts(), [0, 4_000, 9_000]);
    }

    #[test]
    fn join_accepts_links_and_ids() {
        let id = "6f2d8bcd-0b14-46ae-9f2d-8bcd0b1476ae";
        let live = live();
        let mut bar = SessionBar::new(DEFAULT_SERVER.into());
        bar.join_text = format!("https://keyboardia.example/s/{id}");
        assert_eq!(
            bar.join_target(&live).unwrap(),
            (
                "https://keyboardia.example".to_string(),
                id.parse().unwrap()
            )
        );
        bar.join_text = format!("  {id} ");
        assert_eq!(
            bar.join_target(&live).unwrap(),
            (DEFAULT_SERVER.to_string(), id.parse().unwrap())
        );
        bar.join_text = "not a link".into();
        assert!(bar.join_target(&live).is_err());
    }

    #[test]
    fn add_to_grid_hands_the_take_to_the_sampler_and_the_new_track_plays_it() {
        let (sv, mut audio) = services(SessionState::default());
        let store = &*sv.store;
        let mut c = controller(store);
        let t = take(3);
        let added = add_to_grid(&t, &[], &recorder(&sv), &*sv.store, &mut c).unwrap();
        assert!(!added.shared, "alone: nothing is uploaded");
        let (tr, id) = (added.track, added.sample);
        assert!(id.as_str().starts_with("rec-"), "{id}");
        let state = store.state();
        assert_eq!(state.tracks.len(), 1);
        assert_eq!(state.tracks[0].instrument, Instrument::Sample(id));
        assert_eq!(state.tracks[0].name, "Take 3");
        assert!(state.tracks[0].steps.iter().all(|s| !s.on));
        assert!(c.can_undo(), "an undoable edit");

        // The sampler gets the take mixed to mono, bit-exact.
        let msg = audio
            .samples
            .pop()
            .expect("sample handed to the audio thread");
        let buffer = msg.buffer.expect("a sample, not a clear");
        assert_eq!(&buffer.frames[..], &t.mono()[..]);
        assert_eq!(buffer.sample_rate_hz, 48_000.0);

        // Clicking step 1 on, the engine plays it; clicking it off again, the track is silent.
        let mut click_and_render = || {
            c.click_cell(store, tr, 0, false);
            let mut pattern = None;
            while let Ok(p) = audio.patterns.pop() {
                pattern = Some(p);
            }
            let pattern = pattern.expect("a pattern after the click");
            crate::samples::tests::render_peak(&pattern, msg.slot, buffer.clone())
        };
        assert!(click_and_render() > 0.05, "the take sounds on step 1");
        assert_eq!(click_and_render(), 0.0, "silent with the step off again");
    }

    /// In a live session (here with an unreachable server) the take is named by the content id
    /// of the WAV every player downloads, plays here at once from exactly the frames the others
    /// will decode, its track goes to the room like any edit, and the upload keeps retrying.
    #[test]
    fn add_to_grid_in_a_live_session_shares_the_take_under_its_content_id() {
        let (sv, mut audio) = services(SessionState::default());
        sv.live
            .join(crate::live::Joined {
                // Nothing listens on port 1.
                server: "http://127.0.0.1:1".into(),
                session: "6f2d8bcd-0b14-46ae-9f2d-8bcd0b1476ae".parse().unwrap(),
                name: "Ada".into(),
                pending: vec![],
            })
            .unwrap();
        let mut c = controller(&sv.store);
        let t = take(4);
        let added = add_to_grid(&t, &[], &recorder(&sv), &*sv.store, &mut c).unwrap();
        assert!(added.shared);
        let wav = keyboardia_core::audio::encode_wav_f32(&t.mono(), 48_000).unwrap();
        assert_eq!(added.sample, SampleId::for_content(&wav));
        let state = sv.store.state();
        assert_eq!(
            state.track(added.track).unwrap().instrument,
            Instrument::Sample(added.sample.clone())
        );
        let msg = audio.samples.pop().expect("the sampler has it at once");
        assert_eq!(&msg.buffer.unwrap().frames[..], &t.mono()[..], "lossless");

        // Offline, the upload fails and is retried; the edit waits in the pending list.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        let failed = loop {
            let status = sv.live.status();
            if let Some(t @ Transfer::Failed { .. }) = status.upload_of(&added.sample) {
                break t.clone();
            }
            assert!(std::time::Instant::now() < deadline, "no failure reported");
            std::thread::sleep(std::time::Duration::from_millis(20));
        };
        assert!(matches!(failed, Transfer::Failed { retrying: true, .. }));
        let text = share_message(4, Some(&failed));
        assert!(text.contains("retried"), "{text}");
        let pending = loop {
            let pending = sv.live.saved_or_restored().unwrap().pending;
            if !pending.is_empty() || std::time::Instant::now() > deadline {
                break pending;
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        };
        assert!(
            pending
                .iter()
                .any(|op| matches!(op, Op::AddTrack { track, .. } if track.id == added.track)),
            "{pending:?}"
        );
        sv.live.leave();
    }

    /// The cut lines the panel shows become the new track's slices, in the same undo entry as
    /// the track; a step locked to a slice then plays exactly that part of the take.
    #[test]
    fn add_to_grid_slices_the_new_track_at_the_panels_cut_lines() {
        let (sv, mut audio) = services(SessionState::default());
        let store = &*sv.store;
        let mut c = controller(store);
        let t = take(5);
        let cuts = [100, 2_000, 3_500];
        let tr = add_to_grid(&t, &cuts, &recorder(&sv), &*sv.store, &mut c)
            .unwrap()
            .track;
        assert_eq!(store.state().track(tr).unwrap().cuts, [100, 2_000, 3_500]);
        assert_eq!(c.undo_depth(), 1, "the track and its cuts: one undo entry");
        assert!(c.undo(store));
        assert!(store.state().tracks.is_empty());
        assert!(c.redo(store));
        c.refresh(store.state());
        assert_eq!(store.state().track(tr).unwrap().cuts, [100, 2_000, 3_500]);

        // Slice 1 (frames 2000..3500) on step 1: the engine plays exactly those frames.
        c.click_cell(store, tr, 0, false);
        c.click_cell(store, tr, 0, true);
        c.set_lock(store, keyboardia_core::Lock::Slice(1), None);
        let buffer = audio.samples.pop().unwrap();
        let mut pattern = None;
        while let Ok(p) = audio.patterns.pop() {
            pattern = Some(p);
        }
        let pattern = pattern.unwrap();
        assert_eq!(pattern.tracks[0].cuts(), [100, 2_000, 3_500]);
        let mut engine = keyboardia_engine::Engine::new(48_000.0);
        let _ = engine.set_sample(buffer.slot, buffer.buffer.clone());
        engine.set_pattern(&pattern);
        let mut clock = keyboardia_engine::InternalClock::new(120.0);
        clock.play_from(0.0);
        let mut track = vec![0.0f32; 4_800];
        let (mut l, mut r) = (vec![0.0f32; 4_800], vec![0.0f32; 4_800]);
        let mut aux = |t: usize, at: usize, left: &[f32], _: &[f32]| {
            if t == 0 {
                track[at..at + left.len()].copy_from_slice(left);
            }
        };
        engine.process(
            &clock.next_block(4_800, 48_000.0),
            &[],
            &mut l,
            &mut r,
            Some(&mut aux),
        );
        let frames = &buffer.buffer.unwrap().frames;
        // Before the slice's 4 ms fade, the track is the take's frames 2000.. at one gain.
        let gain = track[10] / frames[2_010];
        for j in 0..1_300 {
            assert!(
                (track[j] - frames[2_000 + j] * gain).abs() < 1e-6,
                "frame {j}"
            );
        }
        assert!(
            track[1_500..].iter().all(|&v| v == 0.0),
            "silent after the slice"
        );
    }

    #[test]
    fn add_to_grid_refuses_at_the_cap_and_when_empty() {
        let (sv, _audio) = services(SessionState::demo());
        let store = &*sv.store;
        let mut c = controller(store);
        let empty = Take {
            left: vec![],
            right: vec![],
            ..take(2)
        };
        assert_eq!(
            add_to_grid(&empty, &[], &recorder(&sv), &*sv.store, &mut c),
            Err(AddTakeError::Empty)
        );
        while c.state().tracks.len() < MAX_TRACKS {
            c.add_track(store).unwrap();
        }
        let before = store.state();
        let err = add_to_grid(&take(3), &[100], &recorder(&sv), &*sv.store, &mut c).unwrap_err();
        assert_eq!(err.to_string(), keyboardia_ui::TRACK_CAP_NOTICE);
        assert_eq!(store.state(), before, "nothing changes at the cap");
        assert!(store.sample_ids().is_empty(), "no sampler slot used");
    }

    #[test]
    fn new_sample_ids_are_valid_and_distinct() {
        let a = crate::takes::new_sample_id();
        let b = crate::takes::new_sample_id();
        assert!(a.as_str().starts_with("rec-"));
        let digits = &a.as_str()[4..];
        assert_eq!(digits.len(), 16, "{a:?}");
        assert!(
            digits
                .bytes()
                .all(|c| matches!(c, b'0'..=b'9' | b'a'..=b'f')),
            "{a:?}"
        );
        assert_ne!(a, b);
    }
}
