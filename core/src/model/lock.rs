//! Parameter locks: per-step values that override the track's (pitch, volume, probability,
//! nudge, ratchet, slice, filter cutoff, effect sends) and the step's trig condition. Their ranges are in `limits.rs`, their
//! validation in `validate.rs`.

use serde::{Deserialize, Serialize};

use super::condition::Condition;

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
    #[serde(rename = "cd")]
    Condition,
    #[serde(rename = "hz")]
    Cutoff,
    #[serde(rename = "rv")]
    ReverbSend,
    #[serde(rename = "dl")]
    DelaySend,
}

impl LockKind {
    pub const ALL: [LockKind; 10] = [
        Self::Pitch,
        Self::Volume,
        Self::Probability,
        Self::Nudge,
        Self::Ratchet,
        Self::Slice,
        Self::Condition,
        Self::Cutoff,
        Self::ReverbSend,
        Self::DelaySend,
    ];
}

/// One parameter lock with its value. On the wire: `{"k":"p","v":12}`.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "k", content = "v")]
pub enum Lock {
    /// Semitones, [`PITCH_RANGE`](super::limits::PITCH_RANGE).
    #[serde(rename = "p")]
    Pitch(i8),
    /// Gain multiplier, [`LOCK_VOLUME_RANGE`](super::limits::LOCK_VOLUME_RANGE).
    #[serde(rename = "l")]
    Volume(f32),
    /// Percent chance that the step plays, [`PROBABILITY_RANGE`](super::limits::PROBABILITY_RANGE).
    #[serde(rename = "c")]
    Probability(u8),
    /// Percent of a step, [`NUDGE_RANGE`](super::limits::NUDGE_RANGE).
    #[serde(rename = "n")]
    Nudge(i8),
    /// Retriggers per step, [`RATCHET_RANGE`](super::limits::RATCHET_RANGE).
    #[serde(rename = "r")]
    Ratchet(u8),
    /// The slice of the track's sample the step plays, [`SLICE_RANGE`](super::limits::SLICE_RANGE) (see `slice_bounds`;
    /// other instruments ignore it). `"sl"`, not `"s"`: in a step detail `s` is the step index.
    #[serde(rename = "sl")]
    Slice(u8),
    /// When the step plays, loop by loop ([`Condition`]; evaluated before the probability
    /// lock). Text form on the wire: `{"k":"cd","v":"2:4"}`.
    #[serde(rename = "cd")]
    Condition(Condition),
    /// The track filter's cutoff in Hz from this step on (until the track's next hit),
    /// [`CUTOFF_HZ_RANGE`](super::limits::CUTOFF_HZ_RANGE).
    #[serde(rename = "hz")]
    Cutoff(f32),
    /// The track's reverb send from this step on (until its next hit), linear gain,
    /// [`FX_AMOUNT_RANGE`](super::limits::FX_AMOUNT_RANGE).
    #[serde(rename = "rv")]
    ReverbSend(f32),
    /// The track's delay send from this step on (until its next hit), linear gain,
    /// [`FX_AMOUNT_RANGE`](super::limits::FX_AMOUNT_RANGE).
    #[serde(rename = "dl")]
    DelaySend(f32),
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
            Self::Condition(_) => LockKind::Condition,
            Self::Cutoff(_) => LockKind::Cutoff,
            Self::ReverbSend(_) => LockKind::ReverbSend,
            Self::DelaySend(_) => LockKind::DelaySend,
        }
    }
}

/// The parameter locks of one step; `None` means "use the track's value".
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Locks {
    /// Semitones ([`Lock::Pitch`]).
    pub pitch: Option<i8>,
    /// Gain multiplier on the track volume ([`Lock::Volume`]).
    pub volume: Option<f32>,
    /// Percent chance that the step plays ([`Lock::Probability`]).
    pub probability: Option<u8>,
    /// Percent of a step, negative plays early ([`Lock::Nudge`]).
    pub nudge: Option<i8>,
    /// Retriggers within the step ([`Lock::Ratchet`]).
    pub ratchet: Option<u8>,
    /// Which slice of the track's sample plays ([`Lock::Slice`]).
    pub slice: Option<u8>,
    /// The step's trig condition ([`Lock::Condition`]).
    pub condition: Option<Condition>,
    /// The track filter's cutoff in Hz ([`Lock::Cutoff`]).
    pub cutoff_hz: Option<f32>,
    /// The track's reverb send ([`Lock::ReverbSend`]).
    pub reverb_send: Option<f32>,
    /// The track's delay send ([`Lock::DelaySend`]).
    pub delay_send: Option<f32>,
}

impl Locks {
    /// No lock set (the default, usable in constants).
    pub const NONE: Self = Self {
        pitch: None,
        volume: None,
        probability: None,
        nudge: None,
        ratchet: None,
        slice: None,
        condition: None,
        cutoff_hz: None,
        reverb_send: None,
        delay_send: None,
    };

    pub fn get(&self, kind: LockKind) -> Option<Lock> {
        match kind {
            LockKind::Pitch => self.pitch.map(Lock::Pitch),
            LockKind::Volume => self.volume.map(Lock::Volume),
            LockKind::Probability => self.probability.map(Lock::Probability),
            LockKind::Nudge => self.nudge.map(Lock::Nudge),
            LockKind::Ratchet => self.ratchet.map(Lock::Ratchet),
            LockKind::Slice => self.slice.map(Lock::Slice),
            LockKind::Condition => self.condition.map(Lock::Condition),
            LockKind::Cutoff => self.cutoff_hz.map(Lock::Cutoff),
            LockKind::ReverbSend => self.reverb_send.map(Lock::ReverbSend),
            LockKind::DelaySend => self.delay_send.map(Lock::DelaySend),
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
            Lock::Condition(v) => self.condition = Some(v),
            Lock::Cutoff(v) => self.cutoff_hz = Some(v),
            Lock::ReverbSend(v) => self.reverb_send = Some(v),
            Lock::DelaySend(v) => self.delay_send = Some(v),
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
            LockKind::Condition => self.condition = None,
            LockKind::Cutoff => self.cutoff_hz = None,
            LockKind::ReverbSend => self.reverb_send = None,
            LockKind::DelaySend => self.delay_send = None,
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
