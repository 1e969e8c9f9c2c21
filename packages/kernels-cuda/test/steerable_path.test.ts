/**
 * GMRSteerableConv2D's default path on native is 'rings' (this package registers it): a default layer runs the native
 * kernels (the GMR ones on its angle-weighted masks, or from 8 input channels the steerable block kernels) forward and backward and matches the 'dense' path on cpu (outputs and every gradient); its inference
 * cache holds the mixing weights and leaks nothing.
 */
import { describe, expect, it } from 'vitest';
import { fieldChannels, GMRSteerableConv2D, steerablePathFor, type Fields } from '@gmr-conv/core';
import { STEERABLE_CONV, STEERABLE_CONV_BACKPROP_FILTER, STEERABLE_CONV_BACKPROP_INPUT } from '@gmr-conv/core/kernel';
import { kernelCallCounts, resetKernelCallCounts } from '../src/index.js';
import { on, rand, relErr, tf } from './helpers.js';

describe("GMRSteerableConv2D path 'auto' on native", () => {
  it("is 'rings' on native, 'dense' on cpu", () => {
    expect(steerablePathFor('native')).toBe('rings');
    expect(steerablePathFor('cpu')).toBe('dense');
  });

  // every block pair; one input block (order-0 input) with stride 2 and 'valid'; empty blocks and no order-0 output
  const cases: [Fields, Fields, number, number, 'same' | 'valid'][] = [
    [[3, 2, 2], [4, 2, 2], 5, 1, 'same'],
    [[1, 0, 0], [3, 2, 1], 7, 2, 'valid'],
    [[2, 3, 0], [0, 1, 2], 3, 1, 'same'],
  ];
  for (const [inputFields, fields, kernelSize, strides, padding] of cases)
    it(`runs the native GMR kernels and matches the dense path on cpu: output, dx, dθ, dlogσ, dbias (${inputFields.join(':')} → ${fields.join(':')}, k ${kernelSize}, stride ${strides}, ${padding})`, async () => {
      const cin = fieldChannels(inputFields);
      const make = (path?: 'dense') =>
        new GMRSteerableConv2D({
          fields,
          inputFields,
          kernelSize,
          strides,
          padding,
          biasInitializer: 'randomNormal',
          ...(path ? { path } : {}),
        });
      const auto = make();
      auto.build([2, 9, 8, cin]);
      const weights = auto.getWeights().map((w) => w.dataSync().slice());
      const run = (layer: GMRSteerableConv2D) => () => {
        if (!layer.built) layer.build([2, 9, 8, cin]);
        layer.setWeights(weights.map((v, i) => tf.tensor(v, layer.weights[i]!.shape as number[])));
        const x = tf.tensor(rand(2 * 9 * 8 * cin, 51), [2, 9, 8, cin]);
        const outShape = layer.computeOutputShape([2, 9, 8, cin]) as number[];
        const r = tf.tensor(
          rand(
            outShape.reduce((p, q) => p * q, 1),
            52,
          ),
          outShape,
        );
        const vars = layer.trainableWeights.map((w) => (w as unknown as { val: tf.Variable }).val);
        const { grads } = tf.variableGrads(() => tf.sum(tf.mul(layer.apply(x) as tf.Tensor, r)) as tf.Scalar, vars);
        const dx = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(layer.apply(t) as tf.Tensor, r)))(x);
        return [layer.apply(x) as tf.Tensor, dx, ...vars.map((v) => grads[v.name]!)];
      };
      const dense = make('dense');
      const ref = await on('cpu', run(dense));
      resetKernelCallCounts();
      const got = await on('native', run(auto));
      const counts = kernelCallCounts();
      // from 8 input channels the layer runs the steerable block kernels (zero blocks of W skipped), below the GMR ones
      const [fwd, bi, bf] =
        cin >= 8
          ? [STEERABLE_CONV, STEERABLE_CONV_BACKPROP_INPUT, STEERABLE_CONV_BACKPROP_FILTER]
          : ['gmrForward', 'gmrBackpropInput', 'gmrBackpropFilter'];
      expect(counts[fwd] ?? 0, `the native forward ran (${fwd})`).toBeGreaterThanOrEqual(1);
      expect(counts[bi] ?? 0, 'its input gradient ran').toBeGreaterThanOrEqual(1);
      expect(counts[bf] ?? 0, 'its filter gradient ran').toBeGreaterThanOrEqual(1);
      expect(counts.Conv2D ?? 0, 'no dense conv').toBe(0);
      expect(got.length).toBe(fields[0] > 0 ? 5 : 4); // no bias without order-0 outputs
      ['y', 'dx', 'dθ', 'dlogσ', 'dbias']
        .slice(0, got.length)
        .forEach((name, i) => expect(relErr(got[i]!, ref[i]!), name).toBeLessThan(1e-4));
      // inference: one cached set of mixing weights, nothing leaked over repeated calls
      await tf.setBackend('native');
      const x = tf.tensor(rand(2 * 9 * 8 * cin, 53), [2, 9, 8, cin]);
      tf.dispose(auto.apply(x) as tf.Tensor);
      const tensors = tf.memory().numTensors;
      for (let i = 0; i < 5; i++) tf.dispose(auto.apply(x) as tf.Tensor);
      expect(tf.memory().numTensors).toBe(tensors);
      x.dispose();
      auto.disposeCaches();
      dense.disposeCaches();
    });
});
