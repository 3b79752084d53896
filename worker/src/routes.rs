//! The one route table: every path the Worker answers, parsed into a [`Route`].
//!
//! Pure (no Workers types), so the table is unit-tested natively. Ids are parsed by `core`, so a
//! malformed id is a 400 before any storage is touched.

use keyboardia_core::{OpError, SampleId, SessionId};

/// An HTTP method the API uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Method {
    Get,
    Post,
    Put,
    Other,
}

/// What a request asks for.
#[derive(Clone, Debug, PartialEq)]
pub enum Route {
    /// `POST /api/sessions`
    CreateSession,
    /// `GET /api/sessions/{id}`
    GetSession(SessionId),
    /// `PUT /api/sessions/{id}`
    SaveSession(SessionId),
    /// `POST /api/sessions/{id}/fork`
    ForkSession(SessionId),
    /// `GET /api/sessions/{id}/ws` with `Upgrade: websocket`
    LiveSocket(SessionId),
    /// `POST /api/sessions/{id}/samples`
    UploadSample(SessionId),
    /// `GET /api/sessions/{id}/samples/{sample}`
    DownloadSample(SessionId, SampleId),
    /// `GET /api/health`: liveness, used by the test harness to know the server is up.
    Health,
    /// `POST /api/sessions/{id}/test/evict`: drops the live room from memory as an eviction
    /// would, keeping the sockets. Answered only when the `TEST_HOOKS` var is `"1"`.
    TestEvict(SessionId),
}

/// Why a request matched no route.
#[derive(Clone, Debug, PartialEq)]
pub enum RouteError {
    /// No such path.
    NotFound,
    /// The path exists, not with this method.
    MethodNotAllowed,
    /// The path names a session or sample with a malformed id.
    BadId(OpError),
}

impl Route {
    /// Matches a method and a URL path (without query).
    pub fn parse(method: Method, path: &str) -> Result<Route, RouteError> {
        let rest = path.strip_prefix("/api/").ok_or(RouteError::NotFound)?;
        let parts: Vec<&str> = rest.trim_end_matches('/').split('/').collect();
        let session = |s: &str| s.parse::<SessionId>().map_err(RouteError::BadId);
        let allow = |m: Method, route: Route| {
            if method == m {
                Ok(route)
            } else {
                Err(RouteError::MethodNotAllowed)
            }
        };
        match parts.as_slice() {
            ["health"] => allow(Method::Get, Route::Health),
            ["sessions"] => allow(Method::Post, Route::CreateSession),
            ["sessions", id] => {
                let id = session(id)?;
                match method {
                    Method::Get => Ok(Route::GetSession(id)),
                    Method::Put => Ok(Route::SaveSession(id)),
                    _ => Err(RouteError::MethodNotAllowed),
                }
            }
            ["sessions", id, "fork"] => allow(Method::Post, Route::ForkSession(session(id)?)),
            ["sessions", id, "ws"] => allow(Method::Get, Route::LiveSocket(session(id)?)),
            ["sessions", id, "samples"] => allow(Method::Post, Route::UploadSample(session(id)?)),
            ["sessions", id, "test", "evict"] => {
                allow(Method::Post, Route::TestEvict(session(id)?))
            }
            ["sessions", id, "samples", sample] => {
                let id = session(id)?;
                let sample = sample.parse::<SampleId>().map_err(RouteError::BadId)?;
                allow(Method::Get, Route::DownloadSample(id, sample))
            }
            _ => Err(RouteError::NotFound),
        }
    }

    /// The client-address rate-limit bucket this route draws from, if any.
    pub fn rate_bucket(&self) -> Option<crate::limits::Bucket> {
        use crate::limits::Bucket;
        match self {
            Route::CreateSession => Some(Bucket::Create),
            Route::ForkSession(_) => Some(Bucket::Fork),
            Route::UploadSample(_) => Some(Bucket::Upload),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "0b8a4c1e-6f7d-4e2a-9b3c-5d6e7f8a9b0c";

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
    }

    #[test]
    fn bad_paths_methods_and_ids_are_refused() {
        assert_eq!(
            Route::parse(Method::Get, "/nope"),
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
}
