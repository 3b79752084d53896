//! Shared samples on their way: which samples to fetch when, and when failed uploads and
//! fetches are tried again. The host does each HTTP request and reports how it ended.
//!
//! The rules:
//! - A sample the room announces is fetched at once, even if an earlier try found nothing.
//! - After every snapshot and every remote change, each sample the session plays that this run
//!   has not fetched yet is fetched (samples shared before this player joined).
//! - A track may play a sample the server does not have yet (a player shares a recorded take
//!   by adding its track first and uploading it meanwhile). Such a sample *waits*: it is fetched
//!   again when the room announces it, or after the next snapshot (reconnect), not before.
//! - If the room announces a sample while a fetch of it is under way and that fetch finds
//!   nothing (it asked before the upload ended), it is fetched once more at once.
//! - Network failures and busy servers are retried with backoff, for as long as it takes;
//!   refusals and unplayable files are final (retrying cannot help).

use std::collections::{BTreeMap, HashSet};

use super::backoff::Backoff;
use super::config::ClientConfig;
use crate::model::{Instrument, SampleId, SessionState};

/// Names one upload or fetch from start to end, across its retries.
pub type TransferId = u64;

/// A sample upload for the host to make (one attempt).
#[derive(Clone, Debug, PartialEq)]
pub struct Upload {
    /// Names this upload across its retries (report the outcome under it).
    pub transfer: TransferId,
    /// The sample's display name.
    pub name: String,
    /// The content id to upload under; the server picks one when `None`.
    pub id: Option<SampleId>,
    /// The WAV file.
    pub wav: Vec<u8>,
}

/// A sample download for the host to make (one attempt); the host decodes what it gets.
#[derive(Clone, Debug, PartialEq)]
pub struct Fetch {
    /// Names this fetch across its retries (report the outcome under it).
    pub transfer: TransferId,
    /// The sample to download.
    pub id: SampleId,
    /// The name to show (the announced name or the track's).
    pub name: String,
}

/// How a failed transfer attempt failed, as the host saw it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TransferFailure {
    /// Trying again later can succeed: the network failed, the reply was garbled, the server
    /// was busy or failed.
    Transient,
    /// Retrying cannot help: the server refused, or the file is not playable.
    Final,
    /// A fetch found no such sample on the server (HTTP 404).
    NotFound,
}

/// What becomes of a failed transfer (for the host to tell the user).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Retry {
    /// Tried again in this many ms.
    InMs(f64),
    /// Not tried again: final, or waiting for the room to announce the sample.
    Never,
    /// Already asked for again (the room announced it meanwhile): nothing to report.
    Silently,
}

/// A transfer attempt to start (the client hands it to the host as an
/// [`Action`](super::Action)).
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Start {
    Upload(Upload),
    Fetch(Fetch),
}

/// One upload under way.
#[derive(Clone, Debug)]
struct UploadTask {
    name: String,
    id: Option<SampleId>,
    wav: Vec<u8>,
    /// Spaces this upload's retries.
    backoff: Backoff,
    /// When to try again (ms); `None` while an attempt is under way.
    retry_at_ms: Option<f64>,
}

/// One fetch under way.
#[derive(Clone, Debug)]
struct FetchTask {
    id: SampleId,
    name: String,
    /// Spaces this fetch's retries.
    backoff: Backoff,
    /// When to try again (ms); `None` while an attempt is under way.
    retry_at_ms: Option<f64>,
}

/// Every transfer under way and the sets that decide what to fetch.
#[derive(Clone, Debug, Default)]
pub(crate) struct Transfers {
    /// The id of the next transfer started.
    next: TransferId,
    uploads: BTreeMap<TransferId, UploadTask>,
    fetches: BTreeMap<TransferId, FetchTask>,
    /// Samples already being fetched (or fetched) in this run.
    requested: HashSet<SampleId>,
    /// Samples a track plays that the server did not have (yet); fetched again when the room
    /// announces them, or after the next snapshot.
    waiting: HashSet<SampleId>,
    /// Samples the room announced while a fetch of them was under way: if that fetch finds
    /// nothing (it asked before the upload ended), they are fetched once more.
    recheck: HashSet<SampleId>,
}

impl Transfers {
    fn next_id(&mut self) -> TransferId {
        self.next += 1;
        self.next
    }

    pub fn upload(
        &mut self,
        name: String,
        wav: Vec<u8>,
        id: Option<SampleId>,
        config: &ClientConfig,
    ) -> (TransferId, Start) {
        let transfer = self.next_id();
        let start = Start::Upload(Upload {
            transfer,
            name: name.clone(),
            id: id.clone(),
            wav: wav.clone(),
        });
        let backoff = Backoff::new(config.transfer_retry_min_ms, config.transfer_retry_max_ms);
        self.uploads.insert(
            transfer,
            UploadTask {
                name,
                id,
                wav,
                backoff,
                retry_at_ms: None,
            },
        );
        (transfer, start)
    }

