//! Accounts and ownership against the real Worker under `wrangler dev` (issue 17), on one
//! server: the device authorization grant from the apps' client (`keyboardia_sync::auth`) with
//! the browser step in headless Chromium (sign in by the emailed link, which the local runtime
//! writes to a file, then approve), claim and lock, writes refused over REST and the WebSocket,
//! expired, forged and revoked tokens, the replay of a used sign-in link, and rate limits.
//! The browser app on the same server: sign-in by emailed link from the session page, claim
//! and lock from the page, a second browser seeing the session read-only with its grid
//! disabled and forking it, the creator's name on a published beat, sign-out revoking the
//! page's cookie, and the link's replay refused.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use keyboardia::account::Opener;
use keyboardia::live::Joined;
use keyboardia::services::Services;
use keyboardia::KeyboardiaParams;

use keyboardia_core::api::{claim_path, session_path, ticket_path, ME_PATH, TOKEN_PATH};
use keyboardia_core::oauth::{DeviceAuthorization, OAuthError};
use keyboardia_core::protocol::{ClientMessage, ServerMessage};
use keyboardia_core::{ErrorCode, Mode, Op};
use keyboardia_sync::auth::{Auth, AuthError, Poll, SignedIn, TokenStore, Tokens};
use keyboardia_sync::Server as SyncServer;
use keyboardia_tests::browser::{ensure_web_built, Browser, BrowserOptions};
use keyboardia_tests::server::{Http, LiveClient, Options, Server};
use keyboardia_ui::account_panel::offer;
use keyboardia_ui::host::Account as _;
use keyboardia_worker::token::{self, Kind};

const SECRET: &str = "test-secret-0123456789abcdef-0123456789";

fn server() -> Server {
    let mut options = Options::default();
    options.vars.extend(
        [
            ("AUTH_SECRET", SECRET),
            ("DEVICE_POLL_INTERVAL_S", "1"),
            ("RATE_SIGNIN_PER_MIN", "4"),
            ("RATE_TOKEN_PER_MIN", "40"),
            ("RATE_DEVICE_PER_MIN", "40"),
        ]
        .map(|(k, v)| (k.to_owned(), v.to_owned())),
    );
    // The browser app, served by the same Worker.
    ensure_web_built();
    Server::start_with_accounts(options)
}

/// Runs a page hook returning a promise; its value (panics with the rejection).
fn await_hook(browser: &Browser, call: &str) -> serde_json::Value {
    let v = browser.js_async(&format!(
        "const done = arguments[arguments.length - 1];
         Promise.resolve({call}).then((v) => done({{ ok: v }}), (e) => done({{ err: String(e) }}));"
    ));
    assert!(v["err"].is_null(), "{call} failed: {}", v["err"]);
    v["ok"].clone()
}

/// The page's account status (`window.keyboardia.account.status()`), parsed.
fn account_of(browser: &Browser) -> serde_json::Value {
    let text = browser.js("return window.keyboardia.account.status();");
    serde_json::from_str(text.as_str().expect("status text")).expect("status JSON")
}

/// Clicks the centre of the first track's `step` cell where the page drew it.
fn click_cell(browser: &Browser, step: u8) {
    let cell = browser.wait_for(
        &format!("window.keyboardia.cell(0, {step})"),
        Duration::from_secs(20),
    );
    let r: Vec<f64> = cell
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect();
    browser.click_at(r[0] + r[2] / 2.0, r[1] + r[3] / 2.0);
}

