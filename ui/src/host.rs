//! What the editor needs from whoever hosts it (the plugin today, a browser app later), as small
//! traits, and the plain types that cross them. The editor never sees a plugin framework, an
//! audio thread, a network or a file system: everything it reads or commands goes through
//! [`Host`].

use std::time::Duration;

// `std::time::Instant` panics in browsers; web-time is the same type natively and
// `performance.now()` on wasm32.
use web_time::Instant;

use keyboardia_core::protocol::{Player, PlayerId};
use keyboardia_core::song::PlaybackView;
use keyboardia_core::{
    BeatId, Instrument, Op, OpError, PatternId, SampleId, SessionId, SessionState, TrackId,
};

/// Where edits go: the host's session store (which hands them to the audio thread and, in a
/// live session, to the room).
pub trait OpSink {
    /// Applies `op` to the shared session; an error leaves it untouched.
    fn send(&self, op: &Op) -> Result<(), OpError>;
}

/// The session store as the editor sees it.
pub trait Store: OpSink {
    /// A copy of the session.
    fn state(&self) -> SessionState;
    /// The samples the sampler holds, in slot order (the sound picker offers them).
    fn sample_ids(&self) -> Vec<SampleId>;
}

/// Playheads from the audio side, and the local play/stop request to it.
pub trait Transport {
    /// Whether the sequencer ran in the last block.
    fn playing(&self) -> bool;
    /// The global 16th-note counter of the last block (track `t` plays
    /// `sixteenth % t.step_count`; see [`step_of`]).
    fn sixteenth(&self) -> u64;
    /// The local play request.
    fn run(&self) -> bool;
    /// Sets the local play request (it starts and stops the internal clock).
    fn set_run(&self, run: bool);
    /// What plays at the last block: the pattern (and the step its run began, for the
    /// playheads: [`keyboardia_core::song::step_in_run`]), a queued switch, song mode and its
    /// position, the fill switch. Default: pattern A from step 0.
    fn playback_view(&self) -> PlaybackView {
        PlaybackView::default()
    }
    /// Queues pattern `pt`: it takes over at the next bar line or the end of the longest track
    /// (the session's [`SwitchAt`](keyboardia_core::SwitchAt)), at once while stopped; in a live
    /// session the room stamps the switch, so everyone switches on the same step.
    fn cue_pattern(&self, _pt: PatternId) {}
    /// Song mode on (the song starts at the next boundary) or off (the pattern it reached keeps
    /// looping).
    fn set_song_mode(&self, _on: bool) {}
    /// The fill switch (FILL / NOT FILL trig conditions): a momentary button sends `true` on
    /// press and `false` on release, a latched one toggles.
    fn set_fill(&self, _on: bool) {}
}

/// The step a track of `step_count` steps plays at 16th-note counter `sixteenth`.
pub fn step_of(sixteenth: u64, step_count: u8) -> u8 {
    (sixteenth % u64::from(step_count.max(1))) as u8
}

/// Where the beat comes from (the host's clock parameter).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClockMode {
    /// The host's transport (a DAW's).
    Host,
    /// The free-running internal clock (Play here starts it).
    Internal,
    /// The live session's shared timeline.
    Session,
}

impl ClockMode {
    /// Every mode, in the order the clock menu lists them.
    pub const ALL: [ClockMode; 3] = [ClockMode::Host, ClockMode::Internal, ClockMode::Session];

    /// The name the clock menu shows.
    pub fn label(self) -> &'static str {
        match self {
            ClockMode::Host => "Host",
            ClockMode::Internal => "Internal",
            ClockMode::Session => "Session",
        }
    }
}

/// This player's own settings, which are the host's parameters (automatable, not shared).
pub trait Settings {
    /// Whether the host is the standalone app (its internal clock always drives, or the
    /// session's once joined; there is no clock menu).
    fn standalone(&self) -> bool;
    /// The clock parameter.
    fn clock(&self) -> ClockMode;
    /// Sets the clock parameter (as one gesture the host records).
    fn set_clock(&self, mode: ClockMode);
    /// Track slot `slot`'s mute parameter.
    fn mute(&self, slot: usize) -> bool;
    /// Sets track slot `slot`'s mute parameter.
    fn set_mute(&self, slot: usize, on: bool);
    /// Track slot `slot`'s solo parameter.
    fn solo(&self, slot: usize) -> bool;
    /// Sets track slot `slot`'s solo parameter.
    fn set_solo(&self, slot: usize, on: bool);
}

