//! Sign-in: who a request is ([`user_of`]), the device authorization grant (RFC 8628) and the
//! token endpoint, revocation, the live socket's tickets, and the sign-in web pages (by email
//! link: the `send_email` binding `EMAIL`; under `wrangler dev` the local runtime writes each
//! mail to a file under `.wrangler/tmp/email/` and sends nothing).
//!
//! Tokens are [`crate::token`]'s, signed with the `AUTH_SECRET` Worker secret; every one names
//! its grant in D1 ([`accounts`]), checked on each use, so signing out revokes them at once.
//! Secrets never appear in URLs (the sign-in link's is in the fragment; the live socket takes a
//! short-lived ticket), logs or error replies.

use keyboardia_core::access::{clean_display_name, is_user_id};
use keyboardia_core::api::{SetName, OWNER_KEY_PARAM, TICKET_PARAM};
use keyboardia_core::oauth::{
    is_valid_client_id, Account, DeviceAuthorization, OAuthError, OAuthErrorBody, SocketTicket,
    TokenReply, BEARER, DEVICE_CODE_GRANT_TYPE, DEVICE_PAGE_PATH, REFRESH_TOKEN_GRANT_TYPE,
    USER_CODE_PARAM,
};
use keyboardia_core::SessionId;
use worker::{
    Env, Headers, Method, Request, Response, ResponseBuilder, SendEmail, SendEmailBuilder,
};

use super::accounts::{self, LinkRefused, Refresh};
use super::http::{body_bytes, json_of, now_ms, random16, ApiResult};
use super::limiter;
use crate::api_error::ApiError;
use crate::auth_pages::{self as html, AuthPage, MAGIC_LINK_TTL_MIN, WEB_SESSION_COOKIE};
use crate::device::{self, Poll, DEVICE_CODE_TTL_S, POLL_INTERVAL_S, USER_CODE_LEN};
use crate::limits::Bucket;
use crate::owner::{bearer_key, owner_id_for_key, OWNER_KEY_MAX_BYTES};
use crate::token::{
    self, hash_secret, secret_from_random, Claims, Kind, ACCESS_TOKEN_TTL_S, TICKET_TTL_S,
    WEB_SESSION_TTL_S,
};

/// The `send_email` binding in `wrangler.toml`.
const EMAIL_BINDING: &str = "EMAIL";
/// A refresh token lives this long (unused).
const REFRESH_TTL_MS: f64 = 60.0 * 24.0 * 3600.0 * 1000.0;
/// Longest form body accepted by the sign-in endpoints.
const FORM_MAX_BYTES: usize = 4096;

/// The signing secret (`AUTH_SECRET`: a Worker secret, `.dev.vars` locally).
fn secret(env: &Env) -> ApiResult<Vec<u8>> {
    let s = env
        .secret("AUTH_SECRET")
        .map(|s| s.to_string())
        .or_else(|_| env.var("AUTH_SECRET").map(|v| v.to_string()))
        .map_err(|_| ApiError::internal("AUTH_SECRET is not configured"))?;
    if s.len() < token::MIN_SECRET_BYTES {
        return Err(ApiError::internal("AUTH_SECRET is shorter than 32 bytes"));
    }
    Ok(s.into_bytes())
}

fn var_u64(env: &Env, name: &str, default: u64) -> u64 {
    env.var(name)
        .ok()
        .and_then(|v| v.to_string().trim().parse().ok())
        .unwrap_or(default)
}

fn random32() -> ApiResult<[u8; 32]> {
    let (a, b) = (random16()?, random16()?);
    let mut out = [0; 32];
    out[..16].copy_from_slice(&a);
    out[16..].copy_from_slice(&b);
    Ok(out)
}

