//! The Euclidean fill: `k` hits spread as evenly as possible over `n` steps (Bjorklund's
//! algorithm, as in Toussaint, "The Euclidean algorithm generates traditional musical
//! rhythms", 2005), rotated, written to a track as one [`Op::SetPattern`]: a single op, so one
//! undo entry puts the whole track back.

use crate::error::OpError;
use crate::model::{PatternId, SessionState, TrackId, MAX_STEPS, STEP_COUNT_RANGE};
use crate::ops::Op;
use crate::Pattern;

/// Why a Euclidean fill cannot be built.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum EuclidError {
    /// The step count is outside [`STEP_COUNT_RANGE`].
    #[error("a Euclidean fill spans 1 to 64 steps")]
    Steps,
    /// More hits than steps.
    #[error("a Euclidean fill has at most as many hits as steps")]
    Hits,
    /// The track does not exist.
    #[error(transparent)]
    Op(#[from] OpError),
}

/// The Euclidean rhythm E(`hits`, `steps`): `hits` onsets over `steps` steps, as evenly as
/// possible, starting with a hit (E(3,8) = `x..x..x.`, E(5,8) = `x.xx.xx.`), then moved
/// `rotation` steps later (wrapping). Bjorklund's algorithm: start with `hits` groups `[x]`
/// and `steps − hits` groups `[.]`, and append remainder groups to the leading ones until at
/// most one remainder group is left (at least once, so E(3,4) = `x.xx` as in Toussaint's
/// table).
pub fn euclid(hits: usize, steps: usize, rotation: usize) -> Result<Vec<bool>, EuclidError> {
    if steps == 0 || steps > MAX_STEPS {
        return Err(EuclidError::Steps);
    }
    if hits > steps {
        return Err(EuclidError::Hits);
    }
    let mut lead: Vec<Vec<bool>> = vec![vec![true]; hits];
    let mut rest: Vec<Vec<bool>> = vec![vec![false]; steps - hits];
    let mut first = true;
    while !lead.is_empty() && (rest.len() > 1 || (first && rest.len() == 1)) {
        first = false;
        let m = lead.len().min(rest.len());
        let mut next_rest = if lead.len() > m {
            lead.split_off(m)
        } else {
            rest.split_off(m)
        };
        for (l, r) in lead.iter_mut().zip(rest.drain(..)) {
            l.extend(r);
        }
        std::mem::swap(&mut rest, &mut next_rest);
    }
    let pattern: Vec<bool> = lead.into_iter().chain(rest).flatten().collect();
    let r = rotation % steps;
    Ok((0..steps)
        .map(|i| pattern[(i + steps - r) % steps])
        .collect())
}

/// The op that gives track `tr` the step count `steps` and lays E(`hits`, `steps`) rotated by
/// `rotation` on its first `steps` steps: each step switched on or off, its velocity and locks
/// kept, the hidden steps past `steps` untouched. One [`Op::SetPattern`], so the fill is one
/// undo entry. Pattern A; [`euclid_fill_in`] names the pattern.
pub fn euclid_fill(
    state: &SessionState,
    tr: TrackId,
    hits: u8,
    steps: u8,
    rotation: u8,
) -> Result<Op, EuclidError> {
    euclid_fill_in(state, tr, PatternId::A, hits, steps, rotation)
}

