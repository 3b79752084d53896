//! Recording takes from the plugin's audio input ("Input", a stereo sidechain the DAW routes in).
//!
//! Hold-to-record: while the editor's Record button (or the "Record" parameter, for a footswitch
//! or MIDI-learn) is held, the audio thread copies the input into a capture buffer that
//! [`Capture::prepare`] allocated in `activate()`; it stops on release or by itself after
//! [`MAX_SAMPLE_S`] (the longest sample a session shares), and publishes the take's length. A
//! new take needs a new press.
//!
//! The editor gets a copy of the take without the audio thread allocating or locking: it sends
//! an empty buffer of the capture's size ([`RecordShared::poll_take`] does this), the audio
//! thread fills it between takes and sends it back. Preview plays the take from the capture
//! buffer itself, into the main output at unity gain (after the mix, like an audition).
//!
//! The input level meter is a peak with a 300 ms release, published once per block.
//!
//! The input is [`clean`]ed as it is captured (NaN and anything below −300 dBFS are 0, the rest
//! is within full scale): whatever a host sends on the sidechain, the take is finite, normal and
//! bounded, and so is its preview (the plugin flushes the denormals a mix could still hold from
//! the whole output last, see [`crate::flush`]).

use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::Mutex;

use keyboardia_core::audio::MAX_SAMPLE_S;

use crate::flush::clean;

/// Frames per channel copied for the editor per block (bounds the audio thread's work: a whole
/// 5 s take at 48 kHz takes 15 blocks).
const COPY_FRAMES_PER_BLOCK: usize = 16_384;
/// Time for the level meter to fall by 1/e, in seconds.
const METER_RELEASE_S: f64 = 0.3;

/// A finished take, as the editor receives it (the editor crate's type).
pub use keyboardia_ui::host::Take;

/// Buffers travelling between the editor and the audio thread (moved, never allocated or freed
/// on the audio thread).
struct TakeCopy {
    /// Take serial the copy holds (0: not filled).
    serial: u64,
    /// Frames filled.
    len: usize,
    /// Left channel storage (capacity = the capture's).
    left: Box<[f32]>,
    /// Right channel storage.
    right: Box<[f32]>,
    /// Rate of the take in Hz.
    sample_rate_hz: f32,
}

/// The editor's ends of the copy queues.
struct GuiEnds {
    /// Empty buffers to the audio thread.
    requests: rtrb::Producer<TakeCopy>,
    /// Filled buffers from the audio thread.
    copies: rtrb::Consumer<TakeCopy>,
    /// A request is with the audio thread.
    outstanding: bool,
    /// The newest take copied out (the editor and "Add Take to Grid" read it).
    latest: Option<Take>,
    /// Serial of the last take [`RecordShared::poll_take`] handed to the editor.
    shown: u64,
}

/// Shared by `Arc` between the audio thread and the editor: atomics, plus the editor's queue
/// ends behind a mutex the audio thread never touches.
pub struct RecordShared {
    /// The editor holds the Record button.
    hold: AtomicBool,
    /// The editor asked to preview the take (taken by the audio thread).
    preview: AtomicBool,
    /// The frames the requested preview plays: start in the high 32 bits, end in the low ones
    /// (written before `preview` is set).
    preview_range: AtomicU64,
    /// Recording now (written by the audio thread).
    recording: AtomicBool,
    /// Frames captured in the current or last take (written by the audio thread).
    take_frames: AtomicU32,
    /// Number of finished takes; a take's serial (written by the audio thread when one ends).
    take_serial: AtomicU64,
    /// Capture capacity in frames (written in `activate()`).
    capacity_frames: AtomicU32,
    /// Sample rate of the capture, f32 bits (written in `activate()`).
    sample_rate_bits: AtomicU32,
    /// Input peak level with release, linear, f32 bits (written by the audio thread per block).
    peak_bits: AtomicU32,
    /// Preview playing (written by the audio thread).
    previewing: AtomicBool,
    /// The editor's ends of the copy queues.
    gui: Mutex<GuiEnds>,
}

