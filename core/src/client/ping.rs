//! The ping schedule, adaptive like NTP's poll interval: a quick burst right after each connect
//! for a first rough lock on the server clock, then two pings a second while locking, backing
//! off (doubling the interval) while the answers agree with the fitted clock, up to one ping
//! every [`ClientConfig::ping_max_interval_ms`]; an answer that disagrees (the residual grows:
//! a clock changed its rate or stepped) halves the interval again, and a reconnect starts over.
//! From [`ClientConfig::ping_pair_from_ms`] on, the pings go in pairs a second apart, a pair
//! every two intervals: a server that hibernates when idle stamps the first ping of a round
//! late (it wakes first), the second finds it awake. Once locked, a room of silent players
//! wakes its server about once a minute instead of twice a second per player.

use super::config::ClientConfig;

/// What the clock fit says after an answer, for the schedule.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub(crate) struct Fit {
    /// The estimated drift (ms per ms).
    pub drift: f64,
    /// The time (ms) the samples behind the fit span.
    pub span_ms: f64,
}

/// When the next clock ping is due on the current connection, and how often they go.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct PingSchedule {
    /// Pings sent on the current connection (the burst is the first `ping_burst`).
    sent: u32,
    /// Local time (ms) the next ping is due; `None` while not connected.
    next_at_ms: Option<f64>,
    /// The interval (ms) after the burst: from the lock interval up to the longest.
    interval_ms: f64,
    /// Answers in a row that agreed with the clock at the current interval.
    agreed: u32,
    /// The last answer disagreed with the clock (one more in a row halves the interval).
    disagreed: bool,
    /// The estimated drift when the current streak of agreeing answers began: the interval
    /// doubles only once the drift has settled, so that the line extrapolated over the longer
    /// interval stays within the residual bound.
    drift_ref: f64,
    /// The first ping of a pair went: the second is `next_at_ms`, and the next round starts
    /// here (local ms).
    round_next_ms: Option<f64>,
}

impl PingSchedule {
    /// A connection opened at `now`: the first ping goes at once, and the interval starts over.
    pub fn start(&mut self, now: f64, config: &ClientConfig) {
        self.sent = 0;
        self.next_at_ms = Some(now);
        self.interval_ms = config.ping_lock_interval_ms;
        self.agreed = 0;
        self.disagreed = false;
        self.drift_ref = 0.0;
        self.round_next_ms = None;
    }

    pub fn stop(&mut self) {
        self.next_at_ms = None;
        self.round_next_ms = None;
    }

    pub fn next_timeout(&self) -> Option<f64> {
        self.next_at_ms
    }

    /// The interval (ms) between pings once the burst is over, as it stands.
    pub fn interval_ms(&self) -> f64 {
        self.interval_ms
    }

    /// Whether a ping is due at `now`; if so it counts as sent and the next one is scheduled
    /// one interval after this one was due (so a late wake-up does not shift the schedule).
    /// From [`ClientConfig::ping_pair_from_ms`] on, a round is a pair: the second ping
    /// [`ClientConfig::ping_pair_gap_ms`] after the first, the next round two intervals after
    /// the first.
    ///
    /// At the longest interval the rounds of every player of a room go on one grid of server
    /// time (`offset_ms`: the clock's server-minus-local offset at `now`, once it has one): the
    /// next round is due at the point of the grid nearest to one round from now, the grid
    /// being the multiples of the round from `phase_ms` (a server time every player of the
    /// room knows and rooms do not share: the room's timeline anchor, so that rooms do not all
    /// wake in the same instant). A room of silent players then wakes its server once per
    /// round for all of them, not once per player at scattered times.
    pub fn take_due(
        &mut self,
        now: f64,
        offset_ms: Option<f64>,
        phase_ms: f64,
        config: &ClientConfig,
    ) -> bool {
        let Some(at) = self.next_at_ms.filter(|at| *at <= now) else {
            return false;
        };
        self.sent += 1;
        if let Some(next) = self.round_next_ms.take() {
            // The second of a pair.
            self.next_at_ms = Some(next);
            return true;
        }
        let every = if self.sent < config.ping_burst {
            config.ping_burst_interval_ms
        } else {
            self.interval_ms
        };
        let paired = self.sent >= config.ping_burst && every >= config.ping_pair_from_ms;
        let round = if paired { 2.0 * every } else { every };
        let mut next = at + round;
        if let Some(offset) = offset_ms.filter(|_| {
            config.ping_align
                && self.sent >= config.ping_burst
                && every >= config.ping_max_interval_ms
        }) {
            // Between half a round and one and a half from the last.
            let from = next + offset - phase_ms;
            next = (from / round).round() * round + phase_ms - offset;
        }
        if paired {
            self.round_next_ms = Some(next);
            next = at + config.ping_pair_gap_ms;
        }
        self.next_at_ms = Some(next);
        true
    }

