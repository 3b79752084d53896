//! Abuse limits: per-client-address token buckets and the limits of session documents. The sample
//! limits live in [`keyboardia_core::audio`].
//!
//! The bucket arithmetic is core's [`TokenBucket`](keyboardia_core::rate::TokenBucket); the
//! `RateLimiter` Durable Object (one per client address) holds one per [`Bucket`].

use keyboardia_core::api::Route;
use serde::{Deserialize, Serialize};

/// Longest owner id accepted when a session is created.
pub const OWNER_ID_MAX_BYTES: usize = 64;
/// The Worker writes the live session to KV at most this often (KV allows about one write per
/// second per key).
pub const KV_SYNC_DELAY_MS: f64 = 1_000.0;
/// A saved session expires from KV after this many seconds without access.
pub const KV_TTL_SECONDS: u64 = 30 * 24 * 3600;
/// A GET renews the TTL when the last renewal is older than this (a KV write per GET would hit
/// KV's per-key write limit).
pub const KV_RENEW_AFTER_MS: f64 = 24.0 * 3600.0 * 1000.0;

/// What a client address is limited on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Bucket {
    Create,
    Fork,
    Upload,
    /// `PUT` of a session document (each one rewrites the document and snapshots every player).
    Save,
    /// Publishing a beat (each one stores a snapshot and copies its samples, kept 90 days).
    Publish,
    /// Asking for a sign-in link by email (each one sends a mail).
    SignIn,
    /// Starting a device authorization (each one stores a device code).
    Device,
    /// The token endpoint: device-code polls (beyond the per-code `slow_down`) and refreshes.
    Token,
}

impl Bucket {
    /// The bucket `route` draws from, if it is rate-limited.
    pub fn for_route(route: &Route) -> Option<Bucket> {
        match route {
            Route::CreateSession => Some(Bucket::Create),
            Route::ForkSession(_) => Some(Bucket::Fork),
            Route::UploadSample(_) => Some(Bucket::Upload),
            Route::SaveSession(_) => Some(Bucket::Save),
            Route::PublishBeat(_) => Some(Bucket::Publish),
            // A remix makes a new session, as a fork does.
            Route::RemixBeat(_) => Some(Bucket::Fork),
            Route::DeviceAuthorization => Some(Bucket::Device),
            Route::Token => Some(Bucket::Token),
            _ => None,
        }
    }

    pub const ALL: [Bucket; 8] = [
        Bucket::Create,
        Bucket::Fork,
        Bucket::Upload,
        Bucket::Save,
        Bucket::Publish,
        Bucket::SignIn,
        Bucket::Device,
        Bucket::Token,
    ];

    /// The name of the `wrangler.toml` variable that overrides this bucket's rate (per minute).
    pub const fn var_name(self) -> &'static str {
        match self {
            Bucket::Create => "RATE_CREATE_PER_MIN",
            Bucket::Fork => "RATE_FORK_PER_MIN",
            Bucket::Upload => "RATE_UPLOAD_PER_MIN",
            Bucket::Save => "RATE_SAVE_PER_MIN",
            Bucket::Publish => "RATE_PUBLISH_PER_MIN",
            Bucket::SignIn => "RATE_SIGNIN_PER_MIN",
            Bucket::Device => "RATE_DEVICE_PER_MIN",
            Bucket::Token => "RATE_TOKEN_PER_MIN",
        }
    }

    /// Default: requests per minute, which is also the burst.
    pub const fn default_per_min(self) -> f64 {
        match self {
            Bucket::Create => 30.0,
            Bucket::Fork => 30.0,
            Bucket::Upload => 20.0,
            Bucket::Save => 60.0,
            Bucket::Publish => 10.0,
            Bucket::SignIn => 5.0,
            Bucket::Device => 10.0,
            Bucket::Token => 60.0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn create_fork_upload_and_save_are_rate_limited() {
        let id = "0b8a4c1e-6f7d-4e2a-9b3c-5d6e7f8a9b0c".parse().unwrap();
        assert_eq!(
            Bucket::for_route(&Route::CreateSession),
            Some(Bucket::Create)
        );
        assert_eq!(
            Bucket::for_route(&Route::ForkSession(id)),
            Some(Bucket::Fork)
        );
        assert_eq!(
            Bucket::for_route(&Route::UploadSample(id)),
            Some(Bucket::Upload)
        );
        assert_eq!(
            Bucket::for_route(&Route::SaveSession(id)),
            Some(Bucket::Save)
        );
        assert_eq!(Bucket::for_route(&Route::Token), Some(Bucket::Token));
        assert_eq!(
            Bucket::for_route(&Route::DeviceAuthorization),
            Some(Bucket::Device)
        );
        for free in [Route::Health, Route::GetSession(id), Route::LiveSocket(id)] {
            assert_eq!(Bucket::for_route(&free), None, "{free:?}");
        }
    }
}
