#!/usr/bin/env node
// Issue 17's fused steerable kernels on and off, side by side: `gmr bench --model gmr-steerable gmr-cnn --json` on native
// (batch 32, 28×28×1, Adam, median of `runs` steps after 3), alternating "before" (GMR_FUSED_STEERABLE=0: the
// steerable conv on 'dense' through Conv2D, the gate as split/sigmoid/multiply/concat) and "after" (the fused
// steerable conv and gate), `rounds` times, each in its own process, with the 1-minute load average per run; then
// the medians over rounds. The GMR-CNN runs in the same processes as the yardstick the steerable network is held to.
//   node bench/steerable_ab.mjs [rounds=3] [runs=15]
import { spawnSync } from 'node:child_process';
import { loadavg } from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const gmr = path.resolve(here, '..', '..', '..', 'apps', 'cli', 'bin', 'gmr.js');
const rounds = Number(process.argv[2] ?? 3);
const runs = String(process.argv[3] ?? 15);
const sides = { before: { GMR_FUSED_STEERABLE: '0' }, after: { GMR_FUSED_STEERABLE: '1' } };
const median = (v) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)];
const got = { before: [], after: [] };
for (let i = 0; i < rounds; i++) {
  for (const [side, extra] of Object.entries(sides)) {
    const load = loadavg()[0];
    const args = [
      gmr,
      'bench',
      '--model',
      'gmr-steerable',
      'gmr-cnn',
      '--batch-size',
      '32',
      '--runs',
      runs,
      '--warmup',
      '3',
      '--backend',
      'native',
      '--json',
    ];
    const r = spawnSync(process.execPath, args, {
      env: { ...process.env, ...extra },
      encoding: 'utf8',
      maxBuffer: 1 << 24,
    });
    if (r.status !== 0) throw new Error(`gmr bench failed: ${r.stderr.slice(-2000)}`);
    const [s, c] = JSON.parse(r.stdout.trim().split('\n').pop()).results;
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
