#!/usr/bin/env node
// The CLI's CNNs on 'native' side by side with the same networks in PyTorch (bench/pytorch_cnn.py; the GMR one from
// the official GMR_Conv2d): `gmr bench --json` and the PyTorch script alternate, `rounds` times each, every run a
// median of `runs` steps; prints each run with the 1-minute load average before it, then the ratios ours / PyTorch
// of the medians over rounds. PyTorch: /usr/bin/python3 (Debian's python3-torch) or $GMR_PYTHON; the official modules
// from $GMR_PYTORCH_SRC, default ../shared/reference/pytorch next to the repository.
// Threads: 2 each (GMR_NATIVE_THREADS and torch.set_num_threads), or `threads`; on a loaded machine PyTorch's
// OpenMP threads spin-wait for each other and lose several times over, so 1 thread each is the fairer comparison there.
//   node bench/cnn_vs_pytorch.mjs [gmr-cnn|plain-cnn|both] [rounds=2] [runs=15] [threads=2]
import { spawnSync } from 'node:child_process';
import { loadavg } from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { gmrBench, median, repo } from './gmr_bench.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const which = process.argv[2] ?? 'both';
const rounds = Number(process.argv[3] ?? 2);
const runs = String(process.argv[4] ?? 15);
const threads = String(process.argv[5] ?? 2);
const widths = { 'gmr-cnn': '24,48,96', 'plain-cnn': '16,32,64' };
const models = which === 'both' ? Object.keys(widths) : [which];
const python = process.env.GMR_PYTHON ?? '/usr/bin/python3';
const env = {
  ...process.env,
  GMR_NATIVE_THREADS: threads,
  GMR_PYTORCH_SRC: process.env.GMR_PYTORCH_SRC ?? path.resolve(repo, '..', 'shared', 'reference', 'pytorch'),
};

function run(cmd, args) {
  const r = spawnSync(cmd, args, { env, encoding: 'utf8', maxBuffer: 1 << 24 });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed: ${r.stderr.slice(-2000)}`);
  return JSON.parse(r.stdout.trim().split('\n').pop());
}

for (const m of models) {
  const ours = [],
    torch = [];
  for (let i = 0; i < rounds; i++) {
    const l1 = loadavg()[0];
    const [o] = gmrBench([m], { widths: widths[m], runs, env });
    const l2 = loadavg()[0];
    const t = run(python, [
      path.join(here, 'pytorch_cnn.py'),
      '--model',
      m,
      '--widths',
      widths[m],
      '--runs',
      runs,
      '--warmup',
      '3',
      '--threads',
      threads,
    ]);
    ours.push(o);
    torch.push(t);
    const cpu = (r) => `CPU ${r.trainStepCpuMs.toFixed(1)} / ${r.inferenceCpuMs.toFixed(1)} ms`;
    console.log(
      `${m} round ${i + 1}: native train ${o.trainStepMs.toFixed(1)} ms, inference ${o.inferenceMs.toFixed(1)} ms, ${cpu(o)} (load ${l1.toFixed(2)}) | PyTorch ${t.torch} train ${t.trainStepMs.toFixed(1)} ms, inference ${t.inferenceMs.toFixed(1)} ms, ${cpu(t)} (load ${l2.toFixed(2)})`,
    );
  }
  const r = (k) => median(ours.map((o) => o[k])) / median(torch.map((t) => t[k]));
  console.log(
    `${m}, ${threads} thread(s): ours / PyTorch = ${r('trainStepMs').toFixed(2)}× training step, ${r('inferenceMs').toFixed(2)}× inference (medians over ${rounds} rounds of ${runs} runs)`,
  );
  // Process CPU time: at one thread each the work done, much less moved by other jobs than wall time.
  console.log(
    `${m}, ${threads} thread(s), CPU time: ours / PyTorch = ${r('trainStepCpuMs').toFixed(2)}× training step, ${r('inferenceCpuMs').toFixed(2)}× inference`,
  );
}
