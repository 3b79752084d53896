//! A session: its musical state (what every player hears) and the saved document around it
//! (id, times, fork parent, owner and mode).

use serde::{Deserialize, Serialize};

use super::fx::SessionFx;
use super::ids::{BeatId, SessionId, TrackId};
use super::instrument::Instrument;
use super::limits::{DEFAULT_SEED, DEFAULT_STEP_COUNT, DEFAULT_TEMPO, SCHEMA_VERSION};
use super::pattern::{PatternId, SongEntry, SwitchAt};
use super::track::Track;

/// The musical state of a session: what every player hears.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SessionState {
    /// Schema version of this document ([`SCHEMA_VERSION`] once loaded).
    pub version: u32,
    /// BPM, [`TEMPO_RANGE`](super::limits::TEMPO_RANGE).
    pub tempo: f64,
    /// Percent, [`SWING_RANGE`](super::limits::SWING_RANGE).
    pub swing: f64,
    /// Seed of the dice of probability locks (and of the engine's per-hit sound variation), so
    /// that every player, the browser and every bounce of the session hear the same hits. Set by
    /// the server from its randomness when it creates a session (core draws no randomness),
    /// kept by forks and by saves (see [`Session::replace_state`]); no op edits it. Documents
    /// from before seeds were stored get [`DEFAULT_SEED`].
    ///
    /// JSON: a string of 16 lowercase hex digits (`"seed":"4b6579626f617264"`), not a number,
    /// because JSON numbers past 2^53 are not exact in JavaScript and many JSON tools.
    #[serde(with = "super::json::seed_hex")]
    pub seed: u64,
    /// At most [`MAX_TRACKS`](super::limits::MAX_TRACKS), ids unique, in display order.
    pub tracks: Vec<Track>,
    /// The shared effects (reverb size, delay time and feedback); left out of the JSON at the
    /// defaults, so documents from before effects read and write byte-identically.
    #[serde(default, skip_serializing_if = "SessionFx::is_default")]
    pub fx: SessionFx,
    /// The song: patterns in the order they play, each repeated; at most
    /// [`MAX_SONG_ENTRIES`](super::limits::MAX_SONG_ENTRIES). Played in song mode (and by the
    /// renderer) when not empty. JSON `"song":[{"p":"A","n":2},{"p":"B","n":1}]`, left out when
    /// empty, so documents from before songs read and write byte-identically.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub song: Vec<SongEntry>,
    /// When a queued pattern takes over. JSON `"switchAt":"longest"`, left out at the default
    /// (`"bar"`).
    #[serde(default, skip_serializing_if = "SwitchAt::is_default")]
    pub switch_at: SwitchAt,
}

impl Default for SessionState {
    fn default() -> Self {
        Self {
            version: SCHEMA_VERSION,
            tempo: DEFAULT_TEMPO,
            swing: 0.0,
            seed: DEFAULT_SEED,
            tracks: Vec::new(),
            fx: SessionFx::default(),
            song: Vec::new(),
            switch_at: SwitchAt::default(),
        }
    }
}

impl SessionState {
    pub fn track(&self, id: TrackId) -> Option<&Track> {
        self.tracks.iter().find(|t| t.id == id)
    }

    pub fn track_index(&self, id: TrackId) -> Option<usize> {
        self.tracks.iter().position(|t| t.id == id)
    }

    /// One pass of pattern `pt` in steps: its longest track's step count
    /// ([`DEFAULT_STEP_COUNT`] without tracks). A song entry plays this many steps per repeat,
    /// and [`SwitchAt::LongestTrack`] switches at the end of a pass.
    pub fn pattern_steps(&self, pt: PatternId) -> u32 {
        self.tracks
            .iter()
            .map(|t| u32::from(t.step_count_in(pt)))
            .max()
            .unwrap_or(u32::from(DEFAULT_STEP_COUNT))
    }

    /// Whether any track has a part in pattern `pt` that differs from an empty one (a slot the
    /// editor shows as used).
    pub fn pattern_in_use(&self, pt: PatternId) -> bool {
        self.tracks.iter().any(|t| t.has_part(pt))
    }

