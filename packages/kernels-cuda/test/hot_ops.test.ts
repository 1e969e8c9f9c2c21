/** The native versions of the hot ops (and their gradients) against the tfjs cpu backend, and their fallbacks. */
import { describe, expect, it } from 'vitest';
import { kernelCallCounts, resetKernelCallCounts, NATIVE_KERNELS } from '../src/index.js';
import { on, rand, relErr, tf } from './helpers.js';

const t = (shape: number[], seed: number) =>
  tf.tensor(
    rand(
      shape.reduce((p, q) => p * q, 1),
      seed,
    ),
    shape,
  );

interface OpCase {
  name: string;
  /** Kernels that must have run natively. */
  native: string[];
  f: () => tf.Tensor | tf.Tensor[];
  tol?: number;
}

const grads = (f: (...a: tf.Tensor[]) => tf.Tensor, xs: tf.Tensor[]) => {
  const y = f(...xs);
  const r = t(y.shape, 99);
  return [y, ...tf.grads((...a: tf.Tensor[]) => tf.sum(tf.mul(f(...a), r)))(xs)];
};

const cases: OpCase[] = [
  {
    name: 'matMul',
    native: ['BatchMatMul'],
    f: () => grads((a, b) => tf.matMul(a, b), [t([37, 19], 1), t([19, 23], 2)]),
  },
  {
    name: 'matMul transposed',
    native: ['BatchMatMul'],
    f: () => tf.matMul(t([19, 37], 1), t([23, 19], 2), true, true),
  },
  {
    name: 'batched matMul, broadcast b',
    native: ['BatchMatMul'],
    f: () => tf.matMul(t([3, 2, 7, 5], 1), t([5, 6], 2)),
  },
  {
    name: 'skinny matMuls (few columns, tiny result)',
    native: ['BatchMatMul'],
    f: () => [
      tf.matMul(t([500, 4], 1), t([4, 3], 2)),
      tf.matMul(t([2000, 3], 3), t([2000, 3], 4), true, false),
      tf.matMul(t([300, 5], 5), t([3, 5], 6), false, true),
    ],
  },
  { name: 'batched matMul', native: ['BatchMatMul'], f: () => tf.matMul(t([4, 7, 5], 1), t([4, 5, 6], 2)) },
  {
    name: 'fused matMul bias relu',
    native: ['_FusedMatMul'],
    f: () => tf.fused.matMul({ a: t([9, 8], 1), b: t([8, 5], 2), bias: t([5], 3), activation: 'relu' }),
  },
  {
    name: 'conv2d 1×1',
    native: ['Conv2D', 'Conv2DBackpropInput', 'Conv2DBackpropFilter'],
    f: () =>
      grads(
        (x, w) => tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, 1, 'valid'),
        [t([2, 5, 6, 7], 1), t([1, 1, 7, 4], 2)],
      ),
  },
  {
    name: 'conv2d 1×1 stride 2',
    native: ['Conv2D', 'Conv2DBackpropInput', 'Conv2DBackpropFilter'],
    f: () =>
      grads(
        (x, w) => tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, 2, 'valid'),
        [t([2, 7, 6, 3], 1), t([1, 1, 3, 4], 2)],
      ),
  },
  {
    name: 'conv2d 3×3 same',
    native: ['Conv2D', 'Conv2DBackpropInput', 'Conv2DBackpropFilter'],
    f: () =>
      grads(
        (x, w) => tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, 1, 'same'),
        [t([2, 7, 6, 3], 1), t([3, 3, 3, 5], 2)],
      ),
  },
  {
    name: 'conv2d 3×3 stride 2 same',
    native: ['Conv2D', 'Conv2DBackpropInput', 'Conv2DBackpropFilter'],
    f: () =>
      grads(
        (x, w) => tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, 2, 'same'),
        [t([2, 9, 8, 3], 1), t([3, 3, 3, 4], 2)],
      ),
  },
  // The implicit-GEMM paths: the gathered input gradient (Cin ≥ 8: a GEMM; Cin < 8: dot products; one channel at
  // stride 1: vectorised along the row), several k-blocks (K > 256), N not a multiple of 16, strides, explicit pads.
  {
    name: 'conv2d 9×9 same, 1 → 16 channels (a first layer)',
    native: ['Conv2D', 'Conv2DBackpropInput', 'Conv2DBackpropFilter'],
    f: () =>
      grads(
        (x, w) => tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, 1, 'same'),
        [t([3, 11, 10, 1], 1), t([9, 9, 1, 16], 2)],
      ),
    tol: 2e-5,
  },
  {
    name: 'conv2d few input channels: 5×5 same 3 → 8, 3×3 stride 2 1 → 4',
    native: ['Conv2D', 'Conv2DBackpropInput', 'Conv2DBackpropFilter'],
    f: () => [
      ...grads(
        (x, w) => tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, 1, 'same'),
        [t([3, 8, 7, 3], 1), t([5, 5, 3, 8], 2)],
      ),
      ...grads(
        (x, w) => tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, 2, 'same'),
        [t([2, 9, 8, 1], 3), t([3, 3, 1, 4], 4)],
      ),
    ],
  },
  {
    name: 'conv2d 5×5 stride 2, explicit pads, 12 → 20',
    native: ['Conv2D', 'Conv2DBackpropInput', 'Conv2DBackpropFilter'],
    f: () =>
      grads(
        (x, w) =>
          tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, 2, [
            [0, 0],
            [1, 2],
            [2, 1],
            [0, 0],
          ]),
        [t([2, 13, 12, 12], 1), t([5, 5, 12, 20], 2)],
      ),
    tol: 2e-5,
  },
  {
    name: 'conv2d 5×5 same, 40 → 24 (K = 1000: several k-blocks)',
    native: ['Conv2D', 'Conv2DBackpropInput', 'Conv2DBackpropFilter'],
    f: () =>
      grads(
        (x, w) => tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, 1, 'same'),
        [t([1, 6, 5, 40], 1), t([5, 5, 40, 24], 2)],
      ),
    tol: 2e-5,
  },
  {
    name: 'conv2d 3×3 valid, one image, 3 → 5 and 16 → 8',
    native: ['Conv2D', 'Conv2DBackpropInput', 'Conv2DBackpropFilter'],
    f: () => [
      ...grads(
        (x, w) => tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, 1, 'valid'),
        [t([1, 7, 9, 3], 1), t([3, 3, 3, 5], 2)],
      ),
      ...grads(
        (x, w) => tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, [1, 2], 'same'),
        [t([1, 8, 9, 16], 3), t([3, 3, 16, 8], 4)],
      ),
    ],
  },
  {
    name: 'fused conv2d 5×5 bias relu, 8 → 30',
    native: ['FusedConv2D'],
    f: () =>
      tf.fused.conv2d({
        x: t([2, 9, 9, 8], 1) as tf.Tensor4D,
        filter: t([5, 5, 8, 30], 2) as tf.Tensor4D,
        strides: 1,
        pad: 'same',
        bias: t([30], 3),
        activation: 'relu',
      }),
  },
  {
    name: 'conv2d 5×3 dilated valid',
    native: ['Conv2D'],
    f: () =>
      tf.conv2d(t([1, 12, 10, 2], 1) as tf.Tensor4D, t([5, 3, 2, 3], 2) as tf.Tensor4D, 1, 'valid', 'NHWC', [2, 2]),
  },
  {
    name: 'fused conv2d bias relu',
    native: ['FusedConv2D'],
    f: () =>
      tf.fused.conv2d({
        x: t([2, 6, 6, 3], 1) as tf.Tensor4D,
        filter: t([3, 3, 3, 4], 2) as tf.Tensor4D,
        strides: 1,
        pad: 'same',
        bias: t([4], 3),
        activation: 'relu',
      }),
  },
  {
    name: 'relu and its gradient',
    native: ['Relu', 'NativeReluGrad'],
    f: () => grads((x) => tf.relu(x), [t([3, 5, 7], 1)]),
  },
  {
    name: 'add / sub / mul / div broadcast',
    native: ['Add', 'Sub', 'Multiply', 'RealDiv'],
    f: () =>
      grads(
        (a, b) => tf.div(tf.mul(tf.sub(tf.add(a, b), b), a), tf.add(tf.abs(b), 1)),
        [t([2, 3, 4, 5], 1), t([1, 3, 1, 5], 2)],
      ),
  },
  {
    name: 'scalar and row broadcasts',
    native: ['Add', 'Sub', 'Multiply'],
    f: () => [tf.add(tf.scalar(3), t([4, 6], 1)), tf.sub(t([4, 6], 1), t([6], 2)), tf.mul(t([4, 1], 3), t([1, 6], 4))],
  },
  {
    name: 'squared difference',
    native: ['SquaredDifference'],
    f: () => tf.squaredDifference(t([4, 3, 6], 1), t([6], 2)),
  },
  {
    name: 'square and its gradient',
    native: ['Square', 'Multiply'],
    f: () => grads((x) => tf.square(x), [t([5, 7], 1)]),
  },
  { name: 'addN', native: ['AddN'], f: () => tf.addN([t([3, 4], 1), t([3, 4], 2), t([3, 4], 3)]) },
  {
    name: 'sum / mean over axes',
    native: ['Sum', 'Mean'],
    f: () => [
      tf.sum(t([4, 5, 6, 7], 1), [0, 1, 2]),
      tf.mean(t([4, 5, 6, 7], 2), [1, 2], true),
      tf.sum(t([4, 5, 6], 3), -1),
      tf.mean(t([300, 7], 4)),
    ],
  },
  { name: 'sum over non-adjacent axes falls back', native: [], f: () => tf.sum(t([4, 5, 6], 1), [0, 2]) },
  { name: 'tile', native: ['Tile'], f: () => [tf.tile(t([2, 3, 4], 1), [3, 1, 2]), tf.tile(t([5], 2), [4])] },
  {
    name: 'transpose',
    native: ['Transpose'],
    f: () => [tf.transpose(t([2, 3, 4, 5], 1), [0, 3, 1, 2]), tf.transpose(t([6, 7], 2))],
  },
  {
    name: 'avgPool 2×2 and gradient',
    native: ['AvgPool', 'AvgPoolGrad'],
    f: () => grads((x) => tf.avgPool(x as tf.Tensor4D, 2, 2, 'valid'), [t([2, 8, 6, 3], 1)]),
  },
  {
    name: 'avgPool 3×3 s2 same and gradient',
    native: ['AvgPool', 'AvgPoolGrad'],
    f: () => grads((x) => tf.avgPool(x as tf.Tensor4D, 3, 2, 'same'), [t([2, 7, 8, 3], 1)]),
  },
  {
    // Whole 2×2 windows vectorised over 24 channels (16 + a tail); the last input row and column in no window
    name: 'avgPool 2×2 valid on an odd size, 24 channels, and gradient',
    native: ['AvgPool', 'AvgPoolGrad'],
    f: () => grads((x) => tf.avgPool(x as tf.Tensor4D, 2, 2, 'valid'), [t([2, 7, 9, 24], 1)]),
  },
  {
    // Partial windows at the bottom and right edges; the gradient's tiled form with padding after the input
    name: 'avgPool 2×2 s2 same on an odd size and gradient',
    native: ['AvgPool', 'AvgPoolGrad'],
    f: () => grads((x) => tf.avgPool(x as tf.Tensor4D, 2, 2, 'same'), [t([3, 7, 5, 17], 1)]),
  },
  {
    // Windows that tile the input with padding before it (padTop = padLeft = 1)
    name: 'avgPool 3×3 s3 same and gradient',
    native: ['AvgPool', 'AvgPoolGrad'],
    f: () => grads((x) => tf.avgPool(x as tf.Tensor4D, 3, 3, 'same'), [t([2, 7, 8, 5], 1)]),
  },
  {
    name: 'batch norm and its gradient',
    native: ['FusedBatchNorm'],
    f: () =>
      grads(
        (x, m, v, o, s) => tf.batchNorm(x, m, tf.abs(v), o, s, 1e-3),
        [t([2, 3, 4, 5], 1), t([5], 2), t([5], 3), t([5], 4), t([5], 5)],
      ),
  },
  {
    // tf.moments + tf.batchNorm as tfjs-layers trains: the native FusedBatchNorm gradient and Mean's broadcast gradient
    name: 'training batch norm (moments, scale and offset) and its gradients',
    native: ['FusedBatchNorm', 'NativeBatchNormGrad', 'Mean', 'Tile'],
    f: () =>
      grads(
        (x, o, s) => {
          const { mean, variance } = tf.moments(x, [0, 1, 2]);
          return tf.batchNorm(x, mean, variance, o, s, 1e-3);
        },
        [t([3, 5, 4, 6], 1), t([6], 2), t([6], 3)],
      ),
    tol: 2e-5,
  },
  {
    name: 'batch norm of a 2-D input and its gradient',
    native: ['NativeBatchNormGrad'],
    f: () =>
      grads(
        (x, m, v, o, s) => tf.batchNorm(x, m, tf.add(tf.abs(v), 0.5), o, s),
        [t([7, 5], 1), t([5], 2), t([5], 3), t([5], 4), t([5], 5)],
      ),
  },
  {
    name: 'mean over all axes and its gradient',
    native: ['Mean', 'Tile'],
    f: () => grads((x) => tf.mean(tf.square(x), [1, 2], true), [t([2, 3, 4, 5], 1)]),
  },
  {
    name: 'slice of the channel axis and its gradient (Pad)',
    native: ['Slice', 'PadV2'],
    f: () => grads((x) => tf.slice(x, [0, 1, 0, 3], [-1, 4, -1, 5]), [t([3, 6, 5, 11], 1)]),
  },
  {
    name: 'slices: leading axis, whole, scalar-like, 1-D, negative size',
    native: ['Slice'],
    f: () => [
      tf.slice(t([6, 4, 3], 1), [2], [3]),
      tf.slice(t([2, 3], 2), [0, 0], [2, 3]),
      tf.slice(t([2, 3, 4], 3), [1, 2, 3], [1, 1, 1]),
      tf.slice(t([9], 4), 3, 4),
      tf.slice(t([3, 4, 5], 5), [1, 1, 1], [-1, -1, 2]),
    ],
  },
  {
    name: 'concat on channels and its gradient (SplitV)',
    native: ['Concat', 'SplitV'],
    f: () => grads((a, b) => tf.concat([a, b, a], 3), [t([2, 4, 3, 5], 1), t([2, 4, 3, 2], 2)]),
  },
  {
    name: 'sigmoid and its gradient (large and small inputs)',
    native: ['Sigmoid'],
    f: () => [tf.sigmoid(tf.mul(t([4, 9, 3], 7), 30)), ...grads((x) => tf.sigmoid(x), [t([5, 6], 8)])],
  },
  {
    name: 'concat on the leading and a middle axis, an empty part; sqrt and its gradient',
    native: ['Concat', 'Sqrt'],
    f: () => [
      tf.concat([t([2, 3], 1), t([4, 3], 2)], 0),
      tf.concat([t([2, 3, 4], 3), t([2, 0, 4], 4), t([2, 5, 4], 5)], 1),
      ...grads((x) => tf.sqrt(tf.add(tf.square(x), 0.1)), [t([3, 7, 5], 6)]),
    ],
  },
  {
    name: 'pad with a constant, every axis',
    native: ['PadV2'],
    f: () => [
      tf.pad(
        t([2, 3, 4], 1),
        [
          [1, 0],
          [0, 2],
          [3, 1],
        ],
        0.5,
      ),
      tf.pad(t([5], 2), [[2, 3]]),
    ],
  },
  {
    name: 'split into sizes on an inner axis',
    native: ['SplitV'],
    f: () => [...tf.split(t([2, 5, 9], 1), [2, 3, 4], 2), ...tf.split(t([6, 4], 2), 3, 0)],
  },
  {
    name: 'softmax cross-entropy and its gradient',
    native: [],
    f: () =>
      grads((l) => tf.losses.softmaxCrossEntropy(tf.oneHot(tf.tensor1d([1, 0, 3], 'int32'), 4), l), [t([3, 4], 1)]),
  },
];

