//! Offline bounce and MIDI export: `keyboardia-render <session.json|--demo|--demo-song> <out.wav|out.mid>
//! [--bars N | --loops N] [--rate HZ] [--block FRAMES] [--seed N] [--ppq TICKS]`.
//!
//! The format follows the output's extension: `.wav` streams a 32-bit float stereo bounce to
//! the file block by block (memory stays flat whatever the length; progress on stderr), `.mid`
//! writes a Standard MIDI File of the same notes. The JSON may be a bare session state or a
//! whole saved session.

use std::fs::File;
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::builder::TypedValueParser;
use clap::{CommandFactory, Parser};
use keyboardia_core::schema::{session_from_json, state_from_json};
use keyboardia_core::SessionState;
use keyboardia_engine::midi::{self, MidiOptions, DEFAULT_TICKS_PER_BEAT};
use keyboardia_engine::render::{bounce_wav_to, Length, Progress, RenderOptions, Renderer};

/// Renders a Keyboardia session (or the demo) to a 32-bit float stereo WAV file, or exports it
/// as a Standard MIDI File (type 1): the format follows OUT's extension, `.wav` or `.mid`.
#[derive(Debug, Parser)]
#[command(name = "keyboardia-render", version)]
struct Args {
    /// Render the built-in demo session instead of a session file.
    #[arg(long)]
    demo: bool,
    /// Render the built-in demo song (two patterns chained over 20 bars) instead of a session
    /// file; the whole song unless --bars or --loops says otherwise.
    #[arg(long, conflicts_with = "demo")]
    demo_song: bool,
    /// `SESSION.json OUT.wav|OUT.mid`, or only `OUT.wav|OUT.mid` with `--demo`.
    #[arg(value_name = "FILES", num_args = 1..=2, required = true)]
    files: Vec<PathBuf>,
    /// Length in 4/4 bars [default: 4].
    #[arg(long, value_parser = positive_bars, conflicts_with = "loops")]
    bars: Option<f64>,
    /// Length in loops of the longest track (its step count), instead of bars.
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
    loops: Option<u32>,
    /// Sample rate in Hz (8000 to 384000; WAV only).
    #[arg(long, default_value_t = RenderOptions::default().sample_rate_hz, value_parser = rate_hz)]
    rate: f64,
    /// Frames per `process()` call (WAV only).
    #[arg(long, default_value_t = RenderOptions::default().block_frames,
          value_parser = clap::value_parser!(u64).range(1..).map(|v| v as usize))]
    block: usize,
    /// Seed of the probability-lock dice, instead of the session's own (a session file's
    /// `seed`, in decimal here).
    #[arg(long)]
    seed: Option<u64>,
    /// MIDI resolution in ticks per beat (MIDI only).
    #[arg(long, default_value_t = DEFAULT_TICKS_PER_BEAT,
          value_parser = clap::value_parser!(u16).range(1..=32767))]
    ppq: u16,
}

/// The file format to write, from the output's extension.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Format {
    /// A 32-bit float stereo WAV bounce.
    Wav,
    /// A Standard MIDI File, type 1.
    Midi,
}

/// What to render, and where to.
#[derive(Clone, Debug)]
struct Job {
    /// The session file, or `None` for the demo.
    input: Option<PathBuf>,
    /// The file to write.
    output: PathBuf,
    /// WAV or MIDI, from `output`'s extension.
    format: Format,
    /// How long.
    length: Length,
    /// Whether `length` came from `--bars` or `--loops`; if not, a session with a song renders
    /// the whole song once.
    length_given: bool,
    /// Render the demo song (with `input` `None`).
    demo_song: bool,
    /// Rate, block size and seed (the seed also for MIDI).
    options: RenderOptions,
    /// MIDI ticks per beat.
    ticks_per_beat: u16,
}

fn positive_bars(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(v) if v.is_finite() && v > 0.0 => Ok(v),
        _ => Err(format!("`{s}` is not a positive number of bars")),
    }
}

fn rate_hz(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(v) if (8_000.0..=384_000.0).contains(&v) => Ok(v),
        _ => Err(format!("`{s}` is not a sample rate from 8000 to 384000 Hz")),
    }
}

/// The format of `path` by its extension (any case), if it is one we write.
fn format_of(path: &Path) -> Option<Format> {
    let ext = path.extension()?.to_str()?.to_ascii_lowercase();
    match ext.as_str() {
        "wav" | "wave" => Some(Format::Wav),
        "mid" | "midi" | "smf" => Some(Format::Midi),
        _ => None,
    }
}

