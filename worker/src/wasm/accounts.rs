//! Accounts in D1 (binding `DB`, schema in `worker/migrations/`): users, sign-in links, grants,
//! refresh tokens and device codes. Only this module speaks SQL; secrets arrive here already
//! hashed ([`crate::token::hash_secret`]).

use keyboardia_core::access::{display_name_from_email, USER_ID_PREFIX};
use keyboardia_core::oauth::Account;
use serde::Deserialize;
use wasm_bindgen::JsValue;
use worker::{D1Database, Env};

use super::http::{random16, ApiResult};
use crate::api_error::ApiError;
use crate::device::{DeviceCode, Status};

/// The binding name in `wrangler.toml`.
pub const BINDING: &str = "DB";

fn db(env: &Env) -> ApiResult<D1Database> {
    Ok(env.d1(BINDING)?)
}

fn s(v: &str) -> JsValue {
    JsValue::from_str(v)
}

fn n(v: f64) -> JsValue {
    JsValue::from_f64(v)
}

/// A new random id with a prefix (`g_` grants, `u_` users).
fn new_id(prefix: &str) -> ApiResult<String> {
    Ok(format!("{prefix}{}", hex::encode(random16()?)))
}

#[derive(Deserialize)]
struct AccountRow {
    id: String,
    email: String,
    /// `NULL` for accounts made before display names (migration 0002).
    name: Option<String>,
}

impl AccountRow {
    fn into_account(self) -> Account {
        let name = self
            .name
            .filter(|n| !n.trim().is_empty())
            .unwrap_or_else(|| display_name_from_email(&self.email));
        Account {
            id: self.id,
            email: self.email,
            name,
        }
    }
}

/// The account of `email` (lower-cased), created on first sign-in.
pub async fn user_for_email(env: &Env, email: &str, now_ms: f64) -> ApiResult<Account> {
    let db = db(env)?;
    let id = new_id(USER_ID_PREFIX)?;
    let name = display_name_from_email(email);
    db.prepare("INSERT INTO users (id, email, created_ms, name) VALUES (?1, ?2, ?3, ?4) ON CONFLICT(email) DO NOTHING")
        .bind(&[s(&id), s(email), n(now_ms), s(&name)])?
        .run()
        .await?;
    let row: Option<AccountRow> = db
        .prepare("SELECT id, email, name FROM users WHERE email = ?1")
        .bind(&[s(email)])?
        .first(None)
        .await?;
    let row = row.ok_or_else(|| ApiError::internal("user row missing after insert"))?;
    Ok(row.into_account())
}

/// The account with this id.
pub async fn account(env: &Env, user_id: &str) -> ApiResult<Option<Account>> {
    let row: Option<AccountRow> = db(env)?
        .prepare("SELECT id, email, name FROM users WHERE id = ?1")
        .bind(&[s(user_id)])?
        .first(None)
        .await?;
    Ok(row.map(AccountRow::into_account))
}

/// Sets the display name of `user_id` (already cleaned: core's `clean_display_name`).
pub async fn set_name(env: &Env, user_id: &str, name: &str) -> ApiResult<()> {
    db(env)?
        .prepare("UPDATE users SET name = ?1 WHERE id = ?2")
        .bind(&[s(name), s(user_id)])?
        .run()
        .await?;
    Ok(())
}

/// Stores a sign-in link (its hash) for `email`, returning to `next`.
pub async fn store_magic_link(
    env: &Env,
    hash: &str,
    email: &str,
    next: &str,
    expires_ms: f64,
) -> ApiResult<()> {
    db(env)?
        .prepare("INSERT INTO magic_links (hash, email, next, expires_ms) VALUES (?1, ?2, ?3, ?4)")
        .bind(&[s(hash), s(email), s(next), n(expires_ms)])?
        .run()
        .await?;
    Ok(())
}

/// Why a sign-in link did not sign in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LinkRefused {
    /// It was used already (a replay).
    Used,
    /// Unknown or expired.
    Invalid,
}

/// Spends a sign-in link at `now_ms` (atomically: one use only), giving its email and page.
pub async fn take_magic_link(
    env: &Env,
    hash: &str,
    now_ms: f64,
) -> ApiResult<Result<(String, String), LinkRefused>> {
    #[derive(Deserialize)]
    struct Row {
        email: String,
        next: String,
    }
    let db = db(env)?;
    let taken: Option<Row> = db
        .prepare(
            "UPDATE magic_links SET used_ms = ?1 WHERE hash = ?2 AND used_ms IS NULL \
             AND expires_ms > ?1 RETURNING email, next",
        )
        .bind(&[n(now_ms), s(hash)])?
        .first(None)
        .await?;
    if let Some(r) = taken {
        return Ok(Ok((r.email, r.next)));
    }
    let used: Option<f64> = db
        .prepare("SELECT used_ms FROM magic_links WHERE hash = ?1 AND used_ms IS NOT NULL")
        .bind(&[s(hash)])?
        .first(Some("used_ms"))
        .await?;
    Ok(Err(if used.is_some() {
        LinkRefused::Used
    } else {
        LinkRefused::Invalid
    }))
}