    /// Fetches `id` unless this run already does (or did).
    pub fn fetch(&mut self, id: SampleId, name: String, config: &ClientConfig) -> Option<Start> {
        if !self.requested.insert(id.clone()) {
            return None;
        }
        let transfer = self.next_id();
        let start = Start::Fetch(Fetch {
            transfer,
            id: id.clone(),
            name: name.clone(),
        });
        let backoff = Backoff::new(config.transfer_retry_min_ms, config.transfer_retry_max_ms);
        self.fetches.insert(
            transfer,
            FetchTask {
                id,
                name,
                backoff,
                retry_at_ms: None,
            },
        );
        Some(start)
    }

    /// Asked for explicitly: fetch again even if this run did before.
    pub fn refetch(&mut self, id: SampleId, name: String, config: &ClientConfig) -> Option<Start> {
        self.requested.remove(&id);
        self.fetch(id, name, config)
    }

    /// The room announced a sample: fetch it, even if an earlier try found nothing.
    pub fn announced(
        &mut self,
        id: SampleId,
        name: String,
        config: &ClientConfig,
    ) -> Option<Start> {
        self.waiting.remove(&id);
        if self.requested.contains(&id) {
            self.recheck.insert(id);
            None
        } else {
            self.fetch(id, name, config)
        }
    }

    /// A fresh view of the room: the waiting samples are tried once more.
    pub fn synced(&mut self) {
        self.waiting.clear();
    }

    /// Fetches for every sample `state` plays that is neither requested nor waiting.
    pub fn fetch_referenced(&mut self, state: &SessionState, config: &ClientConfig) -> Vec<Start> {
        let wanted: Vec<(SampleId, String)> = state
            .tracks
            .iter()
            .filter_map(|t| match &t.instrument {
                Instrument::Sample(id)
                    if !self.requested.contains(id) && !self.waiting.contains(id) =>
                {
                    Some((id.clone(), t.name.clone()))
                }
                _ => None,
            })
            .collect();
        wanted
            .into_iter()
            .filter_map(|(id, name)| self.fetch(id, name, config))
            .collect()
    }

    pub fn uploaded(&mut self, transfer: TransferId) {
        self.uploads.remove(&transfer);
    }

    pub fn upload_failed(
        &mut self,
        now: f64,
        transfer: TransferId,
        failure: TransferFailure,
        unit: f64,
    ) -> Retry {
        let Some(task) = self.uploads.get_mut(&transfer) else {
            return Retry::Never;
        };
        if failure == TransferFailure::Transient {
            let delay = task.backoff.next_delay_ms(unit);
            task.retry_at_ms = Some(now + delay);
            return Retry::InMs(delay);
        }
        self.uploads.remove(&transfer);
        Retry::Never
    }

    /// The sample arrived (and decoded): it stays requested for the rest of the run.
    pub fn fetched(&mut self, transfer: TransferId) {
        if let Some(task) = self.fetches.remove(&transfer) {
            self.recheck.remove(&task.id);
        }
    }

    /// A fetch attempt failed; may start a new fetch at once (announced meanwhile).
    pub fn fetch_failed(
        &mut self,
        now: f64,
        transfer: TransferId,
        failure: TransferFailure,
        unit: f64,
        config: &ClientConfig,
    ) -> (Retry, Option<Start>) {
        let Some(task) = self.fetches.get_mut(&transfer) else {
            return (Retry::Never, None);
        };
        if failure == TransferFailure::Transient {
            let delay = task.backoff.next_delay_ms(unit);
            task.retry_at_ms = Some(now + delay);
            return (Retry::InMs(delay), None);
        }
        let FetchTask { id, name, .. } = self.fetches.remove(&transfer).expect("present");
        self.requested.remove(&id);
        match failure {
            TransferFailure::NotFound if self.recheck.remove(&id) => {
                // Announced while we asked: it is there now.
                (Retry::Silently, self.fetch(id, name, config))
            }
            TransferFailure::NotFound => {
                self.waiting.insert(id);
                (Retry::Never, None)
            }
            // Final: another announcement or change may try again.
            _ => {
                self.recheck.remove(&id);
                (Retry::Never, None)
            }
        }
    }

    /// The earliest retry due (local ms).
    pub fn next_timeout(&self) -> Option<f64> {
        let ups = self.uploads.values().filter_map(|t| t.retry_at_ms);
        let fetches = self.fetches.values().filter_map(|t| t.retry_at_ms);
        ups.chain(fetches).min_by(f64::total_cmp)
    }

    /// Retries due at `now`.
    pub fn handle_timeout(&mut self, now: f64) -> Vec<Start> {
        let mut due = Vec::new();
        for (transfer, t) in &mut self.uploads {
            if t.retry_at_ms.is_some_and(|at| at <= now) {
                t.retry_at_ms = None;
                due.push(Start::Upload(Upload {
                    transfer: *transfer,
                    name: t.name.clone(),
                    id: t.id.clone(),
                    wav: t.wav.clone(),
                }));
            }
        }
        for (transfer, t) in &mut self.fetches {
            if t.retry_at_ms.is_some_and(|at| at <= now) {
                t.retry_at_ms = None;
                due.push(Start::Fetch(Fetch {
                    transfer: *transfer,
                    id: t.id.clone(),
                    name: t.name.clone(),
                }));
            }
        }
        due
    }

    /// Transfers under way (attempting or waiting to retry).
    pub fn in_flight(&self) -> usize {
        self.uploads.len() + self.fetches.len()
    }
}
