//! MIDI export: a session as a Standard MIDI File, type 1, written with `midly`.
//!
//! The notes are the engine's own: [`notes`] runs the sequencer's scheduler
//! ([`crate::schedule::block_hits`], what [`Engine::process`](crate::Engine::process) plays)
//! over the length with one MIDI tick as its frame, from beat 0 like a bounce. Swing, nudge,
//! ratchets, trig conditions (each track's loops counted from beat 0, the fill switch off),
//! probability (the session's seed), acid ties and slides come out exactly as the engine
//! plays them, each hit placed on its tick by the rule that places audio hits on their
//! frame. A note lasts its gate (a step, a ratchet, an acid tie) and, like the engine's MIDI
//! out, ends where its track's next note starts: every track is monophonic.
//!
//! The file:
//! - track 0 is the conductor: the tempo and a 4/4 time signature;
//! - then one MIDI track per sequencer track, in display order, named after it (`TrackName`),
//!   with the instrument's label (`InstrumentName`);
//! - drum sounds play on channel 10 with General MIDI drum notes ([`gm_drum_note`]); pitch
//!   locks do not change a drum's note;
//! - tonal sounds, synth presets and samples play at their pitch (the patch's base note, as
//!   the engine tunes it, plus the pitch lock), each track on its own channel (1–9, 11–16, in
//!   order; a 16th melodic track shares channel 1), with a General MIDI program for the
//!   built-in ones ([`gm_program`]);
//! - velocity is the step's velocity times its volume lock (at least 1);
//! - every track ends (`EndOfTrack`) at the end of the length; notes still sounding there end
//!   with it.
//!
//! ```no_run
//! # use keyboardia_engine::{midi, render::Length};
//! let state = keyboardia_core::SessionState::demo();
//! let bytes = midi::export(&state, Length::Loops(4), &midi::MidiOptions::default())?;
//! std::fs::write("demo.mid", bytes)?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::io::Write;

use keyboardia_core::{BuiltinSound, Instrument, SessionState, SynthPreset, MAX_TRACKS};
use midly::num::{u15, u24, u28, u4, u7};
use midly::{Format, Header, MetaMessage, MidiMessage, Smf, Timing, TrackEvent, TrackEventKind};

use crate::pattern::EnginePattern;
use crate::render::{Length, LengthError};
use crate::schedule::{block_hits, BlockSpan, Fired, Playing, StepCursor, MAX_BLOCK_HITS};
use crate::voice::Patch;

/// Ticks per beat (quarter note) of an export unless told otherwise.
pub const DEFAULT_TICKS_PER_BEAT: u16 = 960;
/// The General MIDI drum channel, 0-based (channel 10).
pub const DRUM_CHANNEL: u8 = 9;
/// The largest delta time a Standard MIDI File event can carry (28 bits).
const MAX_TICKS: u64 = 0x0FFF_FFFF;

/// How to export.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MidiOptions {
    /// The file's resolution, 1..=32767 ticks per beat.
    pub ticks_per_beat: u16,
    /// Overrides the seed of the probability dice; `None` plays the session's own seed, as
    /// every player and every bounce hears it.
    pub seed: Option<u64>,
}

impl Default for MidiOptions {
    fn default() -> Self {
        Self {
            ticks_per_beat: DEFAULT_TICKS_PER_BEAT,
            seed: None,
        }
    }
}

/// Why an export failed.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// The length cannot be rendered.
    #[error(transparent)]
    Length(#[from] LengthError),
    /// Ticks per beat outside 1..=32767.
    #[error("{0} ticks per beat is not from 1 to 32767")]
    TicksPerBeat(u16),
    /// Longer than a MIDI file's 28-bit delta times can span at this resolution.
    #[error("{ticks} ticks is longer than a MIDI file can span ({MAX_TICKS})")]
    TooLong {
        /// The length in ticks.
        ticks: u64,
    },
    /// Writing failed.
    #[error("cannot write the MIDI file: {0}")]
    Io(#[from] std::io::Error),
}

/// One exported note.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Note {
    /// The session track it belongs to (its index; MIDI track `track + 1` in the file).
    pub track: usize,
    /// MIDI channel, 0-based ([`DRUM_CHANNEL`] for drums).
    pub channel: u8,
    /// MIDI note number.
    pub key: u8,
    /// Note-on velocity, 1..=127.
    pub velocity: u8,
    /// Note-on time in ticks from the start.
    pub start_tick: u64,
    /// Note-off time in ticks (at least `start_tick`; at most the end of the length).
    pub end_tick: u64,
}

