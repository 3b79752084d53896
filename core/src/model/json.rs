//! The compact JSON form of tracks and patterns (see [`Track`]): on/off flags as hex, and only
//! the steps that differ from the defaults listed. A full 16-track session stays well under 8 KB.

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::condition::Condition;
use super::fx::TrackFx;
use super::ids::TrackId;
use super::instrument::Instrument;
use super::limits::{DEFAULT_VELOCITY, MAX_STEPS};
use super::lock::Locks;
use super::pattern::PatternId;
use super::track::{OtherPatterns, Step, Steps, Track, TrackPattern};
use crate::error::{InDocument, OpError};

/// The JSON shape of a [`Track`] (see its doc).
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
    #[serde(default, skip_serializing_if = "Option::is_none")]
    color: Option<u8>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    swing: Option<f64>,
    #[serde(default, skip_serializing_if = "TrackFx::is_default")]
    fx: TrackFx,
    /// The non-empty parts of patterns B–H, by letter; left out when there are none.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pats: BTreeMap<PatternId, PartRepr>,
}

/// The JSON shape of a track's part of a pattern B–H: `{"len":16,"on":"…","x":[…]}`.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct PartRepr {
    len: u8,
    on: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    x: Vec<StepDetail>,
}

fn parts_to_repr(parts: &OtherPatterns) -> BTreeMap<PatternId, PartRepr> {
    parts
        .iter()
        .zip(PatternId::ALL.iter().skip(1))
        .filter_map(|(part, pt)| {
            let part = part.as_deref()?;
            let (on, x) = steps_to_repr(&part.steps);
            Some((
                *pt,
                PartRepr {
                    len: part.step_count,
                    on,
                    x,
                },
            ))
        })
        .collect()
}

/// The parts of B–H from their JSON; a part for A is refused (A is the track's own steps),
/// and an empty part is stored as nothing.
fn parts_from_repr(pats: BTreeMap<PatternId, PartRepr>) -> Result<OtherPatterns, OpError> {
    let mut parts: OtherPatterns = Default::default();
    for (pt, r) in pats {
        let i = pt.index().checked_sub(1).ok_or(OpError::InvalidPattern)?;
        let part = TrackPattern {
            step_count: r.len,
            steps: steps_from_repr(&r.on, r.x)?,
        };
        if !part.is_empty() {
            parts[i] = Some(Box::new(part));
        }
    }
    Ok(parts)
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
    /// The trig condition as text (`"2:4"`, `"fill"`, …); left out when none, so documents
    /// without conditions read and write byte-identically.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    cd: Option<Condition>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    hz: Option<f32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    rv: Option<f32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    dl: Option<f32>,
}

fn default_velocity() -> u8 {
    DEFAULT_VELOCITY
}

fn is_default_velocity(v: &u8) -> bool {
    *v == DEFAULT_VELOCITY
}

/// Encodes 64 on/off flags as 16 lowercase hex digits, step 0 in the high bit.
fn encode_on_bits(steps: &Steps) -> String {
    let bits = steps
        .iter()
        .enumerate()
        .fold(0u64, |acc, (i, s)| acc | ((s.on as u64) << (63 - i)));
    hex::encode(bits.to_be_bytes())
}

/// The 64 on/off flags of 16 hex digits (either case).
fn decode_on_bits(s: &str) -> Result<u64, OpError> {
    let mut bytes = [0u8; 8];
    hex::decode_to_slice(s, &mut bytes).map_err(|_| OpError::InvalidPattern)?;
    Ok(u64::from_be_bytes(bytes))
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
            cd: s.locks.condition,
            hz: s.locks.cutoff_hz,
            rv: s.locks.reverb_send,
            dl: s.locks.delay_send,
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
            condition: d.cd,
            cutoff_hz: d.hz,
            reverb_send: d.rv,
            delay_send: d.dl,
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
    /// Keeps the code through serde (`try_from` errors become text).
    type Error = InDocument;
    fn try_from(r: PatternRepr) -> Result<Self, InDocument> {
        Ok(Self(Box::new(
            steps_from_repr(&r.on, r.x).map_err(InDocument)?,
        )))
    }
}

/// The JSON form of `SessionState::seed`: 16 hex digits, written lowercase (either case is
/// read).
pub(super) mod seed_hex {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(seed: &u64, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&hex::encode(seed.to_be_bytes()))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
        let text = String::deserialize(d)?;
        let mut bytes = [0u8; 8];
        hex::decode_to_slice(&text, &mut bytes)
            .map_err(|_| serde::de::Error::custom("seed must be a string of 16 hex digits"))?;
        Ok(u64::from_be_bytes(bytes))
    }
}

impl Serialize for Track {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        TrackRepr::from(self.clone()).serialize(s)
    }
}

impl<'de> Deserialize<'de> for Track {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Track::try_from(TrackRepr::deserialize(d)?).map_err(OpError::into_de)
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
            color: t.color,
            swing: t.swing_pct,
            fx: t.fx,
            pats: parts_to_repr(&t.other_patterns),
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
            color: r.color,
            swing_pct: r.swing,
            fx: r.fx,
            other_patterns: parts_from_repr(r.pats)?,
        };
        track.validate()?;
        Ok(track)
    }
}