/// A verified token's claims, with its grant still active. An owner key's ticket names no grant
/// (keys are not revocable; [`token::OWNER_KEY_GRANT`]).
async fn verified(env: &Env, kind: Kind, t: &str) -> ApiResult<Claims> {
    let claims = token::verify(&secret(env)?, kind, t, now_ms() as u64)?;
    let key_ticket =
        kind == Kind::Ticket && claims.gid == token::OWNER_KEY_GRANT && !is_user_id(&claims.sub);
    if !key_ticket && !accounts::grant_active(env, &claims.gid, &claims.sub).await? {
        return Err(ApiError::unauthorized());
    }
    Ok(claims)
}

fn bearer(req: &Request) -> ApiResult<Option<String>> {
    Ok(req
        .headers()
        .get("authorization")?
        .and_then(|h| h.strip_prefix("Bearer ").map(|t| t.trim().to_owned()))
        .filter(|t| !t.is_empty()))
}

/// Who the request is, for a write: a signed-in user's id (`Authorization: Bearer <access
/// token>`, or the web app's sign-in cookie: [`cookie_user`]), the owner id of an owner key
/// (`Bearer <key>`), or anonymous. A token that does not verify is a 401, never anonymous.
pub async fn user_of(req: &Request, env: &Env) -> ApiResult<Option<String>> {
    match bearer_user(req, env).await? {
        Some(user) => Ok(Some(user)),
        None if bearer(req)?.is_none() => Ok(cookie_user(req, env).await?.map(|c| c.sub)),
        None => Ok(None),
    }
}

/// [`user_of`] from the `Authorization` header alone (the live socket takes no cookie: a
/// browser's socket carries a ticket).
async fn bearer_user(req: &Request, env: &Env) -> ApiResult<Option<String>> {
    let Some(t) = bearer(req)? else {
        return Ok(None);
    };
    if Kind::Access.looks_like(&t) {
        return Ok(Some(verified(env, Kind::Access, &t).await?.sub));
    }
    match bearer_key(&format!("Bearer {t}")) {
        Some(key) => Ok(Some(owner_id_for_key(key))),
        None => Err(ApiError::unauthorized()),
    }
}

/// The web app's signed-in user: its HttpOnly sign-in cookie ([`WEB_SESSION_COOKIE`], set when
/// a sign-in link is spent), verified, with its grant active. Only for requests from this
/// site's own pages: a request that changes something must carry this origin's `Origin`
/// header (browsers send it with every such request; the cookie is `SameSite=Lax` besides), so
/// another site can never act with a visitor's cookie. A cookie that does not verify signs
/// nobody in.
async fn cookie_user(req: &Request, env: &Env) -> ApiResult<Option<Claims>> {
    let reads_only = matches!(req.method(), Method::Get | Method::Head);
    if !reads_only && req.headers().get("origin")?.as_deref() != Some(origin(req)?.as_str()) {
        return Ok(None);
    }
    for c in cookies(req, WEB_SESSION_COOKIE)? {
        if let Ok(claims) = verified(env, Kind::WebSession, &c).await {
            return Ok(Some(claims));
        }
    }
    Ok(None)
}

/// The signed-in user (an access token, or the web app's cookie; not an owner key), or a 401.
async fn require_user(req: &Request, env: &Env) -> ApiResult<Claims> {
    match bearer(req)? {
        Some(t) if Kind::Access.looks_like(&t) => verified(env, Kind::Access, &t).await,
        Some(_) => Err(ApiError::unauthorized()),
        None => cookie_user(req, env)
            .await?
            .ok_or_else(ApiError::unauthorized),
    }
}

/// Who opens a live socket of session `id`: a ticket's user (`?ticket=`), an owner key's id
/// (`?key=`, or the bearer header of non-browser clients), or anonymous.
pub async fn socket_user(req: &Request, env: &Env, id: SessionId) -> ApiResult<Option<String>> {
    let url = req.url()?;
    let param = |name: &str| {
        url.query_pairs()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
    };
    if let Some(t) = param(TICKET_PARAM) {
        let claims = verified(env, Kind::Ticket, &t).await?;
        if claims.ses.as_deref() != Some(id.to_string().as_str()) {
            return Err(ApiError::unauthorized());
        }
        return Ok(Some(claims.sub));
    }
    // Kept for clients of earlier builds: today's apps ask for a ticket with the key instead
    // ([`ticket`]), so the key never goes in a URL.
    if let Some(k) = param(OWNER_KEY_PARAM) {
        return Ok((!k.is_empty() && k.len() <= OWNER_KEY_MAX_BYTES).then(|| owner_id_for_key(&k)));
    }
    bearer_user(req, env).await
}