/// A new grant for `user_id` (`kind`: `web` or `device`), returning its id.
pub async fn new_grant(
    env: &Env,
    user_id: &str,
    client_id: &str,
    kind: &str,
    now_ms: f64,
) -> ApiResult<String> {
    let id = new_id("g_")?;
    db(env)?
        .prepare(
            "INSERT INTO grants (id, user_id, client_id, kind, created_ms) VALUES (?1, ?2, ?3, ?4, ?5)",
        )
        .bind(&[s(&id), s(user_id), s(client_id), s(kind), n(now_ms)])?
        .run()
        .await?;
    Ok(id)
}

/// Whether the grant exists, belongs to `user_id` and is not revoked.
pub async fn grant_active(env: &Env, grant_id: &str, user_id: &str) -> ApiResult<bool> {
    let found: Option<String> = db(env)?
        .prepare("SELECT id FROM grants WHERE id = ?1 AND user_id = ?2 AND revoked_ms IS NULL")
        .bind(&[s(grant_id), s(user_id)])?
        .first(Some("id"))
        .await?;
    Ok(found.is_some())
}

/// Revokes a grant, and with it every token it issued.
pub async fn revoke_grant(env: &Env, grant_id: &str, now_ms: f64) -> ApiResult<()> {
    db(env)?
        .prepare("UPDATE grants SET revoked_ms = ?1 WHERE id = ?2 AND revoked_ms IS NULL")
        .bind(&[n(now_ms), s(grant_id)])?
        .run()
        .await?;
    Ok(())
}

/// Stores a refresh token (its hash) of a grant.
pub async fn store_refresh(
    env: &Env,
    hash: &str,
    grant_id: &str,
    expires_ms: f64,
) -> ApiResult<()> {
    db(env)?
        .prepare("INSERT INTO refresh_tokens (hash, grant_id, expires_ms) VALUES (?1, ?2, ?3)")
        .bind(&[s(hash), s(grant_id), n(expires_ms)])?
        .run()
        .await?;
    Ok(())
}

/// What a refresh token was.
pub enum Refresh {
    /// Spent now: issue the next tokens of this grant to this user.
    Spent { grant_id: String, user_id: String },
    /// Unknown, expired, of a revoked grant, or spent before (a replay: its grant is revoked).
    Refused,
}

/// Spends a refresh token at `now_ms` (one use). A token that was already spent revokes its
/// whole grant: whoever holds the newer one signs in again.
pub async fn take_refresh(env: &Env, hash: &str, now_ms: f64) -> ApiResult<Refresh> {
    #[derive(Deserialize)]
    struct Row {
        grant_id: String,
    }
    let db = db(env)?;
    let taken: Option<Row> = db
        .prepare(
            "UPDATE refresh_tokens SET used_ms = ?1 WHERE hash = ?2 AND used_ms IS NULL \
             AND expires_ms > ?1 RETURNING grant_id",
        )
        .bind(&[n(now_ms), s(hash)])?
        .first(None)
        .await?;
    let Some(row) = taken else {
        let replayed: Option<String> = db
            .prepare("SELECT grant_id FROM refresh_tokens WHERE hash = ?1 AND used_ms IS NOT NULL")
            .bind(&[s(hash)])?
            .first(Some("grant_id"))
            .await?;
        if let Some(grant_id) = replayed {
            revoke_grant(env, &grant_id, now_ms).await?;
        }
        return Ok(Refresh::Refused);
    };
    let user: Option<String> = db
        .prepare("SELECT user_id FROM grants WHERE id = ?1 AND revoked_ms IS NULL")
        .bind(&[s(&row.grant_id)])?
        .first(Some("user_id"))
        .await?;
    Ok(match user {
        Some(user_id) => Refresh::Spent {
            grant_id: row.grant_id,
            user_id,
        },
        None => Refresh::Refused,
    })
}

/// The grant a refresh token belongs to (for revocation), whether or not it is spent.
pub async fn grant_of_refresh(env: &Env, hash: &str) -> ApiResult<Option<String>> {
    Ok(db(env)?
        .prepare("SELECT grant_id FROM refresh_tokens WHERE hash = ?1")
        .bind(&[s(hash)])?
        .first(Some("grant_id"))
        .await?)
}

