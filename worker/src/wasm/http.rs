//! Small HTTP helpers shared by the handlers: JSON replies, bounded bodies, randomness, time,
//! and the one conversion of [`ApiError`] into a response.

use futures_util::StreamExt;
use keyboardia_core::api::{CLIENT_ADDRESS_HEADER, RETRY_AFTER_HEADER};
use serde::Serialize;
use worker::{Headers, Request, Response, ResponseBuilder};

use crate::api_error::ApiError;

/// Handler result: a response, or a refusal turned into one at the edge.
pub type ApiResult<T = Response> = std::result::Result<T, ApiError>;

impl From<worker::Error> for ApiError {
    fn from(e: worker::Error) -> Self {
        ApiError::internal(format!("runtime error: {e}"))
    }
}

impl From<worker::kv::KvError> for ApiError {
    fn from(e: worker::kv::KvError) -> Self {
        ApiError::internal(format!("KV error: {e}"))
    }
}

/// Server time in ms since the Unix epoch.
pub fn now_ms() -> f64 {
    js_sys::Date::now()
}

/// 16 random bytes from the runtime's CSPRNG.
pub fn random16() -> ApiResult<[u8; 16]> {
    let mut b = [0u8; 16];
    getrandom::getrandom(&mut b).map_err(|e| ApiError::internal(format!("no randomness: {e}")))?;
    Ok(b)
}

/// A new session's dice seed ([`keyboardia_core::SessionState::seed`]) from the runtime's CSPRNG.
pub fn random_seed() -> ApiResult<u64> {
    let mut b = [0u8; 8];
    getrandom::getrandom(&mut b).map_err(|e| ApiError::internal(format!("no randomness: {e}")))?;
    Ok(u64::from_le_bytes(b))
}

/// A JSON reply with `status`.
pub fn json(status: u16, body: String) -> ApiResult {
    Ok(ResponseBuilder::new()
        .with_status(status)
        .with_header("content-type", "application/json")?
        .fixed(body.into_bytes()))
}

/// A JSON reply with `status` and `body` serialized.
pub fn json_of(status: u16, body: &impl Serialize) -> ApiResult {
    json(
        status,
        serde_json::to_string(body).map_err(|e| ApiError::internal(e.to_string()))?,
    )
}

/// The one place a refusal becomes a response.
pub fn error_response(e: &ApiError) -> worker::Result<Response> {
    let headers = Headers::new();
    headers.set("content-type", "application/json")?;
    if let Some(s) = e.retry_after_s {
        headers.set(RETRY_AFTER_HEADER, &s.to_string())?;
    }
    Ok(ResponseBuilder::new()
        .with_status(e.status)
        .with_headers(headers)
        .fixed(e.body_json().into_bytes()))
}

/// Reads the body while it streams, refusing it as soon as it passes `max` bytes (or at once
/// when its `Content-Length` says it will), so a huge or endless body is never buffered.
pub async fn body_bytes(req: &mut Request, max: usize, what: &str) -> ApiResult<Vec<u8>> {
    if let Some(len) = req.headers().get("content-length")? {
        if let Ok(len) = len.trim().parse::<u64>() {
            if len > max as u64 {
                return Err(ApiError::too_large(what, len, max));
            }
        }
    }
    if req.inner().body().is_none() {
        return Ok(Vec::new());
    }
    let mut stream = req.stream()?;
    let mut bytes = Vec::new();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk?;
        let len = bytes.len().saturating_add(chunk.len());
        if len > max {
            return Err(ApiError::too_large_streamed(what, max));
        }
        bytes.extend_from_slice(&chunk);
    }
    Ok(bytes)
}

/// The client's address, as Cloudflare reports it ([`CLIENT_ADDRESS_HEADER`]).
pub fn client_address(req: &Request) -> ApiResult<String> {
    Ok(req
        .headers()
        .get(CLIENT_ADDRESS_HEADER)?
        .unwrap_or_else(|| "unknown".into()))
}
