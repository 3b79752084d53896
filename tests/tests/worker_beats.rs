//! Beats through the real Worker under `wrangler dev` (the seed's phase 10): a published beat is
//! an immutable snapshot, lists under its session, remixes into a new session that names it, keeps
//! its samples after the session's are gone, and every refusal has its status and code. The
//! plugin's beats (over sync's REST client, with a real live session) publish, list, open a
//! beat read-only with its pinned sample, remix and close against the same Worker.

use keyboardia_core::api::{self, BeatList, OWNER_KEY_HEADER};
use keyboardia_core::audio::encode_wav_pcm16;
use keyboardia_core::beat::{Beat, BEAT_NAME_MAX_BYTES, MAX_PUBLISH_BODY_BYTES};
use keyboardia_core::{BeatId, Instrument, SampleId, Session, Track};
use keyboardia_tests::server::{Http, HttpReply, Options, Server};

fn expect(reply: &HttpReply, status: u16, code: &str) {
    assert_eq!(reply.status, status, "{}", reply.text());
    if !code.is_empty() {
        assert_eq!(reply.code(), code, "{}", reply.text());
    }
}

fn publish(http: &Http, session: &str, body: Option<&str>, headers: &[(&str, &str)]) -> HttpReply {
    http.request(
        "POST",
        &api::session_beats_path(session),
        headers,
        body.map(str::as_bytes),
    )
}

fn beat_of(reply: &HttpReply) -> Beat {
    serde_json::from_slice(&reply.body).unwrap_or_else(|e| panic!("{e}: {}", reply.text()))
}

fn session_of(reply: &HttpReply) -> Session {
    serde_json::from_slice(&reply.body).unwrap_or_else(|e| panic!("{e}: {}", reply.text()))
}

