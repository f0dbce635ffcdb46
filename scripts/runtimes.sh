#!/usr/bin/env bash
# The runtime matrix: builds the package, then runs test/runtime/suite.mjs on Node 22 and 26, Deno 2
# and Bun 1 (Node 24 runs it too: it is the toolchain's own). Each runtime comes from the npm package
# that ships its binary, installed once into the cache dir; no system package is touched.
#
#   npm run test:runtimes                 every runtime
#   npm run test:runtimes -- deno bun     only these (node22 node24 node26 deno bun)
set -euo pipefail
cd "$(dirname "$0")/.."

cache="${DURABLE_FETCH_RUNTIMES_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/durable-fetch/runtimes}"
case "$(uname -m)" in
  x86_64) arch=x64 bun_arch=x64 ;;
  aarch64 | arm64) arch=arm64 bun_arch=aarch64 ;;
  *) echo "runtimes.sh: no runtime packages for $(uname -m)" >&2; exit 1 ;;
esac

# name, npm package to install, binary inside its prefix. The deno and bun packages only pick a
# platform package at install time; installing that package directly needs no install script.
declare -A package=(
  [node22]="node-linux-$arch@22"
  [node26]="node-linux-$arch@26"
  [deno]="@deno/linux-$arch-glibc@2"
  [bun]="@oven/bun-linux-$bun_arch@1"
)
declare -A binary=(
  [node22]="node_modules/node-linux-$arch/bin/node"
  [node26]="node_modules/node-linux-$arch/bin/node"
  [deno]="node_modules/@deno/linux-$arch-glibc/deno"
  [bun]="node_modules/@oven/bun-linux-$bun_arch/bin/bun"
)

# The path of runtime $1's binary, installing it first if the cache lacks it.
runtime_binary() {
  local name=$1
  if [ "$name" = node24 ]; then
    echo "$PWD/node_modules/node/bin/node" # the `node` devDependency
    return
  fi
  local prefix="$cache/$name"
  local bin="$prefix/${binary[$name]}"
  if [ ! -x "$bin" ]; then
    echo "installing ${package[$name]} into $prefix" >&2
    mkdir -p "$prefix"
    npm install --no-save --no-audit --no-fund --ignore-scripts --loglevel=error --prefix "$prefix" "${package[$name]}" >/dev/null
    [ -x "$bin" ] || { echo "runtimes.sh: ${package[$name]} installed no binary at $bin" >&2; exit 1; }
  fi
  echo "$bin"
}

suite=test/runtime/suite.mjs
names=("$@")
[ ${#names[@]} -gt 0 ] || names=(node22 node24 node26 deno bun)

npm run --silent build

declare -a summary
status=0
for name in "${names[@]}"; do
  if [ "$name" != node24 ] && [ -z "${package[$name]:-}" ]; then
    echo "runtimes.sh: unknown runtime $name (node22 node24 node26 deno bun)" >&2
    exit 2
  fi
  bin="$(runtime_binary "$name")"
  echo
  case "$name" in
    deno) command=("$bin" run --allow-all "$suite") ;;
    bun) command=("$bin" run "$suite") ;;
    # Node 22 still calls node:sqlite experimental and says so on every worker.
    *) command=("$bin" --disable-warning=ExperimentalWarning "$suite") ;;
  esac
  log="$(mktemp)"
  if NO_COLOR=1 "${command[@]}" 2>&1 | tee "$log"; then result=ok; else result=FAILED; status=1; fi
  summary+=("$(printf '%-7s %-7s %s' "$name" "$result" "$(tail -n 1 "$log")")")
  rm -f "$log"
done

echo
echo "runtime matrix:"
printf '  %s\n' "${summary[@]}"
exit "$status"