impl RecordShared {
    /// Editor: hold (true) or release (false) the Record button.
    pub fn set_hold(&self, hold: bool) {
        self.hold.store(hold, Ordering::Release);
    }

    /// Editor: play the last take from its start.
    pub fn request_preview(&self) {
        self.request_preview_range(0, usize::MAX);
    }

    /// Editor: play frames `start..end` of the last take (clamped to it): one slice.
    pub fn request_preview_range(&self, start: usize, end: usize) {
        let clamp = |v: usize| v.min(u32::MAX as usize) as u64;
        self.preview_range
            .store(clamp(start) << 32 | clamp(end), Ordering::Relaxed);
        self.preview.store(true, Ordering::Release);
    }

    /// Whether a take is being recorded.
    pub fn recording(&self) -> bool {
        self.recording.load(Ordering::Acquire)
    }

    /// Whether the preview plays.
    pub fn previewing(&self) -> bool {
        self.previewing.load(Ordering::Acquire)
    }

    /// Frames captured in the current or last take.
    pub fn take_frames(&self) -> usize {
        self.take_frames.load(Ordering::Acquire) as usize
    }

    /// Number of finished takes (the latest take's serial; 0: none yet).
    pub fn take_serial(&self) -> u64 {
        self.take_serial.load(Ordering::Acquire)
    }

    /// Longest take at the current sample rate, in frames.
    pub fn capacity_frames(&self) -> usize {
        self.capacity_frames.load(Ordering::Acquire) as usize
    }

    /// The capture's sample rate in Hz.
    pub fn sample_rate_hz(&self) -> f32 {
        f32::from_bits(self.sample_rate_bits.load(Ordering::Acquire))
    }

    /// Input peak level (linear, with a 300 ms release).
    pub fn input_peak(&self) -> f32 {
        f32::from_bits(self.peak_bits.load(Ordering::Relaxed))
    }

    /// Editor, once per frame: returns the latest take once it has been copied out (once per
    /// take). See [`RecordShared::pump`].
    pub fn poll_take(&self) -> Option<Take> {
        let mut gui = self.gui.lock().unwrap_or_else(|e| e.into_inner());
        self.pump(&mut gui);
        let serial = gui.latest.as_ref().map_or(0, |t| t.serial);
        if serial > gui.shown {
            gui.shown = serial;
            return gui.latest.clone();
        }
        None
    }

