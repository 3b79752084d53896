//! Pure scheduling: which notes of the pattern start in a block, and on which frame.
//!
//! A plain function of the pattern, the block's place on the beat axis ([`BlockSpan`]) and each
//! track's [`StepCursor`] (where its sequencer stands, and the hits it scheduled ahead): no
//! voices, no MIDI, no clock. [`block_hits`] returns the block's [`Fired`] hits sorted by
//! frame; the engine starts their notes and sends their MIDI.
//!
//! Every hit is placed on its exact frame, `ceil((beat − block_beat) × frames_per_beat)`, and
//! the probability dice are addressed by (seed, track id, step position), so the hits do not
//! depend on how the host splits blocks. Trig conditions ([`trig_plays`]) count a track's loops
//! from the position too (16ths since the pattern's run began ÷ the track's step count), never
//! from a counter that starts when playback does: every player of a live session, a late
//! joiner included, and every bounce hear the same loop.
//!
//! Which pattern a step plays comes from [`Playing`] (the playback stamped on the shared
//! timeline, [`keyboardia_core::song`]) as a pure function of the step's position, so a
//! pattern switch lands on its exact step whatever the block size.

use keyboardia_core::song::{Arrangement, Playback};
use keyboardia_core::{Step, Steps, SynthPreset, TrackId, MAX_TRACKS};

use crate::dsp::splitmix64;
use crate::pattern::{EnginePattern, EngineTrack};
use crate::voice::Patch;

/// Length of one step in beats (16th notes).
pub const STEP_BEATS: f64 = 0.25;
/// Scheduled hits a track can hold ahead of time (8 ratchets × a few steps).
pub const PENDING_PER_TRACK: usize = 32;
/// Hits that can fire within one block.
pub const MAX_BLOCK_HITS: usize = MAX_TRACKS * PENDING_PER_TRACK;
/// How far past a block's end steps are scheduled (half a step: a step nudged early may sound
/// up to half a step before its place). What plays at a step (its pattern, the fill switch) is
/// read as it is scheduled, so a change meant for every later step takes effect from the first
/// step at least this far after the block being played.
pub const SCHEDULE_AHEAD_BEATS: f64 = 0.5 * STEP_BEATS;
/// Tolerance when converting a beat time to a frame (covers f64 rounding).
pub const FRAME_EPS: f64 = 1e-6;

/// One scheduled note of a track.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Hit {
    /// When it plays, in beats.
    pub time_beats: f64,
    /// How long its gate stays open, in beats.
    pub gate_beats: f64,
    /// The step's pitch lock, in semitones.
    pub pitch_semis: i8,
    /// Step velocity, 1..=127.
    pub velocity: u8,
    /// Volume lock (linear gain).
    pub gain: f32,
    /// Acid: glide from the previous held note instead of retriggering.
    pub slide: bool,
    /// Slice lock: a sample track plays only this slice of its sample (`None`: all of it).
    pub slice: Option<u8>,
    /// Cutoff lock, Hz: the track's filter runs at it from this hit on (`None`: the track's).
    pub cutoff_hz: Option<f32>,
    /// Reverb send lock from this hit on (`None`: the track's).
    pub reverb_send: Option<f32>,
    /// Delay send lock from this hit on (`None`: the track's).
    pub delay_send: Option<f32>,
}

/// A hit that starts in the current block.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Fired {
    /// Frame offset within the block.
    pub offset_frames: u32,
    /// Track slot.
    pub track: u8,
    /// How long its gate stays open, in frames (at least 1).
    pub gate_frames: u64,
    /// The hit itself.
    pub hit: Hit,
}

/// Where one track's sequencer stands: the next step to schedule, and the hits scheduled but
/// not yet fired (a nudged-early or ratcheted step is scheduled ahead of its block).
#[derive(Clone, Copy, Debug)]
pub struct StepCursor {
    /// Global 16th index of the next step to schedule.
    next_step: i64,
    /// Hits scheduled but not yet fired.
    pending: [Hit; PENDING_PER_TRACK],
    /// Valid entries in `pending`.
    pending_len: usize,
    /// Hits before this beat are dropped (set on a relocation).
    discard_before_beat: f64,
}

impl Default for StepCursor {
    fn default() -> Self {
        Self {
            next_step: 0,
            pending: [Hit::default(); PENDING_PER_TRACK],
            pending_len: 0,
            discard_before_beat: f64::NEG_INFINITY,
        }
    }
}

