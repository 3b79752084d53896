//! Typed errors. Each has a stable machine-readable [`code`](OpError::code) that travels on the
//! wire and in REST error bodies.
//!
//! Below everything but the ids, lock kinds and limits they name: no other module of the crate
//! is reachable from here.

use crate::model::ids::TrackId;
use crate::model::lock::LockKind;

/// A value that can be out of range.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Field {
    Tempo,
    Swing,
    Volume,
    Pan,
    StepCount,
    Velocity,
    /// How many cut points a track has ([`MAX_SLICES`](crate::model::limits::MAX_SLICES) at most).
    Cuts,
    /// How many times a song entry repeats its pattern.
    Repeats,
    /// A track's colour (an index below [`TRACK_COLORS`](crate::model::limits::TRACK_COLORS)).
    Color,
    /// A track filter's cutoff.
    Cutoff,
    /// A track filter's resonance.
    Resonance,
    /// A track's drive.
    Drive,
    /// A track's send to the reverb.
    ReverbSend,
    /// A track's send to the delay.
    DelaySend,
    /// The shared reverb's size.
    ReverbSize,
    /// The shared delay's feedback.
    DelayFeedback,
    Lock(LockKind),
}

impl std::fmt::Display for Field {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let s = match self {
            Field::Tempo => "tempo",
            Field::Swing => "swing",
            Field::Volume => "volume",
            Field::Pan => "pan",
            Field::StepCount => "step count",
            Field::Velocity => "velocity",
            Field::Cuts => "number of slice cuts",
            Field::Repeats => "song entry repeats",
            Field::Color => "track colour",
            Field::Cutoff => "filter cutoff",
            Field::Resonance => "filter resonance",
            Field::Drive => "drive",
            Field::ReverbSend => "reverb send",
            Field::DelaySend => "delay send",
            Field::ReverbSize => "reverb size",
            Field::DelayFeedback => "delay feedback",
            Field::Lock(LockKind::Pitch) => "pitch lock",
            Field::Lock(LockKind::Volume) => "volume lock",
            Field::Lock(LockKind::Probability) => "probability lock",
            Field::Lock(LockKind::Nudge) => "nudge lock",
            Field::Lock(LockKind::Ratchet) => "ratchet lock",
            Field::Lock(LockKind::Slice) => "slice lock",
            Field::Lock(LockKind::Condition) => "trig condition",
            Field::Lock(LockKind::Cutoff) => "cutoff lock",
            Field::Lock(LockKind::ReverbSend) => "reverb send lock",
            Field::Lock(LockKind::DelaySend) => "delay send lock",
        };
        f.write_str(s)
    }
}

/// Why an edit (or a document) was refused. The state is unchanged whenever one is returned.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum OpError {
    #[error("{0} is out of range")]
    OutOfRange(Field),
    #[error("{0} is not a finite number")]
    NotFinite(Field),
    #[error("no track with id {0}")]
    UnknownTrack(TrackId),
    #[error("a track with id {0} already exists")]
    DuplicateTrackId(TrackId),
    #[error("a session has at most 16 tracks")]
    TooManyTracks,
    #[error("step index is out of range (0..64)")]
    StepOutOfRange,
    #[error("track index is out of range")]
    IndexOutOfRange,
    #[error("a sequence cannot be copied onto its own track")]
    SameTrack,
    #[error("name is too long or contains control characters")]
    InvalidName,
    #[error("malformed id")]
    InvalidId,
    #[error("unknown instrument")]
    UnknownInstrument,
    #[error("malformed step pattern")]
    InvalidPattern,
    #[error("slice cut points must be strictly ascending")]
    InvalidCuts,
    #[error("unsupported schema version {0}")]
    UnsupportedVersion(u32),
    #[error("this session is read-only")]
    ReadOnly,
    #[error("no such pattern (A to H)")]
    UnknownPattern,
    #[error("a pattern cannot be copied onto itself")]
    SamePattern,
    #[error("a song has at most 64 entries")]
    SongTooLong,
}

impl OpError {
    /// Stable code for the wire; never renamed.
    pub fn code(&self) -> ErrorCode {
        match self {
            OpError::OutOfRange(_) => ErrorCode::OutOfRange,
            OpError::NotFinite(_) => ErrorCode::NotFinite,
            OpError::UnknownTrack(_) => ErrorCode::UnknownTrack,
            OpError::DuplicateTrackId(_) => ErrorCode::DuplicateTrackId,
            OpError::TooManyTracks => ErrorCode::TooManyTracks,
            OpError::StepOutOfRange => ErrorCode::StepOutOfRange,
            OpError::IndexOutOfRange => ErrorCode::IndexOutOfRange,
            OpError::SameTrack => ErrorCode::SameTrack,
            OpError::InvalidName => ErrorCode::InvalidName,
            OpError::InvalidId => ErrorCode::InvalidId,
            OpError::UnknownInstrument => ErrorCode::UnknownInstrument,
            OpError::InvalidPattern => ErrorCode::InvalidPattern,
            OpError::InvalidCuts => ErrorCode::InvalidCuts,
            OpError::UnsupportedVersion(_) => ErrorCode::UnsupportedVersion,
            OpError::ReadOnly => ErrorCode::ReadOnly,
            OpError::UnknownPattern => ErrorCode::UnknownPattern,
            OpError::SamePattern => ErrorCode::SamePattern,
            OpError::SongTooLong => ErrorCode::SongTooLong,
        }
    }
}

