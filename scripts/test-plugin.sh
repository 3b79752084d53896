#!/usr/bin/env bash
# The sound/plugin checks CI runs after `cargo test --workspace` (~10 min cold on 2 cores).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup-plugin.sh

echo "== engine builds for the web"
cargo build -p keyboardia-engine --lib --target wasm32-unknown-unknown

echo "== CLAP host tests against a debug bundle that aborts on any allocation in process()"
cargo xtask bundle keyboardia --features assert_process_allocs
cargo test -p keyboardia-tests --test plugin_clap -- --test-threads=1

echo "== release bundles (.clap + .vst3), VST3 render in pedalboard"
cargo xtask bundle keyboardia --release
cargo test -p keyboardia-tests --test plugin_vst3

echo "== offline bounce of the demo"
cargo run -q --release -p keyboardia-engine --bin keyboardia-render -- --demo target/demo.wav --bars 4
