#!/usr/bin/env bash
# Coverage-guided fuzzing (cargo-fuzz / libFuzzer) of everything that reads untrusted bytes:
# the live protocol's decoders, the room fed several connections, session documents and their
# migration, the WAV upload check and decoder, the plugin's saved state (fuzz/fuzz_targets/).
#
#   bash scripts/fuzz.sh [SECONDS] [TARGET...]     benchmark: each target until FUZZ_RUNS
#                                                  executions (default 10,000,000) or SECONDS
#
# Prints one line per target: executions, time, executions/s, crashes. A crash's input is kept
# in fuzz/artifacts/TARGET/ (replay it with `cargo +nightly fuzz run TARGET FILE`); the corpus
# grows in fuzz/corpus/TARGET/ (seeded from fuzz/seeds/TARGET/). Exits non-zero on any crash.
#
# Environment: FUZZ_RUNS (executions per target; 0 = no limit), FUZZ_SANITIZER (default
# `none`: every target is safe Rust, so AddressSanitizer finds nothing the Rust checks miss and
# halves the speed; `address` to use it), FUZZ_NICE (default 10), FUZZ_MAX_LEN (libFuzzer's
# -max_len; default its own, 512 for the room).
#
# cargo-fuzz needs nightly features: with a nightly toolchain installed it runs
# `cargo +nightly fuzz`, otherwise `RUSTC_BOOTSTRAP=1 cargo fuzz` on the stable one.
set -euo pipefail
cd "$(dirname "$0")/.."

SECONDS_PER_TARGET="${1:-0}"
shift || true
RUNS="${FUZZ_RUNS:-10000000}"
SANITIZER="${FUZZ_SANITIZER:-none}"
NICE="${FUZZ_NICE:-10}"
ALL=(protocol session wav plugin_state room)
TARGETS=("$@")
[ ${#TARGETS[@]} -gt 0 ] || TARGETS=("${ALL[@]}")

command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --version 0.13.2 --locked
if rustup toolchain list 2>/dev/null | grep -q '^nightly'; then
  FUZZ=(cargo +nightly fuzz)
else
  FUZZ=(env RUSTC_BOOTSTRAP=1 cargo fuzz)
fi

cd fuzz
# -a: with debug assertions, so an integer overflow panics (it would wrap silently in the
# Worker's release build, and on wasm32 a wrapped 32-bit size is how an upload panicked it).
nice -n "$NICE" "${FUZZ[@]}" build -O -a -s "$SANITIZER" >&2

failed=0
printf '%-14s %14s %10s %10s %8s\n' target executions seconds exec/s crashes
for t in "${TARGETS[@]}"; do
  mkdir -p "corpus/$t" "artifacts/$t" "seeds/$t"
  log="$(mktemp)"
  # (cargo-fuzz itself keeps crashing inputs in artifacts/$t/.)
  # An input that takes 10 s is a hang (a denial of service on the Worker): a failure.
  args=(-print_final_stats=1 -timeout=10 -runs="$RUNS")
  [ "$RUNS" = 0 ] && args=(-print_final_stats=1 -timeout=10)
  [ "$SECONDS_PER_TARGET" != 0 ] && args+=(-max_total_time="$SECONDS_PER_TARGET")
  # The room target runs a whole scenario per input: 512 bytes (some 50 steps of several
  # connections) reach every state of the room and keep it fast.
  max_len="${FUZZ_MAX_LEN:-}"
  [ -z "$max_len" ] && [ "$t" = room ] && max_len=512
  [ -n "$max_len" ] && args+=(-max_len="$max_len")
  start=$(date +%s.%N)
  set +e
  nice -n "$NICE" "${FUZZ[@]}" run -O -a -s "$SANITIZER" "$t" "corpus/$t" "seeds/$t" -- "${args[@]}" >"$log" 2>&1
  status=$?
  set -e
  secs=$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  execs=${execs:-$(sed -n 's/^Done \([0-9]*\) runs.*/\1/p' "$log" | tail -1)}
  crashes=0
  if [ "$status" != 0 ]; then
    crashes=1
    failed=1
    grep -E "panicked|ERROR|SUMMARY|Test unit written|timeout" "$log" | head -20 >&2 || tail -40 "$log" >&2
  fi
  rate=$(awk -v n="${execs:-0}" -v s="$secs" 'BEGIN { printf "%d", n / (s > 0 ? s : 1) }')
  printf '%-14s %14s %10.0f %10s %8s\n' "$t" "${execs:-?}" "$secs" "$rate" "$crashes"
  rm -f "$log"
done
exit "$failed"
