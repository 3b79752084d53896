//! The session document: what a Keyboardia pattern is.
//!
//! Every range a value may take lives here as a `pub const`, so validation, the engine and the
//! editor share one definition. The JSON form of a track is compact (see [`Track`]): a full
//! 16-track session stays well under 8 KB.

use std::fmt;
use std::ops::RangeInclusive;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::error::{Field, OpError};

/// At most this many tracks in a session.
pub const MAX_TRACKS: usize = 16;
/// Every track stores this many steps, whatever its step count.
pub const MAX_STEPS: usize = 64;
/// The step counts the editor offers as buttons; any value in [`STEP_COUNT_RANGE`] is valid.
pub const STEP_COUNT_PRESETS: [u8; 3] = [16, 32, 64];
/// Valid per-track step counts (a track loops over its first `step_count` steps).
pub const STEP_COUNT_RANGE: RangeInclusive<u8> = 1..=64;
/// Session tempo in BPM.
pub const TEMPO_RANGE: RangeInclusive<f64> = 60.0..=180.0;
/// Swing in percent: 0 is straight, 100 delays each off-beat 16th by half a step.
pub const SWING_RANGE: RangeInclusive<f64> = 0.0..=100.0;
/// Track volume as linear gain.
pub const VOLUME_RANGE: RangeInclusive<f32> = 0.0..=1.0;
/// Track pan: -1 is hard left, +1 hard right.
pub const PAN_RANGE: RangeInclusive<f32> = -1.0..=1.0;
/// Step velocity, MIDI-style.
pub const VELOCITY_RANGE: RangeInclusive<u8> = 1..=127;
/// Velocity of a step nobody has changed.
pub const DEFAULT_VELOCITY: u8 = 100;
/// Pitch lock in semitones.
pub const PITCH_RANGE: RangeInclusive<i8> = -24..=24;
/// Volume lock as a linear gain multiplier on the track volume.
pub const LOCK_VOLUME_RANGE: RangeInclusive<f32> = 0.0..=1.0;
/// Probability lock in percent.
pub const PROBABILITY_RANGE: RangeInclusive<u8> = 0..=100;
/// Micro-timing nudge lock in percent of one step (negative plays early).
pub const NUDGE_RANGE: RangeInclusive<i8> = -50..=50;
/// Ratchet lock: the step retriggers this many times within its length.
pub const RATCHET_RANGE: RangeInclusive<u8> = 1..=8;
/// A sample track is cut into at most this many slices (one per step of a 64-step track): a
/// track has at most this many cut points, each the first frame of one slice.
pub const MAX_SLICES: usize = 64;
/// Slice lock: which slice of a sample track's sample the step plays (see [`slice_bounds`]).
pub const SLICE_RANGE: RangeInclusive<u8> = 0..=(MAX_SLICES as u8 - 1);
/// Longest track name, in bytes of UTF-8.
pub const NAME_MAX_BYTES: usize = 32;
/// Longest track id, in bytes (ASCII `[a-z0-9_-]`).
pub const TRACK_ID_MAX_LEN: usize = 8;
/// Longest sample id, in bytes (ASCII `[A-Za-z0-9_-]`).
pub const SAMPLE_ID_MAX_LEN: usize = 64;
/// Default tempo of a new session.
pub const DEFAULT_TEMPO: f64 = 120.0;
/// Default volume of a new track.
pub const DEFAULT_VOLUME: f32 = 0.8;
/// The schema version this build writes. Older versions are migrated by [`crate::schema`].
pub const SCHEMA_VERSION: u32 = 1;

/// Serializes a type as its `Display` string and deserializes it through its `FromStr`, so
/// every id is validated on the way in.
macro_rules! serde_via_str {
    ($($t:ty),*) => {$(
        impl Serialize for $t {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.collect_str(self)
            }
        }

        impl<'de> Deserialize<'de> for $t {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
                s.parse().map_err(serde::de::Error::custom)
            }
        }
    )*};
}

serde_via_str!(SessionId, TrackId, SampleId, Instrument);

/// A session's id: a random (v4) UUID, unguessable, so a link is the only key to a session.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SessionId(uuid::Uuid);

