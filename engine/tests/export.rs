//! Export: the MIDI file read back with `midly` holds the notes the engine plays, and the
//! streamed WAV bounce is the in-memory render (pinned in `golden.rs`) bit for bit.

mod common;

use std::io::Cursor;

use common::{capture, session, track};
use keyboardia_core::audio::encode_wav_stereo_f32;
use keyboardia_core::{Instrument, Lock, SessionState};
use keyboardia_engine::bench_patterns::{dense, B};
use keyboardia_engine::midi::{self, gm_drum_note, MidiOptions, DRUM_CHANNEL};
use keyboardia_engine::render::{
    bounce_wav_to, render_session, BounceError, Length, Progress, RenderOptions, Renderer,
    WavBounce,
};
use keyboardia_engine::voice::Patch;
use keyboardia_engine::EnginePattern;
use midly::{MetaMessage, MidiMessage, Smf, Timing, TrackEventKind};

/// One note event: (tick, on, channel, key, velocity).
type Event = (u64, bool, u8, u8, u8);

/// A `.mid` file read back: per MIDI track its name and note events at absolute ticks, its
/// end (the `EndOfTrack` tick), and the conductor's tempo.
struct ReadBack {
    ticks_per_beat: u16,
    micros_per_beat: u32,
    names: Vec<String>,
    programs: Vec<Option<(u8, u8)>>,
    events: Vec<Vec<Event>>,
    ends: Vec<u64>,
}

fn read_back(bytes: &[u8]) -> ReadBack {
    let smf = Smf::parse(bytes).expect("a valid Standard MIDI File");
    assert_eq!(smf.header.format, midly::Format::Parallel, "type 1");
    let Timing::Metrical(tpb) = smf.header.timing else {
        panic!("metrical timing");
    };
    let mut out = ReadBack {
        ticks_per_beat: tpb.as_int(),
        micros_per_beat: 0,
        names: Vec::new(),
        programs: Vec::new(),
        events: Vec::new(),
        ends: Vec::new(),
    };
    for (i, track) in smf.tracks.iter().enumerate() {
        let mut tick = 0u64;
        let (mut name, mut program, mut events, mut end) = (String::new(), None, Vec::new(), None);
        for e in track {
            tick += u64::from(e.delta.as_int());
            match e.kind {
                TrackEventKind::Meta(MetaMessage::TrackName(n)) => {
                    name = String::from_utf8(n.to_vec()).unwrap()
                }
                TrackEventKind::Meta(MetaMessage::Tempo(t)) if i == 0 => {
                    out.micros_per_beat = t.as_int()
                }
                TrackEventKind::Meta(MetaMessage::EndOfTrack) => end = Some(tick),
                TrackEventKind::Midi { channel, message } => match message {
                    MidiMessage::NoteOn { key, vel } => {
                        events.push((tick, true, channel.as_int(), key.as_int(), vel.as_int()))
                    }
                    MidiMessage::NoteOff { key, .. } => {
                        events.push((tick, false, channel.as_int(), key.as_int(), 0))
                    }
                    MidiMessage::ProgramChange { program: p } => {
                        program = Some((channel.as_int(), p.as_int()))
                    }
                    other => panic!("unexpected {other:?}"),
                },
                _ => {}
            }
        }
        assert!(end.is_some(), "track {i} ends");
        out.names.push(name);
        out.programs.push(program);
        out.events.push(events);
        out.ends.push(end.unwrap());
    }
    out
}

/// 120 BPM at 8 kHz: 4000 frames a beat, so an export at 4000 ticks a beat has a tick per
/// frame, and the engine's MIDI out (frame-accurate at any block size) is comparable event
/// for event.
const SR: f64 = 8_000.0;
const FRAMES_PER_BEAT: u16 = 4_000;

/// The key the export plays for the engine's MIDI note `note` (60 + pitch lock) on `track`.
fn exported_key(state: &SessionState, track: usize, note: u8) -> u8 {
    let patch = match &state.tracks[track].instrument {
        Instrument::Sound(s) => match gm_drum_note(*s) {
            Some(drum) => return drum,
            None => Patch::Sound(*s),
        },
        Instrument::Synth(p) => Patch::Synth(*p),
        Instrument::Sample(_) => Patch::Sample(0),
    };
    (i32::from(patch.base_note()) + i32::from(note) - 60) as u8
}

