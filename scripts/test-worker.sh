#!/usr/bin/env bash
# CI for the backend, after scripts/test.sh's workspace-wide steps.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"

# scripts/test.sh already ran the toolchain setup, fmt, native clippy and `cargo test --workspace`
# (the Worker's unit tests and every worker_* test against `wrangler dev`). Here: what only this
# area needs — the Worker linted as it ships (wasm32) and its deployable build.
cargo clippy -p keyboardia-worker --target wasm32-unknown-unknown -- -D warnings
bash scripts/build-worker.sh