/// Parses a form body (`application/x-www-form-urlencoded`).
async fn form(req: &mut Request) -> ApiResult<Vec<(String, String)>> {
    let bytes = body_bytes(req, FORM_MAX_BYTES, "the form").await?;
    Ok(form_urlencoded::parse(&bytes).into_owned().collect())
}

fn field<'a>(form: &'a [(String, String)], name: &str) -> Option<&'a str> {
    form.iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

fn no_store(resp: Response) -> ApiResult {
    resp.headers().set("cache-control", "no-store")?;
    Ok(resp)
}

/// An RFC 6749 §5.2 refusal of the token endpoint.
fn oauth_error(error: OAuthError, description: &str) -> ApiResult {
    let status = if error == OAuthError::InvalidClient {
        401
    } else {
        400
    };
    no_store(json_of(
        status,
        &OAuthErrorBody {
            error,
            error_description: Some(description.into()),
        },
    )?)
}

fn origin(req: &Request) -> ApiResult<String> {
    Ok(req.url()?.origin().ascii_serialization())
}

/// `POST /api/auth/device` (form `client_id`): RFC 8628 §3.1–3.2.
pub async fn device_authorization(mut req: Request, env: &Env) -> ApiResult {
    let form = form(&mut req).await?;
    let Some(client_id) = field(&form, "client_id").filter(|c| is_valid_client_id(c)) else {
        return oauth_error(
            OAuthError::InvalidClient,
            "client_id: 1-64 of [A-Za-z0-9._-]",
        );
    };
    let device_code = secret_from_random(random32()?);
    let r = random16()?;
    let mut b = [0; USER_CODE_LEN];
    b.copy_from_slice(&r[..USER_CODE_LEN]);
    let user_code = device::user_code_from_random(b);
    let ttl_s = var_u64(env, "DEVICE_CODE_TTL_S", DEVICE_CODE_TTL_S);
    let interval = var_u64(env, "DEVICE_POLL_INTERVAL_S", POLL_INTERVAL_S);
    accounts::store_device_code(
        env,
        &hash_secret(&device_code),
        &user_code,
        client_id,
        now_ms() + ttl_s as f64 * 1000.0,
        interval,
    )
    .await?;
    let shown = device::display_user_code(&user_code);
    let page = format!("{}{DEVICE_PAGE_PATH}", origin(&req)?);
    no_store(json_of(
        200,
        &DeviceAuthorization {
            device_code,
            verification_uri_complete: format!("{page}?{USER_CODE_PARAM}={shown}"),
            verification_uri: page,
            user_code: shown,
            expires_in: ttl_s,
            interval,
        },
    )?)
}

/// New tokens of a grant.
async fn issue(env: &Env, grant_id: &str, user_id: &str) -> ApiResult {
    let ttl_s = var_u64(env, "ACCESS_TOKEN_TTL_S", ACCESS_TOKEN_TTL_S);
    let now = now_ms();
    let access_token = token::sign(
        &secret(env)?,
        Kind::Access,
        &Claims {
            sub: user_id.into(),
            gid: grant_id.into(),
            ses: None,
            exp_ms: now as u64 + ttl_s * 1000,
        },
    )?;
    let refresh_token = secret_from_random(random32()?);
    accounts::store_refresh(
        env,
        &hash_secret(&refresh_token),
        grant_id,
        now + REFRESH_TTL_MS,
    )
    .await?;
    no_store(json_of(
        200,
        &TokenReply {
            access_token,
            token_type: BEARER.into(),
            expires_in: ttl_s,
            refresh_token,
        },
    )?)
}

