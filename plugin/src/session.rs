//! The session as the plugin holds it: the parsed [`SessionState`] and its canonical JSON (what
//! the host saves, through the `persist` fields), the sampler's samples, and the lock-free
//! hand-off of patterns and samples to the audio thread.
//!
//! Everything here runs off the audio thread (host state calls, a future editor or sync thread).
//! The audio thread only pops from the queues (see [`AudioSide`]) and sends used buffers back,
//! so nothing is freed on it.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use keyboardia_core::schema::state_from_json;
use keyboardia_core::{Instrument, Op, OpError, SampleId, SessionState};
use keyboardia_engine::voice::MAX_SAMPLE_SLOTS;
use keyboardia_engine::{EnginePattern, SampleBuffer};

/// Patterns in flight to the audio thread (a burst of edits coalesces on the audio side).
const PATTERN_QUEUE: usize = 64;
/// Sample hand-overs in flight.
const SAMPLE_QUEUE: usize = 32;

/// A sample for slot `slot` (or `None` to clear it).
pub struct SampleMsg {
    /// Sampler slot, < `MAX_SAMPLE_SLOTS`.
    pub slot: usize,
    /// The decoded sample (`None` empties the slot).
    pub buffer: Option<Arc<SampleBuffer>>,
}

/// The editing side's half of the queues.
struct Senders {
    /// New patterns for the audio thread.
    patterns: rtrb::Producer<Box<EnginePattern>>,
    /// Patterns the audio thread is done with (freed here).
    pattern_garbage: rtrb::Consumer<Box<EnginePattern>>,
    /// Samples for the audio thread.
    samples: rtrb::Producer<SampleMsg>,
    /// Replaced samples coming back to be freed here.
    sample_garbage: rtrb::Consumer<Option<Arc<SampleBuffer>>>,
}

/// The audio thread's half of the queues, owned by the plugin's `process()`.
pub struct AudioSide {
    /// New patterns to copy into the engine.
    pub patterns: rtrb::Consumer<Box<EnginePattern>>,
    /// Used patterns, sent back to be freed off the audio thread.
    pub pattern_garbage: rtrb::Producer<Box<EnginePattern>>,
    /// Sample hand-overs.
    pub samples: rtrb::Consumer<SampleMsg>,
    /// Replaced samples, sent back to be freed off the audio thread.
    pub sample_garbage: rtrb::Producer<Option<Arc<SampleBuffer>>>,
}

/// The parsed session and its canonical JSON, kept in step.
struct Doc {
    /// The session as edited and saved.
    state: SessionState,
    /// Exactly what the host saves: `serde_json` of `state` (canonical, so save → load → save is
    /// byte-identical).
    json: String,
    /// Sample ids by slot.
    sample_slots: Vec<SampleId>,
    /// Loaded sample buffers by slot (re-sent when the audio side is recreated).
    samples: Vec<Option<Arc<SampleBuffer>>>,
}

/// The document and the queue ends, behind their locks.
struct Shared {
    /// The session (never touched by the audio thread).
    doc: Mutex<Doc>,
    /// The editing side's queue ends.
    senders: Mutex<Senders>,
}

/// The session, its samples and the editing API (the service behind `#[persist = "session"]`
/// and `#[persist = "samples"]`; see the `services` module).
pub struct SessionStore {
    /// The session and the queue ends.
    shared: Shared,
    /// The audio half, taken by the plugin once.
    audio: Mutex<Option<AudioSide>>,
    /// Told of every edit [`SessionStore::apply`] accepts (the live session sends them to the
    /// room); not of replaced states, so nothing echoes back.
    listener: Mutex<Option<EditListener>>,
    /// Counts every change of the session or its samples (edits, replaced states, loaded
    /// samples), so a project file's autosave sees that there is something to save.
    changes: AtomicU64,
}

/// See [`SessionStore::set_listener`].
pub type EditListener = Box<dyn Fn(&Op) + Send + Sync>;

impl Default for SessionStore {
    fn default() -> Self {
        Self::new(SessionState::demo())
    }
}

impl SessionStore {
    /// A store holding `state`, with fresh queues.
    pub fn new(state: SessionState) -> Self {
        let (ptx, prx) = rtrb::RingBuffer::new(PATTERN_QUEUE);
        let (gtx, grx) = rtrb::RingBuffer::new(PATTERN_QUEUE);
        let (stx, srx) = rtrb::RingBuffer::new(SAMPLE_QUEUE);
        let (sgtx, sgrx) = rtrb::RingBuffer::new(SAMPLE_QUEUE);
        let json = serde_json::to_string(&state).unwrap_or_default();
        Self {
            shared: Shared {
                doc: Mutex::new(Doc {
                    state,
                    json,
                    sample_slots: Vec::new(),
                    samples: Vec::new(),
                }),
                senders: Mutex::new(Senders {
                    patterns: ptx,
                    pattern_garbage: grx,
                    samples: stx,
                    sample_garbage: sgrx,
                }),
            },
            audio: Mutex::new(Some(AudioSide {
                patterns: prx,
                pattern_garbage: gtx,
                samples: srx,
                sample_garbage: sgtx,
            })),
            listener: Mutex::new(None),
            changes: AtomicU64::new(0),
        }
    }

