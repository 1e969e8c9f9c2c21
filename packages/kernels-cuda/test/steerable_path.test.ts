/**
 * GMRSteerableConv2D's default path on native is 'rings' (this package registers it): a default layer runs the native
 * GMR kernels forward and backward and matches the 'dense' path on cpu (outputs and every gradient); its inference
 * cache holds the mixing weights and leaks nothing.
 */
import { describe, expect, it } from 'vitest';
import { fieldChannels, GMRSteerableConv2D, steerablePathFor, type Fields } from '@gmr-conv/core';
import { kernelCallCounts, resetKernelCallCounts } from '../src/index.js';
import { on, rand, relErr, tf } from './helpers.js';

describe("GMRSteerableConv2D path 'auto' on native", () => {
  it("is 'rings' on native, 'dense' on cpu", () => {
    expect(steerablePathFor('native')).toBe('rings');
    expect(steerablePathFor('cpu')).toBe('dense');
  });

  it('runs the native GMR kernels and matches the dense path on cpu: output, dx, dθ, dlogσ, dbias', async () => {
    const inputFields: Fields = [3, 2, 2];
    const fields: Fields = [4, 2, 2];
    const [cin, cout] = [fieldChannels(inputFields), fieldChannels(fields)];
    const make = (path?: 'dense') => new GMRSteerableConv2D({ fields, inputFields, kernelSize: 5, biasInitializer: 'randomNormal', ...(path ? { path } : {}) });
    const auto = make();
    auto.build([2, 9, 8, cin]);
    const weights = auto.getWeights().map((w) => w.dataSync().slice());
    const run = (layer: GMRSteerableConv2D) => () => {
      if (!layer.built) layer.build([2, 9, 8, cin]);
      layer.setWeights(weights.map((v, i) => tf.tensor(v, layer.weights[i]!.shape as number[])));
      const x = tf.tensor(rand(2 * 9 * 8 * cin, 51), [2, 9, 8, cin]);
      const r = tf.tensor(rand(2 * 9 * 8 * cout, 52), [2, 9, 8, cout]);
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
    expect(counts.gmrBackpropFilter ?? 0, 'the native GMR filter gradient ran').toBeGreaterThanOrEqual(1);
    expect(counts.Conv2D ?? 0, 'no dense conv').toBe(0);
    ['y', 'dx', 'dθ', 'dlogσ', 'dbias'].forEach((name, i) => expect(relErr(got[i]!, ref[i]!), name).toBeLessThan(1e-4));
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
