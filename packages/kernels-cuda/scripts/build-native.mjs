#!/usr/bin/env node
/**
 * Builds the addon with the system compilers and Node's own headers (no node-gyp, no download):
 *   build/gmr_host.node   always: g++ (or $CXX), C++17, threads; AVX2 paths chosen at run time
 *   build/gmr_cuda.node   with --cuda or GMR_BUILD_CUDA=1: nvcc (sm_90 + PTX, static cudart) + the same host code
 * A missing nvcc is reported and skipped (exit 0) unless GMR_REQUIRE_CUDA=1. Re-running rebuilds only what changed.
 * --out DIR puts the .node files in DIR instead of build/; --portable links libstdc++ and libgcc statically (and
 * keeps their symbols private), so the binary needs only glibc: that is how scripts/prebuild.mjs makes the
 * prebuilt binary shipped in the npm tarball.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const src = path.join(root, 'native');
const args = process.argv.slice(2);
const outArg = args.indexOf('--out');
const out = outArg >= 0 && args[outArg + 1] ? path.resolve(args[outArg + 1]) : path.join(root, 'build');
const obj = path.join(root, 'build', 'obj');
mkdirSync(obj, { recursive: true });
mkdirSync(out, { recursive: true });
const portable = args.includes('--portable') ? ['-static-libstdc++', '-static-libgcc', '-Wl,--exclude-libs,ALL'] : [];
const wantCuda = args.includes('--cuda') || process.env.GMR_BUILD_CUDA === '1';
const cxx = process.env.CXX || 'g++';

function nodeInclude() {
  const candidates = [
    process.env.GMR_NODE_INCLUDE,
    path.resolve(path.dirname(process.execPath), '..', 'include', 'node'),
    process.config?.variables?.node_prefix && path.join(process.config.variables.node_prefix, 'include', 'node'),
  ].filter(Boolean);
  for (const c of candidates) if (existsSync(path.join(c, 'node_api.h'))) return c;
  throw new Error(
    `Node's headers (node_api.h) not found in ${candidates.join(', ')}; set GMR_NODE_INCLUDE to the folder holding them`,
  );
}

const headers = readdirSync(src)
  .filter((f) => f.endsWith('.h'))
  .map((f) => path.join(src, f));
const newest = (files) => Math.max(...files.map((f) => statSync(f).mtimeMs));
const stale = (target, deps) => !existsSync(target) || statSync(target).mtimeMs < newest(deps);

function run(cmd, argv) {
  return new Promise((resolve, reject) => {
    const p = spawn(cmd, argv, { stdio: 'inherit' });
    p.on('error', (e) => reject(new Error(`${cmd}: ${e.message}`)));
    p.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`${cmd} exited with ${code}`))));
  });
}

const inc = nodeInclude();
const common = [
  '-std=c++17',
  '-O3',
  '-fPIC',
  '-fvisibility=hidden',
  '-pthread',
  `-I${inc}`,
  `-I${src}`,
  '-DNAPI_VERSION=8',
  '-Wall',
  '-Wno-unused-function',
];
const hostSources = [
  'addon.cc',
  'host_ops.cc',
  'sgemm_host.cc',
  'thread_pool.cc',
  'conv_host.cc',
  'field_ops.cc',
  'optimizer_update.cc',
  'steerable_ops.cc',
  'loss_ops.cc',
  'depthwise_ops.cc',
];

async function compileAll(variant, defines) {
  const objects = [];
  const jobs = [];
  for (const f of hostSources) {
    const o = path.join(obj, `${variant}_${f.replace(/\.cc$/, '.o')}`);
    objects.push(o);
    if (stale(o, [path.join(src, f), ...headers])) {
      jobs.push(
        run(cxx, [...common, ...defines, `-DNODE_GYP_MODULE_NAME=gmr_${variant}`, '-c', path.join(src, f), '-o', o]),
      );
    }
  }
  await Promise.all(jobs);
  return objects;
}

async function buildHost() {
  const t0 = Date.now();
  const objects = await compileAll('host', []);
  const target = path.join(out, 'gmr_host.node');
  if (stale(target, objects)) await run(cxx, ['-shared', '-pthread', ...portable, '-o', target, ...objects]);
  console.log(`kernels-cuda: host addon ${path.relative(root, target)} (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
}

function findNvcc() {
  const candidates = [
    process.env.NVCC,
    process.env.CUDA_HOME && path.join(process.env.CUDA_HOME, 'bin', 'nvcc'),
    '/usr/local/cuda/bin/nvcc',
  ].filter(Boolean);
  for (const c of candidates) if (existsSync(c)) return c;
  const w = spawnSync('sh', ['-c', 'command -v nvcc'], { encoding: 'utf8' });
  return w.status === 0 && w.stdout.trim() ? w.stdout.trim() : null;
}

async function buildCuda() {
  const nvcc = findNvcc();
  if (!nvcc) {
    const msg = 'kernels-cuda: nvcc not found (set NVCC or CUDA_HOME): CUDA build skipped, the host build is used';
    if (process.env.GMR_REQUIRE_CUDA === '1') throw new Error(msg);
    console.log(msg);
    return;
  }
  const t0 = Date.now();
  const cu = path.join(src, 'cuda_ops.cu');
  const cuObj = path.join(obj, 'cuda_ops.o');
  if (stale(cuObj, [cu, ...headers])) {
    await run(nvcc, [
      '-std=c++17',
      '-O3',
      '-Xcompiler',
      '-fPIC,-fvisibility=hidden',
      `-I${src}`,
      '-gencode',
      'arch=compute_90,code=sm_90',
      '-gencode',
      'arch=compute_90,code=compute_90',
      '-c',
      cu,
      '-o',
      cuObj,
    ]);
  }
  const objects = await compileAll('cuda', ['-DGMR_CUDA']);
  const target = path.join(out, 'gmr_cuda.node');
  // nvcc links (it knows where its static cudart is, even behind a wrapper script on the path).
  if (stale(target, [...objects, cuObj])) {
    await run(nvcc, [
      '-shared',
      '-cudart',
      'static',
      '-Xcompiler',
      '-pthread',
      '-o',
      target,
      ...objects,
      cuObj,
      '-ldl',
      '-lrt',
    ]);
  }
  console.log(
    `kernels-cuda: CUDA addon ${path.relative(root, target)} with ${nvcc} (${((Date.now() - t0) / 1000).toFixed(1)} s)`,
  );
}

try {
  await buildHost();
  if (wantCuda) await buildCuda();
} catch (e) {
  console.error(`kernels-cuda: native build failed: ${e.message}`);
  process.exit(1);
}
