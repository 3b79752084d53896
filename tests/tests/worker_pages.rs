//! The web app's pages and assets from the real Worker under `wrangler dev`, on a small assets
//! directory of the test's own (so these tests do not depend on the web app's build): `/` starts
//! a session on the demo pattern, `/s/{id}` is the app's page with the session's preview
//! metadata, unknown and malformed sessions get HTML pages, and static assets keep their content
//! types and cache headers, while the API answers as before.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::Duration;

use keyboardia_core::api::CLIENT_ADDRESS_HEADER;
use keyboardia_core::{Instrument, SessionState, Track};
use keyboardia_tests::server::{HttpReply, Options, Server};

const UNKNOWN: &str = "0b8a4c1e-6f7d-4e2a-9b3c-5d6e7f8a9b0c";
/// A content-hashed file name, as the web app's build makes them.
const HASHED_WASM: &str = "/keyboardia-web-3f2a1b9c0d4e5f60_bg.wasm";
const HASHED_JS: &str = "/keyboardia-web-3f2a1b9c0d4e5f60.js";
/// The smallest valid wasm module: magic and version.
const WASM_BYTES: &[u8] = b"\0asm\x01\0\0\0";
const LONG_CACHE: &str = "public, max-age=31536000, immutable";

/// The test's own `web/dist`: a page with the meta marker, a hashed wasm and JS file, and a
/// `_headers` file in the form the web app's build writes.
fn fixture_assets(dir: &Path) {
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(
        dir.join("index.html"),
        format!(
            "<!doctype html>\n<html>\n<head>\n<meta charset=\"utf-8\">\n<!--keyboardia-meta-->\n\
             <script type=\"module\" src=\"{HASHED_JS}\"></script>\n</head>\n\
             <body><canvas id=\"app\"></canvas></body>\n</html>\n"
        ),
    )
    .unwrap();
    std::fs::write(dir.join(&HASHED_WASM[1..]), WASM_BYTES).unwrap();
    std::fs::write(dir.join(&HASHED_JS[1..]), "export default 1;\n").unwrap();
    std::fs::write(
        dir.join("_headers"),
        format!("/keyboardia-web-*\n  Cache-Control: {LONG_CACHE}\n"),
    )
    .unwrap();
}

/// A server on the fixture assets; the directory lives as long as the returned guard.
fn start() -> (Server, TempDir) {
    let dir = TempDir::new("keyboardia-pages-assets");
    fixture_assets(&dir.0);
    let server = Server::start_with_assets(Options::default(), &dir.0);
    (server, dir)
}

struct TempDir(PathBuf);

