//! The REST API, defined once: every route (parsed from a method and a path, and built back from
//! typed values), the path, query and header names, and the JSON bodies of requests and replies.
//!
//! The Worker parses requests with [`Route::parse`]; the sync companion and the tests' client
//! build their URLs with [`Route::path`] (or the `*_path` functions, which also take malformed
//! ids, for tests of refusals) and read replies with these types. The wire format is pinned by
//! the worker tests against the real Worker.
//!
//! Ids are parsed by core, so a malformed id is a 400 before any storage is touched.

use std::fmt::Display;

use serde::{Deserialize, Serialize};

use crate::error::{ErrorCode, OpError};
use crate::model::{BeatId, Mode, SampleId, SessionId};

/// Every path of the API starts with this.
pub const API_PREFIX: &str = "/api";
/// `GET`: liveness.
pub const HEALTH_PATH: &str = "/api/health";
/// `POST`: create a session.
pub const SESSIONS_PATH: &str = "/api/sessions";

// Path segments under `/api/sessions/{id}`, shared by the parser and the builders.
const HEALTH: &str = "health";
const SESSIONS: &str = "sessions";
const FORK: &str = "fork";
const SOCKET: &str = "ws";
const SAMPLES: &str = "samples";
const TEST: &str = "test";
const EVICT: &str = "evict";
const DROP_SAMPLES: &str = "drop-samples";
const BEATS: &str = "beats";
const REMIX: &str = "remix";
const CLAIM: &str = "claim";
const TICKET: &str = "ticket";
const AUTH: &str = "auth";
const DEVICE: &str = "device";
const TOKEN: &str = "token";
const REVOKE: &str = "revoke";
const ME: &str = "me";

/// `POST`: start a device authorization (RFC 8628 §3.1), form `client_id`.
pub const DEVICE_AUTHORIZATION_PATH: &str = "/api/auth/device";
/// `POST`: the token endpoint (RFC 8628 §3.4, RFC 6749 §6), form `grant_type`, ….
pub const TOKEN_PATH: &str = "/api/auth/token";
/// `POST`: sign out: revoke a refresh token (RFC 7009), or the grant of the bearer token.
pub const REVOKE_PATH: &str = "/api/auth/revoke";
/// `GET`: who the bearer token signs in ([`crate::oauth::Account`]).
pub const ME_PATH: &str = "/api/auth/me";

/// `/api/sessions/{id}/claim`: a signed-in user claims an unowned session.
pub fn claim_path(id: impl Display) -> String {
    format!("{SESSIONS_PATH}/{id}/{CLAIM}")
}

/// `/api/sessions/{id}/ticket`: a short-lived ticket for the live socket of a signed-in user.
pub fn ticket_path(id: impl Display) -> String {
    format!("{SESSIONS_PATH}/{id}/{TICKET}")
}

/// `/api/sessions/{id}`: load (`GET`) and save (`PUT`).
pub fn session_path(id: impl Display) -> String {
    format!("{SESSIONS_PATH}/{id}")
}

/// `/api/sessions/{id}/fork`
pub fn fork_path(id: impl Display) -> String {
    format!("{SESSIONS_PATH}/{id}/{FORK}")
}

/// `/api/sessions/{id}/ws`: the live socket.
pub fn socket_path(id: impl Display) -> String {
    format!("{SESSIONS_PATH}/{id}/{SOCKET}")
}

/// `/api/sessions/{id}/samples`: upload.
pub fn samples_path(id: impl Display) -> String {
    format!("{SESSIONS_PATH}/{id}/{SAMPLES}")
}

/// `/api/sessions/{id}/samples/{sample}`: download.
pub fn sample_path(id: impl Display, sample: impl Display) -> String {
    format!("{SESSIONS_PATH}/{id}/{SAMPLES}/{sample}")
}

/// `/api/sessions/{id}/test/evict`: the eviction test hook.
pub fn evict_path(id: impl Display) -> String {
    format!("{SESSIONS_PATH}/{id}/{TEST}/{EVICT}")
}

/// `/api/sessions/{id}/test/drop-samples`: the test hook that deletes a session's samples, as
/// their lifecycle would.
pub fn drop_samples_path(id: impl Display) -> String {
    format!("{SESSIONS_PATH}/{id}/{TEST}/{DROP_SAMPLES}")
}

