//! Clock math: the session's shared timeline and the NTP-style offset estimator.
//!
//! All times are milliseconds as `f64`: server times on the server's clock (ms since the Unix
//! epoch), local times on whatever monotonic clock the caller uses. Nothing here reads a clock.

use serde::{Deserialize, Serialize};

use crate::song::Playback;

/// Beats per bar: play starts on a bar line.
pub const DEFAULT_QUANTUM: f64 = 4.0;
/// How far ahead of "now" a shared start is scheduled, so every client hears it from its first
/// beat (covers a round trip plus an audio buffer on a slow connection).
pub const DEFAULT_START_LEAD_MS: f64 = 250.0;

/// The session's beat clock, as in Ableton Link: a beat line that always runs, a tempo, and a
/// start position when the transport plays.
///
/// The beat at server time `t` is `anchor_beat + (t - anchor_time) * tempo / 60000`. A tempo
/// change re-anchors at the current beat, so the phase is continuous. The pattern position of a
/// playing transport is `beat(t) - start_beat` beats (four 16th steps per beat).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Timeline {
    pub playing: bool,
    /// BPM.
    pub tempo: f64,
    /// Server time (ms) at which the beat line passed `anchor_beat`.
    pub anchor_time: f64,
    pub anchor_beat: f64,
    /// The beat at which the pattern's step 0 plays (meaningful while `playing`).
    pub start_beat: f64,
    /// Beats per bar; play starts on a multiple of it.
    pub quantum: f64,
    /// Which pattern (or the song) plays when, and the fill switch, stamped on this beat line
    /// by the room ([`crate::song`]). Left out of the JSON at the default (pattern A), so
    /// timelines from before patterns read and write unchanged.
    #[serde(default, skip_serializing_if = "Playback::is_default")]
    pub playback: Playback,
}

impl Timeline {
    /// A stopped timeline whose beat line starts at 0 at `now`.
    pub fn new(tempo: f64, now: f64) -> Self {
        Self {
            playing: false,
            tempo,
            anchor_time: now,
            anchor_beat: 0.0,
            start_beat: 0.0,
            quantum: DEFAULT_QUANTUM,
            playback: Playback::default(),
        }
    }

    /// The beat-line position at server time `t`.
    pub fn beat_at(&self, t: f64) -> f64 {
        self.anchor_beat + (t - self.anchor_time) * self.tempo / 60_000.0
    }

    /// The server time at which the beat line reaches `beat`.
    pub fn time_at(&self, beat: f64) -> f64 {
        self.anchor_time + (beat - self.anchor_beat) * 60_000.0 / self.tempo
    }

    /// The pattern position in beats at `t`, or `None` while stopped or before the start.
    pub fn position_at(&self, t: f64) -> Option<f64> {
        let p = self.beat_at(t) - self.start_beat;
        (self.playing && p >= 0.0).then_some(p)
    }

    /// Starts the transport on the first bar line at least `lead_ms` after `now`. Playing already
    /// is not an error: the start stays where it was.
    pub fn play(&mut self, now: f64, lead_ms: f64) {
        if self.playing {
            return;
        }
        let earliest = self.beat_at(now + lead_ms);
        self.start_beat = (earliest / self.quantum).ceil() * self.quantum;
        self.playing = true;
    }

    pub fn stop(&mut self) {
        self.playing = false;
    }

    /// Changes the tempo at `now` without a jump in phase.
    pub fn set_tempo(&mut self, now: f64, tempo: f64) {
        self.anchor_beat = self.beat_at(now);
        self.anchor_time = now;
        self.tempo = tempo;
    }
}

/// One ping/pong exchange.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ClockSample {
    /// Server clock minus local clock, assuming a symmetric path.
    pub offset: f64,
    pub rtt: f64,
}

impl ClockSample {
    /// From a ping sent at local `sent`, answered with server time `server`, received at local
    /// `received`.
    pub fn new(sent: f64, server: f64, received: f64) -> Self {
        Self {
            offset: server - (sent + received) / 2.0,
            rtt: received - sent,
        }
    }
}

/// The current best estimate of the server clock.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ClockEstimate {
    /// Add to a local time to get the server time.
    pub offset: f64,
    /// The smallest round trip in the window.
    pub rtt: f64,
    /// About two standard errors of `offset`, from the spread of the trusted samples.
    pub uncertainty: f64,
}

/// Number of samples kept (Link uses 100 points; through 50 ± 20 ms of jitter per direction the
/// median's error falls as 1/√n, to about 1 ms typical and 3 ms at p99 with this many).
pub const CLOCK_WINDOW: usize = 256;

/// Keeps the last [`CLOCK_WINDOW`] samples. Queueing, retransmissions and a busy receiver (a
/// browser's main thread stamps a frame when it gets to it) only ever add to a round trip, and
/// often to one direction only, which moves that sample's offset by half the delay: so only the
/// fastest quarter is trusted (as NTP trusts its lowest-delay samples), and the offset is their
/// median. Fixed-size, no allocation.
#[derive(Clone, Debug)]
pub struct ClockSync {
    samples: [ClockSample; CLOCK_WINDOW],
    len: usize,
    next: usize,
}

impl Default for ClockSync {
    fn default() -> Self {
        Self {
            samples: [ClockSample {
                offset: 0.0,
                rtt: 0.0,
            }; CLOCK_WINDOW],
            len: 0,
            next: 0,
        }
    }
}