impl StepCursor {
    /// A track that joins while the transport is at `beat` (`None`: stopped; the next start
    /// positions every track anyway).
    pub fn joining_at(beat: Option<f64>) -> Self {
        Self {
            next_step: beat.map_or(0, first_step_from),
            discard_before_beat: beat.unwrap_or(f64::NEG_INFINITY),
            ..Self::default()
        }
    }

    /// Starts over at a block that begins at `start_beat` (a start or a jump): from the step
    /// before it (a nudged-late step may sound in this block), dropping anything earlier. A
    /// block that begins before the start (a shared start inside it) schedules from step 0:
    /// nothing before the start plays.
    pub fn relocate(&mut self, start_beat: f64, frames_per_beat: f64) {
        self.next_step = first_step_from(start_beat);
        self.pending_len = 0;
        self.discard_before_beat = start_beat - FRAME_EPS / frames_per_beat;
    }

    /// Forgets the hits scheduled ahead (stop, reset).
    pub fn clear_pending(&mut self) {
        self.pending_len = 0;
    }
}

/// The first step a track schedules from when it starts at `beat`: the step before it, or step
/// 0 before the start.
fn first_step_from(beat: f64) -> i64 {
    let before = (beat / STEP_BEATS).floor() as i64 - 1;
    if beat < 0.0 {
        before.max(0)
    } else {
        before
    }
}

/// One block on the beat axis.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BlockSpan {
    /// Beat at the block's first frame.
    pub start_beat: f64,
    /// Frames in the block.
    pub frames: usize,
    /// Frames per beat at the block's tempo.
    pub frames_per_beat: f64,
}

impl BlockSpan {
    /// The beat just after the block's last frame.
    pub fn end_beat(&self) -> f64 {
        self.start_beat + self.frames as f64 / self.frames_per_beat
    }
}

/// How far swing delays the off-beat 16ths, in beats, for a swing of `swing_pct` percent.
pub fn swing_beats(swing_pct: f64) -> f64 {
    swing_pct.clamp(0.0, 100.0) / 100.0 * 0.5 * STEP_BEATS
}

/// When step `n` plays, in beats: 16ths, off-beats delayed by swing, nudge lock applied.
pub fn step_time(n: i64, step: &Step, swing_beats: f64) -> f64 {
    let mut t = n as f64 * STEP_BEATS;
    if n.rem_euclid(2) == 1 {
        t += swing_beats;
    }
    if let Some(nudge) = step.locks.nudge {
        t += nudge.clamp(-50, 50) as f64 / 100.0 * STEP_BEATS;
    }
    t
}

/// What plays where: the playback (pattern switches, song mode, fill switch) and the beat of the
/// shared beat line where the transport started, from which positions count (0 for a host or
/// internal clock, whose positions are already the beat line).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Playing {
    /// Which pattern (or the song) plays when, and the fill switch.
    pub playback: Playback,
    /// The beat-line beat of position 0.
    pub start_beat: f64,
}

impl Playing {
    /// Playback from position 0 of what `pattern` implies alone: its song when it has one,
    /// else pattern A (a bounce, a MIDI export).
    pub fn of_pattern(pattern: &EnginePattern) -> Self {
        let mut playback = Playback::default();
        if pattern.song_len > 0 {
            playback.play = keyboardia_core::song::Play::Song;
        }
        Self {
            playback,
            start_beat: 0.0,
        }
    }

    /// Whether the fill switch is on at step `n`.
    pub fn fill_at(&self, n: i64) -> bool {
        self.playback.fill_at(self.start_beat, n.max(0) as u64)
    }
}

/// One track's pattern run at a step: its steps and step count in the playing pattern, and the
/// step where the run began.
#[derive(Clone, Copy)]
struct TrackRun<'a> {
    steps: &'a Steps,
    count: i64,
    origin: i64,
}

impl TrackRun<'_> {
    /// The step the track plays at position `n`.
    fn step(&self, n: i64) -> Step {
        self.steps[(n - self.origin).rem_euclid(self.count) as usize]
    }
}

/// The run of track slot `slot` at step `n` (before the start: the run at the start).
fn track_run<'a>(
    pattern: &'a EnginePattern,
    arr: &Arrangement,
    playing: &Playing,
    slot: usize,
    n: i64,
) -> TrackRun<'a> {
    let run = playing
        .playback
        .run_at(arr, playing.start_beat, n.max(0) as u64);
    let (count, steps) = pattern.part(slot, run.pattern);
    TrackRun {
        steps,
        count: i64::from(count.max(1)),
        origin: run.origin as i64,
    }
}

