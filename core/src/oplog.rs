//! The op log's entries: how a host may persist a room's edits one small row at a time and
//! rebuild the session from the last whole document and the edits logged after it.
//!
//! A room's `RoomEvent::Persist` that carries a [`LoggedEdit`] is exactly one edit: a
//! host appends it (its `seq`, `text` and `at_ms`) instead of rewriting the document, folds
//! the log into the document now and then, and on load replays the entries after the
//! document's sequence number in order with [`LoggedEdit::replay`].

use std::sync::Arc;

use crate::error::{ErrorCode, OpError};
use crate::model::Session;
use crate::ops::Change;
use crate::protocol::{decode_server, DecodeError, ServerMessage};

/// One accepted edit as a host may log it: replaying the logged edits in order over the
/// document that precedes them gives the session the room has ([`LoggedEdit::replay`]).
#[derive(Clone, Debug, PartialEq)]
pub struct LoggedEdit {
    /// The edit's broadcast ([`ServerMessage::Applied`], `seq` included): the same allocation
    /// as its transmits, so logging it costs no serialization.
    pub text: Arc<str>,
    /// The server time it was applied at (ms since the Unix epoch): the session's `updated_at`.
    pub at_ms: u64,
}

/// Why a logged edit could not be replayed (a log that does not belong to the document).
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum ReplayError {
    /// The text is not an edit's broadcast.
    #[error("not a logged edit: {0}")]
    Decode(#[from] DecodeError),
    /// The edit does not follow the session's sequence number.
    #[error("logged edit {got} does not follow {seq}")]
    OutOfOrder {
        /// The session's sequence number.
        seq: u64,
        /// The entry's.
        got: u64,
    },
    /// The edit no longer applies.
    #[error("logged edit {seq} does not apply: {error}")]
    Refused {
        /// The entry's sequence number.
        seq: u64,
        /// Why the session refused it.
        error: OpError,
    },
}

impl LoggedEdit {
    /// Applies the logged edit `text` (applied at `at_ms`) to `session`, which includes every
    /// op up to `seq`; returns the edit's sequence number (`seq + 1`). The room checked the
    /// sender's rights when it accepted the edit, so they are not checked again.
    pub fn replay(
        session: &mut Session,
        seq: u64,
        text: &str,
        at_ms: u64,
    ) -> Result<u64, ReplayError> {
        let ServerMessage::Applied(b) = decode_server(text.as_bytes())? else {
            return Err(ReplayError::Decode(DecodeError {
                code: ErrorCode::Malformed,
                detail: "not an edit".into(),
            }));
        };
        if b.seq != seq + 1 {
            return Err(ReplayError::OutOfOrder { seq, got: b.seq });
        }
        let applied = session
            .state
            .apply(&b.edit)
            .map_err(|error| ReplayError::Refused { seq: b.seq, error })?;
        if applied.change != Change::Nothing {
            session.updated_at = session.updated_at.max(at_ms);
        }
        Ok(b.seq)
    }
}
