//! Undo and redo of this player's own edits, built on the core ops: every accepted op comes with
//! the op that reverts it ([`Applied::undo`](keyboardia_core::Applied)), so an undo entry is just
//! the list of (forward, revert) pairs of one gesture.

use keyboardia_core::Op;

/// Most gestures kept for undo.
pub const UNDO_DEPTH: usize = 200;

/// One user gesture: a click, a whole slider drag, a clear.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Entry {
    /// `(forward, revert)` in the order they were applied.
    pub ops: Vec<(Op, Op)>,
}

/// The undo and redo stacks, plus the gesture being recorded (a drag in progress).
#[derive(Debug, Default)]
pub struct UndoStack {
    /// Finished gestures, oldest first.
    undo: Vec<Entry>,
    /// Undone gestures, most recently undone last.
    redo: Vec<Entry>,
    /// The gesture being recorded and the widget that records it (`None` when no drag runs).
    open: Option<(u64, Entry)>,
}

impl UndoStack {
    /// Records an op that was applied. With `gesture = Some(id)` it joins the open gesture `id`
    /// (starting it if needed), so a whole slider drag is one entry; `None` is a one-op gesture.
    /// Any new edit clears the redo stack.
    pub fn record(&mut self, forward: Op, revert: Op, gesture: Option<u64>) {
        self.redo.clear();
        match gesture {
            Some(id) => {
                if self.open.as_ref().is_some_and(|(open, _)| *open != id) {
                    self.close();
                }
                let (_, entry) = self.open.get_or_insert_with(|| (id, Entry::default()));
                entry.ops.push((forward, revert));
            }
            None => {
                self.close();
                self.push(Entry {
                    ops: vec![(forward, revert)],
                });
            }
        }
    }

    /// Adds an op to the last finished gesture, as part of it (an edit that completes that
    /// gesture, like the cut points of a track just added): one undo reverts both. Starts an
    /// entry of its own when there is none. Any new edit clears the redo stack.
    pub fn amend(&mut self, forward: Op, revert: Op) {
        self.redo.clear();
        self.close();
        match self.undo.last_mut() {
            Some(entry) => entry.ops.push((forward, revert)),
            None => self.push(Entry {
                ops: vec![(forward, revert)],
            }),
        }
    }

    /// Ends the open gesture (drag released), making it one undo entry.
    pub fn close(&mut self) {
        if let Some((_, entry)) = self.open.take() {
            if !entry.ops.is_empty() {
                self.push(entry);
            }
        }
    }

    fn push(&mut self, entry: Entry) {
        self.undo.push(entry);
        if self.undo.len() > UNDO_DEPTH {
            self.undo.remove(0);
        }
    }

    /// Takes the gesture to undo (closing any open one first).
    pub fn pop_undo(&mut self) -> Option<Entry> {
        self.close();
        self.undo.pop()
    }

    /// Takes the gesture to redo.
    pub fn pop_redo(&mut self) -> Option<Entry> {
        self.close();
        self.redo.pop()
    }

    /// Puts a gesture that was just undone on the redo stack.
    pub fn push_redo(&mut self, entry: Entry) {
        self.redo.push(entry);
    }

    /// Puts a gesture that was just redone back on the undo stack (keeping the redo stack).
    pub fn push_undo(&mut self, entry: Entry) {
        self.push(entry);
    }

    pub fn can_undo(&self) -> bool {
        !self.undo.is_empty() || self.open.as_ref().is_some_and(|(_, e)| !e.ops.is_empty())
    }

    pub fn can_redo(&self) -> bool {
        !self.redo.is_empty()
    }

    /// Number of finished gestures on the undo stack.
    pub fn undo_len(&self) -> usize {
        self.undo.len()
    }
}