impl TempDir {
    fn new(prefix: &str) -> Self {
        static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("{prefix}-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        Self(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A request that does not follow redirects (the REST client does).
fn raw(server: &Server, method: &str, path: &str) -> HttpReply {
    let agent = ureq::AgentBuilder::new()
        .redirects(0)
        .timeout(Duration::from_secs(30))
        .build();
    let result = agent
        .request(method, &format!("{}{path}", server.base_url()))
        .set(CLIENT_ADDRESS_HEADER, "10.7.0.1")
        .call();
    let resp = match result {
        Ok(r) => r,
        Err(ureq::Error::Status(_, r)) => r,
        Err(e) => panic!("{method} {path}: {e}"),
    };
    let status = resp.status();
    let headers = resp
        .headers_names()
        .into_iter()
        .filter_map(|n| resp.header(&n).map(|v| (n.clone(), v.to_owned())))
        .collect();
    let mut body = Vec::new();
    resp.into_reader()
        .take(16 << 20)
        .read_to_end(&mut body)
        .unwrap();
    HttpReply {
        status,
        body,
        headers,
    }
}

fn assert_html(r: &HttpReply, status: u16) {
    assert_eq!(r.status, status, "{}", r.text());
    assert_eq!(
        r.header("content-type"),
        Some("text/html; charset=utf-8"),
        "{}",
        r.text()
    );
}

/// The `content` of the `<meta>` tag whose `property`/`name` is `key`, as it appears in the HTML.
fn meta(html: &str, key: &str) -> String {
    let at = html
        .find(&format!("\"{key}\" content=\""))
        .unwrap_or_else(|| panic!("no {key} in {html}"));
    let rest = &html[at + key.len() + 12..];
    rest[..rest.find('"').unwrap()].to_owned()
}

#[test]
fn the_root_starts_a_session_on_the_demo_pattern() {
    let (server, _assets) = start();
    let r = raw(&server, "GET", "/");
    assert_eq!(r.status, 302, "{}", r.text());
    assert_eq!(r.header("cache-control"), Some("no-store"));
    let location = r.header("location").expect("a Location").to_owned();
    let id = location
        .strip_prefix("/s/")
        .unwrap_or_else(|| panic!("redirects to a session page, not {location}"));
    // The session exists and holds the demo pattern.
    let s = server.http("10.7.0.2").get(id).session();
    let demo = SessionState::demo();
    assert_eq!(
        s.state,
        SessionState {
            seed: s.state.seed,
            ..demo
        }
    );
    // With the session's own dice seed from the server.
    assert_ne!(s.state.seed, keyboardia_core::DEFAULT_SEED);
    // Each visit starts another session, which rolls other dice.
    let again = raw(&server, "GET", "/");
    let other = again.header("location").expect("a Location");
    assert_ne!(other, location);
    let other = server.http("10.7.0.2").get(&other[3..]).session();
    assert_ne!(other.state.seed, s.state.seed);
    // Its page is the app.
    let page = raw(&server, "GET", &location);
    assert_html(&page, 200);
    assert!(page.text().contains("<canvas id=\"app\">"));
    // Only GET starts a session.
    let post = raw(&server, "POST", "/");
    assert_html(&post, 405);
    assert_eq!(post.header("allow"), Some("GET"));
}

#[test]
fn a_session_page_has_escaped_preview_metadata() {
    let (server, _assets) = start();
    let http = server.http("10.7.0.3");
    let mut state = SessionState::demo();
    state.tempo = 97.5;
    state.tracks[0] = Track::new(
        "evil".parse().unwrap(),
        "<script>\"&'",
        Instrument::Sound(keyboardia_core::BuiltinSound::Kick),
    );
    let created = http.create(Some(&format!(
        r#"{{"state":{}}}"#,
        serde_json::to_string(&state).unwrap()
    )));
    let id = created.session().id;
    let path = format!("/s/{id}");
    let page = raw(&server, "GET", &path);
    assert_html(&page, 200);
    assert_eq!(page.header("cache-control"), Some("no-store"));
    let html = page.text();
    assert!(!html.contains("<!--keyboardia-meta-->"), "{html}");
    // The name is in the preview, escaped: the only script tag is the app's own.
    assert_eq!(html.matches("<script").count(), 1, "{html}");
    assert!(html.contains("&lt;script&gt;&quot;&amp;"), "{html}");
    let title = meta(&html, "og:title");
    assert!(title.contains("8 tracks at 97.5 BPM"), "{title}");
    assert!(html.contains(&format!("<title>{title}</title>")), "{html}");
    let description = meta(&html, "og:description");
    assert!(description.contains("&lt;script&gt;"), "{description}");
    assert_eq!(
        meta(&html, "og:url"),
        format!("{}{path}", server.base_url())
    );
    assert_eq!(meta(&html, "twitter:card"), "summary");
    // The rest of the app's page is untouched.
    assert!(html.contains(&format!("src=\"{HASHED_JS}\"")));
    // A trailing slash is the same page.
    assert_html(&raw(&server, "GET", &format!("{path}/")), 200);
}

#[test]
fn unknown_and_malformed_sessions_get_clear_pages() {
    let (server, _assets) = start();
    let r = raw(&server, "GET", &format!("/s/{UNKNOWN}"));
    assert_html(&r, 404);
    let html = r.text();
    assert!(html.contains("does not exist or has expired"), "{html}");
    assert!(
        html.contains("href=\"/\""),
        "a link to start a new one: {html}"
    );
    for bad in [
        "/s/not-a-session",
        "/s/0B8A4C1E-6F7D-4E2A-9B3C-5D6E7F8A9B0",
        "/s/%3Cscript%3E",
    ] {
        let r = raw(&server, "GET", bad);
        assert_html(&r, 400);
        assert!(
            r.text().contains("Not a session link"),
            "{bad}: {}",
            r.text()
        );
        assert!(!r.text().contains("<script"), "{bad}");
    }
    for nothing in ["/s/", "/b/", &format!("/s/{UNKNOWN}/more")] {
        assert_html(&raw(&server, "GET", nothing), 404);
    }
    // Beats: unknown 404, malformed 400, each with its own words.
    let r = raw(&server, "GET", &format!("/b/{UNKNOWN}"));
    assert_html(&r, 404);
    assert!(r.text().contains("Beat not found"), "{}", r.text());
    let r = raw(&server, "GET", "/b/anything");
    assert_html(&r, 400);
    assert!(r.text().contains("Not a beat link"), "{}", r.text());
}

#[test]
fn a_beat_page_is_the_app_with_the_beats_preview() {
    let (server, _assets) = start();
    let http = server.http("10.7.0.9");
    let s = http.create_session();
    let id = s.id.to_string();
    let published = http.request(
        "POST",
        &keyboardia_core::api::session_beats_path(&id),
        &[],
        Some(br#"{"name":"Night <drive>"}"#),
    );
    assert_eq!(published.status, 201, "{}", published.text());
    let beat = published.json()["id"].as_str().unwrap().to_owned();
    let path = format!("/b/{beat}");
    let page = raw(&server, "GET", &path);
    assert_html(&page, 200);
    let html = page.text();
    assert!(
        html.contains(&format!("src=\"{HASHED_JS}\"")),
        "the app: {html}"
    );
    let title = meta(&html, "og:title");
    assert!(title.starts_with("Night &lt;drive&gt; · "), "{title}");
    assert!(
        meta(&html, "og:description").contains("A Keyboardia beat"),
        "{html}"
    );
    assert_eq!(
        meta(&html, "og:url"),
        format!("{}{path}", server.base_url())
    );
}

#[test]
fn assets_keep_their_types_and_cache_headers_and_the_api_is_unchanged() {
    let (server, _assets) = start();
    let wasm = raw(&server, "GET", HASHED_WASM);
    assert_eq!(wasm.status, 200, "{}", wasm.text());
    assert_eq!(wasm.header("content-type"), Some("application/wasm"));
    assert_eq!(wasm.header("cache-control"), Some(LONG_CACHE));
    assert_eq!(wasm.body, WASM_BYTES);
    let js = raw(&server, "GET", HASHED_JS);
    assert_eq!(js.status, 200);
    assert!(
        js.header("content-type").is_some_and(
            |t| t.starts_with("text/javascript") || t.starts_with("application/javascript")
        ),
        "{:?}",
        js.header("content-type")
    );
    assert_eq!(js.header("cache-control"), Some(LONG_CACHE));
    // No SPA fallback: a missing asset is a 404, and the rules file is not an asset.
    assert_eq!(raw(&server, "GET", "/missing-0123.js").status, 404);
    assert_eq!(raw(&server, "GET", "/_headers").status, 404);
    // The API answers JSON as before, and has no CORS headers (same origin as the app).
    let health = raw(&server, "GET", "/api/health");
    assert_eq!(health.status, 200);
    assert_eq!(health.header("content-type"), Some("application/json"));
    assert_eq!(health.json()["ok"], true);
    let nope = raw(&server, "GET", "/api/nope");
    assert_eq!(nope.status, 404);
    assert_eq!(nope.code(), "not_found");
    let missing = raw(&server, "GET", &format!("/api/sessions/{UNKNOWN}"));
    assert_eq!(
        (missing.status, missing.code().as_str()),
        (404, "not_found")
    );
    assert!(health
        .headers
        .iter()
        .all(|(k, _)| !k.to_ascii_lowercase().starts_with("access-control-")));
}
