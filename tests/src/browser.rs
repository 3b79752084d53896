//! A real headless Chromium (Debian `chromium` + `chromium-driver`) driven over WebDriver with
//! `fantoccini`, and the browser app served by the real Worker under `wrangler dev`.
//!
//! [`ensure_web_built`] builds `web/dist` once per test binary (only when its sources are newer
//! than the build). [`web_server`] starts `wrangler dev` serving it. [`Browser::start`] starts
//! `chromedriver` on a free port (its own process group, killed on drop, with a fresh
//! `--user-data-dir`) and a Chromium session with the flags that work here; its methods block,
//! so tests stay plain `#[test]`s. The page's test hooks live in `window.keyboardia` (see
//! `web/src/hooks.rs`).

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant, SystemTime};

use fantoccini::actions::{
    InputSource, MouseActions, PointerAction, TouchActions, MOUSE_BUTTON_LEFT,
};
use fantoccini::{Client, ClientBuilder};
use serde_json::{json, Value};

use crate::procs::free_port;
use crate::server::{repo_root, Options, Server};

/// A press of the primary button (or a finger) at CSS pixel (`x`, `y`): move there, down, a
/// short hold, up.
fn press(x: f64, y: f64) -> impl Iterator<Item = PointerAction> {
    press_held(x, y, Duration::from_millis(30))
}

/// [`press`] held down for `hold`.
fn press_held(x: f64, y: f64, hold: Duration) -> impl Iterator<Item = PointerAction> {
    [
        PointerAction::MoveTo {
            duration: None,
            x,
            y,
        },
        PointerAction::Down {
            button: MOUSE_BUTTON_LEFT,
        },
        PointerAction::Pause { duration: hold },
        PointerAction::Up {
            button: MOUSE_BUTTON_LEFT,
        },
    ]
    .into_iter()
}

/// Chromium's flags for tests (see docs: they work headless on this machine).
const CHROMIUM_FLAGS: &[&str] = &[
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--autoplay-policy=no-user-gesture-required",
    "--window-size=1500,900",
];

fn newest_mtime(path: &Path) -> SystemTime {
    let Ok(meta) = std::fs::metadata(path) else {
        return SystemTime::UNIX_EPOCH;
    };
    if !meta.is_dir() {
        return meta.modified().unwrap_or(SystemTime::UNIX_EPOCH);
    }
    std::fs::read_dir(path)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| newest_mtime(&e.path()))
        .max()
        .unwrap_or(SystemTime::UNIX_EPOCH)
}

/// `web/dist`, built by `scripts/build-web.sh` unless it is newer than every source it is made
/// of (once per test binary).
pub fn ensure_web_built() -> PathBuf {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    BUILT
        .get_or_init(|| {
            let root = repo_root();
            let dist = root.join("web/dist");
            let built = std::fs::metadata(dist.join("index.html"))
                .and_then(|m| m.modified())
                .ok();
            let newest = [
                "web/src",
                "web/worklet/src",
                "web/static",
                "web/Cargo.toml",
                "ui/src",
                "engine/src",
                "core/src",
                "Cargo.lock",
                "scripts/build-web.sh",
            ]
            .iter()
            .map(|p| newest_mtime(&root.join(p)))
            .max()
            .unwrap_or(SystemTime::UNIX_EPOCH);
            if built.is_none_or(|b| b < newest) {
                let status = Command::new("bash")
                    .arg(root.join("scripts/build-web.sh"))
                    .current_dir(&root)
                    .status()
                    .expect("run scripts/build-web.sh");
                assert!(status.success(), "building the web app failed");
            }
            dist
        })
        .clone()
}

/// The real Worker under `wrangler dev`, serving the built app.
pub fn web_server() -> Server {
    let dist = ensure_web_built();
    Server::start_with_assets(Options::default(), &dist)
}

