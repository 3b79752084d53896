//! Every refusal the REST API gives: an HTTP status and a JSON body `{"code", "msg"}` whose code
//! is one of core's [`ErrorCode`]s. Handlers return `Result<_, ApiError>` and use `?`; the edge
//! turns the error into a response exactly once.

use keyboardia_core::api::{ErrorBody, RouteError};
use keyboardia_core::audio::{UploadError, MAX_SAMPLE_BYTES};
use keyboardia_core::error::code_in_message;
use keyboardia_core::schema::SchemaError;
use keyboardia_core::{ErrorCode, OpError};

/// A refused request.
#[derive(Clone, Debug, PartialEq)]
pub struct ApiError {
    /// The HTTP status of the reply.
    pub status: u16,
    /// The stable reason, sent in the body.
    pub code: ErrorCode,
    /// For people, sent in the body.
    pub msg: String,
    /// For 429: seconds until a retry can succeed (sent as `Retry-After`).
    pub retry_after_s: Option<u64>,
}

impl ApiError {
    pub fn new(status: u16, code: ErrorCode, msg: impl Into<String>) -> Self {
        Self {
            status,
            code,
            msg: msg.into(),
            retry_after_s: None,
        }
    }

    pub fn not_found(what: &str) -> Self {
        Self::new(404, ErrorCode::NotFound, format!("no {what} with that id"))
    }

    pub fn too_large(what: &str, len: u64, max: usize) -> Self {
        Self::new(
            413,
            ErrorCode::TooLarge,
            format!("{what} is {len} bytes, at most {max} allowed"),
        )
    }

    /// A body refused while it streamed, once it passed `max` bytes.
    pub fn too_large_streamed(what: &str, max: usize) -> Self {
        Self::new(
            413,
            ErrorCode::TooLarge,
            format!("{what} is over {max} bytes, at most {max} allowed"),
        )
    }

    pub fn malformed(msg: impl Into<String>) -> Self {
        Self::new(400, ErrorCode::Malformed, msg)
    }

    /// A JSON body that did not deserialize: `malformed`, unless a value inside failed
    /// validation, which keeps its own code (core's [`code_in_message`]).
    pub fn json(msg: &str) -> Self {
        match code_in_message(msg) {
            Some((code, detail)) => Self::new(400, code, detail),
            None => Self::malformed(msg),
        }
    }

    pub fn rate_limited(retry_after_ms: f64) -> Self {
        let secs = (retry_after_ms / 1000.0).ceil().clamp(1.0, 3600.0) as u64;
        Self {
            retry_after_s: Some(secs),
            ..Self::new(
                429,
                ErrorCode::RateLimited,
                format!("too many requests from this address; retry in {secs} s"),
            )
        }
    }

    /// An internal failure (storage unavailable…): a 500, never the client's fault; the message
    /// is for operators.
    pub fn internal(msg: impl Into<String>) -> Self {
        Self::new(500, ErrorCode::Internal, msg)
    }

    /// A missing, malformed, forged, expired or revoked sign-in (never says which).
    pub fn unauthorized() -> Self {
        Self::new(
            401,
            ErrorCode::Unauthorized,
            "sign in first (no valid access token)",
        )
    }

    pub fn body_json(&self) -> String {
        serde_json::to_string(&ErrorBody {
            code: self.code,
            msg: self.msg.clone(),
        })
        .unwrap_or_default()
    }
}

impl From<keyboardia_core::access::AccessError> for ApiError {
    fn from(e: keyboardia_core::access::AccessError) -> Self {
        Self::new(e.http_status(), e.code(), e.to_string())
    }
}

impl From<crate::token::TokenError> for ApiError {
    /// Every bad token is the same 401: the reply never says which check failed.
    fn from(_: crate::token::TokenError) -> Self {
        Self::unauthorized()
    }
}

impl From<OpError> for ApiError {
    fn from(e: OpError) -> Self {
        Self::new(400, e.code(), e.to_string())
    }
}

impl From<SchemaError> for ApiError {
    fn from(e: SchemaError) -> Self {
        match e {
            SchemaError::TooLarge(n) => Self::too_large(
                "the document",
                n as u64,
                keyboardia_core::schema::MAX_DOCUMENT_BYTES,
            ),
            SchemaError::Json(m) => Self::json(&m),
            SchemaError::FromTheFuture(v) => Self::new(
                400,
                ErrorCode::UnsupportedVersion,
                format!("schema version {v} is newer than this server"),
            ),
            SchemaError::Invalid(op) => op.into(),
        }
    }
}

impl From<UploadError> for ApiError {
    fn from(e: UploadError) -> Self {
        match e {
            UploadError::TooLarge { bytes } => {
                Self::too_large("the sample", bytes as u64, MAX_SAMPLE_BYTES)
            }
            UploadError::ContentType(_) => Self::new(415, ErrorCode::BadSample, e.to_string()),
            _ => Self::new(400, ErrorCode::BadSample, e.to_string()),
        }
    }
}

impl From<RouteError> for ApiError {
    fn from(e: RouteError) -> Self {
        match e {
            RouteError::NotFound => Self::new(404, ErrorCode::NotFound, e.to_string()),
            RouteError::MethodNotAllowed => {
                Self::new(405, ErrorCode::MethodNotAllowed, e.to_string())
            }
            RouteError::BadId(e) => e.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_and_codes() {
        let e: ApiError = SchemaError::TooLarge(200_000).into();
        assert_eq!((e.status, e.code), (413, ErrorCode::TooLarge));
        let e: ApiError = SchemaError::Json("x".into()).into();
        assert_eq!((e.status, e.code), (400, ErrorCode::Malformed));
        let e: ApiError = SchemaError::Json("[invalid_id] malformed id at line 1".into()).into();
        assert_eq!((e.status, e.code), (400, ErrorCode::InvalidId));
        assert_eq!(e.msg, "malformed id at line 1");
        let e: ApiError = OpError::TooManyTracks.into();
        assert_eq!((e.status, e.code), (400, ErrorCode::TooManyTracks));
        let e: ApiError = RouteError::BadId(OpError::InvalidId).into();
        assert_eq!((e.status, e.code), (400, ErrorCode::InvalidId));
        let e: ApiError = UploadError::ContentType("audio/mpeg".into()).into();
        assert_eq!((e.status, e.code), (415, ErrorCode::BadSample));
        let e: ApiError = UploadError::TooLong { duration_ms: 6e3 }.into();
        assert_eq!((e.status, e.code), (400, ErrorCode::BadSample));
        let e: ApiError = UploadError::TooLarge { bytes: 3 << 20 }.into();
        assert_eq!((e.status, e.code), (413, ErrorCode::TooLarge));
        let e = ApiError::rate_limited(1500.0);
        assert_eq!((e.status, e.retry_after_s), (429, Some(2)));
        assert_eq!(
            e.body_json(),
            format!(r#"{{"code":"rate_limited","msg":"{}"}}"#, e.msg)
        );
    }
}
