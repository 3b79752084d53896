//! The sign-in wire types: the OAuth 2.0 device authorization grant (RFC 8628) the plugin and
//! the standalone app use, the token endpoint's replies and errors (RFC 6749 §5), the live
//! socket's ticket, and the account a token signs in. Shared by the Worker and its clients.
//!
//! Field names are the RFCs' (`snake_case`), not the rest of the API's `camelCase`.

use serde::{Deserialize, Serialize};

/// `grant_type` of a device-code poll (RFC 8628 §3.4).
pub const DEVICE_CODE_GRANT_TYPE: &str = "urn:ietf:params:oauth:grant-type:device_code";
/// `grant_type` of a refresh (RFC 6749 §6).
pub const REFRESH_TOKEN_GRANT_TYPE: &str = "refresh_token";
/// `token_type` of every access token issued.
pub const BEARER: &str = "Bearer";
/// Longest `client_id` accepted (a name the app gives itself, shown on the approval page).
pub const CLIENT_ID_MAX_BYTES: usize = 64;
/// The path of the web page where a user signs in and approves a device
/// ([`DeviceAuthorization::verification_uri`]).
pub const DEVICE_PAGE_PATH: &str = "/auth/device";
/// The query parameter of [`DEVICE_PAGE_PATH`] carrying the user code
/// ([`DeviceAuthorization::verification_uri_complete`]).
pub const USER_CODE_PARAM: &str = "user_code";

/// Whether `client_id` is acceptable: 1 to [`CLIENT_ID_MAX_BYTES`] of `[A-Za-z0-9._-]`.
pub fn is_valid_client_id(client_id: &str) -> bool {
    !client_id.is_empty()
        && client_id.len() <= CLIENT_ID_MAX_BYTES
        && client_id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

/// The reply to `POST /api/auth/device` (RFC 8628 §3.2).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceAuthorization {
    /// The secret the app polls the token endpoint with; never shown.
    pub device_code: String,
    /// What the user checks on the approval page (`XXXX-XXXX`).
    pub user_code: String,
    /// The page to open.
    pub verification_uri: String,
    /// The page with the user code filled in.
    pub verification_uri_complete: String,
    /// Seconds until both codes expire.
    pub expires_in: u64,
    /// Seconds the app waits between polls.
    pub interval: u64,
}

/// A successful token reply (RFC 6749 §5.1).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenReply {
    /// A short-lived signed token for `Authorization: Bearer`.
    pub access_token: String,
    /// Always [`BEARER`].
    pub token_type: String,
    /// Seconds the access token is valid for.
    pub expires_in: u64,
    /// Long-lived, one use: trade it for new tokens (the old one is then spent); revocable.
    pub refresh_token: String,
}

/// The `error` of a refused token request (RFC 6749 §5.2, RFC 8628 §3.5).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OAuthError {
    /// The user has not approved yet: poll again after the interval.
    AuthorizationPending,
    /// Polled too soon: add 5 s to the interval from now on.
    SlowDown,
    /// The device code expired: start over.
    ExpiredToken,
    /// The user denied the request.
    AccessDenied,
    /// A device code or refresh token that is unknown, spent or revoked.
    InvalidGrant,
    /// A missing or malformed parameter.
    InvalidRequest,
    /// A missing or malformed `client_id`, or not the one the code was issued to.
    InvalidClient,
    /// A `grant_type` this server does not issue.
    UnsupportedGrantType,
}

impl OAuthError {
    /// Whether the app should keep polling (after `interval`, grown by 5 s on [`Self::SlowDown`]).
    pub const fn keep_polling(self) -> bool {
        matches!(
            self,
            OAuthError::AuthorizationPending | OAuthError::SlowDown
        )
    }
}

/// The body of a refused token request: `{"error", "error_description"}`, status 400.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OAuthErrorBody {
    /// The RFC's code.
    pub error: OAuthError,
    /// For people; never parsed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_description: Option<String>,
}

/// A signed-in user, as `GET /api/auth/me` gives it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Account {
    /// The user id (`u_` + 32 hex digits): what a claimed session's `ownerId` holds.
    pub id: String,
    /// The address the user signed in with (shown to this user only, never to others).
    pub email: String,
    /// The name others see (a beat's creator): from the address's local part unless the user
    /// chose one ([`crate::access::display_name_from_email`]). Empty in tokens kept by earlier
    /// builds, until the app asks again.
    #[serde(default)]
    pub name: String,
}

/// The reply to `POST /api/sessions/{id}/ticket`: put `ticket` in the live socket's URL
/// (the `ticket` query parameter) within `expires_in` seconds.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SocketTicket {
    /// Signed, bound to the session and the user, short-lived.
    pub ticket: String,
    /// Seconds it is valid for.
    pub expires_in: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_names_are_the_rfcs() {
        let e = OAuthErrorBody {
            error: OAuthError::AuthorizationPending,
            error_description: None,
        };
        assert_eq!(
            serde_json::to_string(&e).unwrap(),
            r#"{"error":"authorization_pending"}"#
        );
        let e: OAuthErrorBody = serde_json::from_str(r#"{"error":"slow_down"}"#).unwrap();
        assert!(e.error.keep_polling());
        assert!(!OAuthError::ExpiredToken.keep_polling());
        assert!(is_valid_client_id("keyboardia-plugin"));
        assert!(!is_valid_client_id(""));
        assert!(!is_valid_client_id("a b"));
        assert!(!is_valid_client_id(&"a".repeat(65)));
    }
}
