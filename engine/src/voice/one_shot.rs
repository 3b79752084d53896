//! One-shot tables: the percussive built-ins synthesized once per sample rate and replayed,
//! resampled for pitch locks, like a drum machine's voice ROM.

use std::sync::Arc;

use keyboardia_core::BuiltinSound;

use crate::dsp::{semis_to_ratio, CONTROL_RATE};

use super::{control_periods, NoteParams, Patch, SampleBank, Voice, GATE_HELD};

/// Frames in a control period.
const PERIOD: usize = CONTROL_RATE as usize;
/// Round-robin renders kept per table-played one-shot (their noise differs from hit to hit).
pub const ONE_SHOT_VARIANTS: usize = 2;
/// Longest one-shot table in seconds (longer tails are faded out over the last 20 ms).
pub const ONE_SHOT_MAX_S: f32 = 2.0;
/// One in 32.32 fixed point.
const FIXED_ONE: f64 = 4_294_967_296.0;

/// Percussive built-ins whose sound depends on a note only through pitch and level: the engine
/// synthesizes each once per sample rate (at [`Engine::new`](crate::Engine::new), with this
/// module's own synthesis) and plays hits from that table, resampled for pitch locks, like a
/// drum machine's voice ROM. A fraction of the cost of running the synthesis per hit.
pub fn is_one_shot(s: BuiltinSound) -> bool {
    use BuiltinSound::*;
    matches!(
        s,
        Kick | Snare
            | Clap
            | ClosedHat
            | OpenHat
            | LowTom
            | HighTom
            | Rim
            | Cowbell
            | Shaker
            | Zap
            | Riser
    )
}

/// Synthesizes the one-shot table of `sound` (unit gain, pitch 0) at `sample_rate`; `variant`
/// seeds its noise.
pub fn render_one_shot(sound: BuiltinSound, variant: usize, sample_rate: f32) -> Arc<[f32]> {
    let bank: SampleBank = std::array::from_fn(|_| None);
    let mut v = Voice::default();
    let params = NoteParams {
        pitch_semis: 0.0,
        velocity: 127,
        gain: 1.0,
        gate_frames: GATE_HELD,
    };
    v.start(
        0,
        Patch::Sound(sound),
        params,
        0x5EED + 7919 * variant as u32,
        sample_rate,
    );
    // Rendered in runs of a fixed length (not the engine's chunk size), so a table cut at
    // `ONE_SHOT_MAX_S` ends on the same frame whatever the chunk size.
    const RUN: usize = 64;
    let max = (ONE_SHOT_MAX_S * sample_rate) as usize;
    let mut out = Vec::with_capacity(max + RUN);
    while v.active && out.len() < max {
        let mut buf = [0.0f32; RUN];
        v.render(&mut buf, &bank);
        out.extend_from_slice(&buf);
    }
    if v.active {
        let fade = ((0.02 * sample_rate) as usize).min(out.len());
        let n = out.len();
        for (i, x) in out[n - fade..].iter_mut().enumerate() {
            *x *= 1.0 - (i + 1) as f32 / fade as f32;
        }
    }
    while out.last() == Some(&0.0) {
        out.pop();
    }
    out.into()
}

/// One-shot tables by `BuiltinSound as usize` (empty for sounds synthesized live), each with
/// its round-robin variants.
pub type OneShotTables = Vec<Vec<Arc<[f32]>>>;

/// The one-shot tables at `sample_rate`: rendered by the first engine that needs them and shared
/// with every engine at that rate (plugin instances in one host process share the memory). The
/// most recent rate's tables stay cached after the last engine goes, so re-activating at the same
/// rate costs nothing. Called from [`Engine::new`](crate::Engine::new), never on the audio thread.
pub(crate) fn tables_for_rate(sample_rate: f32) -> Arc<OneShotTables> {
    /// (rate bits, tables) of the last rate asked for, plus weak links to older ones in use.
    type Cache = (
        Option<(u32, Arc<OneShotTables>)>,
        Vec<(u32, std::sync::Weak<OneShotTables>)>,
    );
    static CACHE: std::sync::Mutex<Cache> = std::sync::Mutex::new((None, Vec::new()));
    let key = sample_rate.to_bits();
    let mut cache = CACHE.lock().unwrap_or_else(|e| e.into_inner());
    let (last, older) = &mut *cache;
    older.retain(|(_, w)| w.strong_count() > 0);
    let found = match last {
        Some((rate, tables)) if *rate == key => Some(tables.clone()),
        _ => older
            .iter()
            .find(|(rate, _)| *rate == key)
            .and_then(|(_, w)| w.upgrade()),
    };
    let tables = found.unwrap_or_else(|| {
        Arc::new(
            BuiltinSound::ALL
                .iter()
                .map(|s| {
                    if is_one_shot(*s) {
                        (0..ONE_SHOT_VARIANTS)
                            .map(|v| render_one_shot(*s, v, sample_rate))
                            .collect()
                    } else {
                        Vec::new()
                    }
                })
                .collect(),
        )
    });
    if let Some((rate, previous)) = last.take() {
        if rate != key {
            older.push((rate, Arc::downgrade(&previous)));
        }
    }
    *last = Some((key, tables.clone()));
    tables
}

/// A hit played from a one-shot table.
#[derive(Clone, Debug)]
pub struct OneShot {
    /// The table (shared with the engine, which keeps it alive, so the voice never frees it).
    table: Arc<[f32]>,
    /// Read position in table frames, 32.32 fixed point.
    pos_fixed: u64,
    /// Table frames per output frame (pitch), 32.32 fixed point.
    rate_fixed: u64,
}

impl OneShot {
    pub fn new(table: Arc<[f32]>, pitch_semis: f32) -> Self {
        Self {
            table,
            pos_fixed: 0,
            rate_fixed: (semis_to_ratio(pitch_semis) as f64 * FIXED_ONE).round() as u64,
        }
    }

    /// Any run of frames, linearly interpolated; the end of the table is checked at the end of
    /// each control period, like the death of a synthesized note. Returns the frames rendered
    /// and whether the hit goes on.
    pub fn render(&mut self, out: &mut [f32], age0: u32) -> (usize, bool) {
        let table = &self.table;
        let rate = self.rate_fixed;
        // Frames `0..=last` are readable with their successor.
        let last = table.len().saturating_sub(1) as u64;
        let end = last << 32;
        let mut pos = self.pos_fixed;
        let mut result = (out.len(), true);
        for (lo, hi) in control_periods(age0, out.len()) {
            let run = &mut out[lo..hi];
            // Frames that still read inside the table (`pos < end`), then silence: the inner
            // loop has no branch.
            let readable = if pos >= end {
                0
            } else if end - pos > rate * PERIOD as u64 {
                run.len()
            } else {
                ((end - pos - 1) / rate + 1).min(run.len() as u64) as usize
            };
            let (play, rest) = run.split_at_mut(readable);
            for o in play.iter_mut() {
                let i = (pos >> 32) as usize;
                let f = (pos as u32) as f32 * (1.0 / 4_294_967_296.0);
                let (a, b) = (table[i], table[i + 1]);
                *o = a + f * (b - a);
                pos += rate;
            }
            rest.fill(0.0);
            if (age0 + hi as u32).is_multiple_of(CONTROL_RATE) && pos >= end {
                result = (hi, false);
                break;
            }
        }
        self.pos_fixed = pos;
        result
    }
}
