//! Edit operations: the closed set of changes anyone can make to a session.
//!
//! Every op is absolute and idempotent (`SetStep { on: true }`, never "toggle"), names tracks by
//! stable id, and is validated by [`SessionState::apply`], which either changes the state and says
//! exactly what changed (with the op that undoes it) or refuses with a typed error and leaves the
//! state untouched. The GUI, the undo stack, the network and the server all speak these ops.

use serde::{Deserialize, Serialize};

use crate::error::{Field, OpError};
use crate::model::*;

/// One edit. The JSON form is internally tagged by `t` with short keys (`tr` track id, `s` step
/// index, `v` value), so the hottest message, a set-step, stays under 64 bytes on the wire.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "t")]
pub enum Op {
    /// Switch a step on or off.
    #[serde(rename = "step")]
    SetStep { tr: TrackId, s: u8, on: bool },
    /// Set a step's velocity ([`VELOCITY_RANGE`]).
    #[serde(rename = "vel")]
    SetVelocity { tr: TrackId, s: u8, v: u8 },
    /// Set one parameter lock of a step.
    #[serde(rename = "lock")]
    SetLock { tr: TrackId, s: u8, lock: Lock },
    /// Clear one parameter lock of a step.
    #[serde(rename = "unlock")]
    ClearLock { tr: TrackId, s: u8, k: LockKind },
    /// Replace a track's step count and all 64 steps (paste; the undo of clear and copy).
    #[serde(rename = "pattern")]
    SetPattern {
        tr: TrackId,
        len: u8,
        steps: Pattern,
    },
    /// Add a track at `index` (the end when `None`). Adding a track identical to one already
    /// there changes nothing, so a replayed add is harmless.
    #[serde(rename = "add_track")]
    AddTrack {
        track: Box<Track>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        index: Option<u8>,
    },
    /// Remove a track.
    #[serde(rename = "del_track")]
    DeleteTrack { tr: TrackId },
    /// Move a track to a new position in the list.
    #[serde(rename = "move_track")]
    MoveTrack { tr: TrackId, to: u8 },
    /// Switch every step of a track off and drop its velocities and locks.
    #[serde(rename = "clear_track")]
    ClearTrack { tr: TrackId },
    /// Copy one track's steps and step count onto another track.
    #[serde(rename = "copy")]
    CopySequence { from: TrackId, to: TrackId },
    /// Set how many steps a track loops over ([`STEP_COUNT_RANGE`]).
    #[serde(rename = "len")]
    SetStepCount { tr: TrackId, v: u8 },
    /// Session tempo in BPM ([`TEMPO_RANGE`]).
    #[serde(rename = "tempo")]
    SetTempo { v: f64 },
    /// Swing in percent ([`SWING_RANGE`]).
    #[serde(rename = "swing")]
    SetSwing { v: f64 },
    #[serde(rename = "vol")]
    SetVolume { tr: TrackId, v: f32 },
    #[serde(rename = "pan")]
    SetPan { tr: TrackId, v: f32 },
    #[serde(rename = "name")]
    SetName { tr: TrackId, v: String },
    #[serde(rename = "inst")]
    SetInstrument { tr: TrackId, v: Instrument },
    /// Replace a sample track's slice cut points: strictly ascending frame offsets into its
    /// sample, at most [`MAX_SLICES`] (empty: one slice, the whole sample). See
    /// [`Track::cuts`] and [`slice_bounds`].
    #[serde(rename = "cuts")]
    SetCuts { tr: TrackId, v: Vec<u32> },
    /// Give a track a colour of the palette (below [`TRACK_COLORS`]), or `None` for its sound
    /// family's colour. See [`Track::color`].
    #[serde(rename = "color")]
    SetColor {
        tr: TrackId,
        #[serde(default)]
        v: Option<u8>,
    },
    /// Give a track its own swing in percent ([`SWING_RANGE`]), played instead of the
    /// session's, or `None` to follow the session's again. See [`Track::swing_pct`].
    #[serde(rename = "tswing")]
    SetTrackSwing {
        tr: TrackId,
        #[serde(default)]
        v: Option<f64>,
    },
    /// Set one parameter of a track's effects (filter, cutoff, resonance, drive, sends): one
    /// parameter per op, so two players editing different knobs never undo each other.
    /// `{"t":"fx","tr":"kick","fx":{"k":"hz","v":800.0}}`. See [`TrackFx`].
    #[serde(rename = "fx")]
    SetTrackFx { tr: TrackId, fx: TrackFxParam },
    /// Set one parameter of the shared effects (reverb size, delay time, delay feedback):
    /// `{"t":"sfx","fx":{"k":"time","v":"1/8."}}`. See [`SessionFx`].
    #[serde(rename = "sfx")]
    SetSessionFx { fx: SessionFxParam },
}

