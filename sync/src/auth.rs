//! Signing in from the plugin and the standalone app: the OAuth 2.0 device authorization grant
//! (RFC 8628) against the Worker, the calls that need a signed-in user (claim and lock a
//! session, a ticket for the live socket), and where the tokens are kept.
//!
//! The flow: [`Auth::start`] gives a [`DeviceAuthorization`]; the app shows its `user_code` and
//! opens `verification_uri_complete` in the browser, where the user signs in and approves;
//! meanwhile [`Auth::poll`] (every `interval` seconds, grown on `slow_down`) answers
//! [`Poll::Pending`] until the tokens come. [`TokenStore`] keeps them in the user's config
//! directory (`$XDG_CONFIG_HOME/keyboardia/auth.json`), readable by the owner only, never in a
//! DAW project. Tokens are never logged: [`Tokens`]' `Debug` hides them.

use std::path::{Path, PathBuf};
use std::time::Duration;

use keyboardia_core::api::{ErrorBody, Route, SetMode};
use keyboardia_core::error::ErrorCode;
use keyboardia_core::oauth::{
    Account, DeviceAuthorization, OAuthError, OAuthErrorBody, SocketTicket, TokenReply,
    DEVICE_CODE_GRANT_TYPE, REFRESH_TOKEN_GRANT_TYPE,
};
use keyboardia_core::schema::session_from_json;
use keyboardia_core::{Mode, Session, SessionId};
use serde::{Deserialize, Serialize};

use crate::link::Server;

/// The `client_id` the apps sign in with (shown on the approval page).
pub const CLIENT_ID: &str = "keyboardia-app";

/// Why a sign-in call failed.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("cannot reach the server: {0}")]
    Unreachable(String),
    /// The token endpoint refused (RFC 6749 §5.2), finally: expired, denied, invalid.
    #[error("sign-in refused: {0:?}")]
    OAuth(OAuthError),
    /// The API refused, with its typed error (401 signed out, 403 not the owner, 409 owned).
    #[error("server said {status} {code}: {msg}")]
    Refused {
        status: u16,
        code: ErrorCode,
        msg: String,
    },
    #[error("unexpected reply: {0}")]
    BadReply(String),
    /// Reading or writing the token file.
    #[error("token store: {0}")]
    Store(#[from] std::io::Error),
}

impl From<reqwest::Error> for AuthError {
    fn from(e: reqwest::Error) -> Self {
        AuthError::Unreachable(e.without_url().to_string())
    }
}

/// A signed-in app's tokens.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tokens {
    /// The server they were issued by (its base URL).
    pub server: String,
    /// Short-lived; `Authorization: Bearer`.
    pub access_token: String,
    /// One use: trades for new tokens.
    pub refresh_token: String,
    /// When the access token expires, seconds since the Unix epoch (as the app's clock read it).
    pub expires_at_s: u64,
    /// Who signed in (`GET /api/auth/me`), kept with the tokens so the app can say who you are
    /// without asking the server at start; `None` until asked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<Account>,
}

impl std::fmt::Debug for Tokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tokens")
            .field("server", &self.server)
            .field("expires_at_s", &self.expires_at_s)
            .finish_non_exhaustive()
    }
}

impl Tokens {
    fn from_reply(server: &Server, r: TokenReply, now_s: u64) -> Self {
        Self {
            server: server.base().to_owned(),
            access_token: r.access_token,
            refresh_token: r.refresh_token,
            expires_at_s: now_s + r.expires_in,
            account: None,
        }
    }

    /// Whether the access token expires within `margin` of `now_s`.
    pub fn expires_within(&self, now_s: u64, margin: Duration) -> bool {
        now_s + margin.as_secs() >= self.expires_at_s
    }
}

/// One answer of the token endpoint to a poll.
#[derive(Debug)]
pub enum Poll {
    /// Not approved yet: poll again after this interval.
    Pending { interval: Duration },
    /// Signed in.
    Done(Tokens),
}

fn now_s() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// The sign-in client of one server.
#[derive(Clone, Debug)]
pub struct Auth {
    server: Server,
    http: reqwest::Client,
    client_id: String,
}

