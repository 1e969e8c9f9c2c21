/**
 * The webgpu kernels against core's composed path on cpu: outputs and every gradient (x, θ, log σ, bias) through
 * core's gmrConv2d op (which dispatches to this package's kernels on webgpu), to 1e-4 relative.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gmrConv2d, usesComposedKernel, GMR_CONV_2D, initialLogSigmas, type GMRConvOptions } from '@gmr-conv/core';
import { disposeBackends } from '../../core/tools/backends.js';
import { REQUIRE_WEBGPU, SKIP, rand, relErr, tf, webgpuStatus } from './helpers.js';
import { kernelCallCounts, resetKernelCallCounts } from '../src/index.js';

interface Case {
  name: string;
  batch?: number;
  cin: number;
  cout: number;
  h: number;
  w: number;
  gaussian: boolean;
  bias: boolean;
  /** User masks with overlapping, non-symmetric rings (exercises the general per-tap loop). */
  randomMasks?: boolean;
  opts: GMRConvOptions;
}

const CF = 'channelsFirst';
const cases: Case[] = [
  { name: 'k5 same bias gaussian', cin: 3, cout: 4, h: 8, w: 7, gaussian: true, bias: true, opts: { kernelSize: 5, padding: 'same' } },
  { name: 'k3 s2 valid CF binary', cin: 2, cout: 3, h: 9, w: 8, gaussian: false, bias: false, opts: { kernelSize: 3, strides: 2, padding: 'valid', dataFormat: CF } },
  { name: 'k3 d2 explicit pads groups2 bias', cin: 4, cout: 4, h: 8, w: 9, gaussian: true, bias: true, opts: { kernelSize: 3, dilations: 2, padding: [[1, 2], [2, 1]], groups: 2 } },
  { name: 'k5 s2 d2 same depthwise CF', cin: 3, cout: 6, h: 10, w: 9, gaussian: true, bias: true, opts: { kernelSize: 5, strides: 2, dilations: 2, padding: 'same', groups: 3, dataFormat: CF } },
  { name: 'k3 s2 same binary groups2 CF bias', cin: 4, cout: 2, h: 7, w: 8, gaussian: false, bias: true, opts: { kernelSize: 3, strides: 2, padding: 'same', groups: 2, dataFormat: CF } },
  { name: 'k5 s2 d1 padding 1 depthwise CL', cin: 3, cout: 3, h: 9, w: 9, gaussian: true, bias: false, opts: { kernelSize: 5, strides: 2, padding: 1, groups: 3 } },
  { name: 'k3 reflect bias', cin: 2, cout: 2, h: 6, w: 7, gaussian: true, bias: true, opts: { kernelSize: 3, padding: [[1, 2], [2, 1]], paddingMode: 'reflect' } },
  { name: 'k5 replicate s2', cin: 2, cout: 3, h: 6, w: 6, gaussian: true, bias: false, opts: { kernelSize: 5, padding: 2, paddingMode: 'replicate', strides: 2 } },
  { name: 'k3 circular CF bias', cin: 2, cout: 2, h: 6, w: 6, gaussian: false, bias: true, opts: { kernelSize: 3, padding: 1, paddingMode: 'circular', dataFormat: CF } },
  { name: 'k3 s2 overlapping user masks groups2', cin: 4, cout: 2, h: 7, w: 6, gaussian: true, bias: true, randomMasks: true, opts: { kernelSize: 3, strides: 2, padding: 'same', groups: 2 } },
  { name: 'k4 even non-circular same', cin: 2, cout: 2, h: 7, w: 7, gaussian: true, bias: true, opts: { kernelSize: 4, forceCircular: false, padding: 'same' } },
];

interface Result {
  y: Float32Array;
  grads: Record<string, Float32Array>;
}

function numRings(c: Case): number {
  const k = c.opts.kernelSize as number;
  return c.opts.forceCircular === false ? Math.floor(k / 2) + 2 : Math.floor(k / 2) + 1;
}

