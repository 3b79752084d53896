//! Bounce benchmark (prints numbers; not a timed test): bounces a long session to a WAV file
//! and reports the peak memory, which the streaming bounce keeps flat whatever the length
//! (target: under 64 MB at 320 bars), and the real-time factor.
//!
//! Peak memory is reported two ways: the process's peak resident set (`VmHWM` in
//! `/proc/self/status`, Linux) and the peak of live heap bytes (a counting global allocator).
//! Exits with status 1 when the peak resident set is over the target.
//!
//! ```text
//! cargo run --release -p keyboardia-engine --example bounce_memory               # 320 bars, streamed
//! cargo run --release -p keyboardia-engine --example bounce_memory -- --in-memory # the old path
//! cargo run --release -p keyboardia-engine --example bounce_memory -- --midi      # MIDI export
//! ```

use std::alloc::{GlobalAlloc, Layout, System};
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use clap::Parser;
use keyboardia_core::audio::encode_wav_stereo_f32;
use keyboardia_core::SessionState;
use keyboardia_engine::midi::{self, MidiOptions};
use keyboardia_engine::render::{bounce_wav_to, render_session, Length, RenderOptions, Renderer};

/// Counts live heap bytes and their peak.
struct Counting;

/// Heap bytes allocated and not yet freed.
static LIVE_BYTES: AtomicUsize = AtomicUsize::new(0);
/// The largest `LIVE_BYTES` has been.
static PEAK_BYTES: AtomicUsize = AtomicUsize::new(0);

fn grew(by: usize) {
    let now = LIVE_BYTES.fetch_add(by, Ordering::Relaxed) + by;
    PEAK_BYTES.fetch_max(now, Ordering::Relaxed);
}

// SAFETY: every call is forwarded to the system allocator unchanged; only counters are added.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            grew(layout.size());
        }
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc_zeroed(layout) };
        if !p.is_null() {
            grew(layout.size());
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) };
        LIVE_BYTES.fetch_sub(layout.size(), Ordering::Relaxed);
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            LIVE_BYTES.fetch_sub(layout.size(), Ordering::Relaxed);
            grew(new_size);
        }
        p
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Bounces the demo session (or a session file) and prints its peak memory.
#[derive(Debug, Parser)]
struct Args {
    /// Length in 4/4 bars.
    #[arg(long, default_value_t = 320.0)]
    bars: f64,
    /// Render the whole bounce in memory and encode it at once (the path before streaming).
    #[arg(long, conflicts_with = "midi")]
    in_memory: bool,
    /// Export MIDI instead of bouncing audio.
    #[arg(long)]
    midi: bool,
    /// Peak resident set allowed, in MB.
    #[arg(long, default_value_t = 64.0)]
    target_mb: f64,
    /// Where to write (default: a file in the system's temp folder, removed afterwards).
    #[arg(long)]
    out: Option<PathBuf>,
}

/// A `kB` field of `/proc/self/status` (Linux), in MB.
fn status_mb(field: &str) -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with(field))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

fn mb(bytes: usize) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    let state = SessionState::demo();
    let opts = RenderOptions::default();
    let length = Length::Bars(args.bars);
    let ext = if args.midi { "mid" } else { "wav" };
    let temp = args.out.is_none();
    let out = args.out.clone().unwrap_or_else(|| {
        std::env::temp_dir().join(format!("kb-bounce-{}.{ext}", std::process::id()))
    });
    let rss_before = status_mb("VmHWM:");
    let heap_before = PEAK_BYTES.load(Ordering::Relaxed);
    let start = Instant::now();
    let (mode, frames) = if args.midi {
        let bytes = midi::export(&state, length, &MidiOptions::default())?;
        std::fs::write(&out, &bytes)?;
        ("MIDI export", 0)
    } else if args.in_memory {
        let audio = render_session(&state, &opts, args.bars);
        let wav = encode_wav_stereo_f32(&audio.left, &audio.right, opts.sample_rate_hz as u32)?;
        std::fs::write(&out, wav)?;
        ("in-memory render + encode", audio.len())
    } else {
        let renderer = Renderer::for_session(&state, &opts, length)?;
        let file = std::fs::File::create(&out)?;
        let mut shown = 0;
        let done = bounce_wav_to(file, renderer, |p| {
            let tenth = (p.fraction() * 10.0) as u32;
            if tenth > shown {
                shown = tenth;
                eprint!("{}% ", tenth * 10);
            }
        })?;
        eprintln!();
        ("streamed bounce", done.frames)
    };
    let seconds = start.elapsed().as_secs_f64();
    let size = std::fs::metadata(&out)?.len();
    if temp {
        std::fs::remove_file(&out).ok();
    }
    let audio_s = frames as f64 / opts.sample_rate_hz;
    let audio = if frames > 0 {
        format!(
            " at {} Hz: {frames} frames ({audio_s:.0} s of audio, {:.0}x real time)",
            opts.sample_rate_hz,
            audio_s / seconds
        )
    } else {
        String::new()
    };
    println!(
        "{mode}: {} bars of the demo{audio}, {:.1} MB file, {seconds:.2} s wall",
        args.bars,
        size as f64 / 1e6,
    );
    println!(
        "peak heap (counting allocator): {:.1} MB (before: {:.1} MB)",
        mb(PEAK_BYTES.load(Ordering::Relaxed)),
        mb(heap_before)
    );
    let Some(rss) = status_mb("VmHWM:") else {
        println!("peak resident set: not available (no /proc/self/status)");
        return Ok(());
    };
    println!(
        "peak resident set (VmHWM): {rss:.1} MB (before: {:.1} MB); target < {} MB: {}",
        rss_before.unwrap_or(0.0),
        args.target_mb,
        if rss < args.target_mb {
            "met"
        } else {
            "MISSED"
        }
    );
    if rss >= args.target_mb {
        std::process::exit(1);
    }
    Ok(())
}