impl SessionId {
    /// Makes a v4 id from 16 random bytes that the caller draws (core reads no randomness).
    pub fn from_random_bytes(bytes: [u8; 16]) -> Self {
        Self(uuid::Builder::from_random_bytes(bytes).into_uuid())
    }

    pub fn as_uuid(&self) -> &uuid::Uuid {
        &self.0
    }
}

impl FromStr for SessionId {
    type Err = OpError;

    /// Accepts only the hyphenated lowercase-or-uppercase form of a version-4 UUID.
    fn from_str(s: &str) -> Result<Self, OpError> {
        if s.len() != 36 {
            return Err(OpError::InvalidId);
        }
        let id = uuid::Uuid::try_parse(s).map_err(|_| OpError::InvalidId)?;
        if id.get_version_num() != 4 {
            return Err(OpError::InvalidId);
        }
        Ok(Self(id))
    }
}

impl fmt::Display for SessionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.hyphenated().fmt(f)
    }
}

/// A track's stable id. Ops name tracks by id, never by position, so concurrent inserts and
/// deletes cannot redirect an edit to the wrong track. Ids are short ASCII (`[a-z0-9_-]`, at most
/// [`TRACK_ID_MAX_LEN`] bytes) and `Copy`, so the engine can hold them without allocating.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TrackId {
    bytes: [u8; TRACK_ID_MAX_LEN],
    len: u8,
}

impl TrackId {
    const ALPHABET: &'static [u8; 36] = b"0123456789abcdefghijklmnopqrstuvwxyz";

    /// A fresh id from a random number the caller draws: 8 base-36 characters (41 bits), so two
    /// players adding tracks offline practically never pick the same id (and if they do, the
    /// second add is refused with [`OpError::DuplicateTrackId`] rather than merged).
    pub fn from_random(mut r: u64) -> Self {
        let mut bytes = [0u8; TRACK_ID_MAX_LEN];
        for b in bytes.iter_mut() {
            *b = Self::ALPHABET[(r % 36) as usize];
            r /= 36;
        }
        Self {
            bytes,
            len: TRACK_ID_MAX_LEN as u8,
        }
    }

    pub fn as_str(&self) -> &str {
        // Only ASCII is ever stored.
        std::str::from_utf8(&self.bytes[..self.len as usize]).unwrap_or("")
    }
}

impl FromStr for TrackId {
    type Err = OpError;

    fn from_str(s: &str) -> Result<Self, OpError> {
        let ok = !s.is_empty()
            && s.len() <= TRACK_ID_MAX_LEN
            && s.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-');
        if !ok {
            return Err(OpError::InvalidId);
        }
        let mut bytes = [0u8; TRACK_ID_MAX_LEN];
        bytes[..s.len()].copy_from_slice(s.as_bytes());
        Ok(Self {
            bytes,
            len: s.len() as u8,
        })
    }
}

impl fmt::Display for TrackId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for TrackId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TrackId({})", self.as_str())
    }
}

/// An uploaded sample's id (the R2 object key within the session).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SampleId(String);

impl SampleId {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for SampleId {
    type Err = OpError;

    fn from_str(s: &str) -> Result<Self, OpError> {
        let ok = !s.is_empty()
            && s.len() <= SAMPLE_ID_MAX_LEN
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
        if ok {
            Ok(Self(s.to_owned()))
        } else {
            Err(OpError::InvalidId)
        }
    }
}

impl fmt::Display for SampleId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

macro_rules! named_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident = $str:literal,)* }) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name { $($(#[$vmeta])* $variant,)* }

        impl $name {
            /// Every value, in display order.
            pub const ALL: &'static [$name] = &[$($name::$variant,)*];

            /// The stable id used in saved sessions and on the wire. Never rename one.
            pub const fn id(self) -> &'static str {
                match self { $($name::$variant => $str,)* }
            }

            pub fn from_id(s: &str) -> Option<Self> {
                match s { $($str => Some($name::$variant),)* _ => None }
            }
        }
    };
}