#[test]
fn beats_are_immutable_listed_remixed_and_keep_their_samples() {
    let server = Server::start();
    let http = server.http("10.5.0.1");
    let s = http.create_session();
    let id = s.id.to_string();

    // A session that plays a shared sample.
    let wav = encode_wav_pcm16(
        22_050,
        1,
        &(0..11_025)
            .map(|i| ((i as f32 * 0.05).sin() * 12_000.0) as i16)
            .collect::<Vec<_>>(),
    )
    .unwrap();
    let up = http.upload(&id, "audio/wav", "vox", &wav);
    expect(&up, 201, "");
    let sample: SampleId = up.json()["id"].as_str().unwrap().parse().unwrap();
    let mut state = s.state.clone();
    state.tracks.push(Track::new(
        "vox".parse().unwrap(),
        "vox",
        Instrument::Sample(sample.clone()),
    ));
    state.tempo = 101.0;
    expect(
        &http.put(&id, &serde_json::to_vec(&state).unwrap()),
        200,
        "",
    );

    // Publish: the beat is the session's state at that moment, seed included.
    let first = publish(&http, &id, Some(r#"{"name":"  First  "}"#), &[]);
    expect(&first, 201, "");
    let beat = beat_of(&first);
    assert_eq!(beat.name.as_deref(), Some("First"));
    assert_eq!(beat.source_session_id, s.id);
    assert_eq!(beat.state, http.get(&id).session().state);
    let beat_path = api::beat_path(beat.id);

    // Editing the session afterwards leaves the beat byte-identical.
    state.tempo = 140.0;
    state.tracks.remove(0);
    expect(
        &http.put(&id, &serde_json::to_vec(&state).unwrap()),
        200,
        "",
    );
    let again = http.request("GET", &beat_path, &[], None);
    expect(&again, 200, "");
    assert!(
        again.body == first.body,
        "the beat changed with its session"
    );

    // A second, unnamed beat; the history lists both, oldest first.
    let second = beat_of(&publish(&http, &id, None, &[]));
    assert_eq!(second.name, None);
    assert_eq!(second.state.tempo, 140.0);
    let list = http.request("GET", &api::session_beats_path(&id), &[], None);
    expect(&list, 200, "");
    let list: BeatList = serde_json::from_slice(&list.body).unwrap();
    let ids: Vec<BeatId> = list.beats.iter().map(|b| b.id).collect();
    assert_eq!(ids, vec![beat.id, second.id]);
    assert_eq!(list.beats[0].name.as_deref(), Some("First"));

    // The session's samples go (their lifecycle); the beat's pinned copy stays.
    let dropped = http.request("POST", &api::drop_samples_path(&id), &[], None);
    expect(&dropped, 200, "");
    assert_eq!(dropped.json()["dropped"], 1);
    expect(
        &http.request("GET", &api::sample_path(&id, &sample), &[], None),
        404,
        "not_found",
    );
    let pinned = http.request("GET", &api::beat_sample_path(beat.id, &sample), &[], None);
    expect(&pinned, 200, "");
    assert!(pinned.body == wav, "the pinned sample differs");

    // Remix: a new editable session named after the beat, sounding like it, with its samples.
    let remix = http.request("POST", &api::remix_path(beat.id), &[], None);
    expect(&remix, 201, "");
    let remix = session_of(&remix);
    assert_eq!(remix.remixed_from, Some(beat.id));
    assert_ne!(remix.id, s.id);
    assert_eq!(remix.state, beat.state);
    let remix_id = remix.id.to_string();
    assert_eq!(http.get(&remix_id).session().remixed_from, Some(beat.id));
    let copied = http.request("GET", &api::sample_path(&remix_id, &sample), &[], None);
    expect(&copied, 200, "");
    assert!(copied.body == wav);
    state.tempo = 90.0;
    expect(
        &http.put(&remix_id, &serde_json::to_vec(&state).unwrap()),
        200,
        "",
    );
    assert!(http.request("GET", &beat_path, &[], None).body == first.body);

    plugin_beats(&server.base_url(), s.id, &beat, &sample, &wav);
}

/// The plugin's beats (sync's REST client under them) against the real Worker.
fn plugin_beats(
    base: &str,
    session: keyboardia_core::SessionId,
    first: &Beat,
    sample: &SampleId,
    wav: &[u8],
) {
    use keyboardia::beats::PluginBeats;
    use keyboardia::live::{Joined, Live};
    use keyboardia::session::SessionStore;
    use keyboardia_ui::host::Beats as _;
    use std::sync::Arc;
    use std::time::{Duration, Instant};

    let wait = |what: &str, done: &dyn Fn() -> bool| {
        let deadline = Instant::now() + Duration::from_secs(20);
        while !done() {
            assert!(Instant::now() < deadline, "timed out: {what}");
            std::thread::sleep(Duration::from_millis(50));
        }
    };
    let store = Arc::new(SessionStore::default());
    let live = Arc::new(Live::new(&store));
    let beats = PluginBeats::new(store.clone(), live.clone());
    assert!(
        beats.publish_now("x").is_err(),
        "publishing needs a session"
    );
    let joined = Joined {
        server: base.to_owned(),
        session,
        name: "Ada".into(),
        pending: vec![],
    };
    live.join(joined).unwrap();
    wait("the plugin joins", &|| {
        live.status().connection == Some(keyboardia_ui::host::Connection::Joined)
    });
    let mine = store.state();

    // Publish with a name; the history lists it after the two published above.
    let published = beats.publish_now("From the plugin").unwrap();
    assert_eq!(published.name.as_deref(), Some("From the plugin"));
    assert_eq!(published.state, mine);
    assert_eq!(beats.history_now().unwrap(), 3);
    assert_eq!(beats.beats_status().history[0].id, first.id);

    // Open the first beat read-only: its state and its pinned sample (the session's is gone).
    beats.open_now(None, first.id).unwrap();
    let status = beats.beats_status();
    let view = status.viewing.expect("a beat is shown");
    assert_eq!(view.id, first.id);
    assert_eq!(view.link, format!("{base}/b/{}", first.id));
    assert_eq!(
        view.source_link,
        Some(format!("{base}/s/{session}")),
        "the source session still exists"
    );
    assert_eq!(store.state(), first.state);
    assert!(
        store.sample_ids().contains(sample),
        "the pinned sample is loaded"
    );
    let decoded = keyboardia_core::audio::decode_wav(wav).unwrap();
    assert!(!decoded.frames.is_empty());
    assert!(
        !live.is_joined(),
        "the session is put aside while a beat shows"
    );

    // Close brings the pattern and the session back.
    beats.close_now();
    assert_eq!(store.state(), mine);
    assert!(live.is_joined());

    // A beat link opens it too; Remix joins a new session named after the beat.
    let link = format!("keyboardia:{base}/b/{}", first.id);
    let opened = keyboardia_ui::host::LiveSession::open_beat_link(&beats, &link);
    assert!(matches!(opened, Some(Ok(_))), "{opened:?}");
    let remix = beats.remix_now().unwrap();
    assert!(beats.beats_status().viewing.is_none());
    assert_eq!(live.joined().unwrap().session, remix);
    let http = Http::new(base.to_owned(), "10.5.0.9");
    assert_eq!(
        http.get(&remix.to_string()).session().remixed_from,
        Some(first.id)
    );
    wait("the remix's room state arrives", &|| {
        live.status().connection == Some(keyboardia_ui::host::Connection::Joined)
            && store.state() == first.state
    });
    live.leave();
}

#[test]
fn beat_refusals_have_their_status_and_code() {
    let mut options = Options::default();
    options.vars.retain(|(k, _)| k != "RATE_PUBLISH_PER_MIN");
    options
        .vars
        .push(("RATE_PUBLISH_PER_MIN".into(), "3".into()));
    let server = Server::start_with(options);
    let http = server.http("10.5.0.2");
    let s = http.create_session();
    let id = s.id.to_string();
    let unknown = "0b8a4c1e-6f7d-4e2a-9b3c-5d6e7f8a9b0c";

    // Ids: malformed 400, unknown 404.
    expect(
        &http.request("GET", "/api/beats/not-a-uuid", &[], None),
        400,
        "invalid_id",
    );
    expect(
        &http.request("GET", &api::beat_path(unknown), &[], None),
        404,
        "not_found",
    );
    expect(
        &http.request("POST", &api::remix_path(unknown), &[], None),
        404,
        "not_found",
    );
    expect(&publish(&http, unknown, None, &[]), 404, "not_found");
    let none = http.request("GET", &api::session_beats_path(unknown), &[], None);
    expect(&none, 200, "");
    assert_eq!(none.json()["beats"], serde_json::json!([]));

    // Bodies: a bad name, bad JSON, unknown fields, too large. (Each request draws on its
    // address's publish allowance, 3 a minute here, so each comes from its own address.)
    let fresh = |n: u8| server.http(&format!("10.5.1.{n}"));
    let long = format!(r#"{{"name":"{}"}}"#, "x".repeat(BEAT_NAME_MAX_BYTES + 1));
    expect(
        &publish(&fresh(1), &id, Some(&long), &[]),
        400,
        "invalid_name",
    );
    expect(&publish(&fresh(2), &id, Some("{"), &[]), 400, "");
    expect(
        &publish(&fresh(3), &id, Some(r#"{"name":"a","state":{}}"#), &[]),
        400,
        "",
    );
    let huge = format!(r#"{{"name":"{}"}}"#, " ".repeat(MAX_PUBLISH_BODY_BYTES));
    expect(&publish(&fresh(4), &id, Some(&huge), &[]), 413, "");

    // A beat never changes: PUT, PATCH and DELETE are refused.
    let beat = beat_of(&publish(&http, &id, None, &[]));
    for method in ["PUT", "PATCH", "DELETE"] {
        let reply = http.request(method, &api::beat_path(beat.id), &[], Some(b"{}"));
        expect(&reply, 405, "method_not_allowed");
    }

    // A read-only session publishes for its owner only.
    let ro = http.create(Some(r#"{"mode":"readonly"}"#));
    let key = ro.header(OWNER_KEY_HEADER).unwrap().to_owned();
    let ro_id = ro.session().id.to_string();
    expect(&publish(&fresh(5), &ro_id, None, &[]), 403, "read_only");
    let auth = format!("Bearer {key}");
    let owned = publish(&fresh(6), &ro_id, None, &[("authorization", &auth)]);
    expect(&owned, 201, "");

    // Publishing is rate-limited per client address: 3 a minute here.
    let other = fresh(7);
    for _ in 0..3 {
        expect(&publish(&other, &id, None, &[]), 201, "");
    }
    expect(&publish(&other, &id, None, &[]), 429, "rate_limited");
    // Another address is not affected.
    expect(&publish(&fresh(8), &id, None, &[]), 201, "");
}