/// `/api/sessions/{id}/beats`: publish (`POST`) and list (`GET`) the session's beats.
pub fn session_beats_path(id: impl Display) -> String {
    format!("{SESSIONS_PATH}/{id}/{BEATS}")
}

/// `/api/beats/{id}`: a published beat.
pub fn beat_path(id: impl Display) -> String {
    format!("{API_PREFIX}/{BEATS}/{id}")
}

/// `/api/beats/{id}/remix`
pub fn remix_path(id: impl Display) -> String {
    format!("{API_PREFIX}/{BEATS}/{id}/{REMIX}")
}

/// `/api/beats/{id}/samples/{sample}`: a sample the beat pinned.
pub fn beat_sample_path(id: impl Display, sample: impl Display) -> String {
    format!("{API_PREFIX}/{BEATS}/{id}/{SAMPLES}/{sample}")
}

/// The query parameter of an upload that names the sample (default [`DEFAULT_SAMPLE_NAME`]).
pub const SAMPLE_NAME_PARAM: &str = "name";
/// The query parameter of an upload that proposes the sample's content id
/// ([`SampleId::for_content`] of the body).
pub const SAMPLE_ID_PARAM: &str = "id";
/// The name of an uploaded sample whose upload named none.
pub const DEFAULT_SAMPLE_NAME: &str = "sample";
/// The query parameter of the live socket URL carrying the owner key (browsers cannot set
/// headers on a WebSocket).
pub const OWNER_KEY_PARAM: &str = "key";
/// The query parameter of the live socket URL carrying a signed-in user's short-lived ticket
/// ([`Route::SocketTicket`]); the access token itself never goes in a URL.
pub const TICKET_PARAM: &str = "ticket";
/// The reply header that carries a new read-only session's owner key (sent once).
pub const OWNER_KEY_HEADER: &str = "keyboardia-owner-key";
/// The request header by which Cloudflare names the client's address (the rate-limit key).
pub const CLIENT_ADDRESS_HEADER: &str = "cf-connecting-ip";
/// The reply header of a 429 saying in how many seconds to retry.
pub const RETRY_AFTER_HEADER: &str = "retry-after";

/// An HTTP method the API uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Method {
    Get,
    Post,
    Put,
    Patch,
    /// Any other method: no route answers it.
    Other,
}

impl Method {
    /// The method's name on the wire (`"OTHER"` for [`Method::Other`], which is never sent).
    pub const fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
            Method::Put => "PUT",
            Method::Patch => "PATCH",
            Method::Other => "OTHER",
        }
    }
}

