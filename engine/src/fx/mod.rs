//! The effects: per track a filter and a drive ([`filter`]) and sends to two shared effects, a
//! reverb ([`reverb`]) and a tempo-synced delay ([`delay`]), whose returns join the mix before
//! the master gain and the limiter. Session state ([`TrackFx`](keyboardia_core::TrackFx),
//! [`SessionFx`](keyboardia_core::SessionFx)); a step's cutoff and send locks hold from its hit
//! until the track's next hit (a hit without them goes back to the track's values).
//!
//! Real-time: every buffer is allocated in [`FxRack::new`]; processing allocates nothing,
//! flushes magnitudes below 1e-20 to zero (no subnormals), and bypasses whatever is neutral —
//! a track at the default effects is not touched, and a reverb or delay that was never fed (or
//! whose tail died away) costs nothing — so a session without effects sounds bit-identical to
//! the engine before effects existed.
//!
//! Sends are post-fader, pre-pan: a track's send carries its signal at the track's level
//! (volume, mixer, mute and solo), the level of both channels' gains together.

mod automation;
mod delay;
mod filter;
mod reverb;

pub use self::automation::{FxAutomation, CUTOFF_SHIFT_OCT, RAMP_S, SEND_OFFSET};

use keyboardia_core::{SessionFx, TrackId, MAX_TRACKS};

use self::automation::{send_ramped, Automation, DELAY, REVERB};
use self::delay::Delay;
use self::filter::{flush, TrackChain};
use self::reverb::Reverb;
use crate::dsp::{soft_clip_cubic, F4};
use crate::pattern::EnginePattern;
use crate::schedule::Hit;
use crate::voice::MAX_CHUNK;

/// Every effect of the engine.
pub struct FxRack {
    /// Output sample rate in Hz.
    sample_rate: f32,
    /// Per track slot: filter, drive and the current sends.
    chains: [TrackChain; MAX_TRACKS],
    /// Which track id each chain belongs to (chains follow their tracks across reorders).
    ids: [Option<TrackId>; MAX_TRACKS],
    /// The shared reverb.
    reverb: Box<Reverb>,
    /// The shared delay.
    delay: Box<Delay>,
    /// The shared effects' settings.
    session: SessionFx,
    /// The tempo the delay follows, BPM.
    tempo_bpm: f64,
    /// The reverb's input for the current chunk (mono; zeroed as it is consumed).
    reverb_in: [f32; MAX_CHUNK],
    /// The delay's input for the current chunk (mono; zeroed as it is consumed).
    delay_in: [f32; MAX_CHUNK],
    /// Whether any track sent to the reverb during the current chunk.
    reverb_fed: bool,
    /// Whether any track sent to the delay during the current chunk.
    delay_fed: bool,
    /// Every track's chunk, frame by frame (`lanes[frame][track]`), while filters run.
    lanes: Box<[[f32; MAX_TRACKS]; MAX_CHUNK]>,
    /// Whether the tracks went through the lanes this chunk ([`FxRack::begin_lanes`]).
    lanes_used: bool,
    /// Host automation per track slot (cutoff shift, send offsets), smoothed.
    automation: Automation,
    /// Per track, the channel gains of the last [`FxRack::send_stereo`] and their level
    /// (`hypot` is a libm call: once per gain change rather than once per track and chunk).
    send_levels: [([f32; 2], f32); MAX_TRACKS],
}

impl FxRack {
    /// Allocates every buffer; call off the audio thread.
    pub fn new(sample_rate: f64) -> Self {
        let sr = sample_rate as f32;
        let mut rack = Self {
            sample_rate: sr,
            chains: [TrackChain::default(); MAX_TRACKS],
            ids: [None; MAX_TRACKS],
            reverb: Box::new(Reverb::new(sr)),
            delay: Box::new(Delay::new(sr)),
            session: SessionFx::default(),
            tempo_bpm: keyboardia_core::DEFAULT_TEMPO,
            reverb_in: [0.0; MAX_CHUNK],
            delay_in: [0.0; MAX_CHUNK],
            reverb_fed: false,
            delay_fed: false,
            lanes: Box::new([[0.0; MAX_TRACKS]; MAX_CHUNK]),
            lanes_used: false,
            automation: Automation::new(sr),
            // NaN gains: the first call computes the level.
            send_levels: [([f32::NAN; 2], 0.0); MAX_TRACKS],
        };
        rack.update_delay();
        rack
    }