/// Exports `bars` bars of `state` and checks every note against what the engine itself plays
/// and sends as MIDI out: note-ons (tick, key, velocity) and note-offs, track by track.
/// Returns the note-ons per track.
fn check_against_the_engine(state: &SessionState, bars: f64) -> Vec<Vec<Event>> {
    assert_eq!(state.tempo, 120.0);
    let opts = MidiOptions {
        ticks_per_beat: FRAMES_PER_BEAT,
        seed: None,
    };
    let file = read_back(&midi::export(state, Length::Bars(bars), &opts).unwrap());
    let end = (bars * 4.0 * f64::from(FRAMES_PER_BEAT)) as u64;
    assert_eq!(file.ticks_per_beat, FRAMES_PER_BEAT);
    assert_eq!(file.micros_per_beat, 500_000);
    assert_eq!(file.events.len(), state.tracks.len() + 1);
    assert!(file.events[0].is_empty(), "the conductor has no notes");

    let frames = end as usize;
    let played = capture(state, SR, frames, || 1);
    // The engine's MIDI out is the same at any block size (note-offs inside the block that
    // started the note, at their own frame).
    let mut sizes = [1usize, 64, 333, 512, 7, 4096].into_iter().cycle();
    let blocky = capture(state, SR, frames, || sizes.next().unwrap());
    // (Events of different channels at the same frame may interleave differently; each
    // channel's own order is what a receiver sees.)
    let absolute = |c: &common::Capture| -> Vec<(usize, bool, u8, u8, u8)> {
        let mut events: Vec<_> = c
            .midi
            .iter()
            .map(|(f, m)| (*f, m.on, m.channel, m.note, m.velocity))
            .collect();
        events.sort_by_key(|e| (e.0, e.2));
        events
    };
    assert_eq!(
        absolute(&blocky),
        absolute(&played),
        "MIDI out depends on the block size"
    );
    let mut ons = Vec::new();
    for (t, track) in state.tracks.iter().enumerate() {
        let exported = &file.events[t + 1];
        assert_eq!(file.names[t + 1], track.name);
        assert_eq!(file.ends[t + 1], end);
        let channel = exported.first().map(|e| e.2);
        // What the engine sent on this track's channel, as the export names it.
        let engine: Vec<Event> = played
            .midi
            .iter()
            .filter(|(_, m)| m.channel as usize == t)
            .map(|&(f, m)| {
                let key = exported_key(state, t, m.note);
                (f as u64, m.on, channel.unwrap(), key, m.velocity)
            })
            .collect();
        // The engine has not sent the note-offs of notes still sounding at the end; the file
        // ends them there.
        let (within, at_end): (Vec<Event>, Vec<Event>) =
            exported.iter().partition(|e| e.1 || e.0 < end);
        assert_eq!(within, engine, "track {t} ({})", track.name);
        assert!(at_end.iter().all(|e| e.0 == end && !e.1));
        let on: Vec<Event> = exported.iter().copied().filter(|e| e.1).collect();
        assert_eq!(on.len() * 2, exported.len(), "every note ends");
        ons.push(on);
    }
    ons
}

#[test]
fn a_straight_pattern_exports_as_the_engine_plays_it() {
    let mut bass = track("bass", "synth:bass", 16, &[0, 3, 8, 11]);
    bass.steps[3].locks.set(Lock::Pitch(7));
    bass.steps[11].locks.set(Lock::Pitch(-12));
    let mut kick = track("kick", "kick", 16, &[0, 4, 8, 12]);
    kick.steps[4].locks.set(Lock::Pitch(5)); // A drum keeps its GM note.
    kick.steps[8].velocity = 64;
    let state = session(
        120.0,
        0.0,
        vec![kick, track("sn", "snare", 16, &[4, 12]), bass],
    );
    let ons = check_against_the_engine(&state, 2.0);
    let starts = |t: usize| ons[t].iter().map(|e| e.0).collect::<Vec<_>>();
    let beat = u64::from(FRAMES_PER_BEAT);
    assert_eq!(
        starts(0),
        (0..8).map(|i| i * beat).collect::<Vec<_>>(),
        "a kick every beat"
    );
    assert!(ons[0].iter().all(|e| e.2 == DRUM_CHANNEL && e.3 == 36));
    assert_eq!(ons[0][2].4, 64);
    assert!(ons[1].iter().all(|e| e.2 == DRUM_CHANNEL && e.3 == 38));
    let keys: Vec<u8> = ons[2].iter().map(|e| e.3).collect();
    assert_eq!(keys, [36, 43, 36, 24, 36, 43, 36, 24], "pitch locks on C2");
    assert!(ons[2].iter().all(|e| e.2 == 0));
}

