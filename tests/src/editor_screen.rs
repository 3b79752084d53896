//! Harness for the editor tests: a private Xvfb display, screenshots through ImageMagick's
//! `import`, and an analysis that finds the step grid's cells by their known colours (the
//! constants in `ui/src/grid.rs`), so a test can count tracks, steps, on-steps, locks
//! and playheads in a real rendered frame.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// `ui/src/grid.rs` `colors::OFF`.
pub const OFF: [u8; 3] = [52, 57, 68];
/// `colors::OFF_BEAT`.
pub const OFF_BEAT: [u8; 3] = [70, 76, 90];
/// `colors::ON`.
pub const ON: [u8; 3] = [255, 138, 36];
/// `colors::PLAYHEAD` (an on step under the playhead).
pub const PLAYHEAD: [u8; 3] = [255, 236, 150];
/// `colors::PLAYHEAD_OFF` (an off step under the playhead).
pub const PLAYHEAD_OFF: [u8; 3] = [150, 156, 172];
/// `colors::LOCK`.
pub const LOCK: [u8; 3] = [64, 200, 255];
/// Drawn cell size in pixels at scale 1 (`CELL_WIDTH_PT` × `CELL_HEIGHT_PT`).
pub const CELL_PX: (usize, usize) = (13, 28);

/// A private X server on a free display number; killed on drop.
pub struct Xvfb {
    /// The Xvfb process.
    child: Child,
    /// `:N`, for `DISPLAY`.
    pub display: String,
}

