//! Who may do what to a session: the one rule, decided here and enforced by the Worker (REST) and
//! the live room (WebSocket).
//!
//! A session has an owner (`ownerId`: a signed-in user's id, or the SHA-256 of a one-time owner
//! key for read-only sessions created without an account) and a [`Mode`]:
//!
//! | mode | owner | everyone else |
//! | --- | --- | --- |
//! | [`Mode::Collaborative`] | edits | edits |
//! | [`Mode::Readonly`] | edits | views; may fork |
//!
//! An unowned session may be claimed once by a signed-in user; only the owner changes the mode.
//! Forking is open to everyone. Owner ids are compared in constant time (`subtle`): one of them
//! may be derived from a secret key.

use subtle::ConstantTimeEq;

use crate::error::ErrorCode;
use crate::model::{Mode, Session};

/// Longest user id the server issues or accepts as an owner.
pub const USER_ID_MAX_BYTES: usize = 64;
/// Prefix of the ids of signed-in users (`u_` + 32 hex digits), which tells them apart from the
/// owner ids of owner keys (64 hex digits).
pub const USER_ID_PREFIX: &str = "u_";

/// Longest display name, in bytes (what others see of a user: a beat's creator).
pub const DISPLAY_NAME_MAX_BYTES: usize = 32;

/// The display name a new account gets from its address: the local part before any `+tag`,
/// cut to [`DISPLAY_NAME_MAX_BYTES`] (on a character boundary). The domain is never part of
/// it, so others never see the address; an address with no usable local part gives "someone".
pub fn display_name_from_email(email: &str) -> String {
    let local = email.split('@').next().unwrap_or("");
    let local = local.split('+').next().unwrap_or("");
    let mut name = String::new();
    for c in local.chars().filter(|c| !c.is_control()) {
        if name.len() + c.len_utf8() > DISPLAY_NAME_MAX_BYTES {
            break;
        }
        name.push(c);
    }
    if name.trim().is_empty() {
        "someone".into()
    } else {
        name
    }
}

/// A display name as typed: trimmed, 1 to [`DISPLAY_NAME_MAX_BYTES`] bytes, no control
/// characters and no `@` (a name is never an address).
pub fn clean_display_name(typed: &str) -> Result<String, crate::error::OpError> {
    let name = typed.trim();
    if name.is_empty()
        || name.len() > DISPLAY_NAME_MAX_BYTES
        || name.chars().any(|c| c.is_control() || c == '@')
    {
        return Err(crate::error::OpError::InvalidName);
    }
    Ok(name.to_owned())
}

/// Why an access was refused. The session is unchanged whenever one is returned.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum AccessError {
    /// The request carries no sign-in (or owner key) and needs one.
    #[error("sign in first")]
    SignInRequired,
    /// Only signed-in users (not owner keys) may claim a session.
    #[error("only a signed-in user may claim a session")]
    NotAUser,
    /// The caller is signed in but does not own the session.
    #[error("only the session's owner may do this")]
    NotOwner,
    /// The session already has an owner.
    #[error("this session already has an owner")]
    AlreadyOwned,
    /// The session is read-only and the caller is not its owner.
    #[error("this session is read-only; fork it to edit")]
    ReadOnly,
}

impl AccessError {
    /// The stable code sent on the wire.
    pub const fn code(self) -> ErrorCode {
        match self {
            AccessError::SignInRequired | AccessError::NotAUser => ErrorCode::Unauthorized,
            AccessError::NotOwner => ErrorCode::NotOwner,
            AccessError::AlreadyOwned => ErrorCode::AlreadyOwned,
            AccessError::ReadOnly => ErrorCode::ReadOnly,
        }
    }

    /// The HTTP status of a REST refusal.
    pub const fn http_status(self) -> u16 {
        match self {
            AccessError::SignInRequired | AccessError::NotAUser => 401,
            AccessError::NotOwner | AccessError::ReadOnly => 403,
            AccessError::AlreadyOwned => 409,
        }
    }
}

/// Whether `user` owns `session` (constant-time on the ids).
pub fn is_owner(session: &Session, user: Option<&str>) -> bool {
    match (session.owner_id.as_deref(), user) {
        (Some(owner), Some(user)) => bool::from(owner.as_bytes().ct_eq(user.as_bytes())),
        _ => false,
    }
}