/// The text of the newest mail the local runtime wrote for `email`, waiting for it.
fn mail_to(dir: &Path, email: &str, not: &[String]) -> String {
    fn walk(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
        for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                walk(&p, out);
            } else if p.extension().is_some_and(|x| x == "txt") {
                out.push(p);
            }
        }
    }
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let mut files = Vec::new();
        walk(&dir.join(".wrangler/tmp"), &mut files);
        for f in files {
            let text = std::fs::read_to_string(&f).unwrap_or_default();
            if text.contains(email) && !not.contains(&text) {
                return text;
            }
        }
        assert!(
            Instant::now() < deadline,
            "no mail to {email} under {}",
            dir.display()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The sign-in link in a mail.
fn link_in(mail: &str) -> String {
    mail.split_whitespace()
        .find(|w| w.contains("/auth/magic#"))
        .expect("a sign-in link in the mail")
        .to_owned()
}

fn form(http: &Http, path: &str, body: &str) -> keyboardia_tests::server::HttpReply {
    http.request(
        "POST",
        path,
        &[("content-type", "application/x-www-form-urlencoded")],
        Some(body.as_bytes()),
    )
}

fn bearer(t: &str) -> String {
    format!("Bearer {t}")
}

/// Polls until the tokens come (the user approved in the browser).
fn wait_tokens(rt: &tokio::runtime::Runtime, auth: &Auth, d: &DeviceAuthorization) -> Tokens {
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut interval = Duration::from_secs(d.interval);
    loop {
        std::thread::sleep(interval);
        match rt.block_on(auth.poll(d, interval)).expect("poll") {
            Poll::Done(t) => return t,
            Poll::Pending { interval: next } => interval = next,
        }
        assert!(Instant::now() < deadline, "never approved");
    }
}

/// The approval page's button, once the page shows it.
fn click_when_shown(browser: &Browser, css: &str) {
    browser.wait_for(
        &format!("document.querySelector('{css}') !== null"),
        Duration::from_secs(20),
    );
    browser.click(css);
}

/// Waits (generously: the CI box is busy) until `done`.
fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !done() {
        assert!(Instant::now() < deadline, "never: {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn recv_error(c: &mut LiveClient) -> ErrorCode {
    match c.recv_until(|m| matches!(m, ServerMessage::Error(_))) {
        ServerMessage::Error(e) => e.code,
        _ => unreachable!(),
    }
}

#[test]
fn sign_in_from_the_app_claim_lock_and_every_refusal() {
    let server = server();
    let base = server.base_url();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let auth = Auth::new(SyncServer::new(&base).unwrap());
    let http = server.http("10.17.0.1");

    // --- The device flow: the app starts it and polls; the user signs in and approves in the
    // browser. ---
    let device = rt.block_on(auth.start()).expect("device authorization");
    assert!(
        device.verification_uri.ends_with("/auth/device"),
        "{device:?}"
    );
    assert!(device.verification_uri_complete.contains(&device.user_code));
    assert_eq!((device.expires_in, device.interval), (600, 1));
    // Before approval: authorization_pending, as the RFC words it; polled again at once:
    // slow_down (the app then waits 5 s longer).
    let raw = |code: &str| {
        form(
            &http,
            TOKEN_PATH,
            &format!(
                "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Adevice_code&client_id=keyboardia-app&device_code={code}"
            ),
        )
    };
    let pending = raw(&device.device_code);
    assert_eq!(pending.status, 400);
    assert_eq!(
        pending.json()["error"],
        "authorization_pending",
        "{}",
        pending.text()
    );
    match rt.block_on(auth.poll(&device, Duration::from_secs(1))) {
        Ok(Poll::Pending { interval }) => assert_eq!(interval, Duration::from_secs(6)),
        other => panic!("expected slow_down, got {other:?}"),
    }
    assert_eq!(raw("not-a-code").json()["error"], "invalid_grant");

    let browser = Browser::start(BrowserOptions::default());
    browser.goto(&device.verification_uri_complete);
    click_when_shown(&browser, "#email");
    browser.js("document.getElementById('email').value = 'ada@example.org'");
    browser.click("#send");
    browser.wait_for(
        "document.body.innerText.includes('Check your email')",
        Duration::from_secs(20),
    );
    let mail = mail_to(server.dir(), "ada@example.org", &[]);
    let link = link_in(&mail);
    assert!(link.starts_with(&base), "{link}");
    browser.goto(&link);
    click_when_shown(&browser, "#continue");
    click_when_shown(&browser, "#approve");
    let page = browser.body_text();
    assert!(
        page.contains(&device.user_code) || page.contains("Approve"),
        "{page}"
    );
    browser.wait_for(
        "document.body.innerText.includes('Approved')",
        Duration::from_secs(20),
    );
    // The sign-in link works once.
    let secret = link.split_once('#').unwrap().1;
    let replay = form(&http, "/auth/magic", &format!("token={secret}"));
    assert_eq!(replay.status, 400);
    assert!(replay.text().contains("already used"), "{}", replay.text());

    std::thread::sleep(Duration::from_secs(6)); // the interval after slow_down
    let tokens = wait_tokens(&rt, &auth, &device);
    let me = rt.block_on(auth.me(&tokens)).expect("me");
    assert_eq!(me.email, "ada@example.org");
    assert!(me.id.starts_with("u_"), "{me:?}");
    // A device code is spent once it gave tokens.
    assert_eq!(raw(&device.device_code).json()["error"], "invalid_grant");

    // --- Claim and lock. ---
    let session = http.create_session();
    let id = session.id;
    let sid = id.to_string();
    let claim = http.request("POST", &claim_path(&sid), &[], None);
    assert_eq!((claim.status, claim.code()), (401, "unauthorized".into()));
    let forged_header = bearer("kbat.e30.AAAA");
    let claim = http.request(
        "POST",
        &claim_path(&sid),
        &[("authorization", &forged_header)],
        None,
    );
    assert_eq!(claim.status, 401);
    let mut friend = LiveClient::join(&base, id, "friend");
    let claimed = rt.block_on(auth.claim(&tokens, id)).expect("claim");
    assert_eq!(claimed.owner_id.as_deref(), Some(me.id.as_str()));
    assert_eq!(claimed.mode, Mode::Collaborative);
    match rt.block_on(auth.claim(&tokens, id)) {
        Err(AuthError::Refused {
            status: 409,
            code: ErrorCode::AlreadyOwned,
            ..
        }) => {}
        other => panic!("expected 409, got {other:?}"),
    }
    // Collaborative: the friend still edits.
    let op = friend.edit(Op::SetTempo { v: 101.0 });
    match friend.recv_until(|m| matches!(m, ServerMessage::Applied(_))) {
        ServerMessage::Applied(b) => assert_eq!(b.op, op),
        _ => unreachable!(),
    }
    // Only the owner changes the mode: 401 signed out, 403 for someone else.
    let patch = |auth_header: Option<&str>, mode: &str| {
        let mut headers = vec![("content-type", "application/json")];
        if let Some(h) = auth_header {
            headers.push(("authorization", h));
        }
        http.request(
            "PATCH",
            &session_path(&sid),
            &headers,
            Some(format!(r#"{{"mode":"{mode}"}}"#).as_bytes()),
        )
    };
    assert_eq!(patch(None, "readonly").status, 401);
    let other = http.create(Some(r#"{"mode":"readonly"}"#));
    let other_key = other.header("keyboardia-owner-key").unwrap().to_owned();
    let other_id = other.session().id.to_string();
    let not_owner = http.request(
        "PATCH",
        &session_path(&other_id),
        &[("authorization", &bearer(&tokens.access_token))],
        Some(br#"{"mode":"collaborative"}"#),
    );
    assert_eq!(
        (not_owner.status, not_owner.code()),
        (403, "not_owner".into())
    );
    // An owner-key session is owned: no claim. Its key still locks and unlocks it.
    let owned = http.request(
        "POST",
        &claim_path(&other_id),
        &[("authorization", &bearer(&tokens.access_token))],
        None,
    );
    assert_eq!((owned.status, owned.code()), (409, "already_owned".into()));
    let by_key = http.request(
        "PATCH",
        &session_path(&other_id),
        &[("authorization", &bearer(&other_key))],
        Some(br#"{"mode":"readonly"}"#),
    );
    assert_eq!(by_key.status, 200, "{}", by_key.text());
    // The key buys a socket ticket, so it never goes in a URL; its socket edits the locked
    // session.
    let key_ticket = http.request(
        "POST",
        &ticket_path(&other_id),
        &[("authorization", &bearer(&other_key))],
        None,
    );
    assert_eq!(key_ticket.status, 200, "{}", key_ticket.text());
    let key_ticket = key_ticket.json()["ticket"].as_str().unwrap().to_owned();
    assert!(!key_ticket.contains(&other_key));
    let mut keyed = LiveClient::join_with(
        &base,
        other.session().id,
        "key-owner",
        &format!("?ticket={key_ticket}"),
    );
    let op = keyed.edit(Op::SetTempo { v: 111.0 });
    match keyed.recv_until(|m| matches!(m, ServerMessage::Applied(_))) {
        ServerMessage::Applied(b) => assert_eq!(b.op, op),
        _ => unreachable!(),
    }
    assert_eq!(patch(Some("Bearer nope"), "readonly").status, 403);
    let locked = rt
        .block_on(auth.set_mode(&tokens, id, Mode::Readonly))
        .expect("lock");
    assert_eq!(locked.mode, Mode::Readonly);
    // The friend's room hears the lock, and his edits, play and stop are refused.
    match friend.recv_until(|m| matches!(m, ServerMessage::Snapshot(_))) {
        ServerMessage::Snapshot(s) => assert_eq!(s.session.mode, Mode::Readonly),
        _ => unreachable!(),
    }
    friend.edit(Op::SetTempo { v: 99.0 });
    assert_eq!(recv_error(&mut friend), ErrorCode::ReadOnly);
    friend.send(&ClientMessage::Play);
    assert_eq!(recv_error(&mut friend), ErrorCode::ReadOnly);
    friend.send(&ClientMessage::Stop);
    assert_eq!(recv_error(&mut friend), ErrorCode::ReadOnly);
    // So is a newcomer's.
    let mut newcomer = LiveClient::join(&base, id, "newcomer");
    newcomer.edit(Op::SetTempo { v: 98.0 });
    assert_eq!(recv_error(&mut newcomer), ErrorCode::ReadOnly);
    // The owner joins with a ticket and edits and plays.
    let ticket = rt.block_on(auth.ticket(&tokens, id)).expect("ticket");
    assert_eq!(ticket.expires_in, 60);
    let mut owner = LiveClient::join_with(&base, id, "ada", &format!("?ticket={}", ticket.ticket));
    let op = owner.edit(Op::SetTempo { v: 124.0 });
    match owner.recv_until(|m| matches!(m, ServerMessage::Applied(_))) {
        ServerMessage::Applied(b) => assert_eq!(b.op, op),
        _ => unreachable!(),
    }
    owner.send(&ClientMessage::Play);
    owner.recv_until(|m| matches!(m, ServerMessage::Timeline(_)));
    // The sync thread's way in: a ticket asked for on each connect.
    let signed_in = keyboardia_sync::auth::SignedIn::default();
    assert_eq!(rt.block_on(signed_in.socket_query(id)), "");
    signed_in.set(Some((auth.clone(), tokens.clone())));
    let query = rt.block_on(signed_in.socket_query(id));
    assert!(query.starts_with("?ticket=kbtk."), "{query}");
    let mut synced = LiveClient::join_with(&base, id, "ada-sync", &query);
    let op = synced.edit(Op::SetSwing { v: 10.0 });
    match synced.recv_until(|m| matches!(m, ServerMessage::Applied(_))) {
        ServerMessage::Applied(b) => assert_eq!(b.op, op),
        _ => unreachable!(),
    }
    // A ticket is for one session; a made-up one opens nothing.
    assert!(LiveClient::open(&base, &other_id, &format!("?ticket={}", ticket.ticket)).is_err());
    assert!(LiveClient::open(&base, &sid, "?ticket=kbtk.e30.AAAA").is_err());
    let no_ticket = http.request("POST", &ticket_path(&sid), &[], None);
    assert_eq!(no_ticket.status, 401);

    // REST writes: refused for the friend, accepted for the owner.
    let state = serde_json::to_vec(&locked.state).unwrap();
    let put = http.put(&sid, &state);
    assert_eq!((put.status, put.code()), (403, "read_only".into()));
    let put = http.request(
        "PUT",
        &session_path(&sid),
        &[("authorization", &bearer(&tokens.access_token))],
        Some(&state),
    );
    assert_eq!(put.status, 200, "{}", put.text());
    let wav = keyboardia_core::audio::encode_wav_pcm16(48_000, 1, &[0, 100, -100, 0]).unwrap();
    let upload_path = format!("{}?name=x", keyboardia_core::api::samples_path(&sid));
    let up = http.request(
        "POST",
        &upload_path,
        &[("content-type", "audio/wav")],
        Some(&wav),
    );
    assert_eq!((up.status, up.code()), (403, "read_only".into()));
    let up = http.request(
        "POST",
        &upload_path,
        &[
            ("content-type", "audio/wav"),
            ("authorization", &bearer(&tokens.access_token)),
        ],
        Some(&wav),
    );
    assert_eq!(up.status, 201, "{}", up.text());
    // Fork stays open: the friend forks and edits his copy.
    let fork = http.fork(&sid);
    assert_eq!(fork.status, 201);
    let fork = fork.session();
    assert_eq!(
        (fork.mode, fork.owner_id.clone()),
        (Mode::Collaborative, None)
    );
    assert_eq!(fork.forked_from, Some(id));
    assert_eq!(http.put(&fork.id.to_string(), &state).status, 200);
    // The session as anyone reads it: owner and mode, no secret.
    let read = http.get(&sid);
    assert_eq!(read.json()["ownerId"], me.id.as_str());
    assert_eq!(read.json()["mode"], "readonly");
    assert!(!read.text().contains(&tokens.access_token));

    // A beat the owner publishes names its creator; an anonymous one names nobody.
    let beats = keyboardia_core::api::session_beats_path(&sid);
    let by_ada = http.request(
        "POST",
        &beats,
        &[("authorization", &bearer(&tokens.access_token))],
        None,
    );
    assert_eq!(by_ada.status, 201, "{}", by_ada.text());
    assert_eq!(by_ada.json()["createdBy"], me.id.as_str());
    let refused = http.request("POST", &beats, &[], None);
    assert_eq!((refused.status, refused.code()), (403, "read_only".into()));
    let fork_beats = keyboardia_core::api::session_beats_path(fork.id);
    let anon_beat = http.request("POST", &fork_beats, &[], None);
    assert_eq!(anon_beat.status, 201, "{}", anon_beat.text());
    assert!(anon_beat.json()["createdBy"].is_null());
    // The creator's beat is kept for good; the anonymous one expires after 90 days.
    let expiry = |path: &str| {
        let list = http.request("GET", path, &[], None);
        assert_eq!(list.status, 200, "{}", list.text());
        let line = list.json()["beats"][0].clone();
        (
            line["createdAt"].as_u64().unwrap(),
            line["expiresAt"].clone(),
        )
    };
    let (_, kept) = expiry(&beats);
    assert!(
        kept.is_null(),
        "a signed-in creator's beat never expires: {kept}"
    );
    let (created, expires) = expiry(&fork_beats);
    assert_eq!(
        expires.as_u64(),
        Some(created + keyboardia_core::beat::ANONYMOUS_BEAT_TTL_SECONDS * 1000)
    );

    // --- Expired, forged and revoked tokens. ---
    let me_with = |t: &str| http.request("GET", ME_PATH, &[("authorization", &bearer(t))], None);
    assert_eq!(me_with(&tokens.access_token).status, 200);
    let mut claims = token::verify(SECRET.as_bytes(), Kind::Access, &tokens.access_token, 0)
        .expect("the server's token verifies with its secret");
    claims.exp_ms = 1;
    let expired = token::sign(SECRET.as_bytes(), Kind::Access, &claims).unwrap();
    claims.exp_ms = u64::MAX / 2;
    let forged = token::sign(
        b"not-the-server-secret-0123456789abcdef",
        Kind::Access,
        &claims,
    )
    .unwrap();
    let ticket_as_access = ticket.ticket.replacen("kbtk.", "kbat.", 1);
    for bad in [&expired, &forged, &ticket_as_access, "kbat.x.y"] {
        let r = me_with(bad);
        assert_eq!((r.status, r.code()), (401, "unauthorized".into()), "{bad}");
        assert!(!r.text().contains(bad), "the refusal repeats no token");
    }
    // Refresh: new tokens; the old refresh token is spent, and replaying it revokes the grant.
    let refreshed = rt.block_on(auth.refresh(&tokens)).expect("refresh");
    assert_ne!(refreshed.access_token, tokens.access_token);
    assert_eq!(me_with(&refreshed.access_token).status, 200);
    match rt.block_on(auth.refresh(&tokens)) {
        Err(AuthError::OAuth(OAuthError::InvalidGrant)) => {}
        other => panic!("expected invalid_grant, got {other:?}"),
    }
    assert_eq!(
        me_with(&refreshed.access_token).status,
        401,
        "reuse revokes the grant"
    );

    // --- The plugin (its services, as the plugin and the standalone app hold them) signs in
    // from a live session it created (the browser is still signed in: approve at once),
    // claims and locks it; a friend's plugin sees it read-only, is refused an edit, and forks.
    let config = server.dir().join("plugin-config");
    let kept = TokenStore::at(config.join("keyboardia/auth.json"));
    let (opened_tx, opened) = std::sync::mpsc::channel::<String>();
    let opened_tx = std::sync::Mutex::new(opened_tx);
    let opener: Opener = Arc::new(move |url: &str| {
        let _ = opened_tx.lock().unwrap().send(url.to_owned());
        Ok(())
    });
    let ada_params = KeyboardiaParams::default();
    let (ada, _ada_audio) = Services::with_account(
        &ada_params,
        SignedIn::load(kept.clone()).unwrap(),
        opener.clone(),
    );
    let live_id = ada
        .live
        .create(&base, "ada")
        .expect("create a live session");
    wait_until("the plugin joins its session", || {
        ada.live.access().is_some_and(|a| a.owner_id.is_none())
    });
    let status = ada.account.account_status();
    assert!(offer(&status, true).sign_in, "{status:?}");
    ada.account.sign_in();
    let page = opened
        .recv_timeout(Duration::from_secs(20))
        .expect("the plugin opens the sign-in page");
    let pending = ada.account.account_status().pending.expect("a code shown");
    assert_eq!(pending.verification_uri, page);
    assert!(page.contains(&pending.user_code), "{page}");
    browser.goto(&page);
    click_when_shown(&browser, "#approve");
    browser.wait_for(
        "document.body.innerText.includes('Approved')",
        Duration::from_secs(20),
    );
    wait_until("the plugin is signed in", || {
        ada.account.account_status().email.as_deref() == Some("ada@example.org")
    });
    let status = ada.account.account_status();
    assert_eq!(status.user_id.as_deref(), Some(me.id.as_str()));
    let tokens2 = kept
        .load()
        .unwrap()
        .expect("tokens kept in the config directory");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(kept.path()).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "owner only");
    }
    // What the plugin saves with the DAW project: the session and the live session joined.
    let saved = format!(
        "{}{}",
        ada.store.json(),
        serde_json::to_string(&ada.live.saved_or_restored()).unwrap()
    );
    assert!(saved.contains(&live_id.to_string()), "the session is saved");
    assert!(
        !saved.contains(&tokens2.access_token) && !saved.contains(&tokens2.refresh_token),
        "no token in the DAW project"
    );
    // Claim and lock from the panel's commands: each returns at once (its request runs on a
    // thread of its own) and the panel follows.
    assert!(offer(&status, true).claim);
    ada.account.claim().expect("claim");
    wait_until("the claim lands", || {
        let s = ada.account.account_status();
        s.working.is_none() && s.session_owner.as_deref() == Some(me.id.as_str())
    });
    let status = ada.account.account_status();
    assert_eq!(status.notice.as_deref(), Some("you own this session"));
    assert_eq!(offer(&status, true).lock, Some(false));
    ada.account.set_locked(true).expect("lock");
    wait_until("the lock lands", || {
        let s = ada.account.account_status();
        s.working.is_none() && offer(&s, true).lock == Some(true)
    });
    // The friend's plugin, signed out, joins: read-only, with Fork to edit.
    let friend_params = KeyboardiaParams::default();
    let (friend, _friend_audio) =
        Services::with_account(&friend_params, SignedIn::default(), opener);
    friend
        .live
        .join(Joined {
            server: base.clone(),
            session: live_id,
            name: "friend".into(),
            pending: vec![],
        })
        .unwrap();
    wait_until("the friend's panel says read-only", || {
        let s = friend.account.account_status();
        s.session_readonly && offer(&s, true).read_only && s.locked_out(true)
    });
    let tempo = friend.store.state().tempo;
    friend.store.apply(&Op::SetTempo { v: 77.0 }).unwrap();
    wait_until("the room refuses the friend's edit", || {
        friend
            .live
            .status()
            .error
            .is_some_and(|e| e.contains("read-only"))
    });
    wait_until("the friend's copy is rolled back", || {
        friend.store.state().tempo == tempo
    });
    // The owner's plugin edits (its socket carries a ticket) and the friend hears it.
    ada.store.apply(&Op::SetTempo { v: 133.0 }).unwrap();
    wait_until("the owner's edit reaches the friend", || {
        friend.store.state().tempo == 133.0
    });
    assert_eq!(ada.live.status().error, None);
    // The friend forks and edits his copy.
    let forked = friend.live.fork().expect("fork");
    assert_ne!(forked, live_id);
    wait_until("the fork is the friend's to edit", || {
        friend
            .live
            .access()
            .is_some_and(|a| a.mode == Mode::Collaborative)
            && friend.account.account_status().can_edit
    });
    assert!(!offer(&friend.account.account_status(), true).read_only);
    // Sign out from the plugin: the tokens are forgotten and revoked.
    ada.account.sign_out();
    assert!(kept.load().unwrap().is_none());
    assert!(ada.account.account_status().email.is_none());
    wait_until("signing out revokes", || {
        me_with(&tokens2.access_token).status == 401
    });
    assert!(matches!(
        rt.block_on(auth.refresh(&tokens2)),
        Err(AuthError::OAuth(OAuthError::InvalidGrant))
    ));
    // Denied in the browser: access_denied.
    let device = rt.block_on(auth.start()).unwrap();
    browser.goto(&device.verification_uri_complete);
    click_when_shown(&browser, "#deny");
    browser.wait_for(
        "document.body.innerText.includes('Denied')",
        Duration::from_secs(20),
    );
    std::thread::sleep(Duration::from_secs(1));
    match rt.block_on(auth.wait(&device)) {
        Err(AuthError::OAuth(OAuthError::AccessDenied)) => {}
        other => panic!("expected access_denied, got {other:?}"),
    }

    // --- The browser app: Bea signs in from a session page by an emailed link. ---
    let web_id = keyboardia_tests::players::create_session(
        &base,
        &keyboardia_tests::onsets::four_on_the_floor(),
    );
    let page = format!("{base}/s/{web_id}");
    let bea = Browser::start(BrowserOptions::default());
    bea.goto(&page);
    bea.wait_for(
        "window.keyboardia && window.keyboardia.account && \
         JSON.parse(window.keyboardia.status()).joined",
        Duration::from_secs(60),
    );
    assert!(account_of(&bea)["email"].is_null(), "signed out at first");
    await_hook(
        &bea,
        "window.keyboardia.account.sendLink('bea@example.org')",
    );
    assert_eq!(account_of(&bea)["mailSentTo"], "bea@example.org");
    let bea_link = link_in(&mail_to(server.dir(), "bea@example.org", &[]));
    assert!(bea_link.starts_with(&base), "{bea_link}");
    bea.goto(&bea_link);
    click_when_shown(&bea, "#continue");
    // The link opens the session page, signed in, with no secret in its address.
    bea.wait_for(
        &format!(
            "location.pathname === '/s/{web_id}' && window.keyboardia && \
             window.keyboardia.account && \
             JSON.parse(window.keyboardia.account.status()).email === 'bea@example.org'"
        ),
        Duration::from_secs(60),
    );
    assert_eq!(bea.js("return location.href;"), page.as_str());
    let who = account_of(&bea);
    assert_eq!(who["name"], "bea", "{who}");
    let bea_id = who["userId"].as_str().unwrap().to_owned();
    assert!(bea_id.starts_with("u_"), "{who}");
    // The token is an HttpOnly cookie: the page's scripts cannot read it.
    let cookie = bea.cookie("kb_session").expect("the sign-in cookie");
    let script_cookies = bea.js("return document.cookie;");
    assert!(
        !script_cookies
            .as_str()
            .unwrap_or_default()
            .contains(&cookie),
        "HttpOnly"
    );
    let with_cookie = |origin: Option<&str>, method: &str, path: &str| {
        let c = format!("kb_session={cookie}");
        let mut headers = vec![("cookie", c.as_str())];
        if let Some(o) = origin {
            headers.push(("origin", o));
        }
        http.request(method, path, &headers, None)
    };
    assert_eq!(
        with_cookie(None, "GET", ME_PATH).json()["id"],
        bea_id.as_str()
    );
    // Another site cannot act with the cookie: no Origin of ours, no sign-in.
    let foreign = with_cookie(Some("http://evil.example"), "POST", &claim_path(web_id));
    assert_eq!(foreign.status, 401, "{}", foreign.text());
    assert!(
        !foreign.text().contains(&cookie),
        "the refusal repeats no token"
    );
    // Bea picks the name others see; a name that looks like an address is refused.
    await_hook(&bea, "window.keyboardia.account.setName('Bea B')");
    assert_eq!(account_of(&bea)["name"], "Bea B");
    let c = format!("kb_session={cookie}");
    let bad_name = http.request(
        "PATCH",
        ME_PATH,
        &[
            ("cookie", c.as_str()),
            ("origin", base.as_str()),
            ("content-type", "application/json"),
        ],
        Some(br#"{"name":"bea@example.org"}"#),
    );
    assert_eq!(
        (bad_name.status, bad_name.code()),
        (400, "invalid_name".into())
    );
    // Claim and lock from the page.
    await_hook(&bea, "window.keyboardia.account.claim()");
    await_hook(&bea, "window.keyboardia.account.lock(true)");
    bea.wait_for(
        &format!(
            "(() => {{ const s = JSON.parse(window.keyboardia.account.status()); \
             return s.sessionOwner === '{bea_id}' && s.readonly && s.canEdit && !s.lockedOut; }})()"
        ),
        Duration::from_secs(30),
    );
    let locked = http.get(&web_id.to_string()).session();
    assert_eq!(
        (locked.owner_id.as_deref(), locked.mode),
        (Some(bea_id.as_str()), Mode::Readonly)
    );
    // The owner's page edits the locked session (its socket carries a ticket).
    click_cell(&bea, 2);
    wait_until("the owner's click reaches the server", || {
        http.get(&web_id.to_string()).session().state.tracks[0].steps[2].on
    });
    // Ada's browser (signed in, not the owner) sees it read-only: the grid is disabled, and a
    // click sends nothing at all (no refusal comes back, nothing is pending).
    browser.goto(&page);
    browser.wait_for(
        "window.keyboardia && window.keyboardia.account && \
         JSON.parse(window.keyboardia.status()).joined && \
         JSON.parse(window.keyboardia.account.status()).lockedOut",
        Duration::from_secs(60),
    );
    let before = browser.state();
    assert!(before.tracks[0].steps[2].on && !before.tracks[0].steps[3].on);
    click_cell(&browser, 3);
    std::thread::sleep(Duration::from_millis(800));
    assert_eq!(browser.state(), before, "the grid is not editable");
    let st = browser.status();
    assert_eq!(
        (st["pending"].as_u64(), st["error"].is_null()),
        (Some(0), true),
        "{st}"
    );
    assert!(!http.get(&web_id.to_string()).session().state.tracks[0].steps[3].on);
    // Fork to edit: the fork opens, editable.
    let forked = await_hook(&browser, "window.keyboardia.fork()");
    let forked = forked.as_str().unwrap().to_owned();
    browser.wait_for(
        &format!(
            "location.pathname === '/s/{forked}' && window.keyboardia && \
             window.keyboardia.account && JSON.parse(window.keyboardia.status()).joined && \
             !JSON.parse(window.keyboardia.account.status()).lockedOut"
        ),
        Duration::from_secs(60),
    );
    click_cell(&browser, 3);
    wait_until("the fork is edited", || {
        http.get(&forked).session().state.tracks[0].steps[3].on
    });
    // A beat Bea publishes from the page shows her chosen name, never her address.
    let beat_link = await_hook(&bea, "window.keyboardia.beats.publish('By Bea')");
    let beat_link = beat_link.as_str().unwrap().to_owned();
    let beat_id = beat_link.rsplit('/').next().unwrap().to_owned();
    let beat = http.request("GET", &format!("/api/beats/{beat_id}"), &[], None);
    assert_eq!(beat.json()["creatorName"], "Bea B", "{}", beat.text());
    assert_eq!(beat.json()["createdBy"], bea_id.as_str());
    assert!(
        !beat.text().contains("bea@example.org"),
        "no email in a beat"
    );
    let listed = http.request(
        "GET",
        &keyboardia_core::api::session_beats_path(web_id),
        &[],
        None,
    );
    assert_eq!(listed.json()["beats"][0]["creatorName"], "Bea B");
    browser.goto(&beat_link);
    browser.wait_for(
        "window.keyboardia && window.keyboardia.beats && \
         (JSON.parse(window.keyboardia.beats.status()).viewing || {}).createdBy === 'Bea B'",
        Duration::from_secs(60),
    );
    // Sign out from the page: the cookie's sign-in is revoked, not only forgotten.
    await_hook(&bea, "window.keyboardia.account.signOut()");
    assert!(account_of(&bea)["email"].is_null());
    assert_eq!(with_cookie(None, "GET", ME_PATH).status, 401, "revoked");
    // The used link, opened again, is refused.
    bea.goto(&bea_link);
    click_when_shown(&bea, "#continue");
    bea.wait_for(
        "document.body.innerText.includes('already used')",
        Duration::from_secs(20),
    );
    let bea_secret = bea_link.split_once('#').unwrap().1.to_owned();

    // --- Rate limits: sign-in mails and the token endpoint, per client address. ---
    let limited = server.http("10.17.0.9");
    let statuses: Vec<u16> = (0..5)
        .map(|_| {
            form(
                &limited,
                "/auth/email",
                "email=eve%40example.org&next=%2Fauth%2Fdevice",
            )
            .status
        })
        .collect();
    assert_eq!(statuses, [200, 200, 200, 200, 429], "sign-in links");
    // 40 per minute: the bucket refills while the requests are made (under load, a few
    // seconds), so the refusal may come a few requests late, never early.
    let statuses: Vec<u16> = (0..60)
        .map(|_| {
            form(
                &limited,
                TOKEN_PATH,
                "grant_type=refresh_token&refresh_token=x",
            )
            .status
        })
        .collect();
    assert_eq!(statuses[..40], [400; 40]);
    assert!(
        statuses[40..].contains(&429),
        "token requests: {statuses:?}"
    );

    // No token, refresh token or link secret reached the server's log.
    let log = server.log_text();
    for secret in [
        tokens.access_token.as_str(),
        tokens.refresh_token.as_str(),
        tokens2.refresh_token.as_str(),
        secret,
        device.device_code.as_str(),
        cookie.as_str(),
        bea_secret.as_str(),
        other_key.as_str(),
    ] {
        assert!(!log.contains(secret), "a secret in the server log");
    }
}