/// A per-track salt for the dice, from the track id (stable across reorders).
fn track_salt(id: &TrackId) -> u64 {
    id.as_str().bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ b as u64).wrapping_mul(0x100_0000_01b3)
    })
}

/// The hits of every track of `pattern` that start in the block `span`, written to `fired`
/// (hits past its length are dropped) sorted by frame, then track, then time; returns how many.
/// Advances each track's cursor (`cursors[slot]`). `swing_pct` is the session swing played (a
/// track with a swing of its own, [`EngineTrack::swing_pct`], plays that instead); `seed`
/// the seed of the probability dice; `playing` which pattern plays when, and the fill switch.
pub fn block_hits(
    pattern: &EnginePattern,
    seed: u64,
    swing_pct: f64,
    playing: &Playing,
    span: &BlockSpan,
    cursors: &mut [StepCursor; MAX_TRACKS],
    fired: &mut [Fired],
) -> usize {
    let swing = swing_beats(swing_pct);
    let arr = pattern.arrangement();
    let mut nf = 0usize;
    for (t, track) in pattern.tracks().iter().enumerate() {
        let cursor = &mut cursors[t];
        let swing = track.swing_pct.map_or(swing, swing_beats);
        let at = |n| track_run(pattern, &arr, playing, t, n);
        schedule_track(track, &at, seed, swing, playing, span.end_beat(), cursor);
        take_due(cursor, span, |offset_frames, gate_frames, hit| {
            if nf < fired.len() {
                fired[nf] = Fired {
                    offset_frames,
                    track: t as u8,
                    gate_frames,
                    hit,
                };
                nf += 1;
            }
        });
    }
    let fired = &mut fired[..nf];
    fired.sort_unstable_by(|a, b| {
        (a.offset_frames, a.track)
            .cmp(&(b.offset_frames, b.track))
            .then(a.hit.time_beats.total_cmp(&b.hit.time_beats))
    });
    nf
}

/// Schedules every step of `track` whose earliest possible time (nudged half a step early) is
/// before `end_beat`: its trig condition and probability roll ([`trig_plays`]), ratchets, acid
/// tie and slide.
fn schedule_track<'a>(
    track: &EngineTrack,
    at: &dyn Fn(i64) -> TrackRun<'a>,
    seed: u64,
    swing_beats: f64,
    playing: &Playing,
    end_beat: f64,
    cursor: &mut StepCursor,
) {
    let acid = track.patch == Some(Patch::Synth(SynthPreset::Acid));
    while (cursor.next_step as f64) * STEP_BEATS - SCHEDULE_AHEAD_BEATS < end_beat {
        let n = cursor.next_step;
        let run = at(n);
        let step = run.step(n);
        let ratchets = step.locks.ratchet.unwrap_or(1).clamp(1, 8) as usize;
        if step.on && cursor.pending_len + ratchets > PENDING_PER_TRACK {
            break; // Full: retry next block.
        }
        cursor.next_step += 1;
        if !step.on || !run_plays(track, &run, seed, playing, n) {
            continue;
        }
        let start = step_time(n, &step, swing_beats);
        let sub = STEP_BEATS / ratchets as f64;
        let mut gate = sub;
        let mut slide = false;
        if acid && ratchets == 1 {
            let next = at(n + 1).step(n + 1);
            if next.on && next.locks.ratchet.unwrap_or(1) == 1 {
                // Tie into the next note: the gate stays open until just after it starts.
                gate = step_time(n + 1, &next, swing_beats) - start + 0.02;
            }
            let prev = at(n - 1).step(n - 1);
            slide = prev.on && prev.locks.ratchet.unwrap_or(1) == 1;
        }
        for k in 0..ratchets {
            let time = start + k as f64 * sub;
            if time < cursor.discard_before_beat {
                continue;
            }
            cursor.pending[cursor.pending_len] = Hit {
                time_beats: time,
                gate_beats: gate,
                pitch_semis: step.locks.pitch.unwrap_or(0),
                velocity: step.velocity,
                gain: step.locks.volume.unwrap_or(1.0),
                slide: slide && k == 0,
                slice: step.locks.slice,
                cutoff_hz: step.locks.cutoff_hz,
                reverb_send: step.locks.reverb_send,
                delay_send: step.locks.delay_send,
            };
            cursor.pending_len += 1;
        }
    }
}

