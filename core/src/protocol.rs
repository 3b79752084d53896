//! The live-session wire protocol: JSON text frames over one WebSocket per player.
//!
//! Every message is a JSON object whose `t` key names its type. An edit is an [`Op`] with the
//! sender's op id `op` beside its own keys, and is broadcast back with the server's sequence
//! number `seq` and the sender's player id `by`:
//!
//! ```text
//! client → server  {"t":"hello","proto":1,"name":"Ada"}
//!                  {"t":"step","tr":"kick","s":4,"on":true,"op":17}       ← an edit (≤ 64 bytes)
//!                  {"t":"ping","c":1234.5}                                  ← clock sync, client ms
//!                  {"t":"play"}  {"t":"stop"}                               ← shared transport
//!                  {"t":"cue","p":"B"}  {"t":"song_mode","on":true}  {"t":"fill","on":true}
//!                                             ← pattern switch, song mode, fill: stamped by the room
//!                  {"t":"ack","b":65536}                      ← flow control: bytes read so far
//! server → client  {"t":"snapshot","seq":41,"you":3,"session":{…},"players":[…],"timeline":{…}}
//!                  {"t":"step","tr":"kick","s":4,"on":true,"seq":42,"by":3,"op":17}
//!                  {"t":"error","code":"unknown_track","msg":"…","op":17}
//!                  {"t":"join","player":{…}}  {"t":"leave","id":3}
//!                  {"t":"pong","c":1234.5,"s":1700000000123.0}
//!                  {"t":"timeline","playing":true,"tempo":120.0,…}
//!                  {"t":"sample_added","id":"…","name":"…","url":"…","by":3}
//! ```
//!
//! [`decode_client`] and [`decode_server`] never panic: arbitrary bytes give a [`DecodeError`].

use std::borrow::Cow;

use serde::{Deserialize, Serialize};

use crate::clock::Timeline;
use crate::error::{code_in_message, ErrorCode, OpError};
use crate::model::{PatternId, SampleId, Session, NAME_MAX_BYTES};
use crate::ops::Op;
use crate::rate::RateLimit;

/// Bumped on any incompatible change; a hello with another version is refused.
pub const PROTOCOL_VERSION: u32 = 1;
/// The largest client message accepted. A full-track paste is about 2 KB, a track's part with
/// every lock on every step about 8 KB; the largest edit is the undo of clearing or
/// overwriting a whole pattern ([`Op::SetPatternSlot`]), about 131 KB when all 16 tracks have
/// every lock on every step (`core/tests/patterns.rs`).
pub const MAX_CLIENT_MESSAGE_BYTES: usize = 192 * 1024;

/// Core's client acknowledges what it has read ([`ClientMessage::Ack`]) each time this many
/// bytes more arrived: a fraction of the room's buffer for it
/// (the room's `RoomConfig::max_unacked_bytes`), so a reading client is never
/// closed as a slow one.
pub const ACK_EVERY_BYTES: u64 = 64 * 1024;

/// A client's own number for one of its edits, echoed back in the broadcast so the client can
/// drop it from its pending list.
pub type OpId = u32;
/// A player's number within one live room.
pub type PlayerId = u32;

/// Every `t` value an [`Op`] uses. Kept beside the enum; a test checks they agree.
pub const OP_TAGS: &[&str] = &[
    "step",
    "vel",
    "lock",
    "unlock",
    "pattern",
    "add_track",
    "del_track",
    "move_track",
    "clear_track",
    "copy",
    "len",
    "tempo",
    "swing",
    "vol",
    "pan",
    "name",
    "inst",
    "cuts",
    "color",
    "tswing",
    "fx",
    "sfx",
    "copy_pat",
    "clear_pat",
    "pat_slot",
    "song",
    "switch_at",
];

