#!/usr/bin/env bash
# CI for the backend, after scripts/test.sh's workspace-wide steps.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"

# scripts/test.sh already ran the toolchain setup, fmt, native clippy and `cargo test --workspace`
# (the Worker's unit tests and every worker_* test against `wrangler dev`). Here: what only this
# area needs — the Worker linted as it ships (wasm32) and its deployable build.
cargo clippy -p keyboardia-worker --target wasm32-unknown-unknown -- -D warnings
# The network parsers' tests on the server's own target (32-bit usize), under Node with
# wasm-bindgen-test-runner (installed by scripts/setup-worker.sh with wasm-bindgen-cli).
CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER=wasm-bindgen-test-runner \
  cargo test -p keyboardia-core --target wasm32-unknown-unknown --test wasm32_parsers
bash scripts/build-worker.sh