    /// Off the audio thread: the newest take, waiting up to `timeout` for the audio thread to
    /// copy it out (it does within a few blocks). `None` when there is no take yet, when the
    /// audio thread did not copy it in time (it is not processing), or once `give_up` is set
    /// (the plugin is being destroyed).
    pub fn latest_take(
        &self,
        timeout: std::time::Duration,
        give_up: &std::sync::atomic::AtomicBool,
    ) -> Option<Take> {
        let deadline = std::time::Instant::now() + timeout;
        loop {
            if give_up.load(Ordering::Acquire) {
                return None;
            }
            {
                let mut gui = self.gui.lock().unwrap_or_else(|e| e.into_inner());
                self.pump(&mut gui);
                let newest = self.take_serial();
                match &gui.latest {
                    Some(t) if t.serial == newest => return Some(t.clone()),
                    _ if newest == 0 => return None,
                    _ => {}
                }
            }
            if std::time::Instant::now() >= deadline {
                return None;
            }
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
    }

    /// Takes the audio thread's finished copies into `latest`. When a take newer than it
    /// exists, sends the audio thread an empty buffer (this allocates, here off the audio
    /// thread) that comes back filled on a later call.
    fn pump(&self, gui: &mut GuiEnds) {
        while let Ok(copy) = gui.copies.pop() {
            gui.outstanding = false;
            let newer = copy.serial > gui.latest.as_ref().map_or(0, |t| t.serial);
            if newer && copy.len > 0 {
                gui.latest = Some(Take {
                    serial: copy.serial,
                    left: copy.left[..copy.len].to_vec(),
                    right: copy.right[..copy.len].to_vec(),
                    sample_rate_hz: copy.sample_rate_hz,
                });
            }
        }
        let capacity = self.capacity_frames();
        let have = gui.latest.as_ref().map_or(0, |t| t.serial);
        if !gui.outstanding && self.take_serial() > have && capacity > 0 {
            let request = TakeCopy {
                serial: 0,
                len: 0,
                left: vec![0.0; capacity].into_boxed_slice(),
                right: vec![0.0; capacity].into_boxed_slice(),
                sample_rate_hz: 0.0,
            };
            if gui.requests.push(request).is_ok() {
                gui.outstanding = true;
            }
        }
    }
}

/// The audio thread's side: the capture buffer and its queue ends (owned by the plugin).
pub struct Capture {
    /// Shared with the editor.
    shared: std::sync::Arc<RecordShared>,
    /// Left capture channel, [`MAX_SAMPLE_S`] long (allocated in [`Capture::prepare`]).
    left: Box<[f32]>,
    /// Right capture channel.
    right: Box<[f32]>,
    /// Frames in the take.
    len: usize,
    /// Recording now.
    recording: bool,
    /// The hold seen in the previous block (a take starts on a new press only).
    was_held: bool,
    /// The preview parameter seen in the previous block.
    was_preview_param: bool,
    /// Next frame the preview plays; `None` while not previewing.
    preview_pos: Option<usize>,
    /// Where the preview stops (exclusive; at most the take's length).
    preview_end: usize,
    /// Meter level before this block.
    peak: f32,
    /// Meter decay per frame.
    release_per_frame: f32,
    /// The rate the capture was prepared for, in Hz.
    sample_rate_hz: f32,
    /// Empty buffers from the editor.
    requests: rtrb::Consumer<TakeCopy>,
    /// Filled buffers back to the editor.
    copies: rtrb::Producer<TakeCopy>,
    /// The editor's copy being filled, and the frames done so far.
    copying: Option<(TakeCopy, usize)>,
}

/// Creates the shared state and the audio side (no capture storage yet: see [`Capture::prepare`]).
pub fn new() -> (std::sync::Arc<RecordShared>, Capture) {
    let (requests_tx, requests_rx) = rtrb::RingBuffer::new(2);
    let (copies_tx, copies_rx) = rtrb::RingBuffer::new(2);
    let shared = std::sync::Arc::new(RecordShared {
        hold: AtomicBool::new(false),
        preview: AtomicBool::new(false),
        preview_range: AtomicU64::new(u32::MAX as u64),
        recording: AtomicBool::new(false),
        take_frames: AtomicU32::new(0),
        take_serial: AtomicU64::new(0),
        capacity_frames: AtomicU32::new(0),
        sample_rate_bits: AtomicU32::new(0),
        peak_bits: AtomicU32::new(0),
        previewing: AtomicBool::new(false),
        gui: Mutex::new(GuiEnds {
            requests: requests_tx,
            copies: copies_rx,
            outstanding: false,
            latest: None,
            shown: 0,
        }),
    });
    let capture = Capture {
        shared: shared.clone(),
        left: Box::new([]),
        right: Box::new([]),
        len: 0,
        recording: false,
        was_held: false,
        was_preview_param: false,
        preview_pos: None,
        preview_end: 0,
        peak: 0.0,
        release_per_frame: 1.0,
        sample_rate_hz: 0.0,
        requests: requests_rx,
        copies: copies_tx,
        copying: None,
    };
    (shared, capture)
}

impl Capture {
    /// Main thread (`activate()`): sizes the capture for `sample_rate_hz` (reallocating only
    /// when the rate changed, which drops the take) and ignores a Record or Preview parameter
    /// that is already on (a restored project), so only a new press records or plays.
    pub fn prepare(&mut self, sample_rate_hz: f32, record_param: bool, preview_param: bool) {
        let capacity = (MAX_SAMPLE_S * sample_rate_hz as f64).round() as usize;
        if self.left.len() != capacity {
            self.left = vec![0.0; capacity].into_boxed_slice();
            self.right = vec![0.0; capacity].into_boxed_slice();
            self.len = 0;
            self.shared.take_frames.store(0, Ordering::Release);
        }
        self.sample_rate_hz = sample_rate_hz;
        self.release_per_frame = (-1.0 / (METER_RELEASE_S * sample_rate_hz as f64)).exp() as f32;
        self.return_copy_unfilled();
        self.recording = false;
        self.was_held = record_param || self.shared.hold.load(Ordering::Acquire);
        self.was_preview_param = preview_param;
        self.preview_pos = None;
        self.shared.recording.store(false, Ordering::Release);
        self.shared.previewing.store(false, Ordering::Release);
        self.shared
            .sample_rate_bits
            .store(sample_rate_hz.to_bits(), Ordering::Release);
        self.shared
            .capacity_frames
            .store(capacity as u32, Ordering::Release);
    }