/// A message from a player to the room.
#[derive(Clone, Debug, PartialEq)]
pub enum ClientMessage {
    /// First message on a connection.
    Hello {
        proto: u32,
        /// Display name, at most [`NAME_MAX_BYTES`] bytes. (Identity for read-only sessions is
        /// what the host verified at connect, never a claim in a message.)
        name: String,
    },
    /// An edit, with the sender's op id.
    Edit { op: OpId, edit: Op },
    /// Clock sync request carrying the client's send time in its own milliseconds.
    Ping { c: f64 },
    /// Start the shared transport at the next bar.
    Play,
    /// Stop the shared transport.
    Stop,
    /// Queue pattern `p`: the room stamps the beat where it takes over (the next bar line or
    /// the end of the longest track, [`SessionState::switch_at`](crate::model::SessionState))
    /// and broadcasts the timeline, so every player switches on the same step.
    Cue { p: PatternId },
    /// Song mode on (the song starts at the next boundary) or off (the pattern it reached keeps
    /// looping), stamped like a cue.
    SongMode { on: bool },
    /// The fill switch (FILL / NOT FILL trig conditions), stamped on the next step after the
    /// room's start lead.
    Fill { on: bool },
    /// Flow control: the client has read `b` bytes of text frames on this connection so far
    /// (see [`ACK_EVERY_BYTES`]).
    Ack { b: u64 },
}

/// A player as others see them.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Player {
    pub id: PlayerId,
    pub name: String,
    /// Index into the editor's player palette.
    pub color: u8,
}

/// Everything a player needs on join or after a gap: the whole session at `seq`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Snapshot {
    /// The sequence number of the last op included.
    pub seq: u64,
    /// The receiving player's own id.
    pub you: PlayerId,
    pub session: Session,
    pub players: Vec<Player>,
    pub timeline: Timeline,
    /// The room's message allowance for this client's address (counted on arrival; the first
    /// message over it closes the socket): the client paces its frames under it. Absent from
    /// older rooms, which had the default.
    #[serde(default)]
    pub rate: RateLimit,
}

/// An accepted edit as broadcast to every player (the sender included).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Broadcast {
    #[serde(flatten)]
    pub edit: Op,
    /// The room's sequence number: consecutive, starting at 1.
    pub seq: u64,
    /// Who sent it.
    pub by: PlayerId,
    /// The sender's op id.
    pub op: OpId,
}

/// A typed refusal. `op` names the refused edit, if the error is about one.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ErrorMessage {
    pub code: ErrorCode,
    pub msg: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub op: Option<OpId>,
}

/// A message from the room to a player.
#[derive(Clone, Debug, PartialEq)]
pub enum ServerMessage {
    Snapshot(Box<Snapshot>),
    Applied(Broadcast),
    Error(ErrorMessage),
    Join {
        player: Player,
    },
    Leave {
        id: PlayerId,
    },
    /// Clock sync reply: the client's send time echoed, and the server's time at receipt.
    Pong {
        c: f64,
        s: f64,
    },
    Timeline(Timeline),
    SampleAdded {
        id: SampleId,
        name: String,
        url: String,
        by: PlayerId,
    },
}

/// Why bytes could not be decoded into a message.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[error("{code}: {detail}")]
pub struct DecodeError {
    /// [`ErrorCode::Malformed`], [`ErrorCode::TooLarge`], [`ErrorCode::UnknownType`], or the
    /// code of a value that failed validation ([`ErrorCode::InvalidId`], ...).
    pub code: ErrorCode,
    pub detail: String,
}

impl DecodeError {
    fn malformed(e: impl std::fmt::Display) -> Self {
        Self {
            code: ErrorCode::Malformed,
            detail: e.to_string(),
        }
    }

    /// A serde error: [`ErrorCode::Malformed`], unless a value inside failed validation, which
    /// keeps its own code ([`code_in_message`]: a bad id is `invalid_id`, not `malformed`).
    fn json(e: serde_json::Error) -> Self {
        let text = e.to_string();
        match code_in_message(&text) {
            Some((code, detail)) => Self {
                code,
                detail: detail.to_owned(),
            },
            None => Self {
                code: ErrorCode::Malformed,
                detail: text,
            },
        }
    }

    fn invalid(e: OpError) -> Self {
        Self {
            code: e.code(),
            detail: e.to_string(),
        }
    }
}

impl From<&OpError> for ErrorMessage {
    fn from(e: &OpError) -> Self {
        Self {
            code: e.code(),
            msg: e.to_string(),
            op: None,
        }
    }
}

// --- JSON shapes -------------------------------------------------------------------------------

#[derive(Deserialize)]
struct Tag<'a> {
    #[serde(borrow)]
    t: Cow<'a, str>,
}

