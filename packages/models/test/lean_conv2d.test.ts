/**
 * LeanConv2D: tfjs-layers' Conv2D outputs and gradients, serialised as Conv2D, and (the reason it exists) a first
 * layer's training step runs no input-gradient convolution, where tfjs-layers' Conv2D runs one.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import * as tfl from '@tensorflow/tfjs-layers';
import { LeanConv2D } from '../src/index.js';
import { maxAbsDiff, tf, useBackend } from './helpers/backend.js';

beforeAll(async () => {
  await useBackend('cpu');
});

const args = { filters: 3, kernelSize: 3, strides: 1, padding: 'same' as const, useBias: false, name: 'conv' };

/** A one-conv model, the loss of a fixed batch, its gradients and the kernels one training step ran. */
async function step(conv: tfl.layers.Layer) {
  const input = tfl.input({ shape: [6, 6, 2] });
  const model = tfl.model({ inputs: input, outputs: conv.apply(input) as tfl.SymbolicTensor });
  model.setWeights(model.weights.map((w, i) => tf.randomNormal(w.shape as number[], 0, 1, 'float32', 3 + 10 * i)));
  const x = tf.randomNormal([2, 6, 6, 2], 0, 1, 'float32', 4);
  const r = tf.randomNormal([2, 6, 6, 3], 0, 1, 'float32', 5);
  const vars = model.trainableWeights.map((w) => (w as unknown as { val: tf.Variable }).val);
  let out: number[][] = [];
  const profile = await tf.profile(() => {
    const { value, grads } = tf.variableGrads(
      () => tf.sum(tf.mul(model.apply(x, { training: true }) as tf.Tensor, r)) as tf.Scalar,
      vars,
    );
    out = [Array.from(value.dataSync()), Array.from(grads[vars[0]!.name]!.dataSync())];
    tf.dispose([value, ...Object.values(grads)]);
  });
  const dx = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(model.apply(t) as tf.Tensor, r)))(x);
  out.push(Array.from(dx.dataSync()));
  tf.dispose([x, r, dx]);
  return { out, kernels: profile.kernelNames, model };
}

describe('LeanConv2D', () => {
  it('gives tfjs-layers’ Conv2D loss, filter gradient and input gradient, without an input-gradient kernel', async () => {
    const stock = await step(tfl.layers.conv2d(args));
    const lean = await step(new LeanConv2D(args));
    lean.out.forEach((v, i) => expect(maxAbsDiff(v, stock.out[i]!)).toBeLessThan(1e-5));
    expect(stock.kernels).toContain('Conv2DBackpropInput');
    expect(lean.kernels).not.toContain('Conv2DBackpropInput');
    expect(lean.kernels).toContain('Conv2DBackpropFilter');
    expect(lean.model.getLayer('conv').getClassName()).toBe('Conv2D');
    expect(lean.model.getLayer('conv').getConfig()).toEqual(stock.model.getLayer('conv').getConfig());
  });

  it('with a bias is tfjs-layers’ code (the fused kernel), same results', async () => {
    const withBias = { ...args, useBias: true };
    const stock = await step(tfl.layers.conv2d(withBias));
    const lean = await step(new LeanConv2D(withBias));
    lean.out.forEach((v, i) => expect(maxAbsDiff(v, stock.out[i]!)).toBeLessThan(1e-5));
    expect(lean.kernels).toContain('FusedConv2D');
  });
});