    /// The demo beat a new user hears on first start: a four-bar groove over drums, bass and a
    /// synth line, with swing, locks and a polyrhythmic 12-step shaker.
    pub fn demo() -> Self {
        fn track(id: &str, inst: &str, on: &[usize]) -> Track {
            let instrument: Instrument = inst.parse().expect("demo instrument");
            let name = instrument.label().to_owned();
            let mut t = Track::new(id.parse().expect("demo id"), name, instrument);
            for &i in on {
                t.steps[i].on = true;
            }
            t
        }
        let mut kick = track("kick", "kick", &[0, 4, 8, 12]);
        kick.volume = 0.9;
        let snare = track("snare", "snare", &[4, 12]);
        let mut clap = track("clap", "clap", &[12]);
        clap.volume = 0.5;
        let mut hat = track("hat", "hat_closed", &[0, 2, 4, 6, 8, 10, 12, 14, 15]);
        hat.volume = 0.55;
        hat.steps[15].velocity = 60;
        hat.steps[14].locks.ratchet = Some(2);
        let mut open = track("open", "hat_open", &[2, 10]);
        open.volume = 0.4;
        let mut shaker = track("shaker", "shaker", &[0, 3, 6, 9]);
        shaker.step_count = 12;
        shaker.volume = 0.35;
        shaker.steps[3].locks.probability = Some(60);
        let mut bass = track(
            "bass",
            "synth:acid",
            &[0, 3, 6, 8, 11, 14, 16, 19, 22, 24, 27, 30],
        );
        bass.step_count = 32;
        bass.volume = 0.6;
        for (i, p) in [(3, 12), (11, 12), (14, 3), (19, 12), (27, 7), (30, 5)] {
            bass.steps[i].locks.pitch = Some(p);
        }
        bass.steps[8].velocity = 127;
        bass.steps[24].velocity = 127;
        let mut lead = track(
            "lead",
            "synth:pluck",
            &[0, 6, 10, 16, 22, 26, 32, 38, 42, 48, 54, 58],
        );
        lead.step_count = 64;
        lead.volume = 0.45;
        lead.pan = 0.2;
        let melody = [12, 15, 19, 12, 15, 17, 10, 14, 17, 8, 12, 15];
        for (n, &i) in [0, 6, 10, 16, 22, 26, 32, 38, 42, 48, 54, 58]
            .iter()
            .enumerate()
        {
            lead.steps[i].locks.pitch = Some(melody[n]);
        }
        Self {
            version: SCHEMA_VERSION,
            tempo: 118.0,
            swing: 18.0,
            seed: DEFAULT_SEED,
            tracks: vec![kick, snare, clap, hat, open, shaker, bass, lead],
            fx: SessionFx::default(),
            song: Vec::new(),
            switch_at: SwitchAt::default(),
        }
    }
}

/// Who may edit a session.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Everyone with the link edits.
    #[default]
    Collaborative,
    /// Only the owner edits; others view and may fork.
    Readonly,
}

/// A saved session, as stored in KV and served by the REST API.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Session {
    /// The session's id: its link.
    pub id: SessionId,
    /// Milliseconds since the Unix epoch.
    pub created_at: u64,
    /// Milliseconds since the Unix epoch.
    pub updated_at: u64,
    /// The session this one was forked from, if any.
    pub forked_from: Option<SessionId>,
    /// The published beat this session was remixed from, if any (its lineage).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remixed_from: Option<BeatId>,
    /// The owner's user id, if the session was claimed.
    #[serde(default)]
    pub owner_id: Option<String>,
    /// Who may edit.
    #[serde(default)]
    pub mode: Mode,
    /// What every player hears.
    pub state: SessionState,
}

impl Session {
    /// A new session at `now_ms` (ms since the Unix epoch).
    pub fn new(id: SessionId, now_ms: u64, state: SessionState) -> Self {
        Self {
            id,
            created_at: now_ms,
            updated_at: now_ms,
            forked_from: None,
            remixed_from: None,
            owner_id: None,
            mode: Mode::Collaborative,
            state,
        }
    }

    /// Replaces the musical state (a REST save), keeping the session's seed: the seed belongs
    /// to the session, set when it was created, whatever seed the saved document carries.
    pub fn replace_state(&mut self, state: SessionState) {
        let seed = self.state.seed;
        self.state = state;
        self.state.seed = seed;
    }

    /// A fork: a new id, the same state (seed included, so the fork plays the same hits),
    /// collaborative and unowned, pointing at its parent.
    pub fn fork(&self, id: SessionId, now_ms: u64) -> Self {
        Self {
            forked_from: Some(self.id),
            ..Self::new(id, now_ms, self.state.clone())
        }
    }
}
