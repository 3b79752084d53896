//! Reading ids and instruments from text: `FromStr` refuses a malformed id with
//! [`OpError::InvalidId`], and serde goes through `Display` and `FromStr`, so every id is
//! validated on the way in, whatever the document.

use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::condition::Condition;
use super::ids::{BeatId, SampleId, SessionId, TrackId};
use super::instrument::Instrument;
use super::lock::LockKind;
use crate::error::{Field, OpError};

impl FromStr for SessionId {
    type Err = OpError;

    /// Accepts only the hyphenated lowercase-or-uppercase form of a version-4 UUID.
    fn from_str(s: &str) -> Result<Self, OpError> {
        SessionId::from_text(s).ok_or(OpError::InvalidId)
    }
}

impl FromStr for BeatId {
    type Err = OpError;

    /// Accepts only the hyphenated lowercase-or-uppercase form of a version-4 UUID.
    fn from_str(s: &str) -> Result<Self, OpError> {
        BeatId::from_text(s).ok_or(OpError::InvalidId)
    }
}

impl FromStr for TrackId {
    type Err = OpError;

    /// Accepts 1 to 8 bytes of `[a-z0-9_-]`.
    fn from_str(s: &str) -> Result<Self, OpError> {
        TrackId::from_text(s).ok_or(OpError::InvalidId)
    }
}

impl FromStr for SampleId {
    type Err = OpError;

    /// Accepts 1 to 64 bytes of `[A-Za-z0-9_-]`.
    fn from_str(s: &str) -> Result<Self, OpError> {
        SampleId::from_text(s).ok_or(OpError::InvalidId)
    }
}

impl FromStr for Condition {
    type Err = OpError;

    /// Accepts `A:B` (one digit each, 1 ≤ A ≤ B ≤ 8), `fill`, `!fill`, `1st`, `!1st`, `pre`,
    /// `!pre`; anything else is a condition lock out of range.
    fn from_str(s: &str) -> Result<Self, OpError> {
        let refused = OpError::OutOfRange(Field::Lock(LockKind::Condition));
        let c = match s {
            "fill" => Condition::Fill,
            "!fill" => Condition::NotFill,
            "1st" => Condition::First,
            "!1st" => Condition::NotFirst,
            "pre" => Condition::Pre,
            "!pre" => Condition::NotPre,
            _ => {
                let (a, b) = s.split_once(':').ok_or(refused.clone())?;
                let digit = |t: &str| match t.as_bytes() {
                    [d @ b'1'..=b'9'] => Ok(d - b'0'),
                    _ => Err(refused.clone()),
                };
                Condition::Ratio {
                    a: digit(a)?,
                    b: digit(b)?,
                }
            }
        };
        if c.is_valid() {
            Ok(c)
        } else {
            Err(refused)
        }
    }
}

/// Serializes a type as its `Display` string and deserializes it through its `FromStr`, so
/// every id is validated on the way in (a refusal keeps its code: [`OpError::into_de`]).
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
                s.parse().map_err(OpError::into_de)
            }
        }
    )*};
}

serde_via_str!(SessionId, BeatId, TrackId, SampleId, Instrument, Condition);
