//! The ids that name sessions, tracks and samples, and the rule of what makes each valid.
//!
//! Reading them from text (`FromStr`, refusing a malformed id with `OpError::InvalidId`) and
//! serde live in `parse.rs`: this file depends on nothing but the limits, so the errors can name
//! a [`TrackId`] without a cycle.

use std::fmt;

use super::limits::{SAMPLE_ID_MAX_LEN, TRACK_ID_MAX_LEN};

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

    /// Accepts only the hyphenated lowercase-or-uppercase form of a version-4 UUID.
    pub(super) fn from_text(s: &str) -> Option<Self> {
        v4_from_text(s).map(Self)
    }
}

impl fmt::Display for SessionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.hyphenated().fmt(f)
    }
}

/// A published beat's id: a random (v4) UUID, like a session's (`/b/{id}`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct BeatId(uuid::Uuid);

impl BeatId {
    /// Makes a v4 id from 16 random bytes that the caller draws (core reads no randomness).
    pub fn from_random_bytes(bytes: [u8; 16]) -> Self {
        Self(uuid::Builder::from_random_bytes(bytes).into_uuid())
    }

    /// Accepts only the hyphenated lowercase-or-uppercase form of a version-4 UUID.
    pub(super) fn from_text(s: &str) -> Option<Self> {
        v4_from_text(s).map(Self)
    }
}

impl fmt::Display for BeatId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.hyphenated().fmt(f)
    }
}

/// The hyphenated form of a version-4 UUID, and nothing else.
fn v4_from_text(s: &str) -> Option<uuid::Uuid> {
    if s.len() != 36 {
        return None;
    }
    let id = uuid::Uuid::try_parse(s).ok()?;
    (id.get_version_num() == 4).then_some(id)
}

/// A track's stable id. Ops name tracks by id, never by position, so concurrent inserts and
/// deletes cannot redirect an edit to the wrong track. Ids are short ASCII (`[a-z0-9_-]`, at most
/// [`TRACK_ID_MAX_LEN`] bytes) and `Copy`, so the engine can hold them without allocating.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TrackId {
    /// The id's ASCII bytes; those past `len` are zero.
    bytes: [u8; TRACK_ID_MAX_LEN],
    /// How many of `bytes` are the id (1 to [`TRACK_ID_MAX_LEN`]).
    len: u8,
}

impl TrackId {
    const ALPHABET: &'static [u8; 36] = b"0123456789abcdefghijklmnopqrstuvwxyz";

    /// A fresh id from a random number the caller draws: 8 base-36 characters (41 bits), so two
    /// players adding tracks offline practically never pick the same id (and if they do, the
    /// second add is refused with `OpError::DuplicateTrackId` rather than merged).
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

    /// `s` as an id, if it is 1 to [`TRACK_ID_MAX_LEN`] bytes of `[a-z0-9_-]`.
    pub(super) fn from_text(s: &str) -> Option<Self> {
        let ok = !s.is_empty()
            && s.len() <= TRACK_ID_MAX_LEN
            && s.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-');
        if !ok {
            return None;
        }
        let mut bytes = [0u8; TRACK_ID_MAX_LEN];
        bytes[..s.len()].copy_from_slice(s.as_bytes());
        Some(Self {
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

    /// `s` as an id, if it is 1 to [`SAMPLE_ID_MAX_LEN`] bytes of `[A-Za-z0-9_-]`.
    pub(super) fn from_text(s: &str) -> Option<Self> {
        let ok = !s.is_empty()
            && s.len() <= SAMPLE_ID_MAX_LEN
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
        ok.then(|| Self(s.to_owned()))
    }
}

impl fmt::Display for SampleId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}
