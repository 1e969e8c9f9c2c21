#!/usr/bin/env node
// Issue 17's fused steerable kernels on and off, side by side: `gmr bench --model gmr-steerable gmr-cnn --json` on native
// (batch 32, 28×28×1, Adam, median of `runs` steps after 3), alternating "before" (GMR_FUSED_STEERABLE=0: the
// steerable conv on 'dense' through Conv2D, the gate as split/sigmoid/multiply/concat) and "after" (the fused
// steerable conv and gate), `rounds` times, each in its own process, with the 1-minute load average per run; then
// the medians over rounds. The GMR-CNN runs in the same processes as the yardstick the steerable network is held to.
//   node bench/steerable_ab.mjs [rounds=3] [runs=15]
import { loadavg } from 'node:os';
import { gmrBench, median } from './gmr_bench.mjs';

const rounds = Number(process.argv[2] ?? 3);
const runs = String(process.argv[3] ?? 15);
const sides = { before: { GMR_FUSED_STEERABLE: '0' }, after: { GMR_FUSED_STEERABLE: '1' } };
const got = { before: [], after: [] };
for (let i = 0; i < rounds; i++) {
  for (const [side, extra] of Object.entries(sides)) {
    const load = loadavg()[0];
    const [s, c] = gmrBench(['gmr-steerable', 'gmr-cnn'], { runs, env: { ...process.env, ...extra } });
    got[side].push({ s, c });
    console.log(
      `round ${i + 1} ${side}: steerable train ${s.trainStepMs.toFixed(1)} ms, inference ${s.inferenceMs.toFixed(1)} ms; gmr-cnn train ${c.trainStepMs.toFixed(1)} ms, inference ${c.inferenceMs.toFixed(1)} ms (load ${load.toFixed(2)})`,
    );
  }
}
const med = (side, m, k) => median(got[side].map((o) => o[m][k])).toFixed(1);
console.log(
  `medians over ${rounds} rounds: steerable train ${med('before', 's', 'trainStepMs')} → ${med('after', 's', 'trainStepMs')} ms, inference ${med('before', 's', 'inferenceMs')} → ${med('after', 's', 'inferenceMs')} ms`,
);
console.log(
  `  gmr-cnn in the same runs: train ${med('before', 'c', 'trainStepMs')} / ${med('after', 'c', 'trainStepMs')} ms, inference ${med('before', 'c', 'inferenceMs')} / ${med('after', 'c', 'inferenceMs')} ms`,
);
