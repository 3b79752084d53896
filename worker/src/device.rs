//! The device authorization grant's rules (RFC 8628), as pure functions over a stored device
//! code: what a poll of the token endpoint answers, and the user codes people type.

use keyboardia_core::oauth::OAuthError;

/// Seconds a device code lives unless `DEVICE_CODE_TTL_S` says otherwise.
pub const DEVICE_CODE_TTL_S: u64 = 600;
/// Seconds between polls the server asks for at first (RFC 8628 §3.2: 5 by default).
pub const POLL_INTERVAL_S: u64 = 5;
/// What a `slow_down` adds to the interval (RFC 8628 §3.5).
pub const SLOW_DOWN_STEP_S: u64 = 5;
/// The alphabet of user codes: consonants only (RFC 8628 §6.1: no vowels, so no words; no
/// look-alikes), 20 letters.
pub const USER_CODE_ALPHABET: &[u8; 20] = b"BCDFGHJKLMNPQRSTVWXZ";
/// Letters in a user code (shown as two groups of four): 20^8 ≈ 2^34.6 codes.
pub const USER_CODE_LEN: usize = 8;

/// Where a device code stands.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Status {
    /// Waiting for the user.
    Pending,
    /// The user approved; tokens not yet issued.
    Approved { user_id: String },
    /// The user denied.
    Denied,
    /// Tokens were issued: the code is spent.
    Spent,
}

impl Status {
    /// The stored form.
    pub fn as_str(&self) -> &'static str {
        match self {
            Status::Pending => "pending",
            Status::Approved { .. } => "approved",
            Status::Denied => "denied",
            Status::Spent => "spent",
        }
    }

    /// From the stored form (and the approving user, for `approved`).
    pub fn from_stored(status: &str, user_id: Option<String>) -> Option<Status> {
        Some(match (status, user_id) {
            ("pending", _) => Status::Pending,
            ("approved", Some(user_id)) => Status::Approved { user_id },
            ("denied", _) => Status::Denied,
            ("spent", _) => Status::Spent,
            _ => return None,
        })
    }
}

/// A stored device code, as the poll sees it.
#[derive(Clone, Debug, PartialEq)]
pub struct DeviceCode {
    /// Where it stands.
    pub status: Status,
    /// The client it was issued to; a poll from another client is refused.
    pub client_id: String,
    /// Expiry, ms since the Unix epoch.
    pub expires_ms: f64,
    /// The interval the client must keep between polls (grows on `slow_down`).
    pub interval_s: u64,
    /// When it was last polled (ms since the Unix epoch), if ever.
    pub last_poll_ms: Option<f64>,
}

/// What a poll answers, and how the stored code changes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Poll {
    /// Refuse with this error. `store_interval_s`: the new interval to store (on `slow_down`).
    Refuse {
        error: OAuthError,
        store_interval_s: Option<u64>,
    },
    /// Issue tokens to this user and mark the code spent.
    Issue { user_id: String },
}

/// A poll of `code` by `client_id` at `now_ms`. Every poll is recorded as the last one.
pub fn poll(code: &DeviceCode, client_id: &str, now_ms: f64) -> Poll {
    let refuse = |error| Poll::Refuse {
        error,
        store_interval_s: None,
    };
    if code.client_id != client_id {
        return refuse(OAuthError::InvalidClient);
    }
    if matches!(code.status, Status::Spent) {
        return refuse(OAuthError::InvalidGrant);
    }
    if now_ms >= code.expires_ms {
        return refuse(OAuthError::ExpiredToken);
    }
    match &code.status {
        Status::Denied => refuse(OAuthError::AccessDenied),
        Status::Approved { user_id } => Poll::Issue {
            user_id: user_id.clone(),
        },
        Status::Spent => refuse(OAuthError::InvalidGrant),
        Status::Pending => {
            // A little slack for a client that schedules exactly `interval` apart.
            let too_soon = code
                .last_poll_ms
                .is_some_and(|last| now_ms - last < code.interval_s as f64 * 1000.0 - 250.0);
            if too_soon {
                Poll::Refuse {
                    error: OAuthError::SlowDown,
                    store_interval_s: Some(code.interval_s + SLOW_DOWN_STEP_S),
                }
            } else {
                refuse(OAuthError::AuthorizationPending)
            }
        }
    }
}

