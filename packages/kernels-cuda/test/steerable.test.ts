/**
 * The steerable layers (core) on 'native': the same outputs and gradients as on cpu. GMRSteerableConv2D through both
 * of its paths; the field layers through the whole-tensor forms they run (one-hot matrix products, FusedBatchNorm and
 * its native gradient, norm-ReLU's written-out gradient).
 */
import { describe, expect, it } from 'vitest';
import {
  FieldBatchNorm,
  fieldChannels,
  FieldInvariants,
  FieldNonlinearity,
  gatedFields,
  GMRSteerableConv2D,
  type Fields,
} from '@gmr-conv/core';
import { kernelCallCounts, resetKernelCallCounts } from '../src/index.js';
import { on, rand, relErr, tf } from './helpers.js';

describe('GMRSteerableConv2D on native', () => {
  for (const path of ['rings', 'dense'] as const)
    it(`matches cpu: output and the gradients for x, θ, log σ and bias (path '${path}')`, async () => {
      const inputFields: Fields = [2, 1, 1];
      const fields: Fields = [2, 2, 1];
      const [cin, cout] = [fieldChannels(inputFields), fieldChannels(fields)];
      const layer = new GMRSteerableConv2D({
        fields,
        inputFields,
        kernelSize: 7,
        biasInitializer: 'randomNormal',
        path,
      });
      layer.build([2, 10, 9, cin]);
      const weights = layer.getWeights().map((w) => w.dataSync().slice());
      const f = () => {
        layer.setWeights(weights.map((v, i) => tf.tensor(v, layer.weights[i]!.shape as number[])));
        const x = tf.tensor(rand(2 * 10 * 9 * cin, 31), [2, 10, 9, cin]);
        const vars = layer.trainableWeights.map((w) => (w as unknown as { val: tf.Variable }).val);
        const r = tf.tensor(rand(2 * 10 * 9 * cout, 32), [2, 10, 9, cout]);
        const { grads } = tf.variableGrads(() => tf.sum(tf.mul(layer.apply(x) as tf.Tensor, r)) as tf.Scalar, vars);
        const dx = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(layer.apply(t) as tf.Tensor, r)))(x);
        return [layer.apply(x) as tf.Tensor, dx, ...vars.map((v) => grads[v.name]!)];
      };
      const ref = await on('cpu', f);
      resetKernelCallCounts();
      const got = await on('native', f);
      // 'rings' runs this package's GMR kernels on the angle-weighted masks; 'dense' its Conv2D kernels.
      if (path === 'rings')
        expect(kernelCallCounts().gmrBackpropFilter ?? 0, 'the native filter gradient ran').toBeGreaterThanOrEqual(1);
      ['y', 'dx', 'dθ', 'dlogσ', 'dbias'].forEach((name, i) =>
        expect(relErr(got[i]!, ref[i]!), name).toBeLessThan(1e-4),
      );
      layer.disposeCaches();
    });
});

describe('field layers on native', () => {
  it('FieldBatchNorm (training and inference), FieldNonlinearity (norm-relu, gate) and FieldInvariants match cpu: output and gradients', async () => {
    const fields: Fields = [3, 2, 2];
    const shape = [2, 6, 5];
    const layers: [string, tf.layers.Layer, Fields, boolean][] = [
      ['batch norm, training', new FieldBatchNorm({ fields, momentum: 0.5 }), fields, true],
      ['batch norm, inference', new FieldBatchNorm({ fields, momentum: 0.5 }), fields, false],
      [
        'norm-relu',
        new FieldNonlinearity({
          fields,
          biasInitializer: { className: 'RandomUniform', config: { minval: -0.5, maxval: 0.2, seed: 3 } },
        }),
        fields,
        false,
      ],
      ['gate', new FieldNonlinearity({ fields, mode: 'gate' }), gatedFields(fields), false],
      ['invariants', new FieldInvariants({ fields }), fields, false],
    ];
    for (const [name, layer, inFields, training] of layers) {
      const c = fieldChannels(inFields);
      layer.build([...shape, c]);
      // non-trivial weights: γ, β and norm-ReLU biases in [-1, 1) (some fields thresholded), moving statistics in [0.5, 1.5)
      const weights = layer.weights.map((w, i) => {
        const v = rand(
          w.shape.reduce((a, b) => a! * b!, 1)!,
          40 + i,
        );
        return /moving/.test(w.originalName) ? v.map((e) => 0.5 + Math.abs(e)) : v;
      });
      let out = 0;
      const f = () => {
        layer.setWeights(weights.map((v, i) => tf.tensor(v, layer.weights[i]!.shape as number[])));
        const x = tf.tensor(rand(shape[0]! * shape[1]! * shape[2]! * c, 41), [...shape, c]);
        const apply = (t: tf.Tensor) => layer.apply(t, { training }) as tf.Tensor;
        const y = apply(x);
        out = y.size;
        const r = tf.tensor(rand(y.size, 42), y.shape);
        const vars = layer.trainableWeights.map((w) => (w as unknown as { val: tf.Variable }).val);
        const grads = vars.length
          ? Object.values(tf.variableGrads(() => tf.sum(tf.mul(apply(x), r)) as tf.Scalar, vars).grads)
          : [];
        const dx = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(apply(t), r)))(x);
        return [y, dx, ...grads];
      };
      const ref = await on('cpu', f);
      const got = await on('native', f);
      expect(out, name).toBeGreaterThan(0);
      expect(got.length, name).toBe(ref.length);
      got.forEach((g, i) =>
        expect(
          relErr(g, ref[i]!),
          `${name}: ${i === 0 ? 'y' : i === 1 ? 'dx' : `d${layer.trainableWeights[i - 2]!.originalName}`}`,
        ).toBeLessThan(1e-4),
      );
    }
  });
});
