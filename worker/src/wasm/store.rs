//! Sessions in KV: `session:{id}` holds the session document, with a 30-day TTL that reads and
//! writes renew.

use keyboardia_core::schema::{session_from_json, session_to_json};
use keyboardia_core::{Session, SessionId};
use serde::{Deserialize, Serialize};
use worker::Env;

use super::http::{now_ms, ApiResult};
use crate::api_error::ApiError;
use crate::limits::{KV_RENEW_AFTER_MS, KV_TTL_SECONDS};

/// The binding name in `wrangler.toml`.
pub const BINDING: &str = "SESSIONS";

/// Stored beside each value.
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Meta {
    /// When the TTL was last renewed (ms since the epoch).
    renewed_at: f64,
}

fn key(id: SessionId) -> String {
    format!("session:{id}")
}

/// Writes a session document, renewing its TTL.
pub async fn put_text(env: &Env, id: SessionId, text: String) -> ApiResult<()> {
    env.kv(BINDING)?
        .put(&key(id), text)?
        .expiration_ttl(KV_TTL_SECONDS)
        .metadata(Meta {
            renewed_at: now_ms(),
        })?
        .execute()
        .await?;
    Ok(())
}

/// Writes a session, renewing its TTL.
pub async fn put(env: &Env, session: &Session) -> ApiResult<()> {
    put_text(env, session.id, session_to_json(session)).await
}

/// The stored document of a session, as stored, and whether its TTL is due for renewal.
/// Renewal is the session's Durable Object's job (the one writer of a session that exists),
/// so that a renewal can never write back an older document over a newer one.
pub async fn read(env: &Env, id: SessionId) -> ApiResult<(String, bool)> {
    // `KV_RENEW_AFTER_MS` in `[vars]` overrides the interval (the tests set it to 0).
    let renew_after = env
        .var("KV_RENEW_AFTER_MS")
        .ok()
        .and_then(|v| v.to_string().trim().parse::<f64>().ok())
        .unwrap_or(KV_RENEW_AFTER_MS);
    let (text, meta) = env
        .kv(BINDING)?
        .get(&key(id))
        .text_with_metadata::<Meta>()
        .await?;
    let text = text.ok_or_else(|| ApiError::not_found("session"))?;
    let due = meta.is_none_or(|m| now_ms() - m.renewed_at >= renew_after);
    Ok((text, due))
}

/// A stored session, parsed and validated by core.
pub async fn get(env: &Env, id: SessionId) -> ApiResult<Session> {
    let (text, _) = read(env, id).await?;
    session_from_json(text.as_bytes())
        .map_err(|e| ApiError::internal(format!("stored session {id} is unreadable: {e}")))
}
