//! Time on three clocks: the page's `performance.now()` (the live client's local clock, ms), the
//! AudioContext's (a frame's context time is `frame / sample_rate`), and the server's (the
//! session timeline). The client's estimator gives `server = local + offset`; the context's
//! output timestamp (`getOutputTimestamp`) pairs a context time with the local time at which
//! that frame leaves the speakers, so the output latency is included. [`ContextClock`] fits a
//! line through the recent pairs (least squares, like Link's regression of its sample clock):
//! callback jitter does not become beat jitter, and an audio device whose clock runs fast or slow
//! against the page's (headless Chromium's fake device runs a percent slow) is followed. It
//! yields the model the worklet plays by: `server_ms = offset_ms + context_ms × ratio`.

use std::collections::VecDeque;

/// Pairs kept for the fit (at 10 a second: the last 6.4 s).
const WINDOW: usize = 64;
/// A pair this far (ms) from the fitted line starts a new fit (the device changed, the context
/// was suspended and resumed).
const RESTART_MS: f64 = 50.0;

/// The fitted map from context time to local time.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ContextClock {
    /// Recent (context ms, local ms) pairs, oldest first.
    pairs: VecDeque<(f64, f64)>,
    /// The fit `local = a + b × context`, as (a, b); `None` until a pair arrived.
    fit: Option<(f64, f64)>,
}

/// The model of server time the worklet plays by.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Model {
    /// Server time at context time 0, in ms.
    pub offset_ms: f64,
    /// Server ms per context ms.
    pub ratio: f64,
}

impl ContextClock {
    /// Takes one output timestamp: the frame at `context_s` (seconds of context time) is heard
    /// at local time `local_ms`.
    pub fn observe(&mut self, context_s: f64, local_ms: f64) {
        if !(context_s.is_finite() && local_ms.is_finite()) || context_s <= 0.0 {
            return;
        }
        let x = context_s * 1000.0;
        if self.pairs.back().is_some_and(|(px, _)| *px >= x) {
            return;
        }
        if let Some(predicted) = self.local_ms(x) {
            if (predicted - local_ms).abs() > RESTART_MS {
                self.pairs.clear();
            }
        }
        if self.pairs.len() == WINDOW {
            self.pairs.pop_front();
        }
        self.pairs.push_back((x, local_ms));
        self.fit = Some(self.refit());
    }

    fn refit(&self) -> (f64, f64) {
        let n = self.pairs.len() as f64;
        let (mx, my) = self
            .pairs
            .iter()
            .fold((0.0, 0.0), |(sx, sy), (x, y)| (sx + x / n, sy + y / n));
        let (sxy, sxx) = self.pairs.iter().fold((0.0, 0.0), |(sxy, sxx), (x, y)| {
            (sxy + (x - mx) * (y - my), sxx + (x - mx) * (x - mx))
        });
        // A slope needs a second of spread; until then the clocks are taken to run alike.
        let b = if sxx > 1_000.0 * 1_000.0 * n / 4.0 {
            sxy / sxx
        } else {
            1.0
        };
        (my - b * mx, b)
    }

    /// The local time (ms) at which the frame at context time `context_ms` is heard.
    pub fn local_ms(&self, context_ms: f64) -> Option<f64> {
        self.fit.map(|(a, b)| a + b * context_ms)
    }

    /// The worklet's model, given the client's `server - local` offset.
    pub fn model(&self, local_to_server_ms: f64) -> Option<Model> {
        self.fit.map(|(a, b)| Model {
            offset_ms: a + local_to_server_ms,
            ratio: b,
        })
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
        let m = c.model(1e12).unwrap();
        assert_eq!((m.offset_ms, m.ratio), (1e12 + 500.0, 1.0));
    }

    /// A device clock 1.2 % slow with ±1 ms of jitter: the fit finds the rate and the line.
    #[test]
    fn follows_a_slow_device_through_jitter() {
        let mut c = ContextClock::default();
        let mut seed = 7u64;
        for k in 1..200 {
            seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1);
            let jitter = ((seed >> 33) as f64 / (1u64 << 31) as f64 - 0.5) * 2.0;
            let context_s = f64::from(k) * 0.1;
            c.observe(context_s, 300.0 + context_s * 1000.0 * 1.012 + jitter);
        }
        let m = c.model(0.0).unwrap();
        assert!((m.ratio - 1.012).abs() < 2e-4, "{m:?}");
        let at = 19_900.0;
        assert!((c.local_ms(at).unwrap() - (300.0 + at * 1.012)).abs() < 0.5);
    }

    #[test]
    fn a_jump_starts_a_new_fit_and_bad_pairs_are_ignored() {
        let mut c = ContextClock::default();
        for k in 1..20 {
            c.observe(f64::from(k) * 0.1, 500.0 + f64::from(k) * 100.0);
        }
        c.observe(2.0, 2_800.0);
        assert_eq!(c.local_ms(2_000.0), Some(2_800.0));
        c.observe(f64::NAN, 1.0);
        c.observe(0.0, 1.0);
        c.observe(1.0, 1.0);
        assert_eq!(c.local_ms(2_000.0), Some(2_800.0));
    }
}
