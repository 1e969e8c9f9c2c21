/**
 * The native GMRConv2D kernels against core's composed path on the cpu backend: the output and every gradient
 * (x, θ, log σ, bias) through core's gmrConv2d op, which dispatches to this package's kernels on 'native'.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { gmrConv2d, initialLogSigmas, GMRHarmonicConv2D, type GMRConvOptions } from '@gmr-conv/core';
import { usesComposedKernel, GMR_CONV_2D } from '@gmr-conv/core/kernel';
import { kernelCallCounts, resetKernelCallCounts } from '../src/index.js';
import { on, rand, relErr, tf } from './helpers.js';

interface Case {
  name: string;
  batch?: number;
  cin: number;
  cout: number;
  h: number;
  w: number;
  gaussian: boolean;
  bias: boolean;
  randomMasks?: boolean;
  opts: GMRConvOptions;
}

const CF = 'channelsFirst';
const cases: Case[] = [
  { name: 'k5 same bias gaussian', cin: 3, cout: 4, h: 8, w: 7, gaussian: true, bias: true, opts: { kernelSize: 5, padding: 'same' } },
  { name: 'k9 same 16→8 gaussian', cin: 16, cout: 8, h: 12, w: 12, gaussian: true, bias: true, opts: { kernelSize: 9, padding: 'same' } },
  { name: 'k3 s2 valid CF binary', cin: 2, cout: 3, h: 9, w: 8, gaussian: false, bias: false, opts: { kernelSize: 3, strides: 2, padding: 'valid', dataFormat: CF } },
  { name: 'k3 d2 explicit pads groups2 bias', cin: 4, cout: 4, h: 8, w: 9, gaussian: true, bias: true, opts: { kernelSize: 3, dilations: 2, padding: [[1, 2], [2, 1]], groups: 2 } },
  { name: 'k5 s2 d2 same depthwise CF', cin: 3, cout: 6, h: 10, w: 9, gaussian: true, bias: true, opts: { kernelSize: 5, strides: 2, dilations: 2, padding: 'same', groups: 3, dataFormat: CF } },
  { name: 'k3 reflect bias', cin: 2, cout: 2, h: 6, w: 7, gaussian: true, bias: true, opts: { kernelSize: 3, padding: [[1, 2], [2, 1]], paddingMode: 'reflect' } },
  { name: 'k5 replicate s2', cin: 2, cout: 3, h: 6, w: 6, gaussian: true, bias: false, opts: { kernelSize: 5, padding: 2, paddingMode: 'replicate', strides: 2 } },
  { name: 'k3 circular CF bias', cin: 2, cout: 2, h: 6, w: 6, gaussian: false, bias: true, opts: { kernelSize: 3, padding: 1, paddingMode: 'circular', dataFormat: CF } },
  { name: 'k3 s2 overlapping user masks groups2', cin: 4, cout: 2, h: 7, w: 6, gaussian: true, bias: true, randomMasks: true, opts: { kernelSize: 3, strides: 2, padding: 'same', groups: 2 } },
  // Channel counts of real networks: the ring sums' vector blocks (16 lanes, the last masked; 64 channels at a time).
  { name: 'k5 same 24→8 (masked lanes)', cin: 24, cout: 8, h: 7, w: 6, gaussian: true, bias: false, opts: { kernelSize: 5, padding: 'same' } },
  { name: 'k3 same 72→4 groups 1 (two channel blocks)', cin: 72, cout: 4, h: 5, w: 6, gaussian: false, bias: true, opts: { kernelSize: 3, padding: 'same' } },
  // One input channel (a first layer): the ring sums vectorised along the row (stride 1 along it), every padding mode.
  { name: 'k9 same 1→6 (one input channel)', cin: 1, cout: 6, h: 11, w: 21, gaussian: true, bias: true, opts: { kernelSize: 9, padding: 'same' } },
  { name: 'k5 d2 strides [2, 1] reflect 1→3', cin: 1, cout: 3, h: 10, w: 9, gaussian: true, bias: false, opts: { kernelSize: 5, dilations: 2, strides: [2, 1], padding: 4, paddingMode: 'reflect' } },
  { name: 'k3 circular 1→2 channels first', cin: 1, cout: 2, h: 6, w: 19, gaussian: false, bias: false, opts: { kernelSize: 3, padding: 1, paddingMode: 'circular', dataFormat: CF } },
  { name: 'k4 even non-circular same batch1', batch: 1, cin: 2, cout: 2, h: 7, w: 7, gaussian: true, bias: true, opts: { kernelSize: 4, forceCircular: false, padding: 'same' } },
];

function numRings(c: Case): number {
  const k = c.opts.kernelSize as number;
  return c.opts.forceCircular === false ? Math.floor(k / 2) + 2 : Math.floor(k / 2) + 1;
}

/** Output, then the gradients of sum(y · r) for x, θ, (log σ), (bias). */
function build(c: Case): () => tf.Tensor[] {
  return () => {
    const k = c.opts.kernelSize as number;
    const cf = c.opts.dataFormat === CF;
    const b = c.batch ?? 2;
    const xShape = cf ? [b, c.cin, c.h, c.w] : [b, c.h, c.w, c.cin];
    const groups = c.opts.groups ?? 1;
    const n = numRings(c);
    const x = tf.tensor(rand(xShape.reduce((p, q) => p * q), 11), xShape);
    const weight = tf.tensor(rand(c.cout * (c.cin / groups) * n, 12), [c.cout, c.cin / groups, n]);
    const params: tf.Tensor[] = [x, weight];
    if (c.gaussian) {
      const base = initialLogSigmas(k, n);
      params.push(tf.tensor1d(Float32Array.from(base, (v, i) => (i === 0 ? -6 : v + 0.1 * i))));
    }
    if (c.bias) params.push(tf.tensor1d(rand(c.cout, 13)));
    const indexMat = c.randomMasks ? tf.tensor2d(rand(n * k * k, 15), [n, k * k]) : undefined;
    const f = (...p: tf.Tensor[]) => {
      let i = 2;
      const ls = c.gaussian ? p[i++] : undefined;
      const bi = c.bias ? p[i++] : undefined;
      return gmrConv2d(p[0]!, { weight: p[1]!, logSigmas: ls, bias: bi, indexMat }, { ...c.opts, path: 'two-stage' });
    };
    const y = f(...params);
    const r = tf.tensor(rand(y.size, 17), y.shape);
    const grads = tf.grads((...p: tf.Tensor[]) => tf.sum(tf.mul(f(...p), r)))(params);
    return [y, ...grads];
  };
}