/// The General MIDI drum note of a drum sound; `None` for the tonal built-ins (sub bass, FM
/// bass, stab, bell), which play at their pitch. Zap and riser have no GM counterpart: they
/// take the nearest in spirit (vibraslap, crash cymbal).
pub fn gm_drum_note(sound: BuiltinSound) -> Option<u8> {
    Some(match sound {
        BuiltinSound::Kick => 36,
        BuiltinSound::Snare => 38,
        BuiltinSound::Clap => 39,
        BuiltinSound::ClosedHat => 42,
        BuiltinSound::OpenHat => 46,
        BuiltinSound::LowTom => 45,
        BuiltinSound::HighTom => 50,
        BuiltinSound::Rim => 37,
        BuiltinSound::Cowbell => 56,
        BuiltinSound::Shaker => 70,
        BuiltinSound::Zap => 58,
        BuiltinSound::Riser => 49,
        BuiltinSound::SubBass | BuiltinSound::FmBass | BuiltinSound::Stab | BuiltinSound::Bell => {
            return None
        }
    })
}

/// The General MIDI program (0-based) nearest a melodic built-in; `None` for drums and
/// samples.
pub fn gm_program(instrument: &Instrument) -> Option<u8> {
    Some(match instrument {
        Instrument::Sound(BuiltinSound::SubBass) => 38, // Synth Bass 1
        Instrument::Sound(BuiltinSound::FmBass) => 39,  // Synth Bass 2
        Instrument::Sound(BuiltinSound::Stab) => 62,    // Synth Brass 1
        Instrument::Sound(BuiltinSound::Bell) => 14,    // Tubular Bells
        Instrument::Synth(SynthPreset::Bass) => 38,     // Synth Bass 1
        Instrument::Synth(SynthPreset::Lead) => 81,     // Lead 2 (sawtooth)
        Instrument::Synth(SynthPreset::Pad) => 89,      // Pad 2 (warm)
        Instrument::Synth(SynthPreset::Pluck) => 45,    // Pizzicato Strings
        Instrument::Synth(SynthPreset::Acid) => 39,     // Synth Bass 2
        Instrument::Sound(_) | Instrument::Sample(_) => return None,
    })
}

/// How one track maps onto MIDI.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Voicing {
    /// 0-based channel.
    channel: u8,
    /// `Some(note)`: a drum, always this note. `None`: melodic, from `base_note`.
    drum_note: Option<u8>,
    /// The note of pitch lock 0 for a melodic track (the engine's tuning of the patch).
    base_note: u8,
}

/// The channel and notes of every track: drums on [`DRUM_CHANNEL`], melodic tracks on the
/// other channels in order.
fn voicings(state: &SessionState) -> Vec<Voicing> {
    let mut melodic = 0u8;
    state
        .tracks
        .iter()
        .take(MAX_TRACKS)
        .map(|t| {
            let (drum_note, patch) = match &t.instrument {
                Instrument::Sound(s) => (gm_drum_note(*s), Patch::Sound(*s)),
                Instrument::Synth(p) => (None, Patch::Synth(*p)),
                Instrument::Sample(_) => (None, Patch::Sample(0)),
            };
            let channel = if drum_note.is_some() {
                DRUM_CHANNEL
            } else {
                // 0..=8, then 10..=15: channel 10 stays the drums'.
                let c = melodic % 15;
                melodic += 1;
                if c < DRUM_CHANNEL {
                    c
                } else {
                    c + 1
                }
            };
            Voicing {
                channel,
                drum_note,
                base_note: patch.base_note(),
            }
        })
        .collect()
}

