//! The sequencer side of the engine: taking in a new pattern (tracks follow their ids), and
//! each block's transport following and hit scheduling.

use keyboardia_core::MAX_TRACKS;

use super::{Engine, TrackPlay};
use crate::clock::BlockClock;
use crate::pattern::EnginePattern;
use crate::schedule::{block_hits, BlockSpan, StepCursor};

impl Engine {
    /// Copies a new pattern in. Track state (voices, scheduling) follows track ids; voices of
    /// removed tracks are choked. No allocation.
    pub fn set_pattern(&mut self, new: &EnginePattern) {
        let old_ids = self.pattern.tracks;
        let old_count = self.pattern.track_count;
        let mut new_cursors = [StepCursor::default(); MAX_TRACKS];
        let mut new_plays = [TrackPlay::default(); MAX_TRACKS];
        let mut taken = [false; MAX_TRACKS];
        for (i, t) in new.tracks().iter().enumerate() {
            let from = old_ids[..old_count].iter().position(|o| o.id == t.id);
            if let Some(j) = from.filter(|&j| !taken[j]) {
                taken[j] = true;
                new_cursors[i] = self.cursors[j];
                new_plays[i] = self.plays[j];
                std::mem::swap(&mut self.spare_voices[i], &mut self.voices[j]);
                for v in self.spare_voices[i].iter_mut() {
                    v.track = i as u8;
                    // A track that changed instrument: its old notes fade out.
                    if Some(v.patch) != t.patch {
                        v.choke();
                    }
                }
                self.mixer_follow(i, j, &mut taken);
            } else {
                // A new track joins at the current position.
                new_cursors[i] = StepCursor::joining_at(self.previous_end_beat);
                for v in self.spare_voices[i].iter_mut() {
                    v.active = false;
                    v.track = i as u8;
                }
            }
        }
        // Voices of removed tracks are dropped (the slots become free).
        std::mem::swap(&mut self.voices, &mut self.spare_voices);
        for pool in self.spare_voices.iter_mut() {
            for v in pool.iter_mut() {
                v.active = false;
            }
        }
        *self.cursors = new_cursors;
        self.plays = new_plays;
        self.pattern.copy_from(new);
        self.fx.set_pattern(new);
        self.update_gain_targets();
        // New tracks start at their level rather than fading in.
        for (i, t) in new.tracks().iter().enumerate() {
            if !old_ids[..old_count].iter().any(|o| o.id == t.id) {
                self.gains[i].jump_to_target();
            }
        }
    }

    /// Mixer controls are per slot and set by the caller; nothing to move here, kept as a hook so
    /// ids rather than slots could own them later.
    pub(super) fn mixer_follow(
        &mut self,
        _to: usize,
        _from: usize,
        _taken: &mut [bool; MAX_TRACKS],
    ) {
    }

    /// Advances the sequencer over one block: follows the transport (stop, start, jump),
    /// collects the hits that start in it (see [`crate::schedule`]) into `self.fired`, and
    /// sends their MIDI and the note-offs that fall in the block, each at its own frame, so
    /// MIDI out does not depend on the block size. Returns how many hits fire.
    pub(super) fn sequence(&mut self, clock: &BlockClock, frames: usize, base: u32) -> usize {
        self.fx.set_tempo(clock.tempo_bpm);
        let fired = match self.follow_transport(clock, frames) {
            Some(span) => {
                let swing_pct = self.swing_override.unwrap_or(self.pattern.swing_pct);
                let fired = block_hits(
                    &self.pattern,
                    self.seed,
                    swing_pct,
                    &self.playing,
                    &span,
                    &mut self.cursors,
                    &mut self.fired[..],
                );
                self.midi_note_ons(fired, base);
                fired
            }
            None => 0,
        };
        self.midi_note_offs(clock.playing, frames, base);
        fired
    }

    /// Follows the transport into this block: on a stop, releases the sequencer's notes and
    /// returns `None`; on a start or a jump, relocates every track (releasing the notes of a
    /// jump). Returns the block's place on the beat axis while playing.
    pub(super) fn follow_transport(
        &mut self,
        clock: &BlockClock,
        frames: usize,
    ) -> Option<BlockSpan> {
        if !(clock.playing && clock.tempo_bpm.is_finite() && clock.tempo_bpm > 0.0) {
            if self.previous_end_beat.take().is_some() {
                self.release_sequenced();
            }
            return None;
        }
        let span = BlockSpan {
            start_beat: clock.beat,
            frames,
            frames_per_beat: self.sample_rate_hz * 60.0 / clock.tempo_bpm,
        };
        let jumped = match self.previous_end_beat {
            None => true,
            Some(e) => (e - span.start_beat).abs() > 0.5 / span.frames_per_beat,
        };
        if jumped {
            let resumed = self.previous_end_beat.is_none();
            if !resumed {
                self.release_sequenced();
            }
            for c in self.cursors.iter_mut() {
                c.relocate(span.start_beat, span.frames_per_beat);
            }
            for p in self.plays.iter_mut() {
                p.last_voice = None;
            }
        }
        self.previous_end_beat = Some(span.end_beat());
        Some(span)
    }

    /// Releases every sequencer note (stop, relocation).
    pub(super) fn release_sequenced(&mut self) {
        for pool in self.voices.iter_mut() {
            for v in pool.iter_mut() {
                if v.key.is_none() {
                    v.release();
                }
            }
        }
        for c in self.cursors.iter_mut() {
            c.clear_pending();
        }
        for p in self.plays.iter_mut() {
            p.last_voice = None;
        }
    }
}
