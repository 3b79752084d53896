//! A live session's storage in its Durable Object's SQLite: the document as of some sequence
//! number, the op log after it, the timeline, and the sequence number last written to KV.
//!
//! - `room`: one row, the session document ([`session_to_json`]) including every op up to
//!   `seq`, the timeline (JSON) and `kv_seq`.
//! - `ops`: one small row per acknowledged edit after the document (`seq`, the edit's
//!   broadcast text, the time it was applied), appended before anything reveals it. Folding the
//!   log into the document ([`Store::compact`]) rewrites the row and deletes the entries it
//!   covers: every [`COMPACT_OPS`] edits (`LIVE_COMPACT_OPS`), when KV is written (the alarm,
//!   the last player leaving), and whenever a change is not an edit (a save, a claim, a lock).
//!
//! Loading replays the entries after the document's `seq` in order ([`LoggedEdit::replay`]),
//! so every acknowledged edit survives an eviction, a restart or a SIGKILL. Documents written
//! before the log existed load unchanged (their log is empty).

use std::sync::Arc;

use js_sys::JsString;
use keyboardia_core::clock::Timeline;
use keyboardia_core::room::{LoggedEdit, Room};
use keyboardia_core::schema::{session_from_json, session_to_json};
use keyboardia_core::Session;
use serde::Deserialize;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use worker::{SqlStorage, SqlStorageValue};

use super::http::ApiResult;
use crate::api_error::ApiError;

const ROOM_SCHEMA: &str = "CREATE TABLE IF NOT EXISTS room (
    k INTEGER PRIMARY KEY CHECK (k = 0),
    session TEXT NOT NULL,
    seq INTEGER NOT NULL,
    timeline TEXT NOT NULL,
    kv_seq INTEGER NOT NULL
)";

const OPS_SCHEMA: &str = "CREATE TABLE IF NOT EXISTS ops (
    seq INTEGER PRIMARY KEY,
    entry TEXT NOT NULL,
    at REAL NOT NULL
)";

const APPEND: &str = "INSERT OR REPLACE INTO ops (seq, entry, at) VALUES (?, ?, ?)";

/// The edits logged between compactions by default (`LIVE_COMPACT_OPS` overrides it): a load
/// replays at most this many, and a compaction's whole-document write is spread over them.
pub const COMPACT_OPS: u64 = 256;

#[wasm_bindgen]
extern "C" {
    /// The runtime's `ctx.storage.sql`, for the one hot statement: workers-rs's `exec` builds
    /// an array and converts the query text on every call.
    #[wasm_bindgen(extends = js_sys::Object)]
    type RawSql;

    #[wasm_bindgen(method, catch, js_name = exec)]
    fn exec3(
        this: &RawSql,
        query: &JsString,
        a: f64,
        b: &JsValue,
        c: f64,
    ) -> Result<JsValue, JsValue>;
}

/// The one row of the `room` table (numbers come back from SQLite as JavaScript numbers).
#[derive(Deserialize)]
struct Row {
    /// The session document ([`session_to_json`]).
    session: String,
    /// The room's sequence number the document includes.
    seq: f64,
    /// The shared transport timeline (JSON).
    timeline: String,
    /// The sequence number last written to KV.
    kv_seq: f64,
}

/// One row of the `ops` table.
#[derive(Deserialize)]
struct Entry {
    /// The edit's sequence number.
    seq: f64,
    /// Its broadcast text ([`LoggedEdit::text`]).
    entry: String,
    /// When it was applied (ms since the epoch).
    at: f64,
}

/// What storage holds, read back: the document with the log replayed over it.
pub struct Stored {
    /// The session including every stored op.
    pub session: Session,
    /// The last stored op's sequence number.
    pub seq: u64,
    /// The sequence number the `room` row's document includes (the log holds the rest).
    pub doc_seq: u64,
    /// The shared transport timeline.
    pub timeline: Timeline,
    /// The sequence number last written to KV.
    pub kv_seq: u64,
}

fn internal(e: impl std::fmt::Display) -> ApiError {
    ApiError::internal(e.to_string())
}