    /// Ends the take: publishes it as the next serial.
    fn finish_take(&mut self) {
        self.recording = false;
        self.shared.take_serial.fetch_add(1, Ordering::AcqRel);
        self.shared.recording.store(false, Ordering::Release);
    }

    /// Audio thread, once per block after the mix: [`Capture::record`], then [`Capture::play`]
    /// into `output` (left, right). Never allocates or locks.
    pub fn process(
        &mut self,
        input: &[&mut [f32]],
        output: &mut [&mut [f32]],
        record_param: bool,
        preview_param: bool,
    ) {
        let frames = output.first().map_or(0, |c| c.len());
        self.record(input, frames, record_param);
        self.play(output, preview_param);
    }

    /// Audio thread, once per block, before [`Capture::play`]: records `input` (one or two
    /// channels of the block's `frames`; empty for no input) while held and updates the meter.
    /// The standalone calls it before the mix, while its main input is still in the buffer the
    /// mix then overwrites. `record_param` is the parameter's value for this block.
    pub fn record(&mut self, input: &[&mut [f32]], frames: usize, record_param: bool) {
        let in_l: Option<&[f32]> = input.first().map(|c| &c[..]);
        let in_r: Option<&[f32]> = input.get(1).map(|c| &c[..]).or(in_l);

        // Meter: the block's input peak against the decayed previous level.
        let block_peak = in_l
            .into_iter()
            .chain(in_r)
            .flat_map(|c| c.iter())
            .fold(0.0f32, |m, v| m.max(clean(*v).abs()));
        self.peak = (self.peak * self.release_per_frame.powi(frames as i32)).max(block_peak);
        self.shared
            .peak_bits
            .store(self.peak.to_bits(), Ordering::Relaxed);

        // Hold-to-record: a new press starts a take at this block's first frame.
        let held = record_param || self.shared.hold.load(Ordering::Acquire);
        if held && !self.was_held && !self.left.is_empty() {
            self.recording = true;
            self.len = 0;
            self.preview_pos = None;
            self.shared.recording.store(true, Ordering::Release);
        }
        self.was_held = held;
        if self.recording && !held {
            self.finish_take();
        }
        if self.recording {
            let n = frames.min(self.left.len() - self.len);
            if let (Some(l), Some(r)) = (in_l, in_r) {
                let n = n.min(l.len()).min(r.len());
                // Flushed on capture: the take holds only what the sampler may play.
                for (take, input) in [(&mut self.left, l), (&mut self.right, r)] {
                    for (t, x) in take[self.len..self.len + n].iter_mut().zip(&input[..n]) {
                        *t = clean(*x);
                    }
                }
                self.len += n;
            } else {
                self.left[self.len..self.len + n].fill(0.0);
                self.right[self.len..self.len + n].fill(0.0);
                self.len += n;
            }
            self.shared
                .take_frames
                .store(self.len as u32, Ordering::Release);
            if self.len == self.left.len() {
                self.finish_take();
            }
        }
    }

