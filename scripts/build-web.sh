#!/usr/bin/env bash
# Builds the browser app into web/dist (idempotent; gitignored), as the Worker serves it:
#   index.html            the app's page; its <head> holds the line <!--keyboardia-meta--> that the
#                         Worker replaces with the session's title and link-preview tags
#   keyboardia-web-<hash>.js, keyboardia-web-<hash>.wasm   the editor + live session (wasm-bindgen)
#   worklet-<hash>.wasm   the engine for the AudioWorklet (raw exports, no JS glue)
#   processor-<hash>.js   the AudioWorkletProcessor that instantiates it
#   socket-<hash>.js      the dedicated worker that owns the room's WebSocket (stamps frames)
#   _headers              application/wasm, and long-cache headers for the hashed files
# Tools: cargo (profile web-release), wasm-bindgen-cli at the Cargo.lock version (installed by
# scripts/setup-worker.sh), npm binaryen's wasm-opt (when present) on the worklet's engine only:
# npm's wasm-opt runs as wasm in node and needs over 20 minutes on the app's module here, for a
# module already under its size target. Nothing is downloaded.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '== build-web: %s\n' "$*"; }

WB_VERSION=$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/"/, "", $3); print $3; exit }' Cargo.lock)
if [ "$(wasm-bindgen --version 2>/dev/null | awk '{print $2}')" != "$WB_VERSION" ]; then
  log "cargo install wasm-bindgen-cli $WB_VERSION"
  cargo install wasm-bindgen-cli --version "$WB_VERSION"
fi

log "cargo build (wasm32, profile web-release)"
cargo build --profile web-release --target wasm32-unknown-unknown \
  -p keyboardia-web -p keyboardia-worklet
out=target/wasm32-unknown-unknown/web-release

tmp=target/web-build
rm -rf "$tmp"
mkdir -p "$tmp"
# Without the `name` section (function names for stack traces: 0.83 MB, 0.24 MB gzip, of the
# app's module) and the producers section.
wasm-bindgen --target web --no-typescript --remove-name-section --remove-producers-section \
  --out-dir "$tmp" "$out/keyboardia_web.wasm"
cp "$out/keyboardia_worklet.wasm" "$tmp/worklet.wasm"

WASM_OPT=node_modules/.bin/wasm-opt
if [ -x "$WASM_OPT" ]; then
  log "wasm-opt (worklet)"
  "$WASM_OPT" -O3 --enable-bulk-memory --enable-nontrapping-float-to-int --enable-sign-ext \
    --enable-mutable-globals --enable-multivalue --strip-debug \
    "$tmp/worklet.wasm" -o "$tmp/worklet.wasm"
fi

hash() { sha256sum "$1" | cut -c1-16; }
dist=web/dist
rm -rf "$dist"
mkdir -p "$dist"
app_wasm="keyboardia-web-$(hash "$tmp/keyboardia_web_bg.wasm").wasm"
cp "$tmp/keyboardia_web_bg.wasm" "$dist/$app_wasm"
app_js="keyboardia-web-$(hash "$tmp/keyboardia_web.js").js"
cp "$tmp/keyboardia_web.js" "$dist/$app_js"
worklet="worklet-$(hash "$tmp/worklet.wasm").wasm"
cp "$tmp/worklet.wasm" "$dist/$worklet"
processor="processor-$(hash web/static/processor.js).js"
cp web/static/processor.js "$dist/$processor"
socket="socket-$(hash web/static/socket.js).js"
cp web/static/socket.js "$dist/$socket"

assets="{\"app\":\"/$app_js\",\"appWasm\":\"/$app_wasm\",\"worklet\":\"/$worklet\",\"processor\":\"/$processor\",\"socket\":\"/$socket\"}"
sed -e "s|__ASSETS__|$assets|" -e "s|__APP_JS__|/$app_js|" -e "s|__APP_WASM__|/$app_wasm|" \
  web/static/index.html >"$dist/index.html"
grep -qx '<!--keyboardia-meta-->' "$dist/index.html"

cat >"$dist/_headers" <<HEADERS
/*.wasm
  Content-Type: application/wasm
/keyboardia-web-*
  Cache-Control: public, max-age=31536000, immutable
/worklet-*
  Cache-Control: public, max-age=31536000, immutable
/processor-*
  Cache-Control: public, max-age=31536000, immutable
/socket-*
  Cache-Control: public, max-age=31536000, immutable
/index.html
  Cache-Control: no-cache
HEADERS

log "web/dist:"
ls -l "$dist" | tail -n +2
