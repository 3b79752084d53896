//! The web app's pages (see [`crate::pages`]): `/` starts a session on the demo pattern,
//! `/s/{id}` serves the app's `index.html` from the `ASSETS` binding with the session's preview
//! metadata. Every refusal here is an HTML page, never the API's JSON.
//!
//! `wrangler.toml`'s `[assets] run_worker_first` sends these paths to the Worker; every other
//! path of the app is a static asset the runtime serves itself (`_headers` sets the long cache
//! of content-hashed files).

use keyboardia_core::schema::session_from_json;
use keyboardia_core::{BeatId, ErrorCode, Session, SessionId, SessionState};
use worker::{Env, Headers, Method, Request, Response, ResponseBuilder};

use super::http::{now_ms, random16, random_seed, ApiResult};
use super::{beats, limiter, store};
use crate::api_error::ApiError;
use crate::limits::Bucket;
use crate::pages::{
    bad_beat_id_page, bad_id_page, beat_not_found_page, beat_page_path, fill_index, message_page,
    not_found_page, session_page_path, Page, Preview, INDEX_ASSET_PATH,
};

/// The binding name of the app's static assets in `wrangler.toml`.
pub const ASSETS_BINDING: &str = "ASSETS";

/// Answers a page request; refusals become HTML pages.
pub async fn serve(page: Page, req: Request, env: &Env) -> worker::Result<Response> {
    let result = match (&page, req.method()) {
        (Page::New, Method::Get) => new_session(&req, env).await,
        (Page::Session(id), Method::Get | Method::Head) => session_page(*id, &req, env).await,
        (Page::BadId(e), _) => html(400, bad_id_page(e)),
        (Page::Beat(id), Method::Get | Method::Head) => beat_page(*id, &req, env).await,
        (Page::BadBeatId(e), _) => html(400, bad_beat_id_page(e)),
        (Page::NotFound, _) => html(404, not_found_page()),
        _ => Err(ApiError::new(
            405,
            ErrorCode::MethodNotAllowed,
            "this page is only fetched with GET",
        )),
    };
    match result {
        Ok(resp) => Ok(resp),
        Err(e) => error_page(&e),
    }
}

/// An HTML reply that no cache keeps (pages follow their session).
fn html(status: u16, body: String) -> ApiResult {
    let headers = Headers::new();
    headers.set("content-type", "text/html; charset=utf-8")?;
    headers.set("cache-control", "no-store")?;
    headers.set("x-content-type-options", "nosniff")?;
    Ok(ResponseBuilder::new()
        .with_status(status)
        .with_headers(headers)
        .fixed(body.into_bytes()))
}

/// The HTML page of a refusal.
fn error_page(e: &ApiError) -> worker::Result<Response> {
    let body = match e.status {
        404 => not_found_page(),
        429 => message_page(
            "Too many new sessions",
            &format!(
                "Too many sessions were started from your address. Try again in {} s.",
                e.retry_after_s.unwrap_or(60)
            ),
        ),
        405 => message_page("Not allowed", &e.msg),
        s => message_page(
            "The server could not answer",
            &format!("Something went wrong on the server ({s}). Try again in a moment."),
        ),
    };
    let resp = match html(e.status, body) {
        Ok(r) => r,
        Err(_) => return Response::error("internal error", 500),
    };
    if let Some(s) = e.retry_after_s {
        resp.headers()
            .set(keyboardia_core::api::RETRY_AFTER_HEADER, &s.to_string())?;
    }
    if e.status == 405 {
        resp.headers().set("allow", "GET")?;
    }
    Ok(resp)
}

/// `GET /`: a new collaborative session on the demo pattern (rate-limited like
/// `POST /api/sessions`), then `302` to its page.
async fn new_session(req: &Request, env: &Env) -> ApiResult {
    limiter::check(req, env, Bucket::Create).await?;
    let id = SessionId::from_random_bytes(random16()?);
    let state = SessionState {
        seed: random_seed()?,
        ..SessionState::demo()
    };
    let session = Session::new(id, now_ms() as u64, state);
    store::put(env, &session).await?;
    let headers = Headers::new();
    headers.set("location", &session_page_path(id))?;
    headers.set("cache-control", "no-store")?;
    Ok(ResponseBuilder::new()
        .with_status(302)
        .with_headers(headers)
        .empty())
}

/// `GET /s/{id}`: the app's page with the session's metadata, or the 404 page.
async fn session_page(id: SessionId, req: &Request, env: &Env) -> ApiResult {
    let (text, _) = store::read(env, id).await?;
    let session = session_from_json(text.as_bytes())
        .map_err(|e| ApiError::internal(format!("stored session {id} is unreadable: {e}")))?;
    let origin = req.url()?.origin().ascii_serialization();
    let preview = Preview::of(&session, &format!("{origin}{}", session_page_path(id)));
    app_page(&origin, &preview, env).await
}

/// `GET /b/{id}`: the app's page with the beat's metadata (the app plays it read-only), or
/// the beat's 404 page.
async fn beat_page(id: BeatId, req: &Request, env: &Env) -> ApiResult {
    let beat = match beats::load(env, id).await {
        Ok((beat, _)) => beat,
        Err(e) if e.status == 404 => return html(404, beat_not_found_page()),
        Err(e) => return Err(e),
    };
    let origin = req.url()?.origin().ascii_serialization();
    let preview = Preview::of_beat(&beat, &format!("{origin}{}", beat_page_path(id)));
    app_page(&origin, &preview, env).await
}

/// The app's `index.html` from the assets, with `preview`'s metadata.
async fn app_page(origin: &str, preview: &Preview, env: &Env) -> ApiResult {
    let mut index = env
        .assets(ASSETS_BINDING)?
        .fetch(format!("{origin}{INDEX_ASSET_PATH}"), None)
        .await?;
    if index.status_code() != 200 {
        return Err(ApiError::internal(format!(
            "the web app's index.html is missing from the assets ({}): run scripts/build-web.sh",
            index.status_code()
        )));
    }
    let page = fill_index(&index.text().await?, &preview.meta_html());
    html(200, page)
}
