//! Offline bounce: `keyboardia-render <session.json|--demo> <out.wav> [--bars N] [--rate HZ]
//! [--block FRAMES] [--seed N]`. The JSON may be a bare session state or a whole saved session.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::builder::TypedValueParser;
use clap::{CommandFactory, Parser};
use keyboardia_core::audio::encode_wav_stereo_f32;
use keyboardia_core::schema::{session_from_json, state_from_json};
use keyboardia_core::SessionState;
use keyboardia_engine::render::{render_session, RenderOptions};

/// Renders a Keyboardia session (or the demo) to a 32-bit float stereo WAV file.
#[derive(Debug, Parser)]
#[command(name = "keyboardia-render", version)]
struct Args {
    /// Render the built-in demo session instead of a session file.
    #[arg(long)]
    demo: bool,
    /// `SESSION.json OUT.wav`, or only `OUT.wav` with `--demo`.
    #[arg(value_name = "FILES", num_args = 1..=2, required = true)]
    files: Vec<PathBuf>,
    /// Length in 4/4 bars.
    #[arg(long, default_value_t = 4.0, value_parser = positive_bars)]
    bars: f64,
    /// Sample rate in Hz (8000 to 384000).
    #[arg(long, default_value_t = RenderOptions::default().sample_rate_hz, value_parser = rate_hz)]
    rate: f64,
    /// Frames per `process()` call.
    #[arg(long, default_value_t = RenderOptions::default().block_frames,
          value_parser = clap::value_parser!(u64).range(1..).map(|v| v as usize))]
    block: usize,
    /// Seed of the probability-lock dice, instead of the session's own (a session file's
    /// `seed`, in decimal here).
    #[arg(long)]
    seed: Option<u64>,
}

/// What to render, and where to.
#[derive(Debug)]
struct Job {
    /// The session file, or `None` for the demo.
    input: Option<PathBuf>,
    /// The WAV file to write.
    output: PathBuf,
    /// Length in bars.
    bars: f64,
    /// Rate, block size and seed.
    options: RenderOptions,
}

fn positive_bars(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(v) if v > 0.0 => Ok(v),
        _ => Err(format!("`{s}` is not a positive number of bars")),
    }
}

fn rate_hz(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(v) if (8_000.0..=384_000.0).contains(&v) => Ok(v),
        _ => Err(format!("`{s}` is not a sample rate from 8000 to 384000 Hz")),
    }
}

impl Args {
    /// The job, or a usage error when the file arguments do not fit `--demo`.
    fn job(self) -> Result<Job, clap::Error> {
        let mut files = self.files.into_iter();
        let (input, output) = match (self.demo, files.next(), files.next()) {
            (true, Some(output), None) => (None, output),
            (false, Some(input), Some(output)) => (Some(input), output),
            _ => {
                return Err(Args::command().error(
                    clap::error::ErrorKind::WrongNumberOfValues,
                    "give SESSION.json OUT.wav, or --demo OUT.wav",
                ))
            }
        };
        Ok(Job {
            input,
            output,
            bars: self.bars,
            options: RenderOptions {
                sample_rate_hz: self.rate,
                block_frames: self.block,
                seed: self.seed,
            },
        })
    }
}

/// Parses the command line (without the program name's handling: `args` starts with it).
fn parse<I, T>(args: I) -> Result<Job, clap::Error>
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    Args::try_parse_from(args)?.job()
}

fn main() -> ExitCode {
    let job = match parse(std::env::args_os()) {
        Ok(job) => job,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(e.exit_code() as u8);
        }
    };
    let state = match &job.input {
        None => SessionState::demo(),
        Some(input) => {
            let bytes = match std::fs::read(input) {
                Ok(b) => b,
                Err(e) => {
                    eprintln!("cannot read {}: {e}", input.display());
                    return ExitCode::FAILURE;
                }
            };
            match state_from_json(&bytes)
                .or_else(|e| session_from_json(&bytes).map(|s| s.state).map_err(|_| e))
            {
                Ok(s) => s,
                Err(e) => {
                    eprintln!("{}: {e}", input.display());
                    return ExitCode::FAILURE;
                }
            }
        }
    };
    let opts = job.options;
    let audio = render_session(&state, &opts, job.bars);
    let output = job.output.display();
    let wav = match encode_wav_stereo_f32(&audio.left, &audio.right, opts.sample_rate_hz as u32) {
        Ok(wav) => wav,
        Err(e) => {
            eprintln!("cannot encode {output}: {e}");
            return ExitCode::FAILURE;
        }
    };
    if let Err(e) = std::fs::write(&job.output, wav) {
        eprintln!("cannot write {output}: {e}");
        return ExitCode::FAILURE;
    }
    eprintln!(
        "rendered {} bars ({} frames at {} Hz, peak {:.3}) to {output}",
        job.bars,
        audio.len(),
        opts.sample_rate_hz,
        audio.peak()
    );
    ExitCode::SUCCESS
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
        assert_eq!(j.bars, 4.0);
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
        assert_eq!(j.bars, 2.5);
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
    fn bad_arguments_are_usage_errors() {
        for bad in [
            &["out.wav"][..],
            &["--demo", "in.json", "out.wav"],
            &["a.json", "b.wav", "c.wav"],
            &["a.json", "b.wav", "--bars", "0"],
            &["a.json", "b.wav", "--bars", "x"],
            &["a.json", "b.wav", "--rate", "4000"],
            &["a.json", "b.wav", "--rate", "400000"],
            &["a.json", "b.wav", "--block", "0"],
            &["a.json", "b.wav", "--seed", "-1"],
            &["a.json", "b.wav", "--loud"],
        ] {
            let e = job(bad).expect_err(&format!("{bad:?}"));
            assert_eq!(e.exit_code(), 2, "{bad:?}");
        }
        let help = job(&["--help"]).unwrap_err();
        assert_eq!(help.kind(), clap::error::ErrorKind::DisplayHelp);
    }
}
