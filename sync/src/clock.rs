//! What the audio thread reads from the sync thread: the session timeline and the server-clock
//! offset, behind a seqlock made of atomics (no locks, no allocation, no unsafe).

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use keyboardia_core::clock::{ClockEstimate, Timeline};

/// A local monotonic clock in milliseconds, shared by the sync thread (ping times) and the audio
/// thread (block start times), so both speak of the same "local time".
#[derive(Clone, Copy, Debug)]
pub struct LocalClock {
    /// The instant this clock reads 0.
    origin: Instant,
}

impl Default for LocalClock {
    fn default() -> Self {
        Self {
            origin: Instant::now(),
        }
    }
}

impl LocalClock {
    /// Milliseconds since this clock was made.
    pub fn now_ms(&self) -> f64 {
        self.origin.elapsed().as_secs_f64() * 1000.0
    }

    /// The instant this clock reads `ms` (for sleeping until a time the client asked for).
    pub fn instant_at(&self, ms: f64) -> Instant {
        self.origin + std::time::Duration::from_secs_f64(ms.max(0.0) / 1000.0)
    }
}

/// The server clock as the audio thread needs it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ServerClock {
    /// The session timeline (server times).
    pub timeline: Timeline,
    /// Add to a [`LocalClock`] time to get server time.
    pub offset_ms: f64,
    /// Error bound of the offset.
    pub uncertainty_ms: f64,
}

const FIELDS: usize = 9;

/// Single writer (the sync thread), any number of readers (the audio thread). A reader retries
/// only while a write is in progress, which takes nanoseconds.
#[derive(Debug, Default)]
pub struct SharedClock {
    /// Even: stable; odd: a write is in progress. 0: nothing published yet.
    version: AtomicU64,
    fields: [AtomicU64; FIELDS],
    local: LocalClock,
}

impl SharedClock {
    pub fn new(local: LocalClock) -> Self {
        Self {
            local,
            ..Self::default()
        }
    }

    pub fn local(&self) -> &LocalClock {
        &self.local
    }

    /// Publishes a new timeline and/or offset (the sync thread only).
    pub fn publish(&self, timeline: &Timeline, estimate: Option<&ClockEstimate>) {
        let prev = self.read();
        let (offset, unc) = match (estimate, prev) {
            (Some(e), _) => (e.offset, e.uncertainty),
            (None, Some(p)) => (p.offset_ms, p.uncertainty_ms),
            (None, None) => (0.0, f64::INFINITY),
        };
        let values = [
            timeline.playing as u64 as f64,
            timeline.tempo,
            timeline.anchor_time,
            timeline.anchor_beat,
            timeline.start_beat,
            timeline.quantum,
            offset,
            unc,
            1.0,
        ];
        self.version.fetch_add(1, Ordering::AcqRel);
        for (f, v) in self.fields.iter().zip(values) {
            f.store(v.to_bits(), Ordering::Release);
        }
        self.version.fetch_add(1, Ordering::AcqRel);
    }

    /// The latest published clock, or `None` before the first snapshot. Lock-free and
    /// allocation-free: safe on the audio thread.
    pub fn read(&self) -> Option<ServerClock> {
        loop {
            let v1 = self.version.load(Ordering::Acquire);
            if v1 == 0 {
                return None;
            }
            if v1 % 2 == 1 {
                std::hint::spin_loop();
                continue;
            }
            let mut vals = [0f64; FIELDS];
            for (v, f) in vals.iter_mut().zip(&self.fields) {
                *v = f64::from_bits(f.load(Ordering::Acquire));
            }
            if self.version.load(Ordering::Acquire) == v1 {
                return Some(ServerClock {
                    timeline: Timeline {
                        playing: vals[0] != 0.0,
                        tempo: vals[1],
                        anchor_time: vals[2],
                        anchor_beat: vals[3],
                        start_beat: vals[4],
                        quantum: vals[5],
                        playback: Default::default(),
                    },
                    offset_ms: vals[6],
                    uncertainty_ms: vals[7],
                });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn readers_never_see_a_torn_write() {
        let shared = Arc::new(SharedClock::default());
        assert!(shared.read().is_none());
        let writer = {
            let shared = shared.clone();
            std::thread::spawn(move || {
                for i in 0..20_000 {
                    let x = i as f64;
                    let tl = Timeline {
                        playing: true,
                        tempo: x,
                        anchor_time: x,
                        anchor_beat: x,
                        start_beat: x,
                        quantum: x,
                        playback: Default::default(),
                    };
                    shared.publish(
                        &tl,
                        Some(&ClockEstimate {
                            offset: x,
                            rtt: 0.0,
                            uncertainty: x,
                        }),
                    );
                }
            })
        };
        let mut seen = 0;
        while !writer.is_finished() || seen == 0 {
            if let Some(c) = shared.read() {
                let t = c.timeline;
                assert!(
                    t.tempo == t.anchor_time
                        && t.anchor_beat == t.quantum
                        && c.offset_ms == t.tempo
                );
                seen += 1;
            }
        }
        writer.join().unwrap();
        assert_eq!(shared.read().unwrap().offset_ms, 19_999.0);
    }
}
