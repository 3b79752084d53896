//! In-memory stand-ins for a host, for the editor's unit tests.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Mutex;

use keyboardia_core::song::PlaybackView;
use keyboardia_core::{Op, OpError, PatternId, SampleId, SessionId, SessionState};

use crate::host::*;

/// A session store in memory.
pub struct MemStore(
    /// The session, applied to in place.
    Mutex<SessionState>,
);

impl MemStore {
    pub fn new(state: SessionState) -> Self {
        Self(Mutex::new(state))
    }

    pub fn state(&self) -> SessionState {
        self.0.lock().unwrap().clone()
    }

    pub fn apply(&self, op: &Op) -> Result<(), OpError> {
        self.0.lock().unwrap().apply(op).map(|_| ())
    }
}

impl OpSink for MemStore {
    fn send(&self, op: &Op) -> Result<(), OpError> {
        self.apply(op)
    }
}

impl Store for MemStore {
    fn state(&self) -> SessionState {
        MemStore::state(self)
    }

    fn sample_ids(&self) -> Vec<SampleId> {
        Vec::new()
    }
}

/// A transport whose playhead the test sets.
pub struct MemTransport {
    /// The play request.
    run: AtomicBool,
    /// Whether the sequencer "runs" (the test's say).
    pub playing: AtomicBool,
    /// The 16th-note counter (the test advances it).
    pub sixteenth: AtomicU64,
    /// What plays (the test sets it, as an audio side would report).
    pub view: Mutex<PlaybackView>,
    /// Each pattern cued, in order.
    pub cues: Mutex<Vec<PatternId>>,
    /// Each song-mode request, in order.
    pub song_mode: Mutex<Vec<bool>>,
}

impl MemTransport {
    pub fn new(run: bool) -> Self {
        Self {
            run: AtomicBool::new(run),
            playing: AtomicBool::new(false),
            sixteenth: AtomicU64::new(0),
            view: Mutex::new(PlaybackView::default()),
            cues: Mutex::new(Vec::new()),
            song_mode: Mutex::new(Vec::new()),
        }
    }
}

impl Transport for MemTransport {
    fn playing(&self) -> bool {
        self.playing.load(Ordering::Relaxed)
    }
    fn sixteenth(&self) -> u64 {
        self.sixteenth.load(Ordering::Relaxed)
    }
    fn run(&self) -> bool {
        self.run.load(Ordering::Relaxed)
    }
    fn set_run(&self, run: bool) {
        self.run.store(run, Ordering::Relaxed);
    }
    fn playback_view(&self) -> PlaybackView {
        *self.view.lock().unwrap()
    }
    fn cue_pattern(&self, pt: PatternId) {
        self.cues.lock().unwrap().push(pt);
    }
    fn set_song_mode(&self, on: bool) {
        self.song_mode.lock().unwrap().push(on);
        self.view.lock().unwrap().song_mode = on;
    }
}

/// Parameters in memory.
#[derive(Default)]
pub struct MemSettings {
    /// Mute per track slot.
    mute: Mutex<[bool; 16]>,
    /// Solo per track slot.
    solo: Mutex<[bool; 16]>,
}

impl Settings for MemSettings {
    fn standalone(&self) -> bool {
        false
    }
    fn clock(&self) -> ClockMode {
        ClockMode::Host
    }
    fn set_clock(&self, _mode: ClockMode) {}
    fn mute(&self, slot: usize) -> bool {
        self.mute.lock().unwrap()[slot % 16]
    }
    fn set_mute(&self, slot: usize, on: bool) {
        self.mute.lock().unwrap()[slot % 16] = on;
    }
    fn solo(&self, slot: usize) -> bool {
        self.solo.lock().unwrap()[slot % 16]
    }
    fn set_solo(&self, slot: usize, on: bool) {
        self.solo.lock().unwrap()[slot % 16] = on;
    }
}

/// A live session that is never joined and records what is asked of it (the session bar's
/// joins, the shared transport's requests, leaving).
#[derive(Default)]
pub struct MemLive {
    /// (server, session) of each join.
    pub joins: Mutex<Vec<(String, SessionId)>>,
    /// Each shared-transport request.
    pub playing: Mutex<Vec<bool>>,
    /// Left at least once.
    pub left: AtomicBool,
    /// Whether it says a session is joined (the test's say; false by default).
    pub joined: AtomicBool,
}

impl LiveSession for MemLive {
    fn status(&self) -> Status {
        Status::default()
    }
    fn is_joined(&self) -> bool {
        self.joined.load(Ordering::Relaxed)
    }
    fn timeline_playing(&self) -> Option<bool> {
        None
    }
    fn invite_link(&self) -> Option<String> {
        None
    }
    fn default_server(&self) -> String {
        "http://127.0.0.1:8787".into()
    }
    /// A link `<server>/s/<id>` or a bare id.
    fn parse_invite(&self, text: &str) -> Result<(Option<String>, SessionId), LiveError> {
        let (server, id) = match text.split_once("/s/") {
            Some((server, id)) => (Some(server.to_string()), id),
            None => (None, text),
        };
        id.trim()
            .parse()
            .map(|id| (server, id))
            .map_err(|_| LiveError("not an id".into()))
    }
    fn create(&self, _server: &str, _name: &str) -> Result<SessionId, LiveError> {
        Ok(SessionId::from_random_bytes([7; 16]))
    }
    fn join(&self, server: &str, session: SessionId, _name: &str) -> Result<(), LiveError> {
        self.joins.lock().unwrap().push((server.into(), session));
        Ok(())
    }
    fn fork(&self) -> Result<SessionId, LiveError> {
        Err(LiveError("offline".into()))
    }
    fn leave(&self) {
        self.left.store(true, Ordering::Relaxed);
    }
    fn set_playing(&self, playing: bool) {
        self.playing.lock().unwrap().push(playing);
    }
    fn share_sample_file(&self, _path: &str) -> Result<String, LiveError> {
        Err(LiveError("offline".into()))
    }
}

