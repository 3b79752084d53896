//! Typed errors of the sync companion, layered like rumqttc's: the client state machine's
//! [`StateError`] (why it dropped a connection) inside the [`ConnectionError`] of the event
//! loop, and a [`TransferError`] for shared samples.

use std::sync::Arc;

pub use keyboardia_core::client::StateError;
use tokio_tungstenite::tungstenite;

use crate::rest::RestError;
use keyboardia_core::audio::AudioError;

/// Why the connection to the room ended (or never started). Cheap to clone: it is reported
/// to the embedder in [`crate::ConnectionState::Offline`].
#[derive(Clone, Debug, thiserror::Error)]
pub enum ConnectionError {
    /// The client state machine dropped the connection.
    #[error(transparent)]
    State(#[from] StateError),
    /// The WebSocket failed (connect, read or write).
    #[error(transparent)]
    Socket(Arc<tungstenite::Error>),
    /// The server closed the socket with a close frame.
    #[error("closed by server: {code} {reason}")]
    ClosedByServer {
        /// The WebSocket close code.
        code: u16,
        /// The server's words.
        reason: String,
    },
    /// The server closed the socket with an empty close frame.
    #[error("closed by server")]
    ClosedByServerWithoutReason,
    /// The stream ended without a close frame.
    #[error("connection closed")]
    Closed,
    /// The server has no such session (it answered the socket upgrade with 404): the event
    /// loop stops trying ([`crate::ConnectionState::Stopped`]).
    #[error("the server has no session {session}")]
    UnknownSession {
        /// The session asked for.
        session: keyboardia_core::SessionId,
    },
    /// The sync thread could not start its runtime: it never connects.
    #[error("cannot start the sync runtime: {0}")]
    Runtime(Arc<std::io::Error>),
}

impl ConnectionError {
    /// Whether this is the server's 404 to the socket upgrade: the session does not exist.
    pub fn is_not_found(&self) -> bool {
        matches!(
            self,
            ConnectionError::Socket(e) if matches!(&**e, tungstenite::Error::Http(r) if r.status() == 404)
        )
    }
}

impl From<tungstenite::Error> for ConnectionError {
    fn from(e: tungstenite::Error) -> Self {
        ConnectionError::Socket(Arc::new(e))
    }
}

/// Why a shared sample did not get through (this attempt).
#[derive(Clone, Debug, thiserror::Error)]
pub enum TransferError {
    /// The REST call failed or was refused.
    #[error(transparent)]
    Rest(Arc<RestError>),
    /// The downloaded file is not a sample this build can play.
    #[error(transparent)]
    Unplayable(#[from] AudioError),
    /// A track plays a sample the server does not have yet (its upload has not ended).
    #[error("not on the server yet: waiting for the player who shares it")]
    NotOnServerYet,
}

impl From<RestError> for TransferError {
    fn from(e: RestError) -> Self {
        TransferError::Rest(Arc::new(e))
    }
}