/// What an accepted op changed.
#[derive(Clone, Debug, PartialEq)]
pub enum Change {
    /// Valid, but the state already said so (ops are idempotent).
    Nothing,
    /// One step of a track (on/off, velocity or a lock).
    Step {
        track: TrackId,
        step: u8,
    },
    /// Many steps or the step count of a track.
    Pattern {
        track: TrackId,
    },
    /// A track's settings (volume, pan, name, instrument, slice cuts, colour, swing, effects).
    TrackSettings {
        track: TrackId,
    },
    TrackAdded {
        track: TrackId,
        index: usize,
    },
    TrackRemoved {
        track: TrackId,
        index: usize,
    },
    TrackMoved {
        track: TrackId,
        from: usize,
        to: usize,
    },
    Tempo,
    Swing,
    /// The shared effects (reverb size, delay time or feedback).
    Effects,
}

/// The result of an accepted op.
#[derive(Clone, Debug, PartialEq)]
pub struct Applied {
    pub change: Change,
    /// The op that puts the state back as it was (for undo). Applying `undo` right after the op
    /// restores the previous state exactly.
    pub undo: Op,
}

impl Op {
    /// The track this op touches, if any (for presence: "who edited what").
    pub fn track(&self) -> Option<TrackId> {
        match self {
            Op::SetStep { tr, .. }
            | Op::SetVelocity { tr, .. }
            | Op::SetLock { tr, .. }
            | Op::ClearLock { tr, .. }
            | Op::SetPattern { tr, .. }
            | Op::DeleteTrack { tr }
            | Op::MoveTrack { tr, .. }
            | Op::ClearTrack { tr }
            | Op::SetStepCount { tr, .. }
            | Op::SetVolume { tr, .. }
            | Op::SetPan { tr, .. }
            | Op::SetName { tr, .. }
            | Op::SetInstrument { tr, .. }
            | Op::SetCuts { tr, .. }
            | Op::SetColor { tr, .. }
            | Op::SetTrackSwing { tr, .. }
            | Op::SetTrackFx { tr, .. } => Some(*tr),
            Op::CopySequence { to, .. } => Some(*to),
            Op::AddTrack { track, .. } => Some(track.id),
            Op::SetTempo { .. } | Op::SetSwing { .. } | Op::SetSessionFx { .. } => None,
        }
    }
}

fn step_index(s: u8) -> Result<usize, OpError> {
    let i = s as usize;
    if i < MAX_STEPS {
        Ok(i)
    } else {
        Err(OpError::StepOutOfRange)
    }
}

impl SessionState {
    fn track_mut(&mut self, id: TrackId) -> Result<&mut Track, OpError> {
        self.tracks
            .iter_mut()
            .find(|t| t.id == id)
            .ok_or(OpError::UnknownTrack(id))
    }

