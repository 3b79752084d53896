//! The fetch entry point: parse the route (core's one table, [`Route::parse`]), apply the
//! client-address limits, dispatch. No work happens here; each feature's handlers live in their
//! own module.

use keyboardia_core::api::{Health, Method, Route};
use worker::{event, Context, Env, Request, Response};

use super::http::{error_response, json_of, ApiResult};
use super::{auth, beats, limiter, pages, samples, sessions};
use crate::limits::Bucket;

#[event(fetch)]
async fn fetch(req: Request, env: Env, _ctx: Context) -> worker::Result<Response> {
    if let Some(page) = crate::auth_pages::AuthPage::parse(&req.path()) {
        return auth::serve(page, req, &env).await;
    }
    if let Some(page) = crate::pages::Page::parse(&req.path()) {
        return pages::serve(page, req, &env).await;
    }
    match dispatch(req, env).await {
        Ok(resp) => Ok(resp),
        Err(e) => error_response(&e),
    }
}

fn method(req: &Request) -> Method {
    match req.method() {
        worker::Method::Get => Method::Get,
        worker::Method::Post => Method::Post,
        worker::Method::Put => Method::Put,
        worker::Method::Patch => Method::Patch,
        // PATCH, DELETE, …: no route takes them (a 405 where the path exists).
        _ => Method::Other,
    }
}

async fn dispatch(req: Request, env: Env) -> ApiResult {
    let route = Route::parse(method(&req), &req.path())?;
    if let Some(bucket) = Bucket::for_route(&route) {
        limiter::check(&req, &env, bucket).await?;
    }
    match route {
        Route::Health => json_of(200, &Health { ok: true }),
        Route::CreateSession => sessions::create(req, &env).await,
        Route::GetSession(id) => sessions::get(id, &env).await,
        Route::SaveSession(id) => sessions::save(req, id, &env).await,
        Route::ForkSession(id) => sessions::fork(id, &env).await,
        Route::LiveSocket(id) => sessions::live_socket(req, id, &env).await,
        Route::UploadSample(id) => samples::upload(req, id, &env).await,
        Route::DownloadSample(id, sample) => samples::download(id, sample, &env).await,
        Route::TestEvict(id) => sessions::test_evict(id, &env).await,
        Route::TestDropSamples(id) => samples::test_drop(id, &env).await,
        Route::PublishBeat(id) => beats::publish(req, id, &env).await,
        Route::ListBeats(id) => beats::list(id, &env).await,
        Route::GetBeat(id) => beats::get(id, &env).await,
        Route::RemixBeat(id) => beats::remix(id, &env).await,
        Route::BeatSample(id, sample) => beats::sample(id, sample, &env).await,
        Route::ClaimSession(id) => sessions::claim(req, id, &env).await,
        Route::SetMode(id) => sessions::set_mode(req, id, &env).await,
        Route::SocketTicket(id) => auth::ticket(req, id, &env).await,
        Route::DeviceAuthorization => auth::device_authorization(req, &env).await,
        Route::Token => auth::token(req, &env).await,
        Route::Revoke => auth::revoke(req, &env).await,
        Route::Me => auth::me(req, &env).await,
        Route::SetName => auth::set_name(req, &env).await,
    }
}
