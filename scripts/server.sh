#!/usr/bin/env bash
# The one command that runs Keyboardia's server locally: installs the Worker toolchain if needed,
# builds the Worker, and runs it under `wrangler dev` in the foreground with KV, R2 and Durable
# Object state persisted in .wrangler/state (kept across runs), and the accounts' D1 database
# migrated there first.
#   PORT=8787 HOST=127.0.0.1 PERSIST_DIR=.wrangler/state bash scripts/server.sh
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup-worker.sh
bash scripts/build-worker.sh
# wrangler.toml's [assets] serves the web app from web/dist (scripts/build-web.sh builds it);
# wrangler refuses a missing directory, so the API runs even before the app is built.
mkdir -p web/dist
# The accounts database (D1): apply worker/migrations/ to the local state (idempotent).
CI=1 bash scripts/wrangler.sh d1 migrations apply DB --local \
  --persist-to "${PERSIST_DIR:-.wrangler/state}" >/dev/null
exec bash scripts/wrangler.sh dev \
  --ip "${HOST:-127.0.0.1}" --port "${PORT:-8787}" \
  --persist-to "${PERSIST_DIR:-.wrangler/state}" \
  --show-interactive-dev-session=false "$@"
