//! Recording from the plugin's "Input" sidechain in a real CLAP host (clack-host), debug bundle
//! with `assert_process_allocs` (any allocation in process() aborts): a take held with the
//! "Record" parameter equals the input signal sample for sample, from the first frame of the
//! block the press arrives in to the last frame before the release, at irregular block sizes;
//! "Preview Take" plays it back on the main output; "Add Take to Grid" makes it a track; a take
//! stops by itself at 5 s.

use keyboardia_core::{Instrument, SessionState};
use keyboardia_tests::clap_host::{clap_bundle_path, BundleKind, ClapPlugin, NoteIn, Transport};
use keyboardia_tests::saved_state;

const ID: &str = "dev.keyboardia.sequencer";
const SR: f64 = 48_000.0;
const STOPPED: Transport = Transport {
    playing: false,
    tempo_bpm: 120.0,
    beat: 0.0,
};

fn serial() -> std::sync::MutexGuard<'static, ()> {
    static LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());
    LOCK.lock().unwrap_or_else(|e| e.into_inner())
}

/// A signal unique at every frame (a hash of the frame index), so any misalignment shows.
fn input(channel: u64, frame: usize) -> f32 {
    let h = (frame as u64 + 1)
        .wrapping_mul(0x9E37_79B9_7F4A_7C15)
        .wrapping_add(channel.wrapping_mul(0xD1B5_4A32_D192_ED03));
    let h = h ^ (h >> 29);
    ((h >> 40) as f32 / (1u64 << 24) as f32 - 0.5) * 1.6
}

/// Drives the plugin block by block with the input signal, recording what comes out.
struct Run {
    p: ClapPlugin,
    /// Frames processed.
    pos: usize,
    /// Main output, left and right.
    out: (Vec<f32>, Vec<f32>),
    /// Block sizes, cycled.
    blocks: Vec<usize>,
    next: usize,
    /// The sidechain signal by (channel, frame).
    signal: fn(u64, usize) -> f32,
    /// Notes for the next block.
    notes: Vec<NoteIn>,
}

impl Run {
    fn new() -> Self {
        Self::with_signal(input)
    }

    fn with_signal(signal: fn(u64, usize) -> f32) -> Self {
        let mut p = ClapPlugin::load(&clap_bundle_path(BundleKind::DebugAllocChecks), ID, SR, 512);
        // The host's transport stays stopped, so the sequencer is silent: the output is only
        // the preview.
        let _ = p.process(64, Some(STOPPED), &[], &[]);
        Self {
            p,
            pos: 64,
            out: (vec![0.0; 64], vec![0.0; 64]),
            blocks: vec![512, 100, 37, 256, 1, 480, 333],
            next: 0,
            signal,
            notes: Vec::new(),
        }
    }

    /// One block with parameter changes at its start; returns its first frame.
    fn block(&mut self, params: &[(&str, f64)]) -> usize {
        let n = self.blocks[self.next % self.blocks.len()];
        self.next += 1;
        let start = self.pos;
        let l: Vec<f32> = (start..start + n).map(|i| (self.signal)(0, i)).collect();
        let r: Vec<f32> = (start..start + n).map(|i| (self.signal)(1, i)).collect();
        let events: Vec<_> = params
            .iter()
            .map(|(name, v)| (0, self.p.param_id(name), *v))
            .collect();
        let notes = std::mem::take(&mut self.notes);
        let b = self
            .p
            .process_with_input(n, Some(STOPPED), &notes, &events, Some((&l, &r)));
        self.out.0.extend(b.left);
        self.out.1.extend(b.right);
        self.pos += n;
        start
    }

    /// Runs blocks until at least `frames` more frames are processed.
    fn run(&mut self, frames: usize) {
        let end = self.pos + frames;
        while self.pos < end {
            self.block(&[]);
        }
    }
}

fn expected(channel: u64, from: usize, to: usize) -> Vec<f32> {
    (from..to).map(|i| input(channel, i)).collect()
}