async function run(c: Case, backend: string): Promise<Result> {
  await tf.setBackend(backend);
  const k = c.opts.kernelSize as number;
  const cf = c.opts.dataFormat === CF;
  const b = c.batch ?? 2;
  const xShape = cf ? [b, c.cin, c.h, c.w] : [b, c.h, c.w, c.cin];
  const groups = c.opts.groups ?? 1;
  const x = tf.tensor(rand(xShape.reduce((p, q) => p * q), 11), xShape);
  const weight = tf.tensor(rand(c.cout * (c.cin / groups) * numRings(c), 12), [c.cout, c.cin / groups, numRings(c)]);
  const params: tf.Tensor[] = [x, weight];
  const names = ['x', 'weight'];
  let logSigmas: tf.Tensor | null = null;
  if (c.gaussian) {
    // Perturbed so that the σ gradient is not symmetric; the first one clipped (sigmaMin) to exercise clipping.
    const base = initialLogSigmas(k, numRings(c));
    const ls = Float32Array.from(base, (v, i) => (i === 0 ? -6 : v + 0.1 * i));
    logSigmas = tf.tensor1d(ls);
    params.push(logSigmas);
    names.push('logSigmas');
  }
  let bias: tf.Tensor | null = null;
  if (c.bias) {
    bias = tf.tensor1d(rand(c.cout, 13));
    params.push(bias);
    names.push('bias');
  }
  const indexMat = c.randomMasks ? tf.tensor2d(rand(numRings(c) * k * k, 15), [numRings(c), k * k]) : null;
  const f = (...p: tf.Tensor[]) => {
    let i = 2;
    const ls = c.gaussian ? p[i++] : null;
    const bi = c.bias ? p[i++] : null;
    return gmrConv2d(p[0]!, { weight: p[1]!, logSigmas: ls, bias: bi, indexMat }, { ...c.opts, checkFinite: false });
  };
  const y = f(...params);
  const dy = tf.tensor(rand(y.size, 14), y.shape);
  const gs = tf.grads(f)(params, dy);
  const out: Result = { y: (await y.data()) as Float32Array, grads: {} };
  for (let i = 0; i < gs.length; i++) out.grads[names[i]!] = (await gs[i]!.data()) as Float32Array;
  tf.dispose([y, dy, ...gs, ...params, ...(indexMat ? [indexMat] : [])]);
  return out;
}

describe.skipIf(SKIP)('GMRConv2D webgpu kernels vs core composed on cpu', () => {
  beforeAll(() => {
    expect(webgpuStatus.ok, webgpuStatus.detail).toBe(true);
  });
  afterAll(() => disposeBackends());

  it('registers the kernels for webgpu (core sees a non-composed kernel)', async () => {
    await tf.setBackend('webgpu');
    expect(usesComposedKernel(GMR_CONV_2D, 'webgpu')).toBe(false);
    expect(tf.getKernel('GMRConv2DBackpropInput', 'webgpu')).toBeTruthy();
    expect(tf.getKernel('GMRConv2DBackpropFilter', 'webgpu')).toBeTruthy();
  });

  it.each(cases.map((c) => [c.name, c] as const))('%s: y and all gradients match', async (_name, c) => {
    const ref = await run(c, 'cpu');
    resetKernelCallCounts();
    const got = await run(c, 'webgpu');
    const counts = kernelCallCounts();
    // The kernels really ran (forward once per op call; grads through the backward pieces), nothing fell back.
    expect(counts.forward).toBeGreaterThanOrEqual(1);
    expect(counts.backpropInput).toBe(1);
    expect(counts.backpropFilter).toBe(1);
    expect(counts.fallback).toBe(0);
    expect(relErr(got.y, ref.y), 'y').toBeLessThan(1e-4);
    for (const k of Object.keys(ref.grads)) expect(relErr(got.grads[k]!, ref.grads[k]!), `d${k}`).toBeLessThan(1e-4);
  });

  it('does not leak tensors across forward + backward', async () => {
    await tf.setBackend('webgpu');
    const c = cases[2]!;
    await run(c, 'webgpu'); // warm (placeholders, compiled programs)
    const before = tf.memory().numTensors;
    await run(c, 'webgpu');
    expect(tf.memory().numTensors).toBe(before);
  });

  it.runIf(REQUIRE_WEBGPU || webgpuStatus.ok)('runs on a real adapter', () => {
    expect(webgpuStatus.ok).toBe(true);
  });
});
