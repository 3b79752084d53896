//! Every invariant of the session document, checked in one place: ranges (and NaN), names, cut
//! points, the track cap and unique track ids. A document that passes [`SessionState::validate`]
//! is one the engine can play and every peer accepts.

use std::ops::RangeInclusive;

use super::cuts::validate_cuts;
use super::fx::{SessionFx, SessionFxParam, TrackFx, TrackFxParam};
use super::limits::{
    CUTOFF_HZ_RANGE, DELAY_FEEDBACK_RANGE, FX_AMOUNT_RANGE, LOCK_VOLUME_RANGE, MAX_SONG_ENTRIES,
    MAX_TRACKS, NAME_MAX_BYTES, NUDGE_RANGE, PAN_RANGE, PITCH_RANGE, PROBABILITY_RANGE,
    RATCHET_RANGE, SCHEMA_VERSION, SLICE_RANGE, SONG_REPEATS_RANGE, STEP_COUNT_RANGE, SWING_RANGE,
    TEMPO_RANGE, TRACK_COLORS, VELOCITY_RANGE, VOLUME_RANGE,
};
use super::lock::Lock;
use super::pattern::SongEntry;
use super::session::{Session, SessionState};
use super::track::{Step, Track, TrackPattern};
use crate::error::{Field, OpError};

impl Lock {
    /// Checks the value against its range (and for NaN).
    pub fn validate(&self) -> Result<(), OpError> {
        let ok = match *self {
            Self::Pitch(v) => PITCH_RANGE.contains(&v),
            Self::Volume(v) => LOCK_VOLUME_RANGE.contains(&v),
            Self::Probability(v) => PROBABILITY_RANGE.contains(&v),
            Self::Nudge(v) => NUDGE_RANGE.contains(&v),
            Self::Ratchet(v) => RATCHET_RANGE.contains(&v),
            Self::Slice(v) => SLICE_RANGE.contains(&v),
            Self::Condition(c) => c.is_valid(),
            Self::Cutoff(v) => CUTOFF_HZ_RANGE.contains(&v),
            Self::ReverbSend(v) | Self::DelaySend(v) => FX_AMOUNT_RANGE.contains(&v),
        };
        if ok {
            Ok(())
        } else {
            Err(OpError::OutOfRange(Field::Lock(self.kind())))
        }
    }
}

impl TrackFxParam {
    /// Checks the value against its range (and for NaN).
    pub fn validate(&self) -> Result<(), OpError> {
        match *self {
            Self::Filter(_) => Ok(()),
            Self::Cutoff(v) => check_f32(v, &CUTOFF_HZ_RANGE, Field::Cutoff),
            Self::Resonance(v) => check_f32(v, &FX_AMOUNT_RANGE, Field::Resonance),
            Self::Drive(v) => check_f32(v, &FX_AMOUNT_RANGE, Field::Drive),
            Self::ReverbSend(v) => check_f32(v, &FX_AMOUNT_RANGE, Field::ReverbSend),
            Self::DelaySend(v) => check_f32(v, &FX_AMOUNT_RANGE, Field::DelaySend),
        }
    }
}

impl TrackFx {
    /// Checks every value against its range.
    pub fn validate(&self) -> Result<(), OpError> {
        for p in [
            TrackFxParam::Cutoff(self.cutoff_hz),
            TrackFxParam::Resonance(self.resonance),
            TrackFxParam::Drive(self.drive),
            TrackFxParam::ReverbSend(self.reverb_send),
            TrackFxParam::DelaySend(self.delay_send),
        ] {
            p.validate()?;
        }
        Ok(())
    }
}

impl SessionFxParam {
    /// Checks the value against its range (and for NaN).
    pub fn validate(&self) -> Result<(), OpError> {
        match *self {
            Self::ReverbSize(v) => check_f32(v, &FX_AMOUNT_RANGE, Field::ReverbSize),
            Self::DelayTime(_) => Ok(()),
            Self::DelayFeedback(v) => check_f32(v, &DELAY_FEEDBACK_RANGE, Field::DelayFeedback),
        }
    }
}