named_enum! {
    /// The 16 built-in sounds, synthesized by the engine (no sample files).
    BuiltinSound {
        Kick = "kick",
        Snare = "snare",
        Clap = "clap",
        ClosedHat = "hat_closed",
        OpenHat = "hat_open",
        LowTom = "tom_low",
        HighTom = "tom_high",
        Rim = "rim",
        Cowbell = "cowbell",
        Shaker = "shaker",
        SubBass = "sub_bass",
        FmBass = "fm_bass",
        Stab = "stab",
        Bell = "bell",
        Zap = "zap",
        Riser = "riser",
    }
}

named_enum! {
    /// The five presets of the real-time synth.
    SynthPreset {
        Bass = "bass",
        Lead = "lead",
        Pad = "pad",
        Pluck = "pluck",
        Acid = "acid",
    }
}

impl BuiltinSound {
    /// A name for people.
    pub fn label(self) -> &'static str {
        match self {
            Self::Kick => "Kick",
            Self::Snare => "Snare",
            Self::Clap => "Clap",
            Self::ClosedHat => "Closed Hat",
            Self::OpenHat => "Open Hat",
            Self::LowTom => "Low Tom",
            Self::HighTom => "High Tom",
            Self::Rim => "Rim",
            Self::Cowbell => "Cowbell",
            Self::Shaker => "Shaker",
            Self::SubBass => "Sub Bass",
            Self::FmBass => "FM Bass",
            Self::Stab => "Stab",
            Self::Bell => "Bell",
            Self::Zap => "Zap",
            Self::Riser => "Riser",
        }
    }
}

impl SynthPreset {
    /// A name for people.
    pub fn label(self) -> &'static str {
        match self {
            Self::Bass => "Synth Bass",
            Self::Lead => "Lead",
            Self::Pad => "Pad",
            Self::Pluck => "Pluck",
            Self::Acid => "Acid",
        }
    }
}

/// What a track plays. In JSON a plain string: `"kick"`, `"synth:acid"`, `"sample:<id>"`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Instrument {
    Sound(BuiltinSound),
    Synth(SynthPreset),
    Sample(SampleId),
}

impl Instrument {
    pub fn label(&self) -> &str {
        match self {
            Self::Sound(s) => s.label(),
            Self::Synth(p) => p.label(),
            Self::Sample(id) => id.as_str(),
        }
    }
}

impl fmt::Display for Instrument {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Sound(s) => f.write_str(s.id()),
            Self::Synth(p) => write!(f, "synth:{}", p.id()),
            Self::Sample(id) => write!(f, "sample:{id}"),
        }
    }
}

impl FromStr for Instrument {
    type Err = OpError;

    fn from_str(s: &str) -> Result<Self, OpError> {
        if let Some(p) = s.strip_prefix("synth:") {
            SynthPreset::from_id(p)
                .map(Self::Synth)
                .ok_or(OpError::UnknownInstrument)
        } else if let Some(id) = s.strip_prefix("sample:") {
            id.parse()
                .map(Self::Sample)
                .map_err(|_| OpError::UnknownInstrument)
        } else {
            BuiltinSound::from_id(s)
                .map(Self::Sound)
                .ok_or(OpError::UnknownInstrument)
        }
    }
}

/// Which parameter a lock sets.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum LockKind {
    #[serde(rename = "p")]
    Pitch,
    #[serde(rename = "l")]
    Volume,
    #[serde(rename = "c")]
    Probability,
    #[serde(rename = "n")]
    Nudge,
    #[serde(rename = "r")]
    Ratchet,
    #[serde(rename = "sl")]
    Slice,
}

impl LockKind {
    pub const ALL: [LockKind; 6] = [
        Self::Pitch,
        Self::Volume,
        Self::Probability,
        Self::Nudge,
        Self::Ratchet,
        Self::Slice,
    ];
}

/// One parameter lock with its value. On the wire: `{"k":"p","v":12}`.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "k", content = "v")]
pub enum Lock {
    /// Semitones, [`PITCH_RANGE`].
    #[serde(rename = "p")]
    Pitch(i8),
    /// Gain multiplier, [`LOCK_VOLUME_RANGE`].
    #[serde(rename = "l")]
    Volume(f32),
    /// Percent chance that the step plays, [`PROBABILITY_RANGE`].
    #[serde(rename = "c")]
    Probability(u8),
    /// Percent of a step, [`NUDGE_RANGE`].
    #[serde(rename = "n")]
    Nudge(i8),
    /// Retriggers per step, [`RATCHET_RANGE`].
    #[serde(rename = "r")]
    Ratchet(u8),
    /// The slice of the track's sample the step plays, [`SLICE_RANGE`] (see [`slice_bounds`];
    /// other instruments ignore it). `"sl"`, not `"s"`: in a step detail `s` is the step index.
    #[serde(rename = "sl")]
    Slice(u8),
}

