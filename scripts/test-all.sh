#!/usr/bin/env bash
# The whole CI run (called by .ci/run; works the same by hand):
#   1. Debian packages for WebGPU without a GPU, installed only when one of their files is missing
#        Mesa llvmpipe through GLES (preferred): libegl-dev libegl-mesa0 libgl1-mesa-dri
#        SwiftShader Vulkan (fallback):          chromium libvulkan1
#   2. pnpm 12.4.2 (npm i -g) when missing
#   3. pnpm install --frozen-lockfile
#   3b. pnpm lint   (eslint + prettier --check; a failure counts as one failed test, the run goes on)
#   4. pnpm build   (turbo run build)
#   5. pnpm test    (turbo run test) with GMR_REQUIRE_WEBGPU=1 and the WebGPU environment exported
#   6. scripts/consumer-test.sh: the packed public packages npm-installed into a temporary project and used there
# Ends with the line "N passed, N failed" summing the vitest results of every package, and exits non-zero on any
# failure (a failed step, a failed test, a test task that failed without a vitest summary, or no test at all).
# Runs as root without sudo and without stdin.
set -uo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.." || exit 1
ROOT=$PWD

export TURBO_TELEMETRY_DISABLED=1
export DEBIAN_FRONTEND=noninteractive
PNPM_VERSION=12.4.2

now() { date +%s; }
T_ALL=$(now)
step() { printf '\n==> %s\n' "$*"; }
took() { printf '    (%ss)\n' "$(($(now) - $1))"; }

# Prints a closing summary for a run that stopped before the tests, then exits non-zero.
abort() {
  echo "test-all: $*" >&2
  echo "test-all: total $(($(now) - T_ALL))s"
  echo "0 passed, 1 failed"
  exit 1
}

# ------------------------------------------------------------------------------------------------
# 1. Debian packages
step "system packages"
T=$(now)
MULTIARCH_LIB="/usr/lib/$(uname -m)-linux-gnu"
# package -> a file it installs (checked, not dpkg state: the file is what Dawn needs)
declare -A PKG_FILE=(
  [libegl-dev]="$MULTIARCH_LIB/libEGL.so"
  [libegl-mesa0]="$MULTIARCH_LIB/libEGL_mesa.so.0"
  [libgl1-mesa-dri]="$MULTIARCH_LIB/dri/swrast_dri.so"
  [libvulkan1]="$MULTIARCH_LIB/libvulkan.so.1"
  [chromium]="/usr/lib/chromium/vk_swiftshader_icd.json"
)
MISSING=()
for pkg in libegl-dev libegl-mesa0 libgl1-mesa-dri libvulkan1 chromium; do
  [ -e "${PKG_FILE[$pkg]}" ] || MISSING+=("$pkg")
done
if [ "${#MISSING[@]}" -gt 0 ]; then
  echo "    installing: ${MISSING[*]}"
  if [ "$(id -u)" -ne 0 ]; then
    echo "    not root: cannot apt-get install ${MISSING[*]}; WebGPU tests may fail" >&2
  else
    apt-get update -q || echo "    apt-get update failed" >&2
    apt-get install -y -q --no-install-recommends "${MISSING[@]}" </dev/null ||
      echo "    apt-get install ${MISSING[*]} failed; WebGPU tests may fail" >&2
  fi
else
  echo "    all present (libegl-dev libegl-mesa0 libgl1-mesa-dri libvulkan1 chromium)"
fi
took "$T"

# PyTorch interop (packages/models, apps/cli): Debian's torch, numpy and scipy run the official GMR-Conv modules
# from ../shared/reference/pytorch; the tests skip, saying why, where either is missing.
if ! /usr/bin/python3 -c 'import torch, numpy, scipy' >/dev/null 2>&1; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "    not root: cannot apt-get install python3-torch python3-numpy python3-scipy; PyTorch interop tests will skip" >&2
  else
    echo "    installing: python3-torch python3-numpy python3-scipy"
    { apt-get install -y -q --no-install-recommends python3-torch python3-numpy python3-scipy </dev/null ||
      { apt-get update -q && apt-get install -y -q --no-install-recommends python3-torch python3-numpy python3-scipy </dev/null; }; } ||
      echo "    apt-get install python3-torch failed; PyTorch interop tests will skip" >&2
  fi