#[derive(Serialize, Deserialize)]
#[serde(tag = "t", rename_all = "snake_case")]
enum ClientControl {
    Hello { proto: u32, name: String },
    Ping { c: f64 },
    Play,
    Stop,
    Ack { b: u64 },
    Cue { p: PatternId },
    SongMode { on: bool },
    Fill { on: bool },
}

#[derive(Serialize, Deserialize)]
struct Submit {
    #[serde(flatten)]
    edit: Op,
    op: OpId,
}

#[derive(Serialize, Deserialize)]
#[serde(tag = "t", rename_all = "snake_case")]
enum ServerControl {
    Snapshot(Box<Snapshot>),
    Error(ErrorMessage),
    Join {
        player: Player,
    },
    Leave {
        id: PlayerId,
    },
    Pong {
        c: f64,
        s: f64,
    },
    Timeline(Timeline),
    SampleAdded {
        id: SampleId,
        name: String,
        url: String,
        by: PlayerId,
    },
}

fn read_tag(bytes: &[u8]) -> Result<Cow<'_, str>, DecodeError> {
    serde_json::from_slice::<Tag>(bytes)
        .map(|t| t.t)
        .map_err(DecodeError::malformed)
}

/// Decodes a client message. Never panics; oversized, malformed and unknown messages are errors.
pub fn decode_client(bytes: &[u8]) -> Result<ClientMessage, DecodeError> {
    if bytes.len() > MAX_CLIENT_MESSAGE_BYTES {
        return Err(DecodeError {
            code: ErrorCode::TooLarge,
            detail: format!("{} bytes, at most {MAX_CLIENT_MESSAGE_BYTES}", bytes.len()),
        });
    }
    let tag = read_tag(bytes)?;
    if OP_TAGS.contains(&tag.as_ref()) {
        let s: Submit = serde_json::from_slice(bytes).map_err(DecodeError::json)?;
        return Ok(ClientMessage::Edit {
            op: s.op,
            edit: s.edit,
        });
    }
    if !matches!(
        tag.as_ref(),
        "hello" | "ping" | "play" | "stop" | "ack" | "cue" | "song_mode" | "fill"
    ) {
        return Err(DecodeError {
            code: ErrorCode::UnknownType,
            detail: format!("type {tag:?}"),
        });
    }
    Ok(
        match serde_json::from_slice(bytes).map_err(DecodeError::json)? {
            ClientControl::Hello { proto, name } => {
                if name.len() > NAME_MAX_BYTES || name.chars().any(char::is_control) {
                    return Err(DecodeError::invalid(OpError::InvalidName));
                }
                ClientMessage::Hello { proto, name }
            }
            ClientControl::Ping { c } => {
                if !c.is_finite() {
                    return Err(DecodeError::malformed("ping time is not finite"));
                }
                ClientMessage::Ping { c }
            }
            ClientControl::Play => ClientMessage::Play,
            ClientControl::Stop => ClientMessage::Stop,
            ClientControl::Ack { b } => ClientMessage::Ack { b },
            ClientControl::Cue { p } => ClientMessage::Cue { p },
            ClientControl::SongMode { on } => ClientMessage::SongMode { on },
            ClientControl::Fill { on } => ClientMessage::Fill { on },
        },
    )
}

/// Decodes a server message. Never panics.
pub fn decode_server(bytes: &[u8]) -> Result<ServerMessage, DecodeError> {
    let tag = read_tag(bytes)?;
    if OP_TAGS.contains(&tag.as_ref()) {
        let b: Broadcast = serde_json::from_slice(bytes).map_err(DecodeError::json)?;
        return Ok(ServerMessage::Applied(b));
    }
    let control: ServerControl = serde_json::from_slice(bytes).map_err(|e| {
        if matches!(
            tag.as_ref(),
            "snapshot" | "error" | "join" | "leave" | "pong" | "timeline" | "sample_added"
        ) {
            DecodeError::json(e)
        } else {
            DecodeError {
                code: ErrorCode::UnknownType,
                detail: format!("type {tag:?}"),
            }
        }
    })?;
    Ok(match control {
        ServerControl::Snapshot(s) => ServerMessage::Snapshot(s),
        ServerControl::Error(e) => ServerMessage::Error(e),
        ServerControl::Join { player } => ServerMessage::Join { player },
        ServerControl::Leave { id } => ServerMessage::Leave { id },
        ServerControl::Pong { c, s } => ServerMessage::Pong { c, s },
        ServerControl::Timeline(t) => ServerMessage::Timeline(t),
        ServerControl::SampleAdded { id, name, url, by } => {
            ServerMessage::SampleAdded { id, name, url, by }
        }
    })
}