impl Xvfb {
    /// Starts Xvfb (`width`×`height`×24) on the first free display number from 90 and waits for
    /// its socket.
    pub fn start(width: u32, height: u32) -> Self {
        for n in 90..190 {
            if Path::new(&format!("/tmp/.X{n}-lock")).exists()
                || Path::new(&format!("/tmp/.X11-unix/X{n}")).exists()
            {
                continue;
            }
            let display = format!(":{n}");
            let mut child = Command::new("Xvfb")
                .args([
                    &display,
                    "-screen",
                    "0",
                    &format!("{width}x{height}x24"),
                    "-nolisten",
                    "tcp",
                ])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("start Xvfb (scripts/setup.sh installs it)");
            let socket = PathBuf::from(format!("/tmp/.X11-unix/X{n}"));
            let deadline = Instant::now() + Duration::from_secs(10);
            while Instant::now() < deadline {
                if socket.exists() {
                    return Self { child, display };
                }
                if let Ok(Some(_)) = child.try_wait() {
                    break; // lost a race for this number: try the next
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
        panic!("no free X display number for Xvfb");
    }

    /// Waits until a top-level window whose name contains `name` is mapped; panics after
    /// `timeout`.
    pub fn wait_for_window(&self, name: &str, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        loop {
            let out = Command::new("xwininfo")
                .args(["-root", "-tree"])
                .env("DISPLAY", &self.display)
                .output()
                .expect("run xwininfo");
            if String::from_utf8_lossy(&out.stdout).contains(name) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "no window named {name:?} appeared on {} within {timeout:?}",
                self.display
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// Screenshots the whole screen to `png` (kept for people) and returns it decoded.
    pub fn screenshot(&self, png: &Path) -> Image {
        let ppm = png.with_extension("ppm");
        let status = Command::new("import")
            .args(["-window", "root", "-depth", "8"])
            .arg(format!("ppm:{}", ppm.display()))
            .env("DISPLAY", &self.display)
            .status()
            .expect("run ImageMagick import");
        assert!(status.success(), "import failed");
        let img = Image::read_ppm(&ppm);
        let _ = Command::new("convert").arg(&ppm).arg(png).status();
        let _ = std::fs::remove_file(&ppm);
        img
    }

    /// Runs `xdotool` with `args` on this display.
    pub fn xdotool(&self, args: &[&str]) {
        let status = Command::new("xdotool")
            .args(args)
            .env("DISPLAY", &self.display)
            .status()
            .expect("run xdotool (scripts/setup.sh installs it)");
        assert!(status.success(), "xdotool {args:?} failed");
    }
}

impl Drop for Xvfb {
    fn drop(&mut self) {
        // SIGTERM lets Xvfb remove its lock file and socket, so display numbers are reused.
        terminate(&mut self.child);
    }
}

/// Stops a child: SIGTERM, then SIGKILL if it is still running after 3 s.
fn terminate(child: &mut Child) {
    // SAFETY: kill(2) on our own child's pid.
    unsafe {
        libc::kill(child.id() as i32, libc::SIGTERM);
    }
    let deadline = Instant::now() + Duration::from_secs(3);
    while Instant::now() < deadline {
        if let Ok(Some(_)) = child.try_wait() {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = child.kill();
    let _ = child.wait();
}

impl Xvfb {
    /// Builds and starts the standalone app (`--backend dummy`) on this display as a fresh user
    /// (an empty `HOME` under target/, named `home`, returned for clean-up), and waits until
    /// its window has drawn.
    pub fn start_standalone(&self, home: &str) -> (Killed, PathBuf) {
        self.start_standalone_with(home, &["--backend", "dummy"])
    }

    /// Like [`Xvfb::start_standalone`], with the app's command-line `args`.
    pub fn start_standalone_with(&self, home: &str, args: &[&str]) -> (Killed, PathBuf) {
        let bin = cargo_build_bin("keyboardia-standalone", "keyboardia-standalone");
        let home = target_dir().join(format!("{home}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&home);
        std::fs::create_dir_all(&home).expect("a fresh HOME");
        let app = Killed(
            std::process::Command::new(&bin)
                .args(args)
                .env("DISPLAY", &self.display)
                .env_remove("WAYLAND_DISPLAY")
                .env("HOME", &home)
                // The app's config (its recent-files list) stays in that HOME too.
                .env_remove("XDG_CONFIG_HOME")
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .spawn()
                .expect("start the standalone app"),
        );
        self.wait_for_window("Keyboardia", Duration::from_secs(60));
        // The first frames (fonts, GL) take a moment in a debug build under llvmpipe.
        std::thread::sleep(Duration::from_secs(3));
        (app, home)
    }
}

/// A child process killed (SIGTERM, then SIGKILL) on drop.
pub struct Killed(pub Child);

impl Drop for Killed {
    fn drop(&mut self) {
        // SIGTERM: the standalone app ignores SIGINT while its window is open.
        terminate(&mut self.0);
    }
}

/// An RGB image.
pub struct Image {
    /// Pixels per row.
    pub width: usize,
    /// Rows.
    pub height: usize,
    /// Row-major RGB triples.
    pub rgb: Vec<u8>,
}

impl Image {
    /// Reads a binary PPM (P6, maxval 255).
    pub fn read_ppm(path: &Path) -> Self {
        let data = std::fs::read(path).expect("read screenshot");
        let mut fields = Vec::new();
        let mut i = 0;
        while fields.len() < 4 {
            while data[i].is_ascii_whitespace() {
                i += 1;
            }
            if data[i] == b'#' {
                while data[i] != b'\n' {
                    i += 1;
                }
                continue;
            }
            let start = i;
            while !data[i].is_ascii_whitespace() {
                i += 1;
            }
            fields.push(String::from_utf8_lossy(&data[start..i]).into_owned());
        }
        assert_eq!(fields[0], "P6", "not a binary PPM");
        assert_eq!(fields[3], "255", "not 8-bit");
        let width: usize = fields[1].parse().unwrap();
        let height: usize = fields[2].parse().unwrap();
        let rgb = data[i + 1..].to_vec();
        assert_eq!(rgb.len(), width * height * 3, "truncated screenshot");
        Self { width, height, rgb }
    }

    pub fn pixel(&self, x: usize, y: usize) -> [u8; 3] {
        let i = (y * self.width + x) * 3;
        [self.rgb[i], self.rgb[i + 1], self.rgb[i + 2]]
    }

    /// Number of distinct colours (a blank or all-black frame has one or two).
    pub fn distinct_colors(&self) -> usize {
        let mut set: Vec<[u8; 3]> = self.rgb.chunks(3).map(|c| [c[0], c[1], c[2]]).collect();
        set.sort_unstable();
        set.dedup();
        set.len()
    }

    /// The step cells drawn in the image at scale 1, grouped into rows (top to bottom, each left
    /// to right).
    pub fn grid(&self) -> Vec<Vec<Cell>> {
        self.grid_at_scale(1)
    }

    /// Like [`grid`](Self::grid) for an editor drawn at `scale` physical pixels per point.
    pub fn grid_at_scale(&self, scale: usize) -> Vec<Vec<Cell>> {
        let cell_px = (CELL_PX.0 * scale, CELL_PX.1 * scale);
        const CLASSES: [[u8; 3]; 5] = [OFF, OFF_BEAT, ON, PLAYHEAD, PLAYHEAD_OFF];
        let cell_class = |p: [u8; 3]| CLASSES.iter().any(|c| near(p, *c));
        let mut seen = vec![false; self.width * self.height];
        let mut cells = Vec::new();
        for y in 0..self.height {
            for x in 0..self.width {
                if seen[y * self.width + x] || !cell_class(self.pixel(x, y)) {
                    continue;
                }
                // Flood fill one 4-connected region of cell colours.
                let (mut x0, mut y0, mut x1, mut y1) = (x, y, x, y);
                let mut counts = [0usize; 5];
                let mut stack = vec![(x, y)];
                seen[y * self.width + x] = true;
                while let Some((px, py)) = stack.pop() {
                    let p = self.pixel(px, py);
                    for (k, c) in CLASSES.iter().enumerate() {
                        if near(p, *c) {
                            counts[k] += 1;
                        }
                    }
                    x0 = x0.min(px);
                    x1 = x1.max(px);
                    y0 = y0.min(py);
                    y1 = y1.max(py);
                    let mut push = |nx: usize, ny: usize| {
                        let j = ny * self.width + nx;
                        if !seen[j] && cell_class(self.pixel(nx, ny)) {
                            seen[j] = true;
                            stack.push((nx, ny));
                        }
                    };
                    if px > 0 {
                        push(px - 1, py);
                    }
                    if px + 1 < self.width {
                        push(px + 1, py);
                    }
                    if py > 0 {
                        push(px, py - 1);
                    }
                    if py + 1 < self.height {
                        push(px, py + 1);
                    }
                }
                let (w, h) = (x1 - x0 + 1, y1 - y0 + 1);
                let size_ok = w.abs_diff(cell_px.0) <= 2 && h.abs_diff(cell_px.1) <= 2;
                if !size_ok {
                    continue;
                }
                let locked = (y0..=y1).any(|yy| (x0..=x1).any(|xx| near(self.pixel(xx, yy), LOCK)));
                let kind = match (0..5).max_by_key(|k| counts[*k]).unwrap() {
                    2 => CellKind::On,
                    3 => CellKind::PlayheadOn,
                    4 => CellKind::PlayheadOff,
                    _ => CellKind::Off,
                };
                cells.push(Cell {
                    x: x0,
                    y: y0,
                    kind,
                    locked,
                });
            }
        }
        // Rows: cells whose tops are within a few pixels.
        cells.sort_by_key(|c| (c.y, c.x));
        let mut rows: Vec<Vec<Cell>> = Vec::new();
        for c in cells {
            match rows.last_mut() {
                Some(row) if c.y.abs_diff(row[0].y) <= 3 * scale => row.push(c),
                _ => rows.push(vec![c]),
            }
        }
        for row in &mut rows {
            row.sort_by_key(|c| c.x);
        }
        rows
    }
}

fn near(a: [u8; 3], b: [u8; 3]) -> bool {
    a.iter().zip(b).all(|(x, y)| x.abs_diff(y) <= 3)
}

/// What a cell shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CellKind {
    Off,
    On,
    /// An on step under the playhead.
    PlayheadOn,
    /// An off step under the playhead.
    PlayheadOff,
}

impl CellKind {
    /// Whether the playhead is on this cell.
    pub fn playhead(self) -> bool {
        matches!(self, Self::PlayheadOn | Self::PlayheadOff)
    }
}

/// One drawn step cell.
#[derive(Clone, Copy, Debug)]
pub struct Cell {
    /// Left edge, pixels.
    pub x: usize,
    /// Top edge, pixels.
    pub y: usize,
    /// Off, on or under the playhead (by its majority colour).
    pub kind: CellKind,
    /// Whether the lock mark is drawn in it.
    pub locked: bool,
}

/// Builds a workspace binary (debug) with cargo and returns its path.
pub fn cargo_build_bin(package: &str, bin: &str) -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(cargo)
        .current_dir(&root)
        .args(["build", "--quiet", "-p", package, "--bin", bin])
        .output()
        .expect("run cargo build");
    assert!(
        out.status.success(),
        "cargo build -p {package} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    root.join("target/debug").join(bin)
}

/// `target/` of the workspace (screenshots are kept there).
pub fn target_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../target")
}
