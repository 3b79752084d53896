//! Signing in from the plugin and the standalone app, and what a signed-in player does to the
//! joined session: claim it, lock and unlock it (issue 17).
//!
//! [`PluginAccount`] implements the editor's [`ui::Account`] over sync's device-flow client
//! ([`keyboardia_sync::auth`]):
//! - **Sign in** starts the OAuth 2.0 device authorization grant (RFC 8628) on a thread of its
//!   own: it asks the server for a code, shows it (with the approval page's link) and opens the
//!   page in the browser, then polls the token endpoint at the server's interval until the user
//!   approves in the browser (or denies, or the code expires). Nothing waits on the editor's
//!   thread, and nothing here runs on the audio thread.
//! - The tokens go to sync's [`TokenStore`] (a file in the user's config directory, owner-only),
//!   never into the plugin's saved state, so no DAW project carries them. They are shared with
//!   the live connections through one [`SignedIn`], which refreshes them shortly before they
//!   expire and asks for a short-lived socket ticket on each connect; signing in or out
//!   reconnects the joined session, so the room knows the owner from then on.
//! - **Sign out** forgets the tokens at once and has the server revoke them (in the background).
//! - **Claim** and **Lock session** run on a thread of their own, like the sign-in (the editor
//!   never waits on the network: a REST call may take up to its 30 s timeout); the panel shows
//!   "Claiming…" / "Locking…" meanwhile, then what happened. The room then sends every player a
//!   fresh snapshot, which carries the session's owner and mode to every panel
//!   ([`Live::access`]).

use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::{Duration, Instant};

use keyboardia_core::oauth::OAuthError;
use keyboardia_core::Mode;
use keyboardia_sync::auth::{Auth, AuthError, Poll, SignedIn, TokenStore, Tokens};
use keyboardia_sync::Server;
use keyboardia_ui::host::{self as ui, AccountStatus, LiveError, PendingSignIn};

use crate::live::{block_on, Access, Joined, Live};

/// Opens a page in the user's browser (`Err`: no browser could be started; the panel still
/// shows the link).
pub type Opener = Arc<dyn Fn(&str) -> Result<(), String> + Send + Sync>;

/// The system's default browser (through the `open` crate; the page opens without waiting).
pub fn default_opener() -> Opener {
    Arc::new(|url: &str| open::that_detached(url).map_err(|e| e.to_string()))
}

/// Why an account action failed (what the panel shows).
#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    /// Claim and lock need a signed-in player.
    #[error("sign in first")]
    SignedOut,
    /// Claim and lock act on the joined session.
    #[error("join a live session first")]
    NotJoined,
    /// The server address does not parse.
    #[error("not a server address: {0}")]
    BadServer(String),
    /// Accounts belong to one server; the joined session is on another.
    #[error(
        "you are signed in to {signed_in}, and this session is on {session}: sign out and in again"
    )]
    OtherServer {
        /// The server the tokens are from.
        signed_in: String,
        /// The joined session's server.
        session: String,
    },
    /// The user denied the sign-in in the browser.
    #[error("sign-in denied in the browser")]
    Denied,
    /// Nobody approved the code in time.
    #[error("the sign-in code expired: sign in again")]
    Expired,
    /// The server refused or could not be reached.
    #[error(transparent)]
    Auth(AuthError),
    /// The background thread could not be started.
    #[error("cannot start the sign-in thread: {0}")]
    Thread(std::io::Error),
    /// A claim or lock is still on its way.
    #[error("wait for the last request to finish")]
    Busy,
}

impl From<AuthError> for AccountError {
    fn from(e: AuthError) -> Self {
        match e {
            AuthError::OAuth(OAuthError::AccessDenied) => AccountError::Denied,
            AuthError::OAuth(OAuthError::ExpiredToken) => AccountError::Expired,
            e => AccountError::Auth(e),
        }
    }
}