/// The length in ticks, checked against what a file can hold.
fn length_ticks(
    pattern: &EnginePattern,
    length: Length,
    opts: &MidiOptions,
) -> Result<u64, ExportError> {
    if u15::try_from(opts.ticks_per_beat).is_none() || opts.ticks_per_beat == 0 {
        return Err(ExportError::TicksPerBeat(opts.ticks_per_beat));
    }
    let ticks = (length.beats(pattern)? * f64::from(opts.ticks_per_beat)).round() as u64;
    if ticks > MAX_TICKS {
        return Err(ExportError::TooLong { ticks });
    }
    Ok(ticks)
}

/// The notes an export of `length` of `state` holds, sorted by track, then time: the engine's
/// scheduled hits (see the module doc).
pub fn notes(
    state: &SessionState,
    length: Length,
    opts: &MidiOptions,
) -> Result<Vec<Note>, ExportError> {
    Ok(plan(state, length, opts)?.notes)
}

/// Everything a file is written from.
struct Plan {
    /// The session's tempo in BPM.
    tempo_bpm: f64,
    /// The end of the length, in ticks (checked to fit the file).
    end_tick: u64,
    /// How each track maps onto MIDI, by track index.
    voicings: Vec<Voicing>,
    /// The notes, by track, then time.
    notes: Vec<Note>,
}

fn plan(state: &SessionState, length: Length, opts: &MidiOptions) -> Result<Plan, ExportError> {
    let pattern = EnginePattern::from_state(state, |_| None);
    let end_tick = length_ticks(&pattern, length, opts)?;
    let voicings = voicings(state);
    let notes = scheduled_notes(
        &pattern,
        &voicings,
        opts.seed.unwrap_or(pattern.seed),
        f64::from(opts.ticks_per_beat),
        end_tick,
    );
    Ok(Plan {
        tempo_bpm: pattern.tempo_bpm,
        end_tick,
        voicings,
        notes,
    })
}

/// Runs the scheduler over `0..end_tick` with a tick as its frame and turns the hits into
/// notes. Sample tracks schedule without a loaded sample (`patch: None` only silences audio).
fn scheduled_notes(
    pattern: &EnginePattern,
    voicings: &[Voicing],
    seed: u64,
    ticks_per_beat: f64,
    end_tick: u64,
) -> Vec<Note> {
    let mut cursors = [StepCursor::default(); MAX_TRACKS];
    for c in cursors.iter_mut() {
        c.relocate(0.0, ticks_per_beat);
    }
    let mut fired = vec![Fired::default(); MAX_BLOCK_HITS];
    // A session with a song exports the song.
    let playing = Playing::of_pattern(pattern);
    // Blocks of a step at most, like the engine's (a few ms): a track never schedules more
    // ahead than its cursor holds, so every hit fires in its own block.
    let block = (ticks_per_beat as u64 / 4).max(1);
    let mut per_track: Vec<Vec<Note>> = vec![Vec::new(); voicings.len()];
    let mut pos = 0u64;
    while pos < end_tick {
        let n = block.min(end_tick - pos);
        let span = BlockSpan {
            start_beat: pos as f64 / ticks_per_beat,
            frames: n as usize,
            frames_per_beat: ticks_per_beat,
        };
        let k = block_hits(
            pattern,
            seed,
            pattern.swing_pct,
            &playing,
            &span,
            &mut cursors,
            &mut fired,
        );
        for f in &fired[..k] {
            let t = f.track as usize;
            let Some(v) = voicings.get(t) else { continue };
            let start = pos + u64::from(f.offset_frames);
            let notes = &mut per_track[t];
            // Monophonic like the engine's MIDI out: a new note ends the track's previous one.
            if let Some(prev) = notes.last_mut() {
                prev.end_tick = prev.end_tick.min(start);
            }
            let key = match v.drum_note {
                Some(note) => note,
                None => (i32::from(v.base_note) + i32::from(f.hit.pitch_semis)).clamp(0, 127) as u8,
            };
            let velocity = (f32::from(f.hit.velocity) * f.hit.gain.clamp(0.0, 1.0))
                .round()
                .clamp(1.0, 127.0) as u8;
            notes.push(Note {
                track: t,
                channel: v.channel,
                key,
                velocity,
                start_tick: start,
                end_tick: (start + f.gate_frames).min(end_tick),
            });
        }
        pos += n;
    }
    per_track.into_iter().flatten().collect()
}

