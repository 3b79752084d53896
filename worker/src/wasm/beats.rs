//! Beats (the seed's phase 10): publish an immutable snapshot of a session, read it, list a
//! session's beats, remix one into a new session. Beats live in KV (an anonymous one for
//! [`ANONYMOUS_BEAT_TTL_SECONDS`](keyboardia_core::beat::ANONYMOUS_BEAT_TTL_SECONDS), a signed-in creator's for good; never deleted with their session); the samples a beat plays are copied to
//! its own prefix in R2 when it is published, so they outlive the session's samples.

use keyboardia_core::api::BeatList;
use keyboardia_core::beat::{
    beat_from_json, beat_to_json, Beat, BeatSummary, PublishBeat, MAX_PUBLISH_BODY_BYTES,
};
use keyboardia_core::schema::session_to_json;
use keyboardia_core::{BeatId, ErrorCode, OpError, SampleId, SessionId};
use worker::{Env, Request, Response};

use super::http::{body_bytes, json, json_of, now_ms, random16, ApiResult};
use super::sessions::{current, user_of};
use super::{samples, store};
use crate::api_error::ApiError;

fn beat_key(id: BeatId) -> String {
    format!("beat:{id}")
}

/// The prefix of a session's beat-history keys: one key per beat, so two publishes at once
/// never overwrite each other's entry (no read-modify-write of a list).
fn history_prefix(session: SessionId) -> String {
    format!("beats-of:{session}:")
}

fn history_key(session: SessionId, beat: &Beat) -> String {
    // Zero-padded creation time first: KV lists keys in byte order, so oldest first.
    format!(
        "{}{:015}:{}",
        history_prefix(session),
        beat.created_at,
        beat.id
    )
}

/// Where a beat's pinned copy of a sample lives in R2.
fn pinned_key(beat: BeatId, sample: &SampleId) -> String {
    format!("beats/{beat}/{sample}")
}

/// Copies each of `ids` from its key `from` to its key `to` in R2, with its metadata. A sample
/// missing at `from` (never uploaded, or gone) is skipped: its source could not play it either.
async fn copy_samples(
    env: &Env,
    ids: &[SampleId],
    from: impl Fn(&SampleId) -> String,
    to: impl Fn(&SampleId) -> String,
) -> ApiResult<()> {
    let bucket = env.bucket(samples::BINDING)?;
    for sample in ids {
        let Some(object) = bucket.get(from(sample)).execute().await? else {
            continue;
        };
        let meta = object.custom_metadata()?;
        let Some(body) = object.body() else {
            continue;
        };
        let wav = body.bytes().await?;
        samples::put_wav(&bucket, to(sample), wav, meta).await?;
    }
    Ok(())
}

/// `POST /api/sessions/{id}/beats`
pub async fn publish(mut req: Request, id: SessionId, env: &Env) -> ApiResult {
    let bytes = body_bytes(&mut req, MAX_PUBLISH_BODY_BYTES, "the body").await?;
    let body: PublishBeat = if bytes.iter().all(u8::is_ascii_whitespace) {
        PublishBeat::default()
    } else {
        serde_json::from_slice(&bytes).map_err(|e| ApiError::json(&e.to_string()))?
    };
    let name = body.clean_name()?;
    let user = user_of(&req, env).await?;
    // What the players have now (the live room is ahead of KV by up to a second).
    let session = current(env, id).await?;
    if !session.can_edit(user.as_deref()) {
        return Err(ApiError::new(
            403,
            ErrorCode::ReadOnly,
            OpError::ReadOnly.to_string(),
        ));
    }
    // The creator: a signed-in user (an owner key's hash names nobody), under their display
    // name as it is now (a beat never changes; the user id is kept, the email never).
    let creator = user.filter(|u| keyboardia_core::access::is_user_id(u));
    let creator_name = match &creator {
        Some(u) => super::accounts::account(env, u).await?.map(|a| a.name),
        None => None,
    };
    let mut beat = Beat::publish(
        BeatId::from_random_bytes(random16()?),
        &session,
        now_ms() as u64,
        name,
        creator,
    );
    beat.creator_name = creator_name;
    // Pin the samples first: a beat that is visible plays.
    copy_samples(
        env,
        &beat.sample_ids(),
        |s| samples::key(id, s),
        |s| pinned_key(beat.id, s),
    )
    .await?;
    let text = beat_to_json(&beat);
    let kv = env.kv(store::BINDING)?;
    let mut put_beat = kv.put(&beat_key(beat.id), text.clone())?;
    let mut put_line = kv
        .put(&history_key(id, &beat), "")?
        .metadata(beat.summary())?;
    // An anonymous beat expires; a signed-in creator's is kept for good.
    if let Some(ttl) = beat.ttl_seconds() {
        put_beat = put_beat.expiration_ttl(ttl);
        put_line = put_line.expiration_ttl(ttl);
    }
    put_beat.execute().await?;
    put_line.execute().await?;
    json(201, text)
}

pub(super) async fn load(env: &Env, id: BeatId) -> ApiResult<(Beat, String)> {
    let text = env
        .kv(store::BINDING)?
        .get(&beat_key(id))
        .text()
        .await?
        .ok_or_else(|| ApiError::not_found("beat"))?;
    let beat = beat_from_json(text.as_bytes())
        .map_err(|e| ApiError::internal(format!("stored beat {id} is unreadable: {e}")))?;
    Ok((beat, text))
}

/// `GET /api/beats/{id}`: exactly the bytes stored when it was published.
pub async fn get(id: BeatId, env: &Env) -> ApiResult {
    let (_, text) = load(env, id).await?;
    json(200, text)
}

/// `GET /api/sessions/{id}/beats`: oldest first. Beats outlive their session, so the list
/// answers for an expired session too (empty for one that never published).
pub async fn list(id: SessionId, env: &Env) -> ApiResult {
    let kv = env.kv(store::BINDING)?;
    let mut beats = Vec::new();
    let mut cursor = None;
    loop {
        let mut query = kv.list().prefix(history_prefix(id));
        if let Some(c) = cursor.take() {
            query = query.cursor(c);
        }
        let page = query.execute().await?;
        for key in page.keys {
            let summary: Option<BeatSummary> =
                key.metadata.and_then(|m| serde_json::from_value(m).ok());
            beats.extend(summary);
        }
        match page.cursor.filter(|_| !page.list_complete) {
            Some(c) => cursor = Some(c),
            None => break,
        }
    }
    json_of(200, &BeatList { beats })
}

/// `POST /api/beats/{id}/remix`: a new editable session from the beat, with its samples.
pub async fn remix(id: BeatId, env: &Env) -> ApiResult {
    let (beat, _) = load(env, id).await?;
    let session = beat.remix(SessionId::from_random_bytes(random16()?), now_ms() as u64);
    copy_samples(
        env,
        &beat.sample_ids(),
        |s| pinned_key(id, s),
        |s| samples::key(session.id, s),
    )
    .await?;
    store::put(env, &session).await?;
    json(201, session_to_json(&session))
}

/// `GET /api/beats/{id}/samples/{sample}`
pub async fn sample(id: BeatId, sample: SampleId, env: &Env) -> ApiResult<Response> {
    samples::serve(env, pinned_key(id, &sample)).await
}