/// Stores a new device code (its hash) and its user code.
pub async fn store_device_code(
    env: &Env,
    hash: &str,
    user_code: &str,
    client_id: &str,
    expires_ms: f64,
    interval_s: u64,
) -> ApiResult<()> {
    db(env)?
        .prepare(
            "INSERT INTO device_codes (hash, user_code, client_id, expires_ms, interval_s, status) \
             VALUES (?1, ?2, ?3, ?4, ?5, 'pending')",
        )
        .bind(&[
            s(hash),
            s(user_code),
            s(client_id),
            n(expires_ms),
            n(interval_s as f64),
        ])?
        .run()
        .await?;
    Ok(())
}

#[derive(Deserialize)]
struct DeviceRow {
    client_id: String,
    expires_ms: f64,
    interval_s: f64,
    last_poll_ms: Option<f64>,
    status: String,
    user_id: Option<String>,
}

impl DeviceRow {
    fn into_code(self) -> ApiResult<DeviceCode> {
        Ok(DeviceCode {
            status: Status::from_stored(&self.status, self.user_id)
                .ok_or_else(|| ApiError::internal("a device code in an unknown state"))?,
            client_id: self.client_id,
            expires_ms: self.expires_ms,
            interval_s: self.interval_s as u64,
            last_poll_ms: self.last_poll_ms,
        })
    }
}

const DEVICE_COLUMNS: &str = "client_id, expires_ms, interval_s, last_poll_ms, status, user_id";

/// The device code with this hash.
pub async fn device_code(env: &Env, hash: &str) -> ApiResult<Option<DeviceCode>> {
    let row: Option<DeviceRow> = db(env)?
        .prepare(format!(
            "SELECT {DEVICE_COLUMNS} FROM device_codes WHERE hash = ?1"
        ))
        .bind(&[s(hash)])?
        .first(None)
        .await?;
    row.map(DeviceRow::into_code).transpose()
}

/// The device code a user code names (canonical form).
pub async fn device_by_user_code(env: &Env, user_code: &str) -> ApiResult<Option<DeviceCode>> {
    let row: Option<DeviceRow> = db(env)?
        .prepare(format!(
            "SELECT {DEVICE_COLUMNS} FROM device_codes WHERE user_code = ?1"
        ))
        .bind(&[s(user_code)])?
        .first(None)
        .await?;
    row.map(DeviceRow::into_code).transpose()
}

/// Records a poll (and the grown interval after a `slow_down`).
pub async fn record_poll(
    env: &Env,
    hash: &str,
    now_ms: f64,
    interval_s: Option<u64>,
) -> ApiResult<()> {
    let db = db(env)?;
    match interval_s {
        Some(i) => db
            .prepare("UPDATE device_codes SET last_poll_ms = ?1, interval_s = ?2 WHERE hash = ?3")
            .bind(&[n(now_ms), n(i as f64), s(hash)])?,
        None => db
            .prepare("UPDATE device_codes SET last_poll_ms = ?1 WHERE hash = ?2")
            .bind(&[n(now_ms), s(hash)])?,
    }
    .run()
    .await?;
    Ok(())
}

/// The user approves (`Some(user)`) or denies (`None`) a pending, unexpired device code.
/// Returns whether it was pending.
pub async fn decide_device(
    env: &Env,
    user_code: &str,
    user_id: Option<&str>,
    now_ms: f64,
) -> ApiResult<bool> {
    let (status, user) = match user_id {
        Some(u) => ("approved", s(u)),
        None => ("denied", JsValue::NULL),
    };
    let done: Option<String> = db(env)?
        .prepare(
            "UPDATE device_codes SET status = ?1, user_id = ?2 WHERE user_code = ?3 \
             AND status = 'pending' AND expires_ms > ?4 RETURNING hash",
        )
        .bind(&[s(status), user, s(user_code), n(now_ms)])?
        .first(Some("hash"))
        .await?;
    Ok(done.is_some())
}

/// Spends an approved device code (once: a second poll racing this one gets nothing).
pub async fn spend_device_code(env: &Env, hash: &str) -> ApiResult<bool> {
    let done: Option<String> = db(env)?
        .prepare(
            "UPDATE device_codes SET status = 'spent' WHERE hash = ?1 AND status = 'approved' \
             RETURNING hash",
        )
        .bind(&[s(hash)])?
        .first(Some("hash"))
        .await?;
    Ok(done.is_some())
}
