#!/usr/bin/env bash
# The one command that sets up a fresh machine and runs Keyboardia's standalone app.
# Arguments pass through to the app (e.g. `--backend jack`, `--dpi-scale 2`).
#
# - With a display (DISPLAY or WAYLAND_DISPLAY set): the editor window opens on the demo
#   pattern; press Play (or space) to hear it.
# - Without a display: the app runs headless and plays the demo at once (stop it with Ctrl+C).
# - Without an audio device (no /dev/snd/pcm*) and no arguments: `--backend dummy`, which runs
#   the engine in real time without sound output.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh
cargo build --release -p keyboardia-standalone

args=("$@")
if [ ${#args[@]} -eq 0 ] && ! ls /dev/snd/pcm* >/dev/null 2>&1; then
  echo "no audio device found: using --backend dummy"
  args=(--backend dummy)
fi
if [ -z "${DISPLAY:-}" ] && [ -z "${WAYLAND_DISPLAY:-}" ]; then
  echo "no display: running headless, the demo beat plays now (Ctrl+C stops)"
else
  echo "opening the editor: press Play (or space) to hear the demo beat"
fi
exec target/release/keyboardia-standalone "${args[@]}"