/// Appends an event at absolute `tick` (not before the previous one) to `track`.
fn push<'a>(track: &mut Vec<TrackEvent<'a>>, now: &mut u64, tick: u64, kind: TrackEventKind<'a>) {
    let delta = tick.saturating_sub(*now);
    *now = (*now).max(tick);
    track.push(TrackEvent {
        // Every tick is at most the checked length, so every delta fits.
        delta: u28::new(delta as u32),
        kind,
    });
}

fn midi(channel: u8, message: MidiMessage) -> TrackEventKind<'static> {
    TrackEventKind::Midi {
        channel: u4::new(channel),
        message,
    }
}

/// Writes an export of `length` of `state` to `out` (see the module doc for what it holds); the
/// file is written in many small pieces, so wrap a `File` in a `BufWriter`.
pub fn write_to(
    out: impl Write,
    state: &SessionState,
    length: Length,
    opts: &MidiOptions,
) -> Result<(), ExportError> {
    let Plan {
        tempo_bpm,
        end_tick,
        voicings,
        notes,
    } = plan(state, length, opts)?;
    let mut smf = Smf::new(Header::new(
        Format::Parallel,
        Timing::Metrical(u15::new(opts.ticks_per_beat)),
    ));

    let mut conductor = Vec::new();
    let mut now = 0;
    let micros_per_beat = (60_000_000.0 / tempo_bpm).round() as u32;
    push(
        &mut conductor,
        &mut now,
        0,
        TrackEventKind::Meta(MetaMessage::Tempo(u24::new(micros_per_beat))),
    );
    // 4/4: numerator, log2(denominator), MIDI clocks per metronome click, 32nds per beat.
    push(
        &mut conductor,
        &mut now,
        0,
        TrackEventKind::Meta(MetaMessage::TimeSignature(4, 2, 24, 8)),
    );
    push(
        &mut conductor,
        &mut now,
        end_tick,
        TrackEventKind::Meta(MetaMessage::EndOfTrack),
    );
    smf.tracks.push(conductor);

    for (t, (track, v)) in state.tracks.iter().zip(&voicings).enumerate() {
        let mut events = Vec::new();
        let mut now = 0;
        let meta = |m| TrackEventKind::Meta(m);
        push(
            &mut events,
            &mut now,
            0,
            meta(MetaMessage::TrackName(track.name.as_bytes())),
        );
        push(
            &mut events,
            &mut now,
            0,
            meta(MetaMessage::InstrumentName(
                track.instrument.label().as_bytes(),
            )),
        );
        if let Some(program) = gm_program(&track.instrument) {
            let program = u7::new(program);
            push(
                &mut events,
                &mut now,
                0,
                midi(v.channel, MidiMessage::ProgramChange { program }),
            );
        }
        for note in notes.iter().filter(|n| n.track == t) {
            let key = u7::new(note.key);
            let vel = u7::new(note.velocity);
            let on = midi(note.channel, MidiMessage::NoteOn { key, vel });
            push(&mut events, &mut now, note.start_tick, on);
            let off = midi(
                note.channel,
                MidiMessage::NoteOff {
                    key,
                    vel: u7::new(0),
                },
            );
            push(&mut events, &mut now, note.end_tick, off);
        }
        push(
            &mut events,
            &mut now,
            end_tick,
            meta(MetaMessage::EndOfTrack),
        );
        smf.tracks.push(events);
    }
    smf.write_std(out)?;
    Ok(())
}