/// `POST /api/auth/token`: device-code polls (RFC 8628 §3.4–3.5) and refreshes (RFC 6749 §6).
pub async fn token(mut req: Request, env: &Env) -> ApiResult {
    let form = form(&mut req).await?;
    match field(&form, "grant_type") {
        Some(DEVICE_CODE_GRANT_TYPE) => {
            let (Some(code), Some(client_id)) =
                (field(&form, "device_code"), field(&form, "client_id"))
            else {
                return oauth_error(OAuthError::InvalidRequest, "device_code and client_id");
            };
            let hash = hash_secret(code);
            let Some(stored) = accounts::device_code(env, &hash).await? else {
                return oauth_error(OAuthError::InvalidGrant, "unknown device code");
            };
            let now = now_ms();
            match device::poll(&stored, client_id, now) {
                Poll::Refuse {
                    error,
                    store_interval_s,
                } => {
                    if error.keep_polling() {
                        accounts::record_poll(env, &hash, now, store_interval_s).await?;
                    }
                    oauth_error(error, "see RFC 8628 section 3.5")
                }
                Poll::Issue { user_id } => {
                    if !accounts::spend_device_code(env, &hash).await? {
                        return oauth_error(OAuthError::InvalidGrant, "device code already used");
                    }
                    let grant =
                        accounts::new_grant(env, &user_id, client_id, "device", now).await?;
                    issue(env, &grant, &user_id).await
                }
            }
        }
        Some(REFRESH_TOKEN_GRANT_TYPE) => {
            let Some(refresh) = field(&form, "refresh_token") else {
                return oauth_error(OAuthError::InvalidRequest, "refresh_token");
            };
            match accounts::take_refresh(env, &hash_secret(refresh), now_ms()).await? {
                Refresh::Spent { grant_id, user_id } => issue(env, &grant_id, &user_id).await,
                Refresh::Refused => oauth_error(OAuthError::InvalidGrant, "sign in again"),
            }
        }
        _ => oauth_error(
            OAuthError::UnsupportedGrantType,
            "device_code or refresh_token",
        ),
    }
}

/// `POST /api/auth/revoke`: signs out (RFC 7009). Form `token` (a refresh token), or the bearer
/// access token: its grant is revoked, with every token it issued. Always 200, as the RFC says,
/// except a bearer token that does not verify (401).
///
/// The web app signs out here too: its sign-in cookie's grant is revoked and the cookie
/// cleared.
pub async fn revoke(mut req: Request, env: &Env) -> ApiResult {
    let now = now_ms();
    if let Some(t) = bearer(&req)? {
        if Kind::Access.looks_like(&t) {
            let claims = verified(env, Kind::Access, &t).await?;
            accounts::revoke_grant(env, &claims.gid, now).await?;
        }
    }
    let web = cookie_user(&req, env).await?;
    if let Some(claims) = &web {
        accounts::revoke_grant(env, &claims.gid, now).await?;
    }
    let form = form(&mut req).await?;
    if let Some(t) = field(&form, "token") {
        if let Some(grant) = accounts::grant_of_refresh(env, &hash_secret(t)).await? {
            accounts::revoke_grant(env, &grant, now).await?;
        }
    }
    let resp = no_store(json_of(200, &serde_json::json!({ "revoked": true }))?)?;
    if web.is_some() {
        for c in clear_cookies(&req)? {
            resp.headers().append("set-cookie", &c)?;
        }
    }
    Ok(resp)
}

/// `GET /api/auth/me`
pub async fn me(req: Request, env: &Env) -> ApiResult {
    let claims = require_user(&req, env).await?;
    let account = accounts::account(env, &claims.sub)
        .await?
        .ok_or_else(ApiError::unauthorized)?;
    no_store(json_of(200, &account)?)
}

