//! Patterns A–H and the song: which pattern slot an edit or a song entry names, a song entry, and
//! when a queued pattern takes over (one track's part of a pattern is `TrackPattern`, in
//! `track.rs`).
//!
//! A session holds up to [`MAX_PATTERNS`] patterns. Each pattern has its own steps, locks and
//! step count per track; the sound, the mixer and the effects belong to the track and the
//! session, shared by every pattern. Pattern A is the track's own `steps` and `step_count` (so a
//! document that uses only A reads and writes exactly as before patterns existed); B–H live in
//! `Track::other_patterns`, boxed and only when not
//! empty, so a track whose B–H are empty costs 7 null pointers, not 7 × 64 steps.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::limits::MAX_PATTERNS;
use crate::error::OpError;

/// A pattern slot, A to H. JSON: the letter as a string (`"B"`); any other text is refused with
/// [`OpError::UnknownPattern`], so an index past H never reaches the state.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PatternId(
    /// 0 (A) to [`MAX_PATTERNS`] − 1 (H).
    u8,
);

impl PatternId {
    /// Pattern A: the track's own steps, and the pattern every op names when its JSON has no
    /// `pt` key.
    pub const A: Self = Self(0);

    /// Every slot, A to H.
    pub const ALL: [Self; MAX_PATTERNS] = {
        let mut all = [Self(0); MAX_PATTERNS];
        let mut i = 0;
        while i < MAX_PATTERNS {
            all[i] = Self(i as u8);
            i += 1;
        }
        all
    };

    /// The slot at `index` (0 is A), if below [`MAX_PATTERNS`].
    pub fn new(index: usize) -> Option<Self> {
        (index < MAX_PATTERNS).then_some(Self(index as u8))
    }

    /// 0 (A) to 7 (H).
    pub fn index(self) -> usize {
        self.0 as usize
    }

    /// `'A'` to `'H'`.
    pub fn letter(self) -> char {
        (b'A' + self.0) as char
    }

    /// Pattern A (serde leaves the `pt` key out for it).
    pub fn is_a(&self) -> bool {
        self.0 == 0
    }
}

impl fmt::Display for PatternId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.letter())
    }
}

impl FromStr for PatternId {
    type Err = OpError;

    /// `"A"` to `"H"` (upper case only, as written).
    fn from_str(s: &str) -> Result<Self, OpError> {
        match s.as_bytes() {
            [b @ b'A'..=b'H'] => Ok(Self(b - b'A')),
            _ => Err(OpError::UnknownPattern),
        }
    }
}

impl Serialize for PatternId {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_char(self.letter())
    }
}

impl<'de> Deserialize<'de> for PatternId {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = std::borrow::Cow::<str>::deserialize(d)?;
        text.parse().map_err(OpError::into_de)
    }
}

/// One entry of a song: a pattern played `repeats` times in a row. JSON `{"p":"B","n":2}`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SongEntry {
    /// The pattern this entry plays.
    #[serde(rename = "p")]
    pub pattern: PatternId,
    /// How many passes of the pattern ([`SONG_REPEATS_RANGE`](super::limits::SONG_REPEATS_RANGE));
    /// one pass is the pattern's longest track
    /// (`SessionState::pattern_steps`).
    #[serde(rename = "n")]
    pub repeats: u8,
}

/// When a queued pattern takes over from the one playing (a session setting, so every player
/// switches on the same step). JSON `"bar"` or `"longest"`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum SwitchAt {
    /// At the next bar line (every 16 steps from the transport's start).
    #[default]
    #[serde(rename = "bar")]
    Bar,
    /// At the end of the playing pattern's pass: its longest track's next loop start.
    #[serde(rename = "longest")]
    LongestTrack,
}

impl SwitchAt {
    /// The default ([`SwitchAt::Bar`]): serde leaves the setting out of the document then.
    pub fn is_default(&self) -> bool {
        *self == Self::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_read_and_write_as_letters() {
        for (i, p) in PatternId::ALL.iter().enumerate() {
            assert_eq!(p.index(), i);
            let json = serde_json::to_string(p).unwrap();
            assert_eq!(json, format!("\"{}\"", (b'A' + i as u8) as char));
            assert_eq!(serde_json::from_str::<PatternId>(&json).unwrap(), *p);
        }
        for bad in ["\"I\"", "\"a\"", "\"\"", "\"AB\"", "3"] {
            assert!(serde_json::from_str::<PatternId>(bad).is_err(), "{bad}");
        }
        let e = serde_json::from_str::<PatternId>("\"Z\"").unwrap_err();
        assert!(e.to_string().starts_with("[unknown_pattern]"), "{e}");
        assert_eq!(PatternId::new(8), None);
    }
}
