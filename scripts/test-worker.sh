#!/usr/bin/env bash
# CI for the backend: toolchain (idempotent), lint of the Worker for wasm32, its native unit tests,
# one Worker build, then the tests against the real Worker under `wrangler dev` (each test starts
# and stops its own server; nothing is left running).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"

bash scripts/setup-worker.sh
cargo fmt -p keyboardia-worker -- --check
cargo clippy -p keyboardia-worker --target wasm32-unknown-unknown -- -D warnings
cargo clippy -p keyboardia-worker --all-targets -- -D warnings
cargo test -p keyboardia-worker
bash scripts/build-worker.sh
cargo test -p keyboardia-tests --test worker_rest --test worker_live --test worker_samples
