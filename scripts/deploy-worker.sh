#!/usr/bin/env bash
# Builds the Worker and deploys it with the pinned wrangler. Needs a Cloudflare login
# (`bash scripts/wrangler.sh login`, or CLOUDFLARE_API_TOKEN + CLOUDFLARE_ACCOUNT_ID) and the KV
# namespace id in wrangler.toml (see worker/README.md), the D1 database id, and the AUTH_SECRET
# Worker secret (`bash scripts/wrangler.sh secret put AUTH_SECRET`).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup-worker.sh
bash scripts/build-worker.sh
bash scripts/wrangler.sh d1 migrations apply DB --remote
exec bash scripts/wrangler.sh deploy "$@"