/// `PATCH /api/auth/me` with `{"name"}`: the signed-in user's new display name (what beats
/// published from now on show); replies with the account.
pub async fn set_name(mut req: Request, env: &Env) -> ApiResult {
    let claims = require_user(&req, env).await?;
    let bytes = body_bytes(&mut req, FORM_MAX_BYTES, "the body").await?;
    let body: SetName =
        serde_json::from_slice(&bytes).map_err(|e| ApiError::json(&e.to_string()))?;
    let name = clean_display_name(&body.name)?;
    accounts::set_name(env, &claims.sub, &name).await?;
    let account = accounts::account(env, &claims.sub)
        .await?
        .ok_or_else(ApiError::unauthorized)?;
    no_store(json_of(200, &account)?)
}

/// The signed-in user of a request (for claim and ticket): id and grant.
pub async fn signed_in(req: &Request, env: &Env) -> ApiResult<String> {
    let claims = require_user(req, env).await?;
    if !is_user_id(&claims.sub) {
        return Err(ApiError::unauthorized());
    }
    Ok(claims.sub)
}

/// `POST /api/sessions/{id}/ticket`: a ticket for the live socket of session `id`, for a
/// signed-in user, or for the holder of an owner key (`Bearer <key>`: the ticket then names the
/// key's owner id, so the key itself never goes in the socket's URL).
pub async fn ticket(req: Request, id: SessionId, env: &Env) -> ApiResult {
    let key = bearer(&req)?
        .filter(|t| !Kind::Access.looks_like(t))
        .map(|t| format!("Bearer {t}"));
    let claims = match key.as_deref().and_then(bearer_key) {
        Some(k) => Claims {
            sub: owner_id_for_key(k),
            gid: token::OWNER_KEY_GRANT.into(),
            ses: None,
            exp_ms: 0,
        },
        None => require_user(&req, env).await?,
    };
    let ticket = token::sign(
        &secret(env)?,
        Kind::Ticket,
        &Claims {
            ses: Some(id.to_string()),
            exp_ms: now_ms() as u64 + TICKET_TTL_S * 1000,
            ..claims
        },
    )?;
    no_store(json_of(
        200,
        &SocketTicket {
            ticket,
            expires_in: TICKET_TTL_S,
        },
    )?)
}

// ---- the web pages -------------------------------------------------------------------------

fn page(status: u16, body: String) -> ApiResult {
    let headers = Headers::new();
    headers.set("content-type", "text/html; charset=utf-8")?;
    headers.set("cache-control", "no-store")?;
    headers.set("referrer-policy", "no-referrer")?;
    headers.set("x-frame-options", "DENY")?;
    Ok(ResponseBuilder::new()
        .with_status(status)
        .with_headers(headers)
        .fixed(body.into_bytes()))
}

fn see_other(to: &str, cookies: Vec<String>) -> ApiResult {
    let headers = Headers::new();
    headers.set("location", to)?;
    headers.set("cache-control", "no-store")?;
    for c in cookies {
        headers.append("set-cookie", &c)?;
    }
    Ok(ResponseBuilder::new()
        .with_status(303)
        .with_headers(headers)
        .empty())
}

/// Every value of cookie `name` the request carries (a browser sends one per path it was set
/// for, the most specific first).
fn cookies(req: &Request, name: &str) -> ApiResult<Vec<String>> {
    Ok(req
        .headers()
        .get("cookie")?
        .map(|h| {
            h.split(';')
                .filter_map(|kv| kv.trim().split_once('='))
                .filter(|(k, _)| *k == name)
                .map(|(_, v)| v.to_owned())
                .collect()
        })
        .unwrap_or_default())
}

/// The sign-in cookie: HttpOnly (no script of the page ever reads the token), `SameSite=Lax`,
/// `Secure` over https, for the whole site (the app at `/s/…` and its API calls use it).
fn session_cookie(req: &Request, value: &str, max_age_s: u64, path: &str) -> ApiResult<String> {
    let secure = if req.url()?.scheme() == "https" {
        "; Secure"
    } else {
        ""
    };
    Ok(format!(
        "{WEB_SESSION_COOKIE}={value}; Path={path}; HttpOnly; SameSite=Lax; Max-Age={max_age_s}{secure}"
    ))
}

