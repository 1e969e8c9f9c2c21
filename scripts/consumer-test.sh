#!/usr/bin/env bash
# The consumer test: the packages as a user gets them from npm, outside the workspace.
#   1. `pnpm pack` every public workspace package (no "private": true; prepack makes kernels-cuda's prebuilt binary)
#   2. `npm install` the tarballs with @tensorflow/tfjs@4.22.0 (and the optional peers webgpu and
#      tfjs-backend-webgpu, typescript and @types/node) into a fresh project in a temporary folder
#   3. scripts/consumer/consumer.mjs there (public exports only): the native backend registers, a GMR-CNN trains,
#      a model saves and loads through @gmr-conv/core/node, kernels-webgpu runs on a Dawn adapter
#   4. `tsc --noEmit` on scripts/consumer/types.ts there; `gmr --help` from the CLI's bin
#   5. kernels-cuda without its prebuilt binary: `npm rebuild` compiles from source where g++ is, and with no
#      compiler says so in one line, at install and in nativeStatus()
# Needs `pnpm build` first and the npm registry (nothing else from the network). Run after the unit tests by
# scripts/test-all.sh (with its WebGPU environment); by hand: bash scripts/consumer-test.sh [--keep]
# Prints PASS/FAIL per check and ends with "consumer: N passed, N failed"; exits non-zero on any failure.
set -uo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.." || exit 1
ROOT=$PWD
WORK=$(mktemp -d "${TMPDIR:-/tmp}/gmr-consumer.XXXXXX")
[ "${1:-}" = "--keep" ] && echo "consumer: keeping $WORK" || trap 'rm -rf "$WORK"' EXIT
APP=$WORK/app
mkdir -p "$WORK/tarballs" "$APP"

PASSED=0
FAILED=0
pass() { PASSED=$((PASSED + 1)); echo "PASS $*"; }
fail() { FAILED=$((FAILED + 1)); echo "FAIL $*"; }
finish() {
  echo "consumer: $PASSED passed, $FAILED failed"
  [ "$FAILED" -eq 0 ]
  exit
}

