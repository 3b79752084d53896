//! The plugin's own background thread, for the work `process()` hands off ("Add Take to Grid",
//! and in a live session the pattern cues, song mode and fill changes it sends to the room).
//!
//! Not nice-plug's `execute_background`: its one `bg-worker` thread (shared by the instances of
//! a process) runs a task by upgrading its weak handle on the plugin wrapper to a strong one,
//! held until the task returns. A host that destroys the plugin meanwhile drops only its own
//! handle, so the wrapper, and our plugin with it, is dropped on `bg-worker` when the task
//! ends; the wrapper holds that thread's last handle, whose drop joins it: the thread joins
//! itself and panics ("failed to join thread: Resource deadlock avoided"). Until then the
//! plugin's code runs on after the host destroyed it.
//!
//! This thread holds only the services its jobs use, never the plugin. [`Jobs`] is owned by the
//! plugin's services: dropping it (when the host destroys the plugin, on the host's thread)
//! stops and joins the thread, and a job in progress gives up at once ([`Jobs::stopping`] is
//! what it polls while it waits). `process()` posts a job through its [`JobPoster`]: an atomic
//! store and a thread unpark, which neither allocate nor block.

use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::sync::Arc;
use std::thread::{JoinHandle, Thread};

use crate::live::Live;
use crate::playback::{Request, RequestSlot};
use crate::record::RecordShared;
use crate::takes::Takes;

/// The fill slot's words: nothing to send, off, on.
const FILL_NONE: u8 = 0;
const FILL_OFF: u8 = 1;
const FILL_ON: u8 = 2;

/// The thread's name (as debuggers and `/proc` show it; at most 15 bytes on Linux).
pub const THREAD_NAME: &str = "keyboardia-jobs";

/// What the audio thread and the owner tell the thread.
#[derive(Default)]
struct Flags {
    /// "Add Take to Grid" was pressed (taken by the thread).
    add_take: AtomicBool,
    /// A pattern cue or song mode switch for the room (the newest wins).
    playback: RequestSlot,
    /// A fill switch change for the room: [`FILL_NONE`], [`FILL_OFF`] or [`FILL_ON`].
    fill: AtomicU8,
    /// The owner is dropping: jobs in progress give up, the thread ends.
    stop: AtomicBool,
}

/// The thread, owned by the plugin's services; dropping it stops and joins the thread.
pub struct Jobs {
    /// Shared with the thread and the poster.
    flags: Arc<Flags>,
    /// The running thread (`None` if it could not be started, or once joined).
    thread: Option<JoinHandle<()>>,
}

/// The audio thread's end: posts jobs without allocating, locking or blocking.
pub struct JobPoster {
    /// Shared with the thread.
    flags: Arc<Flags>,
    /// The thread to wake (`None` if it could not be started: posts then do nothing).
    thread: Option<Thread>,
}

impl Jobs {
    /// Starts the thread; its jobs work on `takes` and `record`, and send to the room through
    /// `live`.
    pub fn spawn(
        takes: Arc<Takes>,
        record: Arc<RecordShared>,
        live: Arc<Live>,
    ) -> (Jobs, JobPoster) {
        let flags = Arc::new(Flags::default());
        let for_thread = flags.clone();
        // A process out of threads only loses the footswitch's job: the editor's button adds
        // takes on its own thread.
        let thread = std::thread::Builder::new()
            .name(THREAD_NAME.into())
            .spawn(move || run(&for_thread, &takes, &record, &live))
            .ok();
        let poster = JobPoster {
            flags: flags.clone(),
            thread: thread.as_ref().map(|t| t.thread().clone()),
        };
        (Jobs { flags, thread }, poster)
    }

    /// Stops the thread and waits for it (a job in progress gives up within a few ms).
    pub fn stop(&mut self) {
        self.flags.stop.store(true, Ordering::Release);
        if let Some(thread) = self.thread.take() {
            thread.thread().unpark();
            // A job that panicked has already been reported by the panic hook.
            let _ = thread.join();
        }
    }
}

impl Drop for Jobs {
    fn drop(&mut self) {
        self.stop();
    }
}

impl JobPoster {
    /// Audio thread: asks for "Add Take to Grid" (see [`Takes::add_latest_take`]).
    pub fn add_take(&self) {
        self.flags.add_take.store(true, Ordering::Release);
        self.wake();
    }

    /// Audio thread: sends a pattern cue or song mode switch to the room (see
    /// [`Live::cue_pattern`]); a newer one replaces one not sent yet.
    pub fn playback(&self, request: Request) {
        self.flags.playback.post(request);
        self.wake();
    }

    /// Audio thread: sends the fill switch to the room ([`Live::set_fill`]); a newer value
    /// replaces one not sent yet.
    pub fn fill(&self, on: bool) {
        let word = if on { FILL_ON } else { FILL_OFF };
        self.flags.fill.store(word, Ordering::Release);
        self.wake();
    }

    fn wake(&self) {
        if let Some(thread) = &self.thread {
            thread.unpark();
        }
    }
}

/// The thread: sleeps until a job is posted or the owner stops it.
fn run(flags: &Flags, takes: &Takes, record: &RecordShared, live: &Live) {
    loop {
        if flags.stop.load(Ordering::Acquire) {
            return;
        }
        // The room's requests first: they are quick and timely.
        match flags.playback.take() {
            Some(Request::Cue(pt)) => live.cue_pattern(pt),
            Some(Request::SongMode(on)) => live.set_song_mode(on),
            None => {}
        }
        match flags.fill.swap(FILL_NONE, Ordering::AcqRel) {
            FILL_OFF => live.set_fill(false),
            FILL_ON => live.set_fill(true),
            _ => {}
        }
        if flags.add_take.swap(false, Ordering::AcqRel) {
            takes.add_latest_take(record, &flags.stop);
            continue;
        }
        // A post or a stop between the checks and here makes this return at once.
        std::thread::park();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::live::Live;
    use crate::session::SessionStore;
    use std::time::{Duration, Instant};

    #[test]
    fn a_job_waiting_for_a_take_gives_up_when_the_owner_stops() {
        let store = Arc::new(SessionStore::default());
        let live = Arc::new(Live::new(&store));
        let takes = Arc::new(Takes::new(store.clone(), live.clone()));
        let (record, mut capture) = crate::record::new();
        // A take exists, but the audio thread never copies it out: the job waits for it.
        capture.prepare(1000.0, false, false);
        let input: [&mut [f32]; 2] = [&mut [0.5; 64], &mut [0.5; 64]];
        capture.record(&input, 64, true);
        capture.record(&input, 64, false);
        assert_eq!(record.take_serial(), 1);
        let (mut jobs, poster) = Jobs::spawn(takes.clone(), record, live);
        poster.add_take();
        std::thread::sleep(Duration::from_millis(50));
        let t = Instant::now();
        jobs.stop();
        assert!(
            t.elapsed() < Duration::from_millis(1500),
            "the stop waited {:?} for the job",
            t.elapsed()
        );
        assert!(
            takes.take_added().is_none(),
            "a stopped job reports nothing"
        );
    }
}