impl Lock {
    pub fn kind(&self) -> LockKind {
        match self {
            Self::Pitch(_) => LockKind::Pitch,
            Self::Volume(_) => LockKind::Volume,
            Self::Probability(_) => LockKind::Probability,
            Self::Nudge(_) => LockKind::Nudge,
            Self::Ratchet(_) => LockKind::Ratchet,
            Self::Slice(_) => LockKind::Slice,
        }
    }

    /// Checks the value against its range (and for NaN).
    pub fn validate(&self) -> Result<(), OpError> {
        let ok = match *self {
            Self::Pitch(v) => PITCH_RANGE.contains(&v),
            Self::Volume(v) => LOCK_VOLUME_RANGE.contains(&v),
            Self::Probability(v) => PROBABILITY_RANGE.contains(&v),
            Self::Nudge(v) => NUDGE_RANGE.contains(&v),
            Self::Ratchet(v) => RATCHET_RANGE.contains(&v),
            Self::Slice(v) => SLICE_RANGE.contains(&v),
        };
        if ok {
            Ok(())
        } else {
            Err(OpError::OutOfRange(Field::Lock(self.kind())))
        }
    }
}

/// The parameter locks of one step; `None` means "use the track's value".
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Locks {
    pub pitch: Option<i8>,
    pub volume: Option<f32>,
    pub probability: Option<u8>,
    pub nudge: Option<i8>,
    pub ratchet: Option<u8>,
    pub slice: Option<u8>,
}

impl Locks {
    pub fn get(&self, kind: LockKind) -> Option<Lock> {
        match kind {
            LockKind::Pitch => self.pitch.map(Lock::Pitch),
            LockKind::Volume => self.volume.map(Lock::Volume),
            LockKind::Probability => self.probability.map(Lock::Probability),
            LockKind::Nudge => self.nudge.map(Lock::Nudge),
            LockKind::Ratchet => self.ratchet.map(Lock::Ratchet),
            LockKind::Slice => self.slice.map(Lock::Slice),
        }
    }

    pub fn set(&mut self, lock: Lock) {
        match lock {
            Lock::Pitch(v) => self.pitch = Some(v),
            Lock::Volume(v) => self.volume = Some(v),
            Lock::Probability(v) => self.probability = Some(v),
            Lock::Nudge(v) => self.nudge = Some(v),
            Lock::Ratchet(v) => self.ratchet = Some(v),
            Lock::Slice(v) => self.slice = Some(v),
        }
    }

    pub fn clear(&mut self, kind: LockKind) {
        match kind {
            LockKind::Pitch => self.pitch = None,
            LockKind::Volume => self.volume = None,
            LockKind::Probability => self.probability = None,
            LockKind::Nudge => self.nudge = None,
            LockKind::Ratchet => self.ratchet = None,
            LockKind::Slice => self.slice = None,
        }
    }

    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }

    /// Every lock that is set.
    pub fn iter(&self) -> impl Iterator<Item = Lock> + '_ {
        LockKind::ALL.iter().filter_map(|k| self.get(*k))
    }
}

/// One step of a track.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Step {
    pub on: bool,
    /// [`VELOCITY_RANGE`]; kept when the step is switched off, so on/off never loses it.
    pub velocity: u8,
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

    pub fn validate(&self) -> Result<(), OpError> {
        if !VELOCITY_RANGE.contains(&self.velocity) {
            return Err(OpError::OutOfRange(Field::Velocity));
        }
        self.locks.iter().try_for_each(|l| l.validate())
    }
}

/// All 64 steps of a track. Shortening a track's step count hides steps; it never deletes them.
pub type Steps = [Step; MAX_STEPS];

