//! `Engine::process` and the calls the audio thread makes never allocate or free: counted by a
//! global allocator while a dense pattern plays with locks, pattern changes, sample swaps,
//! auditions, sound previews, transport jumps and every block size from 1 to 4096.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::Arc;

use keyboardia_core::{
    BuiltinSound, DelayTime, FilterMode, Instrument, Lock, SessionFx, SessionState, SynthPreset,
    Track, TrackFx,
};
use keyboardia_engine::{
    BlockClock, Engine, EnginePattern, InputEvent, Patch, Preview, PreviewMailbox, SampleBuffer,
    TrackMixer,
};

struct Counting;

thread_local! {
    /// Allocations and frees made on this thread while armed.
    static COUNT: Cell<usize> = const { Cell::new(0) };
    static ARMED: Cell<bool> = const { Cell::new(false) };
}

fn note() {
    // try_with: the thread-locals may be gone while a thread shuts down.
    let _ = ARMED.try_with(|a| {
        if a.get() {
            let _ = COUNT.try_with(|c| c.set(c.get() + 1));
        }
    });
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        note();
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        note();
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        note();
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn armed<R>(f: impl FnOnce() -> R) -> (R, usize) {
    COUNT.with(|c| c.set(0));
    ARMED.with(|a| a.set(true));
    let r = f();
    ARMED.with(|a| a.set(false));
    (r, COUNT.with(|c| c.get()))
}

fn dense() -> SessionState {
    let names = [
        "kick",
        "snare",
        "clap",
        "hat_open",
        "tom_low",
        "cowbell",
        "sub_bass",
        "fm_bass",
        "stab",
        "bell",
        "riser",
        "synth:bass",
        "synth:lead",
        "synth:pad",
        "synth:acid",
        "sample:vox",
    ];
    let tracks = names
        .iter()
        .enumerate()
        .map(|(i, n)| {
            let mut t = Track::new(
                format!("t{i}").parse().unwrap(),
                *n,
                n.parse::<Instrument>().unwrap(),
            );
            t.step_count = 13 + i as u8;
            for s in 0..64 {
                t.steps[s].on = (s + i) % 3 != 0;
                t.steps[s].locks.set(Lock::Pitch((s % 7) as i8 - 3));
                if s % 4 == 1 {
                    t.steps[s].locks.set(Lock::Ratchet(3));
                }
                if s % 5 == 0 {
                    t.steps[s].locks.set(Lock::Probability(50));
                }
                if s % 6 == 0 {
                    t.steps[s].locks.set(Lock::Nudge(-30));
                }
                if s % 2 == 0 {
                    // Slices (played by the sample track, ignored by the others); 7 is past
                    // the last slice.
                    t.steps[s].locks.set(Lock::Slice((s % 8) as u8));
                }
            }
            t.cuts = vec![0, 700, 1_500, 2_600, 4_000, 9_000];
            // Every effect on, with cutoff and send locks.
            t.fx = TrackFx {
                filter: [FilterMode::Off, FilterMode::LowPass, FilterMode::HighPass][i % 3],
                cutoff_hz: 200.0 + 900.0 * i as f32,
                resonance: 0.9,
                drive: (i % 2) as f32 * 0.7,
                reverb_send: 0.5,
                delay_send: 0.3,
            };
            for s in (0..64).step_by(5) {
                t.steps[s].locks.set(Lock::Cutoff(100.0 + 300.0 * s as f32));
                t.steps[s].locks.set(Lock::ReverbSend(1.0));
                t.steps[s].locks.set(Lock::DelaySend((s % 2) as f32));
            }
            t
        })
        .collect();
    SessionState {
        tempo: 170.0,
        swing: 40.0,
        tracks,
        fx: SessionFx {
            reverb_size: 1.0,
            delay_time: DelayTime::DottedEighth,
            delay_feedback: 0.9,
        },
        ..SessionState::default()
    }
}

#[test]
fn the_audio_thread_path_never_allocates() {
    let sr = 48_000.0;
    let state = dense();
    let p1 = EnginePattern::from_state(&state, |_| Some(0));
    let mut reordered = state.clone();
    reordered.tracks.reverse();
    reordered.tracks.pop();
    let p2 = Box::new(EnginePattern::from_state(&reordered, |_| Some(0)));
    // Every pattern B–H full (the most parts a session can have) and a song over all of them.
    let mut full = state.clone();
    for pt in keyboardia_core::PatternId::ALL.into_iter().skip(1) {
        full.apply(&keyboardia_core::Op::CopyPattern {
            from: keyboardia_core::PatternId::A,
            to: pt,
        })
        .unwrap();
    }
    full.song = keyboardia_core::PatternId::ALL
        .into_iter()
        .map(|pattern| keyboardia_core::SongEntry {
            pattern,
            repeats: 1,
        })
        .collect();
    let p3 = Box::new(EnginePattern::from_state(&full, |_| Some(0)));
    assert_eq!(
        p3.parts.len(),
        keyboardia_engine::MAX_PARTS.min(7 * state.tracks.len())
    );
    let song = keyboardia_core::song::Playback {
        play: keyboardia_core::song::Play::Song,
        fill: true,
        ..Default::default()
    };
    let cued = keyboardia_core::song::Playback {
        next: Some(keyboardia_core::song::Cue {
            play: keyboardia_core::song::Play::Pattern("C".parse().unwrap()),
            at_beat: 2.0,
        }),
        ..Default::default()
    };
    let sample = Arc::new(SampleBuffer {
        frames: (0..4800).map(|i| (i as f32 * 0.05).sin()).collect(),
        sample_rate_hz: 44_100.0,
    });
    let mut engine = Engine::new(sr);
    engine.set_pattern(&p1);
    // Metered, as the plugin runs it: the meters are atomics, raised without allocating.
    let meters = Arc::new(keyboardia_engine::LevelMeters::default());
    engine.set_meters(meters.clone());
    let mut left = vec![0.0f32; 4096];
    let mut right = vec![0.0f32; 4096];
    let inputs = [
        InputEvent::NoteOn {
            offset: 0,
            key: 60,
            velocity: 100,
        },
        InputEvent::NoteOff { offset: 0, key: 60 },
    ];
    let mailbox = PreviewMailbox::default();
    let mut aux_frames = 0usize;
    let (_, allocations) = armed(|| {
        let mut beat = 0.0f64;
        let mut rng = 1u64;
        let mut old_sample = None;
        for block in 0..3000usize {
            rng = rng
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let n = 1 + (rng >> 33) as usize % 4096;
            let n = if block % 7 == 0 { 1 } else { n };
            let clock = BlockClock {
                playing: block % 500 < 480,
                tempo_bpm: if block < 1500 { 170.0 } else { 97.0 },
                beat,
            };
            match block {
                200 => old_sample = engine.set_sample(0, Some(sample.clone())),
                700 => engine.set_pattern(&p2),
                1200 => engine.set_pattern(&p1),
                1700 => beat = 3.0, // a loop jump
                // Patterns B–H and the song, then a queued switch and the fill switch.
                2000 => engine.set_pattern(&p3),
                2100 => engine.set_playback(song, 0.0),
                2600 => engine.set_playback(cued, 1.0),
                2800 => engine.set_fill(true),
                _ => {}
            }
            engine.set_track_mixer(
                block % 16,
                TrackMixer {
                    volume: (block % 10) as f32 / 10.0,
                    mute: block % 33 == 0,
                    solo: block % 97 == 0,
                },
            );
            engine.set_master_gain(0.5 + (block % 3) as f32);
            engine.set_swing_override((block % 2 == 0).then_some(60.0));
            engine.set_audition_track(block % 16);
            // The sound picker's preview, through its mailbox, over every kind of sound.
            if block % 40 == 3 {
                let patches = [
                    Patch::Sound(BuiltinSound::Snare),
                    Patch::Sound(BuiltinSound::Bell),
                    Patch::Synth(SynthPreset::Pad),
                    Patch::Sample(0),
                ];
                mailbox.post(Preview {
                    patch: patches[(block / 40) % patches.len()],
                    volume: 0.7,
                    pan: 0.3,
                });
            }
            if let Some(p) = mailbox.take() {
                engine.preview(p);
            }
            let ev: &[InputEvent] = if block % 50 == 0 {
                &inputs[..1]
            } else if block % 50 == 25 {
                &inputs[1..]
            } else {
                &[]
            };
            let mut sink = |_t: usize, _o: usize, l: &[f32], _r: &[f32]| aux_frames += l.len();
            engine.process(&clock, ev, &mut left[..n], &mut right[..n], Some(&mut sink));
            let _ = engine.midi_out();
            if clock.playing {
                beat += n as f64 * clock.tempo_bpm / (60.0 * sr);
            }
            if block == 2500 {
                engine.reset();
            }
        }
        old_sample
    });
    assert!(aux_frames > 0);
    assert!(engine.active_voices() <= 16 * 8);
    assert_eq!(
        allocations, 0,
        "process() allocated or freed {allocations} times"
    );
}
