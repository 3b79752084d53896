//! Versioned documents and the migration path.
//!
//! A session state carries `version`. This build writes [`SCHEMA_VERSION`] (2) and reads:
//! - version 2 as is;
//! - version 1 (before sessions stored their dice seed): the same document, with
//!   `"seed"` set to [`DEFAULT_SEED`] (`"4b6579626f617264"`, the seed every engine used then,
//!   so an old session keeps its hits);
//! - version 0 (with [`DEFAULT_SEED`] too): the web original's document (`steps` as a boolean array, `parameterLocks` as an
//!   array of `{pitch, volume}` or null, `sampleId`, track-level `transpose` and `muted`), so
//!   sessions made in the browser app open in the plugin.
//!
//! Features added since version 2 add keys that are left out while unused, without a version
//! bump, so a document that uses none of them reads and writes byte-identically, and an older
//! build refuses one that does (every object of the document denies unknown fields) rather
//! than dropping what it cannot play: trig conditions (a step detail's `"cd"`), a track's own
//! swing (`"swing"` in a track), effects (a track's `"fx"`, the session's `"fx"`, and a step
//! detail's cutoff and send locks `"hz"`, `"rv"`, `"dl"`).
//!
//! A newer version than this build knows is refused, never guessed at. Every load ends with
//! [`SessionState::validate`], so a loaded document always keeps every invariant.

use serde_json::Value;

use crate::error::OpError;
use crate::model::*;

/// Why a document could not be loaded.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum SchemaError {
    #[error("not valid JSON: {0}")]
    Json(String),
    #[error("document too large: {0} bytes")]
    TooLarge(usize),
    #[error("schema version {0} is newer than this build")]
    FromTheFuture(u32),
    #[error("invalid document: {0}")]
    Invalid(#[from] OpError),
}

/// The largest session document accepted. A typical session is under 8 KB; the worst one, 16
/// tracks with every step of all 8 patterns on and every lock set, is about 1.05 MB
/// (`core/tests/patterns.rs` builds it). Below the 2 MB a Durable Object's SQLite row takes.
pub const MAX_DOCUMENT_BYTES: usize = 1536 * 1024;

/// Loads a whole session (REST body, KV value, plugin state), migrating old versions.
pub fn session_from_json(bytes: &[u8]) -> Result<Session, SchemaError> {
    let mut doc = parse(bytes)?;
    if let Some(state) = doc.get_mut("state") {
        migrate_state(state)?;
    }
    let session: Session =
        serde_json::from_value(doc).map_err(|e| SchemaError::Json(e.to_string()))?;
    session.validate()?;
    Ok(session)
}

/// Loads a session state on its own (the body of a save), migrating old versions.
pub fn state_from_json(bytes: &[u8]) -> Result<SessionState, SchemaError> {
    let mut doc = parse(bytes)?;
    migrate_state(&mut doc)?;
    let state: SessionState =
        serde_json::from_value(doc).map_err(|e| SchemaError::Json(e.to_string()))?;
    state.validate()?;
    Ok(state)
}

/// Serializes a session. Loading the result gives back an equal session, and serializing that
/// gives the same bytes.
pub fn session_to_json(session: &Session) -> String {
    serde_json::to_string(session).unwrap_or_default()
}

fn parse(bytes: &[u8]) -> Result<Value, SchemaError> {
    if bytes.len() > MAX_DOCUMENT_BYTES {
        return Err(SchemaError::TooLarge(bytes.len()));
    }
    serde_json::from_slice(bytes).map_err(|e| SchemaError::Json(e.to_string()))
}

/// Upgrades a state document in place to [`SCHEMA_VERSION`].
pub fn migrate_state(state: &mut Value) -> Result<(), SchemaError> {
    let version = match state.get("version") {
        None => 0,
        Some(v) => v
            .as_u64()
            .and_then(|v| u32::try_from(v).ok())
            .ok_or_else(|| SchemaError::Json("version must be a small integer".into()))?,
    };
    match version {
        0 => v0_to_current(state),
        1 => v1_to_v2(state),
        SCHEMA_VERSION => Ok(()),
        v => Err(SchemaError::FromTheFuture(v)),
    }
}

fn bad(msg: &str) -> SchemaError {
    SchemaError::Json(format!("version 0 document: {msg}"))
}

/// The web original's sample names, mapped onto today's sounds.
fn v0_instrument(sample_id: &str) -> Instrument {
    if let Ok(i) = sample_id.parse::<Instrument>() {
        return i;
    }
    let sound = match sample_id {
        "hihat" | "hat" | "closedhat" => BuiltinSound::ClosedHat,
        "openhat" => BuiltinSound::OpenHat,
        "tom" | "lowtom" => BuiltinSound::LowTom,
        "hightom" | "conga" => BuiltinSound::HighTom,
        "clave" | "woodblock" => BuiltinSound::Rim,
        "tambourine" | "cabasa" => BuiltinSound::Shaker,
        "bass" | "subbass" => BuiltinSound::SubBass,
        "lead" | "chord" => BuiltinSound::Stab,
        "pluck" | "pad" => BuiltinSound::Bell,
        "noise" => BuiltinSound::Riser,
        _ => {
            return match sample_id
                .strip_prefix("synth:")
                .and_then(SynthPreset::from_id)
            {
                Some(p) => Instrument::Synth(p),
                None => Instrument::Sound(BuiltinSound::Kick),
            }
        }
    };
    Instrument::Sound(sound)
}

