#!/usr/bin/env bash
# Builds the Worker (worker/ → worker/build/) with worker-build, using the pinned local tools
# instead of letting worker-build download them. Run scripts/setup-worker.sh once first.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
export PATH="$HOME/.cargo/bin:$PATH"
export WASM_BINDGEN_BIN="${WASM_BINDGEN_BIN:-$(command -v wasm-bindgen)}"
export WASM_OPT_BIN="${WASM_OPT_BIN:-$ROOT/node_modules/.bin/wasm-opt}"
export ESBUILD_BIN="${ESBUILD_BIN:-$ROOT/node_modules/.bin/esbuild}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
# One build at a time (tests, the server script and a developer may start builds at once, and
# they all write worker/build).
mkdir -p "$CARGO_TARGET_DIR"
exec 9>"$CARGO_TARGET_DIR/.keyboardia-worker-build.lock"
flock 9
cd worker
worker-build --release "$@"
