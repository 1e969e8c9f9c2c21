#!/usr/bin/env node
// Two builds of this package side by side on the CLI's CNNs (GMR-CNN 24/48/96, plain CNN 16/32/64; batch 32,
// 28×28×1, Adam, median of 15 steps after 3): runs alternate between the builds, `rounds` times, each in its own
// process, with the 1-minute load average printed per run. A build is a dist/index.js (its addon next to it in
// build/); e.g. an older commit unpacked with `git archive <rev> packages/kernels-cuda | tar -x -C <dir>`, its
// node_modules linked to this package's, then built (node scripts/build-native.mjs; npx tsc -p tsconfig.build.json).
//   node bench/compare_builds.mjs <before/dist/index.js> <after/dist/index.js> [rounds=2]
import { spawnSync } from 'node:child_process';
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';

const self = fileURLToPath(import.meta.url);

if (process.argv[2] === '--child') {
  const [, , , dist, kind] = process.argv;
  const tf = await import('@tensorflow/tfjs');
  await import(dist);
  const { gmrCNN, plainCNN } = await import('@gmr-conv/models');
  await tf.setBackend('native');
  const model = kind === 'gmr-cnn' ? gmrCNN({ widths: [24, 48, 96] }) : plainCNN({ widths: [16, 32, 64] });
  const opt = tf.train.adam(1e-3);
  const x = tf.randomUniform([32, 28, 28, 1], 0, 1, 'float32', 1);
  const y = tf.oneHot(
    tf.tensor1d(
      Array.from({ length: 32 }, (_, i) => i % 10),
      'int32',
    ),
    10,
  );
  const train = [],
    infer = [];
  for (let i = 0; i < 18; i++) {
    const t0 = performance.now();
    const loss = opt.minimize(() => tf.losses.softmaxCrossEntropy(y, model.apply(x, { training: true })), true);
    await loss.data();
    loss.dispose();
    const t1 = performance.now();
    const out = model.predict(x);
    await out.data();
    out.dispose();
    if (i >= 3) {
      train.push(t1 - t0);
      infer.push(performance.now() - t1);
    }
  }
  const median = (v) => v.sort((a, b) => a - b)[v.length >> 1];
  console.log(JSON.stringify({ trainStepMs: median(train), inferenceMs: median(infer) }));
  process.exit(0);
}

const [before, after] = process.argv.slice(2, 4);
const rounds = Number(process.argv[4] ?? 2);
if (!before || !after) {
  console.error('usage: node bench/compare_builds.mjs <before/dist/index.js> <after/dist/index.js> [rounds]');
  process.exit(2);
}
for (const kind of ['plain-cnn', 'gmr-cnn'])
  for (let r = 1; r <= rounds; r++)
    for (const [name, dist] of [
      ['before', before],
      ['after', after],
    ]) {
      const load = loadavg()[0];
      const p = spawnSync(process.execPath, [self, '--child', dist, kind], { encoding: 'utf8' });
      if (p.status !== 0) throw new Error(`${name} ${kind}: ${p.stderr.slice(-1500)}`);
      const m = JSON.parse(p.stdout.trim().split('\n').pop());
      console.log(
        `${kind} round ${r} ${name.padEnd(6)} train ${m.trainStepMs.toFixed(1)} ms, inference ${m.inferenceMs.toFixed(1)} ms (load ${load.toFixed(2)})`,
      );
    }