/// What a request asks for.
#[derive(Clone, Debug, PartialEq)]
pub enum Route {
    /// `POST /api/sessions` with an optional [`CreateSession`] body; replies 201 with the
    /// session.
    CreateSession,
    /// `GET /api/sessions/{id}`: the session.
    GetSession(SessionId),
    /// `PUT /api/sessions/{id}` with a session state; replies with the saved session.
    SaveSession(SessionId),
    /// `POST /api/sessions/{id}/fork`: replies 201 with the new session.
    ForkSession(SessionId),
    /// `GET /api/sessions/{id}/ws` with `Upgrade: websocket`
    LiveSocket(SessionId),
    /// `POST /api/sessions/{id}/samples?name=…[&id=…]` with a WAV body; replies 201 with an
    /// [`UploadedSample`].
    UploadSample(SessionId),
    /// `GET /api/sessions/{id}/samples/{sample}`: the sample's bytes.
    DownloadSample(SessionId, SampleId),
    /// `POST /api/sessions/{id}/beats` with an optional [`PublishBeat`](crate::beat::PublishBeat)
    /// body: replies 201 with the [`Beat`](crate::beat::Beat), an immutable snapshot.
    PublishBeat(SessionId),
    /// `GET /api/sessions/{id}/beats`: the session's [`BeatList`].
    ListBeats(SessionId),
    /// `GET /api/beats/{id}`: the beat. `PUT`, `PATCH` and `DELETE` are refused (405): a beat
    /// never changes.
    GetBeat(BeatId),
    /// `POST /api/beats/{id}/remix`: replies 201 with a new editable session whose lineage
    /// (`remixedFrom`) names the beat.
    RemixBeat(BeatId),
    /// `GET /api/beats/{id}/samples/{sample}`: a sample the beat plays, pinned when it was
    /// published.
    BeatSample(BeatId, SampleId),
    /// `GET /api/health`: liveness, used by the test harness to know the server is up.
    Health,
    /// `POST /api/sessions/{id}/test/evict`: drops the live room from memory as an eviction
    /// would, keeping the sockets; replies [`Evicted`]. Answered only when the Worker's `TEST_HOOKS` var is `"1"`.
    TestEvict(SessionId),
    /// `POST /api/sessions/{id}/test/drop-samples`: deletes the session's samples as their
    /// lifecycle would. Answered only when the Worker's `TEST_HOOKS` var is `"1"`.
    TestDropSamples(SessionId),
    /// `POST /api/sessions/{id}/claim` with a bearer access token: the signed-in user becomes
    /// the owner of an unowned session (401 without a valid token, 409 when owned); replies
    /// with the session.
    ClaimSession(SessionId),
    /// `PATCH /api/sessions/{id}` with [`SetMode`]: the owner locks or unlocks the session (401
    /// without a valid token, 403 for anyone else); replies with the session.
    SetMode(SessionId),
    /// `POST /api/sessions/{id}/ticket` with a bearer access token: replies with a
    /// [`SocketTicket`](crate::oauth::SocketTicket) for [`TICKET_PARAM`] on the live socket.
    SocketTicket(SessionId),
    /// `POST /api/auth/device` (form `client_id`): replies with a
    /// [`DeviceAuthorization`](crate::oauth::DeviceAuthorization).
    DeviceAuthorization,
    /// `POST /api/auth/token` (form): replies with a [`TokenReply`](crate::oauth::TokenReply)
    /// or an [`OAuthErrorBody`](crate::oauth::OAuthErrorBody).
    Token,
    /// `POST /api/auth/revoke` (form `token`, or a bearer access token): signs out.
    Revoke,
    /// `GET /api/auth/me` with a bearer access token: the [`Account`](crate::oauth::Account).
    Me,
    /// `PATCH /api/auth/me` with [`SetName`]: the signed-in user changes the display name
    /// others see; replies with the [`Account`](crate::oauth::Account).
    SetName,
}

/// Why a request matched no route.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum RouteError {
    /// No such path.
    #[error("no such endpoint")]
    NotFound,
    /// The path exists, not with this method.
    #[error("method not allowed here")]
    MethodNotAllowed,
    /// The path names a session or sample with a malformed id.
    #[error(transparent)]
    BadId(OpError),
}

