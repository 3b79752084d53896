//! The REST API of the real Worker under `wrangler dev`: create, load, save, fork, and every
//! error status (400, 403, 404, 405, 413, 426, 429), each with a typed JSON body and no change.

use keyboardia_core::{Mode, SessionState, DEFAULT_SEED};
use keyboardia_tests::server::{Options, Server};

const UNKNOWN: &str = "0b8a4c1e-6f7d-4e2a-9b3c-5d6e7f8a9b0c";

#[test]
fn create_load_save_fork_round_trip() {
    let server = Server::start();
    let http = server.http("10.0.0.1");

    // Create empty.
    let created = http.create(None);
    assert_eq!(created.status, 201, "{}", created.text());
    let s = created.session();
    // Each new session gets its own dice seed from the server.
    assert_ne!(s.state.seed, DEFAULT_SEED);
    assert_eq!(
        s.state,
        SessionState {
            seed: s.state.seed,
            ..SessionState::default()
        }
    );
    assert_eq!(s.mode, Mode::Collaborative);
    let id = s.id.to_string();

    // Load gives back exactly what was created.
    let loaded = http.get(&id);
    assert_eq!(loaded.status, 200);
    assert_eq!(loaded.header("content-type"), Some("application/json"));
    assert_eq!(loaded.session(), s);

    // Save the demo beat; load shows it, with the session's seed (a save cannot change it).
    let sent = SessionState::demo();
    assert_eq!(sent.seed, DEFAULT_SEED);
    let demo = SessionState {
        seed: s.state.seed,
        ..sent.clone()
    };
    let saved = http.put(&id, serde_json::to_string(&sent).unwrap().as_bytes());
    assert_eq!(saved.status, 200, "{}", saved.text());
    assert_eq!(saved.session().state, demo);
    let loaded = http.get(&id).session();
    assert_eq!(loaded.state, demo);
    assert!(loaded.updated_at >= s.updated_at);
    assert_eq!(loaded.created_at, s.created_at);

    // Fork: a new id, the same state (seed included), pointing back; the original is untouched.
    let forked = http.fork(&id);
    assert_eq!(forked.status, 201, "{}", forked.text());
    let f = forked.session();
    assert_ne!(f.id, s.id);
    assert_eq!(f.forked_from, Some(s.id));
    assert_eq!(f.state, demo);
    assert_eq!(http.get(&f.id.to_string()).session(), f);
    // Editing the fork leaves the original alone.
    http.put(
        &f.id.to_string(),
        br#"{"version":1,"tempo":90,"swing":0,"tracks":[]}"#,
    );
    assert_eq!(http.get(&id).session().state, demo);
    assert_eq!(http.get(&f.id.to_string()).session().state.tempo, 90.0);

    // Create with a state, and with an old (version 0) document that core migrates.
    let with_state = http.create(Some(&format!(
        r#"{{"state":{}}}"#,
        serde_json::to_string(&demo).unwrap()
    )));
    let with_state = with_state.session().state;
    // Its own seed, not the one in the body.
    assert_ne!(with_state.seed, demo.seed);
    assert_eq!(
        with_state,
        SessionState {
            seed: with_state.seed,
            ..demo.clone()
        }
    );
    let v0 = r#"{"state":{"tempo":100,"tracks":[{"id":"t1","name":"Kick","sampleId":"kick",
        "steps":[true,false,false,false,true],"parameterLocks":[],"volume":0.5,"muted":false,
        "stepCount":16}]}}"#;
    let migrated = http.create(Some(v0));
    assert_eq!(migrated.status, 201, "{}", migrated.text());
    let m = migrated.session();
    assert_eq!(m.state.tempo, 100.0);
    assert_eq!(m.state.tracks.len(), 1);
    assert!(m.state.tracks[0].steps[4].on);

    // Ids are random v4 UUIDs: many creates, no repeats.
    let mut ids = std::collections::HashSet::new();
    for _ in 0..20 {
        assert!(ids.insert(http.create_session().id));
    }
}