    /// Validates `op` and applies it. On error the state is untouched.
    ///
    /// All validation happens before the first write, so there is no partial application.
    pub fn apply(&mut self, op: &Op) -> Result<Applied, OpError> {
        match op {
            Op::SetStep { tr, s, on } => {
                let i = step_index(*s)?;
                let step = &mut self.track_mut(*tr)?.steps[i];
                let was = step.on;
                step.on = *on;
                Ok(step_applied(
                    *tr,
                    *s,
                    was != *on,
                    Op::SetStep {
                        tr: *tr,
                        s: *s,
                        on: was,
                    },
                ))
            }
            Op::SetVelocity { tr, s, v } => {
                let i = step_index(*s)?;
                if !VELOCITY_RANGE.contains(v) {
                    return Err(OpError::OutOfRange(Field::Velocity));
                }
                let step = &mut self.track_mut(*tr)?.steps[i];
                let was = std::mem::replace(&mut step.velocity, *v);
                Ok(step_applied(
                    *tr,
                    *s,
                    was != *v,
                    Op::SetVelocity {
                        tr: *tr,
                        s: *s,
                        v: was,
                    },
                ))
            }
            Op::SetLock { tr, s, lock } => {
                let i = step_index(*s)?;
                lock.validate()?;
                let locks = &mut self.track_mut(*tr)?.steps[i].locks;
                let was = locks.get(lock.kind());
                locks.set(*lock);
                let undo = match was {
                    Some(l) => Op::SetLock {
                        tr: *tr,
                        s: *s,
                        lock: l,
                    },
                    None => Op::ClearLock {
                        tr: *tr,
                        s: *s,
                        k: lock.kind(),
                    },
                };
                Ok(step_applied(*tr, *s, was != Some(*lock), undo))
            }
            Op::ClearLock { tr, s, k } => {
                let i = step_index(*s)?;
                let locks = &mut self.track_mut(*tr)?.steps[i].locks;
                let was = locks.get(*k);
                locks.clear(*k);
                let undo = match was {
                    Some(l) => Op::SetLock {
                        tr: *tr,
                        s: *s,
                        lock: l,
                    },
                    None => op.clone(),
                };
                Ok(step_applied(*tr, *s, was.is_some(), undo))
            }
            Op::SetPattern { tr, len, steps } => {
                if !STEP_COUNT_RANGE.contains(len) {
                    return Err(OpError::OutOfRange(Field::StepCount));
                }
                steps.0.iter().try_for_each(Step::validate)?;
                Ok(self.track_mut(*tr)?.replace_pattern(*len, &steps.0))
            }
            Op::AddTrack { track, index } => {
                track.validate()?;
                // A replay of an add whose ack was lost finds its own track: nothing to do.
                // A different track under the same id is a collision and is refused.
                if let Some(existing) = self.track(track.id) {
                    if existing == &**track {
                        return Ok(Applied {
                            change: Change::Nothing,
                            undo: op.clone(),
                        });
                    }
                    return Err(OpError::DuplicateTrackId(track.id));
                }
                if self.tracks.len() >= MAX_TRACKS {
                    return Err(OpError::TooManyTracks);
                }
                let at = match index {
                    None => self.tracks.len(),
                    Some(i) if (*i as usize) <= self.tracks.len() => *i as usize,
                    Some(_) => return Err(OpError::IndexOutOfRange),
                };
                self.tracks.insert(at, (**track).clone());
                Ok(Applied {
                    change: Change::TrackAdded {
                        track: track.id,
                        index: at,
                    },
                    undo: Op::DeleteTrack { tr: track.id },
                })
            }
            Op::DeleteTrack { tr } => {
                let at = self.track_index(*tr).ok_or(OpError::UnknownTrack(*tr))?;
                let track = self.tracks.remove(at);
                Ok(Applied {
                    change: Change::TrackRemoved {
                        track: *tr,
                        index: at,
                    },
                    undo: Op::AddTrack {
                        track: Box::new(track),
                        index: Some(at as u8),
                    },
                })
            }
            Op::MoveTrack { tr, to } => {
                let from = self.track_index(*tr).ok_or(OpError::UnknownTrack(*tr))?;
                let to = *to as usize;
                if to >= self.tracks.len() {
                    return Err(OpError::IndexOutOfRange);
                }
                let track = self.tracks.remove(from);
                self.tracks.insert(to, track);
                let change = if from == to {
                    Change::Nothing
                } else {
                    Change::TrackMoved {
                        track: *tr,
                        from,
                        to,
                    }
                };
                Ok(Applied {
                    change,
                    undo: Op::MoveTrack {
                        tr: *tr,
                        to: from as u8,
                    },
                })
            }
            Op::ClearTrack { tr } => {
                let track = self.track_mut(*tr)?;
                let len = track.step_count;
                Ok(track.replace_pattern(len, &[Step::default(); MAX_STEPS]))
            }
            Op::CopySequence { from, to } => {
                if from == to {
                    return Err(OpError::SameTrack);
                }
                let src = self.track(*from).ok_or(OpError::UnknownTrack(*from))?;
                let (steps, len) = (src.steps, src.step_count);
                Ok(self.track_mut(*to)?.replace_pattern(len, &steps))
            }
            Op::SetStepCount { tr, v } => {
                if !STEP_COUNT_RANGE.contains(v) {
                    return Err(OpError::OutOfRange(Field::StepCount));
                }
                let track = self.track_mut(*tr)?;
                let was = std::mem::replace(&mut track.step_count, *v);
                Ok(Applied {
                    change: if was != *v {
                        Change::Pattern { track: *tr }
                    } else {
                        Change::Nothing
                    },
                    undo: Op::SetStepCount { tr: *tr, v: was },
                })
            }
            Op::SetTempo { v } => {
                check_f64(*v, &TEMPO_RANGE, Field::Tempo)?;
                let was = std::mem::replace(&mut self.tempo, *v);
                Ok(Applied {
                    change: if was != *v {
                        Change::Tempo
                    } else {
                        Change::Nothing
                    },
                    undo: Op::SetTempo { v: was },
                })
            }
            Op::SetSwing { v } => {
                check_f64(*v, &SWING_RANGE, Field::Swing)?;
                let was = std::mem::replace(&mut self.swing, *v);
                Ok(Applied {
                    change: if was != *v {
                        Change::Swing
                    } else {
                        Change::Nothing
                    },
                    undo: Op::SetSwing { v: was },
                })
            }
            Op::SetVolume { tr, v } => {
                check_f32(*v, &VOLUME_RANGE, Field::Volume)?;
                let track = self.track_mut(*tr)?;
                let was = std::mem::replace(&mut track.volume, *v);
                Ok(settings_applied(
                    *tr,
                    was != *v,
                    Op::SetVolume { tr: *tr, v: was },
                ))
            }
            Op::SetPan { tr, v } => {
                check_f32(*v, &PAN_RANGE, Field::Pan)?;
                let track = self.track_mut(*tr)?;
                let was = std::mem::replace(&mut track.pan, *v);
                Ok(settings_applied(
                    *tr,
                    was != *v,
                    Op::SetPan { tr: *tr, v: was },
                ))
            }
            Op::SetName { tr, v } => {
                validate_name(v)?;
                let track = self.track_mut(*tr)?;
                let was = std::mem::replace(&mut track.name, v.clone());
                Ok(settings_applied(
                    *tr,
                    was != *v,
                    Op::SetName { tr: *tr, v: was },
                ))
            }
            Op::SetInstrument { tr, v } => {
                let track = self.track_mut(*tr)?;
                let was = std::mem::replace(&mut track.instrument, v.clone());
                let changed = was != *v;
                Ok(settings_applied(
                    *tr,
                    changed,
                    Op::SetInstrument { tr: *tr, v: was },
                ))
            }
            Op::SetCuts { tr, v } => {
                validate_cuts(v)?;
                let track = self.track_mut(*tr)?;
                if track.cuts == *v {
                    return Ok(settings_applied(*tr, false, op.clone()));
                }
                let was = std::mem::replace(&mut track.cuts, v.clone());
                Ok(settings_applied(*tr, true, Op::SetCuts { tr: *tr, v: was }))
            }
            Op::SetColor { tr, v } => {
                validate_color(*v)?;
                let track = self.track_mut(*tr)?;
                let was = std::mem::replace(&mut track.color, *v);
                Ok(settings_applied(
                    *tr,
                    was != *v,
                    Op::SetColor { tr: *tr, v: was },
                ))
            }
            Op::SetTrackSwing { tr, v } => {
                if let Some(swing) = v {
                    check_f64(*swing, &SWING_RANGE, Field::Swing)?;
                }
                let track = self.track_mut(*tr)?;
                let was = std::mem::replace(&mut track.swing_pct, *v);
                Ok(settings_applied(
                    *tr,
                    was != *v,
                    Op::SetTrackSwing { tr: *tr, v: was },
                ))
            }
            Op::SetTrackFx { tr, fx } => {
                fx.validate()?;
                let track = self.track_mut(*tr)?;
                let was = track.fx.get(*fx);
                track.fx.set(*fx);
                Ok(settings_applied(
                    *tr,
                    was != *fx,
                    Op::SetTrackFx { tr: *tr, fx: was },
                ))
            }
            Op::SetSessionFx { fx } => {
                fx.validate()?;
                let was = self.fx.get(*fx);
                self.fx.set(*fx);
                Ok(Applied {
                    change: if was != *fx {
                        Change::Effects
                    } else {
                        Change::Nothing
                    },
                    undo: Op::SetSessionFx { fx: was },
                })
            }
        }
    }
}

