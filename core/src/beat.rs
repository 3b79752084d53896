//! Beats: immutable snapshots of a session, published to be listened to and remixed (the seed's
//! phase 10). A session is a workspace that keeps changing; a beat is what its makers chose to
//! share, frozen: `/b/{id}` plays it read-only, and a remix starts a new session from it.
//!
//! Core holds the rules (what a beat is, what a publish request may say, what a remix makes);
//! the Worker stores beats in KV and pins their samples in R2.

use serde::{Deserialize, Serialize};

use crate::error::OpError;
use crate::model::{BeatId, Instrument, SampleId, Session, SessionId, SessionState};
use crate::schema::{migrate_state, SchemaError};

/// Longest beat name, in bytes (a title, so longer than a track's name).
pub const BEAT_NAME_MAX_BYTES: usize = 64;
/// Largest body of a publish request (an optional name).
pub const MAX_PUBLISH_BODY_BYTES: usize = 1024;
/// How long a beat published without signing in is kept: 90 days, whatever happens to its
/// session. A signed-in creator's beats are kept for good.
pub const ANONYMOUS_BEAT_TTL_SECONDS: u64 = 90 * 24 * 3600;

/// A published beat: the state of a session at the moment it was published, never changed.
/// Unknown fields are ignored (not refused), so apps of earlier builds still read beats that
/// carry fields added since (`creatorName`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Beat {
    /// The beat's id: its link.
    pub id: BeatId,
    /// The session it was published from (which may have changed or expired since).
    pub source_session_id: SessionId,
    /// Milliseconds since the Unix epoch.
    pub created_at: u64,
    /// The publisher's user id, when signed in (accounts).
    #[serde(default)]
    pub created_by: Option<String>,
    /// The publisher's display name when it was published (what a beat shows as its creator:
    /// never the user id or the address). Absent for anonymous beats, so their JSON is what it
    /// was before names existed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub creator_name: Option<String>,
    /// The title its publisher gave, if any.
    #[serde(default)]
    pub name: Option<String>,
    /// The frozen state, seed included, so every listener hears the same hits.
    pub state: SessionState,
}

/// One line of a session's beat history.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BeatSummary {
    pub id: BeatId,
    #[serde(default)]
    pub name: Option<String>,
    /// Milliseconds since the Unix epoch.
    pub created_at: u64,
    /// When the beat expires, in milliseconds since the Unix epoch; `null`: kept for good (a
    /// signed-in creator's). See [`Beat::ttl_seconds`].
    #[serde(default)]
    pub expires_at: Option<u64>,
    /// The creator's display name ([`Beat::creator_name`]), for the history list.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub creator_name: Option<String>,
}

/// The body of a publish request: everything optional (an empty body publishes an unnamed beat).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PublishBeat {
    /// A title: 1 to [`BEAT_NAME_MAX_BYTES`] bytes without control characters (blank means none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

impl PublishBeat {
    /// The name to store: trimmed, `None` when blank; refused when too long or with control
    /// characters.
    pub fn clean_name(&self) -> Result<Option<String>, OpError> {
        let Some(name) = self.name.as_deref().map(str::trim) else {
            return Ok(None);
        };
        if name.len() > BEAT_NAME_MAX_BYTES || name.chars().any(char::is_control) {
            return Err(OpError::InvalidName);
        }
        Ok((!name.is_empty()).then(|| name.to_owned()))
    }
}

impl Beat {
    /// Publishes `session`'s current state as beat `id` at `now_ms`.
    pub fn publish(
        id: BeatId,
        session: &Session,
        now_ms: u64,
        name: Option<String>,
        created_by: Option<String>,
    ) -> Self {
        Self {
            id,
            source_session_id: session.id,
            created_at: now_ms,
            created_by,
            creator_name: None,
            name,
            state: session.state.clone(),
        }
    }

    /// A new editable session `id` from this beat, its lineage naming the beat. It keeps the
    /// beat's seed, so the remix starts out sounding exactly like the beat.
    pub fn remix(&self, id: SessionId, now_ms: u64) -> Session {
        Session {
            remixed_from: Some(self.id),
            ..Session::new(id, now_ms, self.state.clone())
        }
    }

    /// Who the beat shows as its creator: the display name it was published under (`None`:
    /// published without signing in).
    pub fn byline(&self) -> Option<&str> {
        self.created_by.as_ref().and(self.creator_name.as_deref())
    }

    /// The line for the session's beat history.
    pub fn summary(&self) -> BeatSummary {
        BeatSummary {
            id: self.id,
            name: self.name.clone(),
            created_at: self.created_at,
            expires_at: self
                .ttl_seconds()
                .map(|ttl| self.created_at.saturating_add(ttl.saturating_mul(1000))),
            creator_name: self.creator_name.clone(),
        }
    }

    /// How long the store keeps the beat, in seconds: [`ANONYMOUS_BEAT_TTL_SECONDS`] when it
    /// was published without signing in, `None` (for good) when a signed-in user created it.
    pub fn ttl_seconds(&self) -> Option<u64> {
        self.created_by
            .is_none()
            .then_some(ANONYMOUS_BEAT_TTL_SECONDS)
    }