impl Auth {
    pub fn new(server: Server) -> Self {
        Self::with_client_id(server, CLIENT_ID)
    }

    /// A client that names itself `client_id` (1–64 of `[A-Za-z0-9._-]`).
    pub fn with_client_id(server: Server, client_id: &str) -> Self {
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(3))
            .timeout(Duration::from_secs(30))
            .build()
            .unwrap_or_default();
        Self {
            server,
            http,
            client_id: client_id.to_owned(),
        }
    }

    fn url(&self, route: &Route) -> String {
        format!("{}{}", self.server.base(), route.path())
    }

    async fn token_request(&self, form: &[(&str, &str)]) -> Result<TokenReply, AuthError> {
        let resp = self
            .http
            .post(self.url(&Route::Token))
            .form(form)
            .send()
            .await?;
        let status = resp.status().as_u16();
        let body = resp.bytes().await?;
        if status == 200 {
            return serde_json::from_slice(&body).map_err(|e| AuthError::BadReply(e.to_string()));
        }
        if let Ok(e) = serde_json::from_slice::<OAuthErrorBody>(&body) {
            return Err(AuthError::OAuth(e.error));
        }
        Err(refused(status, &body))
    }

    /// `POST /api/auth/device`: starts a sign-in.
    pub async fn start(&self) -> Result<DeviceAuthorization, AuthError> {
        let resp = self
            .http
            .post(self.url(&Route::DeviceAuthorization))
            .form(&[("client_id", self.client_id.as_str())])
            .send()
            .await?;
        let status = resp.status().as_u16();
        let body = resp.bytes().await?;
        if status != 200 {
            return Err(match serde_json::from_slice::<OAuthErrorBody>(&body) {
                Ok(e) => AuthError::OAuth(e.error),
                Err(_) => refused(status, &body),
            });
        }
        serde_json::from_slice(&body).map_err(|e| AuthError::BadReply(e.to_string()))
    }

    /// One poll of the token endpoint with `device`'s code. `interval` is the current one (it
    /// grows by 5 s on `slow_down`, RFC 8628 §3.5).
    pub async fn poll(
        &self,
        device: &DeviceAuthorization,
        interval: Duration,
    ) -> Result<Poll, AuthError> {
        let form = [
            ("grant_type", DEVICE_CODE_GRANT_TYPE),
            ("device_code", device.device_code.as_str()),
            ("client_id", self.client_id.as_str()),
        ];
        match self.token_request(&form).await {
            Ok(r) => Ok(Poll::Done(Tokens::from_reply(&self.server, r, now_s()))),
            Err(AuthError::OAuth(OAuthError::AuthorizationPending)) => {
                Ok(Poll::Pending { interval })
            }
            Err(AuthError::OAuth(OAuthError::SlowDown)) => Ok(Poll::Pending {
                interval: interval + Duration::from_secs(5),
            }),
            Err(e) => Err(e),
        }
    }

    /// Polls every interval until the user approves (or denies, or the code expires).
    pub async fn wait(&self, device: &DeviceAuthorization) -> Result<Tokens, AuthError> {
        let mut interval = Duration::from_secs(device.interval.max(1));
        loop {
            tokio::time::sleep(interval).await;
            match self.poll(device, interval).await? {
                Poll::Pending { interval: next } => interval = next,
                Poll::Done(tokens) => return Ok(tokens),
            }
        }
    }

    /// Trades the refresh token for new tokens (the old refresh token is then spent).
    pub async fn refresh(&self, tokens: &Tokens) -> Result<Tokens, AuthError> {
        let form = [
            ("grant_type", REFRESH_TOKEN_GRANT_TYPE),
            ("refresh_token", tokens.refresh_token.as_str()),
        ];
        let r = self.token_request(&form).await?;
        Ok(Tokens {
            account: tokens.account.clone(),
            ..Tokens::from_reply(&self.server, r, now_s())
        })
    }

    /// The server this client signs in to.
    pub fn server(&self) -> &Server {
        &self.server
    }

    /// Signs out: the server revokes the grant (every token of this sign-in).
    pub async fn sign_out(&self, tokens: &Tokens) -> Result<(), AuthError> {
        let resp = self
            .http
            .post(self.url(&Route::Revoke))
            .form(&[("token", tokens.refresh_token.as_str())])
            .send()
            .await?;
        checked(resp).await.map(drop)
    }

    async fn authed(
        &self,
        req: reqwest::RequestBuilder,
        tokens: &Tokens,
    ) -> Result<bytes::Bytes, AuthError> {
        checked(req.bearer_auth(&tokens.access_token).send().await?).await
    }

    /// Who the tokens sign in.
    pub async fn me(&self, tokens: &Tokens) -> Result<Account, AuthError> {
        let body = self
            .authed(self.http.get(self.url(&Route::Me)), tokens)
            .await?;
        serde_json::from_slice(&body).map_err(|e| AuthError::BadReply(e.to_string()))
    }

    /// Claims an unowned session.
    pub async fn claim(&self, tokens: &Tokens, id: SessionId) -> Result<Session, AuthError> {
        let req = self.http.post(self.url(&Route::ClaimSession(id)));
        let body = self.authed(req, tokens).await?;
        session_from_json(&body).map_err(|e| AuthError::BadReply(e.to_string()))
    }

    /// Locks ([`Mode::Readonly`]) or unlocks an owned session.
    pub async fn set_mode(
        &self,
        tokens: &Tokens,
        id: SessionId,
        mode: Mode,
    ) -> Result<Session, AuthError> {
        let req = self
            .http
            .patch(self.url(&Route::SetMode(id)))
            .json(&SetMode { mode });
        let body = self.authed(req, tokens).await?;
        session_from_json(&body).map_err(|e| AuthError::BadReply(e.to_string()))
    }

    /// A short-lived ticket for the live socket of `id` (`?ticket=`), so the room knows the
    /// owner without the token ever going in a URL.
    pub async fn ticket(&self, tokens: &Tokens, id: SessionId) -> Result<SocketTicket, AuthError> {
        let req = self.http.post(self.url(&Route::SocketTicket(id)));
        let body = self.authed(req, tokens).await?;
        serde_json::from_slice(&body).map_err(|e| AuthError::BadReply(e.to_string()))
    }
}

