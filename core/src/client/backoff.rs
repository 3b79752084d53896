//! Retry delays: exponential with full jitter, so ten players who lose the server at once do
//! not all knock again in the same millisecond. Used for reconnects and sample transfers.

/// Exponential backoff: the n-th retry waits a random time in `[min, min·2ⁿ]`, capped at `max`.
#[derive(Clone, Debug, PartialEq)]
pub struct Backoff {
    /// Delay bound of the first retry, in ms.
    min_ms: f64,
    /// Upper bound of any delay, in ms.
    max_ms: f64,
    /// Retries since the last success.
    attempt: u32,
}

impl Backoff {
    pub fn new(min_ms: f64, max_ms: f64) -> Self {
        Self {
            min_ms,
            max_ms: max_ms.max(min_ms),
            attempt: 0,
        }
    }

    /// The delay in ms before the next attempt; `unit` is a random number in `[0, 1)`.
    pub fn next_delay_ms(&mut self, unit: f64) -> f64 {
        let cap = (self.min_ms * f64::from(1u32 << self.attempt.min(20))).min(self.max_ms);
        self.attempt = self.attempt.saturating_add(1);
        let span = (cap - self.min_ms).max(0.0);
        self.min_ms + span * unit.clamp(0.0, 1.0)
    }

    /// A connection succeeded: the next failure starts from the minimum again.
    pub fn reset(&mut self) {
        self.attempt = 0;
    }

    /// Delays drawn since the last [`Backoff::reset`].
    pub fn attempt(&self) -> u32 {
        self.attempt
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grows_exponentially_with_jitter_and_caps() {
        let mut b = Backoff::new(100.0, 5_000.0);
        let highs: Vec<f64> = (0..10).map(|_| b.next_delay_ms(1.0)).collect();
        assert_eq!(
            highs,
            [100.0, 200.0, 400.0, 800.0, 1600.0, 3200.0, 5000.0, 5000.0, 5000.0, 5000.0]
        );
        b.reset();
        assert_eq!(b.next_delay_ms(0.0), 100.0);
        let mid = b.next_delay_ms(0.5);
        assert_eq!(mid, 150.0, "jitter spreads within [min, cap]");
    }
}
