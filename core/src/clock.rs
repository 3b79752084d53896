//! Clock math: the session's shared timeline and the server-clock estimator (offset and drift).
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
    /// Server clock minus local clock, assuming a symmetric path: the middle of the offsets
    /// the exchange allows.
    pub offset: f64,
    /// The width (ms) of the offsets the exchange allows: the sample's true offset lies within
    /// `offset ± rtt / 2`. The round trip, plus the server clock's tick when its stamps are
    /// whole ticks ([`ClockSample::with_tick`]).
    pub rtt: f64,
    /// Local time (ms) of the exchange's midpoint, where `offset` holds.
    pub at: f64,
}

impl ClockSample {
    /// From a ping sent at local `sent`, answered with server time `server`, received at local
    /// `received`, the server's clock read to a precision far finer than a millisecond.
    pub fn new(sent: f64, server: f64, received: f64) -> Self {
        Self::with_tick(sent, server, received, 0.0)
    }

    /// The same, from a server whose stamps are whole ticks of `tick` ms, cut down (a Worker's
    /// `Date.now()` counts whole milliseconds): a stamp `server` says the server's clock read
    /// somewhere in `[server, server + tick)` when it answered. Taking it for `server` would
    /// put every sample's offsets half a tick low, and the fit with them: the bias a whole
    /// millisecond stamp leaves is half a millisecond. So the allowed offsets run from
    /// `server - received` to `server + tick - sent`.
    pub fn with_tick(sent: f64, server: f64, received: f64, tick: f64) -> Self {
        let tick = if tick.is_finite() { tick.max(0.0) } else { 0.0 };
        Self {
            offset: server + tick / 2.0 - (sent + received) / 2.0,
            rtt: received - sent + tick,
            at: (sent + received) / 2.0,
        }
    }

    /// The server-minus-local offsets this exchange proves possible: the server stamped the
    /// pong after the ping left and before the pong arrived, whatever the delays.
    fn bounds(&self) -> (f64, f64) {
        (self.offset - self.rtt / 2.0, self.offset + self.rtt / 2.0)
    }
}

/// The current best estimate of the server clock: a line, `server = local + offset_at(local)`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ClockEstimate {
    /// Add to the local time `at` to get the server time (the offset at `at`; at other times
    /// use [`ClockEstimate::offset_at`], which follows the drift).
    pub offset: f64,
    /// How fast the offset changes: ms of offset per ms of local time (the server clock's rate
    /// minus the local clock's; 1e-6 is 1 ppm). 0 until the window spans
    /// [`CLOCK_MIN_DRIFT_SPAN_MS`].
    pub drift: f64,
    /// Local time (ms) at which `offset` holds: the newest sample's midpoint.
    pub at: f64,
    /// The smallest round trip in the window (with the server clock's tick: the narrowest
    /// sample, see [`ClockSample::rtt`]).
    pub rtt: f64,
    /// About two standard errors of `offset`, from the spread of the fastest samples about the
    /// fitted line.
    pub uncertainty: f64,
    /// Samples taken since the window last restarted (pongs received on this connection).
    pub samples: u64,
    /// Local time (ms) from the oldest sample used to the newest: how far back the line is
    /// supported.
    pub span: f64,
    /// The distance (ms) at `at` between the two bounding lines (the lowest possible upper
    /// bound minus the highest lower bound; with drift, the two hulls' lines read at
    /// [`FIT_AT`]): the round trip of an exchange that would add nothing; `width - rtt` is how
    /// loosely the window pins the offset down.
    pub width: f64,
}

impl ClockEstimate {
    /// Server time minus local time at local time `local_ms`, drift included.
    pub fn offset_at(&self, local_ms: f64) -> f64 {
        self.offset + self.drift * (local_ms - self.at)
    }
}

