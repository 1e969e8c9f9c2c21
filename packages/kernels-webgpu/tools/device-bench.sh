#!/usr/bin/env bash
# The WebGPU benchmark (scripts/bench.ts, Node runtime) on a machine with a real GPU that has no Node and no package
# registry (the project's lent GPU machines: CUDA, Python, NVIDIA driver; nothing outside reachable).
#
#   bash packages/kernels-webgpu/tools/device-bench.sh prepare
#       here, after `pnpm install`: writes packages/kernels-webgpu/.device/ (git-ignored, about 30 MB):
#         node.xz           this machine's Node 20 binary, stripped and xz-compressed
#         webgpu/           npm `webgpu` (Dawn): index.js, package.json, dist/linux-x64/dawn.node.xz
#         bench.mjs         esbuild bundle of scripts/bench.ts (tfjs, tfjs-backend-webgpu, core, this package)
#         debs/             the Vulkan loader (Debian libvulkan1, amd64), unpacked on the GPU machine
#       then checks that the bundle runs with the carried Node and Dawn here (software adapter, one small record).
#
#   bash packages/kernels-webgpu/tools/device-bench.sh run [bench options]
#       on the GPU machine, from the repository root, with packages/kernels-webgpu/.device carried along:
#       unpacks the Vulkan loader into /, finds the NVIDIA Vulkan driver, unpacks Node and Dawn under /tmp and runs
#       `bench.mjs webgpu --runtime node` on Dawn's Vulkan adapter (default options: the full grid, C = 16, 64;
#       k = 5, 9, 11; 32×32, 64×64; batch 8; 5 runs). Writes webgpu-bench.json and webgpu-bench.log to $OUT (or
#       packages/kernels-webgpu/device-out when OUT is unset).
#
# With the project's device tool, one call:
#   run(command: "bash packages/kernels-webgpu/tools/device-bench.sh run", carry: ["packages/kernels-webgpu/.device"],
#       timeout_s: 540)
set -euo pipefail

PKG=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CARRY="$PKG/.device"

prepare() {
  command -v node >/dev/null || { echo "device-bench: node not found" >&2; exit 1; }
  local version
  version=$(node --version)
  case "$version" in v20.*) ;; *) echo "device-bench: warning: carrying Node $version (tested with v20)" >&2 ;; esac
  [ "$(uname -m)" = x86_64 ] || { echo "device-bench: the GPU machines are x86-64; prepare on x86-64" >&2; exit 1; }
  # node.xz and dawn.node.xz are kept when newer than their sources (compressing takes minutes on 2 cores)
  rm -rf "$CARRY/bench.mjs" "$CARRY/debs"
  mkdir -p "$CARRY/webgpu/dist/linux-x64" "$CARRY/debs"

  echo "==> Node $version"
  local tmp
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' RETURN
  if [ ! "$CARRY/node.xz" -nt "$(readlink -f "$(command -v node)")" ]; then
    if command -v strip >/dev/null; then strip -o "$tmp/node" "$(command -v node)"; else cp "$(command -v node)" "$tmp/node"; fi
    xz -T2 -6 -c "$tmp/node" >"$CARRY/node.xz.part" && mv "$CARRY/node.xz.part" "$CARRY/node.xz"
  fi

  echo "==> npm webgpu (Dawn)"
  local wg
  wg=$(readlink -f "$PKG/node_modules/webgpu")
  [ -f "$wg/dist/linux-x64/dawn.node" ] || { echo "device-bench: $wg/dist/linux-x64/dawn.node missing (pnpm install?)" >&2; exit 1; }
  cp "$wg/index.js" "$wg/package.json" "$CARRY/webgpu/"
  local dawn="$CARRY/webgpu/dist/linux-x64/dawn.node.xz"
  if [ ! "$dawn" -nt "$wg/dist/linux-x64/dawn.node" ]; then
    xz -T2 -6 -c "$wg/dist/linux-x64/dawn.node" >"$dawn.part" && mv "$dawn.part" "$dawn"
  fi

  echo "==> bundle scripts/bench.ts"
  # webgpu stays external (loaded from node_modules/webgpu beside the bundle); the Chromium runner's and the wasm
  # backend's imports are never reached with --runtime node.
  (cd "$PKG" && node_modules/.bin/esbuild scripts/bench.ts --bundle --platform=node --format=esm --target=node20 \
    --outfile="$CARRY/bench.mjs" --log-level=warning \
    --external:webgpu --external:playwright-core --external:esbuild --external:@tensorflow/tfjs-backend-wasm \
    --banner:js="import { createRequire as __gmrCreateRequire } from 'node:module'; const require = __gmrCreateRequire(import.meta.url);")

  echo "==> Vulkan loader (Debian libvulkan1, amd64)"
  local lists="$tmp/apt-lists"
  mkdir -p "$lists/partial"
  local o=(-oAPT::Architecture=amd64 -oAPT::Architectures=amd64 "-oDir::State::Lists=$lists")
  apt-get "${o[@]}" update -q >/dev/null 2>&1
  (cd "$CARRY/debs" && apt-get "${o[@]}" download libvulkan1 >/dev/null 2>&1)
  ls "$CARRY/debs"

  echo "==> check: the bundle with the carried Node and Dawn on this machine's adapter"
  unpack "$tmp/run"
  (cd "$tmp/run" && EGL_PLATFORM="${EGL_PLATFORM:-surfaceless}" ./node bench.mjs webgpu --runtime node --channels 16 --kernels 5 --sizes 16 \
    --batch 2 --runs 1 --impl fused,composed)
  du -sh "$CARRY"
  echo "device-bench: ready in ${CARRY#"$PWD"/} (carry it; run 'device-bench.sh run' there)"
}