/// What the panel shows that the tokens do not hold.
#[derive(Default)]
struct State {
    /// The sign-in waiting for the user's approval.
    pending: Option<PendingSignIn>,
    /// The last failure, until the next action.
    error: Option<String>,
    /// Counts sign-ins and sign-outs: a background sign-in started under an older count stops
    /// at its next step and drops what it got (the user signed out or started over meanwhile).
    generation: u64,
    /// Whether the signed-in account's name was asked for (tokens kept without it).
    asked_who: bool,
    /// The claim or lock in flight ("Claiming…"), while its thread runs.
    working: Option<String>,
    /// What the last claim or lock did, until the next action.
    notice: Option<String>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Sign-in and ownership for the plugin's editor (see the module doc).
pub struct PluginAccount {
    /// The identity the live connections present, with the file the tokens are kept in.
    signed_in: SignedIn,
    /// The live session: the server to sign in to, the session to claim or lock, its owner and
    /// mode; reconnected after signing in or out.
    live: Arc<Live>,
    /// What the panel shows, also written by the background sign-in.
    state: Arc<Mutex<State>>,
    /// Opens the approval page.
    opener: Opener,
    /// The server to sign in to while no session is joined.
    default_server: String,
}

impl PluginAccount {
    /// The account of `live`'s connections (`live.signed_in()`), signing in to the joined
    /// session's server (else `default_server`), opening pages with `opener`.
    pub fn new(live: Arc<Live>, default_server: &str, opener: Opener) -> Self {
        Self {
            signed_in: live.signed_in().clone(),
            live,
            state: Arc::new(Mutex::new(State::default())),
            opener,
            default_server: default_server.to_owned(),
        }
    }

    /// The identity of the plugin's services: the tokens kept in the user's config directory
    /// (signed in for this run only if there is none); a file that cannot be read is reported.
    pub fn kept_identity() -> (SignedIn, Option<String>) {
        match TokenStore::default_location().map(SignedIn::load) {
            Some(Ok(signed_in)) => (signed_in, None),
            Some(Err(e)) => (SignedIn::default(), Some(e.to_string())),
            None => (SignedIn::default(), None),
        }
    }

    /// Shows `error` in the panel.
    pub fn report(&self, error: impl Into<String>) {
        lock(&self.state).error = Some(error.into());
    }

    /// The server a sign-in goes to: the joined session's, else the default.
    fn server(&self) -> String {
        self.live
            .joined()
            .map_or_else(|| self.default_server.clone(), |j| j.server)
    }

    /// What a claim or lock works on (for its thread).
    fn ownership(&self) -> Ownership {
        Ownership {
            signed_in: self.signed_in.clone(),
            live: self.live.clone(),
        }
    }

    /// Claims the joined, unowned session, on this thread (the panel's Claim runs it on its
    /// own: [`PluginAccount::start_claim`]).
    pub fn claim_now(&self) -> Result<(), AccountError> {
        self.ownership().claim()
    }

    /// Locks (read-only for everyone else) or unlocks the joined session, which the user owns,
    /// on this thread ([`PluginAccount::start_set_locked`] runs it on its own).
    pub fn set_locked_now(&self, locked: bool) -> Result<(), AccountError> {
        self.ownership().set_locked(locked)
    }

    /// Claims the joined session on a thread of its own; the outcome shows in the status.
    pub fn start_claim(&self) -> Result<(), AccountError> {
        self.in_background("Claiming the session…", "you own this session", |o| {
            o.claim()
        })
    }

    /// Locks or unlocks the joined session on a thread of its own; the outcome shows in the
    /// status.
    pub fn start_set_locked(&self, locked: bool) -> Result<(), AccountError> {
        let (working, done) = if locked {
            ("Locking…", "locked: read-only for everyone else")
        } else {
            ("Unlocking…", "unlocked")
        };
        self.in_background(working, done, move |o| o.set_locked(locked))
    }