/// One track: a sound and its pattern.
///
/// JSON form (compact; keys of a step detail: `s` index, `v` velocity, `p` pitch, `l` volume,
/// `c` probability, `n` nudge, `r` ratchet, `sl` slice):
/// ```json
/// {"id":"kick","name":"Kick","instrument":"kick","volume":0.8,"pan":0.0,"stepCount":16,
///  "on":"8888000000000000","x":[{"s":4,"v":90,"p":-2}]}
/// ```
/// `on` is the 64 on/off flags as 16 hex digits, step 0 in the high bit of the first digit;
/// `x` lists only the steps whose velocity or locks differ from the defaults. A sliced sample
/// track adds its cut points, `"cuts":[0,5512,11025]`; without cuts the key is left out, so a
/// document without slices reads and writes exactly as before cuts existed.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(into = "TrackRepr", try_from = "TrackRepr")]
pub struct Track {
    pub id: TrackId,
    /// Display name, at most [`NAME_MAX_BYTES`] bytes, no control characters.
    pub name: String,
    pub instrument: Instrument,
    /// [`VOLUME_RANGE`].
    pub volume: f32,
    /// [`PAN_RANGE`].
    pub pan: f32,
    /// [`STEP_COUNT_RANGE`]: the track loops over `steps[..step_count]`.
    pub step_count: u8,
    pub steps: Steps,
    /// Where the track's sample is sliced: strictly ascending frame offsets into the sample (at
    /// its own rate), each the first frame of a slice, at most [`MAX_SLICES`]; see
    /// [`slice_bounds`]. Empty: the sample is one slice. Kept when the instrument changes (like
    /// hidden steps), used only while the track plays a sample.
    pub cuts: Vec<u32>,
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
        }
    }

    /// The steps that play: the first `step_count`.
    pub fn active_steps(&self) -> &[Step] {
        &self.steps[..self.step_count as usize]
    }

    /// Checks every field against its range.
    pub fn validate(&self) -> Result<(), OpError> {
        validate_name(&self.name)?;
        check_f32(self.volume, &VOLUME_RANGE, Field::Volume)?;
        check_f32(self.pan, &PAN_RANGE, Field::Pan)?;
        if !STEP_COUNT_RANGE.contains(&self.step_count) {
            return Err(OpError::OutOfRange(Field::StepCount));
        }
        validate_cuts(&self.cuts)?;
        self.steps.iter().try_for_each(Step::validate)
    }
}

/// Checks a track's cut points: at most [`MAX_SLICES`] ([`OpError::OutOfRange`] of
/// [`Field::Cuts`]), strictly ascending, so also distinct ([`OpError::InvalidCuts`]).
pub fn validate_cuts(cuts: &[u32]) -> Result<(), OpError> {
    if cuts.len() > MAX_SLICES {
        return Err(OpError::OutOfRange(Field::Cuts));
    }
    if cuts.windows(2).any(|w| w[0] >= w[1]) {
        return Err(OpError::InvalidCuts);
    }
    Ok(())
}

/// The frames `start..end` that slice `index` covers in a sample of `len` frames cut at `cuts`
/// (ascending, as [`validate_cuts`] keeps them). Shared by the engine, which plays it, and the
/// editor, which draws and previews it.
///
/// - Slice `k` runs from cut `k` to cut `k + 1`, the last one to the end of the sample. Frames
///   before the first cut belong to no slice (the silence before the first hit of a take).
/// - Cuts at or past `len` are ignored (a track's cuts outlive a change of its sample).
/// - An `index` past the last slice plays the last slice, so a step keeps sounding when cuts
///   are removed under it.
/// - With no (usable) cut the whole sample is slice 0 (and every index plays it).
///
/// Allocation-free: the audio thread calls it for every sliced note.
pub fn slice_bounds(cuts: &[u32], index: u8, len: u32) -> (u32, u32) {
    let usable = cuts.partition_point(|&c| c < len);
    if usable == 0 {
        return (0, len);
    }
    let k = (index as usize).min(usable - 1);
    let end = if k + 1 < usable { cuts[k + 1] } else { len };
    (cuts[k], end)
}