#[test]
fn plugin_record_take_equals_the_input_sample_aligned_and_previews() {
    let _serial = serial();
    let mut r = Run::new();
    r.run(5_000);
    let rec_start = r.block(&[("Record", 1.0)]);
    r.run(30_000);
    let rec_end = r.block(&[("Record", 0.0)]);
    let loud: Vec<(usize, f32)> = r
        .out
        .0
        .iter()
        .copied()
        .enumerate()
        .filter(|(_, v)| *v != 0.0)
        .take(5)
        .collect();
    assert!(
        loud.is_empty(),
        "nothing plays while recording: {loud:?} of {}",
        r.out.0.len()
    );
    r.run(2_000);
    let preview = r.block(&[("Preview Take", 1.0)]);
    let len = rec_end - rec_start;
    r.run(len + 4_000);
    let _ = r.block(&[("Preview Take", 0.0)]);

    // The preview is the take: exactly the input from the press's block to the release's.
    let (l, rr) = &r.out;
    assert!(l[..preview].iter().all(|v| *v == 0.0));
    assert_eq!(
        l[preview..preview + len],
        expected(0, rec_start, rec_end)[..],
        "left take = input frames {rec_start}..{rec_end}"
    );
    assert_eq!(
        rr[preview..preview + len],
        expected(1, rec_start, rec_end)[..],
        "right take = input frames {rec_start}..{rec_end}"
    );
    assert!(
        l[preview + len..]
            .iter()
            .chain(&rr[preview + len..])
            .all(|v| *v == 0.0),
        "silence after the take"
    );

    // A second take replaces the first; the preview plays the new one.
    let rec2 = r.block(&[("Record", 1.0)]);
    r.run(3_000);
    let end2 = r.block(&[("Record", 0.0)]);
    let prev2 = r.block(&[("Preview Take", 1.0)]);
    r.run(end2 - rec2 + 1_000);
    assert_eq!(
        r.out.0[prev2..prev2 + end2 - rec2],
        expected(0, rec2, end2)[..]
    );
    assert!(r.out.0[prev2 + end2 - rec2..].iter().all(|v| *v == 0.0));

    // "Add Take to Grid" pressed in process() (which must not allocate: the debug bundle
    // aborts if it does) hands the work to the background thread: the take becomes a track.
    let _ = r.block(&[("Add Take to Grid", 1.0)]);
    r.run(1_000);
    let _ = r.block(&[("Add Take to Grid", 0.0)]);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let track = loop {
        let doc = saved_state::parse(&r.p.save_state());
        let session: SessionState =
            serde_json::from_str(&saved_state::field(&doc, "session")).unwrap();
        if let Some(t) = session.tracks.into_iter().find(|t| t.name == "Take 2") {
            break t;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no track for the take"
        );
        r.run(512);
    };
    assert!(
        matches!(track.instrument, Instrument::Sample(_)),
        "{:?}",
        track.instrument
    );
}

#[test]
fn plugin_record_stops_by_itself_at_five_seconds() {
    let _serial = serial();
    let mut r = Run::new();
    let rec_start = r.block(&[("Record", 1.0)]);
    // Held for 6.5 s.
    r.run(312_000);
    let _ = r.block(&[("Record", 0.0)]);
    let preview = r.block(&[("Preview Take", 1.0)]);
    r.run(260_000);
    let five_s = (5.0 * SR) as usize;
    assert_eq!(
        r.out.0[preview..preview + five_s],
        expected(0, rec_start, rec_start + five_s)[..],
        "the take is the first 5 s of the hold"
    );
    assert_eq!(
        r.out.1[preview..preview + five_s],
        expected(1, rec_start, rec_start + five_s)[..]
    );
    assert!(
        r.out.0[preview + five_s..].iter().all(|v| *v == 0.0),
        "and ends there"
    );
}