/// How long before its expiry an access token is refreshed ([`SignedIn::fresh`]).
pub const REFRESH_MARGIN: Duration = Duration::from_secs(60);

/// The signed-in identity a live connection presents, shared between the app (which signs in
/// and out) and the sync thread (which asks for a ticket before each connect), so a sign-in
/// or sign-out applies from the next (re)connect.
#[derive(Clone, Debug, Default)]
pub struct SignedIn(std::sync::Arc<SignedInShared>);

/// What the clones of a [`SignedIn`] share.
#[derive(Debug, Default)]
struct SignedInShared {
    /// The identity: `None` when signed out.
    who: std::sync::Mutex<Option<(Auth, Tokens)>>,
    /// Held while [`SignedIn::fresh`] reads, refreshes and saves the tokens: a refresh token
    /// works once, and the server revokes the whole sign-in when one is replayed, so two
    /// threads must never refresh with the same one.
    refreshing: tokio::sync::Mutex<()>,
    /// Where the tokens are kept, if anywhere: a refresh saves the new ones there, and tokens
    /// another process of the app refreshed are read back from there.
    store: Option<TokenStore>,
}

impl SignedIn {
    /// An identity kept in `store`, signed in if the store holds tokens.
    pub fn load(store: TokenStore) -> Result<Self, AuthError> {
        let who = store.load()?.and_then(|t| {
            let server = Server::new(&t.server).ok()?;
            Some((Auth::new(server), t))
        });
        Ok(Self(std::sync::Arc::new(SignedInShared {
            who: std::sync::Mutex::new(who),
            refreshing: tokio::sync::Mutex::new(()),
            store: Some(store),
        })))
    }

    /// Where the tokens are kept, if anywhere.
    pub fn store(&self) -> Option<&TokenStore> {
        self.0.store.as_ref()
    }

