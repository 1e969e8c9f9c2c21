#!/usr/bin/env node
// Kernel time profile on the 'native' backend (self time per kernel name, ms per step):
//   node scripts/profile.mjs layer|resnet18|resnet18-inference [steps]
// Needs `pnpm build` (this package's dist and core's/models' dist).
import * as tf from '@tensorflow/tfjs';
import '../dist/index.js';
import { gmrConv2d, initialLogSigmas } from '@gmr-conv/core';

const what = process.argv[2] ?? 'layer';
const steps = Number(process.argv[3] ?? 3);
await tf.setBackend(process.env.PROFILE_BACKEND ?? 'native');

const self = new Map();
const stack = [];
for (const k of tf.getKernelsForBackend(tf.getBackend())) {
  const f = k.kernelFunc;
  tf.unregisterKernel(k.kernelName, k.backendName);
  tf.registerKernel({
    ...k,
    kernelFunc: (args) => {
      const t0 = performance.now();
      stack.push(0);
      try {
        return f(args);
      } finally {
        const dt = performance.now() - t0;
        const inner = stack.pop();
        self.set(k.kernelName, (self.get(k.kernelName) ?? 0) + dt - inner);
        if (stack.length) stack[stack.length - 1] += dt;
      }
    },
  });
}

let step;
if (what === 'layer') {
  const x = tf.randomNormal([8, 32, 32, 64], 0, 1, 'float32', 1);
  const w = tf.randomNormal([64, 64, 5], 0, 0.05, 'float32', 2);
  const ls = tf.tensor1d(initialLogSigmas(9, 5));
  const b = tf.zeros([64]);
  step = async () => {
    const g = tf.tidy(() =>
      tf.grads((...a) =>
        tf.sum(gmrConv2d(a[0], { weight: a[1], logSigmas: a[2], bias: a[3] }, { kernelSize: 9, padding: 'same' })),
      )([x, w, ls, b]),
    );
    await Promise.all(g.map((t) => t.data()));
    tf.dispose(g);
  };
} else {
  const { gmrResNet18 } = await import('@gmr-conv/models');
  const model = gmrResNet18({ numClasses: 10, gmrConvSize: [9, 9, 5, 5], inputSize: [32, 32] });
  const opt = tf.train.momentum(0.1, 0.9);
  const x = tf.randomNormal([32, 32, 32, 3], 0, 1, 'float32', 1);
  const y = tf.oneHot(
    tf.tensor1d(
      Array.from({ length: 32 }, (_, i) => i % 10),
      'int32',
    ),
    10,
  );
  step =
    what === 'resnet18-inference'
      ? async () => {
          const out = model.predict(x);
          await out.data();
          out.dispose();
        }
      : async () => {
          const loss = opt.minimize(() => tf.losses.softmaxCrossEntropy(y, model.apply(x, { training: true })), true);
          await loss.data();
          loss.dispose();
        };
}
await step();
self.clear();
const t0 = performance.now();
const c0 = process.cpuUsage();
for (let i = 0; i < steps; i++) await step();
const total = (performance.now() - t0) / steps;
const cpu = process.cpuUsage(c0);
const cpuMs = (cpu.user + cpu.system) / 1000 / steps;
const rows = [...self.entries()].map(([k, v]) => [k, v / steps]).sort((a, b) => b[1] - a[1]);
const inKernels = rows.reduce((s, r) => s + r[1], 0);
console.log(
  `${what}: ${total.toFixed(1)} ms per step (${cpuMs.toFixed(0)} ms of CPU time, all threads), ${inKernels.toFixed(1)} ms in kernels`,
);
for (const [k, v] of rows.slice(0, 25)) console.log(`${k.padEnd(32)} ${v.toFixed(1).padStart(8)}`);
