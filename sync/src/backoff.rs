//! Reconnect delays: exponential with full jitter, so ten players who lose the server at once
//! do not all knock again in the same millisecond.

use std::time::Duration;

/// Exponential backoff: the n-th retry waits a random time in `[min, min·2ⁿ]`, capped at `max`.
#[derive(Clone, Debug)]
pub struct Backoff {
    /// Delay bound of the first retry.
    min: Duration,
    /// Upper bound of any delay.
    max: Duration,
    /// Retries since the last success.
    attempt: u32,
}

impl Backoff {
    pub fn new(min: Duration, max: Duration) -> Self {
        Self {
            min,
            max: max.max(min),
            attempt: 0,
        }
    }

    /// The delay before the next attempt; `unit` is a random number in `[0, 1)`.
    pub fn next_delay(&mut self, unit: f64) -> Duration {
        let cap = self
            .min
            .saturating_mul(1u32 << self.attempt.min(20))
            .min(self.max);
        self.attempt = self.attempt.saturating_add(1);
        let span = cap.saturating_sub(self.min);
        self.min + span.mul_f64(unit.clamp(0.0, 1.0))
    }

    /// A connection succeeded: the next failure starts from the minimum again.
    pub fn reset(&mut self) {
        self.attempt = 0;
    }

    pub fn attempt(&self) -> u32 {
        self.attempt
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grows_exponentially_with_jitter_and_caps() {
        let mut b = Backoff::new(Duration::from_millis(100), Duration::from_secs(5));
        let highs: Vec<u128> = (0..10).map(|_| b.next_delay(1.0).as_millis()).collect();
        assert_eq!(
            highs,
            [100, 200, 400, 800, 1600, 3200, 5000, 5000, 5000, 5000]
        );
        b.reset();
        assert_eq!(b.next_delay(0.0), Duration::from_millis(100));
        let mid = b.next_delay(0.5);
        assert_eq!(
            mid,
            Duration::from_millis(150),
            "jitter spreads within [min, cap]"
        );
    }
}
