#!/usr/bin/env bash
# The browser app's extra checks (its tests in headless Chromium run in `cargo test --workspace`:
# tests/tests/web_*.rs): web/dist is built (a no-op when fresh) and holds what the Worker
# serves: index.html with the meta marker, content-hashed files, _headers.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/build-web.sh >/dev/null
dist=web/dist
grep -qx '<!--keyboardia-meta-->' "$dist/index.html"
for pattern in 'keyboardia-web-*.js' 'keyboardia-web-*.wasm' 'worklet-*.wasm' 'processor-*.js'; do
  n=$(find "$dist" -maxdepth 1 -name "$pattern" | wc -l)
  [ "$n" = 1 ] || { echo "test-web: expected one $pattern in $dist, found $n" >&2; exit 1; }
done
for f in "$dist"/*; do
  name=$(basename "$f")
  case "$name" in
    index.html|_headers) ;;
    *) grep -q "$name" "$dist/index.html" || { echo "test-web: $name is not referenced" >&2; exit 1; } ;;
  esac
done
grep -q 'Content-Type: application/wasm' "$dist/_headers"
grep -q 'immutable' "$dist/_headers"
echo "test-web: web/dist ok ($(du -sh "$dist" | cut -f1))"