/// Number of samples kept. While locking, pings come quickly and the window fills with a
/// dense anchor; once locked they come every 24 s, and 512 of them span three and a half hours.
/// With bounded jitter the error of the fitted line falls about as 1/n, so a long window is
/// what lets sparse pings stay accurate: through 50 ± 20 ms of jitter per direction, core's
/// simulator puts the p99 under 2 ms once the window spans an hour or so (see `core/tests/sim.rs`).
pub const CLOCK_WINDOW: usize = 512;

/// Oldest sample used, relative to the newest (ms): a line follows a clock's drift, not its
/// slow wander (a crystal's rate moves with temperature), so the fit looks back three hours at
/// most; a rate change large enough to matter shows as residuals, which tighten the pings.
pub const CLOCK_MAX_SPAN_MS: f64 = 180.0 * 60_000.0;

/// Shortest span of samples (ms) from which a drift is estimated; over less the line is flat.
pub const CLOCK_MIN_DRIFT_SPAN_MS: f64 = 20_000.0;

/// Largest drift believed (±500 ppm): clocks are specified to ±100 ppm; a wilder slope is noise.
pub const CLOCK_MAX_DRIFT: f64 = 500e-6;

/// A sample this far (ms) outside what the fitted line allows means a clock stepped (a server's
/// clock was set): the window restarts from it.
pub const CLOCK_STEP_MS: f64 = 20.0;

/// The hull lines are read at these fractions of the window's time span and averaged, for the
/// estimate's `width` and `uncertainty` (how loosely and how well the window pins the line
/// down) and for the line itself when no line lies between the bounds: a hull edge is best
/// supported around the middle of the window (Moon et al. read it at the mean time), a little
/// earlier than the middle since the window starts with the dense anchor of the lock;
/// averaging three readings tames the slope of a short edge.
const FIT_AT: [f64; 3] = [0.25, 0.4, 0.55];

/// Estimates the server clock, offset and drift, from the last [`CLOCK_WINDOW`] pongs.
///
/// Each exchange proves that the true offset lay within `offset ± rtt / 2` at its time, whatever
/// the delays; queueing, retransmissions and a busy receiver (a browser's main thread stamps a
/// frame when it gets to it) only ever widen that interval. Taken over the window, the highest
/// lower bound and the lowest upper bound come from the fastest legs in each direction
/// separately (the min-filter NTP applies to whole round trips, here per direction), and their
/// midpoint errs by half the difference of the two fastest legs' excess over the path's floor:
/// that error shrinks like 1/n with bounded jitter, where a median's shrinks like 1/√n.
///
/// With drift (once the samples span [`CLOCK_MIN_DRIFT_SPAN_MS`]) the bounds are lines. For
/// each slope there is a strip between the lowest line above every lower bound (on the lower
/// bounds' upper convex hull) and the highest line below every upper bound (on the upper
/// bounds' lower hull); the true line, shifted by each leg's floor, bounds such a strip. If each
/// leg's delay is its floor plus an exponential excess (its mean estimated from the median
/// round trip), the samples are likelier the wider the strip, by `exp(n·(width of the strip)
/// / (mean excess of a leg))`: the estimate is the mean of the strips' middle lines, slope and
/// offset, under that weight (`strips_mean`; the widest strip alone is the maximum-likelihood
/// line, the two-way form of Moon, Skelly and Towsley's linear-programming estimate of clock
/// skew). It takes every sample's constraint at once, wherever in the window the tightest
/// bounds are, so a run of loose upper bounds (the pings that wake a hibernated server) does
/// not tilt it. When no line of a believable drift lies between the bounds (a clock changed
/// its rate), the two hulls are read apart at [`FIT_AT`] instead and the estimate is their
/// mean. Fixed-size, no allocation.
#[derive(Clone, Debug)]
pub struct ClockSync {
    /// The samples, a ring in arrival order.
    samples: [ClockSample; CLOCK_WINDOW],
    /// Samples in the ring.
    len: usize,
    /// Where the next sample goes in the ring.
    next: usize,
    /// Samples taken since the last reset.
    taken: u64,
    /// The fit to the samples in the ring (refitted by each sample), `None` while empty.
    estimate: Option<ClockEstimate>,
}