# Unpacks Node, Dawn and the bundle into $1.
unpack() {
  local dir=$1
  mkdir -p "$dir/node_modules/webgpu/dist/linux-x64"
  local unxz=(xz -dc)
  command -v xz >/dev/null || unxz=(python3 -c 'import lzma,sys; sys.stdout.buffer.write(lzma.open(sys.argv[1]).read())')
  "${unxz[@]}" "$CARRY/node.xz" >"$dir/node"
  chmod +x "$dir/node"
  cp "$CARRY/webgpu/index.js" "$CARRY/webgpu/package.json" "$dir/node_modules/webgpu/"
  "${unxz[@]}" "$CARRY/webgpu/dist/linux-x64/dawn.node.xz" >"$dir/node_modules/webgpu/dist/linux-x64/dawn.node"
  cp "$CARRY/bench.mjs" "$dir/"
}

run() {
  [ -f "$CARRY/bench.mjs" ] || { echo "device-bench: $CARRY missing: run 'device-bench.sh prepare' here and carry it" >&2; exit 1; }
  local out="${OUT:-$PKG/device-out}"
  mkdir -p "$out"
  echo "==> GPU"
  nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>/dev/null || echo "(no nvidia-smi)"
  if ! ldconfig -p 2>/dev/null | grep -q 'libvulkan.so.1'; then
    echo "==> Vulkan loader from the carried debs"
    for f in "$CARRY"/debs/*.deb; do dpkg -x "$f" /; done
    ldconfig
  fi
  # GMR_VK_ICD: a Vulkan ICD to use instead (e.g. SwiftShader's, for a dry run of this mode without a GPU)
  local icd="${GMR_VK_ICD:-}"
  if [ -z "$icd" ]; then
    for f in /usr/share/vulkan/icd.d/nvidia_icd.json /etc/vulkan/icd.d/nvidia_icd.json \
      /usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json /usr/share/vulkan/icd.d/nvidia_icd.x86_64.json; do
      if [ -f "$f" ]; then icd=$f; break; fi
    done
  fi
  if [ -z "$icd" ]; then icd=$(find / -xdev -name 'nvidia_icd*.json' 2>/dev/null | head -1 || true); fi
  [ -n "$icd" ] || { echo "device-bench: no NVIDIA Vulkan ICD found" >&2; exit 1; }
  echo "    Vulkan ICD: $icd"
  export VK_ICD_FILENAMES=$icd VK_DRIVER_FILES=$icd
  [ -f /usr/local/nvidia/share/glvnd/egl_vendor.d/10_nvidia.json ] && export __EGL_VENDOR_LIBRARY_FILENAMES=/usr/local/nvidia/share/glvnd/egl_vendor.d/10_nvidia.json
  # @gmr-conv/test-utils/backends: 'vulkan' takes Dawn's Vulkan backend with VK_ICD_FILENAMES as set (no GLES, no SwiftShader)
  export GMR_WEBGPU_ADAPTER=vulkan
  local dir=/tmp/gmr-device-bench
  rm -rf "$dir"
  unpack "$dir"
  echo "==> Node $("$dir/node" --version), bench $*"
  cd "$dir"
  local args=("$@")
  [ ${#args[@]} -gt 0 ] || args=(--runs 5)
  set -o pipefail
  timeout 500 ./node bench.mjs webgpu --runtime node --json "$out/webgpu-bench.json" "${args[@]}" 2>&1 | tee "$out/webgpu-bench.log"
}

case "${1:-}" in
  prepare) prepare ;;
  run) shift; run "$@" ;;
  *) echo "usage: device-bench.sh prepare | run [bench options]" >&2; exit 2 ;;
esac
