//! Op builders: the domain rules an editor needs to turn what a user did (typed a name, moved
//! cut lines, pressed "Slices", switched a lock on) into [`Op`]s that [`SessionState::apply`]
//! accepts. Every client (the plugin's editor, the "Add Take to Grid" footswitch, a browser app)
//! builds its ops here, so each rule is written once. The Euclidean fill of a track is in
//! `edit/euclid.rs`, the song-list edits in `edit/song.rs`.
//!
//! The cut-point normal form is stated once, by [`validate_cuts`] (which [`Op::SetCuts`] and
//! track validation use); [`clean_cuts`] makes it from any list of frames, and a test pins that
//! a list is valid exactly when cleaning leaves it as it is.

mod euclid;
mod song;

pub use self::euclid::{euclid, euclid_fill, euclid_fill_in, EuclidError};
pub use self::song::{song_insert, song_move, song_remove, song_set};

use crate::model::{
    Condition, Instrument, Lock, LockKind, PatternId, SessionState, Track, TrackId,
    DEFAULT_CUTOFF_HZ, MAX_SLICES, NAME_MAX_BYTES, STEP_COUNT_PRESETS, STEP_COUNT_RANGE,
};
use crate::ops::Op;

/// Cut points (frames into a sample) in the normal form a track holds them ([`validate_cuts`]):
/// ascending, without repeats, at most [`MAX_SLICES`] (cuts past the 64th are dropped, so their audio stays in the
/// last slice). Frames past `u32::MAX` become `u32::MAX`.
pub fn clean_cuts(frames: &[usize]) -> Vec<u32> {
    let mut v: Vec<u32> = frames
        .iter()
        .map(|&f| u32::try_from(f).unwrap_or(u32::MAX))
        .collect();
    v.sort_unstable();
    v.dedup();
    v.truncate(MAX_SLICES);
    v
}

/// The op giving track `tr` the cut points `frames` (frames into its sample, in any order, as
/// a record panel holds them), in the normal form, so core always accepts it.
pub fn cuts_op(tr: TrackId, frames: &[usize]) -> Op {
    Op::SetCuts {
        tr,
        v: clean_cuts(frames),
    }
}

/// The slices (`start..end` frames) of a take of `len` frames cut at `cuts` (any order, as a
/// record panel holds them while they are dragged): each cut up to the next, the last one up
/// to `len`. Cuts are sorted, deduplicated and those at or past `len` dropped first. Audio
/// before the first cut belongs to no slice; with no cut the whole take is one slice.
pub fn slices(cuts: &[usize], len: usize) -> Vec<(usize, usize)> {
    let mut cuts: Vec<usize> = cuts.iter().copied().filter(|&o| o < len).collect();
    cuts.sort_unstable();
    cuts.dedup();
    if cuts.is_empty() {
        return if len == 0 { Vec::new() } else { vec![(0, len)] };
    }
    let ends = cuts.iter().skip(1).copied().chain(std::iter::once(len));
    cuts.iter().copied().zip(ends).collect()
}

/// Cuts a typed name down to what core accepts: no control characters, at most
/// [`NAME_MAX_BYTES`] bytes (on a character boundary).
pub fn clean_name(text: &str) -> String {
    let mut out = String::new();
    for c in text.chars().filter(|c| !c.is_control()) {
        if out.len() + c.len_utf8() > NAME_MAX_BYTES {
            break;
        }
        out.push(c);
    }
    out
}

/// How many slices a track's steps can pick: one per cut point of a sample track, none for
/// other instruments or a sample track without cuts.
pub fn slice_count(track: &Track) -> usize {
    match track.instrument {
        Instrument::Sample(_) => track.cuts.len(),
        _ => 0,
    }
}

