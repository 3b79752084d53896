//! Per-client-address rate limits: one `RateLimiter` Durable Object per address holds a token
//! bucket per [`Bucket`]. A DO is the one place all of an address's requests meet, whichever
//! isolate serves them.

use std::cell::RefCell;
use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use worker::{durable_object, DurableObject, Env, Method, Request, RequestInit, Response, State};

use keyboardia_core::rate::TokenBucket;

use super::http::{client_address, json, now_ms, ApiResult};
use crate::api_error::ApiError;
use crate::limits::Bucket;

/// The binding name in `wrangler.toml`.
pub const BINDING: &str = "RATE_LIMITER";

/// The Worker's request to an address's limiter: take one token.
#[derive(Serialize, Deserialize)]
struct Take {
    /// Which of the address's buckets.
    bucket: Bucket,
    /// The bucket's rate (and burst) as configured for this Worker.
    per_min: f64,
}

/// The limiter's answer.
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Verdict {
    /// A token was taken: serve the request.
    allowed: bool,
    /// When refused: ms until a token is available (capped at an hour).
    retry_after_ms: f64,
}

/// Takes one request from `bucket` for the request's client address, or refuses with a 429.
pub async fn check(req: &Request, env: &Env, bucket: Bucket) -> ApiResult<()> {
    let per_min = env
        .var(bucket.var_name())
        .ok()
        .and_then(|v| v.to_string().trim().parse::<f64>().ok())
        .filter(|v| v.is_finite() && *v >= 0.0)
        .unwrap_or(bucket.default_per_min());
    let address = client_address(req)?;
    let stub = env.durable_object(BINDING)?.get_by_name(&address)?;
    let body = serde_json::to_string(&Take { bucket, per_min })
        .map_err(|e| ApiError::internal(e.to_string()))?;
    let mut init = RequestInit::new();
    init.with_method(Method::Post).with_body(Some(body.into()));
    let mut resp = stub
        .fetch_with_request(Request::new_with_init("https://limiter/take", &init)?)
        .await?;
    let verdict: Verdict = resp.json().await?;
    if verdict.allowed {
        Ok(())
    } else {
        Err(ApiError::rate_limited(verdict.retry_after_ms))
    }
}

/// One client address's buckets. In memory only: an evicted limiter forgets, which errs on the
/// side of letting people in.
#[durable_object(fetch)]
pub struct RateLimiter {
    /// One bucket per kind of limited request, created full on first use.
    buckets: RefCell<HashMap<Bucket, TokenBucket>>,
}

impl DurableObject for RateLimiter {
    fn new(_state: State, _env: Env) -> Self {
        Self {
            buckets: RefCell::new(HashMap::new()),
        }
    }

    async fn fetch(&self, mut req: Request) -> worker::Result<Response> {
        let take: Take = req.json().await?;
        let now = now_ms();
        let burst = take.per_min.max(1.0);
        let per_sec = take.per_min / 60.0;
        let verdict = {
            let mut buckets = self.buckets.borrow_mut();
            let b = buckets
                .entry(take.bucket)
                .or_insert_with(|| TokenBucket::full(burst, now));
            match b.take(now, per_sec, burst) {
                Ok(()) => Verdict {
                    allowed: true,
                    retry_after_ms: 0.0,
                },
                Err(wait) => Verdict {
                    allowed: false,
                    retry_after_ms: wait.min(3_600_000.0),
                },
            }
        };
        let body =
            serde_json::to_string(&verdict).map_err(|e| worker::Error::RustError(e.to_string()))?;
        json(200, body).map_err(|e| worker::Error::RustError(e.msg))
    }
}
