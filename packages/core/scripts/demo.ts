/**
 * `pnpm demo`: builds a GMR layer, runs it and prints its equivariance errors
 * (90° rotations and flips: exact, ≈ float32 rounding; 45°: small, from grid
 * resampling) next to those of a plain convolution with the same shape.
 */
import { Command } from 'commander';
import * as tfl from '@tensorflow/tfjs-layers';
import { initBackend, disposeBackends, tf } from '@gmr-conv/test-utils/backends';
import {
  GMRConv2D,
  layerEquivarianceErrorAsync,
  checkExactEquivariance,
  type EquivarianceTransform,
} from '../src/index.js';

const program = new Command()
  .name('demo')
  .description('Build a GMR-Conv layer and print its 90° / flip / 45° equivariance errors')
  .option('--backend <name>', 'cpu, wasm or webgpu', 'wasm')
  .option('--kernel <k>', 'kernel size', '9')
  .option('--size <n>', 'input height and width', '33')
  .parse(process.argv);
const opts = program.opts<{ backend: string; kernel: string; size: string }>();
const k = Number(opts.kernel);
const size = Number(opts.size);
for (const [name, v] of [
  ['--kernel', k],
  ['--size', size],
] as const) {
  if (!Number.isInteger(v) || v < 1) {
    console.error(
      `demo: ${name} must be a positive integer, got ${JSON.stringify(name === '--kernel' ? opts.kernel : opts.size)}`,
    );
    process.exit(2);
  }
}

const status = await initBackend(opts.backend as never);
if (!status.ok) {
  console.error(`demo: backend '${opts.backend}' is not available here: ${status.detail}`);
  process.exit(2);
}
console.log(`backend: ${tf.getBackend()} (${status.detail})`);

// A smooth input with a radial taper (the oracle's recipe), so that rotating it loses nothing at the corners.
const x = tf.tidy(() => {
  const noise = tf.randomNormal([1, size, size, 3], 0, 1, 'float32', 7);
  const blur = tf.div(tf.ones([5, 5, 3, 1]), 25);
  const smooth = tf.depthwiseConv2d(noise as tf.Tensor4D, blur as tf.Tensor4D, 1, 'same');
  const c = (size - 1) / 2;
  const taper = tf.tensor4d(
    Array.from({ length: size * size }, (_, i) => {
      const r = Math.hypot(Math.floor(i / size) - c, (i % size) - c);
      const r0 = 0.55 * c;
      const r1 = 0.8 * c;
      return r <= r0 ? 1 : r >= r1 ? 0 : 0.5 * (1 + Math.cos((Math.PI * (r - r0)) / (r1 - r0)));
    }),
    [1, size, size, 1],
  );
  return tf.mul(smooth, taper);
});

const gmr = new GMRConv2D({ filters: 8, kernelSize: k, padding: 'same' });
// Give every ring its own σ, as after training.
gmr.build([null, size, size, 3]);
const w = gmr.getWeights();
gmr.setWeights([w[0], tf.add(w[1], tf.randomUniform(w[1].shape, -0.35, 0.35, 'float32', 3)), w[2]]);
const plain = tfl.layers.conv2d({ filters: 8, kernelSize: k, padding: 'same' });

const t0 = performance.now();
const y = gmr.apply(x) as tf.Tensor;
await y.data();
console.log(
  `GMRConv2D(3→8, kernelSize ${k}, ${gmr.numRings} rings, padding 'same') on [1, ${size}, ${size}, 3]: output [${y.shape}] in ${(performance.now() - t0).toFixed(1)} ms`,
);
const report = checkExactEquivariance([{ type: 'gmrConv', kernelSize: k, strides: 1, padding: 'same' }], [size, size]);
console.log(
  `exactly D4-equivariant at this size: ${report.exact ? 'yes' : 'no'}${report.reasons.length ? ` (${report.reasons.join('; ')})` : ''}`,
);

const transforms: Array<[string, EquivarianceTransform]> = [
  ['rot90', 'rot90'],
  ['rot180', 'rot180'],
  ['flipH', 'flipH'],
  ['transpose', 'transpose'],
  ['45°', 45],
  ['30°', 30],
];
console.log(
  '\ntransform   GMR rel_l2    plain conv rel_l2   (‖f(g·x) − g·f(x)‖ / ‖g·f(x)‖; angles on the inscribed disk)',
);
for (const [name, t] of transforms) {
  const eg = await layerEquivarianceErrorAsync((a) => gmr.apply(a) as tf.Tensor, x, t);
  const ep = await layerEquivarianceErrorAsync((a) => plain.apply(a) as tf.Tensor, x, t);
  console.log(
    `${name.padEnd(10)}  ${eg.relL2.toExponential(2).padStart(10)}    ${ep.relL2.toExponential(2).padStart(10)}`,
  );
}
disposeBackends();