/// The value a lock gets when it is switched on (the value that changes nothing, so switching
/// a lock on is silent until its value moves).
pub fn neutral_lock(kind: LockKind) -> Lock {
    match kind {
        LockKind::Pitch => Lock::Pitch(0),
        LockKind::Volume => Lock::Volume(1.0),
        LockKind::Probability => Lock::Probability(100),
        LockKind::Nudge => Lock::Nudge(0),
        LockKind::Ratchet => Lock::Ratchet(1),
        // Slice 0 is the first hit of a take; only sample tracks play slices.
        LockKind::Slice => Lock::Slice(0),
        // 1:1 plays on every loop: a condition that changes nothing until another is picked.
        LockKind::Condition => Lock::Condition(Condition::Ratio { a: 1, b: 1 }),
        // Without a track: the default cutoff, no send ([`track_lock`] starts from a track's
        // own values).
        LockKind::Cutoff => Lock::Cutoff(DEFAULT_CUTOFF_HZ),
        LockKind::ReverbSend => Lock::ReverbSend(0.0),
        LockKind::DelaySend => Lock::DelaySend(0.0),
    }
}

/// The value a lock of `track` gets when it is switched on: the track's own cutoff and sends
/// for the effect locks (so switching one on changes nothing until its value moves), else
/// [`neutral_lock`].
pub fn track_lock(track: &Track, kind: LockKind) -> Lock {
    match kind {
        LockKind::Cutoff => Lock::Cutoff(track.fx.cutoff_hz),
        LockKind::ReverbSend => Lock::ReverbSend(track.fx.reverb_send),
        LockKind::DelaySend => Lock::DelaySend(track.fx.delay_send),
        _ => neutral_lock(kind),
    }
}

/// The ops laying the slices of sample track `tr` across its steps: for each slice `i` (one
/// per cut point), step `i` on and locked to slice `i`. The step count grows first to the
/// smallest preset (16, 32, 64) that holds every slice, never shrinks; other steps, velocities
/// and other locks stay as they are. Ops that would change nothing are included (applying them
/// reports [`Change::Nothing`](crate::Change::Nothing)). `None` when `tr` is not a sample track
/// with cut points. Pattern A; [`lay_slices_in`] names the pattern.
pub fn lay_slices(state: &SessionState, tr: TrackId) -> Option<Vec<Op>> {
    lay_slices_in(state, tr, PatternId::A)
}

