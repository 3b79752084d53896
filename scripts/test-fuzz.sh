#!/usr/bin/env bash
# CI's short fuzz pass: builds the cargo-fuzz targets (fuzz/) and runs each for a few seconds
# (FUZZ_SECONDS, default 5), from its seeds and corpus, failing on any crash. The full-size run
# is the benchmark `bash scripts/fuzz.sh` (10 M executions per target).
#
# Without AddressSanitizer (`FUZZ_SANITIZER=none`, scripts/fuzz.sh's default): the targets are
# safe Rust, and the sanitizer would double the cold build and halve the executions. Cold on 2
# cores the build takes about 3 minutes (plus installing cargo-fuzz once, if missing).
set -euo pipefail
cd "$(dirname "$0")/.."
FUZZ_RUNS=0 exec bash scripts/fuzz.sh "${FUZZ_SECONDS:-5}" "$@"
