#!/usr/bin/env node
// `pnpm bench <suite> [options]` at the root: `layer` (core), `resnet18` (models), `webgpu` (kernels-webgpu).
import { spawnSync } from 'node:child_process';
import { kernelsEnv } from './kernels-env.mjs';

const suites = { layer: '@gmr-conv/core', resnet18: '@gmr-conv/models', webgpu: '@gmr-conv/kernels-webgpu' };
const { args, env } = kernelsEnv(process.argv.slice(2));
const [suite = 'layer', ...rest] = args;
const pkg = suites[suite];
if (!pkg) {
  console.error(`bench: unknown suite '${suite}' (known: ${Object.keys(suites).join(', ')})`);
  process.exit(2);
}
const r = spawnSync('pnpm', ['--filter', pkg, 'run', '--silent', 'bench', suite, ...rest], { stdio: 'inherit', env });
process.exit(r.status ?? 1);
