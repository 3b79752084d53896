//! Abuse limits: per-client-address token buckets and the limits of session documents. The sample
//! limits live in [`keyboardia_core::audio`].
//!
//! The bucket arithmetic is pure and takes time as an argument; the `RateLimiter` Durable Object
//! (one per client address) holds the buckets and calls [`TokenBucket::take`].

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
}

impl Bucket {
    pub const ALL: [Bucket; 3] = [Bucket::Create, Bucket::Fork, Bucket::Upload];

    /// The name of the `wrangler.toml` variable that overrides this bucket's rate (per minute).
    pub const fn var_name(self) -> &'static str {
        match self {
            Bucket::Create => "RATE_CREATE_PER_MIN",
            Bucket::Fork => "RATE_FORK_PER_MIN",
            Bucket::Upload => "RATE_UPLOAD_PER_MIN",
        }
    }

    /// Default: requests per minute, which is also the burst.
    pub const fn default_per_min(self) -> f64 {
        match self {
            Bucket::Create => 30.0,
            Bucket::Fork => 30.0,
            Bucket::Upload => 20.0,
        }
    }
}

/// A refilling allowance: `burst` requests at once, then `per_sec` more each second.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct TokenBucket {
    /// Requests that may be made now (fractional while refilling).
    pub tokens: f64,
    /// When `tokens` was last brought up to date, in ms.
    pub updated_ms: f64,
}

impl TokenBucket {
    /// A full bucket at `now_ms`.
    pub fn full(burst: f64, now_ms: f64) -> Self {
        Self {
            tokens: burst,
            updated_ms: now_ms,
        }
    }

    /// Takes one token, or says how many ms until one is available.
    pub fn take(&mut self, now_ms: f64, per_sec: f64, burst: f64) -> Result<(), f64> {
        let elapsed = (now_ms - self.updated_ms).max(0.0);
        self.tokens = (self.tokens + elapsed / 1000.0 * per_sec).min(burst);
        self.updated_ms = now_ms.max(self.updated_ms);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            Ok(())
        } else if per_sec > 0.0 {
            Err(((1.0 - self.tokens) / per_sec * 1000.0).ceil())
        } else {
            Err(f64::INFINITY)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn burst_then_refill() {
        let mut b = TokenBucket::full(3.0, 0.0);
        for _ in 0..3 {
            assert_eq!(b.take(0.0, 1.0, 3.0), Ok(()));
        }
        let wait = b.take(0.0, 1.0, 3.0).unwrap_err();
        assert_eq!(wait, 1000.0);
        assert!(b.take(500.0, 1.0, 3.0).is_err());
        assert_eq!(b.take(1000.0, 1.0, 3.0), Ok(()));
        // Never more than the burst, however long the pause.
        let _ = b.take(1_000_000.0, 1.0, 3.0);
        assert!(b.tokens <= 2.0 + 1e-9);
    }

    #[test]
    fn time_going_backwards_does_not_mint_tokens() {
        let mut b = TokenBucket::full(1.0, 1000.0);
        assert_eq!(b.take(1000.0, 1.0, 1.0), Ok(()));
        assert!(b.take(0.0, 1.0, 1.0).is_err());
    }
}
