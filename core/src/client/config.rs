//! The client's tuning: timings of the ping schedule, reconnects and sample transfers.

/// Tuning of a [`Client`](super::Client). All durations are in milliseconds.
#[derive(Clone, Debug, PartialEq)]
pub struct ClientConfig {
    /// The player's display name, sent in the hello.
    pub name: String,
    /// Bound of the first reconnect delay.
    pub backoff_min_ms: f64,
    /// Longest reconnect delay.
    pub backoff_max_ms: f64,
    /// Longest wait for a server to accept a connection before giving up on the attempt.
    pub connect_timeout_ms: f64,
    /// Pings sent quickly after each connect, for a first rough lock on the server clock.
    pub ping_burst: u32,
    /// Interval between the pings of the burst.
    pub ping_burst_interval_ms: f64,
    /// Interval after the burst while the clock locks, and the shortest one after answers
    /// disagree with the fitted clock. Wider than the network's jitter, so pings do not queue
    /// behind each other.
    pub ping_lock_interval_ms: f64,
    /// Longest interval, once locked (every round of pings wakes the session's server).
    pub ping_max_interval_ms: f64,
    /// Answers in a row that agree with the fitted clock before the interval doubles.
    pub ping_backoff_after: u32,
    /// The interval stays below the time the clock's samples span divided by this: the line
    /// is extrapolated over one interval, and it is only as good as the span behind it; and
    /// the samples taken meanwhile are what pins the line's slope down.
    pub ping_span_ratio: f64,
    /// ...or below the time (ms) they span, whichever is shorter: however high the ratio, the
    /// longest interval comes once the samples span this (and the answers agree).
    pub ping_span_cap_ms: f64,
    /// An answer further than this (ms) from the fitted clock, beyond what its round trip
    /// explains, halves the interval.
    pub ping_residual_ms: f64,
    /// At the longest interval, ping on the room's grid of server time (multiples of the
    /// interval), so the pings of a silent room's players wake its server together. Off only
    /// to measure what it saves (`wake_bench`).
    pub ping_align: bool,
    /// From this interval (ms) on, pings go in pairs, `ping_pair_gap_ms` apart, a pair every
    /// two intervals (the same pings a minute): a server that sleeps when idle (a Durable
    /// Object may hibernate 10 s after its last event) stamps the first ping of a round only
    /// once it has woken, milliseconds late, which loosens that sample's upper bound; the
    /// second finds it awake. Infinite: never.
    pub ping_pair_from_ms: f64,
    /// The time (ms) between the two pings of a pair.
    pub ping_pair_gap_ms: f64,
    /// The server clock's resolution (ms): its time stamps are whole multiples of this, cut
    /// down. A Worker's are whole milliseconds (`Date.now()`), so the default is 1; a server
    /// that stamps to a microsecond or finer is 0. The clock estimator takes a stamp `s` to
    /// mean "between `s` and `s + tick`" (else it sits half a tick low).
    pub server_clock_tick_ms: f64,
    /// Bound of the first retry delay of a failed sample upload or download.
    pub transfer_retry_min_ms: f64,
    /// Longest retry delay of a sample upload or download.
    pub transfer_retry_max_ms: f64,
    /// Seeds the jitter of every backoff (the client draws no entropy of its own).
    pub seed: u64,
}

impl Default for ClientConfig {
    fn default() -> Self {
        Self {
            name: "player".into(),
            backoff_min_ms: 250.0,
            backoff_max_ms: 10_000.0,
            connect_timeout_ms: 5_000.0,
            // A rough lock within half a second of joining, two pings a second while locking,
            // then backing off, each doubling once the samples span 90 doubled intervals (1 s
            // at a minute and a half, 2 s at 3 minutes, 4 s at 6, 8 s at 12) or 15 minutes, to
            // one every 24 s (2.5 a minute, in pairs every 48 s) by about minute 17.
            ping_burst: 32,
            ping_burst_interval_ms: 15.0,
            ping_lock_interval_ms: 500.0,
            ping_max_interval_ms: 24000.0,
            ping_backoff_after: 8,
            ping_span_ratio: 90.0,
            ping_span_cap_ms: 15.0 * 60_000.0,
            ping_residual_ms: 1.0,
            ping_align: true,
            ping_pair_from_ms: 10_000.0,
            ping_pair_gap_ms: 1_000.0,
            server_clock_tick_ms: 1.0,
            transfer_retry_min_ms: 500.0,
            transfer_retry_max_ms: 15_000.0,
            seed: 0,
        }
    }
}
