#!/usr/bin/env bash
# The one command that sets up a fresh machine and runs Keyboardia: the standalone app, and the
# local server (`wrangler dev`, the embedded default) that live sessions connect to.
# Arguments pass through to the app (e.g. `--backend jack`, `--dpi-scale 2`).
#
# - With a display (DISPLAY or WAYLAND_DISPLAY set): the editor window opens on the demo
#   pattern; press Play (or space) to hear it. Its session bar shares the pattern through the
#   local server.
# - Without a display: the app runs headless and plays the demo at once (stop it with Ctrl+C).
# - Without an audio device (no /dev/snd/pcm*) and no arguments: `--backend dummy`, which runs
#   the engine in real time without sound output.
# - The local server starts in the background on http://127.0.0.1:8787 (log: target/server.log)
#   unless one already answers there or KEYBOARDIA_SERVER=none; it stops with the app. It also
#   serves the browser app (web/dist, built by scripts/build-web.sh): open
#   http://127.0.0.1:8787/ for a new session, or an invite link /s/<id> to join one.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh
mkdir -p target

server_pid=""
app_pid=""
stop() {
  if [ -n "$app_pid" ]; then
    kill -TERM "$app_pid" 2>/dev/null || true
    wait "$app_pid" 2>/dev/null || true
  fi
  if [ -n "$server_pid" ]; then
    kill -TERM -- "-$server_pid" 2>/dev/null || true
    for _ in $(seq 30); do kill -0 -- "-$server_pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL -- "-$server_pid" 2>/dev/null || true
  fi
}
trap stop EXIT
trap 'exit 143' TERM INT

if [ "${KEYBOARDIA_SERVER:-local}" != none ] \
   && ! curl -sf -o /dev/null --max-time 1 http://127.0.0.1:8787/api/health; then
  bash scripts/build-web.sh
  # wrangler.toml's [assets] serves web/dist; without one, serve it from the command line.
  assets=()
  grep -q '^\[assets\]' wrangler.toml || assets=(--assets web/dist)
  echo "starting the local server on http://127.0.0.1:8787 (log: target/server.log)"
  echo "the browser app: http://127.0.0.1:8787/ (a new session) or an invite link /s/<id>"
  setsid bash scripts/server.sh "${assets[@]}" >target/server.log 2>&1 &
  server_pid=$!
fi

cargo build --release -p keyboardia-standalone
# The beat page's "Open in Keyboardia" links (keyboardia:…) open this build.
bash scripts/register-scheme.sh || echo "could not register keyboardia: links (continuing)"

args=("$@")
# (A project file argument, `run.sh beat.keyboardia`, still gets the dummy backend.)
if ! printf '%s\n' "${args[@]}" | grep -q -- '^--backend' && ! ls /dev/snd/pcm* >/dev/null 2>&1; then
  echo "no audio device found: using --backend dummy"
  args+=(--backend dummy)
fi
if [ -z "${DISPLAY:-}" ] && [ -z "${WAYLAND_DISPLAY:-}" ]; then
  echo "no display: running headless, the demo beat plays now (Ctrl+C stops)"
else
  echo "opening the editor: press Play (or space) to hear the demo beat"
fi
target/release/keyboardia-standalone "${args[@]}" &
app_pid=$!
wait "$app_pid"
