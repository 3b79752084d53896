//! The ping schedule: a quick burst right after each connect for a first rough lock on the
//! server clock, a slower fill until the clock window is full, then a periodic refresh.

use super::config::ClientConfig;
use crate::clock::CLOCK_WINDOW;

/// When the next clock ping is due on the current connection.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct PingSchedule {
    /// Pings sent on the current connection (picks the interval).
    sent: u32,
    /// Local time (ms) the next ping is due; `None` while not connected.
    next_at_ms: Option<f64>,
}

impl PingSchedule {
    /// A connection opened at `now`: the first ping goes at once.
    pub fn start(&mut self, now: f64) {
        self.sent = 0;
        self.next_at_ms = Some(now);
    }

    pub fn stop(&mut self) {
        self.next_at_ms = None;
    }

    pub fn next_timeout(&self) -> Option<f64> {
        self.next_at_ms
    }

    /// Whether a ping is due at `now`; if so it counts as sent and the next one is scheduled
    /// one interval after this one was due (so a late wake-up does not shift the schedule).
    pub fn take_due(&mut self, now: f64, config: &ClientConfig) -> bool {
        let Some(at) = self.next_at_ms.filter(|at| *at <= now) else {
            return false;
        };
        self.sent += 1;
        let every = if self.sent < config.ping_burst {
            config.ping_burst_interval_ms
        } else if (self.sent as usize) < CLOCK_WINDOW {
            config.ping_fill_interval_ms
        } else {
            config.ping_interval_ms
        };
        self.next_at_ms = Some(at + every);
        true
    }
}
