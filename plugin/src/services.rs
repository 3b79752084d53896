//! The composition root: the one object that owns the plugin's services and wires them
//! together. The plugin struct owns it; each part gets exactly the handles it needs from it.
//!
//! - [`SessionStore`]: the session, the sampler's samples and the queues to the audio thread.
//! - [`Live`]: the live-session bridge (the room's state goes into the store; every edit the
//!   store accepts goes to the room).
//! - [`RecordShared`]: the editor's side of the recorder (the audio thread's side is returned
//!   by [`Services::new`]).
//! - [`Takes`]: adds recorded takes to the grid, shared with a live session when joined.
//! - [`Jobs`]: the thread `process()` hands "Add Take to Grid" and a live session's pattern
//!   cues, song mode and fill to (the audio thread's end,
//!   [`JobPoster`], is returned by [`Services::new`]).
//! - [`PluginAccount`]: signing in, claiming and locking; its tokens live in the user's config
//!   directory, shared with [`Live`]'s connections, never in the saved state.
//!
//! The saved state is plain data in [`KeyboardiaParams`]; [`Services::new`] installs the hooks
//! through which the services keep it up to date and take what the host restores (see
//! [`crate::persist`]).

use std::sync::Arc;

use keyboardia_sync::auth::SignedIn;

use crate::account::PluginAccount;
use crate::jobs::{JobPoster, Jobs};
use crate::live::Live;
use crate::params::KeyboardiaParams;
use crate::record::{self, Capture, RecordShared};
use crate::samples::{decode_samples, SampleSaver};
use crate::session::{AudioSide, SessionStore};
use crate::takes::Takes;

/// The plugin's services (see the module doc).
pub struct Services {
    /// The thread `process()` hands work to (see [`crate::jobs`]); stopped first on drop.
    pub jobs: Jobs,
    /// The session every edit goes through.
    pub store: Arc<SessionStore>,
    /// The live-session bridge.
    pub live: Arc<Live>,
    /// The recorder as the editor and the takes service see it.
    pub record: Arc<RecordShared>,
    /// Adds takes to the grid.
    pub takes: Arc<Takes>,
    /// Publish, history, open read-only, remix (kept here so a beat shown outlives the window).
    pub beats: Arc<crate::beats::PluginBeats>,
    /// Sign-in, claim and lock (kept here so a sign-in in progress outlives the window).
    pub account: Arc<PluginAccount>,
}

/// What only the audio thread uses: the ends of the store's queues and the capture buffer.
pub struct AudioEnds {
    /// Patterns and samples from the store.
    pub audio: Option<AudioSide>,
    /// The recorder's capture buffer.
    pub capture: Capture,
    /// Posts work to the services' job thread.
    pub jobs: JobPoster,
}

impl Services {
    /// The services, wired to each other and to `params`' persisted fields, and the audio
    /// thread's ends.
    pub fn new(params: &KeyboardiaParams) -> (Self, AudioEnds) {
        let (signed_in, error) = PluginAccount::kept_identity();
        let opener = crate::account::default_opener();
        let (services, ends) = Self::with_account(params, signed_in, opener);
        if let Some(e) = error {
            services.account.report(e);
        }
        (services, ends)
    }

    /// As [`Services::new`], with the identity `signed_in` (and where it keeps its tokens), and
    /// `opener` to show the sign-in page.
    pub fn with_account(
        params: &KeyboardiaParams,
        signed_in: SignedIn,
        opener: crate::account::Opener,
    ) -> (Self, AudioEnds) {
        let store = Arc::new(SessionStore::default());
        let live = Arc::new(Live::with_sign_in(&store, signed_in));
        // Every accepted local edit goes to the live session, if one is joined.
        let weak = Arc::downgrade(&live);
        store.set_listener(Some(Box::new(move |op| {
            if let Some(live) = weak.upgrade() {
                live.forward(op);
            }
        })));
        let (record, capture) = record::new();
        let takes = Arc::new(Takes::new(store.clone(), live.clone()));
        let audio = store.take_audio_side();
        let (jobs, poster) = Jobs::spawn(takes.clone(), record.clone(), live.clone());
        let beats = Arc::new(crate::beats::PluginBeats::new(store.clone(), live.clone()));
        let account = Arc::new(PluginAccount::new(
            live.clone(),
            keyboardia_sync::DEFAULT_SERVER,
            opener,
        ));
        let services = Self {
            jobs,
            store,
            live,
            record,
            takes,
            beats,
            account,
        };
        services.persist_in(params);
        (
            services,
            AudioEnds {
                audio,
                capture,
                jobs: poster,
            },
        )
    }

