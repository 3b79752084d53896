//! The engine's MIDI out: a note per track channel, each ending at its own gate or at the
//! track's next hit, whichever comes first, at the frame where it happens (so MIDI out does not
//! depend on the block size). Written into the engine's fixed buffer: no allocation.

use keyboardia_core::MAX_TRACKS;

use super::{Engine, MidiOut, SoundingMidiNote, MAX_MIDI_OUT, MIDI_BASE_NOTE};

impl Engine {
    /// Adds an outgoing note to the block's buffer (dropped when the buffer is full).
    pub(super) fn push_midi(&mut self, m: MidiOut) {
        if self.midi_len < MAX_MIDI_OUT {
            self.midi[self.midi_len] = m;
            self.midi_len += 1;
        }
    }

    /// Note-offs of the MIDI notes whose gate ends in this block (all of them, at its start,
    /// when the transport stops). Runs after the block's note-ons, which end a track's note
    /// early when the track's next hit comes first.
    pub(super) fn midi_note_offs(&mut self, playing: bool, frames: usize, base: u32) {
        let block_start = self.frames_done;
        let block_end = block_start + frames as u64;
        for t in 0..MAX_TRACKS {
            if let Some(SoundingMidiNote { note, off_frame }) = self.plays[t].midi_note {
                if off_frame < block_end || !playing {
                    let offset =
                        off_frame.saturating_sub(block_start).min(frames as u64 - 1) as u32;
                    let offset = if playing { offset } else { 0 };
                    self.push_midi(MidiOut {
                        offset: offset + base,
                        channel: t as u8,
                        note,
                        velocity: 0,
                        on: false,
                    });
                    self.plays[t].midi_note = None;
                }
            }
        }
    }

    /// MIDI for the fired hits, a channel per track: the track's previous note ends, the hit's
    /// note starts and owes its note-off after the hit's gate.
    pub(super) fn midi_note_ons(&mut self, fired: usize, base: u32) {
        let block_start = self.frames_done;
        for i in 0..fired {
            let f = self.fired[i];
            let t = f.track as usize;
            let note = (MIDI_BASE_NOTE + f.hit.pitch_semis as i32).clamp(0, 127) as u8;
            if let Some(old) = self.plays[t].midi_note.take() {
                // The previous note ends at its own gate if that comes first (in this block:
                // notes ending earlier were ended at the end of their own block).
                let gate_end = old.off_frame.saturating_sub(block_start);
                let offset = gate_end.min(u64::from(f.offset_frames)) as u32;
                self.push_midi(MidiOut {
                    offset: offset + base,
                    channel: t as u8,
                    note: old.note,
                    velocity: 0,
                    on: false,
                });
            }
            self.push_midi(MidiOut {
                offset: f.offset_frames + base,
                channel: t as u8,
                note,
                velocity: f.hit.velocity,
                on: true,
            });
            self.plays[t].midi_note = Some(SoundingMidiNote {
                note,
                off_frame: block_start + f.offset_frames as u64 + f.gate_frames,
            });
        }
    }

    /// Sorts the block's notes by offset: a stable insertion sort (no allocation), so note-offs
    /// stay before the note-ons at the same offset.
    pub(super) fn sort_midi(&mut self) {
        let m = &mut self.midi[..self.midi_len];
        for i in 1..m.len() {
            let mut j = i;
            while j > 0 && m[j - 1].offset > m[j].offset {
                m.swap(j - 1, j);
                j -= 1;
            }
        }
    }
}