fi
if [ -d "$ROOT/../shared/reference/pytorch/GMR_Conv" ]; then
  export GMR_PYTORCH_SRC=../shared/reference/pytorch # relative to the repository root (the tests resolve it there)
  echo "    GMR_PYTORCH_SRC=$GMR_PYTORCH_SRC"
fi

# ------------------------------------------------------------------------------------------------
# 2. pnpm
step "pnpm $PNPM_VERSION"
T=$(now)
if ! command -v pnpm >/dev/null 2>&1 || [ "$(pnpm --version 2>/dev/null)" != "$PNPM_VERSION" ]; then
  npm i -g "pnpm@$PNPM_VERSION" </dev/null || abort "npm i -g pnpm@$PNPM_VERSION failed"
  hash -r
fi
echo "    node $(node --version), pnpm $(pnpm --version)"
took "$T"

# ------------------------------------------------------------------------------------------------
# 3. install
step "pnpm install --frozen-lockfile"
T=$(now)
pnpm install --frozen-lockfile </dev/null || abort "pnpm install --frozen-lockfile failed"
took "$T"

# ------------------------------------------------------------------------------------------------
# 3b. lint: ESLint and Prettier (eslint.config.js, .prettierrc). The tests still run after a lint failure (their
# results matter as much), but the run fails: the failure is counted in the summary below.
step "pnpm lint"
T=$(now)
LINT_RC=0
pnpm lint </dev/null || LINT_RC=$?
[ "$LINT_RC" -eq 0 ] || echo "    pnpm lint failed (exit $LINT_RC): run \`pnpm lint\` for the list, \`pnpm format\` fixes the formatting"
took "$T"

# ------------------------------------------------------------------------------------------------
# 4. build
step "pnpm build"
T=$(now)
pnpm build </dev/null || abort "pnpm build failed"
took "$T"

# ------------------------------------------------------------------------------------------------
# 5. test
step "pnpm test"
T=$(now)
export GMR_REQUIRE_WEBGPU=1
export EGL_PLATFORM="${EGL_PLATFORM:-surfaceless}"
if [ -z "${VK_ICD_FILENAMES:-}" ] && [ -e /usr/lib/chromium/vk_swiftshader_icd.json ]; then
  export VK_ICD_FILENAMES=/usr/lib/chromium/vk_swiftshader_icd.json
fi
if [ -z "${XDG_RUNTIME_DIR:-}" ] || [ ! -d "${XDG_RUNTIME_DIR}" ]; then
  export XDG_RUNTIME_DIR="/tmp/xdg-runtime-$(id -u)"
  mkdir -p "$XDG_RUNTIME_DIR" && chmod 700 "$XDG_RUNTIME_DIR"
fi
echo "    GMR_REQUIRE_WEBGPU=$GMR_REQUIRE_WEBGPU EGL_PLATFORM=$EGL_PLATFORM VK_ICD_FILENAMES=${VK_ICD_FILENAMES:-} XDG_RUNTIME_DIR=$XDG_RUNTIME_DIR"

LOG=$(mktemp "${TMPDIR:-/tmp}/gmr-test-all.XXXXXX.log")
# --continue: every package's tests run even when one fails. --concurrency=2: two packages' suites at a time on
# a 2-core machine (more at once starve the timing-sensitive ones: child processes killed mid-save, browsers).
pnpm test --continue --concurrency=2 </dev/null 2>&1 | tee "$LOG"
TEST_RC=${PIPESTATUS[0]}
took "$T"

# ------------------------------------------------------------------------------------------------
# 6. consumer test: the packed packages npm-installed outside the workspace (scripts/consumer-test.sh); its
# "consumer: N passed, N failed" joins the totals below, and a run that prints none counts as one failure.
step "consumer test"
T=$(now)
# (captured, then printed: `tee /dev/stderr` would reopen a redirected log file and truncate it)
CONSUMER_OUT=$(bash scripts/consumer-test.sh </dev/null 2>&1)
echo "$CONSUMER_OUT"
CONSUMER=$(grep '^consumer: ' <<<"$CONSUMER_OUT" | tail -1)
read -r _ CONSUMER_PASSED _ CONSUMER_FAILED _ <<<"$(tr -d ',' <<<"${CONSUMER:-consumer: 0 passed, 1 failed}")"
took "$T"