    /// Installs the hooks of `params`' persisted fields (the services hold no parameters; the
    /// fields hold the services weakly).
    fn persist_in(&self, params: &KeyboardiaParams) {
        let (a, b) = (Arc::downgrade(&self.store), Arc::downgrade(&self.store));
        params.session.set_hooks(
            Box::new(move || a.upgrade().map(|s| s.json()).unwrap_or_default()),
            // A document that does not load leaves the session as it was.
            Box::new(move |json: &String| {
                if let Some(store) = b.upgrade() {
                    let _ = store.load_json(json);
                }
            }),
        );
        let (a, b) = (Arc::downgrade(&self.store), Arc::downgrade(&self.store));
        let saver = SampleSaver::default();
        params.samples.set_hooks(
            Box::new(move || {
                let used = a.upgrade().map(|s| s.used_samples()).unwrap_or_default();
                saver.json(used)
            }),
            // Each sample that decodes goes to the sampler, as a take added to the grid would.
            Box::new(move |json: &String| {
                if let Some(store) = b.upgrade() {
                    for (id, buffer) in decode_samples(json) {
                        let _ = store.load_sample(id, buffer);
                    }
                }
            }),
        );
        let (a, b) = (Arc::downgrade(&self.live), Arc::downgrade(&self.live));
        params.live.set_hooks(
            Box::new(move || a.upgrade().and_then(|l| l.saved_or_restored())),
            // Joined once the plugin is activated (see `Live::rejoin_restored`).
            Box::new(move |joined| {
                if let Some(live) = b.upgrade() {
                    live.set_restored(joined.clone());
                }
            }),
        );
    }
}

