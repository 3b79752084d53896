//! REST calls through the browser's `fetch`, on core's routes and types.

use keyboardia_core::api::{self, UploadedSample};
use keyboardia_core::{SampleId, Session, SessionId};
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use web_sys::{Request, RequestInit, Response};

/// Why a REST call failed.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum HttpError {
    /// The session (or sample) does not exist.
    #[error("not found")]
    NotFound,
    /// The server answered with another refusal.
    #[error("refused ({status}): {body}")]
    Refused {
        /// The HTTP status.
        status: u16,
        /// The reply's text (the server's `{"code","msg"}`).
        body: String,
    },
    /// No answer (offline, connection refused, CORS).
    #[error("network error: {0}")]
    Network(String),
    /// The answer was not what the route returns.
    #[error("unexpected reply: {0}")]
    BadReply(String),
}

impl HttpError {
    /// Whether trying again later can help.
    pub fn is_transient(&self) -> bool {
        match self {
            HttpError::Network(_) => true,
            HttpError::Refused { status, .. } => api::is_transient_status(*status),
            HttpError::NotFound | HttpError::BadReply(_) => false,
        }
    }
}

fn js_err(e: wasm_bindgen::JsValue) -> HttpError {
    HttpError::Network(format!("{e:?}"))
}

/// One request; the reply's body when it is 2xx.
pub(crate) async fn call(
    method: &str,
    url: &str,
    body: Option<&[u8]>,
    content_type: Option<&str>,
) -> Result<Vec<u8>, HttpError> {
    let init = RequestInit::new();
    init.set_method(method);
    if let Some(body) = body {
        let array = js_sys::Uint8Array::from(body);
        init.set_body(&array);
    }
    let request = Request::new_with_str_and_init(url, &init).map_err(js_err)?;
    if let Some(ct) = content_type {
        request.headers().set("content-type", ct).map_err(js_err)?;
    }
    let window = web_sys::window().ok_or_else(|| HttpError::Network("no window".into()))?;
    let resp: Response = JsFuture::from(window.fetch_with_request(&request))
        .await
        .map_err(js_err)?
        .dyn_into()
        .map_err(js_err)?;
    let buf = JsFuture::from(resp.array_buffer().map_err(js_err)?)
        .await
        .map_err(js_err)?;
    let bytes = js_sys::Uint8Array::new(&buf).to_vec();
    match resp.status() {
        200..=299 => Ok(bytes),
        404 => Err(HttpError::NotFound),
        status => Err(HttpError::Refused {
            status,
            body: String::from_utf8_lossy(&bytes).into_owned(),
        }),
    }
}

/// `GET url`: the reply's body when it is 2xx (also the audio graph's engine module).
pub async fn get(url: &str) -> Result<Vec<u8>, HttpError> {
    call("GET", url, None, None).await
}

/// `GET /api/sessions/{id}`.
pub async fn load_session(origin: &str, id: SessionId) -> Result<Session, HttpError> {
    let bytes = call(
        "GET",
        &format!("{origin}{}", api::session_path(id)),
        None,
        None,
    )
    .await?;
    serde_json::from_slice(&bytes).map_err(|e| HttpError::BadReply(e.to_string()))
}

/// `POST /api/sessions` with `state`; the new session's id.
pub async fn create_session(
    origin: &str,
    state: &keyboardia_core::SessionState,
) -> Result<SessionId, HttpError> {
    let body = serde_json::to_vec(&api::CreateSession {
        state: serde_json::to_value(state).ok(),
        mode: None,
    })
    .map_err(|e| HttpError::BadReply(e.to_string()))?;
    let url = format!("{origin}{}", api::SESSIONS_PATH);
    let bytes = call("POST", &url, Some(&body), Some("application/json")).await?;
    let session: Session =
        serde_json::from_slice(&bytes).map_err(|e| HttpError::BadReply(e.to_string()))?;
    Ok(session.id)
}

/// `POST /api/sessions/{id}/fork`; the fork's id.
pub async fn fork_session(origin: &str, id: SessionId) -> Result<SessionId, HttpError> {
    let bytes = call(
        "POST",
        &format!("{origin}{}", api::fork_path(id)),
        None,
        None,
    )
    .await?;
    let session: Session =
        serde_json::from_slice(&bytes).map_err(|e| HttpError::BadReply(e.to_string()))?;
    Ok(session.id)
}

/// Uploads a WAV as a sample of the session (under `id` when given).
pub async fn upload_sample(
    origin: &str,
    session: SessionId,
    name: &str,
    id: Option<&SampleId>,
    wav: &[u8],
) -> Result<UploadedSample, HttpError> {
    let mut url = format!(
        "{origin}{}?{}={}",
        api::samples_path(session),
        api::SAMPLE_NAME_PARAM,
        js_sys::encode_uri_component(name)
    );
    if let Some(id) = id {
        url.push_str(&format!("&{}={}", api::SAMPLE_ID_PARAM, id.as_str()));
    }
    let bytes = call("POST", &url, Some(wav), Some("audio/wav")).await?;
    serde_json::from_slice(&bytes).map_err(|e| HttpError::BadReply(e.to_string()))
}

/// Downloads a sample's file.
pub async fn download_sample(
    origin: &str,
    session: SessionId,
    id: &SampleId,
) -> Result<Vec<u8>, HttpError> {
    call(
        "GET",
        &format!("{origin}{}", api::sample_path(session, id)),
        None,
        None,
    )
    .await
}