/// How long a cell another player changed stays highlighted.
pub const FLASH: Duration = Duration::from_millis(600);

/// A cell another player changed, for a brief flash.
#[derive(Clone, Debug, PartialEq)]
pub struct Flash {
    /// The track changed.
    pub track: TrackId,
    /// `None` when the whole track changed.
    pub step: Option<u8>,
    /// The player's palette colour.
    pub color: u8,
    /// When it changed (the flash fades over [`FLASH`]).
    pub at: Instant,
}

/// A shared sample on its way, for the session bar.
#[derive(Clone, Debug, PartialEq)]
pub enum Transfer {
    /// Uploading: `sent` of `total` bytes (`total` 0: not started).
    Uploading { sent: usize, total: usize },
    /// In the session under this id.
    Uploaded(SampleId),
    /// Fetched and in the sampler under this id.
    Downloaded(SampleId),
    /// Failed; `retrying` when another attempt follows.
    Failed { error: String, retrying: bool },
}

/// The connection to the live room.
#[derive(Clone, Debug, PartialEq)]
pub enum Connection {
    /// Connecting, attempt `attempt` (from 0).
    Connecting { attempt: u32 },
    /// In the room.
    Joined,
    /// Not connected; the next attempt is in `retry_in`.
    Offline { error: String, retry_in: Duration },
}

/// What the session bar shows of the live session.
#[derive(Clone, Debug, Default)]
pub struct Status {
    /// The joined session (`None` when playing alone).
    pub session: Option<SessionId>,
    /// The connection, once the sync side reported one.
    pub connection: Option<Connection>,
    /// This player, once in the room.
    pub you: Option<PlayerId>,
    /// The players present.
    pub players: Vec<Player>,
    /// Cells other players changed recently.
    pub flashes: Vec<Flash>,
    /// Shared samples by name, newest last.
    pub transfers: Vec<(String, Transfer)>,
    /// Recorded takes this player shares, by sample id, newest last.
    pub uploads: Vec<(SampleId, Transfer)>,
    /// The last error to show (refused edit, failed REST call, ...).
    pub error: Option<String>,
}

impl Status {
    /// The name a shared sample came with, if this player saw it travel.
    pub fn sample_name(&self, id: &SampleId) -> Option<&str> {
        self.transfers.iter().find_map(|(name, t)| match t {
            Transfer::Uploaded(s) | Transfer::Downloaded(s) if s == id => Some(name.as_str()),
            _ => None,
        })
    }

    /// Where the upload of a shared take stands.
    pub fn upload_of(&self, id: &SampleId) -> Option<&Transfer> {
        self.uploads
            .iter()
            .find_map(|(s, t)| (s == id).then_some(t))
    }
}

/// Why a live-session command failed: the message the user reads.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct LiveError(pub String);

/// The live session: its status and the session bar's commands.
pub trait LiveSession {
    /// A copy of the status (flashes older than [`FLASH`] dropped).
    fn status(&self) -> Status;
    /// Whether a session is joined.
    fn is_joined(&self) -> bool;
    /// Whether the shared timeline plays (`None` until the session's clock is known).
    fn timeline_playing(&self) -> Option<bool>;
    /// The link other players paste to join.
    fn invite_link(&self) -> Option<String>;
    /// The server a fresh session bar offers.
    fn default_server(&self) -> String;
    /// Reads an invite link or a bare session id: the server it names (if any) and the id.
    fn parse_invite(&self, text: &str) -> Result<(Option<String>, SessionId), LiveError>;
    /// Creates a session on `server` holding the current pattern, and joins it.
    fn create(&self, server: &str, name: &str) -> Result<SessionId, LiveError>;
    /// Joins `session` on `server` as `name`.
    fn join(&self, server: &str, session: SessionId, name: &str) -> Result<(), LiveError>;
    /// Forks the joined session and joins the fork.
    fn fork(&self) -> Result<SessionId, LiveError>;
    /// Leaves the session; the pattern stays.
    fn leave(&self);
    /// Starts or stops the shared transport.
    fn set_playing(&self, playing: bool);
    /// Shares the WAV file at `path` with the session; on success, what to tell the user.
    fn share_sample_file(&self, path: &str) -> Result<String, LiveError>;
    /// When `text` (the join field) is a beat link (`…/b/{id}`), opens that beat read-only and
    /// says what it did; `None` for anything else (hosts without beats).
    fn open_beat_link(&self, text: &str) -> Option<Result<String, LiveError>> {
        let _ = text;
        None
    }
}