# ------------------------------------------------------------------------------------------------
# summary: vitest's "Tests  N failed | N passed | N skipped (N)" lines, per turbo task prefix "<pkg>:test: "
SUMMARY=$(sed -e 's/\x1b\[[0-9;?]*[A-Za-z]//g' -e 's/\r//g' "$LOG" | awk '
  {
    line = $0
    pkg = ""
    if (match(line, /^[^ ]+:test: /)) { pkg = substr(line, 1, RLENGTH - 7); line = substr(line, RLENGTH + 1) }
    if (line ~ /^[ \t]*Tests[ \t]+[0-9]/) {
      n = split(line, f, /[ \t|()]+/)
      for (i = 1; i < n; i++) {
        if (f[i] ~ /^[0-9]+$/) {
          if (f[i + 1] == "passed") passed[pkg] += f[i]
          else if (f[i + 1] == "failed") failed[pkg] += f[i]
          else if (f[i + 1] == "skipped") skipped[pkg] += f[i]
          else if (f[i + 1] == "todo") skipped[pkg] += f[i]
        }
      }
      seen[pkg] = 1
    }
    # "Test Files  2 failed | 1 passed (3)": a file can fail with no failing test (import error, suite crash)
    if (line ~ /^[ \t]*Test Files[ \t]+[0-9]/) {
      n = split(line, f, /[ \t|()]+/)
      for (i = 1; i < n; i++) if (f[i] ~ /^[0-9]+$/ && f[i + 1] == "failed") filesfailed[pkg] += f[i]
      seen[pkg] = 1
    }
    # "Errors  1 error": unhandled errors make vitest fail even when every test passed
    if (line ~ /^[ \t]*Errors[ \t]+[0-9]+[ \t]+errors?/) {
      n = split(line, f, /[ \t|()]+/)
      for (i = 1; i < n; i++) if (f[i] ~ /^[0-9]+$/) { errors[pkg] += f[i]; break }
      seen[pkg] = 1
    }
    # turbo: " Failed:    @scope/a#test, @scope/b#test"
    if (line ~ /^[ \t]*Failed:[ \t]+/) {
      sub(/^[ \t]*Failed:[ \t]+/, "", line)
      m = split(line, t, /[ ,]+/)
      for (i = 1; i <= m; i++) if (t[i] ~ /#test$/) { p = t[i]; sub(/#test$/, "", p); failedtask[p] = 1 }
    }
  }
  END {
    P = 0; F = 0; S = 0
    for (k in seen) {
      extra = filesfailed[k] - failed[k]; if (extra < 0) extra = 0
      extra += errors[k]
      P += passed[k]; F += failed[k] + extra; S += skipped[k]
      printf "    %s: %d passed, %d failed, %d skipped", (k == "" ? "(unprefixed)" : k), passed[k], failed[k], skipped[k]
      if (extra > 0) printf " (+%d failed: test files that failed without a failing test, or unhandled errors)", extra
      printf "\n"
    }
    for (k in failedtask) {
      if (!(k in seen) || (failed[k] == 0 && filesfailed[k] == 0 && errors[k] == 0)) {
        F += 1
        printf "    %s: test task failed without a failing vitest test (crash, unhandled error or no summary)\n", k
      }
    }
    printf "TOTALS %d %d %d\n", P, F, S
  }')
echo
echo "==> summary"
echo "$SUMMARY" | grep -v '^TOTALS'
read -r _ PASSED FAILED SKIPPED <<<"$(echo "$SUMMARY" | grep '^TOTALS')"
PASSED=${PASSED:-0}
FAILED=${FAILED:-0}
SKIPPED=${SKIPPED:-0}
echo "    consumer test: $CONSUMER_PASSED passed, $CONSUMER_FAILED failed"
PASSED=$((PASSED + CONSUMER_PASSED))
FAILED=$((FAILED + CONSUMER_FAILED))
if [ "$LINT_RC" -ne 0 ]; then
  echo "    lint: failed (pnpm lint exited $LINT_RC)"
  FAILED=$((FAILED + 1))
fi

RC=0
if [ "$TEST_RC" -ne 0 ]; then
  echo "test-all: pnpm test exited $TEST_RC"
  RC=1
  # a failing turbo run that reported no failing test still counts as a failure
  [ "$FAILED" -eq 0 ] && FAILED=1
fi
if [ "$FAILED" -ne 0 ]; then RC=1; fi
if [ $((PASSED + FAILED)) -eq 0 ]; then
  echo "test-all: no vitest result found in the test output"
  RC=1
  FAILED=1
fi
rm -f "$LOG"
echo "test-all: total $(($(now) - T_ALL))s"
echo "$PASSED passed, $FAILED failed, $SKIPPED skipped"
exit "$RC"