    /// A pong came back at `now`, `residual` ms off the clock fitted before it (`None`: the
    /// first), and the refit estimates `drift`. After the burst,
    /// [`ClientConfig::ping_backoff_after`] agreeing answers in a row double the interval, if
    /// the drift moved so little meanwhile that over the doubled interval the change would
    /// shift the clock by less than half [`ClientConfig::ping_residual_ms`] (else the streak
    /// starts over) and the samples span [`ClientConfig::ping_span_ratio`] doubled intervals
    /// or [`ClientConfig::ping_span_cap_ms`], whichever is shorter
    /// (else the streak starts over too, but for the longest interval, where it goes on and
    /// each agreeing answer asks again); two answers in a row
    /// further off than that bound halve the interval, and the next ping then goes no later
    /// than one (new) interval from now.
    pub fn answered(&mut self, now: f64, residual: Option<f64>, fit: Fit, config: &ClientConfig) {
        if self.sent < config.ping_burst {
            return;
        }
        let Some(residual) = residual else {
            return;
        };
        let (lock, max) = (config.ping_lock_interval_ms, config.ping_max_interval_ms);
        if residual > config.ping_residual_ms {
            self.agreed = 0;
            self.drift_ref = fit.drift;
            // One answer off may be the network; two in a row are the clock.
            if !std::mem::replace(&mut self.disagreed, true) {
                return;
            }
            self.interval_ms = (self.interval_ms / 2.0).max(lock);
            for at in [&mut self.next_at_ms, &mut self.round_next_ms] {
                if let Some(at) = at.as_mut() {
                    *at = at.min(now + self.interval_ms);
                }
            }
            return;
        }
        self.disagreed = false;
        self.agreed += 1;
        if self.agreed < config.ping_backoff_after || self.interval_ms >= max {
            return;
        }
        let longer = (self.interval_ms * 2.0).min(max);
        let settled = (fit.drift - self.drift_ref).abs() * longer <= config.ping_residual_ms / 2.0;
        let supported = fit.span_ms >= span_needed(longer, config);
        if settled && !supported && longer >= max {
            // Only the span is short for the longest interval: the streak goes on, and the next
            // agreeing answer asks again (rather than a new streak of eight, up to two minutes
            // later at 16 s).
            return;
        }
        self.agreed = 0;
        self.drift_ref = fit.drift;
        if settled && supported {
            self.interval_ms = longer;
        }
    }
}

/// The span (ms) of samples behind the clock from which the interval may double to `longer`.
fn span_needed(longer: f64, config: &ClientConfig) -> f64 {
    (config.ping_span_ratio * longer).min(config.ping_span_cap_ms)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A schedule past its burst at `interval_ms`, as `answered` would leave it.
    fn at_interval(interval_ms: f64, config: &ClientConfig) -> PingSchedule {
        let mut s = PingSchedule::default();
        s.start(0.0, config);
        s.sent = config.ping_burst;
        s.interval_ms = interval_ms;
        s
    }

    #[test]
    fn the_longest_interval_comes_with_the_first_agreeing_answer_the_span_allows() {
        let config = ClientConfig::default();
        let need = span_needed(config.ping_max_interval_ms, &config);
        let fit = |span_ms| Fit {
            drift: 0.0,
            span_ms,
        };
        // At 16 s: eight agreeing answers while the span is short keep the streak...
        let mut s = at_interval(16_000.0, &config);
        for _ in 0..config.ping_backoff_after {
            s.answered(0.0, Some(0.0), fit(need - 1.0), &config);
        }
        assert_eq!(s.interval_ms(), 16_000.0);
        // ...and the next agreeing answer once the span allows it doubles the interval.
        s.answered(0.0, Some(0.0), fit(need), &config);
        assert_eq!(s.interval_ms(), 24_000.0);
        // Below the longest, a streak that ends short of the span starts over.
        let mut s = at_interval(4_000.0, &config);
        let need = span_needed(8_000.0, &config);
        for _ in 0..config.ping_backoff_after {
            s.answered(0.0, Some(0.0), fit(need - 1.0), &config);
        }
        s.answered(0.0, Some(0.0), fit(need), &config);
        assert_eq!(s.interval_ms(), 4_000.0);
        for _ in 1..config.ping_backoff_after {
            s.answered(0.0, Some(0.0), fit(need), &config);
        }
        assert_eq!(s.interval_ms(), 8_000.0);
    }
}