pub(crate) fn check_f32(v: f32, range: &RangeInclusive<f32>, field: Field) -> Result<(), OpError> {
    if !v.is_finite() {
        Err(OpError::NotFinite(field))
    } else if !range.contains(&v) {
        Err(OpError::OutOfRange(field))
    } else {
        Ok(())
    }
}

pub(crate) fn check_f64(v: f64, range: &RangeInclusive<f64>, field: Field) -> Result<(), OpError> {
    if !v.is_finite() {
        Err(OpError::NotFinite(field))
    } else if !range.contains(&v) {
        Err(OpError::OutOfRange(field))
    } else {
        Ok(())
    }
}

pub(crate) fn validate_name(name: &str) -> Result<(), OpError> {
    if name.len() > NAME_MAX_BYTES || name.chars().any(char::is_control) {
        Err(OpError::InvalidName)
    } else {
        Ok(())
    }
}

/// The JSON shape of a [`Track`].
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct TrackRepr {
    id: TrackId,
    name: String,
    instrument: Instrument,
    volume: f32,
    pan: f32,
    step_count: u8,
    on: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    x: Vec<StepDetail>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    cuts: Vec<u32>,
}

/// A step that differs from the defaults in more than on/off.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct StepDetail {
    s: u8,
    #[serde(
        default = "default_velocity",
        skip_serializing_if = "is_default_velocity"
    )]
    v: u8,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    p: Option<i8>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    l: Option<f32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    c: Option<u8>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    n: Option<i8>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    r: Option<u8>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    sl: Option<u8>,
}

fn default_velocity() -> u8 {
    DEFAULT_VELOCITY
}

fn is_default_velocity(v: &u8) -> bool {
    *v == DEFAULT_VELOCITY
}

/// Encodes 64 on/off flags as 16 hex digits, step 0 in the high bit.
pub(crate) fn encode_on_bits(steps: &Steps) -> String {
    let bits = steps
        .iter()
        .enumerate()
        .fold(0u64, |acc, (i, s)| acc | ((s.on as u64) << (63 - i)));
    format!("{bits:016x}")
}

pub(crate) fn decode_on_bits(s: &str) -> Result<u64, OpError> {
    if s.len() != 16 || !s.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(OpError::InvalidPattern);
    }
    u64::from_str_radix(s, 16).map_err(|_| OpError::InvalidPattern)
}

/// The compact JSON form of all 64 steps, shared by tracks and by the set-pattern op.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(into = "PatternRepr", try_from = "PatternRepr")]
pub struct Pattern(pub Box<Steps>);

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct PatternRepr {
    on: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    x: Vec<StepDetail>,
}

fn steps_to_repr(steps: &Steps) -> (String, Vec<StepDetail>) {
    let x = steps
        .iter()
        .enumerate()
        .filter(|(_, s)| s.velocity != DEFAULT_VELOCITY || !s.locks.is_empty())
        .map(|(i, s)| StepDetail {
            s: i as u8,
            v: s.velocity,
            p: s.locks.pitch,
            l: s.locks.volume,
            c: s.locks.probability,
            n: s.locks.nudge,
            r: s.locks.ratchet,
            sl: s.locks.slice,
        })
        .collect();
    (encode_on_bits(steps), x)
}

fn steps_from_repr(on: &str, x: Vec<StepDetail>) -> Result<Steps, OpError> {
    let bits = decode_on_bits(on)?;
    let mut steps = [Step::default(); MAX_STEPS];
    for (i, step) in steps.iter_mut().enumerate() {
        step.on = bits & (1u64 << (63 - i)) != 0;
    }
    let mut seen = 0u64;
    for d in x {
        let i = d.s as usize;
        if i >= MAX_STEPS {
            return Err(OpError::StepOutOfRange);
        }
        if seen & (1 << i) != 0 {
            return Err(OpError::InvalidPattern);
        }
        seen |= 1 << i;
        let step = &mut steps[i];
        step.velocity = d.v;
        step.locks = Locks {
            pitch: d.p,
            volume: d.l,
            probability: d.c,
            nudge: d.n,
            ratchet: d.r,
            slice: d.sl,
        };
        step.validate()?;
    }
    Ok(steps)
}

