//! Signing in in the browser (issue 17): ui's [`Account`] over the page, by an emailed link.
//!
//! - **Sign in**: the panel asks for an address; the Worker mails a link (`POST /auth/email`,
//!   rate-limited) whose page returns to this session. Spending the link sets the sign-in
//!   cookie, and the app opens signed in. A page still waiting (the link opened in another
//!   tab) asks every few seconds whether it is signed in now.
//! - **Where the token lives**: in an `HttpOnly`, `SameSite=Lax` cookie the Worker sets (the
//!   site-wide `kb_session`, `Secure` over https), never in `localStorage`, a URL or a log. No
//!   script of the page can read it, so a script injected into the page could not carry it
//!   off (it could still act while the page is open; so could it with a token in storage, and
//!   for good); the Worker accepts it only with this site's `Origin` on anything that changes
//!   something, so another site cannot act with it. The page learns who it is from
//!   `GET /api/auth/me`, and its live socket carries a 60-second ticket bound to the session
//!   ([`crate::page::Page`] asks for one on each connect).
//! - **Sign out** has the server revoke the sign-in and clear the cookie, then reconnects
//!   anonymously.
//! - **Claim** and **Lock session** are requests in the background; the room then sends every
//!   player a fresh snapshot with the session's owner and mode, which the panel, the greyed
//!   grid and "Fork to edit" follow.

use std::cell::RefCell;
use std::rc::{Rc, Weak};

use keyboardia_core::oauth::Account as Who;
use keyboardia_core::Mode;
use keyboardia_ui::host::{Account, AccountStatus, LiveError};
use wasm_bindgen::prelude::*;

use crate::net::{self, HttpError};
use crate::page::Page;

/// How often a page waiting for its sign-in link asks whether it is signed in, in ms.
const SIGNED_IN_POLL_MS: i32 = 3_000;

