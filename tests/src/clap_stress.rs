//! A hostile CLAP host for the plugin: the randomized host fuzzer and the destroy-during-a-task
//! run. Both run inside `keyboardia-clap-stress` (`src/bin/`), a child process of the test, so
//! that what a test in the same process could not see is seen: an allocation in `process()`
//! aborts the child (the debug bundle's `assert_process_allocs`), and a panic on any of the
//! plugin's threads is printed by the plugin's own panic hook (a cdylib has its own copy of
//! std, so a hook installed here would not catch it) on the child's stderr, which the parent
//! reads ([`run_child`], [`Outcome::panics`]).
//!
//! Every run is seeded and prints its seeds; `keyboardia-clap-stress fuzz-one BUNDLE SEED`
//! replays one fuzz episode exactly.

use std::io::Write;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use clack_host::prelude::ClapId;

use crate::clap_host::{Block, ClapPlugin, NoteIn, Transport};

/// The plugin's CLAP id.
pub const PLUGIN_ID: &str = "dev.keyboardia.sequencer";

/// The plugin's background threads that must not outlive its instance: nice-plug's shared
/// task thread and the plugin's own job thread (names as `/proc` shows them, ≤ 15 bytes).
pub const PLUGIN_THREADS: &[&str] = &["bg-worker", "keyboardia-jobs"];

/// The largest magnitude the plugin may write to any output.
pub const MAX_OUTPUT: f32 = 4.0;

/// The names of this process's threads.
pub fn thread_names() -> Vec<String> {
    let Ok(dir) = std::fs::read_dir("/proc/self/task") else {
        return Vec::new();
    };
    dir.filter_map(|e| std::fs::read_to_string(e.ok()?.path().join("comm")).ok())
        .map(|s| s.trim_end().to_string())
        .collect()
}

/// The plugin threads ([`PLUGIN_THREADS`]) running now.
pub fn plugin_threads() -> Vec<String> {
    thread_names()
        .into_iter()
        .filter(|n| PLUGIN_THREADS.contains(&n.as_str()))
        .collect()
}