impl Args {
    /// The job, or a usage error when the file arguments do not fit `--demo` or the output's
    /// extension is not one we write.
    fn job(self) -> Result<Job, clap::Error> {
        let mut files = self.files.into_iter();
        let demo = self.demo || self.demo_song;
        let (input, output) = match (demo, files.next(), files.next()) {
            (true, Some(output), None) => (None, output),
            (false, Some(input), Some(output)) => (Some(input), output),
            _ => {
                return Err(Args::command().error(
                    clap::error::ErrorKind::WrongNumberOfValues,
                    "give SESSION.json OUT.wav|OUT.mid, or --demo OUT.wav|OUT.mid",
                ))
            }
        };
        let Some(format) = format_of(&output) else {
            return Err(Args::command().error(
                clap::error::ErrorKind::InvalidValue,
                format!(
                    "cannot tell the format of {}: name it .wav or .mid",
                    output.display()
                ),
            ));
        };
        let length_given = self.loops.is_some() || self.bars.is_some();
        let length = match (self.loops, self.bars) {
            (Some(loops), _) => Length::Loops(loops),
            (None, bars) => Length::Bars(bars.unwrap_or(4.0)),
        };
        Ok(Job {
            input,
            output,
            format,
            length,
            length_given,
            demo_song: self.demo_song,
            options: RenderOptions {
                sample_rate_hz: self.rate,
                block_frames: self.block,
                seed: self.seed,
            },
            ticks_per_beat: self.ppq,
        })
    }
}

/// Parses the command line (`args` starts with the program name).
fn parse<I, T>(args: I) -> Result<Job, clap::Error>
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    Args::try_parse_from(args)?.job()
}

/// The session to render: the demo (or the demo song), or a session file (a bare state or a
/// whole saved session).
fn load(input: Option<&Path>, demo_song: bool) -> Result<SessionState, String> {
    let Some(input) = input else {
        return Ok(if demo_song {
            SessionState::demo_song()
        } else {
            SessionState::demo()
        });
    };
    let bytes =
        std::fs::read(input).map_err(|e| format!("cannot read {}: {e}", input.display()))?;
    state_from_json(&bytes)
        .or_else(|e| session_from_json(&bytes).map(|s| s.state).map_err(|_| e))
        .map_err(|e| format!("{}: {e}", input.display()))
}

/// Prints the bounce's progress on stderr when the whole percent changes (on one line that
/// rewrites itself on a terminal, a line per 10 % otherwise).
struct ProgressLine {
    /// The last percent printed.
    shown: Option<u32>,
    /// Whether stderr is a terminal.
    tty: bool,
}

impl ProgressLine {
    fn show(&mut self, p: Progress) {
        let percent = (p.fraction() * 100.0).floor() as u32;
        let step = if self.tty { 1 } else { 10 };
        if self.shown.is_some_and(|s| s / step == percent / step) {
            return;
        }
        self.shown = Some(percent);
        let mut err = std::io::stderr().lock();
        let _ = if self.tty {
            write!(err, "\rbouncing {percent:3} %")
        } else {
            writeln!(err, "bouncing {percent:3} %")
        };
    }

    fn end(&self) {
        if self.tty && self.shown.is_some() {
            eprintln!();
        }
    }
}

/// Runs the job; an error is the message to print.
fn run(job: &Job) -> Result<String, String> {
    let state = load(job.input.as_deref(), job.demo_song)?;
    let output = job.output.display();
    // A session with a song plays the song (see `Playing::of_pattern`): by default all of it.
    let length = if !job.length_given && !state.song.is_empty() {
        Length::Loops(1)
    } else {
        job.length
    };
    let job = &Job {
        length,
        ..job.clone()
    };
    // What the length is, as the summary line says it: a loop of a session with a song is the
    // whole song.
    let what = match length {
        Length::Loops(n) if !state.song.is_empty() => format!("{n} loops of the song"),
        other => other.to_string(),
    };
    match job.format {
        Format::Midi => {
            let opts = MidiOptions {
                ticks_per_beat: job.ticks_per_beat,
                seed: job.options.seed,
            };
            let bytes =
                midi::export(&state, job.length, &opts).map_err(|e| format!("{output}: {e}"))?;
            std::fs::write(&job.output, &bytes)
                .map_err(|e| format!("cannot write {output}: {e}"))?;
            let notes = midi::notes(&state, job.length, &opts).map_or(0, |n| n.len());
            Ok(format!(
                "exported {what} ({} tracks, {notes} notes, {} bytes) to {output}",
                state.tracks.len(),
                bytes.len()
            ))
        }
        Format::Wav => {
            let renderer = Renderer::for_session(&state, &job.options, job.length)
                .map_err(|e| e.to_string())?;
            let file =
                File::create(&job.output).map_err(|e| format!("cannot create {output}: {e}"))?;
            let mut line = ProgressLine {
                shown: None,
                tty: std::io::stderr().is_terminal(),
            };
            let done = bounce_wav_to(file, renderer, |p| line.show(p));
            line.end();
            let done = done.map_err(|e| format!("{output}: {e}"))?;
            Ok(format!(
                "rendered {what} ({} frames at {} Hz, peak {:.3}) to {output}",
                done.frames, job.options.sample_rate_hz, done.peak
            ))
        }
    }
}

