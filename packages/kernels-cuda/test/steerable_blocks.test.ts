/**
 * The steerable convolution kernels that read only the non-zero blocks of the mixing weights (GMRSteerableConv and its
 * two gradients, native/steerable_ops.cc): the layer's output and gradients against cpu and against the plain GMR
 * kernels on native over field layouts with empty orders, strides and 'valid' padding; the filter gradient with the
 * ring sums recomputed; W zero outside the plan; no leaked tensors or native buffers.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { fieldChannels, GMRSteerableConv2D, type Fields } from '@gmr-conv/core';
import {
  STEERABLE_CONV,
  STEERABLE_CONV_BACKPROP_FILTER,
  STEERABLE_CONV_BACKPROP_INPUT,
  type SteerableConvAttrs,
} from '@gmr-conv/core/kernel';
import { kernelCallCounts, resetKernelCallCounts } from '../src/index.js';
import { steerableConvConfig } from '../src/kernels/GMRSteerableConv.js';
import { steerableConvBackpropFilterConfig } from '../src/kernels/GMRSteerableConvBackpropFilter.js';
import { steerableConvBackpropInputConfig } from '../src/kernels/GMRSteerableConvBackpropInput.js';
import { on, rand, relErr, tf } from './helpers.js';
import { expectNoLeaks } from './leak_check.js';

const CONFIGS = [steerableConvConfig, steerableConvBackpropInputConfig, steerableConvBackpropFilterConfig];

/** Runs f on native without the block kernels (the layer then takes the plain GMR op over the whole W). */
async function withoutBlocks<T>(f: () => Promise<T>): Promise<T> {
  for (const c of CONFIGS) tf.unregisterKernel(c.kernelName, 'native');
  try {
    return await f();
  } finally {
    for (const c of CONFIGS) tf.registerKernel({ ...c, backendName: 'native' });
  }
}

interface Case {
  inputFields: Fields;
  fields: Fields;
  kernelSize: number;
  strides?: number;
  padding?: 'same' | 'valid';
  gaussian?: boolean;
  shape: [number, number, number];
}

// Input channel counts of at least STEERABLE_BLOCK_MIN_CIN (8); below it the plain GMR op runs (tested last).
const CASES: Case[] = [
  { inputFields: [4, 2, 1], fields: [2, 2, 1], kernelSize: 7, shape: [2, 10, 9] },
  { inputFields: [8, 0, 0], fields: [3, 2, 2], kernelSize: 5, shape: [3, 8, 8] },
  { inputFields: [0, 3, 2], fields: [0, 1, 2], kernelSize: 5, strides: 2, shape: [2, 9, 11] },
  { inputFields: [4, 2, 0], fields: [2, 0, 3], kernelSize: 3, padding: 'valid', gaussian: false, shape: [2, 7, 6] },
  { inputFields: [4, 3, 2], fields: [5, 2, 3], kernelSize: 5, strides: 2, padding: 'valid', shape: [2, 12, 10] },
  // Ring sums of one image over 1 MB / 3: the kernels take the batch in chunks of 2 images, the last one partial (the
  // input gradient's tiles of 48 positions per chunk, the forward's copy and products per chunk).
  { inputFields: [8, 8, 8], fields: [4, 2, 2], kernelSize: 5, shape: [3, 16, 16] },
];

