// What the benchmark scripts beside this file share: the median, and one `gmr bench --json` run on native (batch 32,
// 3 warm-up steps, median of `runs`) in its own process with extra environment, returning its `results`.
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
export const repo = path.resolve(here, '..', '..', '..');
const gmr = path.join(repo, 'apps', 'cli', 'bin', 'gmr.js');

export const median = (v) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)];

/** `gmr bench --model <models…> [--widths w] --batch-size 32 --runs <runs> --warmup 3 --backend native --json`. */
export function gmrBench(models, { widths, runs, env }) {
  const args = [gmr, 'bench', '--model', ...models];
  if (widths) args.push('--widths', widths);
  args.push('--batch-size', '32', '--runs', String(runs), '--warmup', '3', '--backend', 'native', '--json');
  const r = spawnSync(process.execPath, args, { env, encoding: 'utf8', maxBuffer: 1 << 24 });
  if (r.status !== 0) throw new Error(`gmr bench failed: ${r.stderr.slice(-2000)}`);
  return JSON.parse(r.stdout.trim().split('\n').pop()).results;
}