    /// Signs the connection in (`Some`) or out (`None`).
    pub fn set(&self, who: Option<(Auth, Tokens)>) {
        *self.0.who.lock().unwrap_or_else(|e| e.into_inner()) = who;
    }

    /// The current identity.
    pub fn get(&self) -> Option<(Auth, Tokens)> {
        self.0.who.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// The current identity with an access token good for [`REFRESH_MARGIN`] at least:
    /// tokens another process of the app refreshed into the store are taken up, and tokens
    /// about to expire are refreshed (and saved), one refresh at a time. `Ok(None)`: signed
    /// out. If the server no longer knows the sign-in (revoked, or signed out elsewhere), the
    /// identity is forgotten here too and the error returned.
    pub async fn fresh(&self) -> Result<Option<(Auth, Tokens)>, AuthError> {
        let _one_at_a_time = self.0.refreshing.lock().await;
        let Some((auth, mut tokens)) = self.get() else {
            return Ok(None);
        };
        if let Some(saved) = self.store().and_then(|s| s.load().ok().flatten()) {
            if saved.server == tokens.server && saved.refresh_token != tokens.refresh_token {
                tokens = saved;
            }
        }
        if tokens.expires_within(now_s(), REFRESH_MARGIN) {
            match auth.refresh(&tokens).await {
                Ok(new) => {
                    tokens = new;
                    if let Some(store) = self.store() {
                        store.save(&tokens)?;
                    }
                }
                Err(e @ AuthError::OAuth(OAuthError::InvalidGrant)) => {
                    self.set(None);
                    if let Some(store) = self.store() {
                        store.clear()?;
                    }
                    return Err(e);
                }
                Err(e) => return Err(e),
            }
        }
        let who = (auth, tokens);
        self.set(Some(who.clone()));
        Ok(Some(who))
    }

    /// The query the live socket of `id` is opened with: `?ticket=…` when signed in and the
    /// server grants a ticket, else nothing (the socket then joins anonymously; the room
    /// refuses its edits to a locked session).
    pub async fn socket_query(&self, id: SessionId) -> String {
        let Ok(Some((auth, tokens))) = self.fresh().await else {
            return String::new();
        };
        match auth.ticket(&tokens, id).await {
            Ok(t) => format!("?{}={}", keyboardia_core::api::TICKET_PARAM, t.ticket),
            Err(_) => String::new(),
        }
    }
}

fn refused(status: u16, body: &[u8]) -> AuthError {
    match serde_json::from_slice::<ErrorBody>(body) {
        Ok(e) => AuthError::Refused {
            status,
            code: e.code,
            msg: e.msg,
        },
        Err(_) => AuthError::BadReply(format!("status {status}")),
    }
}

async fn checked(resp: reqwest::Response) -> Result<bytes::Bytes, AuthError> {
    let status = resp.status().as_u16();
    let body = resp.bytes().await?;
    if (200..300).contains(&status) {
        Ok(body)
    } else {
        Err(refused(status, &body))
    }
}

/// Where the app keeps its tokens: one JSON file, created with mode 0600 (owner only), written
/// to a temporary file first and renamed over the old one.
#[derive(Clone, Debug)]
pub struct TokenStore {
    /// The file.
    path: PathBuf,
}

impl TokenStore {
    /// `auth.json` in the user's config directory (`$XDG_CONFIG_HOME/keyboardia/` or
    /// `~/.config/keyboardia/` on Linux), if there is a home.
    pub fn default_location() -> Option<Self> {
        let base = std::env::var_os("XDG_CONFIG_HOME")
            .map(PathBuf::from)
            .filter(|p| p.is_absolute())
            .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config")))?;
        Some(Self::at(base.join("keyboardia").join("auth.json")))
    }