/// Denormal input on both channels: every frame a different denormal, of either sign.
fn denormal(channel: u64, frame: usize) -> f32 {
    let bits = 1 + ((frame as u32).wrapping_mul(2_654_435_761) ^ channel as u32) % 0x007f_ffff;
    let x = f32::from_bits(bits);
    if frame.is_multiple_of(2) {
        x
    } else {
        -x
    }
}

/// What a broken or hostile host may send: NaN, infinities, huge values, denormals, among
/// ordinary audio.
fn wild(channel: u64, frame: usize) -> f32 {
    match (frame + channel as usize) % 8 {
        0 => f32::NAN,
        1 => f32::INFINITY,
        2 => f32::NEG_INFINITY,
        3 => 1e30,
        4 => -1e30,
        5 => denormal(channel, frame),
        _ => input(channel, frame),
    }
}

/// The first frames (index, value) that are not finite, are denormal or exceed ±4.
fn bad_frames(x: &[f32]) -> Vec<(usize, f32)> {
    x.iter()
        .copied()
        .enumerate()
        .filter(|(_, v)| !v.is_finite() || v.is_subnormal() || v.abs() > 4.0)
        .take(5)
        .collect()
}

/// Records a take of `signal` and previews it; returns the run and the preview's first frame.
fn record_and_preview(signal: fn(u64, usize) -> f32) -> (Run, usize) {
    let mut r = Run::with_signal(signal);
    r.run(1_000);
    let _ = r.block(&[("Record", 1.0)]);
    r.run(20_000);
    let _ = r.block(&[("Record", 0.0)]);
    let preview = r.block(&[("Preview Take", 1.0)]);
    r.run(24_000);
    let _ = r.block(&[("Preview Take", 0.0)]);
    (r, preview)
}

#[test]
fn plugin_record_a_denormal_input_is_flushed_on_capture_and_preview() {
    let _serial = serial();
    let (r, preview) = record_and_preview(denormal);
    for (name, out) in [("left", &r.out.0), ("right", &r.out.1)] {
        let bad = bad_frames(out);
        assert!(bad.is_empty(), "{name} output: {bad:?}");
        // The take is silence (a denormal is −760 dBFS at most), and so is the preview.
        assert!(out[preview..].iter().all(|v| *v == 0.0), "{name}");
    }
}

#[test]
fn plugin_record_a_wild_input_plays_finite_and_bounded_in_the_preview_and_on_the_grid() {
    let _serial = serial();
    let (mut r, preview) = record_and_preview(wild);
    for (name, out) in [("left", &r.out.0), ("right", &r.out.1)] {
        let bad = bad_frames(out);
        assert!(bad.is_empty(), "{name} output: {bad:?}");
        assert!(
            out[preview..].iter().any(|v| v.abs() > 0.1),
            "{name}: the preview plays the take's ordinary frames"
        );
    }

    // The take on the grid: its track, selected, plays it for a held note.
    let _ = r.block(&[("Add Take to Grid", 1.0)]);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let index = loop {
        let doc = saved_state::parse(&r.p.save_state());
        let session: SessionState =
            serde_json::from_str(&saved_state::field(&doc, "session")).unwrap();
        if let Some(i) = session.tracks.iter().position(|t| t.name == "Take 1") {
            break i;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no track for the take"
        );
        r.run(512);
    };
    let from = r.out.0.len();
    // nice-plug exposes a stepped parameter to CLAP as 0..steps: value i is track i + 1.
    let _ = r.block(&[("Selected Track", index as f64)]);
    r.notes = vec![NoteIn::On {
        offset: 0,
        key: 60,
        velocity: 1.0,
    }];
    r.run(20_000);
    for (name, out) in [("left", &r.out.0[from..]), ("right", &r.out.1[from..])] {
        let bad = bad_frames(out);
        assert!(bad.is_empty(), "{name} output of the take's track: {bad:?}");
        assert!(
            out.iter().any(|v| v.abs() > 0.01),
            "{name}: the take's track plays"
        );
    }
}
