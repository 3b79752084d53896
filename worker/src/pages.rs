//! The web app's pages, as pure functions: which page a path asks for, the link-preview metadata
//! of a session, the app's `index.html` with that metadata filled in, and the small HTML pages
//! of refusals. The Worker's half (`wasm/pages.rs`) reads KV and the `ASSETS` binding and calls
//! these.
//!
//! The pages the Worker answers (every other path of the app is a static asset, served by the
//! Workers runtime straight from `web/dist` without running the Worker):
//! - `GET /`: a new session holding the demo pattern, then `302` to its page;
//! - `GET /s/{id}`: the app's `index.html` with the session's title and preview metadata;
//!   `404` page for an unknown or expired session, `400` page for a malformed id;
//! - `GET /b/{id}`: the app's `index.html` with the beat's title and preview metadata (the app
//!   plays it read-only); `404` page for an unknown or expired beat, `400` for a malformed id.

use html_escape::{encode_double_quoted_attribute, encode_text};
use keyboardia_core::beat::Beat;
use keyboardia_core::{BeatId, OpError, Session, SessionId, SessionState};

/// The line of the app's `index.html` that the Worker replaces with the page's `<title>` and
/// preview metadata (the contract with the web app's build).
pub const META_MARKER: &str = "<!--keyboardia-meta-->";
/// Prefix of a session's page path: `/s/{id}`.
pub const SESSION_PAGE_PREFIX: &str = "/s/";
/// Prefix of a published beat's page path: `/b/{id}`.
pub const BEAT_PAGE_PREFIX: &str = "/b/";
/// The path the Worker fetches the app's page from on the `ASSETS` binding (the runtime serves
/// `index.html` at the directory's root; asking for `/index.html` itself gets a redirect).
pub const INDEX_ASSET_PATH: &str = "/";
/// Site name shown in titles and previews.
pub const SITE_NAME: &str = "Keyboardia";

/// The path of a session's page.
pub fn session_page_path(id: SessionId) -> String {
    format!("{SESSION_PAGE_PREFIX}{id}")
}

/// The path of a beat's page.
pub fn beat_page_path(id: BeatId) -> String {
    format!("{BEAT_PAGE_PREFIX}{id}")
}

/// What a page request asks for.
#[derive(Clone, Debug, PartialEq)]
pub enum Page {
    /// `/`: start a new session on the demo pattern.
    New,
    /// `/s/{id}`: the app on that session.
    Session(SessionId),
    /// `/s/{text}` where `text` is not a session id.
    BadId(OpError),
    /// `/b/{id}`: the app playing that beat, read-only.
    Beat(BeatId),
    /// `/b/{text}` where `text` is not a beat id.
    BadBeatId(OpError),
    /// A page path that names nothing (`/s/{id}/more`, `/s/`, `/b/`).
    NotFound,
}

impl Page {
    /// The page `path` (without query) asks for, or `None` when the path is not a page (an API
    /// path, or a static asset).
    pub fn parse(path: &str) -> Option<Page> {
        if path == "/" {
            return Some(Page::New);
        }
        let (rest, beat) = match path.strip_prefix(BEAT_PAGE_PREFIX) {
            Some(rest) => (rest, true),
            None => (path.strip_prefix(SESSION_PAGE_PREFIX)?, false),
        };
        let rest = rest.strip_suffix('/').unwrap_or(rest);
        if rest.is_empty() || rest.contains('/') {
            return Some(Page::NotFound);
        }
        Some(match (beat, rest) {
            (true, id) => match id.parse::<BeatId>() {
                Ok(id) => Page::Beat(id),
                Err(e) => Page::BadBeatId(e),
            },
            (false, id) => match id.parse::<SessionId>() {
                Ok(id) => Page::Session(id),
                Err(e) => Page::BadId(e),
            },
        })
    }
}

/// What a session's page says about it in its title and link previews.
#[derive(Clone, Debug, PartialEq)]
pub struct Preview {
    /// The page's `<title>` and `og:title`.
    pub title: String,
    /// `og:description`: tempo, swing and what the tracks play.
    pub description: String,
    /// `og:url`: the page's absolute URL.
    pub url: String,
}

/// Longest description put in a preview, in characters (previews cut longer ones anyway).
const DESCRIPTION_MAX_CHARS: usize = 200;

impl Preview {
    /// The preview of `session`, whose page is at `url`. Nothing here is escaped yet:
    /// [`Preview::meta_html`] escapes every value.
    pub fn of(session: &Session, url: &str) -> Preview {
        Self::of_state(
            &session.state,
            url,
            &format!("A live {SITE_NAME} session"),
            "Open the link to play along in your browser.",
        )
    }

