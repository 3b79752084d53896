//! The engine's allocation-free view of a session: plain `Copy` data that can be handed to the
//! audio thread and copied into the engine without allocating. Built off the audio thread from a
//! [`SessionState`].

use keyboardia_core::{
    slice_bounds, Instrument, SampleId, SessionFx, SessionState, Step, Steps, TrackFx, TrackId,
    DEFAULT_SEED, MAX_SLICES, MAX_TRACKS,
};

use crate::voice::Patch;

/// One track as the engine plays it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct EngineTrack {
    /// Stable id: the engine follows tracks by id across reorders.
    pub id: TrackId,
    /// What the track plays (samples resolved to a slot; `None` slot = silent track).
    pub patch: Option<Patch>,
    /// Linear gain, 0..=1.
    pub volume: f32,
    /// -1 (left) ..= 1 (right).
    pub pan: f32,
    /// The track loops over `steps[..step_count]`.
    pub step_count: u8,
    /// All 64 steps (only the first `step_count` play).
    pub steps: Steps,
    /// The track's slice cut points (frames into its sample, ascending); the first `cut_count`
    /// are valid. A fixed array, so the pattern stays `Copy` and the audio thread never
    /// allocates for slices.
    pub cuts: [u32; MAX_SLICES],
    /// Number of valid entries in `cuts`, at most [`MAX_SLICES`].
    pub cut_count: u8,
    /// The track's own swing in percent, played instead of the session's (and of swing
    /// automation); `None`: the session's.
    pub swing_pct: Option<f64>,
    /// The track's effects (filter, drive, sends); the defaults are bypassed.
    pub fx: TrackFx,
}

impl EngineTrack {
    /// The valid cut points.
    pub fn cuts(&self) -> &[u32] {
        &self.cuts[..(self.cut_count as usize).min(MAX_SLICES)]
    }

    /// The source frames `start..end` that a step locked to slice `index` plays from a sample
    /// of `len` frames ([`slice_bounds`]: cut `index` to the next cut or the end; an index past
    /// the last slice plays the last slice; without cuts, the whole sample).
    pub fn slice_frames(&self, index: u8, len: u32) -> (u32, u32) {
        slice_bounds(self.cuts(), index, len)
    }
}

/// Everything the sequencer needs, fixed-size.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct EnginePattern {
    /// Session tempo in BPM (used by the internal clock).
    pub tempo_bpm: f64,
    /// Swing in percent, 0..=100.
    pub swing_pct: f64,
    /// The session's dice seed ([`SessionState::seed`]), handed to the audio thread with the
    /// pattern; whoever copies the pattern into an engine also calls
    /// [`Engine::set_seed`](crate::Engine::set_seed) with it.
    pub seed: u64,
    /// The shared effects (reverb size, delay time and feedback).
    pub fx: SessionFx,
    /// Number of valid entries in `tracks`.
    pub track_count: usize,
    /// Tracks in display order; the first `track_count` are valid.
    pub tracks: [EngineTrack; MAX_TRACKS],
}

impl Default for EnginePattern {
    fn default() -> Self {
        let empty = EngineTrack {
            id: "none".parse().expect("valid id"),
            patch: None,
            volume: 0.0,
            pan: 0.0,
            step_count: 16,
            steps: [Step::default(); keyboardia_core::MAX_STEPS],
            cuts: [0; MAX_SLICES],
            cut_count: 0,
            swing_pct: None,
            fx: TrackFx::default(),
        };
        Self {
            tempo_bpm: keyboardia_core::DEFAULT_TEMPO,
            swing_pct: 0.0,
            seed: DEFAULT_SEED,
            fx: SessionFx::default(),
            track_count: 0,
            tracks: [empty; MAX_TRACKS],
        }
    }
}

impl EnginePattern {
    /// Converts a session; `sample_slot` maps a sample id to a loaded slot (or `None`).
    pub fn from_state(
        state: &SessionState,
        mut sample_slot: impl FnMut(&SampleId) -> Option<u8>,
    ) -> Self {
        let mut p = Self {
            tempo_bpm: state.tempo,
            swing_pct: state.swing,
            seed: state.seed,
            fx: state.fx,
            ..Self::default()
        };
        for (slot, t) in p.tracks.iter_mut().zip(&state.tracks) {
            // Core keeps at most MAX_SLICES cuts; the zip only guards the fixed array.
            let mut cuts = [0; MAX_SLICES];
            let mut cut_count = 0;
            for (c, v) in cuts.iter_mut().zip(&t.cuts) {
                *c = *v;
                cut_count += 1;
            }
            *slot = EngineTrack {
                id: t.id,
                patch: match &t.instrument {
                    Instrument::Sound(s) => Some(Patch::Sound(*s)),
                    Instrument::Synth(s) => Some(Patch::Synth(*s)),
                    Instrument::Sample(id) => sample_slot(id).map(Patch::Sample),
                },
                volume: t.volume,
                pan: t.pan,
                step_count: t.step_count.max(1),
                steps: t.steps,
                cuts,
                cut_count,
                swing_pct: t.swing_pct,
                fx: t.fx,
            };
        }
        p.track_count = state.tracks.len().min(MAX_TRACKS);
        p
    }

    /// The valid tracks.
    pub fn tracks(&self) -> &[EngineTrack] {
        &self.tracks[..self.track_count]
    }
}
