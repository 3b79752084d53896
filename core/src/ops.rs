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
///
/// Every op on steps or step counts names the pattern it edits (`pt`, a [`PatternId`]; the key
/// is left out for pattern A, so ops from before patterns read unchanged): a pattern switch
/// racing with an edit never moves the edit onto another pattern.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "t")]
pub enum Op {
    /// Switch a step on or off.
    #[serde(rename = "step")]
    SetStep {
        tr: TrackId,
        s: u8,
        on: bool,
        #[serde(default, skip_serializing_if = "PatternId::is_a")]
        pt: PatternId,
    },
    /// Set a step's velocity ([`VELOCITY_RANGE`]).
    #[serde(rename = "vel")]
    SetVelocity {
        tr: TrackId,
        s: u8,
        v: u8,
        #[serde(default, skip_serializing_if = "PatternId::is_a")]
        pt: PatternId,
    },
    /// Set one parameter lock of a step.
    #[serde(rename = "lock")]
    SetLock {
        tr: TrackId,
        s: u8,
        lock: Lock,
        #[serde(default, skip_serializing_if = "PatternId::is_a")]
        pt: PatternId,
    },
    /// Clear one parameter lock of a step.
    #[serde(rename = "unlock")]
    ClearLock {
        tr: TrackId,
        s: u8,
        k: LockKind,
        #[serde(default, skip_serializing_if = "PatternId::is_a")]
        pt: PatternId,
    },
    /// Replace a track's step count and all 64 steps in one pattern (paste; the undo of clear
    /// and copy).
    #[serde(rename = "pattern")]
    SetPattern {
        tr: TrackId,
        len: u8,
        steps: Pattern,
        #[serde(default, skip_serializing_if = "PatternId::is_a")]
        pt: PatternId,
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
    ClearTrack {
        tr: TrackId,
        #[serde(default, skip_serializing_if = "PatternId::is_a")]
        pt: PatternId,
    },
    /// Copy one track's steps and step count onto another track, within one pattern.
    #[serde(rename = "copy")]
    CopySequence {
        from: TrackId,
        to: TrackId,
        #[serde(default, skip_serializing_if = "PatternId::is_a")]
        pt: PatternId,
    },
    /// Set how many steps a track loops over in one pattern ([`STEP_COUNT_RANGE`]).
    #[serde(rename = "len")]
    SetStepCount {
        tr: TrackId,
        v: u8,
        #[serde(default, skip_serializing_if = "PatternId::is_a")]
        pt: PatternId,
    },
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
    /// Copy every track's part of pattern `from` (steps, locks, step count) onto pattern `to`:
    /// `{"t":"copy_pat","from":"A","to":"B"}`. The undo is a [`Op::SetPatternSlot`].
    #[serde(rename = "copy_pat")]
    CopyPattern { from: PatternId, to: PatternId },
    /// Empty pattern `pt` on every track (every step off, [`DEFAULT_STEP_COUNT`] steps):
    /// `{"t":"clear_pat","pt":"C"}`. The undo is a [`Op::SetPatternSlot`].
    #[serde(rename = "clear_pat")]
    ClearPattern { pt: PatternId },
    /// Replace pattern `pt` on every track: each listed track gets its listed part, every other
    /// track an empty one (the undo of [`Op::CopyPattern`] and [`Op::ClearPattern`]). A track
    /// listed twice is refused ([`OpError::InvalidPattern`]).
    #[serde(rename = "pat_slot")]
    SetPatternSlot { pt: PatternId, v: Vec<SlotPart> },
    /// Replace the song ([`SessionState::song`]; at most [`MAX_SONG_ENTRIES`] entries, each
    /// repeating [`SONG_REPEATS_RANGE`] times): `{"t":"song","v":[{"p":"A","n":2}]}`. The
    /// builders in `edit` make it from one change to the list.
    #[serde(rename = "song")]
    SetSong { v: Vec<SongEntry> },
    /// When a queued pattern takes over ([`SessionState::switch_at`]):
    /// `{"t":"switch_at","v":"longest"}`.
    #[serde(rename = "switch_at")]
    SetSwitchAt { v: SwitchAt },
}

/// One track's part in an [`Op::SetPatternSlot`]: `{"tr":"kick","len":16,"steps":{"on":"…"}}`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SlotPart {
    /// The track whose part this is.
    pub tr: TrackId,
    /// Its step count in the pattern ([`STEP_COUNT_RANGE`]).
    pub len: u8,
    /// Its 64 steps in the pattern.
    pub steps: Pattern,
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
    /// Pattern `pattern` on many tracks at once (copy, clear or replace a pattern).
    PatternSlot {
        pattern: PatternId,
    },
    /// The song list.
    Song,
    /// The pattern-switch setting.
    SwitchAt,
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
            | Op::ClearTrack { tr, .. }
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
            Op::SetTempo { .. }
            | Op::SetSwing { .. }
            | Op::SetSessionFx { .. }
            | Op::CopyPattern { .. }
            | Op::ClearPattern { .. }
            | Op::SetPatternSlot { .. }
            | Op::SetSong { .. }
            | Op::SetSwitchAt { .. } => None,
        }
    }

    /// The pattern whose steps this op edits, if any (the destination of a copy).
    pub fn pattern(&self) -> Option<PatternId> {
        match self {
            Op::SetStep { pt, .. }
            | Op::SetVelocity { pt, .. }
            | Op::SetLock { pt, .. }
            | Op::ClearLock { pt, .. }
            | Op::SetPattern { pt, .. }
            | Op::ClearTrack { pt, .. }
            | Op::CopySequence { pt, .. }
            | Op::SetStepCount { pt, .. }
            | Op::ClearPattern { pt }
            | Op::SetPatternSlot { pt, .. } => Some(*pt),
            Op::CopyPattern { to, .. } => Some(*to),
            _ => None,
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
            Op::SetStep { tr, s, on, pt } => {
                let i = step_index(*s)?;
                let was = self
                    .track_mut(*tr)?
                    .edit_part(*pt, |_, steps| std::mem::replace(&mut steps[i].on, *on));
                Ok(step_applied(
                    *tr,
                    *s,
                    was != *on,
                    Op::SetStep {
                        tr: *tr,
                        s: *s,
                        on: was,
                        pt: *pt,
                    },
                ))
            }
            Op::SetVelocity { tr, s, v, pt } => {
                let i = step_index(*s)?;
                if !VELOCITY_RANGE.contains(v) {
                    return Err(OpError::OutOfRange(Field::Velocity));
                }
                let was = self.track_mut(*tr)?.edit_part(*pt, |_, steps| {
                    std::mem::replace(&mut steps[i].velocity, *v)
                });
                Ok(step_applied(
                    *tr,
                    *s,
                    was != *v,
                    Op::SetVelocity {
                        tr: *tr,
                        s: *s,
                        v: was,
                        pt: *pt,
                    },
                ))
            }
            Op::SetLock { tr, s, lock, pt } => {
                let i = step_index(*s)?;
                lock.validate()?;
                let was = self.track_mut(*tr)?.edit_part(*pt, |_, steps| {
                    let locks = &mut steps[i].locks;
                    let was = locks.get(lock.kind());
                    locks.set(*lock);
                    was
                });
                let undo = match was {
                    Some(l) => Op::SetLock {
                        tr: *tr,
                        s: *s,
                        lock: l,
                        pt: *pt,
                    },
                    None => Op::ClearLock {
                        tr: *tr,
                        s: *s,
                        k: lock.kind(),
                        pt: *pt,
                    },
                };
                Ok(step_applied(*tr, *s, was != Some(*lock), undo))
            }
            Op::ClearLock { tr, s, k, pt } => {
                let i = step_index(*s)?;
                let was = self.track_mut(*tr)?.edit_part(*pt, |_, steps| {
                    let locks = &mut steps[i].locks;
                    let was = locks.get(*k);
                    locks.clear(*k);
                    was
                });
                let undo = match was {
                    Some(l) => Op::SetLock {
                        tr: *tr,
                        s: *s,
                        lock: l,
                        pt: *pt,
                    },
                    None => op.clone(),
                };
                Ok(step_applied(*tr, *s, was.is_some(), undo))
            }
            Op::SetPattern { tr, len, steps, pt } => {
                if !STEP_COUNT_RANGE.contains(len) {
                    return Err(OpError::OutOfRange(Field::StepCount));
                }
                steps.0.iter().try_for_each(Step::validate)?;
                Ok(self.track_mut(*tr)?.replace_part(*pt, *len, &steps.0))
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
            Op::ClearTrack { tr, pt } => {
                let track = self.track_mut(*tr)?;
                let len = track.step_count_in(*pt);
                Ok(track.replace_part(*pt, len, &[Step::default(); MAX_STEPS]))
            }
            Op::CopySequence { from, to, pt } => {
                if from == to {
                    return Err(OpError::SameTrack);
                }
                let src = self.track(*from).ok_or(OpError::UnknownTrack(*from))?;
                let (steps, len) = (*src.steps_in(*pt), src.step_count_in(*pt));
                Ok(self.track_mut(*to)?.replace_part(*pt, len, &steps))
            }
            Op::SetStepCount { tr, v, pt } => {
                if !STEP_COUNT_RANGE.contains(v) {
                    return Err(OpError::OutOfRange(Field::StepCount));
                }
                let was = self
                    .track_mut(*tr)?
                    .edit_part(*pt, |len, _| std::mem::replace(len, *v));
                Ok(Applied {
                    change: if was != *v {
                        Change::Pattern { track: *tr }
                    } else {
                        Change::Nothing
                    },
                    undo: Op::SetStepCount {
                        tr: *tr,
                        v: was,
                        pt: *pt,
                    },
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
            Op::CopyPattern { from, to } => {
                if from == to {
                    return Err(OpError::SamePattern);
                }
                let parts = self.slot_parts(*from);
                Ok(self.replace_slot(*to, &parts))
            }
            Op::ClearPattern { pt } => Ok(self.replace_slot(*pt, &[])),
            Op::SetPatternSlot { pt, v } => {
                for (i, part) in v.iter().enumerate() {
                    if !STEP_COUNT_RANGE.contains(&part.len) {
                        return Err(OpError::OutOfRange(Field::StepCount));
                    }
                    part.steps.0.iter().try_for_each(Step::validate)?;
                    if self.track(part.tr).is_none() {
                        return Err(OpError::UnknownTrack(part.tr));
                    }
                    if v[..i].iter().any(|o| o.tr == part.tr) {
                        return Err(OpError::InvalidPattern);
                    }
                }
                Ok(self.replace_slot(*pt, v))
            }
            Op::SetSong { v } => {
                validate_song(v)?;
                if self.song == *v {
                    return Ok(Applied {
                        change: Change::Nothing,
                        undo: op.clone(),
                    });
                }
                let was = std::mem::replace(&mut self.song, v.clone());
                Ok(Applied {
                    change: Change::Song,
                    undo: Op::SetSong { v: was },
                })
            }
            Op::SetSwitchAt { v } => {
                let was = std::mem::replace(&mut self.switch_at, *v);
                Ok(Applied {
                    change: if was != *v {
                        Change::SwitchAt
                    } else {
                        Change::Nothing
                    },
                    undo: Op::SetSwitchAt { v: was },
                })
            }
        }
    }

    /// Every track's non-empty part of pattern `pt`, as [`Op::SetPatternSlot`] lists them.
    pub fn slot_parts(&self, pt: PatternId) -> Vec<SlotPart> {
        self.tracks
            .iter()
            .filter(|t| t.has_part(pt))
            .map(|t| SlotPart {
                tr: t.id,
                len: t.step_count_in(pt),
                steps: Pattern(Box::new(*t.steps_in(pt))),
            })
            .collect()
    }

    /// Gives every track of `parts` its part of pattern `pt` and every other track an empty one
    /// (the parts are valid and name known tracks, each once); the undo puts the old parts back.
    fn replace_slot(&mut self, pt: PatternId, parts: &[SlotPart]) -> Applied {
        let undo = Op::SetPatternSlot {
            pt,
            v: self.slot_parts(pt),
        };
        let mut changed = false;
        for track in &mut self.tracks {
            let new = match parts.iter().find(|p| p.tr == track.id) {
                Some(p) => TrackPattern {
                    step_count: p.len,
                    steps: *p.steps.0,
                },
                None => TrackPattern::EMPTY,
            };
            if track.part(pt) != new {
                track.set_part(pt, &new);
                changed = true;
            }
        }
        Applied {
            change: if changed {
                Change::PatternSlot { pattern: pt }
            } else {
                Change::Nothing
            },
            undo,
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
    /// Replaces the step count and all steps of the track's part of pattern `pt`; the undo puts
    /// both back.
    fn replace_part(&mut self, pt: PatternId, len: u8, steps: &Steps) -> Applied {
        let (was_len, was_steps) = self.edit_part(pt, |l, s| {
            (std::mem::replace(l, len), std::mem::replace(s, *steps))
        });
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
                pt,
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
