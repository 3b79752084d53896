//! What the audio thread reads from the sync thread: the session timeline (its playback
//! included: which pattern or the song plays when, the fill switch) and the server clock
//! (offset and drift), behind a seqlock made of atomics (no locks, no allocation, no unsafe).

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use keyboardia_core::clock::{ClockEstimate, Timeline};
use keyboardia_core::song::{Cue, Play, Playback};

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
    /// Add to a [`LocalClock`] time to get server time: the offset when the clock was read,
    /// drift included (between pings, which come every 24 s once locked, the offset moves
    /// with the clocks' drift; [`ServerClock::offset_at`] gives it at any local time).
    pub offset_ms: f64,
    /// Error bound of the offset.
    pub uncertainty_ms: f64,
    /// How fast the offset changes: ms per ms of local time (1e-6 is 1 ppm).
    pub drift: f64,
    /// The local time (ms) of the newest clock sample, where the fitted line is anchored.
    pub at_ms: f64,
    /// The offset (ms) at `at_ms`.
    pub anchor_offset_ms: f64,
    /// Clock samples (pongs) taken on the current connection.
    pub samples: u64,
}

impl ServerClock {
    /// Server time minus local time at local time `local_ms`.
    pub fn offset_at(&self, local_ms: f64) -> f64 {
        self.anchor_offset_ms + self.drift * (local_ms - self.at_ms)
    }
}

/// The clock's own fields, then the timeline's playback ([`PLAYBACK_FIELDS`]).
const FIELDS: usize = 12 + PLAYBACK_FIELDS;

/// A [`Playback`] as plain numbers: play, since, the queued play (or -1) and its beat, fill,
/// fill beat. Plays are [`Play::code`]s.
const PLAYBACK_FIELDS: usize = 6;

/// `playback` as the seqlock's numbers.
fn playback_fields(pb: &Playback) -> [f64; PLAYBACK_FIELDS] {
    let (next, at) = pb
        .next
        .map_or((-1.0, 0.0), |c| (f64::from(c.play.code()), c.at_beat));
    [
        f64::from(pb.play.code()),
        pb.since_beat,
        next,
        at,
        pb.fill as u64 as f64,
        pb.fill_beat,
    ]
}

/// The playback [`playback_fields`] wrote (the default for numbers it never writes).
fn playback_of(f: &[f64]) -> Playback {
    let play = |code: f64| (code >= 0.0).then(|| Play::from_code(code as u8)).flatten();
    Playback {
        play: play(f[0]).unwrap_or(Playback::default().play),
        since_beat: f[1],
        next: play(f[2]).map(|play| Cue {
            play,
            at_beat: f[3],
        }),
        fill: f[4] != 0.0,
        fill_beat: f[5],
    }
}

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

    /// Publishes a new timeline and/or clock estimate (the sync thread only).
    pub fn publish(&self, timeline: &Timeline, estimate: Option<&ClockEstimate>) {
        let prev = self.read();
        let (offset, unc, drift, at, samples) = match (estimate, prev) {
            (Some(e), _) => (e.offset, e.uncertainty, e.drift, e.at, e.samples),
            (None, Some(p)) => (
                p.anchor_offset_ms,
                p.uncertainty_ms,
                p.drift,
                p.at_ms,
                p.samples,
            ),
            (None, None) => (0.0, f64::INFINITY, 0.0, 0.0, 0),
        };
        let mut values = [0.0; FIELDS];
        let clock = [
            timeline.playing as u64 as f64,
            timeline.tempo,
            timeline.anchor_time,
            timeline.anchor_beat,
            timeline.start_beat,
            timeline.quantum,
            offset,
            unc,
            1.0,
            drift,
            at,
            samples as f64,
        ];
        values[..12].copy_from_slice(&clock);
        values[12..].copy_from_slice(&playback_fields(&timeline.playback));
        self.version.fetch_add(1, Ordering::AcqRel);
        for (f, v) in self.fields.iter().zip(values) {
            f.store(v.to_bits(), Ordering::Release);
        }
        self.version.fetch_add(1, Ordering::AcqRel);
    }

    /// The latest published clock, or `None` before the first snapshot, with the offset as
    /// of now (one read of the local clock). Lock-free and allocation-free: safe on the audio
    /// thread.
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
                let mut clock = ServerClock {
                    timeline: Timeline {
                        playing: vals[0] != 0.0,
                        tempo: vals[1],
                        anchor_time: vals[2],
                        anchor_beat: vals[3],
                        start_beat: vals[4],
                        quantum: vals[5],
                        playback: playback_of(&vals[12..]),
                    },
                    offset_ms: vals[6],
                    uncertainty_ms: vals[7],
                    drift: vals[9],
                    at_ms: vals[10],
                    anchor_offset_ms: vals[6],
                    samples: vals[11] as u64,
                };
                clock.offset_ms = clock.offset_at(self.local.now_ms());
                return Some(clock);
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
                for i in 0..20_000u64 {
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
                            drift: 0.0,
                            at: x,
                            rtt: 0.0,
                            uncertainty: x,
                            samples: i,
                            span: 0.0,
                            width: 0.0,
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
                        && c.at_ms == t.tempo
                        && c.samples as f64 == t.tempo
                );
                seen += 1;
            }
        }
        writer.join().unwrap();
        assert_eq!(shared.read().unwrap().offset_ms, 19_999.0);
    }

    #[test]
    fn the_timelines_playback_reaches_the_reader() {
        let shared = SharedClock::default();
        let mut tl = Timeline::new(120.0, 0.0);
        shared.publish(&tl, None);
        assert_eq!(
            shared.read().unwrap().timeline.playback,
            Playback::default()
        );
        tl.playback = Playback {
            play: Play::Song,
            since_beat: 12.0,
            next: Some(Cue {
                play: Play::Pattern("H".parse().unwrap()),
                at_beat: 44.0,
            }),
            fill: true,
            fill_beat: 13.25,
        };
        shared.publish(&tl, None);
        assert_eq!(shared.read().unwrap().timeline, tl);
        tl.playback.next = None;
        tl.playback.play = Play::Pattern("C".parse().unwrap());
        shared.publish(&tl, None);
        assert_eq!(shared.read().unwrap().timeline, tl);
    }

    #[test]
    fn the_offset_read_follows_the_drift() {
        let shared = SharedClock::default();
        let now = shared.local().now_ms();
        // 100 ppm: the offset grows by 1 ms every 10 s; anchored 10 s ago at 500 ms.
        let estimate = ClockEstimate {
            offset: 500.0,
            drift: 100e-6,
            at: now - 10_000.0,
            rtt: 1.0,
            uncertainty: 0.1,
            samples: 40,
            span: 60_000.0,
            width: 1.0,
        };
        shared.publish(&Timeline::new(120.0, 0.0), Some(&estimate));
        let c = shared.read().unwrap();
        assert!((c.offset_ms - 501.0).abs() < 0.01, "{c:?}");
        assert_eq!(c.offset_at(now + 10_000.0), 502.0);
        assert_eq!(c.samples, 40);
        // A timeline alone keeps the clock.
        shared.publish(&Timeline::new(90.0, 0.0), None);
        assert_eq!(shared.read().unwrap().offset_at(now + 10_000.0), 502.0);
    }
}
