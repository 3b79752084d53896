#!/usr/bin/env bash
# The editor's CI steps, after `cargo test --workspace` (which already ran the editor's unit
# tests, the Xvfb screenshot test of the standalone app and the CLAP-host GUI test). Here: the
# README's run command itself, as users get it (release build), once without a display (headless:
# the demo plays at once) and once on a private Xvfb (the editor window opens and draws the grid).
set -euo pipefail
cd "$(dirname "$0")/.."

xvfb_pid=""
app_pid=""
cleanup() {
  for p in $app_pid $xvfb_pid; do
    kill -TERM "$p" 2>/dev/null || true
    wait "$p" 2>/dev/null || true
  done
}
trap cleanup EXIT

# Waits until run.sh (pid $1, log $2) has printed line $3, which it does right before it execs the
# app: from then on $1 is the app. Fails if it dies first.
wait_for_start() {
  local pid=$1 log=$2 line=$3
  for _ in $(seq 6000); do
    grep -q "$line" "$log" && return 0
    kill -0 "$pid" 2>/dev/null || { echo "run.sh exited before starting the app:"; cat "$log"; exit 1; }
    sleep 0.2
  done
  echo "run.sh did not start the app"; cat "$log"; exit 1
}

# The app (pid $1) must still be running after $2 seconds, then stop on SIGTERM.
expect_running() {
  local pid=$1 secs=$2 log=$3
  sleep "$secs"
  kill -0 "$pid" 2>/dev/null || { echo "the app exited early:"; cat "$log"; exit 1; }
  kill -TERM "$pid"
  for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  if kill -0 "$pid" 2>/dev/null; then echo "the app ignores SIGTERM"; exit 1; fi
  wait "$pid" 2>/dev/null || true
}

echo "== run.sh without a display: headless, plays the demo"
env -u DISPLAY -u WAYLAND_DISPLAY bash scripts/run.sh --backend dummy >target/run-headless.log 2>&1 &
app_pid=$!
wait_for_start "$app_pid" target/run-headless.log "no display: running headless"
expect_running "$app_pid" 4 target/run-headless.log
app_pid=""

echo "== run.sh with a display: the editor window opens"
n=90
while [ -e "/tmp/.X$n-lock" ] || [ -e "/tmp/.X11-unix/X$n" ]; do n=$((n + 1)); done
Xvfb ":$n" -screen 0 1600x900x24 -nolisten tcp >/dev/null 2>&1 &
xvfb_pid=$!
for _ in $(seq 100); do [ -e "/tmp/.X11-unix/X$n" ] && break; sleep 0.1; done
DISPLAY=":$n" bash scripts/run.sh --backend dummy >target/run-display.log 2>&1 &
app_pid=$!
wait_for_start "$app_pid" target/run-display.log "opening the editor"
found=""
for _ in $(seq 300); do
  if DISPLAY=":$n" xwininfo -root -tree 2>/dev/null | grep -q '"Keyboardia"'; then found=1; break; fi
  sleep 0.1
done
[ -n "$found" ] || { echo "no Keyboardia window"; cat target/run-display.log; exit 1; }
sleep 2
DISPLAY=":$n" import -window root target/editor-run.png
colors=$(convert target/editor-run.png -format '%k' info:)
echo "screenshot target/editor-run.png: $colors colours"
[ "$colors" -gt 20 ] || { echo "the editor window is blank"; exit 1; }
expect_running "$app_pid" 1 target/run-display.log
app_pid=""
echo "editor checks passed"
