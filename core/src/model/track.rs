//! A track and its steps: a sound and its pattern.
//!
//! The compact JSON form of a track is in `json.rs`, its validation in `validate.rs`.

use super::fx::TrackFx;
use super::ids::TrackId;
use super::instrument::Instrument;
use super::limits::{
    DEFAULT_STEP_COUNT, DEFAULT_VELOCITY, DEFAULT_VOLUME, MAX_PATTERNS, MAX_STEPS,
};
use super::lock::Locks;
use super::pattern::PatternId;

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
        Self::EMPTY
    }
}

impl Step {
    /// A step nobody has touched (the default, usable in constants).
    pub const EMPTY: Self = Self {
        on: false,
        velocity: DEFAULT_VELOCITY,
        locks: Locks::NONE,
    };

    /// A step nobody has touched (off, default velocity, no locks).
    pub fn is_default(&self) -> bool {
        *self == Self::default()
    }
}

/// All 64 steps of a track. Shortening a track's step count hides steps; it never deletes them.
pub type Steps = [Step; MAX_STEPS];

/// One track's part of a pattern B–H: its own step count and steps (pattern A's are the
/// track's `step_count` and `steps`).
#[derive(Clone, Debug, PartialEq)]
pub struct TrackPattern {
    /// [`STEP_COUNT_RANGE`](super::limits::STEP_COUNT_RANGE): the track loops over
    /// `steps[..step_count]` while this pattern plays.
    pub step_count: u8,
    /// All [`MAX_STEPS`] steps, the hidden ones past `step_count` included.
    pub steps: Steps,
}

impl TrackPattern {
    /// An empty part: [`DEFAULT_STEP_COUNT`] steps, every step off at the defaults. What a
    /// pattern slot nobody wrote plays, and what a track stores nothing for.
    pub const EMPTY: Self = Self {
        step_count: DEFAULT_STEP_COUNT,
        steps: [Step::EMPTY; MAX_STEPS],
    };

    /// Whether this part equals [`TrackPattern::EMPTY`] (then the track stores nothing for it).
    pub fn is_empty(&self) -> bool {
        self.step_count == DEFAULT_STEP_COUNT && self.steps.iter().all(Step::is_default)
    }
}

/// A track's parts of patterns B–H (index 0 is B): `None` while that part is empty
/// ([`TrackPattern::is_empty`]); a part is never stored empty, so two tracks with the same
/// music compare equal.
pub type OtherPatterns = [Option<Box<TrackPattern>>; MAX_PATTERNS - 1];

/// The steps of a pattern nobody wrote (what an empty slot B–H plays and shows).
static EMPTY_PATTERN: TrackPattern = TrackPattern::EMPTY;

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
/// out, likewise. Its parts of patterns B–H are `"pats":{"B":{"len":16,"on":"…","x":[…]}}`,
/// only the non-empty ones; without any the key is left out, so a document that uses only
/// pattern A reads and writes exactly as before patterns existed.
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
    /// The track's parts of patterns B–H; pattern A is `step_count` and `steps` above. Read
    /// them through [`Track::steps_in`] and [`Track::step_count_in`], which name the pattern.
    pub other_patterns: OtherPatterns,
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
            step_count: DEFAULT_STEP_COUNT,
            steps: [Step::default(); MAX_STEPS],
            cuts: Vec::new(),
            color: None,
            swing_pct: None,
            fx: TrackFx::default(),
            other_patterns: Default::default(),
        }
    }

    /// The steps that play in pattern A: the first `step_count`.
    pub fn active_steps(&self) -> &[Step] {
        &self.steps[..self.step_count as usize]
    }

    /// All 64 steps of the track in pattern `pt` (every step off in a part nobody wrote).
    pub fn steps_in(&self, pt: PatternId) -> &Steps {
        match self.other(pt) {
            None => &self.steps,
            Some(part) => &part.steps,
        }
    }

    /// How many steps the track loops over in pattern `pt` ([`DEFAULT_STEP_COUNT`] in a part
    /// nobody wrote).
    pub fn step_count_in(&self, pt: PatternId) -> u8 {
        match self.other(pt) {
            None => self.step_count,
            Some(part) => part.step_count,
        }
    }

    /// The steps that play in pattern `pt`: the first [`Track::step_count_in`].
    pub fn active_steps_in(&self, pt: PatternId) -> &[Step] {
        &self.steps_in(pt)[..self.step_count_in(pt) as usize]
    }

    /// Whether the track's part of pattern `pt` differs from an empty one (pattern A: from a
    /// new track's).
    pub fn has_part(&self, pt: PatternId) -> bool {
        match self.other(pt) {
            None => {
                self.step_count != DEFAULT_STEP_COUNT || self.steps.iter().any(|s| !s.is_default())
            }
            Some(part) => !part.is_empty(),
        }
    }

    /// The track's part of pattern `pt` as a copy (A included).
    pub fn part(&self, pt: PatternId) -> TrackPattern {
        TrackPattern {
            step_count: self.step_count_in(pt),
            steps: *self.steps_in(pt),
        }
    }

    /// `None` for pattern A; the stored part of B–H, or the empty part.
    fn other(&self, pt: PatternId) -> Option<&TrackPattern> {
        let i = pt.index().checked_sub(1)?;
        Some(
            self.other_patterns
                .get(i)
                .and_then(Option::as_deref)
                .unwrap_or(&EMPTY_PATTERN),
        )
    }

    /// Edits the track's part of pattern `pt` (step count and steps) through `f`, storing a part
    /// of B–H only while it is not empty, and returns what `f` returned.
    pub(crate) fn edit_part<R>(
        &mut self,
        pt: PatternId,
        f: impl FnOnce(&mut u8, &mut Steps) -> R,
    ) -> R {
        let Some(i) = pt.index().checked_sub(1) else {
            return f(&mut self.step_count, &mut self.steps);
        };
        let slot = &mut self.other_patterns[i];
        let part = slot.get_or_insert_with(|| Box::new(TrackPattern::EMPTY));
        let r = f(&mut part.step_count, &mut part.steps);
        if part.is_empty() {
            *slot = None;
        }
        r
    }

    /// Replaces the track's part of pattern `pt` (an empty part of B–H is stored as nothing).
    pub(crate) fn set_part(&mut self, pt: PatternId, part: &TrackPattern) {
        self.edit_part(pt, |len, steps| {
            *len = part.step_count;
            *steps = part.steps;
        });
    }
}
