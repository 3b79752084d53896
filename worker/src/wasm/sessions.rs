//! The sessions REST API: create, load, save, fork, and the WebSocket hand-off to the session's
//! Durable Object.

use keyboardia_core::api::{CreateSession, RouteError, SetMode, OWNER_KEY_HEADER};
use keyboardia_core::schema::{
    session_from_json, session_to_json, state_from_json, MAX_DOCUMENT_BYTES,
};
use keyboardia_core::{Mode, Session, SessionId, SessionState};
use worker::{Env, Headers, Method, Request, RequestInit, Response};

use super::http::{body_bytes, json, now_ms, random16, random_seed, ApiResult};
use super::live::{self, Call};
use super::{auth, store};
use crate::api_error::ApiError;
use crate::owner::{owner_id_for_key, owner_key_from_random};

/// `POST /api/sessions`
pub async fn create(mut req: Request, env: &Env) -> ApiResult {
    let bytes = body_bytes(&mut req, MAX_DOCUMENT_BYTES, "the body").await?;
    let now = now_ms() as u64;
    let id = SessionId::from_random_bytes(random16()?);
    let mut session = Session::new(id, now, SessionState::default());
    let mut owner_key = None;
    if !bytes.iter().all(u8::is_ascii_whitespace) {
        let body: CreateSession =
            serde_json::from_slice(&bytes).map_err(|e| ApiError::json(&e.to_string()))?;
        if let Some(state) = body.state {
            let doc = serde_json::to_vec(&state).map_err(|e| ApiError::json(&e.to_string()))?;
            session.state = state_from_json(&doc)?;
        }
        if body.mode == Some(Mode::Readonly) {
            let key = owner_key_from_random(random16()?);
            session.mode = Mode::Readonly;
            session.owner_id = Some(owner_id_for_key(&key));
            owner_key = Some(key);
        }
    }
    // Whatever seed the body's document had: each session rolls its own dice.
    session.state.seed = random_seed()?;
    store::put(env, &session).await?;
    let resp = json(201, session_to_json(&session))?;
    if let Some(key) = owner_key {
        resp.headers().set(OWNER_KEY_HEADER, &key)?;
    }
    Ok(resp)
}

/// `GET /api/sessions/{id}`
pub async fn get(id: SessionId, env: &Env) -> ApiResult {
    let (text, renew) = store::read(env, id).await?;
    if renew {
        // The session's DO rewrites it (with a fresh TTL) and answers with what it wrote.
        let mut init = RequestInit::new();
        init.with_method(Method::Post);
        return live::call(env, id, Call::Renew, &init).await;
    }
    json(200, text)
}

/// Who a request is (a signed-in user, an owner key's owner id, or anonymous): see
/// [`auth::user_of`].
pub(super) use super::auth::user_of;

fn internal_headers(from: &Headers, user: Option<&str>) -> ApiResult<Headers> {
    let headers = from.clone();
    headers.delete(live::USER_HEADER)?;
    if let Some(user) = user {
        headers.set(live::USER_HEADER, user)?;
    }
    Ok(headers)
}

/// `PUT /api/sessions/{id}`: validated here, applied by the session's Durable Object (the one
/// writer of a session once it exists), which updates live players and KV.
pub async fn save(mut req: Request, id: SessionId, env: &Env) -> ApiResult {
    let bytes = body_bytes(&mut req, MAX_DOCUMENT_BYTES, "the document").await?;
    let state = state_from_json(&bytes)?;
    let user = user_of(&req, env).await?;
    let body = serde_json::to_string(&state).map_err(|e| ApiError::internal(e.to_string()))?;
    let mut init = RequestInit::new();
    init.with_method(Method::Post)
        .with_headers(internal_headers(&Headers::new(), user.as_deref())?)
        .with_body(Some(body.into()));
    live::call(env, id, Call::Save, &init).await
}

/// `POST /api/sessions/{id}/claim`: the signed-in user becomes the owner of an unowned session
/// (core's [`keyboardia_core::access::claim`], applied by the session's Durable Object, which
/// holds the live session).
pub async fn claim(req: Request, id: SessionId, env: &Env) -> ApiResult {
    let user = auth::signed_in(&req, env).await?;
    let mut init = RequestInit::new();
    init.with_method(Method::Post)
        .with_headers(internal_headers(&Headers::new(), Some(&user))?);
    live::call(env, id, Call::Claim, &init).await
}

/// `PATCH /api/sessions/{id}` with `{"mode"}`: the owner (signed in, or holding the owner key)
/// locks or unlocks the session (core's [`keyboardia_core::access::set_mode`]).
pub async fn set_mode(mut req: Request, id: SessionId, env: &Env) -> ApiResult {
    let user = user_of(&req, env)
        .await?
        .ok_or_else(ApiError::unauthorized)?;
    let bytes = body_bytes(&mut req, 1024, "the body").await?;
    let body: SetMode =
        serde_json::from_slice(&bytes).map_err(|e| ApiError::json(&e.to_string()))?;
    let body = serde_json::to_string(&body).map_err(|e| ApiError::internal(e.to_string()))?;
    let mut init = RequestInit::new();
    init.with_method(Method::Post)
        .with_headers(internal_headers(&Headers::new(), Some(&user))?)
        .with_body(Some(body.into()));
    live::call(env, id, Call::SetMode, &init).await
}

/// `POST /api/sessions/{id}/fork`
pub async fn fork(id: SessionId, env: &Env) -> ApiResult {
    let source = current(env, id).await?;
    let fork = source.fork(SessionId::from_random_bytes(random16()?), now_ms() as u64);
    store::put(env, &fork).await?;
    json(201, session_to_json(&fork))
}

/// The session as its players have it now: the live room is ahead of KV by up to a second.
pub(super) async fn current(env: &Env, id: SessionId) -> ApiResult<Session> {
    let mut init = RequestInit::new();
    init.with_method(Method::Get);
    let mut live = live::call(env, id, Call::Current, &init).await?;
    if live.status_code() == 200 {
        session_from_json(&live.bytes().await?)
            .map_err(|e| ApiError::internal(format!("live session {id} is unreadable: {e}")))
    } else {
        store::get(env, id).await
    }
}

/// `GET /api/sessions/{id}/ws`: hands the upgrade to the session's Durable Object.
pub async fn live_socket(req: Request, id: SessionId, env: &Env) -> ApiResult<Response> {
    let upgrade = req.headers().get("upgrade")?.unwrap_or_default();
    if !upgrade.eq_ignore_ascii_case("websocket") {
        return Err(ApiError::new(
            426,
            keyboardia_core::ErrorCode::Malformed,
            "expected a WebSocket upgrade",
        ));
    }
    let user = auth::socket_user(&req, env, id).await?;
    let mut init = RequestInit::new();
    init.with_method(Method::Get)
        .with_headers(internal_headers(req.headers(), user.as_deref())?);
    live::call(env, id, Call::Socket, &init).await
}

/// `POST /api/sessions/{id}/test/evict`: makes the session's Durable Object forget its room as an
/// eviction would. A 404 unless the `TEST_HOOKS` var is `"1"`.
pub async fn test_evict(id: SessionId, env: &Env) -> ApiResult {
    let enabled = env.var("TEST_HOOKS").is_ok_and(|v| v.to_string() == "1");
    if !enabled {
        return Err(RouteError::NotFound.into());
    }
    let mut init = RequestInit::new();
    init.with_method(Method::Post);
    live::call(env, id, Call::Evict, &init).await
}