describe('native hot ops vs cpu', () => {
  it('lists its native kernels', () => {
    expect(NATIVE_KERNELS).toContain('GMRConv2D');
    expect(NATIVE_KERNELS).toContain('BatchMatMul');
    expect(NATIVE_KERNELS).toContain('FusedBatchNorm');
  });

  for (const c of cases) {
    it(c.name, async () => {
      const ref = await on('cpu', c.f);
      resetKernelCallCounts();
      const got = await on('native', c.f);
      const counts = kernelCallCounts();
      for (const k of c.native) expect(counts[k] ?? 0, `${k} ran natively`).toBeGreaterThan(0);
      expect(got.length).toBe(ref.length);
      for (let i = 0; i < ref.length; i++) expect(relErr(got[i]!, ref[i]!), `output ${i}`).toBeLessThan(c.tol ?? 1e-5);
    });
  }

  it("relu's gradient at NaN, zero and an infinite dy is tfjs's dy · step(x), value for value", async () => {
    const f = () =>
      tf.grads((x: tf.Tensor, d: tf.Tensor) => tf.sum(tf.mul(tf.relu(x), d)))([
        tf.tensor1d([NaN, -1, 0, 2, -3, 4]),
        tf.tensor1d([1, 2, 3, 4, Infinity, Infinity]),
      ])[0]!;
    const ref = await on('cpu', f);
    resetKernelCallCounts();
    const got = await on('native', f);
    expect(kernelCallCounts()['NativeReluGrad']).toBe(1);
    expect(Array.from(got[0]!)).toEqual(Array.from(ref[0]!));
    expect(Array.from(got[0]!)).toEqual([NaN, 0, 0, 4, NaN, Infinity]);
  });

  it('an int32 slice uses the cpu kernel', async () => {
    resetKernelCallCounts();
    const got = await on('native', () => tf.slice(tf.tensor2d([1, 2, 3, 4, 5, 6], [2, 3], 'int32'), [0, 1], [2, 2]));
    expect(Array.from(got[0]!)).toEqual([2, 3, 5, 6]);
    expect(kernelCallCounts()['Slice:fallback']).toBe(1);
  });

  it('int32 inputs use the cpu kernels', async () => {
    const f = () => tf.add(tf.tensor1d([1, 2, 3], 'int32'), tf.tensor1d([4, 5, 6], 'int32'));
    resetKernelCallCounts();
    const got = await on('native', f);
    expect(Array.from(got[0]!)).toEqual([5, 7, 9]);
    expect(kernelCallCounts()['Add:fallback']).toBe(1);
  });
});