#[test]
fn a_swung_and_nudged_pattern_exports_as_the_engine_plays_it() {
    let mut hat = track("hat", "hat_closed", 16, &(0..16).collect::<Vec<_>>());
    hat.steps[4].locks.set(Lock::Nudge(-50));
    hat.steps[9].locks.set(Lock::Nudge(33));
    let acid = track("acid", "synth:acid", 12, &[0, 1, 2, 5, 6, 9]);
    let state = session(120.0, 35.0, vec![hat, acid]);
    let ons = check_against_the_engine(&state, 2.0);
    let step = u64::from(FRAMES_PER_BEAT) / 4;
    // 35 % swing: each off-beat 16th is 17.5 % of a step late.
    assert_eq!(ons[0][1].0, step + step * 175 / 1000);
    assert_eq!(ons[0][2].0, 2 * step);
}

#[test]
fn a_ratcheted_pattern_exports_as_the_engine_plays_it() {
    let mut snare = track("snare", "snare", 16, &[2, 6, 13]);
    snare.steps[2].locks.set(Lock::Ratchet(4));
    snare.steps[6].locks.set(Lock::Ratchet(3));
    snare.steps[13].locks.set(Lock::Ratchet(8));
    let mut lead = track("lead", "synth:lead", 8, &[0, 5]);
    lead.steps[5].locks.set(Lock::Ratchet(2));
    let state = session(120.0, 20.0, vec![snare, lead]);
    let ons = check_against_the_engine(&state, 2.0);
    assert_eq!(ons[0].len(), 2 * (4 + 3 + 8));
    let step = u64::from(FRAMES_PER_BEAT) / 4;
    let first: Vec<u64> = ons[0][..4].iter().map(|e| e.0).collect();
    assert_eq!(
        first,
        [2 * step, 2 * step + 250, 2 * step + 500, 2 * step + 750]
    );
}

#[test]
fn a_probabilistic_pattern_exports_the_sessions_own_dice() {
    let mut hat = track("hat", "rim", 16, &(0..16).collect::<Vec<_>>());
    let mut bass = track("bass", "synth:acid", 12, &(0..12).collect::<Vec<_>>());
    for i in 0..16 {
        hat.steps[i].locks.set(Lock::Probability(50));
        bass.steps[i].locks.set(Lock::Probability(30 + i as u8 * 4));
    }
    let state = SessionState {
        seed: 0x5eed_0000_0000_0042,
        ..session(120.0, 10.0, vec![hat, bass])
    };
    let ons = check_against_the_engine(&state, 4.0);
    assert!(
        (16..=48).contains(&ons[0].len()),
        "about half of 64: {}",
        ons[0].len()
    );

    // The session's seed by default; an override or another session's seed rolls other dice.
    let len = Length::Loops(4);
    let export = |s: &SessionState, seed| {
        midi::export(
            s,
            len,
            &MidiOptions {
                seed,
                ..MidiOptions::default()
            },
        )
        .unwrap()
    };
    assert_eq!(export(&state, None), export(&state, Some(state.seed)));
    assert_ne!(export(&state, None), export(&state, Some(state.seed ^ 1)));
    let other = SessionState {
        seed: 7,
        ..state.clone()
    };
    assert_eq!(export(&other, None), export(&state, Some(7)));
}

#[test]
fn the_file_names_its_tracks_and_lasts_the_length_asked() {
    let mut state = SessionState::demo();
    state.tracks[1].name = "Snär 2".into();
    let file = read_back(&midi::export(&state, Length::Loops(2), &MidiOptions::default()).unwrap());
    assert_eq!(file.ticks_per_beat, 960);
    assert_eq!(file.micros_per_beat, (60e6 / 118.0f64).round() as u32);
    let names: Vec<&str> = state.tracks.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(file.names[1..], names[..]);
    // The demo's longest track has 64 steps: two loops are eight bars.
    assert!(file.ends.iter().all(|&e| e == 8 * 4 * 960));
    // Acid and pluck get a GM program on their own channels; the drums none.
    assert_eq!(file.programs[7], Some((0, 39)));
    assert_eq!(file.programs[8], Some((1, 45)));
    assert!(file.programs[1..7].iter().all(Option::is_none));
    // The notes are the ones `midi::notes` lists.
    let notes = midi::notes(&state, Length::Loops(2), &MidiOptions::default()).unwrap();
    let count: usize = file.events.iter().map(|e| e.len()).sum();
    assert_eq!(count, notes.len() * 2);
    let mut bars = midi::export(&state, Length::Bars(2.5), &MidiOptions::default()).unwrap();
    assert_eq!(read_back(&bars).ends[0], 10 * 960);
    // A volume lock scales the velocity.
    state.tracks[0].steps[4].locks.set(Lock::Volume(0.5));
    state.tracks[0].steps[8].locks.set(Lock::Volume(0.0));
    bars = midi::export(&state, Length::Bars(1.0), &MidiOptions::default()).unwrap();
    let kick: Vec<u8> = read_back(&bars).events[1]
        .iter()
        .filter(|e| e.1)
        .map(|e| e.4)
        .collect();
    assert_eq!(kick, [100, 50, 1, 100]);
}