/// A finished take, as the editor receives it.
#[derive(Clone, Debug, PartialEq)]
pub struct Take {
    /// Which take this is (the recorder's take serial when it was copied).
    pub serial: u64,
    /// Left input channel.
    pub left: Vec<f32>,
    /// Right input channel (a copy of the left one for a mono input).
    pub right: Vec<f32>,
    /// The rate it was recorded at, in Hz.
    pub sample_rate_hz: f32,
}

impl Take {
    /// Frames in the take.
    pub fn len(&self) -> usize {
        self.left.len()
    }

    /// Whether the take has no frames.
    pub fn is_empty(&self) -> bool {
        self.left.is_empty()
    }

    /// The take mixed to mono (what a sample track plays).
    pub fn mono(&self) -> Vec<f32> {
        self.left
            .iter()
            .zip(&self.right)
            .map(|(l, r)| 0.5 * (l + r))
            .collect()
    }
}

/// The message shown when a track is added to a full session.
pub const TRACK_CAP_NOTICE: &str = "All 16 tracks are in use: delete one to add another.";

/// What adding a take did.
#[derive(Clone, Debug, PartialEq)]
pub struct Added {
    /// The new track.
    pub track: TrackId,
    /// The sample it plays.
    pub sample: SampleId,
    /// Whether the take is being shared with a live session.
    pub shared: bool,
}

/// Why a take could not be added; the message is what the user reads.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum AddTakeError {
    #[error("The take is empty.")]
    Empty,
    #[error("There is no take to add yet.")]
    NoTake,
    #[error("{TRACK_CAP_NOTICE}")]
    TrackCap,
    #[error("The sampler is full ({slots} sounds): no room for this take.")]
    SamplerFull {
        /// How many sounds the sampler holds.
        slots: usize,
    },
    /// The take could not be handed to the live session.
    #[error("{0}")]
    Share(String),
    /// The new track was refused.
    #[error("{0}")]
    Track(String),
}

/// What adding take `serial` did (or why it could not).
pub type AddOutcome = Result<(u64, Added), AddTakeError>;

/// Adds the track a take plays, given the take's sample id and the track's name (the editor
/// passes its undoable edit).
pub type AddTrack<'a> = &'a mut dyn FnMut(SampleId, &str) -> Result<TrackId, String>;

/// The recorder: the Record button, the input meter, the latest take, preview, and adding a
/// take to the grid.
pub trait Recorder {
    /// Holds (true) or releases (false) the Record button.
    fn set_hold(&self, hold: bool);
    /// Plays the last take from its start.
    fn request_preview(&self);
    /// Plays frames `start..end` of the last take (one slice).
    fn request_preview_range(&self, start: usize, end: usize);
    /// Whether a take is being recorded.
    fn recording(&self) -> bool;
    /// Whether the preview plays.
    fn previewing(&self) -> bool;
    /// Frames captured in the current or last take.
    fn take_frames(&self) -> usize;
    /// Number of finished takes (the latest take's serial; 0: none yet).
    fn take_serial(&self) -> u64;
    /// The capture's sample rate in Hz.
    fn sample_rate_hz(&self) -> f32;
    /// The longest take, in seconds.
    fn max_take_s(&self) -> f64;
    /// Input peak level (linear).
    fn input_peak(&self) -> f32;
    /// The latest take once it is available (once per take).
    fn poll_take(&self) -> Option<Take>;
    /// Where transient detection cuts `take` (frames, ascending).
    fn onsets(&self, take: &Take) -> Vec<usize>;
    /// Makes `take` a sample of the sampler and adds the track playing it through `add_track`
    /// (shared with a live session when joined). Nothing changes on an error.
    fn add_take(
        &self,
        take: &Take,
        name: &str,
        add_track: AddTrack<'_>,
    ) -> Result<Added, AddTakeError>;
    /// What the last "Add Take to Grid" without the editor (the host's footswitch) did, once.
    fn take_added(&self) -> Option<AddOutcome>;
}

