//! The op log's entries: how a host may persist a room's edits one small row at a time and
//! rebuild the session from the last whole document and the edits logged after it.
//!
//! A [`crate::room::RoomEvent::Persist`] that carries a [`LoggedEdit`] is exactly one edit: a
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::Timeline;
    use crate::model::{SessionId, SessionState, Track};
    use crate::ops::Op;
    use crate::protocol::{ClientMessage, PROTOCOL_VERSION};
    use crate::room::{Room, RoomConfig, RoomEvent};

    fn session() -> Session {
        let mut state = SessionState::default();
        for t in 0..2 {
            let id = format!("t{t}").parse().unwrap();
            state
                .tracks
                .push(Track::new(id, format!("T{t}"), "kick".parse().unwrap()));
        }
        Session::new(SessionId::from_random_bytes([7; 16]), 5, state)
    }

    fn edit(room: &mut Room, op: u32, edit: Op, now: f64) {
        let text = ClientMessage::Edit { op, edit }.encode();
        room.handle_message(1, text.as_bytes(), now);
    }

    /// The logged edits, replayed over the document the room started from, give the room's
    /// session; refused edits log nothing; a whole-document change logs no edit.
    #[test]
    fn replaying_the_logged_edits_gives_the_rooms_session() {
        let start = session();
        let mut room = Room::new(start.clone(), 40, Timeline::new(120.0, 0.0), RoomConfig::default());
        room.handle_connect(1, None, 0.0);
        let hello = ClientMessage::Hello {
            proto: PROTOCOL_VERSION,
            name: "a".into(),
        };
        room.handle_message(1, hello.encode().as_bytes(), 0.0);
        let t0 = "t0".parse().unwrap();
        edit(&mut room, 1, Op::SetStep { tr: t0, s: 3, on: true }, 100.0);
        edit(&mut room, 2, Op::SetTempo { v: 97.0 }, 200.0);
        edit(&mut room, 3, Op::SetStep { tr: "zz".parse().unwrap(), s: 0, on: true }, 300.0);
        edit(&mut room, 4, Op::SetSwing { v: 20.0 }, 400.0);
        edit(&mut room, 5, Op::SetStep { tr: t0, s: 3, on: true }, 500.0);
        let mut log = Vec::new();
        while let Some(e) = room.poll_event() {
            if let RoomEvent::Persist { seq, edit } = e {
                let edit = edit.expect("an edit is logged");
                log.push((seq, edit));
            }
        }
        assert_eq!(log.iter().map(|(s, _)| *s).collect::<Vec<_>>(), [41, 42, 43, 44]);
        let mut s = start.clone();
        let mut seq = 40;
        for (_, e) in &log {
            seq = LoggedEdit::replay(&mut s, seq, &e.text, e.at_ms).unwrap();
        }
        assert_eq!((&s, seq), (room.session(), room.seq()));
        assert_eq!(s.updated_at, 400, "the last edit changed nothing");

        // Out of order, twice, or not an edit: typed errors, the session unchanged.
        let before = s.clone();
        let (_, first) = &log[0];
        assert_eq!(
            LoggedEdit::replay(&mut s, seq, &first.text, 0),
            Err(ReplayError::OutOfOrder { seq, got: 41 })
        );
        assert!(matches!(
            LoggedEdit::replay(&mut s, seq, r#"{"t":"leave","id":1}"#, 0),
            Err(ReplayError::Decode(_))
        ));
        assert!(matches!(
            LoggedEdit::replay(&mut s, seq, "{", 0),
            Err(ReplayError::Decode(_))
        ));
        assert_eq!(s, before);

        // A save is a whole-document change.
        room.replace_state(start.state.clone(), 600.0);
        let persisted: Vec<_> = std::iter::from_fn(|| room.poll_event())
            .filter_map(|e| match e {
                RoomEvent::Persist { seq, edit } => Some((seq, edit.is_none())),
                _ => None,
            })
            .collect();
        assert_eq!(persisted, [(45, true)]);
    }
}