impl Route {
    /// Matches a method and a URL path (without query).
    pub fn parse(method: Method, path: &str) -> Result<Route, RouteError> {
        let rest = path
            .strip_prefix(API_PREFIX)
            .and_then(|p| p.strip_prefix('/'))
            .ok_or(RouteError::NotFound)?;
        let parts: Vec<&str> = rest.trim_end_matches('/').split('/').collect();
        let session = |s: &str| s.parse::<SessionId>().map_err(RouteError::BadId);
        let beat = |s: &str| s.parse::<BeatId>().map_err(RouteError::BadId);
        let allow = |m: Method, route: Route| {
            if method == m {
                Ok(route)
            } else {
                Err(RouteError::MethodNotAllowed)
            }
        };
        match parts.as_slice() {
            [HEALTH] => allow(Method::Get, Route::Health),
            [AUTH, DEVICE] => allow(Method::Post, Route::DeviceAuthorization),
            [AUTH, TOKEN] => allow(Method::Post, Route::Token),
            [AUTH, REVOKE] => allow(Method::Post, Route::Revoke),
            [AUTH, ME] => match method {
                Method::Get => Ok(Route::Me),
                Method::Patch => Ok(Route::SetName),
                _ => Err(RouteError::MethodNotAllowed),
            },
            [SESSIONS, id, CLAIM] => allow(Method::Post, Route::ClaimSession(session(id)?)),
            [SESSIONS, id, TICKET] => allow(Method::Post, Route::SocketTicket(session(id)?)),
            [SESSIONS] => allow(Method::Post, Route::CreateSession),
            [SESSIONS, id] => {
                let id = session(id)?;
                match method {
                    Method::Get => Ok(Route::GetSession(id)),
                    Method::Put => Ok(Route::SaveSession(id)),
                    Method::Patch => Ok(Route::SetMode(id)),
                    _ => Err(RouteError::MethodNotAllowed),
                }
            }
            [SESSIONS, id, FORK] => allow(Method::Post, Route::ForkSession(session(id)?)),
            [SESSIONS, id, SOCKET] => allow(Method::Get, Route::LiveSocket(session(id)?)),
            [SESSIONS, id, SAMPLES] => allow(Method::Post, Route::UploadSample(session(id)?)),
            [SESSIONS, id, TEST, EVICT] => allow(Method::Post, Route::TestEvict(session(id)?)),
            [SESSIONS, id, TEST, DROP_SAMPLES] => {
                allow(Method::Post, Route::TestDropSamples(session(id)?))
            }
            [SESSIONS, id, BEATS] => {
                let id = session(id)?;
                match method {
                    Method::Get => Ok(Route::ListBeats(id)),
                    Method::Post => Ok(Route::PublishBeat(id)),
                    _ => Err(RouteError::MethodNotAllowed),
                }
            }
            [BEATS, id] => allow(Method::Get, Route::GetBeat(beat(id)?)),
            [BEATS, id, REMIX] => allow(Method::Post, Route::RemixBeat(beat(id)?)),
            [BEATS, id, SAMPLES, sample] => {
                let id = beat(id)?;
                let sample = sample.parse::<SampleId>().map_err(RouteError::BadId)?;
                allow(Method::Get, Route::BeatSample(id, sample))
            }
            [SESSIONS, id, SAMPLES, sample] => {
                let id = session(id)?;
                let sample = sample.parse::<SampleId>().map_err(RouteError::BadId)?;
                allow(Method::Get, Route::DownloadSample(id, sample))
            }
            _ => Err(RouteError::NotFound),
        }
    }

    /// The method this route is requested with.
    pub fn method(&self) -> Method {
        match self {
            Route::GetSession(_)
            | Route::LiveSocket(_)
            | Route::DownloadSample(..)
            | Route::ListBeats(_)
            | Route::GetBeat(_)
            | Route::BeatSample(..)
            | Route::Me
            | Route::Health => Method::Get,
            Route::SaveSession(_) => Method::Put,
            Route::SetMode(_) | Route::SetName => Method::Patch,
            Route::CreateSession
            | Route::ForkSession(_)
            | Route::UploadSample(_)
            | Route::PublishBeat(_)
            | Route::RemixBeat(_)
            | Route::TestDropSamples(_)
            | Route::TestEvict(_)
            | Route::ClaimSession(_)
            | Route::SocketTicket(_)
            | Route::DeviceAuthorization
            | Route::Token
            | Route::Revoke => Method::Post,
        }
    }

    /// The URL path of this route (append it to the server's base URL).
    pub fn path(&self) -> String {
        match self {
            Route::Health => HEALTH_PATH.into(),
            Route::CreateSession => SESSIONS_PATH.into(),
            Route::GetSession(id) | Route::SaveSession(id) | Route::SetMode(id) => session_path(id),
            Route::ClaimSession(id) => claim_path(id),
            Route::SocketTicket(id) => ticket_path(id),
            Route::DeviceAuthorization => DEVICE_AUTHORIZATION_PATH.into(),
            Route::Token => TOKEN_PATH.into(),
            Route::Revoke => REVOKE_PATH.into(),
            Route::Me | Route::SetName => ME_PATH.into(),
            Route::ForkSession(id) => fork_path(id),
            Route::LiveSocket(id) => socket_path(id),
            Route::UploadSample(id) => samples_path(id),
            Route::DownloadSample(id, sample) => sample_path(id, sample),
            Route::TestEvict(id) => evict_path(id),
            Route::TestDropSamples(id) => drop_samples_path(id),
            Route::PublishBeat(id) | Route::ListBeats(id) => session_beats_path(id),
            Route::GetBeat(id) => beat_path(id),
            Route::RemixBeat(id) => remix_path(id),
            Route::BeatSample(id, sample) => beat_sample_path(id, sample),
        }
    }
}