    /// Takes a new pattern's effect settings; chains follow their track ids (a new track
    /// starts with a fresh chain). No allocation.
    pub fn set_pattern(&mut self, pattern: &EnginePattern) {
        let old_chains = self.chains;
        let old_ids = self.ids;
        for (i, t) in pattern.tracks().iter().enumerate() {
            let from = old_ids.iter().position(|o| *o == Some(t.id));
            self.chains[i] = from.map_or_else(TrackChain::default, |j| old_chains[j]);
            self.chains[i].set(&t.fx);
            self.ids[i] = Some(t.id);
        }
        for i in pattern.track_count..MAX_TRACKS {
            self.chains[i] = TrackChain::default();
            self.ids[i] = None;
        }
        self.session = pattern.fx;
        self.reverb.set_size(pattern.fx.reverb_size);
        self.update_delay();
    }

    /// The tempo the delay's note value follows (ignored unless finite and positive).
    pub fn set_tempo(&mut self, tempo_bpm: f64) {
        if tempo_bpm.is_finite() && tempo_bpm > 0.0 && tempo_bpm != self.tempo_bpm {
            self.tempo_bpm = tempo_bpm;
            self.update_delay();
        }
    }

    fn update_delay(&mut self) {
        let seconds = self.session.delay_time.beats() * 60.0 / self.tempo_bpm;
        self.delay.set(
            (seconds * f64::from(self.sample_rate)) as f32,
            self.session.delay_feedback,
        );
    }

    /// A hit on track `t`: its cutoff and send locks, or the track's own values again.
    pub fn on_hit(&mut self, t: usize, hit: &Hit) {
        if let Some(c) = self.chains.get_mut(t) {
            c.hit(hit.cutoff_hz, hit.reverb_send, hit.delay_send);
        }
    }

    /// Whether track `t` must be processed although none of its voices sounds: its filter
    /// still rings.
    pub fn rings(&self, t: usize) -> bool {
        self.chains.get(t).is_some_and(TrackChain::rings)
    }

    /// Whether any track's filter or drive shapes its sound: then the engine renders every
    /// sounding track into the lanes first and [`FxRack::shape_lanes`] filters them all at
    /// once (sixteen filters side by side in each frame, which the compiler vectorizes:
    /// one filter at a time is bound by the latency of its feedback).
    pub fn begin_lanes(&mut self) -> bool {
        self.lanes_used = self.chains.iter().any(TrackChain::shapes);
        self.lanes_used
    }

    /// Puts every track's chunk, the first `n` frames of `x[t]`, into the lanes (transposed
    /// four frames by four tracks at a time).
    pub fn put_lanes(&mut self, x: &[[f32; MAX_CHUNK]; MAX_TRACKS], n: usize) {
        let n = n.min(MAX_CHUNK);
        let full = n & !3;
        for f in (0..full).step_by(4) {
            for t in (0..MAX_TRACKS).step_by(4) {
                let rows = [0, 1, 2, 3].map(|k| {
                    F4::new(
                        x[t + k][f..]
                            .first_chunk::<4>()
                            .copied()
                            .unwrap_or_default(),
                    )
                });
                for (j, c) in F4::transpose4(rows).into_iter().enumerate() {
                    if let Some(d) = self.lanes[f + j][t..].first_chunk_mut::<4>() {
                        c.store(d);
                    }
                }
            }
        }
        for f in full..n {
            for (t, row) in x.iter().enumerate() {
                self.lanes[f][t] = row[f];
            }
        }
    }