    /// Audio thread, once per block after the mix and [`Capture::record`]: plays the preview into
    /// `output` (left, right) and serves the editor's copy request. `preview_param` is the
    /// parameter's value for this block.
    pub fn play(&mut self, output: &mut [&mut [f32]], preview_param: bool) {
        let frames = output.first().map_or(0, |c| c.len());
        // Preview: the editor's range, or the whole take on a new press of the parameter.
        let preview_press = preview_param && !self.was_preview_param;
        self.was_preview_param = preview_param;
        let requested = self.shared.preview.swap(false, Ordering::AcqRel);
        if (requested || preview_press) && !self.recording {
            let (start, end) = if requested {
                let r = self.shared.preview_range.load(Ordering::Relaxed);
                ((r >> 32) as usize, (r & u32::MAX as u64) as usize)
            } else {
                (0, self.len)
            };
            self.preview_end = end.min(self.len);
            self.preview_pos = (start < self.preview_end).then_some(start);
        }
        if let Some(pos) = self.preview_pos {
            let n = frames.min(self.preview_end.saturating_sub(pos));
            for (ch, take) in output.iter_mut().zip([&self.left, &self.right]) {
                for (o, s) in ch[..n].iter_mut().zip(&take[pos..pos + n]) {
                    *o += s;
                }
            }
            self.preview_pos = (pos + n < self.preview_end).then_some(pos + n);
        }
        self.shared
            .previewing
            .store(self.preview_pos.is_some(), Ordering::Release);

        // The editor's copy of the finished take, a bounded number of frames per block.
        if self.recording {
            // A new take: whatever was being copied is of the old one.
            self.return_copy_unfilled();
        } else if self.len > 0 {
            if self.copying.is_none() {
                self.copying = self.requests.pop().ok().map(|c| (c, 0));
            }
            if let Some((mut copy, done)) = self.copying.take() {
                let total = self.len.min(copy.left.len()).min(copy.right.len());
                let end = total.min(done + COPY_FRAMES_PER_BLOCK);
                copy.left[done..end].copy_from_slice(&self.left[done..end]);
                copy.right[done..end].copy_from_slice(&self.right[done..end]);
                if end == total {
                    copy.len = total;
                    copy.serial = self.shared.take_serial.load(Ordering::Acquire);
                    copy.sample_rate_hz = self.sample_rate_hz;
                    self.send_copy(copy);
                } else {
                    self.copying = Some((copy, end));
                }
            }
        }
    }

    /// Hands a copy request back unfilled (the editor asks again).
    fn return_copy_unfilled(&mut self) {
        if let Some((mut copy, _)) = self.copying.take() {
            copy.len = 0;
            copy.serial = 0;
            self.send_copy(copy);
        }
    }

