//! Time on three clocks: the page's `performance.now()` (the live client's local clock, ms), the
//! AudioContext's (a frame's context time is `frame / sample_rate`), and the server's (the
//! session timeline). The client's estimator gives `server = local + offset`; the context's
//! output timestamp (`getOutputTimestamp`) pairs a context time with the local time at which
//! that frame leaves the speakers, so the output latency is included. [`ContextClock`] smooths
//! that pairing (callback jitter must not become beat jitter) and yields the one number the
//! worklet needs: `server_ms = context_ms + offset_ms`.

/// How far a new pairing may fall from the smoothed one before it replaces it outright (the
/// device changed, the context was suspended), in ms.
const JUMP_MS: f64 = 20.0;
/// Weight of a new pairing in the smoothed one.
const SMOOTHING: f64 = 0.05;
/// Smallest change of the offset worth telling the worklet, in ms.
pub const RESEND_MS: f64 = 0.05;

/// The smoothed map from context time to local time.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct ContextClock {
    /// `local_ms - context_ms` for the same frame at the speakers; `None` until observed.
    local_minus_context_ms: Option<f64>,
}

impl ContextClock {
    /// Takes one output timestamp: the frame at `context_s` (seconds of context time) is heard
    /// at local time `local_ms`.
    pub fn observe(&mut self, context_s: f64, local_ms: f64) {
        if !(context_s.is_finite() && local_ms.is_finite()) || context_s <= 0.0 {
            return;
        }
        let d = local_ms - context_s * 1000.0;
        self.local_minus_context_ms = Some(match self.local_minus_context_ms {
            Some(old) if (d - old).abs() < JUMP_MS => old + SMOOTHING * (d - old),
            _ => d,
        });
    }

    /// The local time (ms) at which the frame at context time `context_ms` is heard.
    pub fn local_ms(&self, context_ms: f64) -> Option<f64> {
        self.local_minus_context_ms.map(|d| context_ms + d)
    }

    /// `server_ms - context_ms`, given the client's `server - local` offset.
    pub fn server_offset_ms(&self, local_to_server_ms: f64) -> Option<f64> {
        self.local_minus_context_ms.map(|d| d + local_to_server_ms)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_context_to_server_time_through_the_local_clock() {
        let mut c = ContextClock::default();
        assert_eq!(c.local_ms(0.0), None);
        // Frame at context 2 s is heard at local 2500 ms (500 ms between the clocks' origins).
        c.observe(2.0, 2_500.0);
        assert_eq!(c.local_ms(3_000.0), Some(3_500.0));
        // The server is 1e12 ms ahead of the local clock.
        assert_eq!(c.server_offset_ms(1e12), Some(1e12 + 500.0));
    }

    #[test]
    fn jitter_is_smoothed_and_jumps_are_taken() {
        let mut c = ContextClock::default();
        c.observe(1.0, 1_500.0);
        c.observe(1.1, 1_610.0); // 10 ms of jitter: moves by 5 % of it
        assert!((c.local_ms(0.0).unwrap() - 500.5).abs() < 1e-9);
        c.observe(1.2, 1_800.0); // 100 ms away: a new mapping
        assert_eq!(c.local_ms(0.0), Some(600.0));
        c.observe(f64::NAN, 1.0);
        c.observe(0.0, 1.0);
        assert_eq!(c.local_ms(0.0), Some(600.0));
    }
}
