#!/usr/bin/env bash
# Plugin tests' extra tools (idempotent): PyPI pedalboard (a JUCE-based VST3 host) for the VST3
# render test. Debian packages and the wasm target come from scripts/setup.sh.
set -euo pipefail
PEDALBOARD_VERSION="0.9.26"
if python3 -c "import pedalboard" 2>/dev/null; then
  exit 0
fi
python3 -m pip install --quiet "pedalboard==${PEDALBOARD_VERSION}"
