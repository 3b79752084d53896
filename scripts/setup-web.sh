#!/usr/bin/env bash
# The browser app's machine setup (idempotent; run by scripts/setup.sh): Debian chromium and
# chromium-driver for the tests in a real headless browser (never a downloaded browser). The
# app itself is built by scripts/build-web.sh (wasm-bindgen-cli comes from setup-worker.sh).
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
for p in chromium chromium-driver; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  printf '\n== setup-web: apt-get install %s\n' "${missing[*]}"
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi
