//! The sign-in web pages, as pure functions: which page a path asks for, and the HTML of each.
//! The Worker's half is `wasm/auth.rs`. Every page is server-rendered HTML with plain forms (no
//! script but the one line that moves a sign-in link's secret from the URL's fragment, which
//! browsers never send to a server, into the form that spends it).
//!
//! - `GET /auth/device[?user_code=…]`: sign in by email, then approve (or deny) the app whose
//!   code is shown; `POST /auth/device` decides.
//! - `POST /auth/email`: sends the sign-in link; `GET /auth/magic#<secret>` and
//!   `POST /auth/magic` spend it (once) and set the page's sign-in cookie.
//! - `POST /auth/signout`: revokes the page's sign-in.

use html_escape::{encode_double_quoted_attribute as attr, encode_text as text};

use crate::pages::SITE_NAME;

/// Prefix of every sign-in page.
pub const AUTH_PAGE_PREFIX: &str = "/auth/";
/// The sign-in cookie of the web pages (an HMAC-signed [`crate::token::Kind::WebSession`]).
pub const WEB_SESSION_COOKIE: &str = "kb_session";
/// Longest email address accepted (RFC 5321's path limit).
pub const EMAIL_MAX_BYTES: usize = 254;
/// Minutes a sign-in link works.
pub const MAGIC_LINK_TTL_MIN: u64 = 15;

/// A sign-in page.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AuthPage {
    /// `/auth/device`
    Device,
    /// `/auth/email`
    Email,
    /// `/auth/magic`
    Magic,
    /// `/auth/signout`
    SignOut,
    /// Any other path under `/auth/`.
    NotFound,
}

impl AuthPage {
    /// The page `path` asks for, or `None` when it is not under `/auth/`.
    pub fn parse(path: &str) -> Option<AuthPage> {
        let rest = path.strip_prefix(AUTH_PAGE_PREFIX)?;
        Some(match rest.trim_end_matches('/') {
            "device" => AuthPage::Device,
            "email" => AuthPage::Email,
            "magic" => AuthPage::Magic,
            "signout" => AuthPage::SignOut,
            _ => AuthPage::NotFound,
        })
    }
}

/// The address as stored (lower case), if it looks like one: one `@` with text on both sides,
/// a dot in the domain, no spaces or controls, at most [`EMAIL_MAX_BYTES`].
pub fn normalize_email(typed: &str) -> Option<String> {
    let e = typed.trim().to_ascii_lowercase();
    let (local, domain) = e.split_once('@')?;
    let ok = e.len() <= EMAIL_MAX_BYTES
        && !local.is_empty()
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !domain.contains('@')
        && e.chars()
            .all(|c| c.is_ascii_graphic() && !matches!(c, '<' | '>' | '"' | '\\'));
    ok.then_some(e)
}

/// Whether `next` is a path on this site (not `//host`, not a URL), so a sign-in link can never
/// send anyone elsewhere.
pub fn is_local_path(next: &str) -> bool {
    next.starts_with('/')
        && !next.starts_with("//")
        && !next.starts_with("/\\")
        && next.len() <= 512
        && next.chars().all(|c| c.is_ascii_graphic())
}

fn page(title: &str, body: &str) -> String {
    format!(
        "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <meta name=\"robots\" content=\"noindex\">\n<meta name=\"referrer\" content=\"no-referrer\">\n\
         <title>{t} · {SITE_NAME}</title>\n\
         <style>body{{font-family:system-ui,sans-serif;background:#15161a;color:#e8e8ea;\
         max-width:36rem;margin:12vh auto;padding:0 1.5rem;line-height:1.5}}\
         a{{color:#ffb347}}input,button{{font:inherit;padding:.4rem .7rem}}\
         .code{{font-family:monospace;font-size:2rem;letter-spacing:.2rem}}</style>\n\
         </head>\n<body>\n<h1>{t}</h1>\n{body}\n</body>\n</html>\n",
        t = text(title),
    )
}

/// A page with a heading and a sentence.
pub fn message(title: &str, sentence: &str) -> String {
    page(title, &format!("<p id=\"message\">{}</p>", text(sentence)))
}

/// Asks for an email address to send a sign-in link to, returning to `next` afterwards.
pub fn sign_in_page(next: &str, user_code: Option<&str>) -> String {
    let code = user_code
        .map(|c| {
            format!(
                "<p>Signing in an app showing the code <span class=\"code\">{}</span>.</p>\n",
                text(c)
            )
        })
        .unwrap_or_default();
    page(
        "Sign in",
        &format!(
            "{code}<form method=\"post\" action=\"/auth/email\">\n\
             <input type=\"hidden\" name=\"next\" value=\"{next}\">\n\
             <label>Email <input id=\"email\" type=\"email\" name=\"email\" required \
             autocomplete=\"email\"></label>\n\
             <button id=\"send\" type=\"submit\">Email me a sign-in link</button>\n</form>",
            next = attr(next)
        ),
    )
}

/// After the link was sent.
pub fn link_sent_page(email: &str) -> String {
    message(
        "Check your email",
        &format!(
            "We sent a sign-in link to {email}. It works once, for {MAGIC_LINK_TTL_MIN} minutes."
        ),
    )
}

/// The email: its subject, text and HTML.
pub fn sign_in_mail(link: &str, email: &str) -> (String, String, String) {
    let subject = format!("Sign in to {SITE_NAME}");
    let body = format!(
        "Sign in to {SITE_NAME} as {email}:\n\n{link}\n\nThe link works once, for \
         {MAGIC_LINK_TTL_MIN} minutes. If you did not ask for it, ignore this mail.\n"
    );
    let html = format!(
        "<p>Sign in to {SITE_NAME} as {e}:</p><p><a href=\"{l}\">Sign in</a></p>\
         <p>The link works once, for {MAGIC_LINK_TTL_MIN} minutes. If you did not ask for it, \
         ignore this mail.</p>",
        e = text(email),
        l = attr(link),
    );
    (subject, body, html)
}

/// The page of a sign-in link: the secret is in the URL's fragment; one line of script puts
/// it in the form (which the user submits), so it never reaches a server log or a referrer.
pub fn magic_page() -> String {
    page(
        "Sign in",
        "<form id=\"magic\" method=\"post\" action=\"/auth/magic\">\n\
         <input type=\"hidden\" id=\"token\" name=\"token\" value=\"\">\n\
         <button id=\"continue\" type=\"submit\">Continue signing in</button>\n</form>\n\
         <script>document.getElementById('token').value=location.hash.slice(1);\
         history.replaceState(null,'',location.pathname);</script>",
    )
}

/// Asks the signed-in user to approve the app showing `user_code`.
pub fn approve_page(email: &str, client_id: &str, user_code: &str) -> String {
    page(
        "Approve sign-in",
        &format!(
            "<p>Signed in as <span id=\"who\">{e}</span>.</p>\n\
             <p><b>{c}</b> asks to sign in as you. Check that it shows this code:</p>\n\
             <p class=\"code\" id=\"user-code\">{u}</p>\n\
             <form method=\"post\" action=\"/auth/device\">\n\
             <input type=\"hidden\" name=\"user_code\" value=\"{ua}\">\n\
             <button id=\"approve\" name=\"action\" value=\"approve\" type=\"submit\">Approve</button>\n\
             <button id=\"deny\" name=\"action\" value=\"deny\" type=\"submit\">Deny</button>\n</form>\n\
             <form method=\"post\" action=\"/auth/signout\"><button id=\"signout\" \
             type=\"submit\">Sign out</button></form>",
            e = text(email),
            c = text(client_id),
            u = text(user_code),
            ua = attr(user_code),
        ),
    )
}

/// Asks a signed-in user for the code their app shows.
pub fn enter_code_page(email: &str) -> String {
    page(
        "Sign in an app",
        &format!(
            "<p>Signed in as <span id=\"who\">{e}</span>.</p>\n\
             <form method=\"get\" action=\"/auth/device\">\n\
             <label>Code shown by the app <input id=\"user_code\" name=\"user_code\" required>\
             </label>\n<button type=\"submit\">Next</button>\n</form>\n\
             <form method=\"post\" action=\"/auth/signout\"><button id=\"signout\" \
             type=\"submit\">Sign out</button></form>",
            e = text(email)
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_emails_and_next_pages() {
        assert_eq!(AuthPage::parse("/auth/device"), Some(AuthPage::Device));
        assert_eq!(AuthPage::parse("/auth/magic/"), Some(AuthPage::Magic));
        assert_eq!(AuthPage::parse("/auth/x"), Some(AuthPage::NotFound));
        assert_eq!(AuthPage::parse("/s/x"), None);
        assert_eq!(
            normalize_email(" Ada@Example.org "),
            Some("ada@example.org".into())
        );
        for bad in [
            "",
            "ada",
            "ada@",
            "@x.org",
            "a b@x.org",
            "a@x",
            "a@x.org.",
            "a<@x.org",
        ] {
            assert_eq!(normalize_email(bad), None, "{bad}");
        }
        assert!(is_local_path("/auth/device?user_code=BCDF-GHJK"));
        for bad in [
            "//evil.example",
            "https://evil.example",
            "/\\evil",
            "",
            "/a b",
        ] {
            assert!(!is_local_path(bad), "{bad}");
        }
    }

    #[test]
    fn pages_escape_what_they_show() {
        let p = approve_page("<a>@x.org", "<script>", "BCDF-GHJK");
        assert!(!p.contains("<script>"));
        assert!(p.contains("&lt;a&gt;@x.org"));
        let p = sign_in_page("/\"><script>", None);
        assert!(!p.contains("\"><script>"));
        let (_, body, html) = sign_in_mail("http://h/auth/magic#abc", "ada@x.org");
        assert!(body.contains("http://h/auth/magic#abc") && body.contains("ada@x.org"));
        assert!(html.contains("href=\"http://h/auth/magic#abc\""));
    }
}
