//! The REST side of the server: sessions (create, load, save, fork), shared samples and beats
//! (publish, list, get, remix, a beat's samples). Routes, paths and bodies are core's
//! [`keyboardia_core::api`], the ones the Worker answers with.

use keyboardia_core::api::{
    is_transient_status, BeatList, CreateSession, ErrorBody, Route, SAMPLE_ID_PARAM,
    SAMPLE_NAME_PARAM,
};
use keyboardia_core::beat::{beat_from_json, Beat, BeatSummary, PublishBeat};
use keyboardia_core::error::ErrorCode;
use keyboardia_core::schema::{session_from_json, SchemaError};
use keyboardia_core::BeatId;
use keyboardia_core::{SampleId, Session, SessionId, SessionState};

use crate::link::Server;

/// A sample stored on the server (the upload's reply).
pub use keyboardia_core::api::UploadedSample;

/// Why a REST call failed.
#[derive(Debug, thiserror::Error)]
pub enum RestError {
    #[error("cannot reach the server: {0}")]
    Unreachable(String),
    /// The server refused, with its typed error.
    #[error("server said {status} {code}: {msg}")]
    Refused {
        status: u16,
        code: ErrorCode,
        msg: String,
    },
    /// The server answered something this client cannot read.
    #[error("unexpected reply: {0}")]
    BadReply(String),
}

impl From<reqwest::Error> for RestError {
    fn from(e: reqwest::Error) -> Self {
        RestError::Unreachable(e.to_string())
    }
}

impl From<SchemaError> for RestError {
    fn from(e: SchemaError) -> Self {
        RestError::BadReply(e.to_string())
    }
}

impl RestError {
    /// Whether trying again later can succeed: the network failed, the reply was garbled, the
    /// server was busy (429) or failed (5xx). Other refusals are final.
    pub fn is_transient(&self) -> bool {
        match self {
            RestError::Unreachable(_) | RestError::BadReply(_) => true,
            RestError::Refused { status, .. } => is_transient_status(*status),
        }
    }
}

/// A REST client for one server.
#[derive(Clone, Debug)]
pub struct Rest {
    server: Server,
    http: reqwest::Client,
}

impl Rest {
    pub fn new(server: Server) -> Self {
        // A server that does not answer is reported, never waited on forever (the editor calls
        // create and fork from its thread).
        let http = reqwest::Client::builder()
            .connect_timeout(std::time::Duration::from_secs(3))
            .timeout(std::time::Duration::from_secs(30))
            .build()
            .unwrap_or_default();
        Self { server, http }
    }

    pub fn server(&self) -> &Server {
        &self.server
    }

    /// The URL of `route` on this server.
    fn url(&self, route: &Route) -> String {
        format!("{}{}", self.server.base(), route.path())
    }

    async fn checked(resp: reqwest::Response) -> Result<bytes::Bytes, RestError> {
        let status = resp.status().as_u16();
        let body = resp.bytes().await?;
        if (200..300).contains(&status) {
            return Ok(body);
        }
        match serde_json::from_slice::<ErrorBody>(&body) {
            Ok(e) => Err(RestError::Refused {
                status,
                code: e.code,
                msg: e.msg,
            }),
            Err(_) => Err(RestError::BadReply(format!(
                "status {status}: {}",
                String::from_utf8_lossy(&body)
            ))),
        }
    }

    /// `POST /api/sessions` with an initial state.
    pub async fn create(&self, state: &SessionState) -> Result<Session, RestError> {
        let body = CreateSession {
            state: Some(serde_json::to_value(state).expect("a session state is plain JSON")),
            mode: None,
        };
        let resp = self
            .http
            .post(self.url(&Route::CreateSession))
            .json(&body)
            .send()
            .await?;
        Ok(session_from_json(&Self::checked(resp).await?)?)
    }

    /// `GET /api/sessions/{id}`
    pub async fn load(&self, id: SessionId) -> Result<Session, RestError> {
        let resp = self
            .http
            .get(self.url(&Route::GetSession(id)))
            .send()
            .await?;
        Ok(session_from_json(&Self::checked(resp).await?)?)
    }

    /// `PUT /api/sessions/{id}`
    pub async fn save(&self, id: SessionId, state: &SessionState) -> Result<(), RestError> {
        let resp = self
            .http
            .put(self.url(&Route::SaveSession(id)))
            .json(state)
            .send()
            .await?;
        Self::checked(resp).await.map(drop)
    }

    /// `POST /api/sessions/{id}/fork`: a new session with the same state.
    pub async fn fork(&self, id: SessionId) -> Result<Session, RestError> {
        let resp = self
            .http
            .post(self.url(&Route::ForkSession(id)))
            .send()
            .await?;
        Ok(session_from_json(&Self::checked(resp).await?)?)
    }

    /// `POST /api/sessions/{id}/samples`: uploads a WAV file; the room announces it.
    pub async fn upload_sample(
        &self,
        id: SessionId,
        name: &str,
        wav: Vec<u8>,
    ) -> Result<UploadedSample, RestError> {
        self.upload_sample_with_progress(id, name, wav, |_, _| {})
            .await
    }