impl Default for ClockSync {
    fn default() -> Self {
        Self {
            samples: [ClockSample {
                offset: 0.0,
                rtt: 0.0,
                at: 0.0,
            }; CLOCK_WINDOW],
            len: 0,
            next: 0,
            taken: 0,
            estimate: None,
        }
    }
}

impl ClockSync {
    /// Adds a sample and refits; non-finite or negative round trips are ignored (`None`).
    /// Returns the sample's residual: how far (ms) the line fitted before it misses the
    /// sample, beyond what the two round trips and the fit's own looseness explain on a path as
    /// fast as the fastest round trip seen (0 when the sample agrees; `None` for the first). A
    /// residual above [`CLOCK_STEP_MS`] restarts the window from this sample.
    pub fn add(&mut self, sample: ClockSample) -> Option<f64> {
        if !(sample.offset.is_finite()
            && sample.rtt.is_finite()
            && sample.rtt >= 0.0
            && sample.at.is_finite())
        {
            return None;
        }
        let residual = self.estimate.map(|e| residual(&e, &sample));
        if residual.is_some_and(|r| r > CLOCK_STEP_MS) {
            let taken = self.taken;
            self.reset();
            self.taken = taken;
        }
        self.samples[self.next] = sample;
        self.next = (self.next + 1) % CLOCK_WINDOW;
        self.len = (self.len + 1).min(CLOCK_WINDOW);
        self.taken += 1;
        self.estimate = self.fit();
        residual
    }