    fn send_copy(&mut self, copy: TakeCopy) {
        if let Err(rtrb::PushError::Full(copy)) = self.copies.push(copy) {
            // Never frees here; the queue holds every request, so this cannot happen.
            std::mem::forget(copy);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs one block of `frames` frames of `input` (stereo) through `c`; returns the output.
    fn block(c: &mut Capture, l: &[f32], r: &[f32], rec: bool, prev: bool) -> (Vec<f32>, Vec<f32>) {
        let mut il = l.to_vec();
        let mut ir = r.to_vec();
        let mut ol = vec![0.0; l.len()];
        let mut or = vec![0.0; l.len()];
        {
            let input: [&mut [f32]; 2] = [&mut il, &mut ir];
            let mut output: [&mut [f32]; 2] = [&mut ol, &mut or];
            c.process(&input, &mut output, rec, prev);
        }
        (ol, or)
    }

    fn signal(start: usize, n: usize, ch: f32) -> Vec<f32> {
        (start..start + n)
            .map(|i| (i as f32 * 0.37 + ch).sin() * 0.8)
            .collect()
    }

    #[test]
    fn a_held_take_equals_the_input_and_reaches_the_editor() {
        let (shared, mut c) = new();
        c.prepare(1000.0, false, false);
        assert_eq!(shared.capacity_frames(), 5000);
        let b = 64;
        let mut pos = 0;
        let mut delivered = Vec::new();
        for k in 0..20 {
            if k == 3 {
                shared.set_hold(true);
            }
            if k == 10 {
                shared.set_hold(false);
            }
            block(
                &mut c,
                &signal(pos, b, 0.0),
                &signal(pos, b, 1.0),
                false,
                false,
            );
            assert_eq!(shared.recording(), (3..10).contains(&k));
            pos += b;
            if let Some(t) = shared.poll_take() {
                delivered.push((k, t));
            }
        }
        assert_eq!(shared.take_serial(), 1);
        // The take is blocks 3..10 (the release is seen in block 10, which is not recorded);
        // the editor asks after block 10 and has it after block 11, once.
        assert_eq!(delivered.len(), 1);
        let (k, t) = &delivered[0];
        assert_eq!(*k, 11);
        assert_eq!(t.left, signal(3 * b, 7 * b, 0.0));
        assert_eq!(t.right, signal(3 * b, 7 * b, 1.0));
        assert_eq!(shared.take_frames(), 7 * b);
    }

    #[test]
    fn the_editor_gets_the_take_bit_exact() {
        let (shared, mut c) = new();
        c.prepare(1000.0, false, false);
        let b = 50;
        let mut pos = 0;
        let mut got = None;
        for k in 0..12 {
            let rec = (2..6).contains(&k);
            block(
                &mut c,
                &signal(pos, b, 0.0),
                &signal(pos, b, 1.0),
                rec,
                false,
            );
            pos += b;
            if let Some(t) = shared.poll_take() {
                got = Some(t);
            }
        }
        let t = got.expect("take delivered");
        assert_eq!(t.left, signal(2 * b, 4 * b, 0.0));
        assert_eq!(t.right, signal(2 * b, 4 * b, 1.0));
        assert_eq!(t.sample_rate_hz, 1000.0);
        assert_eq!(t.serial, 1);
    }

    #[test]
    fn recording_stops_by_itself_at_five_seconds_and_preview_plays_it() {
        let (shared, mut c) = new();
        c.prepare(200.0, false, false);
        let b = 64;
        let mut pos = 0;
        // Held for 8 s: the take ends at 5 s (1000 frames) while still held.
        for _ in 0..25 {
            block(
                &mut c,
                &signal(pos, b, 0.0),
                &signal(pos, b, 2.0),
                true,
                false,
            );
            pos += b;
        }
        assert!(!shared.recording());
        assert_eq!(shared.take_frames(), 1000);
        assert_eq!(shared.take_serial(), 1);
        // Still held: no new take starts.
        block(
            &mut c,
            &signal(pos, b, 0.0),
            &signal(pos, b, 2.0),
            true,
            false,
        );
        assert_eq!(shared.take_serial(), 1);
        // Preview (released first) plays exactly the take, then silence.
        shared.request_preview();
        let mut out_l = Vec::new();
        let mut out_r = Vec::new();
        for _ in 0..20 {
            let (l, r) = block(&mut c, &[0.0; 64], &[0.0; 64], false, false);
            out_l.extend(l);
            out_r.extend(r);
        }
        assert_eq!(out_l[..1000], signal(0, 1000, 0.0)[..]);
        assert_eq!(out_r[..1000], signal(0, 1000, 2.0)[..]);
        assert!(out_l[1000..].iter().all(|&v| v == 0.0));
        assert!(!shared.previewing());
    }

    #[test]
    fn a_long_take_reaches_the_editor_over_several_blocks_and_a_new_take_restarts_the_copy() {
        let (shared, mut c) = new();
        c.prepare(10_000.0, false, false);
        let b = 1000;
        let mut pos = 0;
        let run = |c: &mut Capture, blocks: usize, rec: bool, pos: &mut usize| {
            let mut got = Vec::new();
            for _ in 0..blocks {
                block(c, &signal(*pos, b, 0.0), &signal(*pos, b, 1.0), rec, false);
                *pos += b;
                got.extend(shared.poll_take());
            }
            got
        };
        // A 40 000-frame take: the copy takes 3 blocks of 16 384 frames.
        assert!(run(&mut c, 40, true, &mut pos).is_empty());
        assert!(run(&mut c, 2, false, &mut pos).is_empty(), "still copying");
        // A new take starts mid-copy: the copy is abandoned, not mixed with the new take.
        let start2 = pos;
        assert!(run(&mut c, 30, true, &mut pos).is_empty());
        let got = run(&mut c, 10, false, &mut pos);
        assert_eq!(got.len(), 1, "only the newest take is delivered");
        assert_eq!(got[0].serial, 2);
        assert_eq!(got[0].left, signal(start2, 30 * b, 0.0));
        assert_eq!(got[0].right, signal(start2, 30 * b, 1.0));
    }

    #[test]
    fn a_range_preview_plays_one_slice() {
        let (shared, mut c) = new();
        c.prepare(1000.0, false, false);
        for k in 0..10 {
            let p = k * 100;
            block(
                &mut c,
                &signal(p, 100, 0.0),
                &signal(p, 100, 1.0),
                k < 9,
                false,
            );
        }
        assert_eq!(shared.take_frames(), 900);
        shared.request_preview_range(250, 420);
        let mut out = Vec::new();
        for _ in 0..4 {
            out.extend(block(&mut c, &[0.0; 100], &[0.0; 100], false, false).0);
        }
        assert_eq!(out[..170], signal(250, 170, 0.0)[..]);
        assert!(out[170..].iter().all(|&v| v == 0.0));
        // A range past the take's end is clamped to it.
        shared.request_preview_range(800, 5000);
        let out = block(&mut c, &[0.0; 200], &[0.0; 200], false, false).0;
        assert_eq!(out[..100], signal(800, 100, 0.0)[..]);
        assert!(out[100..].iter().all(|&v| v == 0.0));
    }

    #[test]
    fn a_wild_input_is_cleaned_on_capture() {
        let (shared, mut c) = new();
        c.prepare(1000.0, false, false);
        let wild = [
            f32::NAN,
            f32::INFINITY,
            -1e30,
            f32::from_bits(1),
            -f32::from_bits(0x0040_0000),
            0.5,
        ];
        block(&mut c, &wild, &wild, true, false);
        assert_eq!(
            shared.input_peak(),
            1.0,
            "the meter shows full scale at most"
        );
        block(&mut c, &[0.0; 6], &[0.0; 6], false, false);
        shared.request_preview();
        let (l, r) = block(&mut c, &[0.0; 6], &[0.0; 6], false, false);
        let want = [0.0, 1.0, -1.0, 0.0, 0.0, 0.5];
        assert_eq!(l, want);
        assert_eq!(r, want);
        assert!(l.iter().all(|v| !v.is_subnormal()));
    }

    #[test]
    fn the_meter_holds_the_peak_and_falls() {
        let (shared, mut c) = new();
        c.prepare(1000.0, false, false);
        let mut l = vec![0.0f32; 100];
        l[40] = -0.9;
        block(&mut c, &l, &[0.1; 100], false, false);
        assert_eq!(shared.input_peak(), 0.9);
        // 300 ms of silence: down by 1/e.
        for _ in 0..3 {
            block(&mut c, &[0.0; 100], &[0.0; 100], false, false);
        }
        let p = shared.input_peak();
        assert!((p - 0.9 / std::f32::consts::E).abs() < 1e-3, "{p}");
    }

    #[test]
    fn a_restored_pressed_parameter_does_not_record() {
        let (shared, mut c) = new();
        c.prepare(1000.0, true, false);
        block(&mut c, &[0.5; 64], &[0.5; 64], true, false);
        assert!(!shared.recording());
        block(&mut c, &[0.5; 64], &[0.5; 64], false, false);
        block(&mut c, &[0.5; 64], &[0.5; 64], true, false);
        assert!(shared.recording());
    }
}