    /// Runs `job` on its own thread (one at a time), showing `working` until it ends, then
    /// `done` or its error. What can be told at once (not joined, signed out, busy) is an `Err`
    /// here, and nothing starts.
    fn in_background(
        &self,
        working: &str,
        done: &'static str,
        job: impl FnOnce(&Ownership) -> Result<(), AccountError> + Send + 'static,
    ) -> Result<(), AccountError> {
        if self.live.joined().is_none() {
            return Err(AccountError::NotJoined);
        }
        if self.signed_in.get().is_none() {
            return Err(AccountError::SignedOut);
        }
        {
            let mut s = lock(&self.state);
            if s.working.is_some() {
                return Err(AccountError::Busy);
            }
            s.working = Some(working.to_owned());
            s.notice = None;
            s.error = None;
        }
        let (ownership, state) = (self.ownership(), self.state.clone());
        let spawned = std::thread::Builder::new()
            .name("keyboardia-ownership".into())
            .spawn(move || {
                let outcome = job(&ownership);
                let mut s = lock(&state);
                s.working = None;
                match outcome {
                    Ok(()) => s.notice = Some(done.to_owned()),
                    Err(e) => s.error = Some(e.to_string()),
                }
            });
        spawned.map(drop).map_err(|e| {
            lock(&self.state).working = None;
            AccountError::Thread(e)
        })
    }

    /// Starts signing in (see the module doc); the outcome shows in the status.
    pub fn start_sign_in(&self) {
        let generation = {
            let mut s = lock(&self.state);
            s.generation += 1;
            s.pending = None;
            s.error = None;
            s.generation
        };
        let server = self.server();
        let auth = match Server::new(&server) {
            Ok(server) => Auth::new(server),
            Err(_) => return self.report(AccountError::BadServer(server).to_string()),
        };
        let flow = SignInFlow {
            auth,
            generation,
            state: self.state.clone(),
            signed_in: self.signed_in.clone(),
            live: Arc::downgrade(&self.live),
            opener: self.opener.clone(),
        };
        let spawned = std::thread::Builder::new()
            .name("keyboardia-sign-in".into())
            .spawn(move || flow.run());
        if let Err(e) = spawned {
            self.report(AccountError::Thread(e).to_string());
        }
    }

    /// Signs out: forgets the tokens here at once (the file too) and has the server revoke
    /// them in the background; a sign-in in progress is dropped (this is also its Cancel).
    pub fn sign_out_now(&self) {
        {
            let mut s = lock(&self.state);
            s.generation += 1;
            s.pending = None;
            s.error = None;
        }
        let who = self.signed_in.get();
        self.signed_in.set(None);
        if let Some(Err(e)) = self.signed_in.store().map(TokenStore::clear) {
            self.report(e.to_string());
        }
        let Some((auth, tokens)) = who else { return };
        // The room forgets the owner from the next connect.
        self.live.reconnect();
        let state = self.state.clone();
        let spawned = std::thread::Builder::new()
            .name("keyboardia-sign-out".into())
            .spawn(move || {
                if let Err(e) = block_on(auth.sign_out(&tokens)) {
                    lock(&state).error =
                        Some(format!("signed out here; the server was not told: {e}"));
                }
            });
        if let Err(e) = spawned {
            self.report(AccountError::Thread(e).to_string());
        }
    }

    /// What the panel shows. Tokens kept without the account's name have it asked for, once,
    /// in the background.
    pub fn status(&self) -> AccountStatus {
        let who = self.signed_in.get().map(|(_, t)| t);
        let account = who.as_ref().and_then(|t| t.account.clone());
        let mut s = lock(&self.state);
        if who.is_some() && account.is_none() && !s.asked_who {
            s.asked_who = true;
            self.ask_who();
        }
        let access = self.live.access().filter(|_| self.live.is_joined());
        let user_id = account.as_ref().map(|a| a.id.clone());
        let can_edit = access.as_ref().is_none_or(|a| {
            a.mode == Mode::Collaborative || (a.owner_id.is_some() && a.owner_id == user_id)
        });
        AccountStatus {
            name: account.as_ref().map(|a| a.name.clone()),
            email: account.map(|a| a.email),
            user_id,
            pending: s.pending.clone(),
            session_owner: access.as_ref().and_then(|a| a.owner_id.clone()),
            session_readonly: access.is_some_and(|a| a.mode == Mode::Readonly),
            can_edit,
            error: s.error.clone(),
            mail_sent_to: None,
            working: s.working.clone(),
            notice: s.notice.clone(),
        }
    }

