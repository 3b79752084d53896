#!/usr/bin/env bash
# The one command that sets up a fresh machine and runs every check and test.
# CI runs exactly this (via .ci/run). Each area adds its own steps as scripts/test-<area>.sh.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n== test: %s\n' "$*"; }

step "setup"
bash scripts/setup.sh

step "cargo fmt --check"
cargo fmt --all -- --check

step "cargo clippy (native, all targets)"
cargo clippy --workspace --all-targets -- -D warnings

step "no import cycles between the files of any crate"
python3 scripts/import-cycles.py

step "wasm32 builds of the sans-IO core, the engine and the editor"
cargo build -p keyboardia-core -p keyboardia-engine -p keyboardia-ui --target wasm32-unknown-unknown

step "cargo test (workspace)"
cargo test --workspace

for area in scripts/test-*.sh; do
  [ -e "$area" ] || continue
  step "$area"
  bash "$area"
done

step "all passed"
