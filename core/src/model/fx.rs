//! Effects as session state: per track a filter (low-pass or high-pass with resonance), a
//! drive and sends to the two shared effects; per session the reverb's size and the
//! tempo-synced delay's time and feedback. Their ranges are in `limits.rs`, their validation
//! in `validate.rs`; the engine plays them (`engine/src/fx/`).
//!
//! JSON: a track's `"fx"` and the session's `"fx"` objects list only the values that differ
//! from the defaults, and are left out entirely at the defaults, so a document without effects
//! reads and writes byte-identically: `"fx":{"f":"lp","hz":800.0,"q":0.6,"rv":0.3}`,
//! `"fx":{"size":0.8,"time":"1/8.","fb":0.5}`.

use serde::{Deserialize, Serialize};

use super::limits::{DEFAULT_CUTOFF_HZ, DEFAULT_DELAY_FEEDBACK, DEFAULT_REVERB_SIZE};

/// Which filter a track runs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum FilterMode {
    /// No filter (the default): the track's sound passes untouched.
    #[default]
    #[serde(rename = "off")]
    Off,
    /// Low-pass: cuts above the cutoff.
    #[serde(rename = "lp")]
    LowPass,
    /// High-pass: cuts below the cutoff.
    #[serde(rename = "hp")]
    HighPass,
}

/// The length of the delay's echo, in notes of the session's tempo.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum DelayTime {
    /// An eighth note (half a beat), the default.
    #[default]
    #[serde(rename = "1/8")]
    Eighth,
    /// A dotted eighth (three quarters of a beat).
    #[serde(rename = "1/8.")]
    DottedEighth,
    /// A quarter note (one beat).
    #[serde(rename = "1/4")]
    Quarter,
}

impl DelayTime {
    pub const ALL: [DelayTime; 3] = [Self::Eighth, Self::DottedEighth, Self::Quarter];

    /// The echo's length in beats (quarter notes).
    pub fn beats(self) -> f64 {
        match self {
            Self::Eighth => 0.5,
            Self::DottedEighth => 0.75,
            Self::Quarter => 1.0,
        }
    }
}

fn is_default<T: Default + PartialEq>(v: &T) -> bool {
    *v == T::default()
}

fn default_cutoff() -> f32 {
    DEFAULT_CUTOFF_HZ
}

fn is_default_cutoff(v: &f32) -> bool {
    *v == DEFAULT_CUTOFF_HZ
}

fn is_zero(v: &f32) -> bool {
    *v == 0.0
}

/// A track's effects. The defaults change nothing (no filter, no drive, no sends), and the
/// engine bypasses a track whose effects are at the defaults.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrackFx {
    /// Which filter runs (`"f"`).
    #[serde(rename = "f", default, skip_serializing_if = "is_default")]
    pub filter: FilterMode,
    /// The filter's cutoff in Hz (`"hz"`), [`CUTOFF_HZ_RANGE`](super::limits::CUTOFF_HZ_RANGE);
    /// kept while the filter is off.
    #[serde(
        rename = "hz",
        default = "default_cutoff",
        skip_serializing_if = "is_default_cutoff"
    )]
    pub cutoff_hz: f32,
    /// The filter's resonance (`"q"`), 0 (none) to 1 (just short of self-oscillation),
    /// [`FX_AMOUNT_RANGE`](super::limits::FX_AMOUNT_RANGE).
    #[serde(rename = "q", default, skip_serializing_if = "is_zero")]
    pub resonance: f32,
    /// Soft saturation after the filter (`"dr"`), 0 (off) to 1,
    /// [`FX_AMOUNT_RANGE`](super::limits::FX_AMOUNT_RANGE).
    #[serde(rename = "dr", default, skip_serializing_if = "is_zero")]
    pub drive: f32,
    /// How much of the track goes to the shared reverb (`"rv"`), linear gain 0..=1.
    #[serde(rename = "rv", default, skip_serializing_if = "is_zero")]
    pub reverb_send: f32,
    /// How much of the track goes to the shared delay (`"dl"`), linear gain 0..=1.
    #[serde(rename = "dl", default, skip_serializing_if = "is_zero")]
    pub delay_send: f32,
}

impl Default for TrackFx {
    fn default() -> Self {
        Self {
            filter: FilterMode::Off,
            cutoff_hz: DEFAULT_CUTOFF_HZ,
            resonance: 0.0,
            drive: 0.0,
            reverb_send: 0.0,
            delay_send: 0.0,
        }
    }
}

impl TrackFx {
    /// At the defaults (the JSON key is left out).
    pub fn is_default(&self) -> bool {
        *self == Self::default()
    }

    /// The current value of the parameter `like` names.
    pub fn get(&self, like: TrackFxParam) -> TrackFxParam {
        match like {
            TrackFxParam::Filter(_) => TrackFxParam::Filter(self.filter),
            TrackFxParam::Cutoff(_) => TrackFxParam::Cutoff(self.cutoff_hz),
            TrackFxParam::Resonance(_) => TrackFxParam::Resonance(self.resonance),
            TrackFxParam::Drive(_) => TrackFxParam::Drive(self.drive),
            TrackFxParam::ReverbSend(_) => TrackFxParam::ReverbSend(self.reverb_send),
            TrackFxParam::DelaySend(_) => TrackFxParam::DelaySend(self.delay_send),
        }
    }

    /// Sets one parameter (unchecked: [`TrackFxParam::validate`] first).
    pub fn set(&mut self, p: TrackFxParam) {
        match p {
            TrackFxParam::Filter(v) => self.filter = v,
            TrackFxParam::Cutoff(v) => self.cutoff_hz = v,
            TrackFxParam::Resonance(v) => self.resonance = v,
            TrackFxParam::Drive(v) => self.drive = v,
            TrackFxParam::ReverbSend(v) => self.reverb_send = v,
            TrackFxParam::DelaySend(v) => self.delay_send = v,
        }
    }
}

/// One parameter of a track's effects with its value, as an op carries it:
/// `{"k":"hz","v":800.0}`.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "k", content = "v")]
pub enum TrackFxParam {
    #[serde(rename = "f")]
    Filter(FilterMode),
    #[serde(rename = "hz")]
    Cutoff(f32),
    #[serde(rename = "q")]
    Resonance(f32),
    #[serde(rename = "dr")]
    Drive(f32),
    #[serde(rename = "rv")]
    ReverbSend(f32),
    #[serde(rename = "dl")]
    DelaySend(f32),
}

fn default_size() -> f32 {
    DEFAULT_REVERB_SIZE
}

fn is_default_size(v: &f32) -> bool {
    *v == DEFAULT_REVERB_SIZE
}

fn default_feedback() -> f32 {
    DEFAULT_DELAY_FEEDBACK
}

fn is_default_feedback(v: &f32) -> bool {
    *v == DEFAULT_DELAY_FEEDBACK
}

/// The shared effects every track sends to.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SessionFx {
    /// The reverb's room size (`"size"`), 0 (small, short) to 1 (large, long),
    /// [`FX_AMOUNT_RANGE`](super::limits::FX_AMOUNT_RANGE).
    #[serde(
        rename = "size",
        default = "default_size",
        skip_serializing_if = "is_default_size"
    )]
    pub reverb_size: f32,
    /// The delay's echo length in notes of the tempo (`"time"`).
    #[serde(rename = "time", default, skip_serializing_if = "is_default")]
    pub delay_time: DelayTime,
    /// How much of each echo comes back (`"fb"`),
    /// [`DELAY_FEEDBACK_RANGE`](super::limits::DELAY_FEEDBACK_RANGE).
    #[serde(
        rename = "fb",
        default = "default_feedback",
        skip_serializing_if = "is_default_feedback"
    )]
    pub delay_feedback: f32,
}

impl Default for SessionFx {
    fn default() -> Self {
        Self {
            reverb_size: DEFAULT_REVERB_SIZE,
            delay_time: DelayTime::Eighth,
            delay_feedback: DEFAULT_DELAY_FEEDBACK,
        }
    }
}

impl SessionFx {
    /// At the defaults (the JSON key is left out).
    pub fn is_default(&self) -> bool {
        *self == Self::default()
    }

    /// The current value of the parameter `like` names.
    pub fn get(&self, like: SessionFxParam) -> SessionFxParam {
        match like {
            SessionFxParam::ReverbSize(_) => SessionFxParam::ReverbSize(self.reverb_size),
            SessionFxParam::DelayTime(_) => SessionFxParam::DelayTime(self.delay_time),
            SessionFxParam::DelayFeedback(_) => SessionFxParam::DelayFeedback(self.delay_feedback),
        }
    }

    /// Sets one parameter (unchecked: [`SessionFxParam::validate`] first).
    pub fn set(&mut self, p: SessionFxParam) {
        match p {
            SessionFxParam::ReverbSize(v) => self.reverb_size = v,
            SessionFxParam::DelayTime(v) => self.delay_time = v,
            SessionFxParam::DelayFeedback(v) => self.delay_feedback = v,
        }
    }
}

/// One parameter of the shared effects with its value, as an op carries it:
/// `{"k":"size","v":0.8}`.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "k", content = "v")]
pub enum SessionFxParam {
    #[serde(rename = "size")]
    ReverbSize(f32),
    #[serde(rename = "time")]
    DelayTime(DelayTime),
    #[serde(rename = "fb")]
    DelayFeedback(f32),
}