describe('GMRSteerableConv (block kernels) on native', () => {
  afterEach(() => tf.setBackend('native'));
  for (const c of CASES) {
    const name = `[${c.inputFields}] → [${c.fields}] k${c.kernelSize} s${c.strides ?? 1} ${c.padding ?? 'same'}${c.gaussian === false ? ' binary' : ''}`;
    it(`${name}: output and gradients (x, θ, log σ, bias) match cpu and the plain GMR kernels`, async () => {
      const cin = fieldChannels(c.inputFields);
      const [b, h, w] = c.shape;
      const layer = new GMRSteerableConv2D({
        fields: c.fields,
        inputFields: c.inputFields,
        kernelSize: c.kernelSize,
        strides: c.strides ?? 1,
        padding: c.padding ?? 'same',
        gaussianMixtureRing: c.gaussian ?? true,
        biasInitializer: 'randomNormal',
        path: 'rings',
      });
      layer.build([b, h, w, cin]);
      const weights = layer.getWeights().map((t) => t.dataSync().slice());
      const f = () => {
        layer.setWeights(weights.map((v, i) => tf.tensor(v, layer.weights[i]!.shape as number[])));
        const x = tf.tensor(rand(b * h * w * cin, 41), [b, h, w, cin]);
        const vars = layer.trainableWeights.map((v) => (v as unknown as { val: tf.Variable }).val);
        const y0 = layer.apply(x) as tf.Tensor;
        const r = tf.tensor(rand(y0.size, 42), y0.shape);
        const { grads } = tf.variableGrads(() => tf.sum(tf.mul(layer.apply(x) as tf.Tensor, r)) as tf.Scalar, vars);
        const dx = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(layer.apply(t) as tf.Tensor, r)))(x);
        return [y0, dx, ...vars.map((v) => grads[v.name]!)];
      };
      const ref = await on('cpu', f);
      const plain = await withoutBlocks(() => on('native', f));
      resetKernelCallCounts();
      const got = await on('native', f);
      const counts = kernelCallCounts();
      expect(counts[STEERABLE_CONV] ?? 0, 'the block forward ran').toBeGreaterThanOrEqual(3);
      expect(counts[STEERABLE_CONV_BACKPROP_INPUT] ?? 0, 'the block input gradient ran').toBeGreaterThanOrEqual(1);
      expect(counts[STEERABLE_CONV_BACKPROP_FILTER] ?? 0, 'the block filter gradient ran').toBeGreaterThanOrEqual(1);
      expect(counts.gmrForward ?? 0, 'no plain GMR forward').toBe(0);
      // no bias without order-0 outputs (a bias on a complex field is not equivariant)
      const names = [
        'y',
        'dx',
        'dθ',
        ...(c.gaussian === false ? [] : ['dlogσ']),
        ...(c.fields[0] > 0 ? ['dbias'] : []),
      ];
      expect(got.length).toBe(names.length);
      names.forEach((n, i) => {
        expect(relErr(got[i]!, ref[i]!), `${n} vs cpu`).toBeLessThan(1e-4);
        expect(relErr(got[i]!, plain[i]!), `${n} vs the plain native kernels`).toBeLessThan(1e-5);
      });
      layer.disposeCaches();
    });
  }

  it('W is zero outside the plan, and the filter gradient without kept ring sums equals the one with them', async () => {
    await tf.setBackend('native');
    const inputFields: Fields = [3, 2, 2];
    const fields: Fields = [4, 2, 1];
    const [cin, cout] = [fieldChannels(inputFields), fieldChannels(fields)];
    const layer = new GMRSteerableConv2D({ fields, inputFields, kernelSize: 5, path: 'rings', useBias: false });
    layer.build([2, 8, 8, cin]);
    const plan = (layer as unknown as { blockPlan: number[] }).blockPlan;
    const W = layer.mixingWeights();
    const rows = W.shape[2];
    const inPlan = new Uint8Array(cout * cin * rows);
    for (let bl = 0, at = 1; bl < plan[0]!; bl++) {
      const [o0, o1, ns] = [plan[at]!, plan[at + 1]!, plan[at + 2]!];
      at += 3;
      for (let s = 0; s < ns; s++, at += 4)
        for (let o = o0; o < o1; o++)
          for (let i = plan[at]!; i < plan[at + 1]!; i++)
            for (let r = plan[at + 2]!; r < plan[at + 3]!; r++) inPlan[(o * cin + i) * rows + r] = 1;
    }
    const wv = W.dataSync();
    let outside = 0;
    let inside = 0;
    wv.forEach((v, k) => (inPlan[k] ? (inside += Math.abs(v)) : (outside += Math.abs(v))));
    expect(outside, 'W outside the plan').toBe(0);
    expect(inside).toBeGreaterThan(0);

    const x = tf.tensor(rand(2 * 8 * 8 * cin, 5), [2, 8, 8, cin]);
    const dy = tf.tensor(rand(2 * 8 * 8 * cout, 6), [2, 8, 8, cout]);
    const attrs: SteerableConvAttrs = {
      kernelSize: [5, 5],
      strides: [1, 1],
      padding: 'same',
      cout,
      plan,
      inputShape: [2, 8, 8, cin],
    };
    const masks = layer.angularMasks();
    const a = attrs as unknown as tf.NamedAttrMap;
    const recomputed = tf
      .engine()
      .runKernel(STEERABLE_CONV_BACKPROP_FILTER, { x, dy, indexMat: masks }, a) as tf.Tensor;
    const kept = tf.grad((w: tf.Tensor) =>
      tf.sum(tf.mul(tf.engine().runKernel(STEERABLE_CONV, { x, weight: w, indexMat: masks }, a) as tf.Tensor, dy)),
    )(W);
    expect(relErr(recomputed.dataSync() as Float32Array, kept.dataSync() as Float32Array)).toBe(0);
    // and zero outside the plan
    const dv = recomputed.dataSync();
    expect(dv.every((v, k) => inPlan[k] || v === 0)).toBe(true);
    tf.dispose([W, x, dy, recomputed, kept]);
    layer.disposeCaches();
  });

  it('below 8 input channels the layer runs the plain GMR kernels', async () => {
    await tf.setBackend('native');
    const layer = new GMRSteerableConv2D({ fields: [2, 1, 1], inputFields: [1, 0, 0], kernelSize: 5, path: 'rings' });
    layer.build([1, 6, 6, 1]);
    expect((layer as unknown as { blockPlan: number[] | null }).blockPlan).toBeNull();
    resetKernelCallCounts();
    tf.dispose(layer.apply(tf.ones([1, 6, 6, 1])) as tf.Tensor);
    expect(kernelCallCounts()[STEERABLE_CONV] ?? 0).toBe(0);
    expect(kernelCallCounts().gmrForward ?? 0).toBe(1);
    layer.disposeCaches();
  });

  it('a training step leaks no tensors or native buffers', async () => {
    await tf.setBackend('native');
    const inputFields: Fields = [2, 2, 2];
    const layer = new GMRSteerableConv2D({ fields: [3, 2, 2], inputFields, kernelSize: 5, path: 'rings' });
    const cin = fieldChannels(inputFields);
    layer.build([2, 8, 8, cin]);
    const x = tf.tensor(rand(2 * 8 * 8 * cin, 9), [2, 8, 8, cin]);
    const vars = layer.trainableWeights.map((v) => (v as unknown as { val: tf.Variable }).val);
    const step = () => {
      const { value, grads } = tf.variableGrads(
        () => tf.sum(tf.square(layer.apply(x) as tf.Tensor)) as tf.Scalar,
        vars,
      );
      tf.dispose([value, ...Object.values(grads)]);
    };
    expectNoLeaks(step, 5);
    x.dispose();
    layer.disposeCaches();
  });
});
