/**
 * The fused FieldBatchNorm training kernels (GMRFieldBatchNorm / GMRFieldBatchNormGrad, native/field_ops.cc) against
 * core's composed form on cpu: output, the gradients for x, γ and β, and the moving statistics written by the call,
 * for layouts with and without order-0 maps; no leaked tensors or native buffers; a clear error for a wrong input.
 */
import { describe, expect, it } from 'vitest';
import { applyD4ToFields, D4_ELEMENTS, FieldBatchNorm, fieldChannels, type Fields } from '@gmr-conv/core';
import { FIELD_BATCH_NORM, FIELD_BATCH_NORM_GRAD } from '@gmr-conv/core/kernel';
import { kernelCallCounts, resetKernelCallCounts } from '../src/index.js';
import { on, rand, relErr, tf } from './helpers.js';
import { expectNoLeaks } from './leak_check.js';

describe('GMRFieldBatchNorm on native', () => {
  const layouts: Fields[] = [
    [3, 2, 1],
    [0, 2, 3],
    [4, 0, 0],
    [2, 0, 2],
  ];
  for (const fields of layouts) {
    it(`fields [${fields.join(', ')}]: y, dx, dγ, dβ and the moving statistics match core's composed form on cpu`, async () => {
      const c = fieldChannels(fields);
      const shape = [3, 5, 4, c];
      const layer = new FieldBatchNorm({ fields, momentum: 0.5 });
      layer.build(shape);
      // γ in [0.5, 1.5), β in [-1, 1), moving statistics 1: data with a mean and unequal scales per channel
      const weights = layer.weights.map((w, i) => {
        const v = rand(
          w.shape.reduce((p, q) => p! * q!, 1)!,
          60 + i,
        );
        return /gamma/.test(w.originalName)
          ? v.map((e) => 1 + e / 2)
          : /moving/.test(w.originalName)
            ? v.map(() => 1)
            : v;
      });
      const f = () => {
        layer.setWeights(weights.map((v, i) => tf.tensor(v, layer.weights[i]!.shape as number[])));
        const scales = tf.tensor1d(Array.from({ length: c }, (_, i) => 0.5 + (i % 3)));
        const x = tf.add(
          tf.mul(
            tf.tensor(
              rand(
                shape.reduce((p, q) => p * q, 1),
                61,
              ),
              shape,
            ),
            scales,
          ),
          0.3,
        );
        const r = tf.tensor(rand(x.size, 62), shape);
        const vars = layer.trainableWeights.map((w) => (w as unknown as { val: tf.Variable }).val);
        const apply = (t: tf.Tensor) => layer.apply(t, { training: true }) as tf.Tensor;
        const y = apply(x);
        const { grads } = tf.variableGrads(() => tf.sum(tf.mul(apply(x), r)) as tf.Scalar, vars);
        const dx = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(apply(t), r)))(x);
        const moving = layer.nonTrainableWeights.map((w) => (w as unknown as { val: tf.Variable }).val.clone());
        return [y, dx, ...vars.map((v) => grads[v.name]!), ...moving];
      };
      const ref = await on('cpu', f);
      resetKernelCallCounts();
      const got = await on('native', f);
      expect(kernelCallCounts()[FIELD_BATCH_NORM], 'the fused forward ran').toBe(3);
      expect(kernelCallCounts()[FIELD_BATCH_NORM_GRAD], 'the fused gradient ran').toBe(2);
      expect(got.length).toBe(ref.length);
      const names = [
        'y',
        'dx',
        ...layer.trainableWeights.map((w) => `d${w.originalName}`),
        ...layer.nonTrainableWeights.map((w) => w.originalName),
      ];
      got.forEach((g, i) => expect(relErr(g, ref[i]!), names[i]).toBeLessThan(1e-4));
    });
  }

  it('is exactly D4-equivariant in training (batch statistics are invariant to the 8 grid symmetries)', async () => {
    await tf.setBackend('native');
    const fields: Fields = [2, 2, 2];
    const c = fieldChannels(fields);
    const layer = new FieldBatchNorm({ fields });
    const x = tf.add(tf.tensor(rand(2 * 6 * 6 * c, 71), [2, 6, 6, c]), 0.2);
    resetKernelCallCounts();
    const y = layer.apply(x, { training: true }) as tf.Tensor;
    for (const g of D4_ELEMENTS) {
      const [a, b] = tf.tidy(() => [
        layer.apply(applyD4ToFields(x, g, fields), { training: true }) as tf.Tensor,
        applyD4ToFields(y, g, fields),
      ]);
      expect(relErr(a!.dataSync() as Float32Array, b!.dataSync() as Float32Array), g).toBeLessThan(1e-5);
      tf.dispose([a!, b!]);
    }
    expect(kernelCallCounts()[FIELD_BATCH_NORM], 'the fused kernel ran').toBe(9);
    tf.dispose([x, y]);
  });

  it('leaks no tensors and no native buffers over repeated training steps', async () => {
    await tf.setBackend('native');
    const fields: Fields = [2, 2, 1];
    const layer = new FieldBatchNorm({ fields });
    const x = tf.tensor(rand(2 * 4 * 4 * fieldChannels(fields), 5), [2, 4, 4, fieldChannels(fields)]);
    layer.build(x.shape);
    const vars = layer.trainableWeights.map((w) => (w as unknown as { val: tf.Variable }).val);
    const step = () =>
      tf.tidy(() =>
        Object.values(
          tf.variableGrads(() => tf.sum(tf.square(layer.apply(x, { training: true }) as tf.Tensor)) as tf.Scalar, vars)
            .grads,
        ).forEach((g) => g.dataSync()),
      );
    expectNoLeaks(step, 30);
    x.dispose();
  });

  it('refuses inputs that do not match the fields, naming them', async () => {
    await tf.setBackend('native');
    const x = tf.zeros([2, 3, 8]);
    const gamma = tf.ones([5]);
    const beta = tf.zeros([3]);
    expect(() =>
      tf.engine().runKernel(FIELD_BATCH_NORM, { x, gamma, beta }, { fields: [3, 1, 1], epsilon: 1e-3 }),
    ).toThrow(/GMRFieldBatchNorm.*inputs.*x \[2,3,8\], gamma \[5\]/s);
    tf.dispose([x, gamma, beta]);
  });
});
