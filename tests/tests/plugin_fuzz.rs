//! The randomized host fuzzer (`keyboardia_tests::clap_stress`) against the debug bundle with
//! `assert_process_allocs`, in child processes: random blocks of 1–4096 frames at random
//! sample rates and layouts, random transport, parameter changes (Record, Preview Take and Add
//! Take to Grid most of all), MIDI, sidechain audio (silence, denormals, NaN, ±1e30, full-scale
//! noise, infinities), state saves and loads, deactivation, reactivation and destroy at random
//! moments. Every output frame must be finite, normal and within ±4; nothing may allocate in
//! `process()` (the child aborts) or panic on any thread (the child's stderr).
//!
//! CI runs it for a few seconds. `KEYBOARDIA_FUZZ_SECS` sets the time and `KEYBOARDIA_FUZZ_SEED`
//! the seed; each failure names an episode seed that `keyboardia-clap-stress fuzz-one BUNDLE
//! SEED` replays.

use keyboardia_tests::clap_host::{clap_bundle_path, BundleKind};
use keyboardia_tests::clap_stress;

#[test]
fn plugin_fuzz_a_random_host_gets_clean_output_no_allocation_and_no_panic() {
    let secs: f64 = std::env::var("KEYBOARDIA_FUZZ_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(5.0);
    let seed = std::env::var("KEYBOARDIA_FUZZ_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| fastrand::u64(..));
    let bundle = clap_bundle_path(BundleKind::DebugAllocChecks);
    let exe = env!("CARGO_BIN_EXE_keyboardia-clap-stress");
    println!("fuzzing for {secs} s with seed {seed} (KEYBOARDIA_FUZZ_SEED={seed} runs the same episodes)");
    let report = clap_stress::fuzz(exe.as_ref(), &bundle, seed, secs);
    println!(
        "fuzz: seed {seed}, {secs} s, {} child processes: {}; failures: {}",
        report.children,
        report.stats.line(),
        report.failures.len()
    );
    for f in &report.failures {
        println!("{f}");
    }
    if !report.failures.is_empty() {
        println!("replay one: {exe} fuzz-one {} <seed>", bundle.display());
    }
    assert!(
        report.failures.is_empty(),
        "{} failures (seed {seed}):\n{}",
        report.failures.len(),
        report.failures.join("\n")
    );
    assert!(report.stats.blocks > 0, "the fuzzer processed nothing");
}

/// Episodes the fuzzer failed once (see [`plugin_fuzz_episodes_that_failed_once_pass`]).
const FAILED_ONCE: &[&str] = &["0xa734eeefdad787cd"];

/// Episodes the fuzzer failed once, replayed exactly (`fuzz-one`), each after its fix:
/// - `0xa734eeefdad787cd`: a dense chord of loud audition notes on one track of the
///   multi-out layout at 11 025 Hz drove that track's output to −4.02 (track outputs skip the
///   engine's limiter; now bounded at ±4, see `keyboardia::flush::bound_track`).
#[test]
fn plugin_fuzz_episodes_that_failed_once_pass() {
    let bundle = clap_bundle_path(BundleKind::DebugAllocChecks);
    let exe = env!("CARGO_BIN_EXE_keyboardia-clap-stress");
    for &seed in FAILED_ONCE {
        let out = clap_stress::run_child(
            exe.as_ref(),
            &["fuzz-one".into(), bundle.display().to_string(), seed.into()],
            std::time::Duration::from_secs(300),
        );
        assert!(
            out.success && out.panics().is_empty(),
            "episode {seed} ({}):\n{}",
            out.status,
            out.stderr_tail(20)
        );
    }
}