impl SessionFx {
    /// Checks every value against its range.
    pub fn validate(&self) -> Result<(), OpError> {
        SessionFxParam::ReverbSize(self.reverb_size).validate()?;
        SessionFxParam::DelayFeedback(self.delay_feedback).validate()
    }
}

impl Step {
    /// Checks the velocity and every lock.
    pub fn validate(&self) -> Result<(), OpError> {
        if !VELOCITY_RANGE.contains(&self.velocity) {
            return Err(OpError::OutOfRange(Field::Velocity));
        }
        self.locks.iter().try_for_each(|l| l.validate())
    }
}

impl Track {
    /// Checks every field against its range.
    pub fn validate(&self) -> Result<(), OpError> {
        validate_name(&self.name)?;
        check_f32(self.volume, &VOLUME_RANGE, Field::Volume)?;
        check_f32(self.pan, &PAN_RANGE, Field::Pan)?;
        if !STEP_COUNT_RANGE.contains(&self.step_count) {
            return Err(OpError::OutOfRange(Field::StepCount));
        }
        validate_cuts(&self.cuts)?;
        validate_color(self.color)?;
        if let Some(swing) = self.swing_pct {
            check_f64(swing, &SWING_RANGE, Field::Swing)?;
        }
        self.fx.validate()?;
        self.steps.iter().try_for_each(Step::validate)?;
        for part in self.other_patterns.iter().flatten() {
            part.validate()?;
        }
        Ok(())
    }
}

impl TrackPattern {
    /// Checks the step count and every step.
    pub fn validate(&self) -> Result<(), OpError> {
        if !STEP_COUNT_RANGE.contains(&self.step_count) {
            return Err(OpError::OutOfRange(Field::StepCount));
        }
        self.steps.iter().try_for_each(Step::validate)
    }
}

/// A song: at most [`MAX_SONG_ENTRIES`] entries, each repeating
/// [`SONG_REPEATS_RANGE`] times (the pattern ids are valid by construction).
pub fn validate_song(song: &[SongEntry]) -> Result<(), OpError> {
    if song.len() > MAX_SONG_ENTRIES {
        return Err(OpError::SongTooLong);
    }
    if song
        .iter()
        .any(|e| !SONG_REPEATS_RANGE.contains(&e.repeats))
    {
        return Err(OpError::OutOfRange(Field::Repeats));
    }
    Ok(())
}

impl SessionState {
    /// Checks every invariant: ranges, the track cap, unique track ids.
    pub fn validate(&self) -> Result<(), OpError> {
        if self.version != SCHEMA_VERSION {
            return Err(OpError::UnsupportedVersion(self.version));
        }
        check_f64(self.tempo, &TEMPO_RANGE, Field::Tempo)?;
        check_f64(self.swing, &SWING_RANGE, Field::Swing)?;
        self.fx.validate()?;
        validate_song(&self.song)?;
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
}

impl Session {
    /// Checks the session's state ([`SessionState::validate`]).
    pub fn validate(&self) -> Result<(), OpError> {
        self.state.validate()
    }
}

pub(crate) fn check_f32(v: f32, range: &RangeInclusive<f32>, field: Field) -> Result<(), OpError> {
    // Widening to f64 is exact and keeps the order, infinities and NaN: the same verdict.
    let wide = f64::from(*range.start())..=f64::from(*range.end());
    check_f64(f64::from(v), &wide, field)
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

/// A track's colour: none, or an index into the palette of [`TRACK_COLORS`].
pub fn validate_color(color: Option<u8>) -> Result<(), OpError> {
    match color {
        Some(c) if c >= TRACK_COLORS => Err(OpError::OutOfRange(Field::Color)),
        _ => Ok(()),
    }
}
