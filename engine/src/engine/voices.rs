//! Starting notes: a fired hit of the sequencer on its track's voice pool, and the host's
//! audition notes on the selected track.

use std::sync::Arc;

use keyboardia_core::SynthPreset;

use super::{Engine, InputEvent, PAD_TAILS, VOICES_PER_TRACK};
use crate::dsp::splitmix64;
use crate::schedule::Fired;
use crate::voice::{NoteParams, Patch, Voice, GATE_HELD, ONE_SHOT_VARIANTS};

impl Engine {
    /// Starts the note of a fired hit.
    pub(super) fn trigger(&mut self, fired: &Fired) {
        let t = fired.track as usize;
        let hit = &fired.hit;
        let Some(patch) = self.pattern.tracks[t].patch else {
            return;
        };
        self.fx.on_hit(t, hit);
        let params = NoteParams {
            pitch_semis: hit.pitch_semis as f32,
            velocity: hit.velocity,
            gain: hit.gain,
            gate_frames: u32::try_from(fired.gate_frames).unwrap_or(u32::MAX),
        };
        let pool = &mut self.voices[t];
        if hit.slide {
            if let Some(v) = self.plays[t].last_voice {
                if pool[v].slide(params) {
                    return;
                }
            }
        }
        // Tracks are monophonic per step like a drum machine: a new hit chokes the previous
        // sequencer note of the track. Pads keep their release tails, the newest
        // `PAD_TAILS` of them (older tails are inaudible under the new notes anyway).
        if patch != Patch::Synth(SynthPreset::Pad) {
            for v in pool.iter_mut() {
                if v.key.is_none() {
                    v.choke();
                }
            }
        } else {
            let tails = pool.iter().filter(|v| v.active && v.key.is_none()).count();
            for _ in PAD_TAILS..tails {
                if let Some(oldest) = pool
                    .iter_mut()
                    .filter(|v| v.active && v.key.is_none() && !v.is_choking())
                    .max_by_key(|v| v.age)
                {
                    oldest.choke();
                }
            }
        }
        let slot = pick_voice(pool);
        // Seeded by the hit's position in time, so the noise does not depend on block splits.
        let seed = splitmix64(self.seed ^ ((t as u64) << 56) ^ hit.time_beats.to_bits()) as u32;
        start_voice(
            &mut pool[slot],
            &self.one_shots,
            t,
            patch,
            params,
            seed,
            self.sample_rate_hz as f32,
        );
        // A slice-locked step of a sample track plays only its slice (bounds from the loaded
        // sample's length, so cuts past its end are ignored).
        if let (Patch::Sample(sample), Some(index)) = (patch, hit.slice) {
            if let Some(buf) = self.bank.get(sample as usize).and_then(|b| b.as_deref()) {
                let len = buf.frames.len().min(u32::MAX as usize) as u32;
                let (start, end) = self.pattern.tracks[t].slice_frames(index, len);
                pool[slot].play_range(start, end);
            }
        }
        self.plays[t].last_voice = Some(slot);
    }

    pub(super) fn audition(&mut self, e: InputEvent) {
        let t = self.audition_track;
        match e {
            InputEvent::NoteOn { key, velocity, .. } => {
                let Some(patch) = self.pattern.tracks.get(t).and_then(|tr| tr.patch) else {
                    return;
                };
                if t >= self.pattern.track_count {
                    return;
                }
                let pool = &mut self.voices[t];
                for v in pool.iter_mut() {
                    if v.key == Some(key) {
                        v.choke();
                    }
                }
                let slot = pick_voice(pool);
                let params = NoteParams {
                    pitch_semis: key as f32 - patch.base_note() as f32,
                    velocity: velocity.max(1),
                    gain: 1.0,
                    gate_frames: GATE_HELD,
                };
                start_voice(
                    &mut pool[slot],
                    &self.one_shots,
                    t,
                    patch,
                    params,
                    key as u32 * 7919 + 1,
                    self.sample_rate_hz as f32,
                );
                pool[slot].key = Some(key);
            }
            InputEvent::NoteOff { key, .. } => {
                for pool in self.voices.iter_mut() {
                    for v in pool.iter_mut() {
                        if v.key == Some(key) {
                            v.release();
                            v.key = None;
                        }
                    }
                }
            }
        }
    }
}

/// Starts a note: from the sound's one-shot table when it has one, else synthesized live.
fn start_voice(
    voice: &mut Voice,
    one_shots: &[Vec<Arc<[f32]>>],
    track: usize,
    patch: Patch,
    params: NoteParams,
    seed: u32,
    sample_rate: f32,
) {
    let table = match patch {
        Patch::Sound(s) => one_shots[s as usize]
            .get(seed as usize % ONE_SHOT_VARIANTS)
            .cloned(),
        _ => None,
    };
    match table {
        // Cloning the Arc only bumps a counter: the engine holds every table, so no voice ever
        // frees one on the audio thread.
        Some(t) => voice.start_one_shot(track as u8, patch, params, t, sample_rate),
        None => voice.start(track as u8, patch, params, seed, sample_rate),
    }
}

/// A free voice, else the quietest releasing one, else the oldest.
fn pick_voice(pool: &[Voice; VOICES_PER_TRACK]) -> usize {
    if let Some(i) = pool.iter().position(|v| !v.active) {
        return i;
    }
    if let Some((i, _)) = pool
        .iter()
        .enumerate()
        .filter(|(_, v)| !v.is_held())
        .max_by_key(|(_, v)| v.age)
    {
        return i;
    }
    pool.iter()
        .enumerate()
        .max_by_key(|(_, v)| v.age)
        .map(|(i, _)| i)
        .unwrap_or(0)
}
