//! Harness for the editor tests: a private Xvfb display, screenshots through ImageMagick's
//! `import`, and an analysis that finds the step grid's cells by the colours the editor draws
//! them in (read from `keyboardia_ui::grid::colors` and `keyboardia_ui::style`), so a test can
//! count tracks, steps, on-steps, lock badges and playheads in a real rendered frame, and read
//! each cell's track colour, velocity bar and dimming.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use keyboardia_ui::grid::colors;
use keyboardia_ui::style::{dim, unlit, PALETTE};

/// `[r, g, b]` of an egui colour.
fn rgb(c: egui::Color32) -> [u8; 3] {
    [c.r(), c.g(), c.b()]
}

/// `colors::OFF` (`ui/src/grid.rs`: the harness reads the editor's own colours).
pub const OFF: [u8; 3] = [52, 57, 68];
/// `colors::OFF_BEAT`.
pub const OFF_BEAT: [u8; 3] = [70, 76, 90];
/// `colors::PLAYHEAD` (an on step under the playhead).
pub const PLAYHEAD: [u8; 3] = [255, 236, 150];
/// `colors::PLAYHEAD_OFF` (an off step under the playhead).
pub const PLAYHEAD_OFF: [u8; 3] = [150, 156, 172];

/// What one pixel of a cell shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Part {
    /// An off step.
    Off,
    /// The lit (velocity) bar of an on step, in palette colour `.0`.
    Lit(usize),
    /// The unlit part of an on step of palette colour `.0`.
    Unlit(usize),
    PlayheadOn,
    PlayheadOff,
    /// A lock badge's strip.
    Badge,
}

/// Every colour a cell is drawn in (within ±3 per channel), with what it shows and whether it
/// is dimmed: a table over all 2^24 colours (0: not a cell colour), so reading a screenshot is
/// one lookup per pixel.
fn parts() -> &'static [u8] {
    static TABLE: std::sync::OnceLock<Vec<u8>> = std::sync::OnceLock::new();
    TABLE.get_or_init(|| {
        let mut base = vec![
            (colors::OFF, Part::Off),
            (colors::OFF_BEAT, Part::Off),
            (colors::PLAYHEAD, Part::PlayheadOn),
            (colors::PLAYHEAD_OFF, Part::PlayheadOff),
            (colors::BADGE, Part::Badge),
        ];
        for (i, c) in PALETTE.iter().enumerate() {
            base.push((*c, Part::Lit(i)));
            base.push((unlit(*c), Part::Unlit(i)));
        }
        let mut table = vec![0u8; 1 << 24];
        // Exact colours last, so they win over a neighbour's tolerance.
        for exact_pass in [false, true] {
            if exact_pass {
                // The playing step's flash is a white ring fading over the grey background, so
                // it passes through every grey, and some greys lie within the tolerance of a
                // cell colour (unlit chalk is (106, 107, 109), dimmed Off (37, 39, 43)): a ring
                // caught then joined its neighbours into one taller region. Greys are cells
                // only where a cell colour is exactly grey.
                for v in 0..256usize {
                    table[v << 16 | v << 8 | v] = 0;
                }
            }
            for dimmed in [false, true] {
                for (c, part) in &base {
                    let c = rgb(if dimmed { dim(*c) } else { *c });
                    let code = encode(*part, dimmed);
                    let d = if exact_pass { 0 } else { 3 };
                    for dr in -d..=d {
                        for dg in -d..=d {
                            for db in -d..=d {
                                let k = [
                                    (c[0] as i32 + dr).clamp(0, 255) as usize,
                                    (c[1] as i32 + dg).clamp(0, 255) as usize,
                                    (c[2] as i32 + db).clamp(0, 255) as usize,
                                ];
                                let i = k[0] << 16 | k[1] << 8 | k[2];
                                if exact_pass || table[i] == 0 {
                                    table[i] = code;
                                }
                            }
                        }
                    }
                }
            }
        }
        table
    })
}

/// A table entry: 1 + part index, plus 128 when dimmed.
fn encode(part: Part, dimmed: bool) -> u8 {
    let p = match part {
        Part::Off => 0,
        Part::PlayheadOn => 1,
        Part::PlayheadOff => 2,
        Part::Badge => 3,
        Part::Lit(i) => 4 + i as u8,
        Part::Unlit(i) => 4 + PALETTE.len() as u8 + i as u8,
    };
    1 + p + if dimmed { 128 } else { 0 }
}

/// The part and dimming of a table entry (`None` for 0).
fn decode(code: u8) -> Option<(Part, bool)> {
    if code == 0 {
        return None;
    }
    let dimmed = code >= 128;
    let p = (code & 127) - 1;
    let n = PALETTE.len() as u8;
    let part = match p {
        0 => Part::Off,
        1 => Part::PlayheadOn,
        2 => Part::PlayheadOff,
        3 => Part::Badge,
        i if i < 4 + n => Part::Lit((i - 4) as usize),
        i => Part::Unlit((i - 4 - n) as usize),
    };
    Some((part, dimmed))
}

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
                .env("KEYBOARDIA_GLYPH_REPORT", home.join(GLYPH_REPORT))
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

/// The file (in the app's HOME) where the editor reports the characters it drew and those it
/// had no glyph for (`KEYBOARDIA_GLYPH_REPORT`, see `keyboardia_ui::glyph_audit`).
pub const GLYPH_REPORT: &str = "glyphs.txt";

