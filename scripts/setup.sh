#!/usr/bin/env bash
# Installs everything Keyboardia needs on a fresh Debian 12 machine with rustup. Idempotent:
# steps that are already done are skipped. Called by scripts/test.sh and scripts/run.sh.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '\n== setup: %s\n' "$*"; }

# --- Debian packages: audio (standalone: ALSA/JACK), X11/GL (egui editor), Xvfb + imagemagick
# + x11-utils + xdotool (headless screenshots, key presses), sox (audio checks).
APT_PACKAGES=(
  libasound2-dev libjack-jackd2-dev libgl-dev libx11-xcb-dev libxcb1-dev libxcb-dri2-0-dev
  libxcb-icccm4-dev libxcursor-dev libxkbcommon-dev libxcb-shape0-dev libxcb-xfixes0-dev
  libxkbcommon-x11-0 libgl1-mesa-dri xvfb x11-utils xdotool imagemagick sox pkg-config
)
missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  log "apt-get install ${missing[*]}"
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# --- jackd2: a JACK server whose dummy driver stands in for a sound card, so tests can feed the
# standalone app's input and record its output. Without its recommends (qjackctl pulls in Qt).
if ! dpkg-query -W -f='${Status}' jackd2 2>/dev/null | grep -q "install ok installed"; then
  log "apt-get install jackd2"
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends jackd2 >/dev/null
fi

# --- Rust targets: core and engine also build for the web.
if ! rustup target list --installed | grep -q wasm32-unknown-unknown; then
  log "rustup target add wasm32-unknown-unknown"
  rustup target add wasm32-unknown-unknown
fi

# --- Per-area toolchains (each script is idempotent).
for extra in scripts/setup-*.sh; do
  [ -e "$extra" ] || continue
  log "$extra"
  bash "$extra"
done