/// The render every bounce below is compared with: `render_session`, pinned by the golden
/// digests `render:*` in `golden.txt`.
fn cases() -> Vec<(SessionState, RenderOptions)> {
    let mut seeded = dense(&B);
    seeded.seed = 0x0123_4567_89ab_cdef;
    let odd = RenderOptions {
        sample_rate_hz: 44_100.0,
        block_frames: 333,
        seed: None,
    };
    vec![
        (SessionState::demo(), RenderOptions::default()),
        (SessionState::demo(), odd),
        (seeded.clone(), RenderOptions::default()),
        (seeded, odd),
    ]
}

#[test]
fn the_streamed_bounce_is_the_in_memory_render_bit_for_bit() {
    for (state, opts) in cases() {
        let audio = render_session(&state, &opts, 1.5);
        let want =
            encode_wav_stereo_f32(&audio.left, &audio.right, opts.sample_rate_hz as u32).unwrap();
        let renderer = Renderer::for_session(&state, &opts, Length::Bars(1.5)).unwrap();
        let mut file = Cursor::new(Vec::new());
        let mut seen: Vec<Progress> = Vec::new();
        let done = bounce_wav_to(&mut file, renderer, |p| seen.push(p)).unwrap();
        assert!(
            file.get_ref() == &want,
            "{} Hz / {}",
            opts.sample_rate_hz,
            opts.block_frames
        );
        assert_eq!(done.frames, audio.len());
        assert_eq!(done.peak, audio.peak());
        // A progress report per block, counting up to the whole.
        assert_eq!(seen.len(), audio.len().div_ceil(opts.block_frames));
        assert!(seen.windows(2).all(|w| w[0].done_frames < w[1].done_frames));
        assert_eq!(seen.last().unwrap().done_frames, audio.len());
        assert!(seen.iter().all(|p| p.total_frames == audio.len()));
    }
}

#[test]
fn a_bounce_stepped_by_hand_or_dropped_early_leaves_a_valid_file() {
    let state = SessionState::demo();
    let opts = RenderOptions::default();
    let pattern = EnginePattern::from_state(&state, |_| None);
    let frames = 10_000;
    let mut whole = Cursor::new(Vec::new());
    let mut bounce = WavBounce::new(&mut whole, Renderer::new(&pattern, &opts, frames)).unwrap();
    assert_eq!(bounce.step().unwrap().done_frames, 512);
    assert_eq!(bounce.finish().unwrap().frames, frames);
    let decoded = keyboardia_core::audio::decode(whole.get_ref()).unwrap();
    assert_eq!(decoded.samples.len(), 2 * frames);

    let mut part = Cursor::new(Vec::new());
    let mut bounce = WavBounce::new(&mut part, Renderer::new(&pattern, &opts, frames)).unwrap();
    bounce.step().unwrap();
    bounce.step().unwrap();
    drop(bounce);
    let decoded = keyboardia_core::audio::decode(part.get_ref()).unwrap();
    assert_eq!(
        decoded.samples[..],
        keyboardia_core::audio::decode(whole.get_ref())
            .unwrap()
            .samples[..2 * 1024]
    );
}

#[test]
fn a_bounce_too_long_for_a_wav_file_is_refused_before_writing() {
    let pattern = EnginePattern::from_state(&SessionState::demo(), |_| None);
    let opts = RenderOptions::default();
    let too_long = 600_000_000;
    let mut file = Cursor::new(Vec::new());
    let err = WavBounce::new(&mut file, Renderer::new(&pattern, &opts, too_long))
        .err()
        .expect("refused");
    assert!(matches!(err, BounceError::TooLong { frames } if frames == too_long));
    assert!(file.get_ref().is_empty());
    // The longest file that fits starts fine.
    let fits = (u32::MAX as usize - 1024) / 8;
    assert!(WavBounce::new(&mut file, Renderer::new(&pattern, &opts, fits)).is_ok());
}