/// An [`OpError`] met while deserializing a document or a message.
///
/// serde's errors carry only text, so a validation error raised inside a `Deserialize` impl
/// (a malformed id, a bad pattern, a too-long name inside a track) would reach the decoder as a
/// bare string and be reported as [`ErrorCode::Malformed`]. Raised through this wrapper, the
/// text starts with the code in brackets (`[invalid_id] malformed id`), which serde_json's own
/// messages never do, and [`code_in_message`] gives the code back.
#[derive(Clone, Debug, PartialEq)]
pub struct InDocument(pub OpError);

impl std::fmt::Display for InDocument {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "[{}] {}", self.0.code(), self.0)
    }
}

impl OpError {
    /// This error as a serde deserialization error that keeps its code (see [`InDocument`]).
    pub fn into_de<E: serde::de::Error>(self) -> E {
        E::custom(InDocument(self))
    }
}

/// The code an [`InDocument`] error put at the start of a deserialization error's text, and the
/// rest of the text; `None` for serde's own errors (they are [`ErrorCode::Malformed`]).
pub fn code_in_message(msg: &str) -> Option<(ErrorCode, &str)> {
    let rest = msg.strip_prefix('[')?;
    let (code, rest) = rest.split_once("] ")?;
    let code = ErrorCode::ALL.iter().find(|c| c.as_str() == code)?;
    Some((*code, rest))
}

macro_rules! error_codes {
    ($($(#[$m:meta])* $name:ident = $s:literal,)*) => {
        /// Every error code that travels on the wire or in a REST error body.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
        pub enum ErrorCode {
            $($(#[$m])* #[serde(rename = $s)] $name,)*
        }

        impl ErrorCode {
            pub const ALL: &'static [ErrorCode] = &[$(ErrorCode::$name,)*];

            pub const fn as_str(self) -> &'static str {
                match self { $(ErrorCode::$name => $s,)* }
            }
        }
    };
}

error_codes! {
    /// Not valid JSON, or a known message with missing or mistyped fields.
    Malformed = "malformed",
    /// Larger than the limit for its kind.
    TooLarge = "too_large",
    /// A message type nobody knows.
    UnknownType = "unknown_type",
    /// The hello named another protocol version.
    ProtocolVersion = "protocol_version",
    /// The room already has its maximum of players.
    RoomFull = "room_full",
    /// Too many messages or requests in too short a time.
    RateLimited = "rate_limited",
    /// A live connection left more bytes unread than the room buffers for it.
    SlowConsumer = "slow_consumer",
    /// More connections waiting for their hello than a room takes.
    TooManyConnections = "too_many_connections",
    /// A message other than hello before the hello.
    NotJoined = "not_joined",
    /// A second hello on one connection.
    AlreadyJoined = "already_joined",
    /// No session with that id.
    NotFound = "not_found",
    OutOfRange = "out_of_range",
    NotFinite = "not_finite",
    UnknownTrack = "unknown_track",
    DuplicateTrackId = "duplicate_track_id",
    TooManyTracks = "too_many_tracks",
    StepOutOfRange = "step_out_of_range",
    IndexOutOfRange = "index_out_of_range",
    SameTrack = "same_track",
    InvalidName = "invalid_name",
    InvalidId = "invalid_id",
    UnknownInstrument = "unknown_instrument",
    InvalidPattern = "invalid_pattern",
    /// Slice cut points out of order or repeated.
    InvalidCuts = "invalid_cuts",
    UnsupportedVersion = "unsupported_version",
    ReadOnly = "read_only",
    /// A pattern slot other than A to H.
    UnknownPattern = "unknown_pattern",
    /// A pattern copied onto itself.
    SamePattern = "same_pattern",
    /// A song longer than `MAX_SONG_ENTRIES` entries.
    SongTooLong = "song_too_long",
    /// An upload that is not audio this build can read, or longer than allowed.
    BadSample = "bad_sample",
    /// The path exists, not with this method.
    MethodNotAllowed = "method_not_allowed",
    /// The server failed; nothing was changed.
    Internal = "internal",
    /// No valid sign-in: a missing, malformed, forged, expired or revoked token (HTTP 401).
    Unauthorized = "unauthorized",
    /// Signed in, but not the session's owner (HTTP 403).
    NotOwner = "not_owner",
    /// The session already has an owner and cannot be claimed (HTTP 409).
    AlreadyOwned = "already_owned",
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}