    /// Sets who hears of every accepted local edit.
    pub fn set_listener(&self, listener: Option<EditListener>) {
        if let Ok(mut l) = self.listener.lock() {
            *l = listener;
        }
    }

    /// How many changes the session and its samples have seen (see the `project` module).
    pub fn changes(&self) -> u64 {
        self.changes.load(Ordering::Acquire)
    }

    /// Counts a change.
    fn changed(&self) {
        self.changes.fetch_add(1, Ordering::AcqRel);
    }

    /// Takes the audio thread's half of the queues (once; `None` afterwards).
    pub fn take_audio_side(&self) -> Option<AudioSide> {
        self.audio.lock().ok()?.take()
    }

    /// A copy of the session.
    pub fn state(&self) -> SessionState {
        self.shared
            .doc
            .lock()
            .map(|d| d.state.clone())
            .unwrap_or_default()
    }

    /// The JSON the host saves.
    pub fn json(&self) -> String {
        self.shared
            .doc
            .lock()
            .map(|d| d.json.clone())
            .unwrap_or_default()
    }

    /// The engine view of the current session.
    pub fn pattern(&self) -> Box<EnginePattern> {
        let doc = self.shared.doc.lock().expect("session lock");
        Box::new(pattern_of(&doc))
    }

    /// The engine view of the current session and the held samples by engine slot: what an
    /// offline render needs to play sample tracks.
    pub fn pattern_with_samples(&self) -> (Box<EnginePattern>, Vec<(usize, Arc<SampleBuffer>)>) {
        let doc = self.shared.doc.lock().expect("session lock");
        let samples = doc
            .samples
            .iter()
            .enumerate()
            .filter_map(|(slot, b)| Some((slot, b.clone()?)))
            .collect();
        (Box::new(pattern_of(&doc)), samples)
    }

    /// Applies an edit and sends the new pattern to the audio thread.
    pub fn apply(&self, op: &Op) -> Result<(), OpError> {
        let mut doc = self.shared.doc.lock().expect("session lock");
        doc.state.apply(op)?;
        doc.json = serde_json::to_string(&doc.state).unwrap_or_default();
        let pattern = Box::new(pattern_of(&doc));
        drop(doc);
        self.changed();
        self.send_pattern(pattern);
        if let Ok(listener) = self.listener.lock() {
            if let Some(listener) = listener.as_ref() {
                listener(op);
            }
        }
        Ok(())
    }

    /// Replaces the whole session from JSON (any schema version core can migrate).
    pub fn load_json(&self, json: &str) -> Result<(), keyboardia_core::schema::SchemaError> {
        self.replace_state(state_from_json(json.as_bytes())?);
        Ok(())
    }

    /// Replaces the whole session with a valid state (a host load, or the live room's view).
    pub fn replace_state(&self, state: SessionState) {
        let mut doc = self.shared.doc.lock().expect("session lock");
        doc.json = serde_json::to_string(&state).unwrap_or_default();
        doc.state = state;
        let pattern = Box::new(pattern_of(&doc));
        drop(doc);
        self.changed();
        self.send_pattern(pattern);
    }

    /// The samples the sampler holds, in slot order.
    pub fn sample_ids(&self) -> Vec<SampleId> {
        self.shared
            .doc
            .lock()
            .map(|d| d.sample_slots.clone())
            .unwrap_or_default()
    }

    /// Hands a decoded sample to the sampler under `id` (tracks playing `sample:<id>` use it).
    /// Saved with the plugin's state (`#[persist = "samples"]`) while a track uses it.
    /// Its frames are [`clean`](crate::flush::clean)ed first (NaN and denormals are 0, the rest
    /// within full scale), so a damaged file or a wild take cannot spoil the output; the sampler
    /// and the saved state hold the cleaned frames.
    pub fn load_sample(&self, id: SampleId, mut buffer: SampleBuffer) -> Option<usize> {
        crate::flush::clean_all(&mut buffer.frames);
        let slot = self.shared.load_sample(id, buffer);
        self.changed();
        slot
    }

    /// The held samples a track of the session uses, in slot order (what the project saves).
    pub fn used_samples(&self) -> Vec<(SampleId, Arc<SampleBuffer>)> {
        self.shared.used_samples()
    }

    /// Sends a pattern to the audio thread and frees the ones it returned.
    fn send_pattern(&self, pattern: Box<EnginePattern>) {
        self.shared.send_pattern(pattern);
    }
}