/// What the editor's glyph report at `path` says: (characters drawn, characters without a
/// glyph). Waits up to 10 s for the file.
pub fn read_glyph_report(path: &Path) -> (String, String) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Ok(text) = std::fs::read_to_string(path) {
            let field = |name: &str| {
                text.lines()
                    .find_map(|l| l.strip_prefix(name))
                    .map(str::to_string)
            };
            if let (Some(drawn), Some(missing)) = (field("drawn: "), field("missing: ")) {
                return (drawn, missing);
            }
        }
        assert!(
            Instant::now() < deadline,
            "no glyph report at {}",
            path.display()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Asserts that the frames the editor drew (report at `path`) had a glyph for every character,
/// and that they drew each of `expected` (symbols the screen must show), so the check saw them.
pub fn assert_no_glyph_boxes(path: &Path, expected: &str) {
    let (drawn, missing) = read_glyph_report(path);
    println!("drawn: {drawn}");
    assert!(
        missing.is_empty(),
        "drawn as boxes: {missing:?} (of {drawn:?})"
    );
    for c in expected.chars() {
        assert!(drawn.contains(c), "{c:?} drawn (the editor drew {drawn:?})");
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

    /// Like [`grid`](Self::grid) for an editor drawn at `scale` physical pixels per point:
    /// regions of cell colours as big as a cell can be (cells grow with the window).
    pub fn grid_at_scale(&self, scale: usize) -> Vec<Vec<Cell>> {
        let table = parts();
        let part = |x: usize, y: usize| {
            let i = (y * self.width + x) * 3;
            let c = &self.rgb[i..i + 3];
            decode(table[(c[0] as usize) << 16 | (c[1] as usize) << 8 | c[2] as usize])
        };
        let mut seen = vec![false; self.width * self.height];
        let mut cells = Vec::new();
        for y in 0..self.height {
            for x in 0..self.width {
                if seen[y * self.width + x] || part(x, y).is_none() {
                    continue;
                }
                // Flood fill one 4-connected region of cell colours.
                let (mut x0, mut y0, mut x1, mut y1) = (x, y, x, y);
                let mut pixels = Vec::new();
                let mut stack = vec![(x, y)];
                seen[y * self.width + x] = true;
                while let Some((px, py)) = stack.pop() {
                    let (p, dimmed) = part(px, py).unwrap();
                    pixels.push((px, p, dimmed));
                    x0 = x0.min(px);
                    x1 = x1.max(px);
                    y0 = y0.min(py);
                    y1 = y1.max(py);
                    let mut push = |nx: usize, ny: usize| {
                        let j = ny * self.width + nx;
                        if !seen[j] && part(nx, ny).is_some() {
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
                let size_ok = (9 * scale..=36 * scale).contains(&w)
                    && (38 * scale..=78 * scale).contains(&h)
                    && h > w;
                if size_ok {
                    cells.push(Cell::of(x0, y0, w, h, &pixels));
                }
            }
        }
        // Rows: cells whose bottoms are within a few pixels (a badge's text can cut a cell's
        // top off the region it is found as; its bottom is always there).
        cells.sort_by_key(|c| (c.y + c.h, c.x));
        let mut rows: Vec<Vec<Cell>> = Vec::new();
        for c in cells {
            match rows.last_mut() {
                Some(row) if (c.y + c.h).abs_diff(row[0].y + row[0].h) <= 3 * scale => row.push(c),
                _ => rows.push(vec![c]),
            }
        }
        for row in &mut rows {
            row.sort_by_key(|c| c.x);
        }
        rows
    }
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
    /// Width, pixels.
    pub w: usize,
    /// Height, pixels.
    pub h: usize,
    /// Off, on or under the playhead (by its majority colour).
    pub kind: CellKind,
    /// Whether a lock badge is drawn in it.
    pub locked: bool,
    /// Whether it is drawn dimmed (its row does not sound).
    pub dimmed: bool,
    /// The palette colour of an on step (`keyboardia_ui::style::PALETTE` index).
    pub color: Option<usize>,
    /// The fraction of the cell's height its lit (velocity) bar fills, in its middle column.
    pub lit: f32,
}

impl Cell {
    /// The cell at `(x, y)`, `w`×`h`, of `pixels` (column, what it shows, whether dimmed).
    fn of(x: usize, y: usize, w: usize, h: usize, pixels: &[(usize, Part, bool)]) -> Self {
        let count = |f: &dyn Fn(Part) -> bool| pixels.iter().filter(|p| f(p.1)).count();
        let on = count(&|p| matches!(p, Part::Lit(_) | Part::Unlit(_)));
        let kinds = [
            (count(&|p| p == Part::Off), CellKind::Off),
            (on, CellKind::On),
            (count(&|p| p == Part::PlayheadOn), CellKind::PlayheadOn),
            (count(&|p| p == Part::PlayheadOff), CellKind::PlayheadOff),
        ];
        let kind = kinds.iter().max_by_key(|k| k.0).unwrap().1;
        let mut colors = [0usize; PALETTE.len()];
        for (_, p, _) in pixels {
            if let Part::Lit(i) | Part::Unlit(i) = p {
                colors[*i] += 1;
            }
        }
        let color = (kind == CellKind::On)
            .then(|| (0..colors.len()).max_by_key(|i| colors[*i]))
            .flatten();
        let dimmed = pixels.iter().filter(|p| p.2).count() * 2 > pixels.len();
        let mid = x + w / 2;
        let lit_rows = pixels
            .iter()
            .filter(|(px, p, _)| *px == mid && matches!(p, Part::Lit(_)))
            .count();
        Self {
            x,
            y,
            w,
            h,
            kind,
            locked: count(&|p| p == Part::Badge) > 0,
            dimmed,
            color,
            lit: lit_rows as f32 / h as f32,
        }
    }
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
