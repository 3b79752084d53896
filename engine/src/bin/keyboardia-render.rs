//! Offline bounce: `keyboardia-render <session.json|--demo> <out.wav> [--bars N] [--rate HZ]
//! [--block FRAMES] [--seed N]`. The JSON may be a bare session state or a whole saved session.

use std::process::ExitCode;

use keyboardia_core::audio::encode_wav_stereo_f32;
use keyboardia_core::schema::{session_from_json, state_from_json};
use keyboardia_core::SessionState;
use keyboardia_engine::render::{render_session, RenderOptions};

fn usage() -> ExitCode {
    eprintln!(
        "usage: keyboardia-render <session.json|--demo> <out.wav> [--bars N] [--rate HZ] [--block FRAMES] [--seed N]"
    );
    ExitCode::from(2)
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut positional = Vec::new();
    let mut bars = 4.0f64;
    let mut opts = RenderOptions::default();
    let mut i = 0;
    while i < args.len() {
        let a = args[i].as_str();
        let mut value = || {
            i += 1;
            args.get(i).cloned()
        };
        match a {
            "--bars" => match value().and_then(|v| v.parse().ok()) {
                Some(v) if v > 0.0 => bars = v,
                _ => return usage(),
            },
            "--rate" => match value().and_then(|v| v.parse().ok()) {
                Some(v) if (8_000.0..=384_000.0).contains(&v) => opts.sample_rate_hz = v,
                _ => return usage(),
            },
            "--block" => match value().and_then(|v| v.parse().ok()) {
                Some(v) if v > 0 => opts.block_frames = v,
                _ => return usage(),
            },
            "--seed" => match value().and_then(|v| v.parse().ok()) {
                Some(v) => opts.seed = v,
                None => return usage(),
            },
            "-h" | "--help" => return usage(),
            _ => positional.push(a.to_owned()),
        }
        i += 1;
    }
    let [input, output] = positional.as_slice() else {
        return usage();
    };
    let state = if input == "--demo" {
        SessionState::demo()
    } else {
        let bytes = match std::fs::read(input) {
            Ok(b) => b,
            Err(e) => {
                eprintln!("cannot read {input}: {e}");
                return ExitCode::FAILURE;
            }
        };
        match state_from_json(&bytes)
            .or_else(|e| session_from_json(&bytes).map(|s| s.state).map_err(|_| e))
        {
            Ok(s) => s,
            Err(e) => {
                eprintln!("{input}: {e}");
                return ExitCode::FAILURE;
            }
        }
    };
    let audio = render_session(&state, &opts, bars);
    let wav = match encode_wav_stereo_f32(&audio.left, &audio.right, opts.sample_rate_hz as u32) {
        Ok(wav) => wav,
        Err(e) => {
            eprintln!("cannot encode {output}: {e}");
            return ExitCode::FAILURE;
        }
    };
    if let Err(e) = std::fs::write(output, wav) {
        eprintln!("cannot write {output}: {e}");
        return ExitCode::FAILURE;
    }
    eprintln!(
        "rendered {bars} bars ({} frames at {} Hz, peak {:.3}) to {output}",
        audio.len(),
        opts.sample_rate_hz,
        audio.peak()
    );
    ExitCode::SUCCESS
}