/// An export of `length` of `state`, as the bytes of a `.mid` file.
pub fn export(
    state: &SessionState,
    length: Length,
    opts: &MidiOptions,
) -> Result<Vec<u8>, ExportError> {
    let mut out = Vec::new();
    write_to(&mut out, state, length, opts)?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use keyboardia_core::Track;

    fn state(instruments: &[&str]) -> SessionState {
        SessionState {
            tracks: instruments
                .iter()
                .enumerate()
                .map(|(i, inst)| {
                    Track::new(
                        format!("t{i}").parse().unwrap(),
                        "t",
                        inst.parse::<Instrument>().unwrap(),
                    )
                })
                .collect(),
            ..SessionState::default()
        }
    }

    #[test]
    fn drums_share_channel_10_and_melodic_tracks_get_the_others() {
        let mut names = vec!["kick", "synth:bass", "snare", "bell"];
        names.extend(["synth:lead"; 12]);
        let v = voicings(&state(&names));
        let channels: Vec<u8> = v.iter().map(|v| v.channel).collect();
        assert_eq!(
            channels,
            [9, 0, 9, 1, 2, 3, 4, 5, 6, 7, 8, 10, 11, 12, 13, 14]
        );
        assert_eq!(v[0].drum_note, Some(36));
        assert_eq!((v[1].drum_note, v[1].base_note), (None, 36));
        assert_eq!((v[3].drum_note, v[3].base_note), (None, 60));
        // 15 melodic channels: a 16th melodic track shares the first.
        let all = voicings(&state(&["synth:pad"; 16]));
        assert_eq!(all[15].channel, 0);
        assert!(all.iter().all(|v| v.channel != DRUM_CHANNEL));
    }

    #[test]
    fn every_drum_has_a_distinct_gm_note_and_every_tonal_sound_a_program() {
        let mut drums = Vec::new();
        for s in BuiltinSound::ALL {
            match gm_drum_note(*s) {
                Some(n) => {
                    assert!((35..=81).contains(&n), "{s:?} → {n}");
                    drums.push(n);
                }
                None => assert!(gm_program(&Instrument::Sound(*s)).is_some(), "{s:?}"),
            }
        }
        let mut unique = drums.clone();
        unique.sort_unstable();
        unique.dedup();
        assert_eq!(unique.len(), drums.len());
        for p in SynthPreset::ALL {
            assert!(gm_program(&Instrument::Synth(*p)).is_some_and(|p| p < 128));
        }
    }

    #[test]
    fn sample_tracks_play_at_their_pitch_without_their_sample() {
        let mut s = state(&["sample:take-1", "stab"]);
        for t in s.tracks.iter_mut() {
            t.steps[0].on = true;
            t.steps[2].on = true;
            t.steps[2].locks.pitch = Some(-5);
        }
        let n = notes(&s, Length::Bars(1.0), &MidiOptions::default()).unwrap();
        let got: Vec<(usize, u8, u8, u64, u64)> = n
            .iter()
            .map(|n| (n.track, n.channel, n.key, n.start_tick, n.end_tick))
            .collect();
        assert_eq!(
            got,
            [
                (0, 0, 60, 0, 240),
                (0, 0, 55, 480, 720),
                (1, 1, 60, 0, 240),
                (1, 1, 55, 480, 720)
            ]
        );
    }

    #[test]
    fn bad_resolutions_and_lengths_are_typed_errors() {
        let s = state(&["kick"]);
        for tpb in [0, 32_768, u16::MAX] {
            let opts = MidiOptions {
                ticks_per_beat: tpb,
                seed: None,
            };
            assert!(matches!(
                export(&s, Length::Bars(1.0), &opts),
                Err(ExportError::TicksPerBeat(_))
            ));
        }
        let fine = MidiOptions {
            ticks_per_beat: 32_767,
            ..MidiOptions::default()
        };
        assert!(export(&s, Length::Bars(1.0), &fine).is_ok());
        assert!(matches!(
            export(&s, Length::Bars(3_000.0), &fine),
            Err(ExportError::TooLong { .. })
        ));
        assert!(matches!(
            export(&s, Length::Loops(0), &MidiOptions::default()),
            Err(ExportError::Length(LengthError::NoLoops))
        ));
    }
}
