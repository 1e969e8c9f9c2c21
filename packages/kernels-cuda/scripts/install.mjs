#!/usr/bin/env node
/**
 * npm `install` script: makes sure the 'native' backend has a binary, in node-gyp-build's order of preference.
 *   1. GMR_BUILD_CUDA=1 (opt-in), or --build-from-source / npm_config_build_from_source=true: compile from source
 *      (scripts/build-native.mjs; with CUDA when asked).
 *   2. A prebuilt binary from prebuilds/ that fits this platform, arch and libc, and loads: nothing to build.
 *   3. Else compile the host build from source, when a C++ compiler and Node's headers are here.
 *   4. Else one line saying what is missing. The install still succeeds (the package's other backends and core
 *      work without it), and nativeStatus() repeats the line, read from build/install-status.json.
 * In the workspace (not under node_modules) it does nothing: `pnpm build` compiles the addon there.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const PREFIX = '@gmr-conv/kernels-cuda:';

if (!root.split(path.sep).includes('node_modules')) {
  console.log(`${PREFIX} workspace checkout: the addon is built by \`pnpm build\`, not at install`);
  process.exit(0);
}

const wantCuda = process.env.GMR_BUILD_CUDA === '1';
const fromSource = wantCuda || process.env.npm_config_build_from_source === 'true';

/** Records the outcome for nativeStatus(), then prints it. */
function finish(ok, line) {
  mkdirSync(path.join(root, 'build'), { recursive: true });
  writeFileSync(path.join(root, 'build', 'install-status.json'), JSON.stringify({ ok, line }) + '\n');
  console.log(`${PREFIX} ${line}`);
  process.exit(0);
}

/** The prebuilt binary node-gyp-build picks for this Node, if one fits and loads in a fresh process. */
function loadablePrebuild() {
  let file;
  try {
    file = createRequire(import.meta.url)('node-gyp-build').resolve(root);
  } catch (e) {
    return { file: null, why: `no prebuilt binary for ${target()} (prebuilds/ has ${shipped()})` };
  }
  const probe = spawnSync(
    process.execPath,
    ['-e', `console.log(JSON.stringify(require(${JSON.stringify(file)}).info()))`],
    { encoding: 'utf8' },
  );
  if (probe.status !== 0)
    return {
      file: null,
      why: `the prebuilt ${path.relative(root, file)} does not load here (${probe.stderr.trim().split('\n').pop()})`,
    };
  return { file, info: JSON.parse(probe.stdout) };
}

function target() {
  const libc = process.platform === 'linux' ? (existsSync('/etc/alpine-release') ? ' musl' : ' glibc') : '';
  return `${process.platform}-${process.arch}${libc}`;
}

function shipped() {
  const dir = path.join(root, 'prebuilds');
  return (existsSync(dir) ? readdirSync(dir) : []).join(', ') || 'none';
}

/** What a source build lacks here (compiler, Node's headers), or null when it can run. */
function sourceBuildMissing() {
  const missing = [];
  const cxx = process.env.CXX || 'g++';
  if (spawnSync('sh', ['-c', `command -v ${JSON.stringify(cxx)}`]).status !== 0)
    missing.push(`C++17 compiler (${cxx} not found; set CXX, or install g++)`);
  const heads = [
    process.env.GMR_NODE_INCLUDE,
    path.resolve(path.dirname(process.execPath), '..', 'include', 'node'),
  ].filter(Boolean);
  if (!heads.some((h) => existsSync(path.join(h, 'node_api.h'))))
    missing.push(`Node headers (no node_api.h in ${heads.join(' or ')}; set GMR_NODE_INCLUDE)`);
  return missing.length ? missing.join(' and ') : null;
}

function buildFromSource() {
  const argv = [path.join(root, 'scripts', 'build-native.mjs'), ...(wantCuda ? ['--cuda'] : [])];
  return spawnSync(process.execPath, argv, { cwd: root, stdio: 'inherit' }).status === 0;
}

const rebuild = 'npm rebuild @gmr-conv/kernels-cuda';
if (fromSource) {
  const missing = sourceBuildMissing();
  if (!missing && buildFromSource())
    finish(true, `built from source${wantCuda ? ' (CUDA requested: see the lines above)' : ''}`);
  const pre = loadablePrebuild();
  const why = missing ? `cannot build from source: no ${missing}` : 'the source build failed (see above)';
  if (pre.file) finish(true, `${why}; using the prebuilt ${path.relative(root, pre.file)} (host build, no CUDA)`);
  finish(false, `no native backend: ${why}, and ${pre.why}`);
}

const pre = loadablePrebuild();
if (pre.file) finish(true, `prebuilt ${path.relative(root, pre.file)} (${pre.info.simd}, ${pre.info.threads} threads)`);
const missing = sourceBuildMissing();
if (missing) finish(false, `no native backend: ${pre.why}, and no ${missing} to build one; then run \`${rebuild}\``);
if (buildFromSource()) finish(true, `${pre.why}: built from source`);
finish(false, `no native backend: ${pre.why}, and the source build failed (see above); fix it and run \`${rebuild}\``);
