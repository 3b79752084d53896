//! Adding a recorded take to the grid: the take becomes a sampler sound and a new, empty track
//! plays it. The editor's "Add to grid" button and the "Add Take to Grid" parameter (a
//! footswitch after "Record") both come here.
//!
//! Playing alone, the sampler gets the take's frames as they are, under a fresh `rec-` id. In a
//! live session the take travels through the shared-sample path: it is encoded as a lossless
//! 32-bit float WAV (16-bit when that would exceed the upload limit) and named by the
//! content id of those bytes ([`SampleId::for_content`]). This player's sampler gets exactly
//! what the others will decode, at once, so the new track plays here immediately; the upload
//! runs in the background, and the track reaches the room through the normal edit path. Other
//! players get the track first and its sound as soon as the upload is announced (their sync
//! thread waits for the announcement when it finds nothing yet).
//!
//! If the upload fails on the network or the server is busy, it is retried until it gets
//! through: the track plays here meanwhile and becomes audible to the others when it arrives.
//! If the server refuses it for good, the track is taken off the grid for everyone (see
//! `live::sample_event`): no track is left in the room that only one player can hear.
//!
//! Nothing here runs on the audio thread.

use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use keyboardia_core::audio::{decode_wav, encode_wav_f32, encode_wav_i16, MAX_SAMPLE_BYTES};
use keyboardia_core::{Instrument, Op, SampleId, Track, TrackId, MAX_TRACKS};
use keyboardia_engine::voice::MAX_SAMPLE_SLOTS;
use keyboardia_engine::SampleBuffer;

use crate::live::Live;
use crate::record::{RecordShared, Take};
use crate::session::SessionStore;

pub use keyboardia_ui::host::{AddOutcome, AddTakeError, Added, TRACK_CAP_NOTICE};

/// How long "Add Take to Grid" waits for the audio thread to copy a just-finished take out.
pub const TAKE_COPY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(2);

/// The sound a take becomes: its id, what the sampler plays, and (in a live session) the file
/// every player downloads.
pub struct TakeSound {
    pub id: SampleId,
    pub buffer: SampleBuffer,
    /// The WAV to upload; `None` when playing alone.
    pub wav: Option<Vec<u8>>,
}

/// The take as this player's sampler will hold it; see the module doc.
pub fn take_sound(take: &Take, live: bool) -> Result<TakeSound, AddTakeError> {
    if take.is_empty() {
        return Err(AddTakeError::Empty);
    }
    if !live {
        return Ok(TakeSound {
            id: new_sample_id(),
            buffer: SampleBuffer {
                frames: take.mono().into_boxed_slice(),
                sample_rate_hz: take.sample_rate_hz,
            },
            wav: None,
        });
    }
    let mono = take.mono();
    let rate = take.sample_rate_hz.round() as u32;
    let share = |e: keyboardia_core::audio::AudioError| AddTakeError::Share(e.to_string());
    let mut wav = encode_wav_f32(&mono, rate).map_err(share)?;
    if wav.len() > MAX_SAMPLE_BYTES {
        wav = encode_wav_i16(&mono, rate).map_err(share)?;
    }
    // What the others decode, so every player plays the same frames.
    let decoded = decode_wav(&wav).map_err(share)?;
    Ok(TakeSound {
        id: SampleId::for_content(&wav),
        buffer: SampleBuffer {
            frames: decoded.frames.into_boxed_slice(),
            sample_rate_hz: decoded.sample_rate_hz as f32,
        },
        wav: Some(wav),
    })
}

/// The takes service: adds takes to the grid, playing alone or shared with a live session.
pub struct Takes {
    /// Where the take's sound and its track go.
    store: Arc<SessionStore>,
    /// Shares the take when a live session is joined.
    live: Arc<Live>,
    /// What the last "Add Take to Grid" did, for the editor's record panel (taken once).
    added: Mutex<Option<AddOutcome>>,
}

impl Takes {
    /// The service over the plugin's store and live bridge.
    pub fn new(store: Arc<SessionStore>, live: Arc<Live>) -> Self {
        Self {
            store,
            live,
            added: Mutex::new(None),
        }
    }

    /// Makes `take` a sample of the session's sampler and adds an empty track named `name` that
    /// plays it, through `add_track(sample, name)` (the editor's undoable edit, or
    /// [`Takes::add_track`]). In a live session the take is shared (see the module doc). At the
    /// 16-track cap, with a full sampler or an empty take nothing changes.
    pub fn add_take(
        &self,
        take: &Take,
        name: &str,
        add_track: impl FnOnce(SampleId, &str) -> Result<TrackId, String>,
    ) -> Result<Added, AddTakeError> {
        add_take(&self.store, &self.live, take, name, add_track)
    }

    /// Adds an empty track at the end playing `sample`, sliced at `cuts` (frames into the
    /// sample), straight to the session (no undo entry): the "Add Take to Grid" parameter's
    /// way, with no editor around.
    pub fn add_track(
        &self,
        sample: SampleId,
        name: &str,
        cuts: &[usize],
    ) -> Result<TrackId, String> {
        add_track(&self.store, sample, name, cuts)
    }