/// A stable id for an old free-form id: kept when valid, else derived from its bytes (FNV-1a),
/// hashed again until the id is free. A missing or empty id hashes one zero byte: hashing no
/// bytes would give the same id forever, and a second track without an id hung the migration.
fn v0_track_id(old: &str, taken: &[TrackId]) -> TrackId {
    if let Ok(id) = old.parse::<TrackId>() {
        if !taken.contains(&id) {
            return id;
        }
    }
    let bytes = if old.is_empty() {
        &[0u8][..]
    } else {
        old.as_bytes()
    };
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    loop {
        for &b in bytes {
            h = (h ^ b as u64).wrapping_mul(0x100_0000_01b3);
        }
        let id = TrackId::from_random(h);
        if !taken.contains(&id) {
            return id;
        }
    }
}

/// Version 1 → 2: the session's seed, [`DEFAULT_SEED`] (what every engine played then).
fn v1_to_v2(state: &mut Value) -> Result<(), SchemaError> {
    let obj = state
        .as_object_mut()
        .ok_or_else(|| SchemaError::Json("state is not an object".into()))?;
    obj.insert("version".into(), Value::from(2));
    obj.entry("seed")
        .or_insert_with(|| Value::from(hex::encode(DEFAULT_SEED.to_be_bytes())));
    Ok(())
}

fn v0_to_current(state: &mut Value) -> Result<(), SchemaError> {
    let obj = state
        .as_object_mut()
        .ok_or_else(|| bad("state is not an object"))?;
    // The web original always wrote tracks, tempo and swing: a document without tracks is not a
    // session of any version, and a wrong type is corruption, not a default.
    let number = |k: &str, default: f64| match obj.get(k) {
        None => Ok(default),
        Some(v) => v
            .as_f64()
            .ok_or_else(|| bad(&format!("{k} is not a number"))),
    };
    let tempo = number("tempo", DEFAULT_TEMPO)?;
    let swing = number("swing", 0.0)?;
    let old_tracks = match obj.get("tracks") {
        Some(Value::Array(a)) => a.clone(),
        Some(_) => return Err(bad("tracks is not an array")),
        None => return Err(bad("no tracks")),
    };
    let mut tracks: Vec<Track> = Vec::new();
    for t in old_tracks.iter().take(MAX_TRACKS) {
        let t = t.as_object().ok_or_else(|| bad("track is not an object"))?;
        let str_of = |k: &str| t.get(k).and_then(Value::as_str).unwrap_or("");
        let taken: Vec<TrackId> = tracks.iter().map(|t| t.id).collect();
        let id = v0_track_id(str_of("id"), &taken);
        let instrument = v0_instrument(str_of("sampleId"));
        let mut name: String = str_of("name").chars().filter(|c| !c.is_control()).collect();
        while name.len() > NAME_MAX_BYTES {
            name.pop();
        }
        let mut track = Track::new(id, name, instrument);
        if let Some(v) = t.get("volume").and_then(Value::as_f64) {
            track.volume = (v as f32).clamp(0.0, 1.0);
        }
        let count = t.get("stepCount").and_then(Value::as_u64).unwrap_or(16);
        track.step_count = count.clamp(1, MAX_STEPS as u64) as u8;
        let transpose = t.get("transpose").and_then(Value::as_i64).unwrap_or(0);
        let steps = t.get("steps").and_then(Value::as_array);
        let locks = t.get("parameterLocks").and_then(Value::as_array);
        for i in 0..MAX_STEPS {
            let step = &mut track.steps[i];
            step.on = steps
                .and_then(|s| s.get(i))
                .and_then(Value::as_bool)
                .unwrap_or(false);
            let lock = locks.and_then(|l| l.get(i)).and_then(Value::as_object);
            let pitch = lock
                .and_then(|l| l.get("pitch"))
                .and_then(Value::as_i64)
                .unwrap_or(0)
                .saturating_add(transpose);
            if pitch != 0 {
                step.locks.pitch = Some(pitch.clamp(-24, 24) as i8);
            }
            if let Some(v) = lock.and_then(|l| l.get("volume")).and_then(Value::as_f64) {
                step.locks.volume = Some((v as f32).clamp(0.0, 1.0));
            }
        }
        tracks.push(track);
    }
    let new = SessionState {
        version: SCHEMA_VERSION,
        tempo: if tempo.is_finite() {
            tempo.clamp(60.0, 180.0)
        } else {
            DEFAULT_TEMPO
        },
        swing: if swing.is_finite() {
            swing.clamp(0.0, 100.0)
        } else {
            0.0
        },
        seed: DEFAULT_SEED,
        tracks,
        fx: SessionFx::default(),
        song: Vec::new(),
        switch_at: Default::default(),
    };
    *state = serde_json::to_value(&new).map_err(|e| SchemaError::Json(e.to_string()))?;
    Ok(())
}