#[test]
fn every_error_status_is_typed_and_changes_nothing() {
    let server = Server::start();
    let http = server.http("10.0.0.2");
    let s = http.create_session();
    let id = s.id.to_string();
    let before = http.get(&id).text();

    let expect = |reply: keyboardia_tests::server::HttpReply, status: u16, code: &str| {
        assert_eq!(reply.status, status, "{}", reply.text());
        assert_eq!(reply.code(), code, "{}", reply.text());
        assert!(!reply.json()["msg"].as_str().unwrap_or("").is_empty());
    };

    // 400: malformed ids in every route.
    expect(http.get("nope"), 400, "invalid_id");
    expect(http.put("nope", b"{}"), 400, "invalid_id");
    expect(http.fork("nope"), 400, "invalid_id");
    expect(
        http.request("GET", "/api/sessions/nope/ws", &[], None),
        400,
        "invalid_id",
    );
    expect(
        http.upload("nope", "audio/wav", "x", b"RIFF"),
        400,
        "invalid_id",
    );
    // A v1 UUID is not a session id either.
    expect(
        http.get("0b8a4c1e-6f7d-1e2a-9b3c-5d6e7f8a9b0c"),
        400,
        "invalid_id",
    );

    // 400: bad bodies, each with core's code.
    expect(http.put(&id, b"not json"), 400, "malformed");
    expect(http.put(&id, b""), 400, "malformed");
    expect(
        http.put(&id, br#"{"version":1,"tempo":1000,"swing":0,"tracks":[]}"#),
        400,
        "out_of_range",
    );
    expect(
        http.put(
            &id,
            br#"{"version":1,"tempo":120,"swing":0,"tracks":[],"extra":1}"#,
        ),
        400,
        "malformed",
    );
    expect(
        http.put(&id, br#"{"version":99,"tempo":120,"swing":0,"tracks":[]}"#),
        400,
        "unsupported_version",
    );
    let mut too_many = SessionState::demo();
    let mut seventeen = Vec::new();
    for i in 0..17 {
        let mut t = too_many.tracks[0].clone();
        t.id = format!("t{i}").parse().unwrap();
        seventeen.push(t);
    }
    too_many.tracks = seventeen;
    expect(
        http.put(&id, serde_json::to_string(&too_many).unwrap().as_bytes()),
        400,
        "too_many_tracks",
    );
    let mut dup = SessionState::demo();
    dup.tracks[1].id = dup.tracks[0].id;
    expect(
        http.put(&id, serde_json::to_string(&dup).unwrap().as_bytes()),
        400,
        "duplicate_track_id",
    );
    expect(http.create(Some("[1,2")), 400, "malformed");
    expect(http.create(Some(r#"{"unknown":true}"#)), 400, "malformed");
    expect(
        http.create(Some(
            r#"{"state":{"version":1,"tempo":120,"swing":500,"tracks":[]}}"#,
        )),
        400,
        "out_of_range",
    );

    // 404: unknown sessions and endpoints.
    expect(http.get(UNKNOWN), 404, "not_found");
    expect(
        http.put(
            UNKNOWN,
            br#"{"version":1,"tempo":120,"swing":0,"tracks":[]}"#,
        ),
        404,
        "not_found",
    );
    expect(http.fork(UNKNOWN), 404, "not_found");
    expect(
        http.request("GET", "/api/nothing", &[], None),
        404,
        "not_found",
    );
    // (`/` is the web app's start page now: tests/tests/worker_pages.rs.)
    expect(
        http.request("GET", &format!("/api/sessions/{id}/nothing"), &[], None),
        404,
        "not_found",
    );

    // 405: a known path with the wrong method.
    expect(
        http.request("DELETE", &format!("/api/sessions/{id}"), &[], None),
        405,
        "method_not_allowed",
    );
    expect(
        http.request("GET", "/api/sessions", &[], None),
        405,
        "method_not_allowed",
    );

    // 413: more than core's document limit, by header and by body.
    let huge = vec![b' '; keyboardia_core::schema::MAX_DOCUMENT_BYTES + 1];
    expect(http.put(&id, &huge), 413, "too_large");
    expect(
        http.request("POST", "/api/sessions", &[], Some(&huge)),
        413,
        "too_large",
    );

    // 426: the live endpoint without an upgrade.
    expect(
        http.request("GET", &format!("/api/sessions/{id}/ws"), &[], None),
        426,
        "malformed",
    );

    // Nothing above changed the session.
    assert_eq!(http.get(&id).text(), before);
}

#[test]
fn readonly_sessions_need_the_owner_key() {
    let server = Server::start();
    let http = server.http("10.0.0.3");
    let created = http.create(Some(r#"{"mode":"readonly"}"#));
    assert_eq!(created.status, 201, "{}", created.text());
    let key = created
        .header("keyboardia-owner-key")
        .expect("an owner key")
        .to_owned();
    let s = created.session();
    assert_eq!(s.mode, Mode::Readonly);
    // Only a hash of the key is stored.
    let owner = s.owner_id.clone().expect("an owner id");
    assert!(!owner.contains(&key));
    assert!(!created.text().contains(&key));
    let id = s.id.to_string();
    let body = br#"{"version":1,"tempo":99,"swing":0,"tracks":[]}"#;

    let refused = http.put(&id, body);
    assert_eq!(refused.status, 403, "{}", refused.text());
    assert_eq!(refused.code(), "read_only");
    let wrong = http.request(
        "PUT",
        &format!("/api/sessions/{id}"),
        &[("authorization", "Bearer wrong")],
        Some(body),
    );
    assert_eq!(wrong.status, 403);
    assert_eq!(http.get(&id).session().state.tempo, 120.0);

    let auth = format!("Bearer {key}");
    let ok = http.request(
        "PUT",
        &format!("/api/sessions/{id}"),
        &[("authorization", &auth)],
        Some(body),
    );
    assert_eq!(ok.status, 200, "{}", ok.text());
    assert_eq!(http.get(&id).session().state.tempo, 99.0);

    // Anyone may fork; the fork is collaborative and unowned.
    let f = http.fork(&id).session();
    assert_eq!(f.mode, Mode::Collaborative);
    assert_eq!(f.owner_id, None);
    assert_eq!(
        http.put(&f.id.to_string(), body).status,
        200,
        "forks are editable"
    );
}

#[test]
fn client_addresses_are_rate_limited() {
    let server = Server::start_with(Options {
        vars: vec![
            ("RATE_CREATE_PER_MIN".into(), "5".into()),
            ("RATE_FORK_PER_MIN".into(), "3".into()),
            ("RATE_UPLOAD_PER_MIN".into(), "2".into()),
        ],
        ..Options::default()
    });
    let a = server.http("10.0.1.1");
    let b = server.http("10.0.1.2");
    let mut ids = Vec::new();
    for _ in 0..5 {
        ids.push(a.create_session().id.to_string());
    }
    let limited = a.create(None);
    assert_eq!(limited.status, 429, "{}", limited.text());
    assert_eq!(limited.code(), "rate_limited");
    let retry: u64 = limited
        .header("retry-after")
        .expect("Retry-After")
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry), "retry after {retry}");
    // Another address is not affected; reads are never limited.
    assert_eq!(b.create(None).status, 201);
    for id in &ids {
        assert_eq!(a.get(id).status, 200);
    }

    for _ in 0..3 {
        assert_eq!(a.fork(&ids[0]).status, 201);
    }
    let limited = a.fork(&ids[0]);
    assert_eq!(
        (limited.status, limited.code().as_str()),
        (429, "rate_limited")
    );

    let wav = keyboardia_core::audio::encode_wav_pcm16(8000, 1, &[0; 800]).unwrap();
    for _ in 0..2 {
        assert_eq!(a.upload(&ids[0], "audio/wav", "s", &wav).status, 201);
    }
    let limited = a.upload(&ids[0], "audio/wav", "s", &wav);
    assert_eq!(
        (limited.status, limited.code().as_str()),
        (429, "rate_limited")
    );
    assert_eq!(b.upload(&ids[0], "audio/wav", "s", &wav).status, 201);
}

#[test]
fn ttl_renewal_on_read_goes_through_the_session_object() {
    // Renew on every read, so each GET below takes the renewal path.
    let mut options = Options::default();
    options.vars.push(("KV_RENEW_AFTER_MS".into(), "0".into()));
    let server = Server::start_with(options);
    let http = server.http("10.0.0.4");
    let s = http.create_session();
    let id = s.id.to_string();
    for _ in 0..3 {
        let got = http.get(&id);
        assert_eq!(got.status, 200, "{}", got.text());
        assert_eq!(got.session(), s);
    }
    let demo = SessionState {
        seed: s.state.seed,
        ..SessionState::demo()
    };
    http.put(&id, serde_json::to_string(&demo).unwrap().as_bytes());
    assert_eq!(http.get(&id).session().state, demo);
    // A live edit is visible at once: the renewal answers with the object's current state.
    let mut c = keyboardia_tests::server::LiveClient::join(&server.base_url(), s.id, "p");
    let op = c.edit(keyboardia_core::Op::SetSwing { v: 12.0 });
    loop {
        if let keyboardia_core::protocol::ServerMessage::Applied(b) = c.recv() {
            assert_eq!(b.op, op);
            break;
        }
    }
    assert_eq!(http.get(&id).session().state.swing, 12.0);
    assert_eq!(http.get(UNKNOWN).status, 404);
}