/// Whether the trig on step `n` (a global 16th index) of `track` plays, the step being on: its
/// trig condition first, then its probability roll, like Elektron machines (a condition is
/// checked before the dice; both are pure functions of the position, so the order changes no
/// other step's result). The condition sees the track's loop index, `n` divided by the
/// track's step count (so it comes from the timeline position alone: a player who joins late
/// counts the same loops), and `fill`, the fill switch.
pub fn trig_plays(track: &EngineTrack, seed: u64, fill: bool, n: i64) -> bool {
    let run = TrackRun {
        steps: &track.steps,
        count: i64::from(track.step_count.max(1)),
        origin: 0,
    };
    let mut playing = Playing::default();
    playing.playback.fill = fill;
    run_plays(track, &run, seed, &playing, n)
}

/// [`trig_plays`] within a pattern run: the loop index counts from the run's origin, PRE looks
/// back within the run only, and the fill switch is the one at each step.
fn run_plays(track: &EngineTrack, run: &TrackRun, seed: u64, playing: &Playing, n: i64) -> bool {
    let step = run.step(n);
    let condition_holds = match step.locks.condition {
        None => true,
        Some(c) => c.holds(
            (n - run.origin).div_euclid(run.count),
            playing.fill_at(n),
            || previous_conditional(track, run, seed, playing, n),
        ),
    };
    condition_holds && roll_passes(&step, track_salt(&track.id), seed, n)
}

/// The result of the previous conditional trig of the track before step `n`, for PRE and NOT
/// PRE: the latest step within the last loop that is on and has a condition other than PRE /
/// NOT PRE, or a probability lock (an Elektron percentage is a condition too), judged by
/// [`trig_plays`]. None within a loop: the track has no such trig, and PRE is false. A pure
/// function of the position, so it does not depend on where playback started.
fn previous_conditional(
    track: &EngineTrack,
    run: &TrackRun,
    seed: u64,
    playing: &Playing,
    n: i64,
) -> bool {
    // The last loop, in the run's own steps: before the run's origin its steps wrap around, as
    // the first loop of a track has always looked back.
    for m in (n - run.count + 1..n).rev() {
        let step = run.step(m);
        let conditional = match step.locks.condition {
            Some(c) => !c.follows_previous(),
            None => step.locks.probability.is_some(),
        };
        if step.on && conditional {
            return run_plays(track, run, seed, playing, m);
        }
    }
    false
}

/// The step's probability roll: the seeded dice of (seed, track, position).
fn roll_passes(step: &Step, salt: u64, seed: u64, n: i64) -> bool {
    match step.locks.probability {
        None => true,
        Some(p) => splitmix64(seed ^ salt ^ (n as u64)) % 100 < u64::from(p),
    }
}

