#!/usr/bin/env node
// Issue 17's fused pieces on and off, side by side on the CLI's CNNs (`gmr bench --json` on native, batch 32,
// 28×28×1, Adam, median of `runs` steps after 3): runs alternate between "before" (GMR_FUSED_OPTIMIZER=0: the
// optimiser as ~14 tfjs ops per variable; inference via model.predict with GMR_BENCH_NO_FOLD=1) and "after" (one
// NativeOptimizerUpdate call; inference with batch norm folded), `rounds` times, each in its own process, with the
// 1-minute load average printed per run; then the medians over rounds.
//   node bench/fused_step_ab.mjs [gmr-cnn|plain-cnn|both] [rounds=3] [runs=15] [threads=1]
import { loadavg } from 'node:os';
import { gmrBench, median } from './gmr_bench.mjs';

const which = process.argv[2] ?? 'both';
const rounds = Number(process.argv[3] ?? 3);
const runs = String(process.argv[4] ?? 15);
const threads = String(process.argv[5] ?? 1);
const widths = { 'gmr-cnn': '24,48,96', 'plain-cnn': '16,32,64' };
const sides = {
  before: { GMR_FUSED_OPTIMIZER: '0', GMR_BENCH_NO_FOLD: '1' },
  after: { GMR_FUSED_OPTIMIZER: '1', GMR_BENCH_NO_FOLD: '0' },
};

for (const m of which === 'both' ? Object.keys(widths) : [which]) {
  const got = { before: [], after: [] };
  for (let i = 0; i < rounds; i++) {
    for (const [side, extra] of Object.entries(sides)) {
      const load = loadavg()[0];
      const [o] = gmrBench([m], {
        widths: widths[m],
        runs,
        env: { ...process.env, ...extra, GMR_NATIVE_THREADS: threads },
      });
      got[side].push(o);
      console.log(
        `${m} round ${i + 1} ${side}: train ${o.trainStepMs.toFixed(1)} ms, inference ${o.inferenceMs.toFixed(1)} ms (load ${load.toFixed(2)})`,
      );
    }
  }
  const med = (side, k) => median(got[side].map((o) => o[k]));
  console.log(
    `${m}, ${threads} thread(s), medians over ${rounds} rounds: train ${med('before', 'trainStepMs').toFixed(1)} → ${med('after', 'trainStepMs').toFixed(1)} ms, ` +
      `inference ${med('before', 'inferenceMs').toFixed(1)} → ${med('after', 'inferenceMs').toFixed(1)} ms`,
  );
}