fn step_applied(tr: TrackId, s: u8, changed: bool, undo: Op) -> Applied {
    Applied {
        change: if changed {
            Change::Step { track: tr, step: s }
        } else {
            Change::Nothing
        },
        undo,
    }
}

impl Track {
    /// Replaces the step count and all steps; the undo puts both back.
    fn replace_pattern(&mut self, len: u8, steps: &Steps) -> Applied {
        let was_len = std::mem::replace(&mut self.step_count, len);
        let was_steps = std::mem::replace(&mut self.steps, *steps);
        let changed = was_len != len || was_steps != *steps;
        Applied {
            change: if changed {
                Change::Pattern { track: self.id }
            } else {
                Change::Nothing
            },
            undo: Op::SetPattern {
                tr: self.id,
                len: was_len,
                steps: Pattern(Box::new(was_steps)),
            },
        }
    }
}

fn settings_applied(tr: TrackId, changed: bool, undo: Op) -> Applied {
    Applied {
        change: if changed {
            Change::TrackSettings { track: tr }
        } else {
            Change::Nothing
        },
        undo,
    }
}

impl Session {
    /// Applies `op` on behalf of `user` (None when anonymous) at `now_ms` (ms since the Unix
    /// epoch): refuses edits to a read-only session from anyone but its owner, and bumps
    /// `updated_at` when something changed.
    pub fn apply(&mut self, op: &Op, user: Option<&str>, now_ms: u64) -> Result<Applied, OpError> {
        if !self.can_edit(user) {
            return Err(OpError::ReadOnly);
        }
        let applied = self.state.apply(op)?;
        if applied.change != Change::Nothing {
            self.updated_at = self.updated_at.max(now_ms);
        }
        Ok(applied)
    }
}