/// Output levels from the audio side, for the meters.
pub trait Meters {
    /// The peak (linear) of each track slot's output and of the master since the last call,
    /// taking them (the editor calls it once per frame).
    fn take_peaks(&self) -> ([f32; keyboardia_core::MAX_TRACKS], f32);
}

/// A sign-in waiting for the user (the device flow): the code to check and the page to open.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PendingSignIn {
    /// The code the approval page shows (`XXXX-XXXX`).
    pub user_code: String,
    /// The page the user signs in and approves on (already opened in the browser).
    pub verification_uri: String,
}

/// What the account panel shows.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AccountStatus {
    /// The signed-in user's email, when signed in.
    pub email: Option<String>,
    /// The signed-in user's id (what a claimed session's owner id holds).
    pub user_id: Option<String>,
    /// The signed-in user's display name (what others see, e.g. on beats), where the host
    /// knows it.
    pub name: Option<String>,
    /// A sign-in in progress.
    pub pending: Option<PendingSignIn>,
    /// The joined session's owner id (`None`: unowned, or no session).
    pub session_owner: Option<String>,
    /// Whether the joined session is read-only.
    pub session_readonly: bool,
    /// Whether this player may edit the joined session (the owner, or a collaborative session).
    pub can_edit: bool,
    /// The last failure to show.
    pub error: Option<String>,
    /// Where a sign-in link was mailed and is awaited (hosts that sign in by email).
    pub mail_sent_to: Option<String>,
    /// A request in flight ("Claiming…", "Locking…"), to show while it runs.
    pub working: Option<String>,
    /// What the last request did, for the user ("you own this session").
    pub notice: Option<String>,
}

impl AccountStatus {
    /// Whether the joined session is someone else's locked session, so nothing may be edited
    /// (`joined`: a live session is joined): the editor draws it disabled and sends nothing.
    pub fn locked_out(&self, joined: bool) -> bool {
        joined && !self.can_edit
    }
}

/// Sign-in and ownership: the account panel's commands. Every body has a default so that hosts
/// without accounts compile unchanged (the panel is hidden for them: [`Host::account`]).
pub trait Account {
    /// A copy of the status.
    fn account_status(&self) -> AccountStatus {
        AccountStatus::default()
    }
    /// Starts signing in (the device flow: shows a code, opens the browser).
    fn sign_in(&self) {}
    /// Whether signing in here asks for an email address to mail a sign-in link to (the
    /// browser) rather than starting the device flow.
    fn signs_in_by_email(&self) -> bool {
        false
    }
    /// Mails a sign-in link to `email` (hosts that sign in by email); the outcome shows in the
    /// status ([`AccountStatus::mail_sent_to`], or the error).
    fn send_sign_in_link(&self, email: &str) {
        let _ = email;
    }
    /// Signs out (the server revokes the tokens) and forgets them.
    fn sign_out(&self) {}
    /// Whether the display name can be changed here ([`Account::set_display_name`]).
    fn renames(&self) -> bool {
        false
    }
    /// Changes the signed-in user's display name, in the background (the outcome shows in the
    /// status).
    fn set_display_name(&self, name: &str) {
        let _ = name;
    }
    /// Claims the joined, unowned session for the signed-in user. The request runs in the
    /// background: `Ok` means it started; its outcome shows in the status (`working`, then
    /// `notice` or `error`).
    fn claim(&self) -> Result<(), LiveError> {
        Err(LiveError("accounts are not available here".into()))
    }
    /// Locks (read-only for everyone else) or unlocks the joined session the user owns, in the
    /// background like [`Account::claim`].
    fn set_locked(&self, locked: bool) -> Result<(), LiveError> {
        let _ = locked;
        Err(LiveError("accounts are not available here".into()))
    }
}