/// Whether a refusal with this HTTP status may succeed if tried again later: the server was busy
/// (429) or failed (5xx). Other refusals are final.
pub const fn is_transient_status(status: u16) -> bool {
    status == 429 || status >= 500
}

/// The body of [`Route::CreateSession`]: everything optional; an empty body makes an empty
/// collaborative session.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateSession {
    /// A session state document of any version core can migrate (a JSON value, not a
    /// [`SessionState`](crate::model::SessionState), so that old versions are read through
    /// [`state_from_json`](crate::schema::state_from_json)).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<serde_json::Value>,
    /// [`Mode::Readonly`] makes the reply carry an owner key in [`OWNER_KEY_HEADER`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<Mode>,
}

/// The body of [`Route::SetName`]: `{"name":"…"}` (see
/// [`clean_display_name`](crate::access::clean_display_name)).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SetName {
    /// The new display name.
    pub name: String,
}

/// The body of [`Route::SetMode`]: `{"mode":"readonly"}` locks, `"collaborative"` unlocks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SetMode {
    /// The new mode.
    pub mode: Mode,
}

/// The reply to [`Route::UploadSample`]: the stored sample.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UploadedSample {
    /// The sample's id within the session (its content id when the upload proposed one).
    pub id: SampleId,
    /// The display name the upload gave.
    pub name: String,
    /// Where to download it ([`Route::DownloadSample`] on the server's own origin).
    pub url: String,
    /// Size of the stored file. Defaults to 0 when a server leaves it out.
    #[serde(default)]
    pub bytes: usize,
    /// Length of the sound. Defaults to 0 when a server leaves it out.
    #[serde(default)]
    pub duration_ms: f64,
}

/// The reply to [`Route::ListBeats`]: the session's published beats, oldest first.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct BeatList {
    pub beats: Vec<crate::beat::BeatSummary>,
}

/// The body of every refusal: `{"code", "msg"}`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// The stable, machine-readable reason.
    pub code: ErrorCode,
    /// For people (and operators, for 5xx); never parsed.
    pub msg: String,
}

/// The reply to [`Route::Health`]: `{"ok":true}`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Health {
    /// Always `true`: a server that answers is up.
    pub ok: bool,
}

