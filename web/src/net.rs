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

/// `GET /api/auth/me`: who the page's sign-in cookie signs in (`None`: signed out). The cookie
/// is HttpOnly: the page never sees the token, only this answer.
pub async fn me(origin: &str) -> Result<Option<keyboardia_core::oauth::Account>, HttpError> {
    match call("GET", &format!("{origin}{}", api::ME_PATH), None, None).await {
        Ok(bytes) => serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| HttpError::BadReply(e.to_string())),
        Err(HttpError::Refused { status: 401, .. }) => Ok(None),
        Err(e) => Err(e),
    }
}

/// `POST /api/sessions/{id}/ticket`: a short-lived ticket for the live socket of `session`,
/// for the signed-in page (`None`: signed out).
pub async fn ticket(origin: &str, session: SessionId) -> Result<Option<String>, HttpError> {
    let url = format!("{origin}{}", api::ticket_path(session));
    match call("POST", &url, None, None).await {
        Ok(bytes) => serde_json::from_slice::<keyboardia_core::oauth::SocketTicket>(&bytes)
            .map(|t| Some(t.ticket))
            .map_err(|e| HttpError::BadReply(e.to_string())),
        Err(HttpError::Refused { status: 401, .. }) => Ok(None),
        Err(e) => Err(e),
    }
}

/// `POST /auth/email`: mails a sign-in link to `email` whose page returns to `next` (a path on
/// this site), signed in.
pub async fn send_sign_in_link(origin: &str, email: &str, next: &str) -> Result<(), HttpError> {
    let body = format!(
        "email={}&next={}",
        js_sys::encode_uri_component(email),
        js_sys::encode_uri_component(next)
    );
    call(
        "POST",
        &format!("{origin}/auth/email"),
        Some(body.as_bytes()),
        Some("application/x-www-form-urlencoded"),
    )
    .await
    .map(drop)
}

/// `POST /api/auth/revoke`: signs the page out (the server revokes the cookie's sign-in and
/// clears the cookie).
pub async fn sign_out(origin: &str) -> Result<(), HttpError> {
    call(
        "POST",
        &format!("{origin}{}", api::REVOKE_PATH),
        Some(b""),
        Some("application/x-www-form-urlencoded"),
    )
    .await
    .map(drop)
}

/// `POST /api/sessions/{id}/claim` for the signed-in page.
pub async fn claim(origin: &str, id: SessionId) -> Result<Session, HttpError> {
    let bytes = call(
        "POST",
        &format!("{origin}{}", api::claim_path(id)),
        None,
        None,
    )
    .await?;
    serde_json::from_slice(&bytes).map_err(|e| HttpError::BadReply(e.to_string()))
}

/// `PATCH /api/sessions/{id}` with `{mode}`: the owner locks or unlocks the session.
pub async fn set_mode(
    origin: &str,
    id: SessionId,
    mode: keyboardia_core::Mode,
) -> Result<Session, HttpError> {
    let body = serde_json::to_vec(&api::SetMode { mode })
        .map_err(|e| HttpError::BadReply(e.to_string()))?;
    let bytes = call(
        "PATCH",
        &format!("{origin}{}", api::session_path(id)),
        Some(&body),
        Some("application/json"),
    )
    .await?;
    serde_json::from_slice(&bytes).map_err(|e| HttpError::BadReply(e.to_string()))
}

/// `PATCH /api/auth/me` with `{name}`: the signed-in page's new display name; the account.
pub async fn set_name(
    origin: &str,
    name: &str,
) -> Result<keyboardia_core::oauth::Account, HttpError> {
    let body = serde_json::to_vec(&api::SetName {
        name: name.to_owned(),
    })
    .map_err(|e| HttpError::BadReply(e.to_string()))?;
    let bytes = call(
        "PATCH",
        &format!("{origin}{}", api::ME_PATH),
        Some(&body),
        Some("application/json"),
    )
    .await?;
    serde_json::from_slice(&bytes).map_err(|e| HttpError::BadReply(e.to_string()))
}