/// A user code from `USER_CODE_LEN` random bytes the caller draws (stored and compared in the
/// canonical form, without the dash).
pub fn user_code_from_random(bytes: [u8; USER_CODE_LEN]) -> String {
    bytes
        .iter()
        // 256 = 12·20 + 16: the first 240 values are uniform; the small bias of the rest is
        // harmless for a code that lives minutes and is rate-limited.
        .map(|b| USER_CODE_ALPHABET[(*b as usize) % USER_CODE_ALPHABET.len()] as char)
        .collect()
}

/// The code as shown: `BCDF-GHJK`.
pub fn display_user_code(code: &str) -> String {
    if code.len() == USER_CODE_LEN {
        format!("{}-{}", &code[..4], &code[4..])
    } else {
        code.to_owned()
    }
}

/// What a person typed, in canonical form (upper case, no dashes or spaces), if it can be a
/// user code.
pub fn normalize_user_code(typed: &str) -> Option<String> {
    let code: String = typed
        .chars()
        .filter(|c| !matches!(c, '-' | ' '))
        .map(|c| c.to_ascii_uppercase())
        .collect();
    (code.len() == USER_CODE_LEN && code.bytes().all(|b| USER_CODE_ALPHABET.contains(&b)))
        .then_some(code)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code(status: Status, last_poll_ms: Option<f64>) -> DeviceCode {
        DeviceCode {
            status,
            client_id: "plugin".into(),
            expires_ms: 100_000.0,
            interval_s: 5,
            last_poll_ms,
        }
    }

    fn refused(error: OAuthError) -> Poll {
        Poll::Refuse {
            error,
            store_interval_s: None,
        }
    }

    #[test]
    fn polls_answer_as_the_rfc_says() {
        let pending = code(Status::Pending, None);
        assert_eq!(
            poll(&pending, "plugin", 0.0),
            refused(OAuthError::AuthorizationPending)
        );
        let polled = code(Status::Pending, Some(10_000.0));
        assert_eq!(
            poll(&polled, "plugin", 12_000.0),
            Poll::Refuse {
                error: OAuthError::SlowDown,
                store_interval_s: Some(10)
            }
        );
        assert_eq!(
            poll(&polled, "plugin", 15_000.0),
            refused(OAuthError::AuthorizationPending)
        );
        assert_eq!(
            poll(&pending, "other", 0.0),
            refused(OAuthError::InvalidClient)
        );
        assert_eq!(
            poll(&pending, "plugin", 100_000.0),
            refused(OAuthError::ExpiredToken)
        );
        let denied = code(Status::Denied, None);
        assert_eq!(
            poll(&denied, "plugin", 0.0),
            refused(OAuthError::AccessDenied)
        );
        let approved = code(
            Status::Approved {
                user_id: "u_1".into(),
            },
            Some(0.0),
        );
        // An approved code issues at once, however soon the poll.
        assert_eq!(
            poll(&approved, "plugin", 1.0),
            Poll::Issue {
                user_id: "u_1".into()
            }
        );
        assert_eq!(
            poll(&code(Status::Spent, None), "plugin", 0.0),
            refused(OAuthError::InvalidGrant)
        );
    }

    #[test]
    fn user_codes_are_typed_forgivingly() {
        let c = user_code_from_random([0, 1, 2, 3, 4, 5, 6, 255]);
        assert_eq!(c.len(), USER_CODE_LEN);
        let shown = display_user_code(&c);
        assert_eq!(shown.len(), USER_CODE_LEN + 1);
        assert_eq!(normalize_user_code(&shown.to_lowercase()), Some(c.clone()));
        assert_eq!(normalize_user_code(" bcdf ghjk "), Some("BCDFGHJK".into()));
        assert_eq!(normalize_user_code("AEIOUAEI"), None);
        assert_eq!(normalize_user_code("BCDF"), None);
        for s in ["pending", "denied", "spent"] {
            assert_eq!(Status::from_stored(s, None).unwrap().as_str(), s);
        }
        assert_eq!(Status::from_stored("approved", None), None);
    }
}