/// Takes the pending hits that start in the block: `fire(offset frames, gate frames, hit)`.
fn take_due(cursor: &mut StepCursor, span: &BlockSpan, mut fire: impl FnMut(u32, u64, Hit)) {
    let mut i = 0;
    while i < cursor.pending_len {
        let h = cursor.pending[i];
        let x = (h.time_beats - span.start_beat) * span.frames_per_beat;
        let offset = (x - FRAME_EPS).ceil();
        if offset < span.frames as f64 {
            let gate_frames = (h.gate_beats * span.frames_per_beat).round().max(1.0) as u64;
            fire(offset.max(0.0) as u32, gate_frames, h);
            cursor.pending_len -= 1;
            cursor.pending[i] = cursor.pending[cursor.pending_len];
        } else {
            i += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use keyboardia_core::{Instrument, Lock, SessionState, Track};

    /// 120 BPM at 48 kHz: a beat is 24 000 frames, a step 6 000.
    const FPB: f64 = 24_000.0;

    fn pattern(tracks: Vec<Track>, swing: f64) -> EnginePattern {
        let state = SessionState {
            tempo: 120.0,
            swing,
            tracks,
            ..SessionState::default()
        };
        EnginePattern::from_state(&state, |_| None)
    }

    fn track(id: &str, inst: &str, on: &[usize]) -> Track {
        let mut t = Track::new(id.parse().unwrap(), id, inst.parse::<Instrument>().unwrap());
        t.step_count = 16;
        for &i in on {
            t.steps[i].on = true;
        }
        t
    }

    /// A fired hit at its absolute frame (the offset in its block zeroed).
    type At = (usize, u8, Fired);

    /// The hits of `frames` frames from beat 0, in blocks of `block` frames.
    fn hits(p: &EnginePattern, seed: u64, frames: usize, block: usize) -> Vec<At> {
        let mut cursors = [StepCursor::default(); MAX_TRACKS];
        for c in cursors.iter_mut() {
            c.relocate(0.0, FPB);
        }
        let mut fired = [Fired::default(); MAX_BLOCK_HITS];
        let mut out = Vec::new();
        let mut pos = 0;
        while pos < frames {
            let n = block.min(frames - pos);
            let span = BlockSpan {
                start_beat: pos as f64 / FPB,
                frames: n,
                frames_per_beat: FPB,
            };
            let k = block_hits(
                p,
                seed,
                p.swing_pct,
                &Playing::default(),
                &span,
                &mut cursors,
                &mut fired,
            );
            for f in &fired[..k] {
                let at = Fired {
                    offset_frames: 0,
                    ..*f
                };
                out.push((pos + f.offset_frames as usize, f.track, at));
            }
            pos += n;
        }
        out
    }

    fn frames_of(h: &[At]) -> Vec<usize> {
        h.iter().map(|(f, ..)| *f).collect()
    }

    #[test]
    fn straight_steps_land_on_their_frames_with_a_one_step_gate() {
        let p = pattern(vec![track("a", "kick", &[0, 1, 4, 15])], 0.0);
        let h = hits(&p, 1, 96_000, 96_000);
        assert_eq!(frames_of(&h), [0, 6_000, 24_000, 90_000]);
        assert!(h.iter().all(|(_, t, f)| *t == 0 && f.gate_frames == 6_000));
        assert_eq!(h[2].2.hit.time_beats, 1.0);
        assert_eq!(h[2].2.hit.gate_beats, STEP_BEATS);
    }

    #[test]
    fn the_hits_do_not_depend_on_the_block_size() {
        let mut a = track("a", "kick", &[0, 3, 5, 6, 9]);
        a.steps[3].locks.set(Lock::Nudge(-40));
        a.steps[5].locks.set(Lock::Ratchet(3));
        a.steps[6].locks.set(Lock::Nudge(50));
        a.steps[9].locks.set(Lock::Probability(50));
        let b = track("b", "synth:acid", &[1, 2, 7, 8]);
        let p = pattern(vec![a, b], 35.0);
        let whole = hits(&p, 9, 200_000, 4_096);
        for block in [1, 64, 333, 6_000] {
            assert_eq!(hits(&p, 9, 200_000, block), whole, "block {block}");
        }
    }

    #[test]
    fn swing_delays_only_the_off_beats() {
        let p = pattern(vec![track("a", "rim", &[0, 1, 2, 3])], 50.0);
        let h = hits(&p, 1, 24_000, 512);
        // 50 % swing: an off-beat 16th is late by a quarter of a step (1 500 frames).
        assert_eq!(frames_of(&h), [0, 7_500, 12_000, 19_500]);
    }

    #[test]
    fn a_track_with_its_own_swing_plays_it_instead_of_the_sessions() {
        let mut own = track("a", "rim", &[0, 1, 2, 3]);
        own.swing_pct = Some(50.0);
        let p = pattern(vec![own, track("b", "rim", &[1, 3])], 100.0);
        let mut cursors = [StepCursor::default(); MAX_TRACKS];
        let mut fired = [Fired::default(); MAX_BLOCK_HITS];
        for swing in [100.0, 0.0] {
            // The session's swing (or automation replacing it) moves only the other track.
            for c in cursors.iter_mut() {
                c.relocate(0.0, FPB);
            }
            let span = BlockSpan {
                start_beat: 0.0,
                frames: 24_000,
                frames_per_beat: FPB,
            };
            let n = block_hits(
                &p,
                1,
                swing,
                &Playing::default(),
                &span,
                &mut cursors,
                &mut fired,
            );
            let at = |t: u8| -> Vec<u32> {
                fired[..n]
                    .iter()
                    .filter(|f| f.track == t)
                    .map(|f| f.offset_frames)
                    .collect()
            };
            assert_eq!(at(0), [0, 7_500, 12_000, 19_500], "session swing {swing}");
            let late = (swing / 100.0 * 3_000.0) as u32;
            assert_eq!(at(1), [6_000 + late, 18_000 + late]);
        }
    }

    #[test]
    fn ratchets_split_the_step_and_its_gate() {
        let mut t = track("a", "kick", &[2]);
        t.steps[2].locks.set(Lock::Ratchet(3));
        let h = hits(&pattern(vec![t], 0.0), 1, 24_000, 1_000);
        assert_eq!(frames_of(&h), [12_000, 14_000, 16_000]);
        assert!(h.iter().all(|(.., f)| f.gate_frames == 2_000));
    }

    #[test]
    fn a_nudged_early_step_plays_before_its_block() {
        let mut t = track("a", "kick", &[4]);
        t.steps[4].locks.set(Lock::Nudge(-50));
        let h = hits(&pattern(vec![t], 0.0), 1, 24_000, 24_000);
        assert_eq!(frames_of(&h), [21_000]);
    }

    #[test]
    fn probability_is_a_seeded_dice_roll_per_step() {
        let mut t = track("a", "kick", &(0..16).collect::<Vec<_>>());
        for s in 0..16 {
            t.steps[s].locks.set(Lock::Probability(50));
        }
        let mut never = track("b", "snare", &[0, 4]);
        never.steps[0].locks.set(Lock::Probability(0));
        never.steps[4].locks.set(Lock::Probability(100));
        let p = pattern(vec![t, never], 0.0);
        let frames = 16 * 6_000 * 8;
        let a = hits(&p, 3, frames, 777);
        assert_eq!(a, hits(&p, 3, frames, 4_096), "same seed, same roll");
        assert_ne!(a, hits(&p, 4, frames, 777), "another seed, other rolls");
        let on_a = a.iter().filter(|(_, t, _)| *t == 0).count();
        assert!((32..=96).contains(&on_a), "about half of 128: {on_a}");
        let b: Vec<usize> = a
            .iter()
            .filter(|(_, t, _)| *t == 1)
            .map(|(f, ..)| *f)
            .collect();
        assert_eq!(
            b,
            (0..8).map(|bar| bar * 96_000 + 24_000).collect::<Vec<_>>()
        );
    }

    #[test]
    fn acid_ties_into_the_next_note_and_slides_from_the_previous() {
        let p = pattern(vec![track("a", "synth:acid", &[0, 1, 4])], 0.0);
        let h = hits(&p, 1, 48_000, 2_048);
        let [a, b, c] = [h[0].2, h[1].2, h[2].2];
        // Step 0 ties into step 1: its gate lasts until 0.02 beats after step 1 starts.
        assert_eq!(a.hit.gate_beats, STEP_BEATS + 0.02);
        assert_eq!(a.gate_frames, 6_480);
        assert!(!a.hit.slide);
        assert!(b.hit.slide && b.hit.gate_beats == STEP_BEATS);
        assert!(!c.hit.slide);
    }

    #[test]
    fn a_relocation_drops_the_hits_before_it() {
        let p = pattern(vec![track("a", "kick", &[0, 4, 5])], 0.0);
        let mut cursors = [StepCursor::default(); MAX_TRACKS];
        let mut fired = [Fired::default(); MAX_BLOCK_HITS];
        // Jump to just after step 4 (beat 1): step 5 plays, step 4 does not.
        cursors[0].relocate(1.1, FPB);
        let span = BlockSpan {
            start_beat: 1.1,
            frames: 12_000,
            frames_per_beat: FPB,
        };
        let n = block_hits(
            &p,
            1,
            0.0,
            &Playing::default(),
            &span,
            &mut cursors,
            &mut fired,
        );
        assert_eq!(n, 1);
        assert_eq!(fired[0].hit.time_beats, 1.25);
        assert_eq!(fired[0].offset_frames, 3_600);
        // A track joining mid-play starts at the current position too.
        let joined = StepCursor::joining_at(Some(1.1));
        assert_eq!(joined.next_step, 3);
        assert_eq!(joined.discard_before_beat, 1.1);
    }

    #[test]
    fn the_fired_list_is_sorted_by_frame_then_track_and_bounded() {
        let p = pattern(
            vec![
                track("a", "kick", &[1, 2]),
                track("b", "snare", &[0, 2]),
                track("c", "rim", &[2]),
            ],
            0.0,
        );
        let h = hits(&p, 1, 24_000, 24_000);
        let order: Vec<(usize, u8)> = h.iter().map(|(f, t, _)| (*f, *t)).collect();
        assert_eq!(
            order,
            [(0, 1), (6_000, 0), (12_000, 0), (12_000, 1), (12_000, 2)]
        );
        let mut cursors = [StepCursor::default(); MAX_TRACKS];
        let mut two = [Fired::default(); 2];
        let span = BlockSpan {
            start_beat: 0.0,
            frames: 24_000,
            frames_per_beat: FPB,
        };
        assert_eq!(
            block_hits(
                &p,
                1,
                0.0,
                &Playing::default(),
                &span,
                &mut cursors,
                &mut two
            ),
            2
        );
    }
}