impl Drop for Services {
    fn drop(&mut self) {
        // No job runs on once the plugin is gone (see `jobs`).
        self.jobs.stop();
        // Stops the sync thread (it holds the store only weakly).
        self.live.leave();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::samples::decode_samples;
    use crate::samples::tests::{bits_of, render_peak, take_frames};
    use base64::Engine as _;
    use keyboardia_core::{Instrument, SampleId, SessionState};
    use keyboardia_engine::SampleBuffer;
    use nice_plug::params::persist::PersistentField;
    use nice_plug::params::Params;

    /// Parameters with their services, as the plugin holds them.
    fn plugin() -> (KeyboardiaParams, Services, AudioEnds) {
        let params = KeyboardiaParams::default();
        let (services, ends) = Services::new(&params);
        (params, services, ends)
    }

    #[test]
    fn the_session_is_saved_and_restored_through_the_store() {
        let (a, sa, _) = plugin();
        let saved = a.serialize_fields();
        assert_eq!(
            serde_json::from_str::<String>(&saved["session"]).unwrap(),
            sa.store.json()
        );
        let tr = sa.store.state().tracks[0].id;
        sa.store
            .apply(&keyboardia_core::Op::SetStep {
                pt: keyboardia_core::PatternId::A,
                tr,
                s: 1,
                on: true,
            })
            .unwrap();
        let edited = a.serialize_fields();
        assert_ne!(edited["session"], saved["session"]);
        let (b, sb, _) = plugin();
        b.deserialize_fields(&edited);
        assert_eq!(sb.store.state(), sa.store.state());
        assert_eq!(b.serialize_fields(), edited);
        // A bad document is refused and changes nothing.
        PersistentField::set(&b.session, "{ not json".to_string());
        assert_eq!(b.serialize_fields(), edited);
    }

    #[test]
    fn held_samples_are_saved_with_the_state_and_come_back_bit_exact_and_audible() {
        let id: SampleId = "rec-odd".parse().unwrap();
        let unused: SampleId = "rec-unused".parse().unwrap();
        let frames = take_frames(24_000, None);
        let (a, sa, _) = plugin();
        let mut state = SessionState::demo();
        state.tracks[0].instrument = Instrument::Sample(id.clone());
        state.tracks[0].steps[0].on = true;
        sa.store.replace_state(state.clone());
        let buffer = SampleBuffer {
            frames: frames.clone().into_boxed_slice(),
            sample_rate_hz: 44_100.0,
        };
        sa.store
            .load_sample(
                unused.clone(),
                SampleBuffer {
                    frames: vec![0.5; 10].into(),
                    sample_rate_hz: 48_000.0,
                },
            )
            .unwrap();
        sa.store.load_sample(id.clone(), buffer).unwrap();
        let saved = a.serialize_fields();
        assert!(saved["samples"].contains("rec-odd"));
        assert!(
            !saved["samples"].contains("rec-unused"),
            "unused samples are dropped"
        );

        // A fresh instance restores the state: the sampler holds the same bits at the same rate
        // (but for the odd values the store flushes: denormals and −0.0 are 0.0).
        let (b, sb, mut ends) = plugin();
        let mut audio = ends.audio.take().unwrap();
        b.deserialize_fields(&saved);
        assert_eq!(sb.store.state(), state);
        assert_eq!(sb.store.sample_ids(), vec![id.clone()]);
        let msg = audio
            .samples
            .pop()
            .expect("the saved sample reaches the sampler");
        let restored = msg.buffer.expect("a sample, not a clear");
        let held: Vec<f32> = frames.iter().map(|&x| crate::flush::clean(x)).collect();
        assert_eq!(bits_of(&restored.frames), bits_of(&held));
        assert_eq!(restored.sample_rate_hz.to_bits(), 44_100.0f32.to_bits());

        // The track plays it.
        let pattern = sb.store.pattern();
        assert_eq!(
            pattern.tracks[0].patch,
            Some(keyboardia_engine::Patch::Sample(msg.slot as u8))
        );
        assert!(
            render_peak(&pattern, msg.slot, restored) > 0.05,
            "the restored track is audible"
        );

        // Save → load → save is byte-identical (and saving again, from the cache, too).
        assert_eq!(b.serialize_fields(), saved);
        assert_eq!(b.serialize_fields(), saved);
        assert_eq!(a.serialize_fields(), saved);
        // A new buffer under the same id is saved anew, not from the cache.
        let other = SampleBuffer {
            frames: vec![0.25; 7].into(),
            sample_rate_hz: 48_000.0,
        };
        sa.store.load_sample(id.clone(), other).unwrap();
        let resaved = a.serialize_fields();
        assert_ne!(resaved["samples"], saved["samples"]);
        let json: String = serde_json::from_str(&resaved["samples"]).unwrap();
        assert_eq!(
            bits_of(&decode_samples(&json)[0].1.frames),
            bits_of(&[0.25; 7])
        );
    }

    #[test]
    fn a_state_without_samples_or_with_bad_ones_loads_the_rest() {
        let (p, sp, _) = plugin();
        assert_eq!(p.serialize_fields()["samples"], r#""[]""#);
        PersistentField::set(&p.samples, "{ not json".to_string());
        PersistentField::set(
            &p.samples,
            r#"[{"id":"x","rate":48000.0,"frames":3,"data":"AAAA"}]"#.to_string(),
        );
        PersistentField::set(&p.samples, r#"[{"id":"x","wav":"AAAA"}]"#.to_string());
        // A stereo WAV is not a sampler's sound.
        let stereo =
            keyboardia_core::audio::encode_wav_stereo_f32(&[0.5; 4], &[0.5; 4], 48_000).unwrap();
        let packed = miniz_oxide::deflate::compress_to_vec(&stereo, 6);
        let wav = base64::engine::general_purpose::STANDARD.encode(packed);
        PersistentField::set(&p.samples, format!(r#"[{{"id":"x","wav":"{wav}"}}]"#));
        assert!(sp.store.sample_ids().is_empty());
    }
}