    /// Forgets every sample (after a reconnect the path may differ).
    pub fn reset(&mut self) {
        self.len = 0;
        self.next = 0;
        self.taken = 0;
        self.estimate = None;
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The fitted line as of the last sample.
    pub fn estimate(&self) -> Option<ClockEstimate> {
        self.estimate
    }

    /// Server time minus local time at local time `local_ms`, once a sample exists.
    pub fn offset_at(&self, local_ms: f64) -> Option<f64> {
        self.estimate.map(|e| e.offset_at(local_ms))
    }

    /// The sample added last, while the window holds one.
    pub fn newest(&self) -> Option<ClockSample> {
        (self.len > 0).then(|| self.samples[(self.next + CLOCK_WINDOW - 1) % CLOCK_WINDOW])
    }

    fn fit(&self) -> Option<ClockEstimate> {
        if self.len == 0 {
            return None;
        }
        let newest = self.samples[(self.next + CLOCK_WINDOW - 1) % CLOCK_WINDOW];
        // The samples of the last CLOCK_MAX_SPAN_MS, oldest first.
        let mut order = [0usize; CLOCK_WINDOW];
        let mut n = 0;
        for k in 0..self.len {
            let i = (self.next + CLOCK_WINDOW - self.len + k) % CLOCK_WINDOW;
            if newest.at - self.samples[i].at <= CLOCK_MAX_SPAN_MS {
                order[n] = i;
                n += 1;
            }
        }
        let order = &mut order[..n];
        order.sort_by(|a, b| self.samples[*a].at.total_cmp(&self.samples[*b].at));
        let rtt = order
            .iter()
            .map(|i| self.samples[*i].rtt)
            .fold(f64::INFINITY, f64::min);
        let (first, last) = (self.samples[order[0]].at, self.samples[order[n - 1]].at);
        let span = last - first;
        let mut spread = 0.0;
        // With drift, the readings' width (the line's own strip is as narrow as the fastest).
        let mut width = None;
        let (lower, upper) = if span < CLOCK_MIN_DRIFT_SPAN_MS {
            // Flat: the highest lower bound and the lowest upper bound.
            let lo = order
                .iter()
                .map(|i| self.samples[*i].bounds().0)
                .fold(f64::NEG_INFINITY, f64::max);
            let up = order
                .iter()
                .map(|i| self.samples[*i].bounds().1)
                .fold(f64::INFINITY, f64::min);
            ((lo, 0.0), (up, 0.0))
        } else {
            let pts = |upper: bool| {
                let mut p = [(0.0, 0.0); CLOCK_WINDOW];
                for (k, i) in order.iter().enumerate() {
                    let s = &self.samples[*i];
                    let (lo, up) = s.bounds();
                    p[k] = (s.at - last, if upper { up } else { lo });
                }
                p
            };
            let (lows, ups) = (pts(false), pts(true));
            let mut hulls = [[(0.0, 0.0); CLOCK_WINDOW]; 2];
            let [lower_hull, upper_hull] = &mut hulls;
            let h = upper_hull_of(&lows[..n], 1.0, lower_hull);
            let lower_hull = &lower_hull[..h];
            let h = upper_hull_of(&ups[..n], -1.0, upper_hull);
            let upper_hull = &upper_hull[..h];
            // The lower bounds' upper hull and the upper bounds' lower hull (negated: an upper
            // hull too), each read at several points of the span and averaged; how far apart
            // their readings put the present measures how well the line is pinned down, and
            // how far apart the averaged lines are at the present, how loosely.
            let (mut lo, mut up) = ((0.0, 0.0), (0.0, 0.0));
            let (mut least, mut most) = (f64::INFINITY, f64::NEG_INFINITY);
            for f in FIT_AT {
                let t = first + span * f - last;
                let l = hull_line_at(lower_hull, t, 1.0);
                let u = hull_line_at(upper_hull, t, -1.0);
                let w = 1.0 / FIT_AT.len() as f64;
                lo = (lo.0 + w * l.0, lo.1 + w * l.1);
                up = (up.0 + w * u.0, up.1 + w * u.1);
                let now = (l.0 + u.0) / 2.0;
                least = least.min(now);
                most = most.max(now);
            }
            spread = most - least;
            width = Some(up.0 - lo.0);
            // The line itself: the strips between the bounds, weighted by how wide they are
            // (`strips_mean`), or, when no line lies between the bounds (a clock changed its
            // rate, or a bound was wrong), the readings'.
            let mut excess = [0f64; CLOCK_WINDOW];
            for (e, i) in excess.iter_mut().zip(order.iter()) {
                *e = self.samples[*i].rtt - rtt;
            }
            let excess = &mut excess[..n];
            excess.sort_by(f64::total_cmp);
            let legs = excess[n / 2].max(1e-6) / GAMMA2_MEDIAN;
            strips_mean(lower_hull, upper_hull, n as f64 / legs)
                .map_or((lo, up), |line| (line, line))
        };
        // Lines as (value at `last`, slope).
        let offset = (lower.0 + upper.0) / 2.0;
        let drift = ((lower.1 + upper.1) / 2.0).clamp(-CLOCK_MAX_DRIFT, CLOCK_MAX_DRIFT);
        // Spread of the fastest quarter about the line: σ ≈ 1.4826·MAD, two standard errors of
        // a mean of k.
        let mut fast = [(0.0, 0.0); CLOCK_WINDOW];
        for (f, i) in fast.iter_mut().zip(order.iter()) {
            let s = &self.samples[*i];
            *f = (s.rtt, s.offset - (offset + drift * (s.at - last)));
        }
        let fast = &mut fast[..n];
        fast.sort_by(|a, b| a.0.total_cmp(&b.0));
        let k = n.div_ceil(4);
        let mut dev = [0f64; CLOCK_WINDOW];
        for (d, f) in dev.iter_mut().zip(fast.iter().take(k)) {
            *d = f.1.abs();
        }
        let dev = &mut dev[..k];
        dev.sort_by(f64::total_cmp);
        let sigma = 1.4826 * dev[k / 2];
        Some(ClockEstimate {
            offset,
            drift,
            at: last,
            rtt,
            uncertainty: 2.0 * 1.253 * sigma / (k as f64).sqrt() + spread,
            samples: self.taken,
            span,
            width: width.unwrap_or(upper.0 - lower.0),
        })
    }
}

/// How far (ms) the line `e` misses the offsets `s` allows, both taken as tightly as the fastest
/// round trip seen allows: the sample's `offset ± (rtt - fastest) / 2` against the estimate's
/// `± (width - fastest) / 2`. Zero when they agree.
fn residual(e: &ClockEstimate, s: &ClockSample) -> f64 {
    let fastest = e.rtt.min(s.rtt);
    let slack = (s.rtt - fastest) / 2.0 + (e.width - fastest).max(0.0) / 2.0;
    ((s.offset - e.offset_at(s.at)).abs() - slack).max(0.0)
}

/// The vertices of the upper convex hull of `pts` (sorted by x), written to `hull`; returns how
/// many. `sign` -1 takes the lower hull instead, by negating y (the vertices keep the negated y).
fn upper_hull_of(pts: &[(f64, f64)], sign: f64, hull: &mut [(f64, f64); CLOCK_WINDOW]) -> usize {
    let mut h = 0;
    for &(x, y) in pts {
        let p = (x, sign * y);
        if h >= 1 && hull[h - 1].0 == p.0 {
            // Same time: only the higher point can be on the hull.
            if p.1 <= hull[h - 1].1 {
                continue;
            }
            h -= 1;
        }
        // Pop while the last two and p do not turn clockwise (keeps the upper hull).
        while h >= 2 {
            let (a, b) = (hull[h - 2], hull[h - 1]);
            let cross = (b.0 - a.0) * (p.1 - a.1) - (b.1 - a.1) * (p.0 - a.0);
            if cross >= 0.0 {
                h -= 1;
            } else {
                break;
            }
        }
        hull[h] = p;
        h += 1;
    }
    h
}

/// The value at x = 0 of the lowest line of slope `b` on or above every vertex of an upper
/// hull: the largest `y - b·x`.
fn support(hull: &[(f64, f64)], b: f64) -> f64 {
    hull.iter()
        .map(|p| p.1 - b * p.0)
        .fold(f64::NEG_INFINITY, f64::max)
}

/// The median of the sum of two exponential delays of mean 1 (a Gamma(2, 1) variable): a round
/// trip's excess over the fastest is about this many times one leg's mean excess.
const GAMMA2_MEDIAN: f64 = 1.678;

/// The line between the bounds that the samples make likeliest, averaged: for a slope `b`
/// (within ±[`CLOCK_MAX_DRIFT`]), `L(b)` is the value at x = 0 of the lowest line of slope `b`
/// on or above every lower bound and `U(b)` of the highest on or below every upper bound, and
/// `U(b) - L(b)` is how wide the strip between them is. If each leg's delay is its floor (the
/// same both ways: the asymmetry no exchange can see) plus an exponential excess of rate
/// `λ`, the samples' likelihood is `exp(2·n·λ·δ)` for a strip of half-width `δ` that every
/// sample's interval contains, so that over slopes it is `exp(kappa·(U(b) - L(b)))` with
/// `kappa = n·λ`, and the line of slope `b` is the strip's middle, `(L(b) + U(b)) / 2`. This
/// returns the mean slope and the mean middle under that weight, as a line (value at x = 0,
/// slope). `lower` is the lower bounds' upper hull, `upper` the
/// upper bounds' lower hull with y negated ([`upper_hull_of`]). `None` when no line of a
/// believable slope lies between the bounds.
///
/// `U - L` is concave and piecewise linear in `b`, bending only at the hulls' edge slopes, and
/// so is the middle, so the weighted means are sums of exact integrals over the pieces.
/// The widest strip alone (the weight's peak) rests on the three samples that bound it and,
/// where it passes through one sample's whole interval, leaves the slope free over a range;
/// the weight takes in how fast the room narrows on either side.
fn strips_mean(lower: &[(f64, f64)], upper: &[(f64, f64)], kappa: f64) -> Option<(f64, f64)> {
    let lo = |b: f64| support(lower, b);
    let up = |b: f64| -support(upper, -b);
    let mut slopes = [0.0; 2 * CLOCK_WINDOW];
    slopes[0] = -CLOCK_MAX_DRIFT;
    slopes[1] = CLOCK_MAX_DRIFT;
    let mut n = 2;
    for (hull, sign) in [(lower, 1.0), (upper, -1.0)] {
        for w in hull.windows(2) {
            let b = sign * (w[1].1 - w[0].1) / (w[1].0 - w[0].0);
            if b.abs() < CLOCK_MAX_DRIFT {
                slopes[n] = b;
                n += 1;
            }
        }
    }
    let slopes = &mut slopes[..n];
    slopes.sort_unstable_by(f64::total_cmp);
    // At each slope: the room between the lines and their middle.
    let mut at = [(0.0, 0.0); 2 * CLOCK_WINDOW];
    let mut widest = f64::NEG_INFINITY;
    for (a, b) in at.iter_mut().zip(slopes.iter()) {
        let (l, u) = (lo(*b), up(*b));
        *a = (u - l, (u + l) / 2.0);
        widest = widest.max(u - l);
    }
    if !(widest >= 0.0 && kappa > 0.0) {
        return None;
    }
    // Sums of the weight, of the slope times it and of the middle times it, the weight taken
    // relative to the widest strip's.
    let (mut sum, mut slope, mut middle) = (0.0, 0.0, 0.0);
    for k in 0..n - 1 {
        let d = slopes[k + 1] - slopes[k];
        let ((g0, m0), (g1, m1)) = (at[k], at[k + 1]);
        if d <= 0.0 || kappa * (g0.max(g1) - widest) < -50.0 {
            continue;
        }
        // From the piece's wider end, where the weight is largest, towards the other: the
        // weight there is e^c, falling as e^(-q·y) over y in [0, d].
        let (c, b, m, dir) = if g1 > g0 {
            (kappa * (g1 - widest), slopes[k + 1], m1, -1.0)
        } else {
            (kappa * (g0 - widest), slopes[k], m0, 1.0)
        };
        let q = kappa * (g1 - g0).abs() / d;
        let x = q * d;
        // The integrals of the weight and of y times it.
        let (w, wy) = if x < 1e-4 {
            (d * (1.0 - x / 2.0), d * d * (0.5 - x / 3.0))
        } else {
            let e = -(-x).exp_m1();
            (e / q, e / (q * q) - d * (-x).exp() / q)
        };
        let (w, wy) = (c.exp() * w, c.exp() * wy);
        sum += w;
        slope += b * w + dir * wy;
        middle += m * w + dir * (m1 - m0) / d * wy;
    }
    if !(sum > 0.0 && sum.is_finite()) {
        return None;
    }
    Some((middle / sum, slope / sum))
}

/// The supporting line at `t` of an upper convex hull's vertices (sorted by x), as (value at
/// x = 0, slope); `sign` -1 for a lower hull built with y negated ([`upper_hull_of`]), the line
/// given back in the original y. `t` outside the vertices gives a flat line through the
/// nearest one.
fn hull_line_at(hull: &[(f64, f64)], t: f64, sign: f64) -> (f64, f64) {
    let h = hull.len();
    let line = match hull.windows(2).find(|w| w[0].0 <= t && t <= w[1].0) {
        Some(w) => {
            let slope = (w[1].1 - w[0].1) / (w[1].0 - w[0].0);
            (w[0].1 - slope * w[0].0, slope)
        }
        None => {
            let v = if t < hull[0].0 { hull[0] } else { hull[h - 1] };
            (v.1, 0.0)
        }
    };
    (sign * line.0, sign * line.1)
}

/// Points kept by [`SampleClock`] (Link regresses over 512).
pub const SAMPLE_CLOCK_POINTS: usize = 512;

/// A callback this far (ms) off the fitted line is not used for the fit: late by a stall of
/// the host, or one of the hurried callbacks that catch up after it. Callback jitter on a busy
/// machine is a few ms; a consistent shift this small bends the beat by well under a ms.
pub const SAMPLE_CLOCK_STEP_MS: f64 = 6.0;

/// Callbacks off the line that agree with each other to within this (ms, the spread of their
/// offsets from the line at the nominal rate) over [`SAMPLE_CLOCK_CONFIRM_MS`] of audio are a
/// step: the host paused (or the device dropped out) and the frame counter does not know. A
/// catch-up after a stall does not agree with itself: its callbacks come back to back, so
/// their offsets fall by the length of the audio they cover.
const SAMPLE_CLOCK_AGREE_MS: f64 = 4.0;

/// Audio (ms) a run of off-line callbacks must cover before it is taken as a step.
const SAMPLE_CLOCK_CONFIRM_MS: f64 = 30.0;

/// Off-line callbacks held while a step is being confirmed.
const SAMPLE_CLOCK_PENDING: usize = 32;

/// Shortest audio (ms) between the oldest and newest point from which the slope is fitted;
/// over less the line runs at the nominal rate (a slope through a few jittery callbacks is
/// noise: 3 ms of jitter over 40 ms of audio is a 7 % slope).
pub const SAMPLE_CLOCK_MIN_SLOPE_SPAN_MS: f64 = 2_000.0;

/// Largest believed rate error of the audio device against the local clock (±0.1 %): crystal
/// oscillators are specified to ±100 ppm or so; a steeper slope is callback jitter.
pub const SAMPLE_CLOCK_MAX_RATE_ERROR: f64 = 1e-3;

/// Maps an audio stream's sample counter to the local clock.
///
/// Each block, the audio thread observes (sample position of the block start, local time when
/// the callback ran). Callback times jitter by up to a buffer or more; a least-squares line
/// through the last [`SAMPLE_CLOCK_POINTS`] observations gives a steady time for any sample
/// position, and its slope follows the audio device's clock drift against the local clock.
///
/// A host that stops calling for a while (a plugin host pausing its engine, a device dropout)
/// leaves the frame counter behind the clock for good: every later callback comes late by the
/// pause. A line fitted across that step would bend, its slope running up to the rate bound,
/// and the beats placed through it would come short (plugin_live once heard them 495 ms apart
/// at 120 BPM after a 32 ms pause). So callbacks more than [`SAMPLE_CLOCK_STEP_MS`] off the line
/// are held out of the fit; if they agree with each other over [`SAMPLE_CLOCK_CONFIRM_MS`] of
/// audio, the line restarts from them, at the nominal rate until the points span
/// [`SAMPLE_CLOCK_MIN_SLOPE_SPAN_MS`]. Fixed-size and allocation-free: safe on the audio thread.
#[derive(Clone, Debug)]
pub struct SampleClock {
    /// (sample position, local ms) observations, a ring.
    points: [(f64, f64); SAMPLE_CLOCK_POINTS],
    /// Points in the ring.
    len: usize,
    /// Where the next point goes in the ring.
    next: usize,
    /// Callbacks off the line, oldest first, while a step is being confirmed.
    pending: [(f64, f64); SAMPLE_CLOCK_PENDING],
    /// Callbacks held in `pending`.
    pending_len: usize,
    /// Nominal ms per sample, used until the points span enough audio for a slope.
    nominal_ms_per_sample: f64,
    /// Sample position of the fitted line's origin: local_ms = origin_ms + (pos - origin_pos) *
    /// ms_per_sample.
    origin_pos: f64,
    /// Local time (ms) at `origin_pos`.
    origin_ms: f64,
    /// The fitted slope, within [`SAMPLE_CLOCK_MAX_RATE_ERROR`] of nominal.
    ms_per_sample: f64,
}

impl SampleClock {
    pub fn new(sample_rate: f64) -> Self {
        let nominal = 1000.0 / sample_rate;
        Self {
            points: [(0.0, 0.0); SAMPLE_CLOCK_POINTS],
            len: 0,
            next: 0,
            pending: [(0.0, 0.0); SAMPLE_CLOCK_PENDING],
            pending_len: 0,
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
        self.pending_len = 0;
    }

    /// Records that the block starting at sample `pos` was processed at local time `local_ms`,
    /// and refits the line.
    pub fn observe(&mut self, pos: u64, local_ms: f64) {
        if !local_ms.is_finite() {
            return;
        }
        let point = (pos as f64, local_ms);
        let off = self
            .local_ms_at(pos)
            .map_or(0.0, |fitted| local_ms - fitted);
        if off.abs() <= SAMPLE_CLOCK_STEP_MS {
            // On the line: whatever was held was a stall and its catch-up.
            self.pending_len = 0;
            self.push(point);
            self.fit();
            return;
        }
        // Off the line: hold it; a run that agrees with itself over enough audio is a step.
        let nominal = self.nominal_ms_per_sample;
        let offset_of = |p: &(f64, f64)| p.1 - p.0 * nominal;
        if self.pending_len == SAMPLE_CLOCK_PENDING {
            self.pending.copy_within(1.., 0);
            self.pending_len -= 1;
        }
        self.pending[self.pending_len] = point;
        self.pending_len += 1;
        // Keep only the newest run that agrees with this callback.
        let held = &self.pending[..self.pending_len];
        let first = held
            .iter()
            .rposition(|p| (offset_of(p) - offset_of(&point)).abs() > SAMPLE_CLOCK_AGREE_MS)
            .map_or(0, |i| i + 1);
        self.pending.copy_within(first..self.pending_len, 0);
        self.pending_len -= first;
        let run = &self.pending[..self.pending_len];
        let (lo, hi) = run
            .iter()
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), p| {
                (lo.min(offset_of(p)), hi.max(offset_of(p)))
            });
        let covered_ms = (point.0 - run[0].0) * nominal;
        if hi - lo <= SAMPLE_CLOCK_AGREE_MS
            && (covered_ms >= SAMPLE_CLOCK_CONFIRM_MS || self.pending_len == SAMPLE_CLOCK_PENDING)
        {
            let pending = self.pending;
            let n = self.pending_len;
            self.reset();
            for p in &pending[..n] {
                self.push(*p);
            }
            self.fit();
        }
    }

