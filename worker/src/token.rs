//! Signed tokens: short-lived access tokens, the live socket's tickets and the web page's
//! session cookie, all `<kind>.<claims>.<mac>` with the claims as base64url JSON and the MAC an
//! HMAC-SHA-256 (the `hmac` crate, pure Rust, builds for wasm32) over `<kind>.<claims>` with the
//! Worker's secret (`AUTH_SECRET`, a Worker secret; `.dev.vars` locally). The kind is inside the
//! MAC, so a ticket never passes as an access token. Verification checks the MAC in constant
//! time (`Mac::verify_slice`) before it parses anything, then the expiry.
//!
//! Revocation is not in the token: each one names its grant (`gid`), which the Worker looks up
//! (signing out revokes the grant, and with it every token of the grant).

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

type HmacSha256 = Hmac<Sha256>;

/// Shortest signing secret accepted (bytes).
pub const MIN_SECRET_BYTES: usize = 32;
/// Longest token accepted for verification (anything longer is refused unread).
pub const MAX_TOKEN_BYTES: usize = 1024;
/// How long an access token is valid (seconds) unless `ACCESS_TOKEN_TTL_S` says otherwise.
pub const ACCESS_TOKEN_TTL_S: u64 = 15 * 60;
/// How long a live socket's ticket is valid (seconds).
pub const TICKET_TTL_S: u64 = 60;
/// How long the web page's sign-in cookie is valid (seconds).
pub const WEB_SESSION_TTL_S: u64 = 7 * 24 * 3600;

/// The grant an owner key's socket ticket names: keys have no grant in D1 (and cannot be
/// revoked), so a ticket with this grant and an owner id (not a user id) is not looked up.
pub const OWNER_KEY_GRANT: &str = "owner-key";

/// What a token is for (its first segment).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// `Authorization: Bearer` on the API.
    Access,
    /// `?ticket=` on one session's live socket.
    Ticket,
    /// The web page's sign-in cookie.
    WebSession,
}

impl Kind {
    const fn prefix(self) -> &'static str {
        match self {
            Kind::Access => "kbat",
            Kind::Ticket => "kbtk",
            Kind::WebSession => "kbws",
        }
    }

    /// Whether `token` claims to be of this kind (before any verification).
    pub fn looks_like(self, token: &str) -> bool {
        token
            .strip_prefix(self.prefix())
            .is_some_and(|r| r.starts_with('.'))
    }
}

/// What a token says.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// The user id.
    pub sub: String,
    /// The grant the token belongs to (revoking it revokes the token).
    pub gid: String,
    /// The session a ticket is for (tickets only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ses: Option<String>,
    /// Expiry, ms since the Unix epoch.
    pub exp_ms: u64,
}

/// Why a token was refused. Deliberately coarse: the reply never says more than "invalid".
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("malformed token")]
    Malformed,
    #[error("bad signature")]
    BadSignature,
    #[error("token expired")]
    Expired,
    #[error("the signing secret is missing or shorter than 32 bytes")]
    NoSecret,
}

fn mac(secret: &[u8], signed: &str) -> Result<HmacSha256, TokenError> {
    if secret.len() < MIN_SECRET_BYTES {
        return Err(TokenError::NoSecret);
    }
    let mut m = HmacSha256::new_from_slice(secret).map_err(|_| TokenError::NoSecret)?;
    m.update(signed.as_bytes());
    Ok(m)
}

/// Signs `claims` as a token of `kind`.
pub fn sign(secret: &[u8], kind: Kind, claims: &Claims) -> Result<String, TokenError> {
    let json = serde_json::to_vec(claims).map_err(|_| TokenError::Malformed)?;
    let signed = format!("{}.{}", kind.prefix(), URL_SAFE_NO_PAD.encode(json));
    let tag = mac(secret, &signed)?.finalize().into_bytes();
    Ok(format!("{signed}.{}", URL_SAFE_NO_PAD.encode(tag)))
}