/// Everything the editor draws over: one handle per concern.
pub trait Host {
    /// The session every edit goes through.
    fn store(&self) -> &dyn Store;
    /// Playheads and play/stop.
    fn transport(&self) -> &dyn Transport;
    /// The host's parameters the editor shows (clock, mute, solo).
    fn settings(&self) -> &dyn Settings;
    /// The live session.
    fn live(&self) -> &dyn LiveSession;
    /// The recorder.
    fn recorder(&self) -> &dyn Recorder;
    /// Plays `sound` once at `volume` (linear, 0..=1) and `pan` (-1..=1), the settings of the
    /// track whose sound picker previews it, whether the sequencer plays or not (hosts without
    /// a preview voice ignore it).
    fn preview_sound(&self, sound: &Instrument, volume: f32, pan: f32) {
        let _ = (sound, volume, pan);
    }
    /// The output levels, where the host meters them (the meters are hidden otherwise).
    fn meters(&self) -> Option<&dyn Meters> {
        None
    }
    /// Sign-in and ownership, where the host has accounts (the account panel is hidden
    /// otherwise).
    fn account(&self) -> Option<&dyn Account> {
        None
    }

    /// Published beats: publish, history, open read-only, remix (the beats panel is hidden
    /// without them).
    fn beats(&self) -> Option<&dyn Beats> {
        None
    }

    /// The fill switch of FILL / NOT FILL trig conditions went on or off (the editor's Fill
    /// button: held, or latched with Shift+click). Hosts without an engine ignore it.
    fn set_fill(&mut self, on: bool) {
        let _ = on;
    }
}

/// A published beat shown read-only (the beat page, or a beat opened in an app).
#[derive(Clone, Debug, PartialEq)]
pub struct BeatView {
    /// The beat.
    pub id: BeatId,
    /// Its title, if its publisher gave one.
    pub name: Option<String>,
    /// Its link (`…/b/{id}`).
    pub link: String,
    /// The invite link of the session it was published from, while that session exists.
    pub source_link: Option<String>,
    /// Who published it: the creator's display name (never an id or an address); `None` for
    /// a beat published without signing in.
    pub created_by: Option<String>,
}

/// What the beats panel shows.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct BeatsStatus {
    /// The beat shown read-only, if any: the editor then sends no edits.
    pub viewing: Option<BeatView>,
    /// The joined session's beats, oldest first (as last fetched).
    pub history: Vec<keyboardia_core::beat::BeatSummary>,
    /// A request in flight ("Publishing…"), to show while it runs.
    pub working: Option<String>,
    /// What the last request ended with, for the user (the new beat's link, a refusal).
    pub message: Option<String>,
    /// Whether `message` is an error.
    pub message_is_error: bool,
}

/// A file a beat exports to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BeatExport {
    /// A 32-bit float stereo WAV bounce.
    Wav,
    /// A Standard MIDI File, type 1.
    Midi,
}

/// Published beats, over the server's REST API. Requests run in the background: their outcome
/// shows in [`Beats::beats_status`].
pub trait Beats {
    /// The panel's state now.
    fn beats_status(&self) -> BeatsStatus;
    /// Publishes the joined session's state now as a beat named `name` (blank: unnamed).
    fn publish(&self, name: &str);
    /// Fetches the joined session's beat history again.
    fn refresh_history(&self);
    /// Opens beat `id` read-only (on `server`, else the joined or default server).
    fn open_beat(&self, server: Option<&str>, id: BeatId);
    /// Remixes the beat shown: a new editable session from it, opened at once.
    fn remix(&self);
    /// Whether the beat shown can be closed (back to the session); the beat page cannot.
    fn closable(&self) -> bool {
        false
    }
    /// Back from the beat shown to what was there before.
    fn close_beat(&self) {}
    /// Whether [`Beats::export`] works here.
    fn exports(&self) -> bool {
        false
    }
    /// Exports the beat shown (one file, downloaded or saved where the host keeps them).
    fn export(&self, format: BeatExport) {
        let _ = format;
    }
    /// The link that opens the beat shown in the Keyboardia app (the beat page offers it).
    fn open_in_app_link(&self) -> Option<String> {
        None
    }
}