    fn push(&mut self, point: (f64, f64)) {
        self.points[self.next] = point;
        self.next = (self.next + 1) % SAMPLE_CLOCK_POINTS;
        self.len = (self.len + 1).min(SAMPLE_CLOCK_POINTS);
    }

    fn fit(&mut self) {
        let pts = &self.points[..self.len];
        // Centre on the newest point so the sums stay small and precise.
        let (x0, y0) = self.points[(self.next + SAMPLE_CLOCK_POINTS - 1) % SAMPLE_CLOCK_POINTS];
        let n = pts.len() as f64;
        let (mut sx, mut sy) = (0.0, 0.0);
        let (mut first, mut last) = (f64::INFINITY, f64::NEG_INFINITY);
        for &(x, y) in pts {
            sx += x - x0;
            sy += y - y0;
            first = first.min(x);
            last = last.max(x);
        }
        let (mx, my) = (sx / n, sy / n);
        let nominal = self.nominal_ms_per_sample;
        let slope = if (last - first) * nominal < SAMPLE_CLOCK_MIN_SLOPE_SPAN_MS {
            nominal
        } else {
            let (mut sxx, mut sxy) = (0.0, 0.0);
            for &(x, y) in pts {
                let (dx, dy) = (x - x0 - mx, y - y0 - my);
                sxx += dx * dx;
                sxy += dx * dy;
            }
            sxy / sxx
        };
        let bound = nominal * SAMPLE_CLOCK_MAX_RATE_ERROR;
        self.ms_per_sample = slope.clamp(nominal - bound, nominal + bound);
        self.origin_pos = x0 + mx;
        self.origin_ms = y0 + my;
    }

    /// The steady local time of sample `pos`, or `None` before the first observation.
    pub fn local_ms_at(&self, pos: u64) -> Option<f64> {
        (self.len > 0)
            .then_some(self.origin_ms + (pos as f64 - self.origin_pos) * self.ms_per_sample)
    }
}