/// The plugin threads still there after a destroy. A joined thread can still be listed for a
/// moment (the kernel wakes the joiner before it removes the thread's `/proc` entry), so a
/// thread counts as left running only if it is still listed 2 s later.
fn threads_left_after_destroy() -> Vec<String> {
    let deadline = std::time::Instant::now() + Duration::from_secs(2);
    loop {
        let left = plugin_threads();
        if left.is_empty() || std::time::Instant::now() >= deadline {
            return left;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Keeps the plugin library loaded for the life of the process, as a DAW does between
/// instances (clack-host shares one loaded entry per path).
pub fn keep_library_loaded(bundle: &Path) -> clack_host::prelude::PluginEntry {
    // SAFETY: loading a CLAP library runs its entry; it is our own plugin.
    unsafe { clack_host::prelude::PluginEntry::load(bundle) }.expect("load the .clap entry")
}

/// The first frame of `b` (any output) that is not finite, is denormal or exceeds
/// ±[`MAX_OUTPUT`], described.
pub fn bad_output(b: &Block) -> Option<String> {
    let mut channels = vec![
        ("main L".to_string(), &b.left),
        ("main R".to_string(), &b.right),
    ];
    for (i, (l, r)) in b.aux.iter().enumerate() {
        channels.push((format!("track {} L", i + 1), l));
        channels.push((format!("track {} R", i + 1), r));
    }
    channels.into_iter().find_map(|(name, ch)| {
        ch.iter()
            .position(|v| !v.is_finite() || v.is_subnormal() || v.abs() > MAX_OUTPUT)
            .map(|i| format!("{name}[{i}] = {:e}", ch[i]))
    })
}

/// Item 8's scenario, `iterations` times with timing drawn from `seed`: record a take, press
/// "Add Take to Grid", then destroy the plugin after a random number of blocks and a random
/// pause (before the take is copied out, while it is analysed and added, or after). After
/// every destroy no plugin thread may be left running.
pub fn destroy_during_add_take(bundle: &Path, seed: u64, iterations: usize) -> Result<(), String> {
    let _entry = keep_library_loaded(bundle);
    let mut rng = fastrand::Rng::with_seed(seed);
    for i in 0..iterations {
        let sr = [44_100.0, 48_000.0, 96_000.0][rng.usize(..3)];
        let mut p = ClapPlugin::load(bundle, PLUGIN_ID, sr, 512);
        let (rec, add) = (p.param_id("Record"), p.param_id("Add Take to Grid"));
        let block = |p: &mut ClapPlugin, params: &[(u32, ClapId, f64)], rng: &mut fastrand::Rng| {
            let l: Vec<f32> = (0..512).map(|_| rng.f32() - 0.5).collect();
            let b = p.process_with_input(512, None, &[], params, Some((&l, &l)));
            bad_output(&b).map_or(Ok(()), |bad| Err(format!("iteration {i}: {bad}")))
        };
        block(&mut p, &[(0, rec, 1.0)], &mut rng)?;
        for _ in 0..rng.usize(8..90) {
            block(&mut p, &[], &mut rng)?;
        }
        block(&mut p, &[(0, rec, 0.0)], &mut rng)?;
        block(&mut p, &[(0, add, 1.0)], &mut rng)?;
        let blocks = rng.usize(0..8);
        for _ in 0..blocks {
            block(&mut p, &[], &mut rng)?;
        }
        let pause_us = [0, 50, 200, 1_000, 3_000, 10_000, 30_000][rng.usize(..7)];
        std::thread::sleep(Duration::from_micros(pause_us));
        drop(p);
        let left = threads_left_after_destroy();
        if !left.is_empty() {
            return Err(format!(
                "iteration {i} ({blocks} blocks, {pause_us} µs after the press): still running \
                 after the plugin was destroyed: {left:?}"
            ));
        }
    }
    Ok(())
}

/// What a fuzz run did.
#[derive(Clone, Copy, Debug, Default)]
pub struct FuzzStats {
    /// Episodes run (each a fresh instance and an independent seed).
    pub episodes: u64,
    /// Blocks processed.
    pub blocks: u64,
    /// Frames processed.
    pub frames: u64,
    /// Parameter changes sent.
    pub param_changes: u64,
    /// Notes sent.
    pub notes: u64,
    /// States saved and loaded.
    pub state_ops: u64,
    /// Deactivations, reactivations and destroys.
    pub lifecycle_ops: u64,
}

impl FuzzStats {
    /// Adds `other`'s counts.
    pub fn add(&mut self, other: &FuzzStats) {
        self.episodes += other.episodes;
        self.blocks += other.blocks;
        self.frames += other.frames;
        self.param_changes += other.param_changes;
        self.notes += other.notes;
        self.state_ops += other.state_ops;
        self.lifecycle_ops += other.lifecycle_ops;
    }

    /// One line of `key=value` counts (what the child prints and the parent parses).
    pub fn line(&self) -> String {
        format!(
            "episodes={} blocks={} frames={} param_changes={} notes={} state_ops={} lifecycle_ops={}",
            self.episodes,
            self.blocks,
            self.frames,
            self.param_changes,
            self.notes,
            self.state_ops,
            self.lifecycle_ops
        )
    }

    /// Parses [`FuzzStats::line`].
    pub fn parse(line: &str) -> Option<FuzzStats> {
        let mut s = FuzzStats::default();
        for kv in line.split_whitespace() {
            let (k, v) = kv.split_once('=')?;
            let v: u64 = v.parse().ok()?;
            match k {
                "episodes" => s.episodes = v,
                "blocks" => s.blocks = v,
                "frames" => s.frames = v,
                "param_changes" => s.param_changes = v,
                "notes" => s.notes = v,
                "state_ops" => s.state_ops = v,
                "lifecycle_ops" => s.lifecycle_ops = v,
                _ => return None,
            }
        }
        Some(s)
    }
}

/// What a block's "Input" sidechain carries.
#[derive(Clone, Copy, Debug)]
enum Input {
    /// No buffer content (the host marks it constant zero).
    Absent,
    /// Zeros in a buffer not marked constant.
    Silence,
    /// Random denormals of either sign.
    Denormals,
    /// NaN in every frame.
    Nan,
    /// ±1e30.
    Huge,
    /// Uniform noise at full scale.
    Noise,
    /// Every frame any of the above, and infinities.
    Mixed,
}

const INPUTS: [Input; 7] = [
    Input::Absent,
    Input::Silence,
    Input::Denormals,
    Input::Nan,
    Input::Huge,
    Input::Noise,
    Input::Mixed,
];

fn input_frame(kind: Input, rng: &mut fastrand::Rng) -> f32 {
    let sign = if rng.bool() { 1.0 } else { -1.0 };
    match kind {
        Input::Absent | Input::Silence => 0.0,
        Input::Denormals => sign * f32::from_bits(rng.u32(1..0x0080_0000)),
        Input::Nan => f32::NAN,
        Input::Huge => sign * 1e30,
        Input::Noise => rng.f32() * 2.0 - 1.0,
        Input::Mixed => match rng.u8(..6) {
            0 => sign * f32::INFINITY,
            k => input_frame(INPUTS[k as usize], rng),
        },
    }
}

/// Sample rates a host may run at (and one odd one).
const SAMPLE_RATES: [f64; 8] = [
    11_025.0, 22_050.0, 32_000.0, 44_100.0, 48_000.0, 88_200.0, 96_000.0, 192_000.0,
];

/// The parameters a take is recorded, previewed and added with (the fuzzer favours them).
const RECORD_PARAMS: [&str; 3] = ["Record", "Preview Take", "Add Take to Grid"];

/// One instance under fuzzing and the host's view of it.
struct Fuzzed {
    p: ClapPlugin,
    /// Song position of the next block, in beats.
    beat: f64,
    /// Tempo of the host's transport.
    tempo_bpm: f64,
    /// Whether the host's transport plays.
    playing: bool,
}

/// Loads a fresh instance with a random layout, sample rate and block size.
fn fresh(bundle: &Path, rng: &mut fastrand::Rng) -> Fuzzed {
    let ports = if rng.u8(..4) == 0 { 17 } else { 1 };
    let p = ClapPlugin::load_with_outputs(
        bundle,
        PLUGIN_ID,
        random_rate(rng),
        random_max_frames(rng),
        ports,
    );
    Fuzzed {
        p,
        beat: rng.f64() * 64.0,
        tempo_bpm: 40.0 + rng.f64() * 200.0,
        playing: rng.bool(),
    }
}

fn random_rate(rng: &mut fastrand::Rng) -> f64 {
    if rng.u8(..10) == 0 {
        8_000.0 + rng.f64() * 184_000.0
    } else {
        SAMPLE_RATES[rng.usize(..SAMPLE_RATES.len())]
    }
}

fn random_max_frames(rng: &mut fastrand::Rng) -> usize {
    match rng.u8(..4) {
        0 => [1, 16, 64, 128, 256, 512, 1024, 2048, 4096][rng.usize(..9)],
        _ => rng.usize(1..=4096),
    }
}

/// One fuzz episode: a fresh instance driven by `seed` through random blocks, parameter
/// changes, notes, sidechain audio, state saves and loads, deactivation, reactivation at other
/// rates and block sizes, and destroy-and-recreate. Every block's outputs are checked with
/// [`bad_output`]. Episodes are independent: one replays exactly from its seed.
pub fn fuzz_episode(bundle: &Path, seed: u64) -> Result<FuzzStats, String> {
    let mut rng = fastrand::Rng::with_seed(seed);
    // States saved in this episode, loaded now and then.
    let mut saved: Vec<Vec<u8>> = Vec::new();
    let mut stats = FuzzStats {
        episodes: 1,
        ..FuzzStats::default()
    };
    let mut f = fresh(bundle, &mut rng);
    let steps = rng.usize(50..400);
    for step in 0..steps {
        let fail = |what: String| format!("step {step}: {what}");
        match rng.u8(..100) {
            0..=2 => {
                // Save now, and keep a few states to load later.
                let state = f.p.save_state();
                if saved.len() >= 6 {
                    saved.remove(rng.usize(..saved.len()));
                }
                saved.push(state);
                stats.state_ops += 1;
            }
            3..=5 if !saved.is_empty() => {
                let state = saved[rng.usize(..saved.len())].clone();
                f.p.load_state(&state);
                stats.state_ops += 1;
            }
            6..=7 => {
                // The host restarts its audio engine at another rate and block size.
                f.p.activate(random_rate(&mut rng), random_max_frames(&mut rng));
                stats.lifecycle_ops += 1;
            }
            8 => {
                // Deactivated for a while: state calls on the main thread, then active again.
                f.p.deactivate();
                if rng.bool() {
                    let state = f.p.save_state();
                    f.p.load_state(&state);
                    stats.state_ops += 2;
                }
                std::thread::sleep(Duration::from_micros(rng.u64(..3_000)));
                f.p.activate(random_rate(&mut rng), random_max_frames(&mut rng));
                stats.lifecycle_ops += 2;
            }
            9 => {
                // Destroyed at a random moment (background work may be running), replaced by a
                // new instance, which may restore a saved state.
                drop(std::mem::replace(&mut f, fresh(bundle, &mut rng)));
                if !saved.is_empty() && rng.bool() {
                    let state = saved[rng.usize(..saved.len())].clone();
                    f.p.load_state(&state);
                    stats.state_ops += 1;
                }
                stats.lifecycle_ops += 1;
            }
            10 => std::thread::sleep(Duration::from_micros(rng.u64(..20_000))),
            _ => block(&mut f, &mut rng, &mut stats).map_err(fail)?,
        }
    }
    drop(f);
    Ok(stats)
}

/// One random block.
fn block(f: &mut Fuzzed, rng: &mut fastrand::Rng, stats: &mut FuzzStats) -> Result<(), String> {
    let max = f.p.max_frames();
    let frames = match rng.u8(..8) {
        0 => 1,
        1 => max,
        _ => rng.usize(1..=max),
    };
    // Transport: mostly running on; sometimes a jump, a new tempo, a stop, or none at all.
    match rng.u8(..40) {
        0 => f.playing = !f.playing,
        1 => f.beat = rng.f64() * 256.0,
        2 => f.tempo_bpm = 20.0 + rng.f64() * 280.0,
        _ => {}
    }
    let transport = (rng.u8(..20) != 0).then_some(Transport {
        playing: f.playing,
        tempo_bpm: f.tempo_bpm,
        beat: f.beat,
    });
    if f.playing {
        f.beat += frames as f64 * f.tempo_bpm / (60.0 * f.p.sample_rate());
    }

    let mut params = Vec::new();
    if rng.u8(..4) == 0 {
        for _ in 0..rng.usize(1..4) {
            let offset = rng.u32(..frames as u32);
            if rng.bool() {
                let name = RECORD_PARAMS[rng.usize(..RECORD_PARAMS.len())];
                let on = if rng.bool() { 1.0 } else { 0.0 };
                params.push((offset, f.p.param_id(name), on));
            } else {
                let all: Vec<_> = f.p.params().map(|(id, _, lo, hi)| (id, lo, hi)).collect();
                let (id, lo, hi) = all[rng.usize(..all.len())];
                let v = match rng.u8(..4) {
                    0 => lo,
                    1 => hi,
                    _ => lo + rng.f64() * (hi - lo),
                };
                params.push((offset, id, v));
            }
        }
    }
    let mut notes = Vec::new();
    if rng.u8(..3) == 0 {
        for _ in 0..rng.usize(1..6) {
            let offset = rng.u32(..frames as u32);
            let key = rng.u8(..128);
            notes.push(if rng.bool() {
                NoteIn::On {
                    offset,
                    key,
                    velocity: rng.f64(),
                }
            } else {
                NoteIn::Off { offset, key }
            });
        }
    }
    let kind = INPUTS[rng.usize(..INPUTS.len())];
    let audio = match kind {
        Input::Absent => None,
        _ => {
            let l: Vec<f32> = (0..frames).map(|_| input_frame(kind, rng)).collect();
            let r: Vec<f32> = (0..frames).map(|_| input_frame(kind, rng)).collect();
            Some((l, r))
        }
    };
    let b = f.p.process_with_input(
        frames,
        transport,
        &notes,
        &params,
        audio.as_ref().map(|(l, r)| (&l[..], &r[..])),
    );
    stats.blocks += 1;
    stats.frames += frames as u64;
    stats.param_changes += params.len() as u64;
    stats.notes += notes.len() as u64;
    match bad_output(&b) {
        Some(bad) => Err(format!(
            "{bad} (block of {frames} at {} Hz, input {kind:?})",
            f.p.sample_rate()
        )),
        None => Ok(()),
    }
}

/// The seed of episode `i` of a run seeded `seed` (splitmix64).
pub fn episode_seed(seed: u64, i: u64) -> u64 {
    let mut z = seed.wrapping_add(i.wrapping_add(1).wrapping_mul(0x9E37_79B9_7F4A_7C15));
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The child's fuzz loop: episodes of `seed` from `first` on, until `secs` have passed. Each
/// episode's seed goes to stderr before it runs (so a crash or a panic names it); a failed
/// episode prints `FAIL <seed> <what>`; the totals go to stdout as [`FuzzStats::line`].
pub fn fuzz_child(bundle: &Path, seed: u64, first: u64, secs: f64) -> FuzzStats {
    let _entry = keep_library_loaded(bundle);
    let deadline = Instant::now() + Duration::from_secs_f64(secs);
    let mut total = FuzzStats::default();
    let mut i = first;
    while Instant::now() < deadline {
        let s = episode_seed(seed, i);
        eprintln!("episode {i} seed {s:#018x}");
        let _ = std::io::stderr().flush();
        match fuzz_episode(bundle, s) {
            Ok(stats) => total.add(&stats),
            Err(what) => {
                total.episodes += 1;
                eprintln!("FAIL {s:#018x} {what}");
            }
        }
        i += 1;
    }
    total
}

/// What a child run left behind.
pub struct Outcome {
    /// Whether it exited with status 0.
    pub success: bool,
    /// Its exit status, as text.
    pub status: String,
    /// Everything it wrote to stdout.
    pub stdout: String,
    /// Everything it wrote to stderr.
    pub stderr: String,
}

impl Outcome {
    /// The panic reports on its stderr (from any thread: the host's or the plugin's).
    pub fn panics(&self) -> Vec<&str> {
        self.stderr
            .lines()
            .filter(|l| l.contains("panicked at") || l.contains("panicked:"))
            .collect()
    }

    /// The last `n` lines of stderr.
    pub fn stderr_tail(&self, n: usize) -> String {
        let lines: Vec<&str> = self.stderr.lines().collect();
        lines[lines.len().saturating_sub(n)..].join("\n")
    }
}

/// Runs `keyboardia-clap-stress` (the binary at `exe`) with `args` and collects its output;
/// kills it if it runs longer than `timeout` (a hang is a failure too: `success` is false).
pub fn run_child(exe: &Path, args: &[String], timeout: Duration) -> Outcome {
    use std::io::Read;
    use std::process::Stdio;
    let mut child = Command::new(exe)
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("run {}: {e}", exe.display()));
    let read = |mut pipe: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            let _ = pipe.read_to_end(&mut buf);
            String::from_utf8_lossy(&buf).into_owned()
        })
    };
    let stdout = read(Box::new(child.stdout.take().expect("piped")));
    let stderr = read(Box::new(child.stderr.take().expect("piped")));
    let deadline = Instant::now() + timeout;
    let status = loop {
        match child.try_wait().expect("wait for the child") {
            Some(status) => break Some(status),
            None if Instant::now() >= deadline => {
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
            None => std::thread::sleep(Duration::from_millis(20)),
        }
    };
    Outcome {
        success: status.is_some_and(|s| s.success()),
        status: status.map_or_else(
            || format!("killed: still running after {timeout:?}"),
            |s| s.to_string(),
        ),
        stdout: stdout.join().unwrap_or_default(),
        stderr: stderr.join().unwrap_or_default(),
    }
}

/// A fuzz run of `secs` seconds seeded `seed`: children of `exe` run episodes until the time is
/// up; a child that dies (an abort: an allocation in `process()`, a crash) or hangs is
/// reported with the episode it was in, and the next child goes on from the episode after it.
pub fn fuzz(exe: &Path, bundle: &Path, seed: u64, secs: f64) -> FuzzReport {
    let deadline = Instant::now() + Duration::from_secs_f64(secs);
    let mut report = FuzzReport::default();
    let mut first = 0u64;
    loop {
        let left = deadline
            .saturating_duration_since(Instant::now())
            .as_secs_f64();
        if left <= 0.0 {
            break;
        }
        let out = run_child(
            exe,
            &[
                "fuzz".into(),
                bundle.display().to_string(),
                seed.to_string(),
                first.to_string(),
                format!("{left:.3}"),
            ],
            // An episode takes seconds at most; this is a hang.
            Duration::from_secs_f64(left + 120.0),
        );
        report.children += 1;
        // Which episode each line of stderr belongs to.
        let mut current: Option<(u64, String)> = None;
        let mut started = 0u64;
        for line in out.stderr.lines() {
            if let Some(rest) = line.strip_prefix("episode ") {
                let mut parts = rest.split(" seed ");
                let i = parts.next().and_then(|i| i.parse().ok()).unwrap_or(first);
                let s = parts.next().unwrap_or("?").to_string();
                current = Some((i, s));
                started += 1;
            } else if line.starts_with("FAIL ") {
                report.failures.push(line.to_string());
            } else if line.contains("panicked at") || line.contains("panicked:") {
                let (i, s) = current.clone().unwrap_or((first, "?".into()));
                report
                    .failures
                    .push(format!("FAIL {s} (episode {i}) panic: {line}"));
            }
        }
        match FuzzStats::parse(out.stdout.trim()).filter(|_| out.success) {
            Some(stats) => {
                report.stats.add(&stats);
                break;
            }
            None => {
                let (i, s) = current.unwrap_or((first, "?".into()));
                report.stats.episodes += started;
                report.failures.push(format!(
                    "FAIL {s} (episode {i}) the host process died ({}):\n{}",
                    out.status,
                    out.stderr_tail(12)
                ));
                first = i + 1;
            }
        }
    }
    report
}

/// The result of [`fuzz`].
#[derive(Debug, Default)]
pub struct FuzzReport {
    /// Totals over every child (a child that died counts only the episodes it started).
    pub stats: FuzzStats,
    /// Child processes run (one, unless some died).
    pub children: u64,
    /// `FAIL <episode seed> …` lines: each replays with `keyboardia-clap-stress fuzz-one`.
    pub failures: Vec<String>,
}
