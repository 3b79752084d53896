#!/usr/bin/env bash
# The one command that sets up a fresh machine and runs Keyboardia's standalone app.
# Arguments pass through to the app (e.g. `--backend jack`, `--tempo 128`). Without an audio
# device it uses the dummy backend, which runs the engine headless in real time.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh
cargo build --release -p keyboardia-standalone

args=("$@")
if [ ${#args[@]} -eq 0 ] && ! ls /dev/snd/pcm* >/dev/null 2>&1; then
  echo "no audio device found: using --backend dummy"
  args=(--backend dummy)
fi
exec target/release/keyboardia-standalone "${args[@]}"