    /// The preview of a published beat, whose page is at `url`: its name leads the title.
    pub fn of_beat(beat: &Beat, url: &str) -> Preview {
        let mut preview = Self::of_state(
            &beat.state,
            url,
            &format!("A {SITE_NAME} beat"),
            "Open the link to listen, and remix it into your own session.",
        );
        if let Some(name) = &beat.name {
            preview.title = format!("{name} · {}", preview.title);
        }
        preview
    }

    fn of_state(state: &SessionState, url: &str, what: &str, call: &str) -> Preview {
        let n = state.tracks.len();
        let names: Vec<&str> = state.tracks.iter().map(|t| t.name.as_str()).collect();
        let mut description = format!(
            "{what}: {n} track{} at {} BPM",
            if n == 1 { "" } else { "s" },
            fmt_number(state.tempo),
        );
        if state.swing > 0.0 {
            description.push_str(&format!(", swing {}%", fmt_number(state.swing)));
        }
        if !names.is_empty() {
            description.push_str(" (");
            description.push_str(&names.join(", "));
            description.push(')');
        }
        description.push_str(". ");
        description.push_str(call);
        if description.chars().count() > DESCRIPTION_MAX_CHARS {
            description = description
                .chars()
                .take(DESCRIPTION_MAX_CHARS - 1)
                .collect::<String>()
                + "…";
        }
        Preview {
            title: format!(
                "{SITE_NAME} · {n} track{} at {} BPM",
                if n == 1 { "" } else { "s" },
                fmt_number(state.tempo)
            ),
            description,
            url: url.to_owned(),
        }
    }

    /// The tags that replace [`META_MARKER`]: `<title>`, `description`, Open Graph and Twitter
    /// card metadata, every value HTML-escaped.
    pub fn meta_html(&self) -> String {
        let attr = |s: &str| encode_double_quoted_attribute(s).into_owned();
        let (title, description, url) =
            (attr(&self.title), attr(&self.description), attr(&self.url));
        format!(
            "<title>{}</title>\n\
             <meta name=\"description\" content=\"{description}\">\n\
             <meta property=\"og:type\" content=\"website\">\n\
             <meta property=\"og:site_name\" content=\"{SITE_NAME}\">\n\
             <meta property=\"og:title\" content=\"{title}\">\n\
             <meta property=\"og:description\" content=\"{description}\">\n\
             <meta property=\"og:url\" content=\"{url}\">\n\
             <meta name=\"twitter:card\" content=\"summary\">\n\
             <meta name=\"twitter:title\" content=\"{title}\">\n\
             <meta name=\"twitter:description\" content=\"{description}\">",
            encode_text(&self.title),
        )
    }
}

/// A tempo or swing as people write it: `118`, `118.5`.
fn fmt_number(v: f64) -> String {
    if v.fract() == 0.0 {
        format!("{v:.0}")
    } else {
        format!("{}", (v * 100.0).round() / 100.0)
    }
}

/// The app's page with `meta` in place of [`META_MARKER`]. A page without the marker gets the
/// metadata just before `</head>` (or at its start when it has no head), so a build that lost
/// the marker still gets a titled page.
pub fn fill_index(index_html: &str, meta: &str) -> String {
    if index_html.contains(META_MARKER) {
        return index_html.replacen(META_MARKER, meta, 1);
    }
    match index_html.find("</head>") {
        Some(at) => format!("{}{meta}\n{}", &index_html[..at], &index_html[at..]),
        None => format!("{meta}\n{index_html}"),
    }
}

/// A small self-contained HTML page: a heading, a paragraph and a link to start a new session.
/// `heading` and `text` are escaped.
pub fn message_page(heading: &str, text: &str) -> String {
    format!(
        "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <meta name=\"robots\" content=\"noindex\">\n\
         <title>{h} · {SITE_NAME}</title>\n\
         <style>body{{font-family:system-ui,sans-serif;background:#15161a;color:#e8e8ea;\
         max-width:36rem;margin:15vh auto;padding:0 1.5rem;line-height:1.5}}\
         a{{color:#ffb347}}</style>\n</head>\n<body>\n<h1>{h}</h1>\n<p>{t}</p>\n\
         <p><a href=\"/\">Start a new session</a></p>\n</body>\n</html>\n",
        h = encode_text(heading),
        t = encode_text(text),
    )
}

/// The page of an unknown or expired session (served with 404).
pub fn not_found_page() -> String {
    message_page(
        "Session not found",
        "This session does not exist or has expired. Sessions are kept for 30 days after \
         their last use.",
    )
}