    /// Runs every track's filter and drive over the first `n` frames of the lanes.
    pub fn shape_lanes(&mut self, n: usize) {
        #[cfg(target_arch = "x86_64")]
        if crate::dsp::has_avx2() {
            // SAFETY: the CPU has AVX2 (checked just above).
            return unsafe { self.shape_lanes_avx2(n) };
        }
        self.shape_lanes_impl(n)
    }

    /// [`FxRack::shape_lanes`] compiled for AVX2: the same arithmetic (no FMA, nothing
    /// reordered), eight lanes at once.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    unsafe fn shape_lanes_avx2(&mut self, n: usize) {
        self.shape_lanes_impl(n)
    }

    #[inline(always)]
    fn shape_lanes_impl(&mut self, n: usize) {
        let mut a = [[0.0f32; MAX_TRACKS]; 3];
        let mut m = [[0.0f32; MAX_TRACKS]; 3];
        let mut ic1 = [0.0f32; MAX_TRACKS];
        let mut ic2 = [0.0f32; MAX_TRACKS];
        // Drive per lane: `driven` selects the driven signal, `pre` and `makeup` its gains.
        let mut driven = [false; MAX_TRACKS];
        let mut pre = [1.0f32; MAX_TRACKS];
        let mut makeup = [1.0f32; MAX_TRACKS];
        for (t, c) in self.chains.iter_mut().enumerate() {
            let (coefs, mix) = c.lane_coefs(self.sample_rate, self.automation.cutoff_scale(t, n));
            for k in 0..3 {
                a[k][t] = coefs[k];
                m[k][t] = mix[k];
            }
            [ic1[t], ic2[t]] = c.state();
            if let Some((p, g)) = c.drive_gains() {
                (driven[t], pre[t], makeup[t]) = (true, p, g);
            }
        }
        let [a1, a2, a3] = a;
        let [m0, m1, m2] = m;
        for x in self.lanes[..n.min(MAX_CHUNK)].iter_mut() {
            for t in 0..MAX_TRACKS {
                let v0 = x[t];
                let v3 = v0 - ic2[t];
                let v1 = a1[t] * ic1[t] + a2[t] * v3;
                let v2 = ic2[t] + a2[t] * ic1[t] + a3[t] * v3;
                ic1[t] = flush(2.0 * v1 - ic1[t]);
                ic2[t] = flush(2.0 * v2 - ic2[t]);
                x[t] = m0[t] * v0 + m1[t] * v1 + m2[t] * v2;
            }
        }
        // The drive in a loop of its own (with the filter's in one loop, the sixteen lanes'
        // coefficients would not fit the registers): both computed and one selected, so the
        // sixteen lanes stay one vector loop.
        if driven.iter().any(|d| *d) {
            // The selection as a bit mask (all ones: driven), so it is one vector `and`/`or`.
            let mask = driven.map(|d| if d { u32::MAX } else { 0 });
            for x in self.lanes[..n.min(MAX_CHUNK)].iter_mut() {
                for t in 0..MAX_TRACKS {
                    let d = soft_clip_cubic(x[t] * pre[t]) * makeup[t];
                    x[t] = f32::from_bits((d.to_bits() & mask[t]) | (x[t].to_bits() & !mask[t]));
                }
            }
        }
        for (t, c) in self.chains.iter_mut().enumerate() {
            c.set_state([ic1[t], ic2[t]]);
        }
    }

    /// Every track's shaped (filtered and driven) chunk from the lanes into the first `n`
    /// frames of `out[t]`; `false` (and nothing written) when the lanes are not in use this
    /// chunk.
    pub fn take_lanes(&self, out: &mut [[f32; MAX_CHUNK]; MAX_TRACKS], n: usize) -> bool {
        if !self.lanes_used {
            return false;
        }
        let n = n.min(MAX_CHUNK);
        let full = n & !3;
        for f in (0..full).step_by(4) {
            for t in (0..MAX_TRACKS).step_by(4) {
                let rows = [0, 1, 2, 3].map(|j| {
                    F4::new(
                        self.lanes[f + j][t..]
                            .first_chunk::<4>()
                            .copied()
                            .unwrap_or_default(),
                    )
                });
                for (k, c) in F4::transpose4(rows).into_iter().enumerate() {
                    if let Some(d) = out[t + k][f..].first_chunk_mut::<4>() {
                        c.store(d);
                    }
                }
            }
        }
        for f in full..n {
            for (t, row) in out.iter_mut().enumerate() {
                row[f] = self.lanes[f][t];
            }
        }
        true
    }

    /// [`FxRack::send`] at the level of the track's channel gains `cl`, `cr` together
    /// (`hypot(cl, cr)`, kept from the last call while the gains stay: a gain ramp is the
    /// only thing that moves them).
    #[inline(always)]
    pub fn send_stereo(&mut self, t: usize, x: &[f32], cl: f32, cr: f32) {
        let Some(memo) = self.send_levels.get_mut(t) else {
            return;
        };
        if memo.0 != [cl, cr] {
            *memo = ([cl, cr], cl.hypot(cr));
        }
        let level = memo.1;
        self.send(t, x, level);
    }

    /// Feeds track `t`'s (shaped) chunk `x` to its sends at the track's level `gain`.
    #[inline(always)]
    pub fn send(&mut self, t: usize, x: &[f32], gain: f32) {
        let Some(chain) = self.chains.get(t) else {
            return;
        };
        let n = x.len().min(MAX_CHUNK);
        if self.automation.active() {
            for (send, which, input, fed) in [
                (
                    chain.reverb_send,
                    REVERB,
                    &mut self.reverb_in,
                    &mut self.reverb_fed,
                ),
                (
                    chain.delay_send,
                    DELAY,
                    &mut self.delay_in,
                    &mut self.delay_fed,
                ),
            ] {
                let (o0, o1) = self.automation.send_offsets(t, which, n);
                let g0 = (send + o0).clamp(0.0, 1.0) * gain;
                let g1 = (send + o1).clamp(0.0, 1.0) * gain;
                if g0 > 0.0 || g1 > 0.0 {
                    send_ramped(&mut input[..n], &x[..n], g0, g1);
                    *fed = true;
                }
            }
            return;
        }
        for (send, input, fed) in [
            (chain.reverb_send, &mut self.reverb_in, &mut self.reverb_fed),
            (chain.delay_send, &mut self.delay_in, &mut self.delay_fed),
        ] {
            let g = send * gain;
            if g > 0.0 {
                for (i, s) in input[..n].iter_mut().zip(&x[..n]) {
                    *i += s * g;
                }
                *fed = true;
            }
        }
    }

    /// Adds the reverb's and the delay's returns to the chunk `l`/`r` (the chunk the tracks
    /// were just processed for) and consumes their inputs. Does nothing while both are idle.
    pub fn mix_returns(&mut self, l: &mut [f32], r: &mut [f32]) {
        let n = l.len().min(r.len()).min(MAX_CHUNK);
        let (l, r) = (&mut l[..n], &mut r[..n]);
        self.reverb
            .process(&mut self.reverb_in[..n], self.reverb_fed, l, r);
        self.delay
            .process(&mut self.delay_in[..n], self.delay_fed, l, r);
        self.reverb_fed = false;
        self.delay_fed = false;
        self.lanes_used = false;
        self.automation.advance(n);
    }

    /// Track slot `t`'s host automation (reached smoothly, see [`FxAutomation`]).
    pub fn set_automation(&mut self, t: usize, a: FxAutomation) {
        self.automation.set(t, a);
    }

    /// Whether the reverb and the delay are both silent and skipped.
    pub fn returns_idle(&self) -> bool {
        self.reverb.is_idle() && self.delay.is_idle()
    }

    /// Silences every effect (host reset), keeping the settings. No allocation.
    pub fn reset(&mut self) {
        for c in self.chains.iter_mut() {
            c.clear();
        }
        self.reverb.reset();
        self.delay.reset();
        self.automation.settle();
        self.reverb_in = [0.0; MAX_CHUNK];
        self.delay_in = [0.0; MAX_CHUNK];
        self.reverb_fed = false;
        self.delay_fed = false;
    }
}
