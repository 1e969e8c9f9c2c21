/**
 * core's FusedBatchNormalization on native (its training batch through the GMRFieldBatchNorm kernels) against
 * tfjs-layers' own BatchNormalization on cpu: output, the gradients for x, γ and β, and the moving statistics, for
 * rank 2, 3 and 4 inputs; no leaked tensors. (tfjs-layers' own training code, which the layer runs where the kernels
 * are not registered, fails for another axis than the last or without γ or β; those calls fail the same way.)
 */
import { describe, expect, it } from 'vitest';
import * as tfl from '@tensorflow/tfjs-layers';
import { FusedBatchNormalization } from '@gmr-conv/core';
import { FIELD_BATCH_NORM, FIELD_BATCH_NORM_GRAD } from '@gmr-conv/core/kernel';
import { kernelCallCounts, resetKernelCallCounts } from '../src/index.js';
import { on, rand, relErr, tf } from './helpers.js';
import { expectNoLeaks } from './leak_check.js';

type Args = NonNullable<Parameters<typeof tfl.layers.batchNormalization>[0]>;

/** y, dx, the parameter gradients and the moving statistics after one training call of the layer `make` builds. */
function trainingStep(make: () => tfl.layers.Layer, shape: number[]) {
  return () => {
    const layer = make();
    layer.build(shape);
    const size = shape.reduce((p, q) => p * q, 1);
    const channels = shape[shape.length - 1]!;
    // γ in [0.5, 1.5), β in [-1, 1); data with a mean and unequal scales per channel
    layer.setWeights(
      layer.weights.map((w, i) => {
        const n = w.shape.reduce((p, q) => p! * q!, 1)!;
        const v = rand(n, 70 + i);
        return tf.tensor(
          /gamma/.test(w.originalName)
            ? v.map((e) => 1 + e / 2)
            : /moving/.test(w.originalName)
              ? v.map((e) => 1.2 + e / 4)
              : v,
          w.shape as number[],
        );
      }),
    );
    const scales = tf.tensor1d(Array.from({ length: channels }, (_, i) => 0.5 + (i % 3)));
    const x = tf.add(tf.mul(tf.tensor(rand(size, 71), shape), scales), 0.3);
    const r = tf.tensor(rand(size, 72), shape);
    const vars = layer.trainableWeights.map((w) => (w as unknown as { val: tf.Variable }).val);
    const apply = (t: tf.Tensor) => layer.apply(t, { training: true }) as tf.Tensor;
    const y = apply(x);
    const { grads } = tf.variableGrads(() => tf.sum(tf.mul(apply(x), r)) as tf.Scalar, vars);
    const dx = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(apply(t), r)))(x);
    const moving = layer.nonTrainableWeights.map((w) => (w as unknown as { val: tf.Variable }).val.clone());
    const inference = layer.apply(x) as tf.Tensor;
    return [y, dx, ...vars.map((v) => grads[v.name]!), ...moving, inference];
  };
}

describe('FusedBatchNormalization on native', () => {
  const cases: [string, number[], Args][] = [
    ['rank 4, channels last', [4, 6, 5, 7], { momentum: 0.6, epsilon: 1e-3 }],
    ['rank 2', [9, 5], { momentum: 0.9, epsilon: 1e-5 }],
    ['rank 3, one channel', [3, 8, 1], { momentum: 0.5 }],
    ['rank 4, axis given as 3', [2, 3, 4, 5], { axis: 3 }],
  ];
  for (const [what, shape, args] of cases) {
    it(`${what}: y, dx, dγ, dβ, moving statistics and inference match tfjs-layers' BatchNormalization on cpu`, async () => {
      const ref = await on(
        'cpu',
        trainingStep(() => tfl.layers.batchNormalization(args), shape),
      );
      resetKernelCallCounts();
      const got = await on(
        'native',
        trainingStep(() => new FusedBatchNormalization(args), shape),
      );
      // three training calls (y, the γ/β gradients, dx), two of them differentiated
      expect(kernelCallCounts()[FIELD_BATCH_NORM], 'the fused forward ran').toBe(3);
      expect(kernelCallCounts()[FIELD_BATCH_NORM_GRAD], 'the fused gradient ran').toBe(2);
      const names = ['y', 'dx', 'dgamma', 'dbeta', 'moving_mean', 'moving_variance', 'inference'];
      expect(got.length).toBe(names.length);
      got.forEach((g, i) => expect(relErr(g, ref[i]!), names[i]).toBeLessThan(1e-4));
    });
  }

  it('leaks no tensors over training steps', async () => {
    await tf.setBackend('native');
    const layer = new FusedBatchNormalization({});
    layer.build([2, 3, 3, 4]);
    const x = tf.randomNormal([2, 3, 3, 4]);
    const vars = layer.trainableWeights.map((w) => (w as unknown as { val: tf.Variable }).val);
    expectNoLeaks(() => {
      const { value, grads } = tf.variableGrads(
        () => tf.sum(layer.apply(x, { training: true }) as tf.Tensor) as tf.Scalar,
        vars,
      );
      tf.dispose([value, ...Object.values(grads)]);
    }, 5);
    x.dispose();
  });
});