/// Verifies a token of `kind` at `now_ms` and returns its claims.
pub fn verify(secret: &[u8], kind: Kind, token: &str, now_ms: u64) -> Result<Claims, TokenError> {
    if token.len() > MAX_TOKEN_BYTES {
        return Err(TokenError::Malformed);
    }
    let (signed, tag) = token.rsplit_once('.').ok_or(TokenError::Malformed)?;
    let (prefix, body) = signed.split_once('.').ok_or(TokenError::Malformed)?;
    if prefix != kind.prefix() {
        return Err(TokenError::Malformed);
    }
    let tag = URL_SAFE_NO_PAD
        .decode(tag)
        .map_err(|_| TokenError::Malformed)?;
    mac(secret, signed)?
        .verify_slice(&tag)
        .map_err(|_| TokenError::BadSignature)?;
    let json = URL_SAFE_NO_PAD
        .decode(body)
        .map_err(|_| TokenError::Malformed)?;
    let claims: Claims = serde_json::from_slice(&json).map_err(|_| TokenError::Malformed)?;
    if claims.exp_ms <= now_ms {
        return Err(TokenError::Expired);
    }
    Ok(claims)
}

/// The stored form of a random secret (refresh tokens, device codes, magic links): lowercase
/// hex SHA-256. Only hashes are stored, so a leaked database signs nobody in.
pub fn hash_secret(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// A new random secret from 32 bytes the caller draws: 64 hex digits.
pub fn secret_from_random(bytes: [u8; 32]) -> String {
    hex::encode(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &[u8] = b"0123456789abcdef0123456789abcdef";

    fn claims(exp_ms: u64) -> Claims {
        Claims {
            sub: "u_00".into(),
            gid: "g1".into(),
            ses: None,
            exp_ms,
        }
    }

    #[test]
    fn signed_tokens_verify_until_they_expire() {
        let t = sign(SECRET, Kind::Access, &claims(2_000)).unwrap();
        assert!(Kind::Access.looks_like(&t));
        assert!(!Kind::Ticket.looks_like(&t));
        assert_eq!(verify(SECRET, Kind::Access, &t, 1_999), Ok(claims(2_000)));
        assert_eq!(
            verify(SECRET, Kind::Access, &t, 2_000),
            Err(TokenError::Expired)
        );
        // Another kind, another secret, a changed claim: refused.
        assert_eq!(
            verify(SECRET, Kind::Ticket, &t, 0),
            Err(TokenError::Malformed)
        );
        let other = b"fedcba9876543210fedcba9876543210";
        assert_eq!(
            verify(other, Kind::Access, &t, 0),
            Err(TokenError::BadSignature)
        );
        let (signed, tag) = t.rsplit_once('.').unwrap();
        let forged_body = URL_SAFE_NO_PAD.encode(
            serde_json::to_vec(&Claims {
                sub: "u_01".into(),
                ..claims(2_000)
            })
            .unwrap(),
        );
        let forged = format!("kbat.{forged_body}.{tag}");
        assert_eq!(
            verify(SECRET, Kind::Access, &forged, 0),
            Err(TokenError::BadSignature)
        );
        let ticket_prefixed = format!("kbtk.{}.{tag}", signed.split_once('.').unwrap().1);
        assert_eq!(
            verify(SECRET, Kind::Ticket, &ticket_prefixed, 0),
            Err(TokenError::BadSignature)
        );
        for junk in ["", "kbat", "kbat..", "kbat.x.y", &"a".repeat(2000)] {
            assert!(verify(SECRET, Kind::Access, junk, 0).is_err(), "{junk}");
        }
        assert_eq!(
            sign(b"short", Kind::Access, &claims(1)),
            Err(TokenError::NoSecret)
        );
    }

    #[test]
    fn secrets_are_stored_hashed() {
        let s = secret_from_random([9; 32]);
        assert_eq!(s.len(), 64);
        assert_ne!(hash_secret(&s), s);
        assert_eq!(hash_secret(&s).len(), 64);
    }
}
