//! Pacing: the client's own copy of the room's message allowance.
//!
//! The room counts every frame on arrival against a token bucket per client address, and closes
//! the socket at the first frame over it ([`RateLimit`], announced in each snapshot). A client
//! that replays a long offline queue, or a user painting fast, must therefore never send faster
//! than that: the pacer keeps a mirror bucket with a safety margin. Control frames (hello,
//! pings, acks, play/stop) always go at once and are charged to it; edits wait for a token.

use crate::rate::{RateLimit, TokenBucket};

/// Of the room's sustained rate, the share the client uses (the rest absorbs clock drift).
const RATE_SHARE: f64 = 0.9;
/// Of the room's burst, the share the client uses: the rest absorbs frames that the network
/// delivers closer together than they were sent (up to about a second's worth).
const BURST_SHARE: f64 = 0.5;

/// The client's mirror of the room's token bucket, with a margin.
#[derive(Clone, Debug)]
pub(super) struct Pacer {
    /// The room's allowance, from the last snapshot (the default before one).
    room: RateLimit,
    /// Tokens for our frames; created full at the first frame. It outlives connections, as
    /// the room's bucket per address does.
    bucket: Option<TokenBucket>,
}

impl Default for Pacer {
    fn default() -> Self {
        Self {
            room: RateLimit::ROOM_DEFAULT,
            bucket: None,
        }
    }
}

impl Pacer {
    /// The room announced its allowance.
    pub(super) fn set_room_limit(&mut self, room: RateLimit) {
        if room.per_sec.is_finite() && room.burst.is_finite() {
            self.room = room;
        }
    }

    fn limit(&self) -> (f64, f64) {
        let per_sec = (self.room.per_sec * RATE_SHARE).max(0.0);
        let burst = (self.room.burst * BURST_SHARE).floor().max(1.0);
        (per_sec, burst)
    }

    fn bucket(&mut self, now_ms: f64) -> &mut TokenBucket {
        let (_, burst) = self.limit();
        self.bucket
            .get_or_insert_with(|| TokenBucket::full(burst, now_ms))
    }

    /// A control frame leaves at `now_ms`, whatever the allowance.
    pub(super) fn charge(&mut self, now_ms: f64) {
        let (per_sec, burst) = self.limit();
        self.bucket(now_ms).charge(now_ms, per_sec, burst);
    }

    /// Whether an edit may leave at `now_ms` (and counts it if so).
    pub(super) fn take(&mut self, now_ms: f64) -> bool {
        let (per_sec, burst) = self.limit();
        self.bucket(now_ms).take(now_ms, per_sec, burst).is_ok()
    }

    /// When the next edit may leave.
    pub(super) fn ready_at(&self) -> f64 {
        let (per_sec, _) = self.limit();
        self.bucket
            .map_or(f64::NEG_INFINITY, |b| b.ready_at(per_sec))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edits_wait_under_the_rooms_rate_with_a_margin() {
        let mut p = Pacer::default();
        p.set_room_limit(RateLimit {
            per_sec: 100.0,
            burst: 200.0,
        });
        let sent = (0..1000).filter(|_| p.take(0.0)).count();
        assert_eq!(sent, 100, "half the room's burst at once");
        // Then 90 a second: the room's bucket (100/s) never runs dry.
        assert_eq!(p.ready_at(), 12.0);
        let later = (0..1000).filter(|_| p.take(1000.0)).count();
        assert_eq!(later, 90);
    }

    #[test]
    fn control_frames_are_charged_and_delay_edits() {
        let mut p = Pacer::default();
        p.set_room_limit(RateLimit {
            per_sec: 10.0,
            burst: 2.0,
        });
        p.charge(0.0);
        assert!(!p.take(0.0), "the one token went to the control frame");
        p.set_room_limit(RateLimit {
            per_sec: f64::NAN,
            burst: 2.0,
        });
        assert_eq!(p.room.per_sec, 10.0, "a nonsense limit is ignored");
    }
}