/// A recorder with no input that remembers the last preview asked for.
#[derive(Default)]
pub struct MemRecorder {
    /// The last `request_preview_range`.
    pub preview: Mutex<Option<(usize, usize)>>,
    /// Whether the button is held.
    pub held: Mutex<bool>,
}

impl Recorder for MemRecorder {
    fn set_hold(&self, hold: bool) {
        *self.held.lock().unwrap() = hold;
    }
    fn request_preview(&self) {
        self.request_preview_range(0, usize::MAX);
    }
    fn request_preview_range(&self, start: usize, end: usize) {
        *self.preview.lock().unwrap() = Some((start, end));
    }
    fn recording(&self) -> bool {
        false
    }
    fn previewing(&self) -> bool {
        false
    }
    fn take_frames(&self) -> usize {
        0
    }
    fn take_serial(&self) -> u64 {
        0
    }
    fn sample_rate_hz(&self) -> f32 {
        48_000.0
    }
    fn max_take_s(&self) -> f64 {
        5.0
    }
    fn input_peak(&self) -> f32 {
        0.0
    }
    fn poll_take(&self) -> Option<Take> {
        None
    }
    fn onsets(&self, _take: &Take) -> Vec<usize> {
        Vec::new()
    }
    fn add_take(
        &self,
        _take: &Take,
        _name: &str,
        _add_track: AddTrack<'_>,
    ) -> Result<Added, AddTakeError> {
        Err(AddTakeError::NoTake)
    }
    fn take_added(&self) -> Option<AddOutcome> {
        None
    }
}

/// Peaks the test sets, taken like an audio thread's.
#[derive(Default)]
pub struct MemMeters(
    /// The peaks since the last take.
    pub Mutex<([f32; 16], f32)>,
);

impl Meters for MemMeters {
    fn take_peaks(&self) -> ([f32; 16], f32) {
        std::mem::take(&mut *self.0.lock().unwrap())
    }
}

/// Sign-in and ownership whose status the test sets.
#[derive(Default)]
pub struct MemAccount {
    /// What the panel and the editor read.
    pub status: Mutex<AccountStatus>,
}

impl Account for MemAccount {
    fn account_status(&self) -> AccountStatus {
        self.status.lock().unwrap().clone()
    }
}

/// A whole host in memory.
pub struct MemHost {
    /// The session.
    pub store: MemStore,
    /// Playheads (stopped).
    pub transport: MemTransport,
    /// Clock, mute and solo.
    pub settings: MemSettings,
    /// No live session.
    pub live: MemLive,
    /// No input.
    pub recorder: MemRecorder,
    /// Output levels (shown once the test sets `metered`).
    pub meters: MemMeters,
    /// Whether the host has meters.
    pub metered: bool,
    /// The sounds the sound picker asked to preview.
    pub previewed: Mutex<Vec<(keyboardia_core::Instrument, f32, f32)>>,
    /// Every change of the fill switch the editor made, in order.
    pub fills: Vec<bool>,
    /// Accounts, once the test gives the host some (the account panel is hidden otherwise).
    pub account: Option<MemAccount>,
}

impl MemHost {
    pub fn new(state: SessionState) -> Self {
        Self {
            store: MemStore::new(state),
            transport: MemTransport::new(false),
            settings: MemSettings::default(),
            live: MemLive::default(),
            recorder: MemRecorder::default(),
            meters: MemMeters::default(),
            metered: false,
            previewed: Mutex::new(Vec::new()),
            fills: Vec::new(),
            account: None,
        }
    }
}

impl Host for MemHost {
    fn store(&self) -> &dyn Store {
        &self.store
    }
    fn transport(&self) -> &dyn Transport {
        &self.transport
    }
    fn settings(&self) -> &dyn Settings {
        &self.settings
    }
    fn live(&self) -> &dyn LiveSession {
        &self.live
    }
    fn recorder(&self) -> &dyn Recorder {
        &self.recorder
    }
    fn meters(&self) -> Option<&dyn Meters> {
        self.metered.then_some(&self.meters as &dyn Meters)
    }
    fn set_fill(&mut self, on: bool) {
        self.fills.push(on);
    }
    fn account(&self) -> Option<&dyn Account> {
        self.account.as_ref().map(|a| a as &dyn Account)
    }
    fn preview_sound(&self, sound: &keyboardia_core::Instrument, volume: f32, pan: f32) {
        self.previewed
            .lock()
            .unwrap()
            .push((sound.clone(), volume, pan));
    }
}