fn to_json<T: Serialize>(value: &T) -> String {
    // Serializing these types cannot fail: every map key is a string and floats are finite
    // (non-finite floats serialize as null, which the decoder then refuses).
    serde_json::to_string(value).unwrap_or_default()
}

impl ClientMessage {
    pub fn encode(&self) -> String {
        match self.clone() {
            ClientMessage::Hello { proto, name } => to_json(&ClientControl::Hello { proto, name }),
            ClientMessage::Edit { op, edit } => to_json(&Submit { edit, op }),
            ClientMessage::Ping { c } => to_json(&ClientControl::Ping { c }),
            ClientMessage::Play => to_json(&ClientControl::Play),
            ClientMessage::Stop => to_json(&ClientControl::Stop),
            ClientMessage::Ack { b } => to_json(&ClientControl::Ack { b }),
            ClientMessage::Cue { p } => to_json(&ClientControl::Cue { p }),
            ClientMessage::SongMode { on } => to_json(&ClientControl::SongMode { on }),
            ClientMessage::Fill { on } => to_json(&ClientControl::Fill { on }),
        }
    }
}

impl ServerMessage {
    pub fn encode(&self) -> String {
        let control = match self.clone() {
            ServerMessage::Applied(b) => return to_json(&b),
            ServerMessage::Snapshot(s) => ServerControl::Snapshot(s),
            ServerMessage::Error(e) => ServerControl::Error(e),
            ServerMessage::Join { player } => ServerControl::Join { player },
            ServerMessage::Leave { id } => ServerControl::Leave { id },
            ServerMessage::Pong { c, s } => ServerControl::Pong { c, s },
            ServerMessage::Timeline(t) => ServerControl::Timeline(t),
            ServerMessage::SampleAdded { id, name, url, by } => {
                ServerControl::SampleAdded { id, name, url, by }
            }
        };
        to_json(&control)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Track, TrackId};

    fn code_of(text: &str) -> ErrorCode {
        decode_client(text.as_bytes()).unwrap_err().code
    }

    #[test]
    fn values_that_fail_validation_keep_their_specific_code() {
        assert_eq!(
            code_of(r#"{"t":"inst","tr":"kick","v":"kazoo","op":1}"#),
            ErrorCode::UnknownInstrument
        );
        assert_eq!(
            code_of(r#"{"t":"step","tr":"KICK","s":0,"on":true,"op":2}"#),
            ErrorCode::InvalidId
        );
        assert_eq!(
            code_of(r#"{"t":"pattern","tr":"kick","len":16,"steps":{"on":"zz"},"op":3}"#),
            ErrorCode::InvalidPattern
        );
        let track = Track::new(
            "bass".parse::<TrackId>().unwrap(),
            "B",
            "kick".parse().unwrap(),
        );
        let add = ClientMessage::Edit {
            op: 4,
            edit: Op::AddTrack {
                track: Box::new(track),
                index: None,
            },
        }
        .encode();
        let long = add.replace(r#""B""#, &format!("{:?}", "n".repeat(NAME_MAX_BYTES + 1)));
        assert_ne!(add, long);
        assert_eq!(code_of(&long), ErrorCode::InvalidName);
        let hello = format!(
            r#"{{"t":"hello","proto":1,"name":"{}"}}"#,
            "n".repeat(NAME_MAX_BYTES + 1)
        );
        assert_eq!(code_of(&hello), ErrorCode::InvalidName);
        // The detail is for people: no bracketed code left in it.
        let e = decode_client(br#"{"t":"step","tr":"KICK","s":0,"on":true,"op":2}"#).unwrap_err();
        assert!(e.detail.starts_with("malformed id"), "{}", e.detail);
        // serde's own refusals stay `malformed`, whatever text the sender put in them.
        assert_eq!(
            code_of(r#"{"t":"step","tr":"kick","s":"[invalid_id] x","on":true,"op":2}"#),
            ErrorCode::Malformed
        );
        assert_eq!(
            code_of(r#"{"t":"unlock","tr":"kick","s":0,"k":"[invalid_id] x","op":2}"#),
            ErrorCode::Malformed
        );
    }
}