    /// The shared samples the beat plays (each once, in track order): the ones to pin.
    pub fn sample_ids(&self) -> Vec<SampleId> {
        let mut ids: Vec<SampleId> = Vec::new();
        for track in &self.state.tracks {
            if let Instrument::Sample(id) = &track.instrument {
                if !ids.contains(id) {
                    ids.push(id.clone());
                }
            }
        }
        ids
    }
}

/// Reads a stored beat, migrating its state from older schema versions.
pub fn beat_from_json(bytes: &[u8]) -> Result<Beat, SchemaError> {
    let mut doc: serde_json::Value =
        serde_json::from_slice(bytes).map_err(|e| SchemaError::Json(e.to_string()))?;
    if let Some(state) = doc.get_mut("state") {
        migrate_state(state)?;
    }
    let beat: Beat = serde_json::from_value(doc).map_err(|e| SchemaError::Json(e.to_string()))?;
    beat.state.validate()?;
    Ok(beat)
}

/// A beat as stored and served.
pub fn beat_to_json(beat: &Beat) -> String {
    serde_json::to_string(beat).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn session() -> Session {
        Session::new(
            SessionId::from_random_bytes([1; 16]),
            10,
            SessionState::demo(),
        )
    }

    #[test]
    fn publish_freezes_the_state_and_remix_names_the_beat() {
        let mut s = session();
        let beat = Beat::publish(
            BeatId::from_random_bytes([2; 16]),
            &s,
            20,
            Some("Friday".into()),
            None,
        );
        s.state.tempo = 99.0;
        assert_ne!(beat.state, s.state, "the beat does not follow its session");
        let text = beat_to_json(&beat);
        assert_eq!(beat_from_json(text.as_bytes()).unwrap(), beat);
        let remix = beat.remix(SessionId::from_random_bytes([3; 16]), 30);
        assert_eq!(remix.remixed_from, Some(beat.id));
        assert_eq!(remix.forked_from, None);
        assert_eq!(remix.state, beat.state, "the seed comes along");
        let doc = crate::schema::session_to_json(&remix);
        assert!(
            doc.contains(&format!("\"remixedFrom\":\"{}\"", beat.id)),
            "{doc}"
        );
        let back = crate::schema::session_from_json(doc.as_bytes()).unwrap();
        assert_eq!(back, remix);
        assert_eq!(beat.summary().name.as_deref(), Some("Friday"));
    }

    #[test]
    fn anonymous_beats_expire_and_a_signed_in_creators_are_kept() {
        let publish = |by: Option<&str>| {
            Beat::publish(
                BeatId::from_random_bytes([2; 16]),
                &session(),
                1_000,
                None,
                by.map(str::to_owned),
            )
        };
        let anonymous = publish(None);
        assert_eq!(anonymous.ttl_seconds(), Some(ANONYMOUS_BEAT_TTL_SECONDS));
        assert_eq!(
            anonymous.summary().expires_at,
            Some(1_000 + ANONYMOUS_BEAT_TTL_SECONDS * 1000)
        );
        assert_eq!(anonymous.byline(), None);
        let text = beat_to_json(&anonymous);
        assert!(!text.contains("creatorName"), "{text}");
        let mut signed_in = publish(Some("u-ada"));
        assert_eq!(signed_in.ttl_seconds(), None);
        assert_eq!(signed_in.summary().expires_at, None);
        signed_in.creator_name = Some("ada".into());
        assert_eq!(signed_in.byline(), Some("ada"));
        assert_eq!(signed_in.summary().creator_name.as_deref(), Some("ada"));
        let back = beat_from_json(beat_to_json(&signed_in).as_bytes()).unwrap();
        assert_eq!(back, signed_in);
        // A field from a later build is ignored, not refused.
        let mut doc: serde_json::Value = serde_json::from_str(&beat_to_json(&signed_in)).unwrap();
        doc["addedLater"] = serde_json::json!(1);
        assert_eq!(
            beat_from_json(doc.to_string().as_bytes()).unwrap(),
            signed_in
        );
    }

    #[test]
    fn names_are_trimmed_and_bounded() {
        let named = |n: &str| PublishBeat {
            name: Some(n.into()),
        };
        assert_eq!(named("  Loop 1 ").clean_name(), Ok(Some("Loop 1".into())));
        assert_eq!(named("   ").clean_name(), Ok(None));
        assert_eq!(PublishBeat::default().clean_name(), Ok(None));
        assert_eq!(named("a\u{7}b").clean_name(), Err(OpError::InvalidName));
        let long = "x".repeat(BEAT_NAME_MAX_BYTES + 1);
        assert_eq!(named(&long).clean_name(), Err(OpError::InvalidName));
    }

    #[test]
    fn stored_beats_are_validated() {
        let beat = Beat::publish(
            BeatId::from_random_bytes([2; 16]),
            &session(),
            1,
            None,
            None,
        );
        let mut doc: serde_json::Value = serde_json::from_str(&beat_to_json(&beat)).unwrap();
        doc["state"]["tempo"] = serde_json::json!(1e9);
        assert!(beat_from_json(doc.to_string().as_bytes()).is_err());
        assert!(beat_from_json(b"{").is_err());
        assert!("not-a-uuid".parse::<BeatId>().is_err());
        let id = BeatId::from_random_bytes([9; 16]);
        assert_eq!(id.to_string().parse::<BeatId>(), Ok(id));
    }
}
