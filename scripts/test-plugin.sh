#!/usr/bin/env bash
# The sound/plugin checks CI runs after `cargo test --workspace` (which already ran the CLAP and
# VST3 host tests — they bundle the plugin themselves — and the wasm build of the engine). Here:
# the standalone app as users get it, headless, and an offline bounce.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup-plugin.sh

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
cargo run -q --release -p keyboardia-engine --bin keyboardia-render -- --demo target/demo.mid --loops 2
echo "== the demo song (two patterns, 20 bars) to WAV and MIDI"
cargo run -q --release -p keyboardia-engine --bin keyboardia-render -- --demo-song target/demo-song.wav
cargo run -q --release -p keyboardia-engine --bin keyboardia-render -- --demo-song target/demo-song.mid
[ -s target/demo-song.wav ] && [ -s target/demo-song.mid ]

echo "== a 320-bar bounce streams to its file (the memory benchmark; exits 1 over 64 MB)"
cargo run -q --release -p keyboardia-engine --example bounce_memory
ls target/bundled