# 1. pack
T=$(date +%s)
PUBLIC=$(node -e '
  const fs = require("fs"), path = require("path");
  for (const top of ["packages", "apps"]) for (const d of fs.readdirSync(top).sort()) {
    const f = path.join(top, d, "package.json");
    if (fs.existsSync(f) && JSON.parse(fs.readFileSync(f, "utf8")).private !== true) console.log(path.join(top, d));
  }')
for dir in $PUBLIC; do
  if ! (cd "$dir" && pnpm pack --pack-destination "$WORK/tarballs" >"$WORK/pack.log" 2>&1); then
    cat "$WORK/pack.log"
    fail "pnpm pack $dir"
  fi
done
TARBALLS=("$WORK"/tarballs/*.tgz)
[ "$FAILED" -eq 0 ] || finish
pass "pack: $(cd "$WORK/tarballs" && ls | tr '\n' ' ')($(($(date +%s) - T)) s)"
# (the listing in a variable: `tar | grep -q` fails under pipefail when grep stops reading early)
PREBUILT=$(tar -tzf "$WORK"/tarballs/gmr-conv-kernels-cuda-*.tgz | grep '^package/prebuilds/linux-x64/.*\.node$')
if [ -n "$PREBUILT" ]; then
  pass "kernels-cuda tarball carries ${PREBUILT#package/}"
else
  fail "kernels-cuda tarball has no prebuilds/linux-x64/*.node"
fi

# 2. install into a fresh project outside the workspace
T=$(date +%s)
cd "$APP" || exit 1
printf '{ "name": "gmr-consumer", "private": true, "type": "module" }\n' >package.json
cp "$ROOT/scripts/consumer/consumer.mjs" "$ROOT/scripts/consumer/types.ts" .
printf '{ "compilerOptions": { "target": "ES2022", "module": "NodeNext", "moduleResolution": "NodeNext", "strict": true, "noEmit": true, "skipLibCheck": false, "types": ["node"] }, "files": ["types.ts"] }\n' >tsconfig.json
if npm install --no-audit --no-fund --foreground-scripts --loglevel=error "${TARBALLS[@]}" \
  @tensorflow/tfjs@4.22.0 @tensorflow/tfjs-backend-webgpu@4.22.0 webgpu@0.6.2 typescript@5.9.3 @types/node@20.9.5 \
  </dev/null >"$WORK/install.log" 2>&1; then
  pass "npm install of the tarballs and @tensorflow/tfjs@4.22.0 ($(($(date +%s) - T)) s); $(grep '^@gmr-conv/kernels-cuda:' "$WORK/install.log" | tail -1)"
else
  tail -30 "$WORK/install.log"
  fail "npm install"
  finish
fi

# 3. the public-exports script
T=$(date +%s)
node consumer.mjs 2>&1 | tee "$WORK/consumer.log" | grep -E '^(PASS|FAIL) '
read -r _ P _ F _ <<<"$(grep '^consumer: ' "$WORK/consumer.log" | tr -d ',')"
if [ -z "${P:-}" ]; then
  tail -20 "$WORK/consumer.log"
  fail "consumer.mjs did not finish"
else
  PASSED=$((PASSED + P))
  FAILED=$((FAILED + F))
  echo "    (consumer.mjs $(($(date +%s) - T)) s)"
fi

# 4. types and the CLI's bin
# skipLibCheck is off so that our own .d.ts files are checked too (an import in them that does not resolve would
# otherwise become a silent `any`); errors inside other packages' .d.ts (tfjs 4.22 and @types/node under this
# TypeScript have some of their own) are left out.
TSC=$(npx --no-install tsc -p tsconfig.json 2>&1)
OURS=$(grep -E '^(types\.ts|node_modules/@gmr-conv/)' <<<"$TSC")
if [ -z "$OURS" ] && grep -qE '^(node_modules/[^ ]*\.d\.ts\(|$)' <<<"$TSC"; then
  pass "tsc --noEmit types.ts: the public .d.ts through exports ($(grep -c 'error TS' <<<"$TSC") errors inside other packages' .d.ts left out)"
else
  echo "$TSC" | grep -E '^(types\.ts|node_modules/@gmr-conv/|error)' | head -20
  fail "tsc --noEmit types.ts"
fi
if HELP=$(npx --no-install gmr --help 2>&1) && grep -q 'train' <<<"$HELP"; then pass "gmr --help (the CLI's bin)"; else
  echo "$HELP" | tail -5
  fail "gmr --help"
fi

# 4b. each README's first TypeScript example, as written, in this fresh project: compiled with tsc, then run with
# Node where it is Node code (core, models, kernels-cuda); kernels-webgpu's is browser code (navigator.gpu), so it is
# only type-checked. datasets' first example trains a `model` it does not define and the CLI's is a shell session
# in the workspace: neither is checked here.
RUN_README="core models kernels-cuda"
TYPECHECK_README="kernels-webgpu"
mkdir -p readme
for name in $RUN_README $TYPECHECK_README; do
  node -e '
    const md = require("fs").readFileSync(process.argv[1], "utf8");
    const m = /```ts\n([\s\S]*?)```/.exec(md);
    if (!m) process.exit(1);
    process.stdout.write(m[1] + "export {};\n");' "$ROOT/packages/$name/README.md" >"readme/$name.ts" || fail "README of $name has no \`\`\`ts example"
done
printf '{ "compilerOptions": { "target": "ES2022", "module": "NodeNext", "moduleResolution": "NodeNext", "strict": true, "skipLibCheck": true, "outDir": "readme-out", "types": ["node"] }, "include": ["readme/*.ts"] }\n' >tsconfig.readme.json
RTSC=$(npx --no-install tsc -p tsconfig.readme.json 2>&1)
for name in $RUN_README $TYPECHECK_README; do
  [ -f "readme/$name.ts" ] || continue
  ERR=$(grep "^readme/$name\.ts" <<<"$RTSC")
  if [ -n "$ERR" ]; then
    echo "$ERR" | head -5
    fail "packages/$name/README.md first example: does not compile"
  elif [[ " $TYPECHECK_README " == *" $name "* ]]; then
    pass "packages/$name/README.md first example type-checks (browser code: not run in Node)"
  else
    T=$(date +%s)
    if OUT=$(cd readme && timeout 300 node "../readme-out/$name.js" 2>&1); then
      pass "packages/$name/README.md first example runs as written ($(($(date +%s) - T)) s)"
    else
      echo "$OUT" | tail -5
      fail "packages/$name/README.md first example: exits with an error"
    fi
  fi
done

# 5. kernels-cuda without the prebuilt binary: a source build, then no compiler at all
KC=node_modules/@gmr-conv/kernels-cuda
STATUS='import("@gmr-conv/kernels-cuda").then((m) => console.log(JSON.stringify(m.nativeStatus().native)))'
mv "$KC/prebuilds" "$WORK/prebuilds.away"
T=$(date +%s)
npm rebuild @gmr-conv/kernels-cuda --foreground-scripts </dev/null >"$WORK/rebuild.log" 2>&1
LINE=$(grep '^@gmr-conv/kernels-cuda:' "$WORK/rebuild.log" | tail -1)
S=$(node -e "$STATUS" 2>&1)
if grep -q 'built from source' <<<"$LINE" && grep -q '"ok":true' <<<"$S" && grep -q 'built from source' <<<"$S"; then
  pass "no prebuilt binary, g++ here: built from source at install ($(($(date +%s) - T)) s); nativeStatus $S"
elif ! command -v "${CXX:-g++}" >/dev/null 2>&1; then
  echo "    (skipped the source-build check: no ${CXX:-g++} here)"
else
  tail -5 "$WORK/rebuild.log"
  fail "source build at install: install said '$LINE', nativeStatus $S"
fi
rm -rf "$KC/build"
CXX=no-such-compiler npm rebuild @gmr-conv/kernels-cuda --foreground-scripts </dev/null >"$WORK/rebuild.log" 2>&1
LINE=$(grep '^@gmr-conv/kernels-cuda:' "$WORK/rebuild.log" | tail -1)
S=$(node -e "$STATUS" 2>&1)
if grep -q 'no-such-compiler' <<<"$LINE" && grep -q '"ok":false' <<<"$S" && grep -q 'no-such-compiler' <<<"$S"; then
  pass "no prebuilt binary, no compiler: one line at install and in nativeStatus: $LINE"
else
  tail -5 "$WORK/rebuild.log"
  fail "no-compiler message: install said '$LINE', nativeStatus $S"
fi
mv "$WORK/prebuilds.away" "$KC/prebuilds"

finish