/// Whether `user` names a signed-in account (not an owner key's hash).
pub fn is_user_id(user: &str) -> bool {
    user.len() <= USER_ID_MAX_BYTES
        && user
            .strip_prefix(USER_ID_PREFIX)
            .is_some_and(|rest| !rest.is_empty() && rest.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// May `user` (None when anonymous) edit `session`: REST saves, sample uploads, every live edit,
/// play and stop.
pub fn check_write(session: &Session, user: Option<&str>) -> Result<(), AccessError> {
    match session.mode {
        Mode::Collaborative => Ok(()),
        Mode::Readonly if is_owner(session, user) => Ok(()),
        Mode::Readonly => Err(AccessError::ReadOnly),
    }
}

/// `user` claims the unowned `session`; it stays in its mode.
pub fn claim(session: &mut Session, user: Option<&str>) -> Result<(), AccessError> {
    let user = user.ok_or(AccessError::SignInRequired)?;
    if !is_user_id(user) {
        return Err(AccessError::NotAUser);
    }
    if session.owner_id.is_some() {
        return Err(AccessError::AlreadyOwned);
    }
    session.owner_id = Some(user.to_owned());
    Ok(())
}

/// The owner sets the mode (locks or unlocks the session). Returns whether it changed.
pub fn set_mode(
    session: &mut Session,
    user: Option<&str>,
    mode: Mode,
) -> Result<bool, AccessError> {
    if user.is_none() {
        return Err(AccessError::SignInRequired);
    }
    if !is_owner(session, user) {
        return Err(AccessError::NotOwner);
    }
    let changed = session.mode != mode;
    session.mode = mode;
    Ok(changed)
}

impl Session {
    /// May `user` (None when anonymous) edit this session? ([`check_write`])
    pub fn can_edit(&self, user: Option<&str>) -> bool {
        check_write(self, user).is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{SessionId, SessionState};

    fn session() -> Session {
        let id: SessionId = "0b8a4c1e-6f7d-4e2a-9b3c-5d6e7f8a9b0c".parse().unwrap();
        Session::new(id, 1, SessionState::default())
    }

    const ADA: &str = "u_0123456789abcdef0123456789abcdef";
    const BOB: &str = "u_fedcba9876543210fedcba9876543210";

    #[test]
    fn claim_once_then_lock_by_the_owner_only() {
        let mut s = session();
        assert_eq!(check_write(&s, None), Ok(()));
        assert_eq!(claim(&mut s, None), Err(AccessError::SignInRequired));
        assert_eq!(
            claim(&mut s, Some(&"ab".repeat(32))),
            Err(AccessError::NotAUser)
        );
        assert_eq!(claim(&mut s, Some(ADA)), Ok(()));
        assert_eq!(claim(&mut s, Some(BOB)), Err(AccessError::AlreadyOwned));
        assert_eq!(claim(&mut s, Some(ADA)), Err(AccessError::AlreadyOwned));
        assert_eq!(s.owner_id.as_deref(), Some(ADA));
        // Still collaborative: everyone edits.
        assert_eq!(check_write(&s, Some(BOB)), Ok(()));
        assert_eq!(
            set_mode(&mut s, None, Mode::Readonly),
            Err(AccessError::SignInRequired)
        );
        assert_eq!(
            set_mode(&mut s, Some(BOB), Mode::Readonly),
            Err(AccessError::NotOwner)
        );
        assert_eq!(s.mode, Mode::Collaborative);
        assert_eq!(set_mode(&mut s, Some(ADA), Mode::Readonly), Ok(true));
        assert_eq!(set_mode(&mut s, Some(ADA), Mode::Readonly), Ok(false));
        assert_eq!(check_write(&s, Some(ADA)), Ok(()));
        assert_eq!(check_write(&s, Some(BOB)), Err(AccessError::ReadOnly));
        assert_eq!(check_write(&s, None), Err(AccessError::ReadOnly));
        assert_eq!(AccessError::ReadOnly.code(), ErrorCode::ReadOnly);
        assert_eq!(AccessError::AlreadyOwned.http_status(), 409);
        assert_eq!(AccessError::SignInRequired.http_status(), 401);
        assert_eq!(AccessError::NotOwner.http_status(), 403);
    }

    #[test]
    fn display_names_come_from_the_local_part_only() {
        assert_eq!(display_name_from_email("ada@example.org"), "ada");
        assert_eq!(display_name_from_email("ada+music@example.org"), "ada");
        assert_eq!(display_name_from_email("@example.org"), "someone");
        assert_eq!(display_name_from_email("+x@example.org"), "someone");
        let long = format!("{}@example.org", "é".repeat(40));
        let name = display_name_from_email(&long);
        assert!(
            name.len() <= DISPLAY_NAME_MAX_BYTES && !name.contains('@'),
            "{name}"
        );
        assert!(!display_name_from_email("bob@secret.example").contains("secret"));
        assert_eq!(clean_display_name("  Bea B "), Ok("Bea B".into()));
        for bad in ["", "   ", "a@b.org", "x\u{7}", &"n".repeat(33)] {
            assert!(clean_display_name(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn user_ids_and_owner_keys_differ() {
        assert!(is_user_id(ADA));
        assert!(!is_user_id("u_"));
        assert!(!is_user_id("u_xyz"));
        assert!(!is_user_id(&"a".repeat(64)));
        let mut s = session();
        s.owner_id = Some("a".repeat(64));
        s.mode = Mode::Readonly;
        assert!(is_owner(&s, Some(&"a".repeat(64))));
        assert!(!is_owner(&s, Some(&"a".repeat(63))));
        assert!(!is_owner(&s, None));
    }
}