impl ClockSync {
    /// Adds a sample; non-finite or negative round trips are ignored.
    pub fn add(&mut self, sample: ClockSample) {
        if !(sample.offset.is_finite() && sample.rtt.is_finite() && sample.rtt >= 0.0) {
            return;
        }
        self.samples[self.next] = sample;
        self.next = (self.next + 1) % CLOCK_WINDOW;
        self.len = (self.len + 1).min(CLOCK_WINDOW);
    }

    /// Forgets every sample (after a reconnect the path may differ).
    pub fn reset(&mut self) {
        self.len = 0;
        self.next = 0;
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub fn estimate(&self) -> Option<ClockEstimate> {
        if self.len == 0 {
            return None;
        }
        let mut sorted = self.samples;
        let window = &mut sorted[..self.len];
        window.sort_by(|a, b| a.rtt.total_cmp(&b.rtt));
        let rtt = window[0].rtt;
        let trusted = &mut window[..self.len.div_ceil(4)];
        trusted.sort_by(|a, b| a.offset.total_cmp(&b.offset));
        let k = trusted.len();
        let offset = trusted[k / 2].offset;
        // σ ≈ 1.4826·MAD; the median's standard error ≈ 1.253·σ/√k; report two of them.
        let mut dev = [0f64; CLOCK_WINDOW];
        for (d, s) in dev.iter_mut().zip(trusted.iter()) {
            *d = (s.offset - offset).abs();
        }
        let dev = &mut dev[..k];
        dev.sort_by(f64::total_cmp);
        let sigma = 1.4826 * dev[k / 2];
        let uncertainty = 2.0 * 1.253 * sigma / (k as f64).sqrt();
        Some(ClockEstimate {
            offset,
            rtt,
            uncertainty,
        })
    }
}

/// Points kept by [`SampleClock`] (Link regresses over 512).
pub const SAMPLE_CLOCK_POINTS: usize = 512;

/// Maps an audio stream's sample counter to the local clock.
///
/// Each block, the audio thread observes (sample position of the block start, local time when
/// the callback ran). Callback times jitter by up to a buffer or more; a least-squares line
/// through the last [`SAMPLE_CLOCK_POINTS`] observations gives a steady time for any sample
/// position, and its slope follows the audio device's clock drift against the local clock.
/// Fixed-size and allocation-free: safe on the audio thread.
#[derive(Clone, Debug)]
pub struct SampleClock {
    /// (sample position, local ms) observations, a ring.
    points: [(f64, f64); SAMPLE_CLOCK_POINTS],
    len: usize,
    next: usize,
    /// Nominal ms per sample, used until two points exist.
    nominal_ms_per_sample: f64,
    /// The fitted line: local_ms = origin_ms + (pos - origin_pos) * ms_per_sample.
    origin_pos: f64,
    origin_ms: f64,
    ms_per_sample: f64,
}

impl SampleClock {
    pub fn new(sample_rate: f64) -> Self {
        let nominal = 1000.0 / sample_rate;
        Self {
            points: [(0.0, 0.0); SAMPLE_CLOCK_POINTS],
            len: 0,
            next: 0,
            nominal_ms_per_sample: nominal,
            origin_pos: 0.0,
            origin_ms: 0.0,
            ms_per_sample: nominal,
        }
    }

    /// Forgets everything (after a transport restart, a sample-rate change or a dropout).
    pub fn reset(&mut self) {
        self.len = 0;
        self.next = 0;
    }

    /// Records that the block starting at sample `pos` was processed at local time `local_ms`,
    /// and refits the line.
    pub fn observe(&mut self, pos: u64, local_ms: f64) {
        if !local_ms.is_finite() {
            return;
        }
        self.points[self.next] = (pos as f64, local_ms);
        self.next = (self.next + 1) % SAMPLE_CLOCK_POINTS;
        self.len = (self.len + 1).min(SAMPLE_CLOCK_POINTS);
        self.fit();
    }

    fn fit(&mut self) {
        let pts = &self.points[..self.len];
        // Centre on the newest point so the sums stay small and precise.
        let (x0, y0) = self.points[(self.next + SAMPLE_CLOCK_POINTS - 1) % SAMPLE_CLOCK_POINTS];
        let n = pts.len() as f64;
        let (mut sx, mut sy) = (0.0, 0.0);
        for &(x, y) in pts {
            sx += x - x0;
            sy += y - y0;
        }
        let (mx, my) = (sx / n, sy / n);
        let (mut sxx, mut sxy) = (0.0, 0.0);
        for &(x, y) in pts {
            let (dx, dy) = (x - x0 - mx, y - y0 - my);
            sxx += dx * dx;
            sxy += dx * dy;
        }
        let slope = if sxx > 0.0 {
            sxy / sxx
        } else {
            self.nominal_ms_per_sample
        };
        // A wild slope (a stall, a counter jump) is not a clock: keep within ±1 % of nominal.
        let lo = self.nominal_ms_per_sample * 0.99;
        let hi = self.nominal_ms_per_sample * 1.01;
        self.ms_per_sample = slope.clamp(lo, hi);
        self.origin_pos = x0 + mx;
        self.origin_ms = y0 + my;
    }

    /// The steady local time of sample `pos`, or `None` before the first observation.
    pub fn local_ms_at(&self, pos: u64) -> Option<f64> {
        (self.len > 0)
            .then_some(self.origin_ms + (pos as f64 - self.origin_pos) * self.ms_per_sample)
    }
}
