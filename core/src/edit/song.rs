//! Song-list edits: each change a player makes to the list (add, remove, change or move an
//! entry) as the one [`Op::SetSong`] that replaces the list, so it is one undo entry and two
//! players' edits are ordered by the room like any other op.

use crate::error::OpError;
use crate::model::{validate_song, SessionState, SongEntry};
use crate::ops::Op;

/// The op inserting `entry` at `at` (the end when `at` is past it). Refused with
/// [`OpError::SongTooLong`] when the song is full, or a range error for its repeats.
pub fn song_insert(state: &SessionState, at: usize, entry: SongEntry) -> Result<Op, OpError> {
    let mut v = state.song.clone();
    v.insert(at.min(v.len()), entry);
    validate_song(&v)?;
    Ok(Op::SetSong { v })
}

/// The op removing entry `at`; `None` when there is no such entry.
pub fn song_remove(state: &SessionState, at: usize) -> Option<Op> {
    let mut v = state.song.clone();
    (at < v.len()).then(|| {
        v.remove(at);
        Op::SetSong { v }
    })
}

/// The op replacing entry `at` (another pattern, other repeats); `None` when there is no such
/// entry, an error for repeats out of range.
pub fn song_set(state: &SessionState, at: usize, entry: SongEntry) -> Result<Option<Op>, OpError> {
    let mut v = state.song.clone();
    let Some(slot) = v.get_mut(at) else {
        return Ok(None);
    };
    *slot = entry;
    validate_song(&v)?;
    Ok(Some(Op::SetSong { v }))
}

/// The op moving entry `from` to position `to` (clamped to the last); `None` when there is no
/// entry `from`.
pub fn song_move(state: &SessionState, from: usize, to: usize) -> Option<Op> {
    let mut v = state.song.clone();
    if from >= v.len() {
        return None;
    }
    let e = v.remove(from);
    v.insert(to.min(v.len()), e);
    Some(Op::SetSong { v })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Field;
    use crate::model::{PatternId, MAX_SONG_ENTRIES};

    fn e(p: usize, n: u8) -> SongEntry {
        SongEntry {
            pattern: PatternId::new(p).unwrap(),
            repeats: n,
        }
    }

    #[test]
    fn list_edits_become_one_set_song_op() {
        let mut s = SessionState::default();
        for (at, entry) in [(0, e(0, 1)), (9, e(1, 2)), (1, e(2, 4))] {
            let op = song_insert(&s, at, entry).unwrap();
            s.apply(&op).unwrap();
        }
        assert_eq!(s.song, vec![e(0, 1), e(2, 4), e(1, 2)]);
        s.apply(&song_move(&s, 0, 5).unwrap()).unwrap();
        assert_eq!(s.song, vec![e(2, 4), e(1, 2), e(0, 1)]);
        s.apply(&song_set(&s, 1, e(7, 3)).unwrap().unwrap())
            .unwrap();
        s.apply(&song_remove(&s, 0).unwrap()).unwrap();
        assert_eq!(s.song, vec![e(7, 3), e(0, 1)]);
        assert_eq!(song_remove(&s, 2), None);
        assert_eq!(song_move(&s, 2, 0), None);
        assert_eq!(song_set(&s, 2, e(0, 1)), Ok(None));
        assert_eq!(
            song_set(&s, 0, e(0, 0)),
            Err(OpError::OutOfRange(Field::Repeats))
        );
        s.song = vec![e(0, 1); MAX_SONG_ENTRIES];
        assert_eq!(song_insert(&s, 0, e(0, 1)), Err(OpError::SongTooLong));
    }
}