impl Shared {
    /// Hands a decoded sample to the sampler under `id` (tracks playing `sample:<id>` use it).
    fn load_sample(&self, id: SampleId, buffer: SampleBuffer) -> Option<usize> {
        let mut doc = self.doc.lock().expect("session lock");
        let slot = match doc.sample_slots.iter().position(|s| *s == id) {
            Some(i) => i,
            None if doc.sample_slots.len() < MAX_SAMPLE_SLOTS => {
                doc.sample_slots.push(id);
                doc.sample_slots.len() - 1
            }
            None => return None,
        };
        let buffer = Arc::new(buffer);
        if doc.samples.len() <= slot {
            doc.samples.resize(slot + 1, None);
        }
        doc.samples[slot] = Some(buffer.clone());
        let pattern = Box::new(pattern_of(&doc));
        drop(doc);
        let mut tx = self.senders.lock().expect("sender lock");
        while tx.sample_garbage.pop().is_ok() {}
        let _ = tx.samples.push(SampleMsg {
            slot,
            buffer: Some(buffer),
        });
        drop(tx);
        self.send_pattern(pattern);
        Some(slot)
    }

    /// Sends a pattern to the audio thread and frees the ones it returned.
    fn send_pattern(&self, pattern: Box<EnginePattern>) {
        let mut tx = self.senders.lock().expect("sender lock");
        while tx.pattern_garbage.pop().is_ok() {}
        // A full queue means the audio thread is not running; the next activation reads the
        // session directly, so dropping the update is fine.
        let _ = tx.patterns.push(pattern);
    }

    /// The held samples a track of the session uses, in slot order.
    fn used_samples(&self) -> Vec<(SampleId, Arc<SampleBuffer>)> {
        let doc = self.doc.lock().expect("session lock");
        doc.sample_slots
            .iter()
            .zip(&doc.samples)
            .filter(|(id, _)| {
                doc.state
                    .tracks
                    .iter()
                    .any(|t| matches!(&t.instrument, Instrument::Sample(s) if s == *id))
            })
            .filter_map(|(id, b)| Some((id.clone(), b.clone()?)))
            .collect()
    }
}

fn pattern_of(doc: &Doc) -> EnginePattern {
    EnginePattern::from_state(&doc.state, |id| {
        let slot = doc.sample_slots.iter().position(|s| s == id)?;
        doc.samples.get(slot)?.as_ref()?;
        Some(slot as u8)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn save_load_save_is_byte_identical() {
        let a = SessionStore::default();
        let saved = a.json();
        let b = SessionStore::new(SessionState::default());
        b.load_json(&saved).unwrap();
        assert_eq!(b.json(), saved);
        assert_eq!(b.state(), SessionState::demo());
    }

    #[test]
    fn edits_reach_the_audio_side_and_the_saved_state() {
        let store = SessionStore::default();
        let mut audio = store.take_audio_side().unwrap();
        let tr = store.state().tracks[0].id;
        let json_before = store.json();
        store
            .apply(&Op::SetStep {
                pt: keyboardia_core::PatternId::A,
                tr,
                s: 1,
                on: true,
            })
            .unwrap();
        let p = audio.patterns.pop().unwrap();
        assert!(p.tracks[0].steps[1].on);
        assert_ne!(store.json(), json_before);
        assert!(store.state().tracks[0].steps[1].on);
        // A bad document is refused and changes nothing.
        let before = store.json();
        assert!(store.load_json("{ not json").is_err());
        assert_eq!(store.json(), before);
    }

    #[test]
    fn samples_are_handed_over_whole_and_tracks_find_their_slot() {
        let mut state = SessionState::demo();
        state.tracks[0].instrument = "sample:vox-1".parse().unwrap();
        let store = SessionStore::new(state);
        let mut audio = store.take_audio_side().unwrap();
        let id: SampleId = "vox-1".parse().unwrap();
        let slot = store
            .load_sample(
                id,
                SampleBuffer {
                    frames: vec![0.25; 100].into_boxed_slice(),
                    sample_rate_hz: 44_100.0,
                },
            )
            .unwrap();
        let msg = audio.samples.pop().unwrap();
        assert_eq!(msg.slot, slot);
        assert_eq!(msg.buffer.as_ref().unwrap().frames.len(), 100);
        let p = audio.patterns.pop().unwrap();
        assert_eq!(
            p.tracks[0].patch,
            Some(keyboardia_engine::Patch::Sample(slot as u8))
        );
        // Before its sample arrives, a sample track is silent (no patch), never an error.
        let fresh = SessionStore::new({
            let mut s = SessionState::demo();
            s.tracks[1].instrument = "sample:other".parse().unwrap();
            s
        });
        assert_eq!(fresh.pattern().tracks[1].patch, None);
    }
}
