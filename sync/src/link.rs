//! Servers and invite links.

use keyboardia_core::api::{Route, API_PREFIX};
use keyboardia_core::{OpError, SessionId};

/// The local server `scripts/server.sh` starts (`wrangler dev`).
pub const DEFAULT_SERVER: &str = "http://127.0.0.1:8787";

/// A Keyboardia server's base URL (`http://host:port` or `https://host`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Server {
    base: String,
}

impl Default for Server {
    fn default() -> Self {
        Self {
            base: DEFAULT_SERVER.into(),
        }
    }
}

impl Server {
    /// Accepts `http://…` or `https://…`, without a path.
    pub fn new(base: &str) -> Result<Self, OpError> {
        let base = base.trim().trim_end_matches('/');
        let rest = base
            .strip_prefix("http://")
            .or_else(|| base.strip_prefix("https://"));
        match rest {
            Some(host)
                if !host.is_empty()
                    && !host.contains('/')
                    && !host.contains(char::is_whitespace) =>
            {
                Ok(Self { base: base.into() })
            }
            _ => Err(OpError::InvalidId),
        }
    }

    pub fn base(&self) -> &str {
        &self.base
    }

    /// `{base}/api/{path}`
    pub fn api(&self, path: &str) -> String {
        format!("{}{API_PREFIX}/{path}", self.base)
    }

    /// The live socket of a session: `ws(s)://host/api/sessions/{id}/ws`.
    pub fn socket(&self, id: SessionId) -> String {
        let ws = if let Some(h) = self.base.strip_prefix("https://") {
            format!("wss://{h}")
        } else {
            format!("ws://{}", self.base.trim_start_matches("http://"))
        };
        format!("{ws}{}", Route::LiveSocket(id).path())
    }

    /// The link a player shares: `{base}/s/{id}` (the seed's URL scheme).
    pub fn invite_link(&self, id: SessionId) -> String {
        format!("{}/s/{id}", self.base)
    }
}

/// Reads what a player pasted: an invite link (`…/s/{id}`, optionally `/fork`), or a bare id.
/// Returns the server the link names (if any) and the session id.
pub fn parse_invite(text: &str) -> Result<(Option<Server>, SessionId), OpError> {
    let text = text.trim();
    if let Ok(id) = text.parse::<SessionId>() {
        return Ok((None, id));
    }
    let (base, rest) = text.split_once("/s/").ok_or(OpError::InvalidId)?;
    let id = rest.trim_end_matches('/').trim_end_matches("/fork");
    Ok((Some(Server::new(base)?), id.parse()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_round_trip() {
        let id: SessionId = "6f2d8bcd-0b14-46ae-9f2d-8bcd0b1476ae".parse().unwrap();
        let s = Server::new("https://keyboardia.example/").unwrap();
        assert_eq!(
            s.socket(id),
            format!("wss://keyboardia.example/api/sessions/{id}/ws")
        );
        assert_eq!(
            parse_invite(&s.invite_link(id)).unwrap(),
            (Some(s.clone()), id)
        );
        assert_eq!(parse_invite(&format!(" {id} ")).unwrap(), (None, id));
        let local = Server::default();
        assert_eq!(
            local.socket(id),
            format!("ws://127.0.0.1:8787/api/sessions/{id}/ws")
        );
        assert_eq!(
            parse_invite(&format!("{}/s/{id}/fork", local.base()))
                .unwrap()
                .1,
            id
        );
        for bad in [
            "",
            "hello",
            "ftp://x/s/6f2d8bcd-0b14-46ae-9f2d-8bcd0b1476ae",
            "http://x/s/123",
        ] {
            assert!(parse_invite(bad).is_err(), "{bad}");
        }
        assert!(Server::new("http://a b").is_err());
    }
}