impl From<Pattern> for PatternRepr {
    fn from(p: Pattern) -> Self {
        let (on, x) = steps_to_repr(&p.0);
        Self { on, x }
    }
}

impl TryFrom<PatternRepr> for Pattern {
    type Error = OpError;
    fn try_from(r: PatternRepr) -> Result<Self, OpError> {
        Ok(Self(Box::new(steps_from_repr(&r.on, r.x)?)))
    }
}

impl From<Track> for TrackRepr {
    fn from(t: Track) -> Self {
        let (on, x) = steps_to_repr(&t.steps);
        Self {
            id: t.id,
            name: t.name,
            instrument: t.instrument,
            volume: t.volume,
            pan: t.pan,
            step_count: t.step_count,
            on,
            x,
            cuts: t.cuts,
        }
    }
}

impl TryFrom<TrackRepr> for Track {
    type Error = OpError;
    fn try_from(r: TrackRepr) -> Result<Self, OpError> {
        let track = Track {
            id: r.id,
            name: r.name,
            instrument: r.instrument,
            volume: r.volume,
            pan: r.pan,
            step_count: r.step_count,
            steps: steps_from_repr(&r.on, r.x)?,
            cuts: r.cuts,
        };
        track.validate()?;
        Ok(track)
    }
}

/// The musical state of a session: what every player hears.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SessionState {
    /// Schema version of this document ([`SCHEMA_VERSION`] once loaded).
    pub version: u32,
    /// BPM, [`TEMPO_RANGE`].
    pub tempo: f64,
    /// Percent, [`SWING_RANGE`].
    pub swing: f64,
    /// At most [`MAX_TRACKS`], ids unique, in display order.
    pub tracks: Vec<Track>,
}

impl Default for SessionState {
    fn default() -> Self {
        Self {
            version: SCHEMA_VERSION,
            tempo: DEFAULT_TEMPO,
            swing: 0.0,
            tracks: Vec::new(),
        }
    }
}

impl SessionState {
    /// Checks every invariant: ranges, the track cap, unique track ids.
    pub fn validate(&self) -> Result<(), OpError> {
        if self.version != SCHEMA_VERSION {
            return Err(OpError::UnsupportedVersion(self.version));
        }
        check_f64(self.tempo, &TEMPO_RANGE, Field::Tempo)?;
        check_f64(self.swing, &SWING_RANGE, Field::Swing)?;
        if self.tracks.len() > MAX_TRACKS {
            return Err(OpError::TooManyTracks);
        }
        for (i, t) in self.tracks.iter().enumerate() {
            t.validate()?;
            if self.tracks[..i].iter().any(|o| o.id == t.id) {
                return Err(OpError::DuplicateTrackId(t.id));
            }
        }
        Ok(())
    }

    pub fn track(&self, id: TrackId) -> Option<&Track> {
        self.tracks.iter().find(|t| t.id == id)
    }

    pub fn track_index(&self, id: TrackId) -> Option<usize> {
        self.tracks.iter().position(|t| t.id == id)
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
            tracks: vec![kick, snare, clap, hat, open, shaker, bass, lead],
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
    pub id: SessionId,
    /// Milliseconds since the Unix epoch.
    pub created_at: u64,
    /// Milliseconds since the Unix epoch.
    pub updated_at: u64,
    pub forked_from: Option<SessionId>,
    /// The owner's user id, if the session was claimed.
    #[serde(default)]
    pub owner_id: Option<String>,
    #[serde(default)]
    pub mode: Mode,
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
            owner_id: None,
            mode: Mode::Collaborative,
            state,
        }
    }

    /// A fork: a new id, the same state, collaborative and unowned, pointing at its parent.
    pub fn fork(&self, id: SessionId, now_ms: u64) -> Self {
        Self {
            forked_from: Some(self.id),
            ..Self::new(id, now_ms, self.state.clone())
        }
    }

    /// May `user` (None when anonymous) edit this session?
    pub fn can_edit(&self, user: Option<&str>) -> bool {
        match self.mode {
            Mode::Collaborative => true,
            Mode::Readonly => user.is_some() && user == self.owner_id.as_deref(),
        }
    }

    pub fn validate(&self) -> Result<(), OpError> {
        self.state.validate()
    }
}
