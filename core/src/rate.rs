//! The one token bucket: a refilling allowance of requests or messages.
//!
//! Pure arithmetic with time passed in (ms), so the live room limits each connection's messages
//! with it and the Worker's `RateLimiter` Durable Object limits each client address's requests
//! with the very same rule.

use serde::{Deserialize, Serialize};

/// A refilling allowance: `burst` requests at once, then `per_sec` more each second.
///
/// The rate and the burst are passed to [`TokenBucket::take`] rather than stored, so a host can
/// change its limits (a `wrangler.toml` variable, a room's config) without rebuilding buckets.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct TokenBucket {
    /// Requests that may be made now (fractional while refilling), at most the burst.
    pub tokens: f64,
    /// When `tokens` was last brought up to date, in ms; never moves backwards, so a clock that
    /// steps back cannot mint tokens.
    pub updated_ms: f64,
}

/// A message allowance: `per_sec` sustained, `burst` at once. The live room announces its own
/// in every snapshot, so a client can pace itself under it.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct RateLimit {
    /// Sustained messages per second (the bucket's refill rate).
    pub per_sec: f64,
    /// Messages at once (the bucket's capacity).
    pub burst: f64,
}

impl RateLimit {
    /// The live room's default allowance per client address: well below what one room
    /// processes (thousands of ops/s), so a burst is cut off before it queues up behind others,
    /// while a drag, a paste or a replay of edits made offline (paced by the client) fits.
    pub const ROOM_DEFAULT: Self = Self {
        per_sec: 100.0,
        burst: 200.0,
    };
}

impl Default for RateLimit {
    fn default() -> Self {
        Self::ROOM_DEFAULT
    }
}

impl TokenBucket {
    /// A full bucket at `now_ms`.
    pub fn full(burst: f64, now_ms: f64) -> Self {
        Self {
            tokens: burst,
            updated_ms: now_ms,
        }
    }

    /// Takes one token, or says how many ms until one is available (infinite when `per_sec` is
    /// zero).
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

    /// Counts one request that is made whatever the allowance (the bucket may go into debt,
    /// which later [`TokenBucket::take`]s pay off).
    pub fn charge(&mut self, now_ms: f64, per_sec: f64, burst: f64) {
        if self.take(now_ms, per_sec, burst).is_err() {
            self.tokens -= 1.0;
        }
    }

    /// When (ms) a token is next available at `per_sec`: now or later, never before the last
    /// update (infinite when `per_sec` is zero and the bucket is empty).
    pub fn ready_at(&self, per_sec: f64) -> f64 {
        if self.tokens >= 1.0 {
            self.updated_ms
        } else if per_sec > 0.0 {
            self.updated_ms + ((1.0 - self.tokens) / per_sec * 1000.0).ceil()
        } else {
            f64::INFINITY
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
        // The step back is not counted as time to refill once the clock returns.
        assert!(b.take(999.0, 1.0, 1.0).is_err());
    }

    #[test]
    fn a_zero_rate_never_refills() {
        let mut b = TokenBucket::full(1.0, 0.0);
        assert_eq!(b.take(0.0, 0.0, 1.0), Ok(()));
        assert_eq!(b.take(1e9, 0.0, 1.0), Err(f64::INFINITY));
    }

    #[test]
    fn a_charge_goes_into_debt_and_ready_at_says_when_it_is_paid() {
        let mut b = TokenBucket::full(1.0, 0.0);
        b.charge(0.0, 10.0, 1.0);
        assert_eq!(b.ready_at(10.0), 100.0);
        b.charge(0.0, 10.0, 1.0);
        assert!((b.tokens + 1.0).abs() < 1e-9, "one token of debt");
        assert_eq!(b.ready_at(10.0), 200.0);
        assert!(b.take(199.0, 10.0, 1.0).is_err());
        assert_eq!(b.take(200.0, 10.0, 1.0), Ok(()));
        assert_eq!(TokenBucket::full(1.0, 5.0).ready_at(0.0), 5.0);
        assert_eq!(b.ready_at(0.0), f64::INFINITY);
    }
}