/// [`euclid_fill`] on the track's part of pattern `pt`.
pub fn euclid_fill_in(
    state: &SessionState,
    tr: TrackId,
    pt: PatternId,
    hits: u8,
    steps: u8,
    rotation: u8,
) -> Result<Op, EuclidError> {
    if !STEP_COUNT_RANGE.contains(&steps) {
        return Err(EuclidError::Steps);
    }
    let track = state.track(tr).ok_or(OpError::UnknownTrack(tr))?;
    let rhythm = euclid(hits.into(), steps.into(), rotation.into())?;
    let mut all = *track.steps_in(pt);
    for (step, on) in all.iter_mut().zip(rhythm) {
        step.on = on;
    }
    Ok(Op::SetPattern {
        tr,
        len: steps,
        steps: Pattern(Box::new(all)),
        pt,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Lock;

    fn text(hits: usize, steps: usize, rotation: usize) -> String {
        euclid(hits, steps, rotation)
            .unwrap()
            .into_iter()
            .map(|on| if on { 'x' } else { '.' })
            .collect()
    }

    /// Toussaint's table (2005), and the edges.
    #[test]
    fn known_rhythms() {
        for (k, n, want) in [
            (3, 8, "x..x..x."),
            (5, 8, "x.xx.xx."),
            (2, 5, "x.x.."),
            (3, 4, "x.xx"),
            (3, 5, "x.x.x"),
            (3, 7, "x.x.x.."),
            (4, 9, "x.x.x.x.."),
            (5, 12, "x..x.x..x.x."),
            (7, 12, "x.xx.x.xx.x."),
            (5, 16, "x..x..x..x..x..."),
            (7, 8, "x.xxxxxx"),
            (4, 16, "x...x...x...x..."),
            (0, 4, "...."),
            (4, 4, "xxxx"),
            (1, 1, "x"),
            (0, 1, "."),
        ] {
            assert_eq!(text(k, n, 0), want, "E({k},{n})");
            assert_eq!(want.matches('x').count(), k);
        }
    }

    #[test]
    fn rotation_moves_the_hits_later_and_wraps() {
        assert_eq!(text(3, 8, 1), ".x..x..x");
        assert_eq!(text(3, 8, 2), "x.x..x..");
        assert_eq!(text(3, 8, 8), text(3, 8, 0));
        assert_eq!(text(3, 8, 11), text(3, 8, 3));
        assert_eq!(text(5, 8, 3), "xx.x.xx.");
    }

    #[test]
    fn every_rhythm_has_its_hits_and_bad_sizes_are_refused() {
        for n in 1..=MAX_STEPS {
            for k in 0..=n {
                let r = euclid(k, n, 0).unwrap();
                assert_eq!(r.len(), n);
                assert_eq!(r.iter().filter(|on| **on).count(), k, "E({k},{n})");
                assert!(k == 0 || r[0], "E({k},{n}) starts with a hit");
            }
        }
        assert_eq!(euclid(0, 0, 0), Err(EuclidError::Steps));
        assert_eq!(euclid(1, 65, 0), Err(EuclidError::Steps));
        assert_eq!(euclid(9, 8, 0), Err(EuclidError::Hits));
    }

    #[test]
    fn the_fill_is_one_undoable_op_that_keeps_velocities_and_locks() {
        let mut state = SessionState::demo();
        let kick: TrackId = "kick".parse().unwrap();
        {
            let t = state.tracks.iter_mut().find(|t| t.id == kick).unwrap();
            t.steps[3].velocity = 40;
            t.steps[3].locks.set(Lock::Pitch(5));
            t.steps[40].on = true;
        }
        let before = state.clone();
        let op = euclid_fill(&state, kick, 3, 8, 0).unwrap();
        let applied = state.apply(&op).unwrap();
        let t = state.track(kick).unwrap();
        assert_eq!(t.step_count, 8);
        let on: Vec<bool> = t.steps[..8].iter().map(|s| s.on).collect();
        assert_eq!(on, [true, false, false, true, false, false, true, false]);
        assert_eq!((t.steps[3].velocity, t.steps[3].locks.pitch), (40, Some(5)));
        assert!(t.steps[40].on, "hidden steps are untouched");
        state.apply(&applied.undo).unwrap();
        assert_eq!(state, before, "one undo puts the track back");
        assert_eq!(euclid_fill(&state, kick, 9, 8, 0), Err(EuclidError::Hits));
        assert_eq!(euclid_fill(&state, kick, 1, 0, 0), Err(EuclidError::Steps));
        assert_eq!(euclid_fill(&state, kick, 1, 65, 0), Err(EuclidError::Steps));
        let ghost: TrackId = "ghost".parse().unwrap();
        assert_eq!(
            euclid_fill(&state, ghost, 1, 4, 0),
            Err(EuclidError::Op(OpError::UnknownTrack(ghost)))
        );
    }
}
