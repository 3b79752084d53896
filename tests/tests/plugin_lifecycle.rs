//! The plugin destroyed while its background work runs, in a real CLAP host (a child process,
//! `keyboardia-clap-stress`, debug bundle with `assert_process_allocs`): "Add Take to Grid" is
//! pressed and the host destroys the instance a random number of blocks and a random pause
//! later, many times. No thread may panic (the plugin's panics go to the child's stderr), and
//! after each destroy no plugin thread may be left running.

use keyboardia_tests::clap_host::{clap_bundle_path, BundleKind};
use keyboardia_tests::clap_stress::run_child;

#[test]
fn plugin_lifecycle_destroy_during_add_take_to_grid_panics_nowhere() {
    let bundle = clap_bundle_path(BundleKind::DebugAllocChecks);
    let seed = std::env::var("KEYBOARDIA_DESTROY_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| fastrand::u64(..));
    println!("seed {seed} (KEYBOARDIA_DESTROY_SEED={seed} replays it)");
    let out = run_child(
        env!("CARGO_BIN_EXE_keyboardia-clap-stress").as_ref(),
        &[
            "destroy".into(),
            bundle.display().to_string(),
            seed.to_string(),
            "40".into(),
        ],
        std::time::Duration::from_secs(300),
    );
    assert!(
        out.panics().is_empty(),
        "panics (seed {seed}):\n{}",
        out.stderr_tail(30)
    );
    assert!(
        out.success,
        "the destroy run failed ({}, seed {seed}):\n{}",
        out.status,
        out.stderr_tail(30)
    );
}