describe('native GMRConv2D vs core composed on cpu', () => {
  beforeAll(async () => {
    await tf.setBackend('native');
  });

  for (const c of cases) {
    it(c.name, async () => {
      const ref = await on('cpu', build(c));
      resetKernelCallCounts();
      const got = await on('native', build(c));
      const counts = kernelCallCounts();
      expect(usesComposedKernel(GMR_CONV_2D, 'native')).toBe(false);
      expect(counts.gmrForward).toBeGreaterThanOrEqual(1);
      expect(counts.gmrBackpropInput).toBe(1);
      expect(counts.gmrBackpropFilter).toBe(1);
      expect(counts.gmrRingSumsReused).toBe(1);
      expect(counts.gmrForwardFused).toBe(1); // the output outside the tape
      const names = ['y', 'dx', 'dθ', ...(c.gaussian ? ['dlogσ'] : []), ...(c.bias ? ['dbias'] : [])];
      for (let i = 0; i < ref.length; i++) {
        const e = relErr(got[i]!, ref[i]!);
        expect(e, `${names[i]} rel err ${e}`).toBeLessThan(1e-4);
      }
    });
  }

  it("GMRHarmonicConv2D (rings weighted by cos φ / sin φ) runs natively and matches cpu, gradients included", async () => {
    const layer = new GMRHarmonicConv2D({ filters: 3, kernelSize: 7, padding: 'same', biasInitializer: 'randomNormal', magnitudeEpsilon: 1e-3 });
    layer.build([2, 10, 9, 4]);
    const weights = layer.getWeights().map((w) => w.dataSync().slice());
    const f = () => {
      layer.setWeights(weights.map((v, i) => tf.tensor(v, layer.weights[i]!.shape as number[])));
      const x = tf.tensor(rand(2 * 10 * 9 * 4, 21), [2, 10, 9, 4]);
      const vars = layer.trainableWeights.map((w) => (w as unknown as { val: tf.Variable }).val);
      const r = tf.tensor(rand(2 * 10 * 9 * 3, 22), [2, 10, 9, 3]);
      const { grads } = tf.variableGrads(() => tf.sum(tf.mul(layer.apply(x) as tf.Tensor, r)) as tf.Scalar, vars);
      const dx = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(layer.apply(t) as tf.Tensor, r)))(x);
      return [layer.apply(x) as tf.Tensor, dx, ...vars.map((v) => grads[v.name]!)];
    };
    const ref = await on('cpu', f);
    resetKernelCallCounts();
    const got = await on('native', f);
    expect(kernelCallCounts().gmrBackpropFilter ?? 0).toBeGreaterThanOrEqual(2);
    // One training step: the cos and the sin op run on the same x, and both filter gradients reuse their ring sums.
    await tf.setBackend('native');
    const x = tf.tensor(rand(2 * 10 * 9 * 4, 21), [2, 10, 9, 4]);
    const vars = layer.trainableWeights.map((w) => (w as unknown as { val: tf.Variable }).val);
    resetKernelCallCounts();
    const { value, grads } = tf.variableGrads(() => tf.sum(layer.apply(x) as tf.Tensor) as tf.Scalar, vars);
    expect(kernelCallCounts().gmrBackpropFilter).toBe(2);
    expect(kernelCallCounts().gmrRingSumsReused).toBe(2);
    tf.dispose([x, value, ...Object.values(grads)]);
    ['y', 'dx', 'dθ', 'dlogσ', 'dbias'].forEach((name, i) => expect(relErr(got[i]!, ref[i]!), name).toBeLessThan(1e-4));
    layer.disposeCaches();
  });

  it('falls back to core for a 1D layer and still matches', async () => {
    const f = () => {
      const x = tf.tensor(rand(2 * 9 * 3, 1), [2, 9, 3]);
      const w = tf.tensor(rand(4 * 3 * 3, 2), [4, 3, 3]);
      const y = (p: tf.Tensor, q: tf.Tensor) => tf.sum(tf.square(core1d(p, q)));
      return [core1d(x, w), ...tf.grads(y)([x, w])];
    };
    const ref = await on('cpu', f);
    const got = await on('native', f);
    for (let i = 0; i < ref.length; i++) expect(relErr(got[i]!, ref[i]!)).toBeLessThan(1e-4);
  });
});

import { gmrConv1d } from '@gmr-conv/core';
const core1d = (x: tf.Tensor, w: tf.Tensor) => gmrConv1d(x, { weight: w }, { kernelSize: 5, padding: 'same' });