    /// Asks the server who the kept tokens sign in, and keeps the answer with them.
    fn ask_who(&self) {
        let (signed_in, state) = (self.signed_in.clone(), self.state.clone());
        let _ = std::thread::Builder::new()
            .name("keyboardia-account".into())
            .spawn(move || {
                let asked = block_on(async {
                    let Some((auth, mut tokens)) = signed_in.fresh().await? else {
                        return Ok(());
                    };
                    tokens.account = Some(auth.me(&tokens).await?);
                    if let Some(store) = signed_in.store() {
                        store.save(&tokens)?;
                    }
                    signed_in.set(Some((auth, tokens)));
                    Ok::<_, AuthError>(())
                });
                if let Err(e) = asked {
                    lock(&state).error = Some(AccountError::from(e).to_string());
                }
            });
    }
}

impl Drop for PluginAccount {
    fn drop(&mut self) {
        // A sign-in still waiting for approval stops at its next poll.
        lock(&self.state).generation += 1;
    }
}

/// What a claim or lock needs, owned, so it runs on a thread of its own.
#[derive(Clone)]
struct Ownership {
    /// The identity whose tokens the request carries (refreshed first if need be).
    signed_in: SignedIn,
    /// The joined session, whose owner and mode the reply updates.
    live: Arc<Live>,
}

impl Ownership {
    /// The joined session with fresh tokens of its server.
    fn for_joined(&self) -> Result<(Joined, Auth, Tokens), AccountError> {
        let joined = self.live.joined().ok_or(AccountError::NotJoined)?;
        let (auth, tokens) = block_on(self.signed_in.fresh())?.ok_or(AccountError::SignedOut)?;
        if !same_server(auth.server(), &joined.server) {
            return Err(AccountError::OtherServer {
                signed_in: auth.server().base().to_owned(),
                session: joined.server,
            });
        }
        Ok((joined, auth, tokens))
    }

    fn claim(&self) -> Result<(), AccountError> {
        let (joined, auth, tokens) = self.for_joined()?;
        let session = block_on(auth.claim(&tokens, joined.session))?;
        self.live.set_access(
            session.id,
            Access {
                owner_id: session.owner_id,
                mode: session.mode,
            },
        );
        Ok(())
    }

    fn set_locked(&self, locked: bool) -> Result<(), AccountError> {
        let (joined, auth, tokens) = self.for_joined()?;
        let mode = if locked {
            Mode::Readonly
        } else {
            Mode::Collaborative
        };
        let session = block_on(auth.set_mode(&tokens, joined.session, mode))?;
        self.live.set_access(
            session.id,
            Access {
                owner_id: session.owner_id,
                mode: session.mode,
            },
        );
        Ok(())
    }
}

/// Whether `server` is the server at address `other`.
fn same_server(server: &Server, other: &str) -> bool {
    Server::new(other).is_ok_and(|o| o.base() == server.base())
}

/// A device-flow sign-in on its own thread.
struct SignInFlow {
    /// The server's sign-in client.
    auth: Auth,
    /// The sign-in count this flow belongs to (see [`State::generation`]).
    generation: u64,
    /// What the panel shows.
    state: Arc<Mutex<State>>,
    /// Where the tokens go.
    signed_in: SignedIn,
    /// Reconnected once signed in (held weakly: a sign-in never keeps a closed plugin alive).
    live: Weak<Live>,
    /// Opens the approval page.
    opener: Opener,
}

impl SignInFlow {
    /// Whether the user signed out or started over since this flow began.
    fn stale(&self) -> bool {
        lock(&self.state).generation != self.generation
    }

    fn run(self) {
        let outcome = block_on(self.sign_in());
        let mut s = lock(&self.state);
        if s.generation == self.generation {
            s.pending = None;
            if let Err(e) = outcome {
                s.error = Some(e.to_string());
            }
        }
    }