/// Starts chromedriver on `port`, in its own process group, dying with this process.
fn spawn_chromedriver(port: u16) -> Child {
    let mut cmd = Command::new("chromedriver");
    cmd.arg(format!("--port={port}"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .process_group(0);
    // SAFETY: prctl is async-signal-safe; chromedriver dies with the test process.
    unsafe {
        cmd.pre_exec(|| {
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM);
            Ok(())
        });
    }
    cmd.spawn()
        .expect("start chromedriver (bash scripts/setup-web.sh installs it)")
}

/// How the browser is launched.
#[derive(Clone, Debug, Default)]
pub struct BrowserOptions {
    /// Fake microphone and auto-accepted permission prompt (getUserMedia succeeds).
    pub fake_microphone: bool,
    /// Every permission prompt is refused (getUserMedia fails with NotAllowedError).
    pub deny_permissions: bool,
}

/// One Chromium, driven through its own chromedriver.
pub struct Browser {
    /// Runs fantoccini's futures (the tests are blocking).
    rt: tokio::runtime::Runtime,
    /// The WebDriver session.
    client: Option<Client>,
    /// chromedriver (the leader of its own process group).
    driver: Child,
    /// The fresh profile directory (removed on drop).
    profile: PathBuf,
}

impl Browser {
    /// Starts chromedriver and a headless Chromium.
    pub fn start(options: BrowserOptions) -> Browser {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime");
        let mut port = free_port();
        let mut driver = spawn_chromedriver(port);
        let profile =
            std::env::temp_dir().join(format!("keyboardia-chromium-{}-{port}", std::process::id()));
        let _ = std::fs::remove_dir_all(&profile);
        std::fs::create_dir_all(&profile).expect("create the profile dir");
        let mut args: Vec<String> = CHROMIUM_FLAGS.iter().map(|s| s.to_string()).collect();
        args.push(format!("--user-data-dir={}", profile.display()));
        if options.fake_microphone {
            args.push("--use-fake-device-for-media-stream".into());
            args.push("--use-fake-ui-for-media-stream".into());
        }
        if options.deny_permissions {
            args.push("--use-fake-device-for-media-stream".into());
            args.push("--deny-permission-prompts".into());
        }
        let mut caps = serde_json::Map::new();
        caps.insert(
            "goog:chromeOptions".into(),
            json!({ "binary": "/usr/bin/chromium", "args": args }),
        );
        let mut url = format!("http://127.0.0.1:{port}");
        let deadline = Instant::now() + Duration::from_secs(30);
        let client = loop {
            let connector = hyper_util::client::legacy::connect::HttpConnector::new();
            let attempt = rt.block_on(
                ClientBuilder::new(connector)
                    .capabilities(caps.clone())
                    .connect(&url),
            );
            match attempt {
                Ok(c) => break c,
                Err(e) if Instant::now() > deadline => panic!("cannot start Chromium: {e}"),
                Err(_) => {
                    // chromedriver exits at once when its port was taken after `free_port`
                    // let it go (another test's server or browser): start it on another.
                    if let Ok(Some(_)) = driver.try_wait() {
                        port = free_port();
                        driver = spawn_chromedriver(port);
                        url = format!("http://127.0.0.1:{port}");
                    }
                    std::thread::sleep(Duration::from_millis(200));
                }
            }
        };
        Browser {
            rt,
            client: Some(client),
            driver,
            profile,
        }
    }

    fn client(&self) -> &Client {
        self.client.as_ref().expect("the session is open")
    }

    /// Opens `url`.
    pub fn goto(&self, url: &str) {
        self.rt
            .block_on(self.client().goto(url))
            .unwrap_or_else(|e| panic!("open {url}: {e}"));
    }

    /// Runs `script` (a function body; `arguments` holds `args`) and returns its result.
    pub fn js_with(&self, script: &str, args: Vec<Value>) -> Value {
        self.rt
            .block_on(self.client().execute(script, args))
            .unwrap_or_else(|e| panic!("script failed: {e}\n{script}"))
    }

    /// Runs `script` (a function body) and returns its result.
    pub fn js(&self, script: &str) -> Value {
        self.js_with(script, Vec::new())
    }

    /// Runs an async `script`: it ends by calling `arguments[arguments.length - 1](result)`.
    pub fn js_async(&self, script: &str) -> Value {
        self.rt
            .block_on(self.client().execute_async(script, Vec::new()))
            .unwrap_or_else(|e| panic!("async script failed: {e}\n{script}"))
    }

    /// Polls `expr` (a JS expression) every 50 ms until it is truthy; its value.
    pub fn wait_for(&self, expr: &str, timeout: Duration) -> Value {
        let deadline = Instant::now() + timeout;
        loop {
            let v = self.js(&format!(
                "try {{ return ({expr}); }} catch (e) {{ return null; }}"
            ));
            let truthy = match &v {
                Value::Null => false,
                Value::Bool(b) => *b,
                Value::Number(n) => n.as_f64() != Some(0.0),
                Value::String(s) => !s.is_empty(),
                _ => true,
            };
            if truthy {
                return v;
            }
            assert!(
                Instant::now() < deadline,
                "timed out after {timeout:?} waiting for {expr}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The page's status (`window.keyboardia.status()`), parsed.
    pub fn status(&self) -> Value {
        let text = self.js("return window.keyboardia ? window.keyboardia.status() : null;");
        text.as_str()
            .map(|t| serde_json::from_str(t).expect("status is JSON"))
            .unwrap_or(Value::Null)
    }

    /// The page's local session document.
    pub fn state(&self) -> keyboardia_core::SessionState {
        let text = self.js("return window.keyboardia.state();");
        serde_json::from_str(text.as_str().expect("state is text")).expect("a session state")
    }

    /// A real pointer click (move, press, release) at CSS pixel (`x`, `y`) of the viewport.
    pub fn click_at(&self, x: f64, y: f64) {
        let mouse = MouseActions::new("mouse".into());
        self.press_at(press(x, y).fold(mouse, |m, a| m.then(a)));
    }

    /// A press of the mouse's primary button at CSS pixel (`x`, `y`) held for `hold` (returns
    /// after the release).
    pub fn hold_at(&self, x: f64, y: f64, hold: Duration) {
        let mouse = MouseActions::new("mouse".into());
        self.press_at(press_held(x, y, hold).fold(mouse, |m, a| m.then(a)));
    }

    /// The centre, in CSS pixels, of the first text `text` the page's editor drew (a button's
    /// label), waiting up to `timeout` for it to be drawn.
    pub fn text_centre(&self, text: &str, timeout: Duration) -> (f64, f64) {
        let r = self.wait_for(
            &format!("window.keyboardia.textRect({})", json!(text)),
            timeout,
        );
        let r: Vec<f64> = r
            .as_array()
            .expect("[x, y, w, h]")
            .iter()
            .map(|v| v.as_f64().expect("a number"))
            .collect();
        (r[0] + r[2] / 2.0, r[1] + r[3] / 2.0)
    }

    /// A touch tap (a finger down and up, WebDriver's pointer type "touch", which Chromium
    /// delivers as touch events and `pointerType: "touch"` pointer events) at CSS pixel
    /// (`x`, `y`) of the viewport.
    pub fn tap_at(&self, x: f64, y: f64) {
        let finger = TouchActions::new("finger".into());
        self.press_at(press(x, y).fold(finger, |f, a| f.then(a)));
    }

    fn press_at(&self, actions: impl Into<fantoccini::actions::ActionSequence>) {
        let actions: fantoccini::actions::ActionSequence = actions.into();
        self.rt
            .block_on(self.client().perform_actions(actions))
            .expect("pointer actions");
        let _ = self.rt.block_on(self.client().release_actions());
    }

    /// Clicks the element matching `css` (a real click through WebDriver).
    pub fn click(&self, css: &str) {
        self.rt.block_on(async {
            let el = self
                .client()
                .find(fantoccini::Locator::Css(css))
                .await
                .unwrap_or_else(|e| panic!("find {css}: {e}"));
            el.click()
                .await
                .unwrap_or_else(|e| panic!("click {css}: {e}"));
        });
    }

    /// The value of the current site's cookie `name`, HttpOnly ones included (WebDriver sees
    /// them; the page's scripts do not).
    pub fn cookie(&self, name: &str) -> Option<String> {
        self.rt
            .block_on(self.client().get_named_cookie(name))
            .ok()
            .map(|c| c.value().to_owned())
    }

    /// The HTTP-visible text of the page body.
    pub fn body_text(&self) -> String {
        self.js("return document.body.innerText;")
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        if let Some(c) = self.client.take() {
            let _ = self.rt.block_on(c.close());
        }
        let pid = self.driver.id() as i32;
        // SAFETY: kill(2) on our own child's process group.
        unsafe {
            libc::kill(-pid, libc::SIGTERM);
        }
        let _ = self.driver.wait();
        let _ = std::fs::remove_dir_all(&self.profile);
    }
}