/// Why an account request failed (what the panel shows).
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum AccountError {
    #[error("sign in first")]
    SignedOut,
    #[error("type your email address")]
    NoAddress,
    #[error("that is not an email address")]
    BadAddress,
    #[error("too many sign-in links asked for: wait a minute")]
    RateLimited,
    #[error("wait for the last request to finish")]
    Busy,
    /// The server refused or could not be reached.
    #[error("{0}")]
    Http(#[from] HttpError),
}

/// What the panel shows besides the session's owner and mode.
#[derive(Default)]
struct State {
    /// Who the page is signed in as (`None`: signed out or not known yet).
    who: Option<Who>,
    /// Where a sign-in link went, while the page waits for it.
    mail_sent_to: Option<String>,
    /// The request in flight.
    working: Option<String>,
    /// What the last request did.
    notice: Option<String>,
    /// The last failure.
    error: Option<String>,
    /// Whether the page is asking every few seconds whether it is signed in.
    polling: bool,
}

/// The page's account (see the module doc).
pub struct WebAccount {
    /// The page: its origin and session, who the socket is, the room's owner and mode.
    page: Rc<Page>,
    /// What the panel shows.
    state: RefCell<State>,
    /// This, for the background requests.
    me: Weak<WebAccount>,
}

impl WebAccount {
    /// The account of `page`, asking the server who the page is.
    pub fn new(page: Rc<Page>) -> Rc<Self> {
        let account = Rc::new_cyclic(|me| Self {
            page,
            state: RefCell::new(State::default()),
            me: me.clone(),
        });
        account.spawn(|a| async move {
            if let Err(e) = a.refresh().await {
                a.fail(e.into());
            }
        });
        account
    }

    fn spawn<F>(&self, f: impl FnOnce(Rc<Self>) -> F + 'static)
    where
        F: std::future::Future<Output = ()> + 'static,
    {
        if let Some(me) = self.me.upgrade() {
            wasm_bindgen_futures::spawn_local(f(me));
        }
    }

    fn fail(&self, e: AccountError) {
        let mut s = self.state.borrow_mut();
        s.working = None;
        s.error = Some(e.to_string());
        drop(s);
        self.page.request_repaint();
    }

    fn done(&self, notice: &str) {
        let mut s = self.state.borrow_mut();
        s.working = None;
        s.notice = Some(notice.to_owned());
        drop(s);
        self.page.request_repaint();
    }

    /// Asks the server who the page is; a change of sign-in reconnects the live socket.
    /// Returns whether the page is signed in.
    pub async fn refresh(self: &Rc<Self>) -> Result<bool, HttpError> {
        let who = net::me(&self.page.origin).await?;
        let user = who.as_ref().map(|w| w.id.clone());
        let known = self.page.user.borrow().clone();
        let signed_in = who.is_some();
        {
            let mut s = self.state.borrow_mut();
            if signed_in {
                s.mail_sent_to = None;
            }
            s.who = who;
        }
        self.page.user.replace(Some(user.clone()));
        // Signed in or out since the socket opened: reconnect (with a ticket, or without).
        let changed = known.as_ref().is_some_and(|k| *k != user);
        if changed || (signed_in != self.page.ticketed.get() && known.is_none()) {
            self.page.reconnect();
        }
        self.page.request_repaint();
        Ok(signed_in)
    }

    /// Mails a sign-in link to `email` that returns to this session.
    pub async fn send_link_now(self: &Rc<Self>, email: &str) -> Result<(), AccountError> {
        let email = email.trim();
        if email.is_empty() {
            return Err(AccountError::NoAddress);
        }
        let next = format!("/s/{}", self.page.session);
        match net::send_sign_in_link(&self.page.origin, email, &next).await {
            Ok(()) => {}
            Err(HttpError::Refused { status: 429, .. }) => return Err(AccountError::RateLimited),
            Err(HttpError::Refused { status: 400, .. }) => return Err(AccountError::BadAddress),
            Err(e) => return Err(e.into()),
        }
        self.state.borrow_mut().mail_sent_to = Some(email.to_owned());
        self.page.request_repaint();
        self.poll_signed_in();
        Ok(())
    }

    /// While a link is awaited, asks every few seconds whether the page is signed in now (the
    /// link may open in another tab).
    fn poll_signed_in(self: &Rc<Self>) {
        {
            let mut s = self.state.borrow_mut();
            if s.polling || s.who.is_some() || s.mail_sent_to.is_none() {
                s.polling = false;
                return;
            }
            s.polling = true;
        }
        let me = self.me.clone();
        let tick = Closure::once_into_js(move || {
            let Some(a) = me.upgrade() else { return };
            wasm_bindgen_futures::spawn_local(async move {
                let _ = a.refresh().await;
                a.state.borrow_mut().polling = false;
                a.poll_signed_in();
            });
        });
        if let Some(w) = web_sys::window() {
            let _ = w.set_timeout_with_callback_and_timeout_and_arguments_0(
                tick.unchecked_ref(),
                SIGNED_IN_POLL_MS,
            );
        }
    }

    /// Signs out: the server revokes the sign-in and clears the cookie; the socket reconnects
    /// anonymously.
    pub async fn sign_out_now(self: &Rc<Self>) -> Result<(), AccountError> {
        net::sign_out(&self.page.origin).await?;
        {
            let mut s = self.state.borrow_mut();
            s.who = None;
            s.mail_sent_to = None;
            s.notice = Some("signed out".into());
        }
        self.page.user.replace(Some(None));
        self.page.reconnect();
        Ok(())
    }

    /// Marks a request as started (one at a time).
    fn start(&self, working: &str) -> Result<(), AccountError> {
        let mut s = self.state.borrow_mut();
        if s.who.is_none() {
            return Err(AccountError::SignedOut);
        }
        if s.working.is_some() {
            return Err(AccountError::Busy);
        }
        s.working = Some(working.to_owned());
        s.notice = None;
        s.error = None;
        Ok(())
    }

    /// Claims this session for the signed-in user.
    pub async fn claim_now(self: &Rc<Self>) -> Result<(), AccountError> {
        self.start("Claiming the session…")?;
        match net::claim(&self.page.origin, self.page.session).await {
            Ok(_) => {
                self.done("you own this session");
                Ok(())
            }
            Err(e) => {
                self.fail(e.clone().into());
                Err(e.into())
            }
        }
    }

    /// Locks (read-only for everyone else) or unlocks this session, which the user owns.
    pub async fn set_locked_now(self: &Rc<Self>, locked: bool) -> Result<(), AccountError> {
        let (working, done, mode) = if locked {
            (
                "Locking…",
                "locked: read-only for everyone else",
                Mode::Readonly,
            )
        } else {
            ("Unlocking…", "unlocked", Mode::Collaborative)
        };
        self.start(working)?;
        match net::set_mode(&self.page.origin, self.page.session, mode).await {
            Ok(_) => {
                self.done(done);
                Ok(())
            }
            Err(e) => {
                self.fail(e.clone().into());
                Err(e.into())
            }
        }
    }

    /// Changes the display name others see (beats published from now on show it).
    pub async fn set_name_now(self: &Rc<Self>, name: &str) -> Result<(), AccountError> {
        self.start("Renaming…")?;
        match net::set_name(&self.page.origin, name).await {
            Ok(who) => {
                self.state.borrow_mut().who = Some(who);
                self.done("renamed");
                Ok(())
            }
            Err(e) => {
                self.fail(e.clone().into());
                Err(e.into())
            }
        }
    }

    /// The status, as the panel (and the test hooks) read it.
    pub fn status(&self) -> AccountStatus {
        let s = self.state.borrow();
        let client = self.page.client.borrow();
        let session = client.confirmed();
        AccountStatus {
            email: s.who.as_ref().map(|w| w.email.clone()),
            name: s.who.as_ref().map(|w| w.name.clone()),
            user_id: s.who.as_ref().map(|w| w.id.clone()),
            pending: None,
            session_owner: session.and_then(|s| s.owner_id.clone()),
            session_readonly: session.is_some_and(|s| s.mode == Mode::Readonly),
            can_edit: self.page.can_edit(),
            error: s.error.clone(),
            mail_sent_to: s.mail_sent_to.clone(),
            working: s.working.clone(),
            notice: s.notice.clone(),
        }
    }
}

impl Account for WebAccount {
    fn account_status(&self) -> AccountStatus {
        self.status()
    }

    fn signs_in_by_email(&self) -> bool {
        true
    }

    fn send_sign_in_link(&self, email: &str) {
        let email = email.to_owned();
        self.state.borrow_mut().error = None;
        self.spawn(|a| async move {
            if let Err(e) = a.send_link_now(&email).await {
                a.fail(e);
            }
        });
    }

    fn renames(&self) -> bool {
        true
    }

    fn set_display_name(&self, name: &str) {
        let name = name.to_owned();
        self.spawn(|a| async move {
            if let Err(e @ (AccountError::Busy | AccountError::SignedOut)) =
                a.set_name_now(&name).await
            {
                a.fail(e);
            }
        });
    }

    fn sign_out(&self) {
        self.spawn(|a| async move {
            if let Err(e) = a.sign_out_now().await {
                a.fail(e);
            }
        });
    }

    fn claim(&self) -> Result<(), LiveError> {
        if self.state.borrow().who.is_none() {
            return Err(LiveError(AccountError::SignedOut.to_string()));
        }
        self.spawn(|a| async move {
            if let Err(e @ (AccountError::Busy | AccountError::SignedOut)) = a.claim_now().await {
                a.fail(e);
            }
        });
        Ok(())
    }

    fn set_locked(&self, locked: bool) -> Result<(), LiveError> {
        if self.state.borrow().who.is_none() {
            return Err(LiveError(AccountError::SignedOut.to_string()));
        }
        self.spawn(move |a| async move {
            if let Err(e @ (AccountError::Busy | AccountError::SignedOut)) =
                a.set_locked_now(locked).await
            {
                a.fail(e);
            }
        });
        Ok(())
    }
}

fn set(o: &js_sys::Object, k: &str, v: JsValue) {
    let _ = js_sys::Reflect::set(o, &k.into(), &v);
}

/// A promise of `f`'s outcome: `"ok"`, or a rejection with the error's text.
fn promise<F>(f: F) -> JsValue
where
    F: std::future::Future<Output = Result<(), AccountError>> + 'static,
{
    wasm_bindgen_futures::future_to_promise(async move {
        f.await
            .map(|()| JsValue::from("ok"))
            .map_err(|e| JsValue::from(e.to_string()))
    })
    .into()
}

/// `window.keyboardia.account` for tests: `status()` (JSON text: the panel's status, the
/// display name, whether the grid is locked out), and what the panel's buttons do, as
/// promises: `sendLink(email)`, `claim()`, `lock(on)`, `setName(name)`, `signOut()`,
/// `refresh()`.
pub fn install_hooks(account: &Rc<WebAccount>) {
    let Some(hooks) = web_sys::window()
        .and_then(|w| js_sys::Reflect::get(&w, &"keyboardia".into()).ok())
        .filter(|h| h.is_object())
    else {
        return;
    };
    let o = js_sys::Object::new();
    let a = account.clone();
    let status = Closure::wrap(Box::new(move || -> JsValue {
        let s = a.status();
        let joined = a.page.client.borrow().is_joined();
        serde_json::json!({
            "email": s.email, "userId": s.user_id, "name": s.name,
            "sessionOwner": s.session_owner, "readonly": s.session_readonly,
            "canEdit": s.can_edit, "lockedOut": s.locked_out(joined),
            "mailSentTo": s.mail_sent_to, "working": s.working, "notice": s.notice,
            "error": s.error,
        })
        .to_string()
        .into()
    }) as Box<dyn Fn() -> JsValue>);
    set(&o, "status", status.into_js_value());
    let a = account.clone();
    let send = Closure::wrap(Box::new(move |email: String| -> JsValue {
        let a = a.clone();
        promise(async move { a.send_link_now(&email).await })
    }) as Box<dyn Fn(String) -> JsValue>);
    set(&o, "sendLink", send.into_js_value());
    let a = account.clone();
    let claim = Closure::wrap(Box::new(move || -> JsValue {
        let a = a.clone();
        promise(async move { a.claim_now().await })
    }) as Box<dyn Fn() -> JsValue>);
    set(&o, "claim", claim.into_js_value());
    let a = account.clone();
    let lock = Closure::wrap(Box::new(move |on: bool| -> JsValue {
        let a = a.clone();
        promise(async move { a.set_locked_now(on).await })
    }) as Box<dyn Fn(bool) -> JsValue>);
    set(&o, "lock", lock.into_js_value());
    let a = account.clone();
    let sign_out = Closure::wrap(Box::new(move || -> JsValue {
        let a = a.clone();
        promise(async move { a.sign_out_now().await })
    }) as Box<dyn Fn() -> JsValue>);
    set(&o, "signOut", sign_out.into_js_value());
    let a = account.clone();
    let rename = Closure::wrap(Box::new(move |name: String| -> JsValue {
        let a = a.clone();
        promise(async move { a.set_name_now(&name).await })
    }) as Box<dyn Fn(String) -> JsValue>);
    set(&o, "setName", rename.into_js_value());
    let a = account.clone();
    let refresh = Closure::wrap(Box::new(move || -> JsValue {
        let a = a.clone();
        promise(async move { a.refresh().await.map(drop).map_err(AccountError::from) })
    }) as Box<dyn Fn() -> JsValue>);
    set(&o, "refresh", refresh.into_js_value());
    let _ = js_sys::Reflect::set(&hooks, &"account".into(), &o);
}
