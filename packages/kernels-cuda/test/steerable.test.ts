/** GMRSteerableConv2D (core) on 'native': the same output and gradients as on cpu, through both of its paths. */
import { describe, expect, it } from 'vitest';
import { fieldChannels, GMRSteerableConv2D, type Fields } from '@gmr-conv/core';
import { kernelCallCounts, resetKernelCallCounts } from '../src/index.js';
import { on, rand, relErr, tf } from './helpers.js';

describe('GMRSteerableConv2D on native', () => {
  for (const path of ['rings', 'dense'] as const) it(`matches cpu: output and the gradients for x, θ, log σ and bias (path '${path}')`, async () => {
    const inputFields: Fields = [2, 1, 1];
    const fields: Fields = [2, 2, 1];
    const [cin, cout] = [fieldChannels(inputFields), fieldChannels(fields)];
    const layer = new GMRSteerableConv2D({ fields, inputFields, kernelSize: 7, biasInitializer: 'randomNormal', path });
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
    if (path === 'rings') expect(kernelCallCounts().gmrBackpropFilter ?? 0, 'the native filter gradient ran').toBeGreaterThanOrEqual(1);
    ['y', 'dx', 'dθ', 'dlogσ', 'dbias'].forEach((name, i) => expect(relErr(got[i]!, ref[i]!), name).toBeLessThan(1e-4));
    layer.disposeCaches();
  });
});
