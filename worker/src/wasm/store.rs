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

async fn put_text(env: &Env, id: SessionId, text: String) -> ApiResult<()> {
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

/// The stored document of a session, as stored; renews the TTL when it is due.
pub async fn get_text(env: &Env, id: SessionId) -> ApiResult<String> {
    let (text, meta) = env
        .kv(BINDING)?
        .get(&key(id))
        .text_with_metadata::<Meta>()
        .await?;
    let text = text.ok_or_else(|| ApiError::not_found("session"))?;
    let due = meta.is_none_or(|m| now_ms() - m.renewed_at > KV_RENEW_AFTER_MS);
    if due {
        put_text(env, id, text.clone()).await?;
    }
    Ok(text)
}

/// A stored session, parsed and validated by core.
pub async fn get(env: &Env, id: SessionId) -> ApiResult<Session> {
    let text = get_text(env, id).await?;
    session_from_json(text.as_bytes())
        .map_err(|e| ApiError::internal(format!("stored session {id} is unreadable: {e}")))
}
