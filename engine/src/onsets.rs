//! Transient (onset) detection for recorded takes, and the slices between onsets.
//!
//! A pure, offline function over a mono buffer: it runs on the editor's thread after a take is
//! recorded, never on the audio thread (it allocates).
//!
//! Method: an energy envelope in 1 ms hops, in three bands — the signal itself; its first
//! difference (a +6 dB/octave tilt, so a hi-hat on top of a kick's low tail still stands out);
//! and 300 Hz–3 kHz, where snares and claps are loud but kick tails and hi-hat tails are not.
//! A hop is an onset candidate when its energy (averaged over 3 ms) in either band exceeds by
//! `rise_db` the mean energy of a `lookback_ms` window ending 4 ms earlier (the adaptive
//! threshold: decaying tails and sustained tones set their own reference, so they do not
//! retrigger; the 4 ms let attacks take a few ms), and exceeds the take's noise floor by
//! `floor_margin_db`. The candidate is placed where its rise starts (to the sample within the
//! first loud hop), and candidates closer than `min_gap_ms` to the previous onset are dropped.

/// Tuning of [`detect_with`]. [`OnsetParams::default`] suits drums, clicks and voice.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct OnsetParams {
    /// How far a hop's energy must rise above the mean of the lookback window, in dB.
    pub rise_db: f32,
    /// How long the adaptive reference remembers, in ms (longer than half a period of the
    /// lowest tone that must not retrigger: 30 ms covers 17 Hz).
    pub lookback_ms: f32,
    /// Shortest distance between two reported onsets, in ms.
    pub min_gap_ms: f32,
    /// How far above the take's noise floor an onset must be, in dB.
    pub floor_margin_db: f32,
    /// Onsets quieter than this, relative to the take's loudest hop, are ignored (dB, negative).
    pub min_level_db: f32,
}

impl Default for OnsetParams {
    fn default() -> Self {
        Self {
            rise_db: 6.0,
            lookback_ms: 30.0,
            min_gap_ms: 50.0,
            floor_margin_db: 8.0,
            min_level_db: -60.0,
        }
    }
}

/// Length of an analysis hop, in ms.
const HOP_MS: f32 = 1.0;
/// Hops between a hop and the end of its reference window: attacks up to this long are seen
/// as one rise.
const ATTACK_HOPS: usize = 4;
/// Edges of the middle band, in Hz: where snares and claps are loud and kicks and hats are not.
const MID_BAND_HZ: (f32, f32) = (300.0, 3000.0);
/// Hops averaged for a hop's current level (it and the next ones), against noise.
const SMOOTH_HOPS: usize = 3;
/// Window over which the noise floor is averaged (the floor is the quietest such window), in ms.
const FLOOR_WINDOW_MS: f32 = 16.0;

/// Onset frame positions in `x` (mono, at `sample_rate_hz`), ascending, with default tuning.
pub fn detect(x: &[f32], sample_rate_hz: f32) -> Vec<usize> {
    detect_with(x, sample_rate_hz, &OnsetParams::default())
}