/// Clears the sign-in cookie: the site-wide one and the `/auth` one earlier builds set.
fn clear_cookies(req: &Request) -> ApiResult<Vec<String>> {
    Ok(vec![
        session_cookie(req, "", 0, "/")?,
        session_cookie(req, "", 0, "/auth")?,
    ])
}

/// The page's signed-in user, if one of its cookies verifies and its grant is active.
async fn web_user(req: &Request, env: &Env) -> ApiResult<Option<(Claims, Account)>> {
    for c in cookies(req, WEB_SESSION_COOKIE)? {
        let Ok(claims) = verified(env, Kind::WebSession, &c).await else {
            continue;
        };
        return Ok(accounts::account(env, &claims.sub)
            .await?
            .map(|a| (claims, a)));
    }
    Ok(None)
}

/// A cross-site form post is refused (the cookie is `SameSite=Lax` too).
fn same_origin(req: &Request) -> ApiResult<()> {
    match req.headers().get("origin")? {
        Some(o) if o != "null" && o != origin(req)? => Err(ApiError::new(
            403,
            keyboardia_core::ErrorCode::NotOwner,
            "cross-site form",
        )),
        _ => Ok(()),
    }
}

/// Answers a sign-in page; refusals are HTML pages.
pub async fn serve(p: AuthPage, req: Request, env: &Env) -> worker::Result<Response> {
    let result = match (p, req.method()) {
        (AuthPage::Device, Method::Get) => device_page(&req, env).await,
        (AuthPage::Device, Method::Post) => decide(req, env).await,
        (AuthPage::Email, Method::Post) => send_link(req, env).await,
        (AuthPage::Magic, Method::Get) => page(200, html::magic_page()),
        (AuthPage::Magic, Method::Post) => spend_link(req, env).await,
        (AuthPage::SignOut, Method::Post) => sign_out(req, env).await,
        (AuthPage::NotFound, _) => page(404, html::message("Not found", "No such page.")),
        _ => page(
            405,
            html::message("Not allowed", "This page takes another method."),
        ),
    };
    match result {
        Ok(r) => Ok(r),
        Err(e) if e.status == 429 => page(429, html::message("Slow down", &e.msg))
            .map_err(|e| worker::Error::RustError(e.msg)),
        Err(e) if e.status >= 500 => {
            worker::console_error!("auth page: {} {}", e.status, e.msg);
            page(
                500,
                html::message("Something went wrong", "Try again in a moment."),
            )
            .map_err(|e| worker::Error::RustError(e.msg))
        }
        Err(e) => page(e.status, html::message("Refused", &e.msg))
            .map_err(|e| worker::Error::RustError(e.msg)),
    }
}

async fn device_page(req: &Request, env: &Env) -> ApiResult {
    let url = req.url()?;
    let typed = url
        .query_pairs()
        .find(|(k, _)| k == USER_CODE_PARAM)
        .map(|(_, v)| v.into_owned());
    let code = typed.as_deref().and_then(device::normalize_user_code);
    let Some((_, account)) = web_user(req, env).await? else {
        let next = match &code {
            Some(c) => format!(
                "{DEVICE_PAGE_PATH}?{USER_CODE_PARAM}={}",
                device::display_user_code(c)
            ),
            None => DEVICE_PAGE_PATH.into(),
        };
        let shown = code.as_deref().map(device::display_user_code);
        return page(200, html::sign_in_page(&next, shown.as_deref()));
    };
    let Some(code) = code else {
        return page(200, html::enter_code_page(&account.email));
    };
    match accounts::device_by_user_code(env, &code).await? {
        Some(d) if d.status == device::Status::Pending && d.expires_ms > now_ms() => page(
            200,
            html::approve_page(
                &account.email,
                &d.client_id,
                &device::display_user_code(&code),
            ),
        ),
        _ => page(
            404,
            html::message(
                "Unknown code",
                "No app is waiting with this code; it may have expired.",
            ),
        ),
    }
}