/// Whether this object ever stored a session (without creating any storage).
pub fn exists(sql: &SqlStorage) -> ApiResult<bool> {
    #[derive(Deserialize)]
    struct Count {
        /// Tables named `room`.
        n: f64,
    }
    let tables: Vec<Count> = sql
        .exec(
            "SELECT count(*) AS n FROM sqlite_master WHERE type = 'table' AND name = 'room'",
            None,
        )?
        .to_array()?;
    Ok(tables.first().is_some_and(|c| c.n > 0.0))
}

/// Reads the document and replays the log after it; `None` if nothing was stored yet.
pub fn load(sql: &SqlStorage) -> ApiResult<Option<Stored>> {
    sql.exec(ROOM_SCHEMA, None)?;
    sql.exec(OPS_SCHEMA, None)?;
    let rows: Vec<Row> = sql
        .exec(
            "SELECT session, seq, timeline, kv_seq FROM room WHERE k = 0",
            None,
        )?
        .to_array()?;
    let Some(row) = rows.into_iter().next() else {
        return Ok(None);
    };
    let mut session = session_from_json(row.session.as_bytes()).map_err(internal)?;
    let doc_seq = row.seq as u64;
    let entries: Vec<Entry> = sql
        .exec(
            "SELECT seq, entry, at FROM ops WHERE seq > ? ORDER BY seq",
            vec![SqlStorageValue::from(doc_seq as i64)],
        )?
        .to_array()?;
    let mut seq = doc_seq;
    for e in entries {
        match LoggedEdit::replay(&mut session, seq, &e.entry, e.at as u64) {
            Ok(s) => seq = s,
            Err(error) => {
                // Cannot happen to a log this object wrote; keep what replayed (later entries
                // would not follow it) rather than refuse the session.
                worker::console_error!("op log entry {} not replayed: {error}", e.seq);
                break;
            }
        }
    }
    Ok(Some(Stored {
        session,
        seq,
        doc_seq,
        timeline: serde_json::from_str(&row.timeline).map_err(internal)?,
        kv_seq: row.kv_seq as u64,
    }))
}

/// Stores a session loaded from KV as the object's first document (unless another request
/// stored one meanwhile).
pub fn create(sql: &SqlStorage, session: &Session, timeline: &Timeline) -> ApiResult<()> {
    let timeline = serde_json::to_string(timeline).map_err(internal)?;
    sql.exec(
        "INSERT OR IGNORE INTO room (k, session, seq, timeline, kv_seq) VALUES (0, ?, 0, ?, 0)",
        vec![
            SqlStorageValue::from(session_to_json(session)),
            SqlStorageValue::from(timeline),
        ],
    )?;
    Ok(())
}

/// Records that KV holds the session as of `seq`.
pub fn set_kv_seq(sql: &SqlStorage, seq: u64) -> ApiResult<()> {
    sql.exec(
        "UPDATE room SET kv_seq = ? WHERE k = 0",
        vec![SqlStorageValue::from(seq as i64)],
    )?;
    Ok(())
}

/// The writes the room's events asked for and that are not made yet, and where the stored
/// document and log stand.
pub struct Store {
    /// The object's SQLite.
    sql: SqlStorage,
    /// `APPEND` as a JavaScript string, made once.
    append: JsString,
    /// Edits to append to the log, in order, with the JavaScript string of each text (the
    /// sends of the same broadcast reuse it, [`Store::js_text`]).
    edits: Vec<(u64, LoggedEdit)>,
    /// A change the log cannot hold is unwritten: the document must be written whole.
    document: bool,
    /// The timeline changed and is not written yet.
    timeline: bool,
    /// The sequence number the stored document includes.
    doc_seq: u64,
    /// The last sequence number written (document or log).
    written_seq: u64,
    /// Logged edits after which the log is folded into the document.
    compact_ops: u64,
    /// JavaScript strings of texts written this round, for the sends that follow
    /// ([`Store::js_text`]); cleared by [`Store::end_round`].
    js_texts: Vec<(Arc<str>, JsValue)>,
}