    async fn sign_in(&self) -> Result<(), AccountError> {
        let device = self.auth.start().await?;
        if self.stale() {
            return Ok(());
        }
        lock(&self.state).pending = Some(PendingSignIn {
            user_code: device.user_code.clone(),
            verification_uri: device.verification_uri_complete.clone(),
        });
        if let Err(e) = (self.opener)(&device.verification_uri_complete) {
            lock(&self.state).error = Some(format!(
                "no browser ({e}): open the link and check the code"
            ));
        }
        let deadline = Instant::now() + Duration::from_secs(device.expires_in);
        let mut interval = Duration::from_secs(device.interval.max(1));
        let mut tokens = loop {
            tokio::time::sleep(interval).await;
            if self.stale() {
                return Ok(());
            }
            if Instant::now() >= deadline {
                return Err(AccountError::Expired);
            }
            match self.auth.poll(&device, interval).await? {
                Poll::Pending { interval: next } => interval = next,
                Poll::Done(tokens) => break tokens,
            }
        };
        tokens.account = Some(self.auth.me(&tokens).await?);
        // Under the state's lock, so a sign-out either comes after (and signs these tokens
        // out) or before (and this flow drops them).
        let dropped = {
            let mut s = lock(&self.state);
            if s.generation == self.generation {
                s.error = match self.signed_in.store().map(|store| store.save(&tokens)) {
                    Some(Err(e)) => {
                        Some(format!("signed in for now; cannot keep the sign-in: {e}"))
                    }
                    _ => None,
                };
                self.signed_in.set(Some((self.auth.clone(), tokens)));
                None
            } else {
                Some(tokens)
            }
        };
        if let Some(tokens) = dropped {
            // Signed out meanwhile: these tokens are nobody's.
            let _ = self.auth.sign_out(&tokens).await;
            return Ok(());
        }
        if let Some(live) = self.live.upgrade() {
            live.reconnect();
        }
        Ok(())
    }
}

impl ui::Account for PluginAccount {
    fn account_status(&self) -> AccountStatus {
        self.status()
    }
    fn sign_in(&self) {
        self.start_sign_in()
    }
    fn sign_out(&self) {
        self.sign_out_now()
    }
    fn claim(&self) -> Result<(), LiveError> {
        self.start_claim().map_err(|e| LiveError(e.to_string()))
    }
    fn set_locked(&self, locked: bool) -> Result<(), LiveError> {
        self.start_set_locked(locked)
            .map_err(|e| LiveError(e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use keyboardia_core::oauth::Account;
    use keyboardia_ui::account_panel::offer;

    const ADA: &str = "u_0123456789abcdef0123456789abcdef";
    /// Nothing listens on port 1: every call to this server fails.
    const NOWHERE: &str = "http://127.0.0.1:1";

    fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while !done() {
            assert!(Instant::now() < deadline, "never: {what}");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// An account whose tokens (for `NOWHERE`, good for 15 min) are kept in `dir`.
    fn signed_in_account(dir: &std::path::Path) -> (Arc<Live>, PluginAccount, TokenStore) {
        let store = TokenStore::at(dir.join("auth.json"));
        store
            .save(&Tokens {
                server: NOWHERE.into(),
                access_token: "kbat.a".into(),
                refresh_token: "r".into(),
                expires_at_s: std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .unwrap()
                    .as_secs()
                    + 900,
                account: Some(Account {
                    id: ADA.into(),
                    email: "ada@example.org".into(),
                    name: "ada".into(),
                }),
            })
            .unwrap();
        let signed_in = SignedIn::load(store.clone()).unwrap();
        let live = Arc::new(Live::with_sign_in(
            &Arc::new(crate::session::SessionStore::default()),
            signed_in,
        ));
        let opened = |_: &str| Err("no browser here".to_owned());
        let account = PluginAccount::new(live.clone(), NOWHERE, Arc::new(opened));
        (live, account, store)
    }

    /// The text the account panel draws over `account` and `live` in one headless frame.
    fn panel_text(account: &PluginAccount, live: &Live) -> String {
        let ctx = egui::Context::default();
        let mut panel = keyboardia_ui::account_panel::AccountPanel::default();
        let mut out = ctx.run_ui(egui::RawInput::default(), |ui| panel.ui(ui, account, live));
        out.textures_delta.clear();
        let mut text = String::new();
        for clipped in &out.shapes {
            if let egui::Shape::Text(t) = &clipped.shape {
                text.push_str(t.galley.text());
                text.push('\n');
            }
        }
        text
    }

    #[test]
    fn the_panel_follows_the_kept_sign_in_and_the_joined_sessions_owner_and_mode() {
        let dir = std::env::temp_dir().join(format!("kb-account-{}", std::process::id()));
        let (live, account, store) = signed_in_account(&dir);
        // Signed in from the kept tokens, without asking the server.
        let s = account.status();
        assert_eq!(s.email.as_deref(), Some("ada@example.org"));
        assert_eq!(s.user_id.as_deref(), Some(ADA));
        let o = offer(&s, live.is_joined());
        assert!(!o.sign_in && !o.claim && o.lock.is_none() && !o.read_only);
        assert!(matches!(account.claim_now(), Err(AccountError::NotJoined)));

        // Joined (offline): unowned until the room says otherwise, so Claim is offered.
        let session = "6f2d8bcd-0b14-46ae-9f2d-8bcd0b1476ae".parse().unwrap();
        let joined = |server: &str| Joined {
            server: server.into(),
            session,
            name: "Ada".into(),
            pending: vec![],
        };
        live.join(joined(NOWHERE)).unwrap();
        let o = offer(&account.status(), live.is_joined());
        assert!(o.claim && !o.read_only);
        // Claim goes to the server, which is not there: a clear error, nothing changed.
        let e = account.claim_now().unwrap_err();
        assert!(
            matches!(e, AccountError::Auth(AuthError::Unreachable(_))),
            "{e}"
        );
        assert_eq!(live.access(), None);
        // The panel's Claim returns at once (its request runs on its own thread), says it
        // is working, then shows the failure.
        let t = Instant::now();
        ui::Account::claim(&account).expect("the claim starts");
        assert!(t.elapsed() < Duration::from_secs(1), "{:?}", t.elapsed());
        wait_for("the claim ends", || {
            let s = account.status();
            s.working.is_none() && s.error.is_some()
        });
        assert!(account.status().notice.is_none());
        assert_eq!(live.access(), None);
        // Someone else's locked session: read-only, Fork to edit, no claim, no lock.
        let other = Access {
            owner_id: Some("u_ffffffffffffffffffffffffffffffff".into()),
            mode: Mode::Readonly,
        };
        live.set_access(session, other);
        let s = account.status();
        assert!(!s.can_edit && s.session_readonly);
        let o = offer(&s, true);
        assert_eq!((o.claim, o.lock, o.read_only), (false, None, true));
        // Drawn headless, the panel says so.
        let drawn = panel_text(&account, &live);
        assert!(
            drawn.contains("Signed in as ada@example.org") && drawn.contains("Read-only"),
            "{drawn}"
        );
        assert!(drawn.contains("Fork to edit") && !drawn.contains("Lock session"));
        // Ada's own locked session: the lock toggle, on; she edits.
        live.set_access(
            session,
            Access {
                owner_id: Some(ADA.into()),
                mode: Mode::Readonly,
            },
        );
        let s = account.status();
        assert!(s.can_edit);
        assert_eq!(offer(&s, true).lock, Some(true));
        // A session on another server is not hers to claim with these tokens.
        live.join(joined("http://127.0.0.2:1")).unwrap();
        assert_eq!(live.access(), None, "a new session starts unknown");
        assert!(matches!(
            account.set_locked_now(true),
            Err(AccountError::OtherServer { .. })
        ));

        // Sign out: the file goes at once; telling the server fails here, and says so.
        account.sign_out_now();
        assert!(store.load().unwrap().is_none());
        let s = account.status();
        assert!(s.email.is_none() && offer(&s, true).sign_in);
        wait_for("the failed revocation is reported", || {
            account
                .status()
                .error
                .is_some_and(|e| e.contains("the server was not told"))
        });
        assert!(matches!(account.claim_now(), Err(AccountError::SignedOut)));
        live.leave();

        // Signing in to a server that is not there ends with an error and no code.
        account.start_sign_in();
        wait_for("the sign-in fails", || account.status().error.is_some());
        let s = account.status();
        assert!(s.pending.is_none() && s.email.is_none(), "{s:?}");
        assert!(offer(&s, false).sign_in);
        let _ = std::fs::remove_dir_all(dir);
    }
}
