//! The engine's allocation-free view of a session: plain `Copy` data that can be handed to the
//! audio thread and copied into the engine without allocating. Built off the audio thread from a
//! [`SessionState`].

use keyboardia_core::song::Arrangement;
use keyboardia_core::{
    slice_bounds, Instrument, PatternId, SampleId, SessionFx, SessionState, SongEntry, Step, Steps,
    SwitchAt, TrackFx, TrackId, DEFAULT_SEED, DEFAULT_STEP_COUNT, MAX_PATTERNS, MAX_SLICES,
    MAX_SONG_ENTRIES, MAX_TRACKS,
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

/// One track's part of a pattern B–H as the engine plays it (pattern A is the track's own
/// [`EngineTrack::steps`]).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct EnginePart {
    /// The track loops over `steps[..step_count]` while this pattern plays.
    pub step_count: u8,
    /// All 64 steps.
    pub steps: Steps,
}

/// The most parts of B–H a session can have: 7 patterns × 16 tracks. The engine reserves this
/// many once, so taking in a pattern never allocates.
pub const MAX_PARTS: usize = (MAX_PATTERNS - 1) * MAX_TRACKS;

/// `part_index` of a track whose part of a pattern is empty.
const NO_PART: u8 = u8::MAX;

/// What an empty part plays.
static EMPTY_PART: EnginePart = EnginePart {
    step_count: DEFAULT_STEP_COUNT,
    steps: [Step::EMPTY; keyboardia_core::MAX_STEPS],
};

/// Everything the sequencer needs: fixed-size but for the parts of patterns B–H, which only
/// take room when they are not empty (a session that uses only pattern A carries none).
#[derive(Clone, Debug, PartialEq)]
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
    /// The non-empty parts of patterns B–H, at most [`MAX_PARTS`], found through `part_index`.
    pub parts: Vec<EnginePart>,
    /// For pattern B–H (index 0 is B) and track slot: the index of its part in `parts`, or
    /// none (`u8::MAX`) when that part is empty.
    pub part_index: [[u8; MAX_TRACKS]; MAX_PATTERNS - 1],
    /// The song; the first `song_len` entries are valid.
    pub song: [SongEntry; MAX_SONG_ENTRIES],
    /// Number of valid entries in `song`.
    pub song_len: usize,
    /// When a queued pattern takes over.
    pub switch_at: SwitchAt,
    /// One pass of each pattern in steps (its longest track).
    pub pass_steps: [u32; MAX_PATTERNS],
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
            parts: Vec::new(),
            part_index: [[NO_PART; MAX_TRACKS]; MAX_PATTERNS - 1],
            song: [SongEntry {
                pattern: PatternId::A,
                repeats: 1,
            }; MAX_SONG_ENTRIES],
            song_len: 0,
            switch_at: SwitchAt::default(),
            pass_steps: [u32::from(DEFAULT_STEP_COUNT); MAX_PATTERNS],
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
        for (slot, t) in state.tracks.iter().take(MAX_TRACKS).enumerate() {
            for (i, part) in t.other_patterns.iter().enumerate() {
                if let Some(part) = part {
                    p.part_index[i][slot] = p.parts.len() as u8;
                    p.parts.push(EnginePart {
                        step_count: part.step_count.max(1),
                        steps: part.steps,
                    });
                }
            }
        }
        for (e, s) in p.song.iter_mut().zip(&state.song) {
            *e = *s;
        }
        p.song_len = state.song.len().min(MAX_SONG_ENTRIES);
        p.switch_at = state.switch_at;
        p.pass_steps = Arrangement::of(state).pass_steps;
        p
    }

    /// A pattern with room reserved for every part ([`MAX_PARTS`]): what the engine holds, so
    /// [`EnginePattern::copy_from`] never allocates. Allocates; call off the audio thread.
    pub fn with_capacity() -> Self {
        Self {
            parts: Vec::with_capacity(MAX_PARTS),
            ..Self::default()
        }
    }

    /// Copies `new` into this pattern without allocating when this one has room for its parts
    /// (one made by [`EnginePattern::with_capacity`] always has; parts past the room are
    /// dropped rather than allocated).
    pub fn copy_from(&mut self, new: &Self) {
        let Self {
            tempo_bpm,
            swing_pct,
            seed,
            fx,
            track_count,
            tracks,
            parts,
            part_index,
            song,
            song_len,
            switch_at,
            pass_steps,
        } = new;
        self.tempo_bpm = *tempo_bpm;
        self.swing_pct = *swing_pct;
        self.seed = *seed;
        self.fx = *fx;
        self.track_count = *track_count;
        self.tracks = *tracks;
        self.parts.clear();
        let room = self.parts.capacity().min(parts.len());
        self.parts.extend_from_slice(&parts[..room]);
        self.part_index = *part_index;
        for row in self.part_index.iter_mut() {
            for k in row.iter_mut() {
                if usize::from(*k) >= room {
                    *k = NO_PART;
                }
            }
        }
        self.song = *song;
        self.song_len = *song_len;
        self.switch_at = *switch_at;
        self.pass_steps = *pass_steps;
    }

    /// Track slot `slot`'s step count and steps in pattern `pt` (an empty part: 16 steps, all
    /// off).
    pub fn part(&self, slot: usize, pt: PatternId) -> (u8, &Steps) {
        let Some(i) = pt.index().checked_sub(1) else {
            let t = &self.tracks[slot.min(MAX_TRACKS - 1)];
            return (t.step_count.max(1), &t.steps);
        };
        let part = self
            .part_index
            .get(i)
            .and_then(|row| row.get(slot))
            .and_then(|&k| self.parts.get(usize::from(k)))
            .unwrap_or(&EMPTY_PART);
        (part.step_count.max(1), &part.steps)
    }

    /// The song, the pass lengths and the switch setting, for [`keyboardia_core::song`].
    pub fn arrangement(&self) -> Arrangement<'_> {
        Arrangement {
            song: &self.song[..self.song_len.min(MAX_SONG_ENTRIES)],
            pass_steps: self.pass_steps,
            switch_at: self.switch_at,
        }
    }

    /// The valid tracks.
    pub fn tracks(&self) -> &[EngineTrack] {
        &self.tracks[..self.track_count]
    }
}