fn main() -> ExitCode {
    let job = match parse(std::env::args_os()) {
        Ok(job) => job,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(e.exit_code() as u8);
        }
    };
    match run(&job) {
        Ok(done) => {
            eprintln!("{done}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("{e}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job(args: &[&str]) -> Result<Job, clap::Error> {
        parse(std::iter::once("keyboardia-render").chain(args.iter().copied()))
    }

    #[test]
    fn a_session_and_an_output_with_the_defaults() {
        let j = job(&["song.json", "out.wav"]).unwrap();
        assert_eq!(j.input, Some(PathBuf::from("song.json")));
        assert_eq!(j.output, PathBuf::from("out.wav"));
        assert_eq!(j.format, Format::Wav);
        assert_eq!(j.length, Length::Bars(4.0));
        assert_eq!(j.ticks_per_beat, DEFAULT_TICKS_PER_BEAT);
        let d = RenderOptions::default();
        assert_eq!(
            (
                j.options.sample_rate_hz,
                j.options.block_frames,
                j.options.seed
            ),
            (d.sample_rate_hz, d.block_frames, d.seed)
        );
    }

    #[test]
    fn the_demo_and_every_flag_anywhere() {
        let j = job(&[
            "--bars", "2.5", "--demo", "out.wav", "--rate", "44100", "--block", "333", "--seed",
            "7",
        ])
        .unwrap();
        assert_eq!(j.input, None);
        assert_eq!(j.output, PathBuf::from("out.wav"));
        assert_eq!(j.length, Length::Bars(2.5));
        assert_eq!(
            (
                j.options.sample_rate_hz,
                j.options.block_frames,
                j.options.seed
            ),
            (44_100.0, 333, Some(7))
        );
    }

    #[test]
    fn the_format_follows_the_extension_and_loops_replace_bars() {
        let j = job(&["--demo", "beat.MID", "--loops", "3", "--ppq", "480"]).unwrap();
        assert_eq!(
            (j.format, j.length, j.ticks_per_beat),
            (Format::Midi, Length::Loops(3), 480)
        );
        assert_eq!(job(&["a.json", "b.midi"]).unwrap().format, Format::Midi);
        assert_eq!(job(&["a.json", "b.wave"]).unwrap().format, Format::Wav);
    }

    #[test]
    fn bad_arguments_are_usage_errors() {
        for bad in [
            &["out.wav"][..],
            &["--demo", "in.json", "out.wav"],
            &["a.json", "b.wav", "c.wav"],
            &["a.json", "b.wav", "--bars", "0"],
            &["a.json", "b.wav", "--bars", "x"],
            &["a.json", "b.wav", "--bars", "inf"],
            &["a.json", "b.wav", "--rate", "4000"],
            &["a.json", "b.wav", "--rate", "400000"],
            &["a.json", "b.wav", "--block", "0"],
            &["a.json", "b.wav", "--seed", "-1"],
            &["a.json", "b.wav", "--loud"],
            &["a.json", "b.mid", "--loops", "0"],
            &["a.json", "b.mid", "--loops", "2", "--bars", "2"],
            &["a.json", "b.mid", "--ppq", "0"],
            &["a.json", "b.mid", "--ppq", "40000"],
            &["a.json", "b.mp3"],
            &["--demo", "out"],
        ] {
            let e = job(bad).expect_err(&format!("{bad:?}"));
            assert_eq!(e.exit_code(), 2, "{bad:?}");
        }
        let help = job(&["--help"]).unwrap_err();
        assert_eq!(help.kind(), clap::error::ErrorKind::DisplayHelp);
    }

    #[test]
    fn the_demo_song_renders_whole_by_default() {
        let j = job(&["--demo-song", "song.mid"]).unwrap();
        assert!(j.demo_song && !j.length_given && j.input.is_none());
        let state = load(None, true).unwrap();
        assert_eq!(state.song.len(), 4);
        let notes = midi::notes(&state, Length::Loops(1), &MidiOptions::default()).unwrap();
        // 20 bars at 118 BPM: every note within them, the last one in the last bar.
        let ppq = u64::from(MidiOptions::default().ticks_per_beat);
        let end = notes.iter().map(|n| n.start_tick).max().unwrap();
        assert!(end < 80 * ppq && end >= 76 * ppq, "{end}");
        assert!(job(&["--demo-song", "--demo", "x.wav"]).is_err());
    }
}