    /// "Add Take to Grid" (off the audio thread): adds the newest take, sliced at its detected
    /// onsets (as the record panel would show them), waiting briefly for the audio thread to
    /// copy it out. The outcome is left for the editor's record panel ([`Takes::take_added`]).
    /// Once `give_up` is set (the plugin is being destroyed) it stops waiting and adds nothing.
    pub fn add_latest_take(&self, record: &RecordShared, give_up: &AtomicBool) {
        let outcome = match record.latest_take(TAKE_COPY_TIMEOUT, give_up) {
            None if give_up.load(Ordering::Acquire) => return,
            Some(take) => {
                let name = format!("Take {}", take.serial);
                let cuts = keyboardia_engine::onsets::detect(&take.mono(), take.sample_rate_hz);
                self.add_take(&take, &name, |id, name| self.add_track(id, name, &cuts))
                    .map(|added| (take.serial, added))
            }
            None => Err(AddTakeError::NoTake),
        };
        *self.added.lock().unwrap_or_else(|e| e.into_inner()) = Some(outcome);
    }

    /// Editor: what the last "Add Take to Grid" did, once.
    pub fn take_added(&self) -> Option<AddOutcome> {
        self.added.lock().unwrap_or_else(|e| e.into_inner()).take()
    }
}

fn add_take(
    store: &SessionStore,
    live: &Live,
    take: &Take,
    name: &str,
    add_track: impl FnOnce(SampleId, &str) -> Result<TrackId, String>,
) -> Result<Added, AddTakeError> {
    if take.is_empty() {
        return Err(AddTakeError::Empty);
    }
    if store.state().tracks.len() >= MAX_TRACKS {
        return Err(AddTakeError::TrackCap);
    }
    let joined = live.is_joined();
    let sound = take_sound(take, joined)?;
    store
        .load_sample(sound.id.clone(), sound.buffer)
        .ok_or(AddTakeError::SamplerFull {
            slots: MAX_SAMPLE_SLOTS,
        })?;
    // The upload is queued before the track's edit, so the sync thread starts it first.
    if let Some(wav) = sound.wav {
        let id = live.share_take(name, wav).map_err(AddTakeError::Share)?;
        debug_assert_eq!(id, sound.id);
    }
    let track = add_track(sound.id.clone(), name).map_err(AddTakeError::Track)?;
    Ok(Added {
        track,
        sample: sound.id,
        shared: joined,
    })
}

fn add_track(
    store: &SessionStore,
    sample: SampleId,
    name: &str,
    cuts: &[usize],
) -> Result<TrackId, String> {
    let state = store.state();
    let keys = std::collections::hash_map::RandomState::new();
    let mut n = 0u64;
    let id = loop {
        let mut h = keys.build_hasher();
        h.write_u64(n);
        let id = TrackId::from_random(h.finish());
        if state.track(id).is_none() {
            break id;
        }
        n += 1;
    };
    let mut track = Track::new(
        id,
        keyboardia_core::edit::clean_name(name),
        Instrument::Sample(sample),
    );
    track.cuts = keyboardia_core::edit::clean_cuts(cuts);
    let op = Op::AddTrack {
        track: Box::new(track),
        index: None,
    };
    store
        .apply(&op)
        .map_err(|e| format!("The track was not added: {e}"))?;
    Ok(id)
}

/// A fresh id for a take played alone (`rec-` and 16 random hex digits).
pub fn new_sample_id() -> SampleId {
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64),
    );
    format!("rec-{}", hex::encode(h.finish().to_be_bytes()))
        .parse()
        .expect("rec- and hex digits make a valid sample id")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_footswitch_track_is_sliced_at_the_takes_onsets() {
        let store = Arc::new(SessionStore::default());
        let takes = Takes::new(store.clone(), Arc::new(Live::new(&store)));
        // Three decaying bursts in a second of silence.
        let hits = [4_800usize, 19_200, 33_600];
        let mut left = vec![0.0f32; 48_000];
        for &at in &hits {
            for k in 0..400 {
                let sign = if k % 2 == 0 { 1.0 } else { -1.0 };
                left[at + k] = sign * 0.8 * (1.0 - k as f32 / 400.0);
            }
        }
        let take = Take {
            serial: 7,
            right: left.clone(),
            left,
            sample_rate_hz: 48_000.0,
        };
        let cuts = keyboardia_engine::onsets::detect(&take.mono(), take.sample_rate_hz);
        let added = takes
            .add_take(&take, "Take 7", |id, name| takes.add_track(id, name, &cuts))
            .unwrap();
        let state = store.state();
        let track = state.track(added.track).expect("the new track");
        assert_eq!(track.instrument, Instrument::Sample(added.sample));
        assert_eq!(track.cuts.len(), hits.len(), "{:?}", track.cuts);
        for (cut, hit) in track.cuts.iter().zip(hits) {
            assert!(
                (*cut as i64 - hit as i64).abs() <= 240,
                "cut {cut} is not within 5 ms of the hit at {hit}"
            );
        }
    }
}
