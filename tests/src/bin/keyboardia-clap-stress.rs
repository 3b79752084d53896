//! The hostile CLAP host's child process (see `keyboardia_tests::clap_stress`); the plugin
//! tests run it and read its output.
//!
//! ```text
//! keyboardia-clap-stress destroy  BUNDLE SEED ITERATIONS   destroy during "Add Take to Grid"
//! keyboardia-clap-stress fuzz     BUNDLE SEED FIRST SECS   fuzz episodes FIRST.. for SECS s
//! keyboardia-clap-stress fuzz-one BUNDLE EPISODE_SEED      replay one fuzz episode
//! ```

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use keyboardia_tests::clap_stress;

fn parse_u64(s: &str) -> u64 {
    match s.strip_prefix("0x") {
        Some(hex) => u64::from_str_radix(hex, 16).expect("a hex number"),
        None => s.parse().expect("a number"),
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let usage = "usage: keyboardia-clap-stress destroy|fuzz|fuzz-one BUNDLE ...";
    let (Some(mode), Some(bundle)) = (args.first(), args.get(1)) else {
        eprintln!("{usage}");
        return ExitCode::from(2);
    };
    let bundle = PathBuf::from(bundle);
    let arg = |i: usize| {
        parse_u64(
            args.get(i)
                .map(String::as_str)
                .unwrap_or_else(|| panic!("{usage}")),
        )
    };
    match mode.as_str() {
        "destroy" => {
            let result = clap_stress::destroy_during_add_take(&bundle, arg(2), arg(3) as usize);
            // Whatever a destroyed instance left running finishes within the take copy's
            // timeout (2 s); a panic it causes then is on stderr before this exits.
            std::thread::sleep(Duration::from_secs(3));
            match result {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("FAIL {e}");
                    ExitCode::FAILURE
                }
            }
        }
        "fuzz" => {
            let secs = args.get(4).and_then(|s| s.parse().ok()).unwrap_or(5.0);
            let stats = clap_stress::fuzz_child(&bundle, arg(2), arg(3), secs);
            println!("{}", stats.line());
            ExitCode::SUCCESS
        }
        "fuzz-one" => match clap_stress::fuzz_episode(&bundle, arg(2)) {
            Ok(stats) => {
                println!("{}", stats.line());
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("FAIL {:#018x} {e}", arg(2));
                ExitCode::FAILURE
            }
        },
        _ => {
            eprintln!("{usage}");
            ExitCode::from(2)
        }
    }
}
