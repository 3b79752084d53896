//! A track and its steps: a sound and its pattern.
//!
//! The compact JSON form of a track is in `json.rs`, its validation in `validate.rs`.

use super::fx::TrackFx;
use super::ids::TrackId;
use super::instrument::Instrument;
use super::limits::{DEFAULT_VELOCITY, DEFAULT_VOLUME, MAX_STEPS};
use super::lock::Locks;

/// One step of a track.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Step {
    /// Whether the step plays.
    pub on: bool,
    /// [`VELOCITY_RANGE`](super::limits::VELOCITY_RANGE); kept when the step is switched off, so
    /// on/off never loses it.
    pub velocity: u8,
    /// Per-step overrides of the track's values.
    pub locks: Locks,
}

impl Default for Step {
    fn default() -> Self {
        Self {
            on: false,
            velocity: DEFAULT_VELOCITY,
            locks: Locks::default(),
        }
    }
}

impl Step {
    /// A step nobody has touched (off, default velocity, no locks).
    pub fn is_default(&self) -> bool {
        *self == Self::default()
    }
}

/// All 64 steps of a track. Shortening a track's step count hides steps; it never deletes them.
pub type Steps = [Step; MAX_STEPS];

/// One track: a sound and its pattern.
///
/// JSON form (compact; keys of a step detail: `s` index, `v` velocity, `p` pitch, `l` volume,
/// `c` probability, `n` nudge, `r` ratchet, `sl` slice, `cd` trig condition as text, `hz`
/// cutoff, `rv` reverb send, `dl` delay send):
/// ```json
/// {"id":"kick","name":"Kick","instrument":"kick","volume":0.8,"pan":0.0,"stepCount":16,
///  "on":"8888000000000000","x":[{"s":4,"v":90,"p":-2}]}
/// ```
/// `on` is the 64 on/off flags as 16 hex digits, step 0 in the high bit of the first digit;
/// `x` lists only the steps whose velocity or locks differ from the defaults. A sliced sample
/// track adds its cut points, `"cuts":[0,5512,11025]`; without cuts the key is left out, so a
/// document without slices reads and writes exactly as before cuts existed. A colour a player
/// picked is `"color":3`, a swing of its own `"swing":30.0`; without them the keys are left
/// out, likewise.
#[derive(Clone, Debug, PartialEq)]
pub struct Track {
    /// Stable id: ops name the track by it, never by position.
    pub id: TrackId,
    /// Display name, at most [`NAME_MAX_BYTES`](super::limits::NAME_MAX_BYTES) bytes, no control
    /// characters.
    pub name: String,
    /// What the track plays.
    pub instrument: Instrument,
    /// [`VOLUME_RANGE`](super::limits::VOLUME_RANGE).
    pub volume: f32,
    /// [`PAN_RANGE`](super::limits::PAN_RANGE).
    pub pan: f32,
    /// [`STEP_COUNT_RANGE`](super::limits::STEP_COUNT_RANGE): the track loops over
    /// `steps[..step_count]`.
    pub step_count: u8,
    /// All [`MAX_STEPS`] steps, the hidden ones past `step_count` included.
    pub steps: Steps,
    /// Where the track's sample is sliced: strictly ascending frame offsets into the sample (at
    /// its own rate), each the first frame of a slice, at most
    /// [`MAX_SLICES`](super::limits::MAX_SLICES); see
    /// [`slice_bounds`](super::cuts::slice_bounds). Empty: the sample is one slice. Kept when
    /// the instrument changes (like hidden steps), used only while the track plays a sample.
    pub cuts: Vec<u32>,
    /// The colour a player picked for the track, an index below
    /// [`TRACK_COLORS`](super::limits::TRACK_COLORS) into the editor's palette; `None` (the
    /// default, and every track of documents from before colours existed): the colour of its
    /// sound's family, so it follows the sound.
    pub color: Option<u8>,
    /// The track's own swing in percent ([`SWING_RANGE`](super::limits::SWING_RANGE)), played
    /// instead of the session's; `None` (the default, and every track of documents from
    /// before per-track swing): the session's swing. JSON `"swing":30.0`, left out when `None`.
    pub swing_pct: Option<f64>,
    /// The track's effects (filter, drive, sends); JSON `"fx"`, left out at the defaults,
    /// which change nothing.
    pub fx: TrackFx,
}

impl Track {
    /// A new empty 16-step track.
    pub fn new(id: TrackId, name: impl Into<String>, instrument: Instrument) -> Self {
        Self {
            id,
            name: name.into(),
            instrument,
            volume: DEFAULT_VOLUME,
            pan: 0.0,
            step_count: 16,
            steps: [Step::default(); MAX_STEPS],
            cuts: Vec::new(),
            color: None,
            swing_pct: None,
            fx: TrackFx::default(),
        }
    }

    /// The steps that play: the first `step_count`.
    pub fn active_steps(&self) -> &[Step] {
        &self.steps[..self.step_count as usize]
    }
}