/// Onset frame positions in `x` (mono, at `sample_rate_hz`), ascending.
pub fn detect_with(x: &[f32], sample_rate_hz: f32, p: &OnsetParams) -> Vec<usize> {
    let hop = ((sample_rate_hz * HOP_MS / 1000.0).round() as usize).max(1);
    let ms_to_hops = |ms: f32| ((ms / HOP_MS).round() as usize).max(1);
    let lookback = ms_to_hops(p.lookback_ms);
    let min_gap = (p.min_gap_ms * sample_rate_hz / 1000.0).round() as usize;
    let rise = db_to_power(p.rise_db);

    // The bands: the signal, its first difference, and the middle band.
    let diff: Vec<f32> = x
        .iter()
        .scan(0.0f32, |prev, &v| {
            let d = v - *prev;
            *prev = v;
            Some(d)
        })
        .collect();
    let mid = band_pass(x, sample_rate_hz, MID_BAND_HZ);
    let bands: [&[f32]; 3] = [x, &diff, &mid];

    let energies: Vec<Vec<f32>> = bands.iter().map(|b| hop_energy(b, hop)).collect();
    let gates: Vec<f32> = energies
        .iter()
        .map(|e| {
            let peak = e.iter().fold(0.0f32, |m, &v| m.max(v));
            let floor = noise_floor(e, ms_to_hops(FLOOR_WINDOW_MS));
            (floor * db_to_power(p.floor_margin_db))
                .max(peak * db_to_power(p.min_level_db))
                .max(f32::MIN_POSITIVE)
        })
        .collect();

    let hops = energies[0].len();
    let mut onsets: Vec<usize> = Vec::new();
    for i in 0..hops {
        // The earliest position any band places an onset at in this hop.
        let mut found: Option<usize> = None;
        for ((band, e), &gate) in bands.iter().zip(&energies).zip(&gates) {
            // The reference window ends `ATTACK_HOPS` back, so an attack that takes a few ms
            // is still seen as one rise.
            let end = i.saturating_sub(ATTACK_HOPS);
            let window = &e[end.saturating_sub(lookback)..end];
            let reference = if window.is_empty() {
                0.0
            } else {
                window.iter().sum::<f32>() / window.len() as f32
            }
            .max(gate / db_to_power(p.floor_margin_db));
            let ahead = &e[i..(i + SMOOTH_HOPS).min(hops)];
            let current = ahead.iter().sum::<f32>() / ahead.len() as f32;
            if current > gate && current > rise * reference {
                let pos = refine(band, e, hop, i, end, rise * reference, reference);
                found = Some(found.map_or(pos, |f: usize| f.min(pos)));
            }
        }
        if let Some(pos) = found {
            if onsets.last().is_none_or(|&last| pos >= last + min_gap) {
                onsets.push(pos);
            }
        }
    }
    onsets
}

/// Slices between onsets: each onset up to the next, the last one up to `len` (core's
/// [`slices`](keyboardia_core::edit::slices), the one definition the editor uses too).
pub use keyboardia_core::edit::slices;

fn db_to_power(db: f32) -> f32 {
    10f32.powf(db / 10.0)
}

/// `x` through a one-pole high-pass at `edges.0` Hz and a one-pole low-pass at `edges.1` Hz.
fn band_pass(x: &[f32], sample_rate_hz: f32, edges: (f32, f32)) -> Vec<f32> {
    let coef = |hz: f32| (-2.0 * std::f32::consts::PI * hz / sample_rate_hz).exp();
    let (hp, lp) = (coef(edges.0), coef(edges.1));
    let (mut low, mut out) = (0.0f32, 0.0f32);
    x.iter()
        .map(|&v| {
            // High-pass: the input minus its own low-passed version.
            low = v + hp * (low - v);
            let high = v - low;
            out = high + lp * (out - high);
            out
        })
        .collect()
}

/// Mean power of each hop (the last hop may be short).
fn hop_energy(x: &[f32], hop: usize) -> Vec<f32> {
    x.chunks(hop)
        .map(|c| c.iter().map(|v| v * v).sum::<f32>() / c.len() as f32)
        .collect()
}

/// The quietest `window`-hop average power of `e` (the whole mean if `e` is shorter).
fn noise_floor(e: &[f32], window: usize) -> f32 {
    if e.is_empty() {
        return 0.0;
    }
    if e.len() <= window {
        return e.iter().sum::<f32>() / e.len() as f32;
    }
    let mut sum: f64 = e[..window].iter().map(|&v| v as f64).sum();
    let mut min = sum;
    for i in window..e.len() {
        sum += e[i] as f64 - e[i - window] as f64;
        min = min.min(sum);
    }
    (min.max(0.0) / window as f64) as f32
}

/// Where the rise seen at hop `i` starts: the first hop from `i` on above `threshold`, walked
/// back (not past `earliest`) while the hop before it is still 3 dB above `reference`; within
/// that hop, the first sample louder than the hop's own RMS.
fn refine(
    band: &[f32],
    e: &[f32],
    hop: usize,
    i: usize,
    earliest: usize,
    threshold: f32,
    reference: f32,
) -> usize {
    let mut k = (i..(i + SMOOTH_HOPS).min(e.len()))
        .find(|&k| e[k] > threshold)
        .unwrap_or(i);
    while k > earliest && e[k - 1] > 2.0 * reference {
        k -= 1;
    }
    let start = k * hop;
    let end = (start + hop).min(band.len());
    band[start..end]
        .iter()
        .position(|v| v * v > e[k])
        .map_or(start, |j| start + j)
}
