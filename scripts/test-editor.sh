#!/usr/bin/env bash
# The editor's CI steps, after `cargo test --workspace` (which already ran the editor's unit
# tests, the Xvfb screenshot test of the standalone app and the CLAP-host GUI test). Here: the
# README's run command itself, as users get it (release build), once without a display (headless:
# the demo plays at once) and once on a private Xvfb (the editor window opens and draws the grid).
set -euo pipefail
cd "$(dirname "$0")/.."

xvfb_pid=""
cleanup() {
  if [ -n "$xvfb_pid" ]; then kill "$xvfb_pid" 2>/dev/null || true; wait "$xvfb_pid" 2>/dev/null || true; fi
}
trap cleanup EXIT

# `timeout` exits 124 when it had to stop the app: it started and kept running.
expect_running() {
  local rc=$1 what=$2
  [ "$rc" = 124 ] || { echo "$what: exited early with $rc"; exit 1; }
}

# run.sh builds too; build first so the timeouts below only time the app.
cargo build --release -p keyboardia-standalone

echo "== run.sh without a display: headless, plays the demo"
set +e
env -u DISPLAY -u WAYLAND_DISPLAY timeout -s TERM 8 bash scripts/run.sh --backend dummy >target/run-headless.log 2>&1
rc=$?
set -e
expect_running "$rc" "run.sh headless"
grep -q "no display" target/run-headless.log || { echo "run.sh did not say it runs headless"; exit 1; }

echo "== run.sh with a display: the editor window opens"
n=90
while [ -e "/tmp/.X$n-lock" ] || [ -e "/tmp/.X11-unix/X$n" ]; do n=$((n + 1)); done
Xvfb ":$n" -screen 0 1600x900x24 -nolisten tcp >/dev/null 2>&1 &
xvfb_pid=$!
for _ in $(seq 100); do [ -e "/tmp/.X11-unix/X$n" ] && break; sleep 0.1; done
DISPLAY=":$n" timeout -s TERM 20 bash scripts/run.sh --backend dummy >target/run-display.log 2>&1 &
app_pid=$!
found=""
for _ in $(seq 150); do
  if DISPLAY=":$n" xwininfo -root -tree 2>/dev/null | grep -q '"Keyboardia"'; then found=1; break; fi
  sleep 0.1
done
[ -n "$found" ] || { echo "no Keyboardia window"; cat target/run-display.log; exit 1; }
sleep 2
DISPLAY=":$n" import -window root target/editor-run.png
colors=$(convert target/editor-run.png -format '%k' info:)
echo "screenshot target/editor-run.png: $colors colours"
[ "$colors" -gt 20 ] || { echo "the editor window is blank"; exit 1; }
set +e
wait "$app_pid"
rc=$?
set -e
expect_running "$rc" "run.sh with a display"
echo "editor checks passed"