/// [`lay_slices`] on the track's part of pattern `pt`.
pub fn lay_slices_in(state: &SessionState, tr: TrackId, pt: PatternId) -> Option<Vec<Op>> {
    let track = state.track(tr)?;
    let n = slice_count(track);
    if n == 0 {
        return None;
    }
    let n8 = n as u8;
    let mut ops = Vec::with_capacity(2 * n + 1);
    if (track.step_count_in(pt) as usize) < n {
        let fits = STEP_COUNT_PRESETS
            .into_iter()
            .find(|p| *p >= n8)
            .unwrap_or(*STEP_COUNT_RANGE.end());
        ops.push(Op::SetStepCount { tr, v: fits, pt });
    }
    for i in 0..n8 {
        ops.push(Op::SetStep {
            tr,
            s: i,
            on: true,
            pt,
        });
        ops.push(Op::SetLock {
            tr,
            s: i,
            lock: Lock::Slice(i),
            pt,
        });
    }
    Some(ops)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::{Field, OpError};
    use crate::model::validate_cuts;

    fn sliced(cuts: &[u32]) -> (SessionState, TrackId) {
        let mut state = SessionState::demo();
        let tr: TrackId = "take".parse().unwrap();
        let mut t = Track::new(tr, "Take", "sample:rec-1".parse().unwrap());
        t.cuts = cuts.to_vec();
        state.tracks.push(t);
        (state, tr)
    }

    #[test]
    fn clean_cuts_make_the_normal_form_validate_cuts_accepts() {
        assert_eq!(clean_cuts(&[300, 100, 300, 200]), [100, 200, 300]);
        assert_eq!(clean_cuts(&[usize::MAX]), [u32::MAX]);
        let many: Vec<usize> = (0..100).rev().collect();
        let clean = clean_cuts(&many);
        assert_eq!(clean.len(), MAX_SLICES);
        assert_eq!(clean[0], 0);
        assert!(validate_cuts(&clean).is_ok());
        assert_eq!(validate_cuts(&[2, 1]), Err(OpError::InvalidCuts));
        assert_eq!(validate_cuts(&[1, 1]), Err(OpError::InvalidCuts));
        let too_many: Vec<u32> = (0..65).collect();
        assert_eq!(
            validate_cuts(&too_many),
            Err(OpError::OutOfRange(Field::Cuts))
        );
        // A list is in the normal form exactly when cleaning leaves it as it is.
        for cuts in [
            vec![],
            vec![5],
            vec![1, 2, 3],
            vec![3, 2],
            vec![4, 4],
            (0..64).collect(),
            (0..65).collect(),
            vec![0, u32::MAX],
        ] {
            let frames: Vec<usize> = cuts.iter().map(|&c| c as usize).collect();
            assert_eq!(
                validate_cuts(&cuts).is_ok(),
                clean_cuts(&frames) == cuts,
                "{cuts:?}"
            );
        }
        // Whatever the input, the op is accepted.
        let (mut state, tr) = sliced(&[]);
        state.apply(&cuts_op(tr, &[9, 3, 3, 1])).unwrap();
        assert_eq!(state.track(tr).unwrap().cuts, [1, 3, 9]);
    }

    #[test]
    fn names_are_cut_to_what_core_accepts() {
        assert_eq!(clean_name("Kick\n2"), "Kick2");
        let long = "é".repeat(40);
        let cut = clean_name(&long);
        assert!(cut.len() <= NAME_MAX_BYTES && cut.chars().all(|c| c == 'é'));
        assert_eq!(cut.len(), 32);
    }

    #[test]
    fn slices_between_cuts() {
        assert_eq!(
            slices(&[100, 400, 250], 1000),
            vec![(100, 250), (250, 400), (400, 1000)]
        );
        // Edited cut points: duplicates and points past the end are dropped.
        assert_eq!(
            slices(&[0, 500, 500, 1200], 1000),
            vec![(0, 500), (500, 1000)]
        );
        assert_eq!(slices(&[], 1000), vec![(0, 1000)]);
        assert_eq!(slices(&[], 0), vec![]);
    }

    #[test]
    fn laying_slices_builds_valid_ops_and_grows_the_step_count_to_a_preset() {
        let (state, tr) = sliced(&[0, 4_000, 9_000]);
        let ops = lay_slices(&state, tr).unwrap();
        assert_eq!(ops.len(), 6, "16 steps hold 3 slices: no step count change");
        let (mut state, tr) = sliced(&(0..20).map(|i| i * 1_000).collect::<Vec<_>>());
        let ops = lay_slices(&state, tr).unwrap();
        assert_eq!(
            ops[0],
            Op::SetStepCount {
                pt: PatternId::A,
                tr,
                v: 32
            }
        );
        for op in &ops {
            state.apply(op).unwrap();
        }
        let t = state.track(tr).unwrap();
        assert!(t.steps[19].on && t.steps[19].locks.slice == Some(19));
        assert_eq!(lay_slices(&state, "kick".parse().unwrap()), None);
        assert_eq!(lay_slices(&state, "ghost".parse().unwrap()), None);
        let (state, tr) = sliced(&[]);
        assert_eq!(lay_slices(&state, tr), None);
    }

    #[test]
    fn a_neutral_lock_is_in_range_for_its_kind() {
        let (mut state, tr) = sliced(&[0, 10]);
        for kind in LockKind::ALL {
            let lock = neutral_lock(kind);
            assert_eq!(lock.kind(), kind);
            state
                .apply(&Op::SetLock {
                    pt: PatternId::A,
                    tr,
                    s: 0,
                    lock,
                })
                .unwrap();
        }
    }
}