async fn decide(mut req: Request, env: &Env) -> ApiResult {
    same_origin(&req)?;
    let Some((_, account)) = web_user(&req, env).await? else {
        return page(
            401,
            html::message("Signed out", "Sign in again to approve the app."),
        );
    };
    let form = form(&mut req).await?;
    let code = field(&form, USER_CODE_PARAM).and_then(device::normalize_user_code);
    let approve = field(&form, "action") == Some("approve");
    let Some(code) = code else {
        return page(
            400,
            html::message("Unknown code", "That is not a code an app shows."),
        );
    };
    let user = approve.then_some(account.id.as_str());
    if !accounts::decide_device(env, &code, user, now_ms()).await? {
        return page(
            404,
            html::message(
                "Unknown code",
                "No app is waiting with this code; it may have expired.",
            ),
        );
    }
    if approve {
        page(
            200,
            html::message("Approved", "The app is signed in. You can close this page."),
        )
    } else {
        page(200, html::message("Denied", "The app was not signed in."))
    }
}

async fn send_link(mut req: Request, env: &Env) -> ApiResult {
    same_origin(&req)?;
    limiter::check(&req, env, Bucket::SignIn).await?;
    let form = form(&mut req).await?;
    let Some(email) = field(&form, "email").and_then(html::normalize_email) else {
        return page(
            400,
            html::message("Check the address", "That is not an email address."),
        );
    };
    let next = field(&form, "next")
        .filter(|n| html::is_local_path(n))
        .unwrap_or(DEVICE_PAGE_PATH);
    let link_secret = secret_from_random(random32()?);
    let expires = now_ms() + MAGIC_LINK_TTL_MIN as f64 * 60_000.0;
    accounts::store_magic_link(env, &hash_secret(&link_secret), &email, next, expires).await?;
    let link = format!("{}/auth/magic#{link_secret}", origin(&req)?);
    let (subject, text, body_html) = html::sign_in_mail(&link, &email);
    let from = env
        .var("MAIL_FROM")
        .map(|v| v.to_string())
        .unwrap_or_else(|_| "sign-in@keyboardia.example".into());
    let mail = SendEmailBuilder::builder(&from, &email, &subject)
        .text(&text)
        .html(&body_html)
        .build();
    let sender: SendEmail = env.get_binding(EMAIL_BINDING)?;
    sender
        .send_with_builder(&mail)
        .await
        .map_err(|_| ApiError::internal("sending the sign-in mail failed"))?;
    page(200, html::link_sent_page(&email))
}

async fn spend_link(mut req: Request, env: &Env) -> ApiResult {
    same_origin(&req)?;
    let form = form(&mut req).await?;
    let link_secret = field(&form, "token").unwrap_or_default();
    let now = now_ms();
    let (email, next) = match accounts::take_magic_link(env, &hash_secret(link_secret), now).await?
    {
        Ok(taken) => taken,
        Err(LinkRefused::Used) => {
            return page(
                400,
                html::message(
                    "Link already used",
                    "This sign-in link was used already. Ask for a new one.",
                ),
            )
        }
        Err(LinkRefused::Invalid) => {
            return page(
                400,
                html::message(
                    "Link expired",
                    "This sign-in link is unknown or expired. Ask for a new one.",
                ),
            )
        }
    };
    let account = accounts::user_for_email(env, &email, now).await?;
    let grant = accounts::new_grant(env, &account.id, "web", "web", now).await?;
    let value = token::sign(
        &secret(env)?,
        Kind::WebSession,
        &Claims {
            sub: account.id,
            gid: grant,
            ses: None,
            exp_ms: now as u64 + WEB_SESSION_TTL_S * 1000,
        },
    )?;
    see_other(
        &next,
        vec![session_cookie(&req, &value, WEB_SESSION_TTL_S, "/")?],
    )
}

async fn sign_out(req: Request, env: &Env) -> ApiResult {
    same_origin(&req)?;
    if let Some((claims, _)) = web_user(&req, env).await? {
        accounts::revoke_grant(env, &claims.gid, now_ms()).await?;
    }
    see_other(DEVICE_PAGE_PATH, clear_cookies(&req)?)
}
