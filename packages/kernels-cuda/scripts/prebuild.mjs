#!/usr/bin/env node
/**
 * Makes the prebuilt binary that the npm tarball carries (run by `prepack`, so `pnpm pack` / `pnpm publish` always
 * ship a fresh one): the host addon built with --portable (libstdc++ and libgcc linked in, so it needs only glibc),
 * copied to prebuilds/<platform>-<arch>/node.napi.<libc>.node — the prebuildify naming (`--napi --tag-libc`) that
 * node-gyp-build looks up at run time. N-API (NAPI_VERSION 8), so the one file serves every Node from 18 on.
 * Then it loads the file in a fresh Node and prints the newest glibc symbol version it needs.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const tmp = path.join(root, 'build', 'prebuild');

// node-gyp-build's own tags: libc is musl on Alpine, else glibc (only Linux is tagged).
const libc = process.platform === 'linux' ? (existsSync('/etc/alpine-release') ? 'musl' : 'glibc') : '';
const tuple = `${process.platform}-${process.arch}`;
const name = ['node', 'napi', libc, 'node'].filter(Boolean).join('.');

const build = spawnSync(
  process.execPath,
  [path.join(root, 'scripts', 'build-native.mjs'), '--portable', '--out', tmp],
  { stdio: 'inherit' },
);
if (build.status !== 0) {
  console.error('kernels-cuda prebuild: the portable host build failed (see above); no prebuilt binary');
  process.exit(1);
}

// One binary per platform folder: an old one (another name) would otherwise be picked up too.
const dir = path.join(root, 'prebuilds', tuple);
rmSync(dir, { recursive: true, force: true });
mkdirSync(dir, { recursive: true });
const dest = path.join(dir, name);
copyFileSync(path.join(tmp, 'gmr_host.node'), dest);

const probe = spawnSync(
  process.execPath,
  ['-e', `console.log(JSON.stringify(require(${JSON.stringify(dest)}).info()))`],
  { encoding: 'utf8' },
);
if (probe.status !== 0) {
  console.error(
    `kernels-cuda prebuild: ${path.relative(root, dest)} does not load: ${probe.stderr.trim().split('\n')[0]}`,
  );
  process.exit(1);
}

// The versioned symbols it needs from shared libraries (objdump comes with the compiler's binutils).
let needs = 'objdump not found: versions not checked';
const dump = spawnSync('objdump', ['-p', dest], { encoding: 'utf8' });
if (dump.status === 0) {
  const versions = [...dump.stdout.matchAll(/\b(GLIBC|GLIBCXX|CXXABI|GCC)_([0-9.]+)/g)];
  const byLib = new Map();
  for (const [, lib, v] of versions) {
    const prev = byLib.get(lib);
    if (!prev || v.localeCompare(prev, undefined, { numeric: true }) > 0) byLib.set(lib, v);
  }
  needs = [...byLib].map(([lib, v]) => `${lib} ${v}`).join(', ') || 'no versioned symbols';
}
console.log(`kernels-cuda prebuild: ${path.relative(root, dest)} (${probe.stdout.trim()}); needs ${needs}`);
console.log(`kernels-cuda prebuild: prebuilds/ holds ${readdirSync(path.join(root, 'prebuilds')).join(', ')}`);