/// The page of an unknown or expired beat (served with 404).
pub fn beat_not_found_page() -> String {
    message_page(
        "Beat not found",
        "This beat does not exist or has expired. A beat published without signing in is kept \
         for 90 days.",
    )
}

/// The page of a malformed beat id (served with 400).
pub fn bad_beat_id_page(e: &OpError) -> String {
    message_page(
        "Not a beat link",
        &format!("This link does not name a beat ({e}). Check that it was copied whole."),
    )
}

/// The page of a malformed session id (served with 400).
pub fn bad_id_page(e: &OpError) -> String {
    message_page(
        "Not a session link",
        &format!("This link does not name a session ({e}). Check that it was copied whole."),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use keyboardia_core::{Instrument, SessionState, Track};

    fn id() -> SessionId {
        "0b8a4c1e-6f7d-4e2a-9b3c-5d6e7f8a9b0c".parse().unwrap()
    }

    #[test]
    fn paths_name_pages() {
        assert_eq!(Page::parse("/"), Some(Page::New));
        let s = format!("/s/{}", id());
        assert_eq!(Page::parse(&s), Some(Page::Session(id())));
        assert_eq!(Page::parse(&format!("{s}/")), Some(Page::Session(id())));
        assert_eq!(session_page_path(id()), s);
        assert_eq!(
            Page::parse("/s/not-a-uuid"),
            Some(Page::BadId(OpError::InvalidId))
        );
        let b = format!("/b/{}", id());
        let beat: BeatId = id().to_string().parse().unwrap();
        assert_eq!(Page::parse(&b), Some(Page::Beat(beat)));
        assert_eq!(beat_page_path(beat), b);
        assert_eq!(
            Page::parse("/b/x"),
            Some(Page::BadBeatId(OpError::InvalidId))
        );
        for nothing in ["/s/", "/b/", &format!("{s}/more"), &format!("{b}/more")] {
            assert_eq!(Page::parse(nothing), Some(Page::NotFound), "{nothing}");
        }
        for not_a_page in ["/api/health", "/app-1234.wasm", "/index.html", "/s", ""] {
            assert_eq!(Page::parse(not_a_page), None, "{not_a_page}");
        }
    }

    #[test]
    fn the_preview_is_escaped_everywhere() {
        let mut state = SessionState::demo();
        state.tracks[0] = Track::new(
            "x".parse().unwrap(),
            "<script>\"&'",
            Instrument::Sound(keyboardia_core::BuiltinSound::Kick),
        );
        let session = Session::new(id(), 0, state);
        let p = Preview::of(&session, "https://k.example/s/\"><x");
        assert!(p.description.contains("<script>\"&'"));
        assert!(p.title.contains("8 tracks at 118 BPM"), "{}", p.title);
        assert!(p.description.contains("swing 18%"), "{}", p.description);
        let html = p.meta_html();
        assert!(!html.contains("<script>"), "{html}");
        assert!(!html.contains("\"><x"), "{html}");
        assert!(html.contains("&lt;script&gt;&quot;&amp;"), "{html}");
        for tag in [
            "og:title",
            "og:description",
            "og:url",
            "twitter:card",
            "<title>",
        ] {
            assert!(html.contains(tag), "{tag} in {html}");
        }
    }

    #[test]
    fn long_descriptions_are_cut() {
        let mut state = SessionState::default();
        for i in 0..16 {
            state.tracks.push(Track::new(
                format!("t{i}").parse().unwrap(),
                "a track with a long name here",
                Instrument::Sound(keyboardia_core::BuiltinSound::Kick),
            ));
        }
        let p = Preview::of(&Session::new(id(), 0, state), "/");
        assert_eq!(p.description.chars().count(), DESCRIPTION_MAX_CHARS);
        assert!(p.description.ends_with('…'));
    }

    #[test]
    fn the_marker_is_replaced_once_or_the_head_gets_the_tags() {
        let page = "<html><head>\n<!--keyboardia-meta-->\n</head><body></body></html>";
        assert_eq!(
            fill_index(page, "<title>T</title>"),
            "<html><head>\n<title>T</title>\n</head><body></body></html>"
        );
        assert_eq!(
            fill_index("<head></head>", "<title>T</title>"),
            "<head><title>T</title>\n</head>"
        );
        assert_eq!(fill_index("x", "M"), "M\nx");
    }

    #[test]
    fn refusal_pages_link_home_and_escape() {
        let p = not_found_page();
        assert!(p.contains("does not exist or has expired"));
        assert!(p.contains("href=\"/\""));
        let p = message_page("<b>", "a & b");
        assert!(p.contains("&lt;b&gt;") && p.contains("a &amp; b"));
        assert!(bad_id_page(&OpError::InvalidId).contains("Not a session link"));
    }
}