    /// A store at `path`.
    pub fn at(path: impl Into<PathBuf>) -> Self {
        Self { path: path.into() }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The saved tokens, if any.
    pub fn load(&self) -> Result<Option<Tokens>, AuthError> {
        match std::fs::read(&self.path) {
            Ok(bytes) => Ok(serde_json::from_slice(&bytes).ok()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// Saves `tokens`, readable and writable by the owner only.
    pub fn save(&self, tokens: &Tokens) -> Result<(), AuthError> {
        use std::io::Write;
        if let Some(dir) = self.path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let tmp = self.path.with_extension("json.tmp");
        let _ = std::fs::remove_file(&tmp);
        let mut opts = std::fs::OpenOptions::new();
        opts.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            opts.mode(0o600);
        }
        let mut f = opts.open(&tmp)?;
        f.write_all(&serde_json::to_vec(tokens).map_err(std::io::Error::other)?)?;
        f.sync_all()?;
        std::fs::rename(&tmp, &self.path)?;
        Ok(())
    }

    /// Forgets the tokens (after signing out).
    pub fn clear(&self) -> Result<(), AuthError> {
        match std::fs::remove_file(&self.path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e.into()),
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_kept_owner_only_and_never_printed() {
        let dir = std::env::temp_dir().join(format!("kb-auth-{}", std::process::id()));
        let store = TokenStore::at(dir.join("keyboardia/auth.json"));
        assert!(store.load().unwrap().is_none());
        let t = Tokens {
            server: "http://127.0.0.1:1".into(),
            access_token: "kbat.secret".into(),
            refresh_token: "refresh-secret".into(),
            expires_at_s: 100,
            account: Some(Account {
                id: "u_0123456789abcdef0123456789abcdef".into(),
                email: "ada@example.org".into(),
                name: "ada".into(),
            }),
        };
        store.save(&t).unwrap();
        store.save(&t).unwrap();
        assert_eq!(store.load().unwrap(), Some(t.clone()));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(store.path())
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let shown = format!("{t:?}");
        assert!(!shown.contains("secret"), "{shown}");
        assert!(t.expires_within(90, Duration::from_secs(10)));
        assert!(!t.expires_within(80, Duration::from_secs(10)));
        store.clear().unwrap();
        store.clear().unwrap();
        assert!(store.load().unwrap().is_none());
        let _ = std::fs::remove_dir_all(dir);
    }

    fn tokens(refresh: &str, expires_at_s: u64) -> Tokens {
        Tokens {
            // Nothing listens on port 1: any call to the server fails.
            server: "http://127.0.0.1:1".into(),
            access_token: format!("kbat.{refresh}"),
            refresh_token: refresh.into(),
            expires_at_s,
            account: None,
        }
    }

    #[test]
    fn fresh_takes_up_tokens_another_process_refreshed_and_keeps_them_when_offline() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let dir = std::env::temp_dir().join(format!("kb-fresh-{}", std::process::id()));
        let store = TokenStore::at(dir.join("auth.json"));
        assert!(SignedIn::load(store.clone()).unwrap().get().is_none());
        // This process signed in; its access token is about to expire.
        let stale = tokens("r1", now_s() + 5);
        store.save(&stale).unwrap();
        let signed_in = SignedIn::load(store.clone()).unwrap();
        assert_eq!(signed_in.get().unwrap().1, stale);
        // Offline: the refresh fails, the identity stays (signed in, retried next time).
        match rt.block_on(signed_in.fresh()) {
            Err(AuthError::Unreachable(_)) => {}
            other => panic!("expected unreachable, got {other:?}"),
        }
        assert_eq!(signed_in.get().unwrap().1, stale);
        assert_eq!(
            rt.block_on(signed_in.socket_query(SessionId::from_random_bytes([7; 16]))),
            ""
        );
        // Another instance refreshed them meanwhile (the old refresh token is spent): taken up
        // from the file without a call to the server, which would revoke the sign-in.
        let newer = tokens("r2", now_s() + 900);
        store.save(&newer).unwrap();
        let (_, got) = rt.block_on(signed_in.fresh()).unwrap().unwrap();
        assert_eq!(got, newer);
        assert_eq!(signed_in.get().unwrap().1, newer);
        signed_in.set(None);
        assert!(rt.block_on(signed_in.fresh()).unwrap().is_none());
        let _ = std::fs::remove_dir_all(dir);
    }
}
