//! Samples in R2: upload (a WAV of at most 5 s), download, and the `sample_added` broadcast.

use keyboardia_core::api::{
    Route, UploadedSample, DEFAULT_SAMPLE_NAME, SAMPLE_ID_PARAM, SAMPLE_NAME_PARAM,
};
use keyboardia_core::{ErrorCode, OpError, SampleId, SessionId};
use std::collections::HashMap;

use worker::{Bucket, Env, HttpMetadata, Method, Request, RequestInit, Response, ResponseBuilder};

use super::http::{body_bytes, json_of, random16, ApiResult};
use super::live::{self, Announce, Call};
use super::sessions::user_of;
use super::store;
use crate::api_error::ApiError;
use keyboardia_core::audio::{self, MAX_SAMPLE_BYTES, SAMPLE_NAME_MAX_BYTES, WAV_CONTENT_TYPE};

/// The binding name in `wrangler.toml`.
pub const BINDING: &str = "SAMPLES";
/// The custom metadata field that keeps a sample's display name.
const NAME_META: &str = "name";

/// Where a session's sample lives in R2.
pub(super) fn key(session: SessionId, sample: &SampleId) -> String {
    format!("samples/{session}/{sample}")
}

/// `POST /api/sessions/{id}/samples?name=…[&id=…]` with a WAV body. Without `id` the sample gets
/// a random id; with one, it must be the content id of the body ([`SampleId::for_content`]).
pub async fn upload(mut req: Request, id: SessionId, env: &Env) -> ApiResult {
    let content_type = req.headers().get("content-type")?.unwrap_or_default();
    audio::check_content_type(&content_type)?;
    let url = req.url()?;
    let query = |key: &str| {
        url.query_pairs()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.into_owned())
    };
    let name = query(SAMPLE_NAME_PARAM).unwrap_or_else(|| DEFAULT_SAMPLE_NAME.into());
    // A player may name the sample before uploading it (a recorded take whose track is already
    // in the room): the id must then be the hash of the bytes.
    let proposed: Option<SampleId> = query(SAMPLE_ID_PARAM).map(|id| id.parse()).transpose()?;
    if !audio::is_valid_sample_name(&name) {
        return Err(ApiError::new(
            400,
            ErrorCode::InvalidName,
            format!("a sample name has 1 to {SAMPLE_NAME_MAX_BYTES} printable bytes"),
        ));
    }
    // The session must exist before anything is stored for it, and only its owner adds
    // samples to a read-only one (checked before the body is read).
    let session = store::get(env, id).await?;
    if !session.can_edit(user_of(&req, env).await?.as_deref()) {
        return Err(ApiError::new(
            403,
            ErrorCode::ReadOnly,
            OpError::ReadOnly.to_string(),
        ));
    }
    let bytes = body_bytes(&mut req, MAX_SAMPLE_BYTES, "the sample").await?;
    // Format, channels, rate, duration and (for a proposed id) the content id.
    let info = audio::validate_sample(&bytes, proposed.as_ref())?;
    let sample: SampleId = match proposed {
        Some(id) => id,
        None => hex::encode(random16()?).parse()?,
    };
    let len = bytes.len();
    let meta = HashMap::from([(NAME_META.to_string(), name.clone())]);
    put_wav(&env.bucket(BINDING)?, key(id, &sample), bytes, meta).await?;
    let download = format!(
        "{}{}",
        url.origin().ascii_serialization(),
        Route::DownloadSample(id, sample.clone()).path()
    );
    let announce = Announce {
        id: sample.clone(),
        name: name.clone(),
        url: download.clone(),
    };
    let mut init = RequestInit::new();
    init.with_method(Method::Post).with_body(Some(
        serde_json::to_string(&announce)
            .map_err(|e| ApiError::internal(e.to_string()))?
            .into(),
    ));
    // The sample is stored whatever happens here; telling live players is best effort.
    match live::call(env, id, Call::Announce, &init).await {
        Ok(resp) if resp.status_code() == 200 => {}
        Ok(resp) => worker::console_error!("announcing sample {sample}: {}", resp.status_code()),
        Err(e) => worker::console_error!("announcing sample {sample}: {}", e.msg),
    }
    let reply = UploadedSample {
        id: sample,
        name,
        url: download,
        bytes: len,
        duration_ms: info.duration_ms(),
    };
    json_of(201, &reply)
}

/// Stores a WAV file at `key`, with its custom metadata (the sample's name).
pub(super) async fn put_wav(
    bucket: &Bucket,
    key: String,
    wav: Vec<u8>,
    meta: HashMap<String, String>,
) -> ApiResult<()> {
    bucket
        .put(key, wav)
        .http_metadata(HttpMetadata {
            content_type: Some(WAV_CONTENT_TYPE.into()),
            ..Default::default()
        })
        .custom_metadata(meta)
        .execute()
        .await?;
    Ok(())
}

/// `GET /api/sessions/{id}/samples/{sample}`
pub async fn download(id: SessionId, sample: SampleId, env: &Env) -> ApiResult<Response> {
    serve(env, key(id, &sample)).await
}

/// `POST /api/sessions/{id}/test/drop-samples`: deletes every sample of the session, as their
/// lifecycle would. A 404 unless the `TEST_HOOKS` var is `"1"`.
pub async fn test_drop(id: SessionId, env: &Env) -> ApiResult<Response> {
    if !env.var("TEST_HOOKS").is_ok_and(|v| v.to_string() == "1") {
        return Err(keyboardia_core::api::RouteError::NotFound.into());
    }
    let bucket = env.bucket(BINDING)?;
    let prefix = format!("samples/{id}/");
    let listed = bucket.list().prefix(prefix).execute().await?;
    let keys: Vec<String> = listed.objects().iter().map(|o| o.key()).collect();
    let dropped = keys.len();
    for key in keys {
        bucket.delete(key).await?;
    }
    json_of(200, &serde_json::json!({ "dropped": dropped }))
}

/// Serves the WAV file stored at `key` (immutable: ids are content or random).
pub(super) async fn serve(env: &Env, key: String) -> ApiResult<Response> {
    let object = env
        .bucket(BINDING)?
        .get(key)
        .execute()
        .await?
        .ok_or_else(|| ApiError::not_found("sample"))?;
    let content_type = object
        .http_metadata()
        .content_type
        .unwrap_or_else(|| WAV_CONTENT_TYPE.into());
    let body = object
        .body()
        .ok_or_else(|| ApiError::not_found("sample"))?
        .bytes()
        .await?;
    Ok(ResponseBuilder::new()
        .with_status(200)
        .with_header("content-type", &content_type)?
        .with_header("cache-control", "public, max-age=31536000, immutable")?
        .fixed(body))
}
