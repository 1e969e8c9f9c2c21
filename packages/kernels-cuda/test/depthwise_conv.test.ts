/**
 * DepthwiseConv2dNative on native (native/depthwise_ops.cc) against tfjs's cpu kernel: 'same' and 'valid' padding,
 * strides, dilations (forward only: tfjs's gradient takes none), channel multipliers, explicit padding, the steerable
 * CNN's input blur; the kernel ran; gradients (tfjs's cpu kernels) still flow through it; no leaked tensors.
 */
import { describe, expect, it } from 'vitest';
import { DepthwiseConv2dNative } from '@tensorflow/tfjs-core';
import { gmrSteerableCNN } from '@gmr-conv/models';
import { kernelCallCounts, resetKernelCallCounts } from '../src/index.js';
import { on, rand, relErr, tf } from './helpers.js';
import { expectNoLeaks } from './leak_check.js';

type Pad = 'same' | 'valid' | [[number, number], [number, number], [number, number], [number, number]];

function depthwise(
  x: number[],
  k: number[],
  strides: [number, number],
  pad: Pad,
  dilations: [number, number],
): () => tf.Tensor[] {
  return () => {
    const xs = tf.tensor4d(
      rand(
        x.reduce((p, q) => p * q, 1),
        11,
      ),
      x as [number, number, number, number],
    );
    const w = tf.tensor4d(
      rand(
        k.reduce((p, q) => p * q, 1),
        12,
      ),
      k as [number, number, number, number],
    );
    const y = tf.depthwiseConv2d(xs, w, strides, pad, 'NHWC', dilations);
    // tfjs's gradient takes no dilation
    if (dilations[0] > 1 || dilations[1] > 1) return [y];
    const dx = tf.grad((t: tf.Tensor4D) => tf.sum(tf.depthwiseConv2d(t, w, strides, pad, 'NHWC', dilations)))(xs);
    return [y, dx];
  };
}

describe('DepthwiseConv2dNative on native', () => {
  const cases: [string, number[], number[], [number, number], Pad, [number, number]][] = [
    ['5×5 same, one channel (the input blur)', [4, 28, 28, 1], [5, 5, 1, 1], [1, 1], 'same', [1, 1]],
    ['3×3 valid, 6 channels', [2, 9, 8, 6], [3, 3, 6, 1], [1, 1], 'valid', [1, 1]],
    ['stride 2, channel multiplier 3', [2, 11, 10, 4], [3, 3, 4, 3], [2, 2], 'same', [1, 1]],
    ['dilation 2', [1, 12, 12, 5], [3, 3, 5, 2], [1, 1], 'same', [2, 2]],
    [
      'explicit padding',
      [2, 7, 6, 3],
      [4, 2, 3, 1],
      [1, 2],
      [
        [0, 0],
        [2, 1],
        [0, 3],
        [0, 0],
      ],
      [1, 1],
    ],
  ];
  for (const [what, x, k, strides, pad, dilations] of cases) {
    it(`${what}: y and dx match tfjs's cpu kernel`, async () => {
      const ref = await on('cpu', depthwise(x, k, strides, pad, dilations));
      resetKernelCallCounts();
      const got = await on('native', depthwise(x, k, strides, pad, dilations));
      expect(kernelCallCounts()[DepthwiseConv2dNative], 'the native kernel ran').toBeGreaterThanOrEqual(1);
      expect(relErr(got[0]!, ref[0]!), 'y').toBeLessThan(1e-5);
      if (ref[1]) expect(relErr(got[1]!, ref[1]), 'dx').toBeLessThan(1e-5);
    });
  }

  it("the steerable CNN with an input blur gives the cpu backend's logits", async () => {
    // the model's own initial weights, made once (on cpu) and given to both backends' models
    let weights: { values: Float32Array; shape: number[] }[] | null = null;
    const logits = () => {
      const m = gmrSteerableCNN({
        inputBlur: 0.8,
        fields: [
          [2, 2, 2],
          [4, 2, 2],
          [4, 2, 2],
        ],
      });
      weights ??= m.getWeights().map((w) => ({ values: w.dataSync() as Float32Array, shape: w.shape }));
      m.setWeights(weights.map((w) => tf.tensor(w.values, w.shape)));
      const y = m.predict(tf.tensor4d(rand(2 * 28 * 28, 31), [2, 28, 28, 1])) as tf.Tensor;
      m.dispose();
      return y;
    };
    const ref = await on('cpu', logits);
    resetKernelCallCounts();
    const got = await on('native', logits);
    expect(kernelCallCounts()[DepthwiseConv2dNative]).toBe(1);
    expect(relErr(got[0]!, ref[0]!)).toBeLessThan(1e-4);
  });

  it('leaks no tensors', async () => {
    await tf.setBackend('native');
    const x = tf.randomNormal([2, 8, 8, 3]);
    const w = tf.randomNormal([3, 3, 3, 2]);
    expectNoLeaks(() => tf.depthwiseConv2d(x, w, 1, 'same').dispose(), 3);
    tf.dispose([x, w]);
  });
});
