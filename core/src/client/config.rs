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
    /// Interval after the burst until the clock window is full. Wider than the network's
    /// jitter, so pings do not queue behind each other.
    pub ping_fill_interval_ms: f64,
    /// Ping interval once the window is full (periodic re-sync).
    pub ping_interval_ms: f64,
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
            // A rough lock within half a second of joining, a full window after about 12 s, then
            // two pings a second: the window spans the last two minutes.
            ping_burst: 32,
            ping_burst_interval_ms: 15.0,
            ping_fill_interval_ms: 50.0,
            ping_interval_ms: 500.0,
            transfer_retry_min_ms: 500.0,
            transfer_retry_max_ms: 15_000.0,
            seed: 0,
        }
    }
}
