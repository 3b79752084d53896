//! Which session a page address names: `/s/{id}` (a trailing slash, query or fragment is
//! ignored), or which beat: `/b/{id}`. The Worker answers unknown or malformed ids itself; the
//! app still checks.

use keyboardia_core::{BeatId, SessionId};

/// Why the page's address names no session.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RouteError {
    /// The path is not `/s/{id}`.
    #[error("this page opens sessions at /s/{{id}}, not {0}")]
    NotASessionPath(String),
    /// `/s/{id}` with an id that is not a session id.
    #[error("\"{0}\" is not a session id")]
    BadId(String),
}

/// The session of the page at `pathname` (`location.pathname`).
pub fn session_of(pathname: &str) -> Result<SessionId, RouteError> {
    let rest = pathname
        .strip_prefix("/s/")
        .ok_or_else(|| RouteError::NotASessionPath(pathname.to_owned()))?;
    let id = rest.trim_end_matches('/');
    id.parse().map_err(|_| RouteError::BadId(id.to_owned()))
}

/// The beat of the page at `pathname`, when it is a beat page (`/b/{id}`).
pub fn beat_of(pathname: &str) -> Option<Result<BeatId, RouteError>> {
    let id = pathname.strip_prefix("/b/")?.trim_end_matches('/');
    Some(id.parse().map_err(|_| RouteError::BadId(id.to_owned())))
}

/// The WebSocket address of `session`'s room for a page served from `origin`
/// (`http://host:port` or `https://host`).
pub fn socket_url(origin: &str, session: SessionId) -> String {
    let ws = if let Some(rest) = origin.strip_prefix("https://") {
        format!("wss://{rest}")
    } else if let Some(rest) = origin.strip_prefix("http://") {
        format!("ws://{rest}")
    } else {
        origin.to_owned()
    };
    format!("{ws}{}", keyboardia_core::api::socket_path(session))
}

/// The invite link of `session` on `origin`.
pub fn invite_link(origin: &str, session: SessionId) -> String {
    format!("{origin}/s/{session}")
}

/// Reads an invite link or a bare id.
pub fn parse_invite(text: &str) -> Result<SessionId, RouteError> {
    let text = text.trim();
    let id = match text.rfind("/s/") {
        Some(i) => &text[i + 3..],
        None => text,
    };
    let id = id
        .split(['?', '#'])
        .next()
        .unwrap_or("")
        .trim_end_matches('/');
    id.parse().map_err(|_| RouteError::BadId(id.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "0b3b8d2e-7c1a-4f5e-9a6b-1c2d3e4f5a6b";

    #[test]
    fn session_paths() {
        assert_eq!(session_of(&format!("/s/{ID}")).unwrap().to_string(), ID);
        assert_eq!(session_of(&format!("/s/{ID}/")).unwrap().to_string(), ID);
        assert!(matches!(
            session_of("/"),
            Err(RouteError::NotASessionPath(_))
        ));
        assert!(matches!(session_of("/s/nope"), Err(RouteError::BadId(_))));
        assert_eq!(
            beat_of(&format!("/b/{ID}/")).unwrap().unwrap().to_string(),
            ID
        );
        assert!(matches!(
            beat_of("/b/nope"),
            Some(Err(RouteError::BadId(_)))
        ));
        assert_eq!(beat_of(&format!("/s/{ID}")), None);
    }

    #[test]
    fn socket_and_invite_addresses() {
        let id: SessionId = ID.parse().unwrap();
        assert_eq!(
            socket_url("http://127.0.0.1:8787", id),
            format!("ws://127.0.0.1:8787/api/sessions/{ID}/ws")
        );
        assert!(socket_url("https://k.example", id).starts_with("wss://k.example/"));
        let link = invite_link("http://127.0.0.1:8787", id);
        assert_eq!(parse_invite(&link).unwrap(), id);
        assert_eq!(parse_invite(&format!(" {ID} ")).unwrap(), id);
        assert!(parse_invite("http://x/s/bad").is_err());
    }
}