/// The reply to [`Route::TestEvict`]: `{"evicted":true}` when the room was in memory.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Evicted {
    /// Whether there was a live room to forget.
    pub evicted: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "0b8a4c1e-6f7d-4e2a-9b3c-5d6e7f8a9b0c";

    fn every_route() -> Vec<Route> {
        let id: SessionId = ID.parse().unwrap();
        let beat: BeatId = ID.parse().unwrap();
        vec![
            Route::CreateSession,
            Route::GetSession(id),
            Route::SaveSession(id),
            Route::ForkSession(id),
            Route::LiveSocket(id),
            Route::UploadSample(id),
            Route::DownloadSample(id, "abc_1".parse().unwrap()),
            Route::Health,
            Route::TestEvict(id),
            Route::TestDropSamples(id),
            Route::PublishBeat(id),
            Route::ListBeats(id),
            Route::GetBeat(beat),
            Route::RemixBeat(beat),
            Route::BeatSample(beat, "abc_1".parse().unwrap()),
            Route::ClaimSession(id),
            Route::SetMode(id),
            Route::SocketTicket(id),
            Route::DeviceAuthorization,
            Route::Token,
            Route::Revoke,
            Route::Me,
            Route::SetName,
        ]
    }

    #[test]
    fn beats_are_never_changed_and_malformed_ids_are_refused() {
        let beat = format!("/api/beats/{ID}");
        for m in [Method::Put, Method::Post, Method::Other] {
            assert_eq!(Route::parse(m, &beat), Err(RouteError::MethodNotAllowed));
        }
        assert!(matches!(
            Route::parse(Method::Get, "/api/beats/nope"),
            Err(RouteError::BadId(_))
        ));
        assert_eq!(
            Route::parse(Method::Put, &format!("/api/sessions/{ID}/beats")),
            Err(RouteError::MethodNotAllowed)
        );
    }

    #[test]
    fn every_route_parses() {
        let id: SessionId = ID.parse().unwrap();
        assert_eq!(
            Route::parse(Method::Post, "/api/sessions"),
            Ok(Route::CreateSession)
        );
        assert_eq!(
            Route::parse(Method::Get, &format!("/api/sessions/{ID}")),
            Ok(Route::GetSession(id))
        );
        assert_eq!(
            Route::parse(Method::Put, &format!("/api/sessions/{ID}")),
            Ok(Route::SaveSession(id))
        );
        assert_eq!(
            Route::parse(Method::Post, &format!("/api/sessions/{ID}/fork")),
            Ok(Route::ForkSession(id))
        );
        assert_eq!(
            Route::parse(Method::Get, &format!("/api/sessions/{ID}/ws")),
            Ok(Route::LiveSocket(id))
        );
        assert_eq!(
            Route::parse(Method::Post, &format!("/api/sessions/{ID}/samples")),
            Ok(Route::UploadSample(id))
        );
        assert_eq!(
            Route::parse(Method::Get, &format!("/api/sessions/{ID}/samples/abc_1")),
            Ok(Route::DownloadSample(id, "abc_1".parse().unwrap()))
        );
        assert_eq!(Route::parse(Method::Get, "/api/health"), Ok(Route::Health));
        assert_eq!(
            Route::parse(Method::Post, &format!("/api/sessions/{ID}/test/evict")),
            Ok(Route::TestEvict(id))
        );
        // A trailing slash names the same route.
        assert_eq!(
            Route::parse(Method::Get, &format!("/api/sessions/{ID}/")),
            Ok(Route::GetSession(id))
        );
    }

    #[test]
    fn bad_paths_methods_and_ids_are_refused() {
        assert_eq!(
            Route::parse(Method::Get, "/nope"),
            Err(RouteError::NotFound)
        );
        assert_eq!(Route::parse(Method::Get, "/"), Err(RouteError::NotFound));
        assert_eq!(
            Route::parse(Method::Get, "/apihealth"),
            Err(RouteError::NotFound)
        );
        assert_eq!(
            Route::parse(Method::Get, "/api/nothing"),
            Err(RouteError::NotFound)
        );
        assert_eq!(
            Route::parse(Method::Get, "/api/sessions"),
            Err(RouteError::MethodNotAllowed)
        );
        assert_eq!(
            Route::parse(Method::Post, &format!("/api/sessions/{ID}")),
            Err(RouteError::MethodNotAllowed)
        );
        assert_eq!(
            Route::parse(Method::Other, &format!("/api/sessions/{ID}")),
            Err(RouteError::MethodNotAllowed)
        );
        assert_eq!(
            Route::parse(Method::Get, "/api/sessions/not-a-uuid"),
            Err(RouteError::BadId(OpError::InvalidId))
        );
        // A v1 UUID is not a session id.
        assert_eq!(
            Route::parse(
                Method::Get,
                "/api/sessions/0b8a4c1e-6f7d-1e2a-9b3c-5d6e7f8a9b0c"
            ),
            Err(RouteError::BadId(OpError::InvalidId))
        );
        assert!(matches!(
            Route::parse(Method::Get, &format!("/api/sessions/{ID}/samples/a.b")),
            Err(RouteError::BadId(_))
        ));
        assert_eq!(
            Route::parse(Method::Get, &format!("/api/sessions/{ID}/other")),
            Err(RouteError::NotFound)
        );
    }

    #[test]
    fn built_paths_parse_back_to_the_same_route() {
        for route in every_route() {
            let path = route.path();
            assert!(path.starts_with(API_PREFIX), "{path}");
            assert_eq!(Route::parse(route.method(), &path), Ok(route.clone()));
            // Any other method on the same path is refused, never routed elsewhere.
            for other in [
                Method::Get,
                Method::Post,
                Method::Put,
                Method::Patch,
                Method::Other,
            ] {
                let same_path = (matches!(
                    route,
                    Route::GetSession(_) | Route::SaveSession(_) | Route::SetMode(_)
                ) && matches!(other, Method::Get | Method::Put | Method::Patch))
                    || (matches!(route, Route::PublishBeat(_) | Route::ListBeats(_))
                        && matches!(other, Method::Get | Method::Post))
                    || (matches!(route, Route::Me | Route::SetName)
                        && matches!(other, Method::Get | Method::Patch));
                if other != route.method() && !same_path {
                    assert_eq!(
                        Route::parse(other, &path),
                        Err(RouteError::MethodNotAllowed),
                        "{} {path}",
                        other.as_str()
                    );
                }
            }
        }
    }

    #[test]
    fn paths_are_the_wire_paths() {
        let id: SessionId = ID.parse().unwrap();
        let sample: SampleId = "abc_1".parse().unwrap();
        let paths = [
            (Route::Health.path(), "/api/health".to_owned()),
            (Route::CreateSession.path(), "/api/sessions".to_owned()),
            (Route::GetSession(id).path(), format!("/api/sessions/{ID}")),
            (Route::SaveSession(id).path(), format!("/api/sessions/{ID}")),
            (
                Route::ForkSession(id).path(),
                format!("/api/sessions/{ID}/fork"),
            ),
            (
                Route::LiveSocket(id).path(),
                format!("/api/sessions/{ID}/ws"),
            ),
            (
                Route::UploadSample(id).path(),
                format!("/api/sessions/{ID}/samples"),
            ),
            (
                Route::DownloadSample(id, sample).path(),
                format!("/api/sessions/{ID}/samples/abc_1"),
            ),
            (
                Route::TestEvict(id).path(),
                format!("/api/sessions/{ID}/test/evict"),
            ),
        ];
        for (built, wire) in paths {
            assert_eq!(built, wire);
        }
        // The untyped builders take malformed ids too (tests of refusals use them).
        assert_eq!(session_path("nope"), "/api/sessions/nope");
        assert_eq!(sample_path("x", "a.b"), "/api/sessions/x/samples/a.b");
    }

    #[test]
    fn bodies_keep_their_wire_form() {
        let body = ErrorBody {
            code: ErrorCode::RateLimited,
            msg: "slow down".into(),
        };
        let text = serde_json::to_string(&body).unwrap();
        assert_eq!(text, r#"{"code":"rate_limited","msg":"slow down"}"#);
        assert_eq!(serde_json::from_str::<ErrorBody>(&text).unwrap(), body);

        assert_eq!(
            serde_json::to_string(&Health { ok: true }).unwrap(),
            r#"{"ok":true}"#
        );
        assert_eq!(
            serde_json::to_string(&Evicted { evicted: false }).unwrap(),
            r#"{"evicted":false}"#
        );

        let up = UploadedSample {
            id: "abc".parse().unwrap(),
            name: "vox".into(),
            url: "http://h/api/sessions/x/samples/abc".into(),
            bytes: 44,
            duration_ms: 0.5,
        };
        let text = serde_json::to_string(&up).unwrap();
        assert_eq!(
            text,
            r#"{"id":"abc","name":"vox","url":"http://h/api/sessions/x/samples/abc","bytes":44,"durationMs":0.5}"#
        );
        assert_eq!(serde_json::from_str::<UploadedSample>(&text).unwrap(), up);
        // Older servers sent only id, name and url.
        let short: UploadedSample =
            serde_json::from_str(r#"{"id":"abc","name":"vox","url":"u"}"#).unwrap();
        assert_eq!((short.bytes, short.duration_ms), (0, 0.0));

        assert_eq!(
            serde_json::to_string(&CreateSession::default()).unwrap(),
            "{}"
        );
        let create: CreateSession = serde_json::from_str(r#"{"mode":"readonly"}"#).unwrap();
        assert_eq!(create.mode, Some(Mode::Readonly));
        assert!(serde_json::from_str::<CreateSession>(r#"{"unknown":true}"#).is_err());
    }

    #[test]
    fn transient_statuses() {
        assert!(is_transient_status(429));
        assert!(is_transient_status(500));
        assert!(is_transient_status(503));
        for final_status in [400, 403, 404, 405, 413, 415, 426] {
            assert!(!is_transient_status(final_status), "{final_status}");
        }
    }
}
