#!/usr/bin/env node
// `pnpm oracle [files or folders] [--backend NAME]` at the root: core checks the layer, 45° and
// reference-behaviour files, models checks the whole-model files; one line per file, then the combined
// `N passed, N failed`. Exits non-zero on any failure.
import { spawnSync } from 'node:child_process';
import { kernelsEnv } from './kernels-env.mjs';

const { args, env } = kernelsEnv(process.argv.slice(2));
let passed = 0;
let failed = 0;
for (const pkg of ['@gmr-conv/core', '@gmr-conv/models']) {
  const r = spawnSync('pnpm', ['--filter', pkg, 'run', '--silent', 'oracle', ...args], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
    env,
  });
  const lines = (r.stdout ?? '').split('\n').filter((l) => l.trim() !== '');
  const summary = lines.length ? /^(\d+) passed, (\d+) failed$/.exec(lines[lines.length - 1]) : null;
  // Leave out the core oracle's SKIP lines for model files and tfjs's 'install tfjs-node' banner.
  const noise = /^SKIP .*kind 'model'|Hi, looks like you are running TensorFlow.js in Node|^=+$/;
  for (const l of summary ? lines.slice(0, -1) : lines) if (!noise.test(l)) console.log(l);
  if (!summary) {
    console.log(`${pkg}: the oracle did not finish (exit ${r.status})`);
    failed += 1;
    continue;
  }
  passed += Number(summary[1]);
  failed += Number(summary[2]);
}
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed > 0 ? 1 : 0);