impl Store {
    /// The store of an object whose storage holds the document at `doc_seq` and the log up to
    /// `seq`.
    pub fn new(sql: SqlStorage, doc_seq: u64, seq: u64, compact_ops: u64) -> Self {
        Self {
            sql,
            append: JsString::from(APPEND),
            edits: Vec::new(),
            document: false,
            timeline: false,
            doc_seq,
            written_seq: seq,
            compact_ops: compact_ops.max(1),
            js_texts: Vec::new(),
        }
    }

    /// The room persisted `seq`: `edit` when it was one edit, else the whole document.
    pub fn persist(&mut self, seq: u64, edit: Option<LoggedEdit>) {
        match edit {
            Some(e) if !self.document => self.edits.push((seq, e)),
            _ => {
                self.document = true;
                self.edits.clear();
            }
        }
    }

    /// The room's timeline changed.
    pub fn persist_timeline(&mut self) {
        self.timeline = true;
    }

    /// Whether a write is waiting.
    pub fn is_dirty(&self) -> bool {
        self.document || self.timeline || !self.edits.is_empty()
    }

    /// Edits in the log, not folded into the document yet.
    pub fn uncompacted(&self) -> u64 {
        self.written_seq.saturating_sub(self.doc_seq)
    }

    /// Makes the waiting writes: appends the edits to the log, or folds everything into the
    /// document when a change needs it or the log is long enough. Returns whether anything
    /// was written.
    pub fn write(&mut self, room: &Room) -> ApiResult<bool> {
        let mut wrote = false;
        let due = self.uncompacted() + self.edits.len() as u64 >= self.compact_ops;
        if self.document || (due && !self.edits.is_empty()) {
            self.compact(room)?;
            wrote = true;
        } else if !self.edits.is_empty() {
            let sql: &RawSql = self.sql.as_ref().unchecked_ref();
            for (seq, e) in self.edits.drain(..) {
                let text = JsValue::from_str(&e.text);
                if let Err(error) = sql.exec3(&self.append, seq as f64, &text, e.at_ms as f64) {
                    // The next write folds everything into the document instead.
                    self.document = true;
                    return Err(ApiError::internal(format!("op log append: {error:?}")));
                }
                self.written_seq = seq;
                self.js_texts.push((e.text, text));
            }
            wrote = true;
        }
        if std::mem::take(&mut self.timeline) {
            let t = serde_json::to_string(room.timeline()).map_err(internal)?;
            self.sql.exec(
                "UPDATE room SET timeline = ? WHERE k = 0",
                vec![SqlStorageValue::from(t)],
            )?;
        }
        Ok(wrote)
    }

    /// Folds the log into the document: writes the room's session as of its `seq` and deletes
    /// the entries it covers (whatever was waiting is covered too). Returns the document.
    pub fn compact(&mut self, room: &Room) -> ApiResult<String> {
        let text = session_to_json(room.session());
        let seq = room.seq();
        self.sql.exec(
            "UPDATE room SET session = ?, seq = ? WHERE k = 0",
            vec![
                SqlStorageValue::from(text.clone()),
                SqlStorageValue::from(seq as i64),
            ],
        )?;
        // Entries at or below the document's seq are never read again; deleting them in the
        // same turn keeps the table short.
        self.sql.exec(
            "DELETE FROM ops WHERE seq <= ?",
            vec![SqlStorageValue::from(seq as i64)],
        )?;
        self.document = false;
        self.edits.clear();
        self.doc_seq = seq;
        self.written_seq = seq;
        Ok(text)
    }

    /// The JavaScript string of `text`: the one made when it was logged this round, else a
    /// new one.
    pub fn js_text(&self, text: &Arc<str>) -> JsValue {
        self.js_texts
            .iter()
            .rev()
            .find(|(t, _)| Arc::ptr_eq(t, text))
            .map_or_else(|| JsValue::from_str(text), |(_, js)| js.clone())
    }

    /// Forgets this round's JavaScript strings.
    pub fn end_round(&mut self) {
        self.js_texts.clear();
    }
}