    /// As [`Rest::upload_sample`], calling `progress(sent, total)` as the body goes out.
    pub async fn upload_sample_with_progress(
        &self,
        id: SessionId,
        name: &str,
        wav: Vec<u8>,
        progress: impl Fn(usize, usize) + Send + Sync + 'static,
    ) -> Result<UploadedSample, RestError> {
        self.upload(id, None, name, wav, progress).await
    }

    /// As [`Rest::upload_sample_with_progress`], under the id the uploader chose: it must be
    /// [`SampleId::for_content`] of `wav` (the server checks). Uploading the same bytes again is
    /// harmless, so a retry after a lost reply does no damage.
    pub async fn upload_sample_as(
        &self,
        id: SessionId,
        sample: &SampleId,
        name: &str,
        wav: Vec<u8>,
        progress: impl Fn(usize, usize) + Send + Sync + 'static,
    ) -> Result<UploadedSample, RestError> {
        self.upload(id, Some(sample), name, wav, progress).await
    }

    async fn upload(
        &self,
        id: SessionId,
        sample: Option<&SampleId>,
        name: &str,
        wav: Vec<u8>,
        progress: impl Fn(usize, usize) + Send + Sync + 'static,
    ) -> Result<UploadedSample, RestError> {
        const CHUNK: usize = 16 * 1024;
        let total = wav.len();
        let chunks: Vec<bytes::Bytes> = bytes::Bytes::from(wav)
            .chunks(CHUNK)
            .map(bytes::Bytes::copy_from_slice)
            .collect();
        let mut sent = 0;
        let body = futures_util::stream::iter(chunks.into_iter().map(move |c| {
            sent += c.len();
            progress(sent, total);
            Ok::<_, std::io::Error>(c)
        }));
        let mut query = vec![(SAMPLE_NAME_PARAM, name)];
        if let Some(sample) = sample {
            query.push((SAMPLE_ID_PARAM, sample.as_str()));
        }
        let resp = self
            .http
            .post(self.url(&Route::UploadSample(id)))
            .query(&query)
            .header("content-type", "audio/wav")
            .header("content-length", total)
            .body(reqwest::Body::wrap_stream(body))
            .send()
            .await?;
        let body = Self::checked(resp).await?;
        serde_json::from_slice(&body).map_err(|e| RestError::BadReply(e.to_string()))
    }

    /// Downloads a sample's bytes from the URL the room announced (or the API path).
    pub async fn download_sample(
        &self,
        id: SessionId,
        sample: &SampleId,
    ) -> Result<Vec<u8>, RestError> {
        let resp = self
            .http
            .get(self.url(&Route::DownloadSample(id, sample.clone())))
            .send()
            .await?;
        Ok(Self::checked(resp).await?.to_vec())
    }

    /// `POST /api/sessions/{id}/beats`: publishes the session's state now as an immutable beat
    /// (named `name` when given).
    pub async fn publish_beat(&self, id: SessionId, name: Option<&str>) -> Result<Beat, RestError> {
        let body = PublishBeat {
            name: name.map(str::to_owned),
        };
        let resp = self
            .http
            .post(self.url(&Route::PublishBeat(id)))
            .json(&body)
            .send()
            .await?;
        Ok(beat_from_json(&Self::checked(resp).await?)?)
    }

    /// `GET /api/sessions/{id}/beats`: the session's beats, oldest first.
    pub async fn list_beats(&self, id: SessionId) -> Result<Vec<BeatSummary>, RestError> {
        let resp = self
            .http
            .get(self.url(&Route::ListBeats(id)))
            .send()
            .await?;
        let list: BeatList = serde_json::from_slice(&Self::checked(resp).await?)
            .map_err(|e| RestError::BadReply(e.to_string()))?;
        Ok(list.beats)
    }

    /// `GET /api/beats/{id}`
    pub async fn get_beat(&self, id: BeatId) -> Result<Beat, RestError> {
        let resp = self.http.get(self.url(&Route::GetBeat(id))).send().await?;
        Ok(beat_from_json(&Self::checked(resp).await?)?)
    }

    /// `POST /api/beats/{id}/remix`: a new editable session whose `remixedFrom` is the beat.
    pub async fn remix_beat(&self, id: BeatId) -> Result<Session, RestError> {
        let resp = self
            .http
            .post(self.url(&Route::RemixBeat(id)))
            .send()
            .await?;
        Ok(session_from_json(&Self::checked(resp).await?)?)
    }

    /// `GET /api/beats/{id}/samples/{sample}`: a sample the beat pinned (a WAV file).
    pub async fn beat_sample(&self, id: BeatId, sample: &SampleId) -> Result<Vec<u8>, RestError> {
        let resp = self
            .http
            .get(self.url(&Route::BeatSample(id, sample.clone())))
            .send()
            .await?;
        Ok(Self::checked(resp).await?.to_vec())
    }
}
