#!/usr/bin/env bash
# The sound/plugin checks CI runs after `cargo test --workspace` (which already ran the host
# tests: they bundle the plugin themselves). Here: the release bundles as users get them, the
# hosts again against them, the standalone app headless, and an offline bounce.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup-plugin.sh

echo "== engine builds for the web"
cargo build -p keyboardia-engine --lib --target wasm32-unknown-unknown

echo "== CLAP host (debug bundle, allocation checks in process()), then VST3 in pedalboard (release)"
cargo test -p keyboardia-tests --test plugin_clap --test plugin_vst3

echo "== standalone app runs headless"
cargo build --release -p keyboardia-standalone
set +e
timeout -s TERM 3 target/release/keyboardia-standalone --backend dummy >/dev/null 2>&1
rc=$?
set -e
# 124: still running when the timeout stopped it (it started and played).
[ "$rc" = 124 ] || { echo "standalone exited early with $rc"; exit 1; }

echo "== offline bounce of the demo"
cargo run -q --release -p keyboardia-engine --bin keyboardia-render -- --demo target/demo.wav --bars 4
ls target/bundled
