/**
 * The comparison cases shared by the Node tests (vitest) and the headless-Chromium page (tools/browser/page.ts):
 * a GMR conv op's output and every gradient (x, θ, log σ, bias) on one backend, for comparing the webgpu kernels with
 * core's composed path on cpu. Platform-neutral (no Node module): the page bundles it.
 */
import * as tf from '@tensorflow/tfjs-core';
import { gmrConv1d, gmrConv2d, gmrConv3d, initialLogSigmas, defaultNumRings, type GMRConvOptions } from '@gmr-conv/core';
import { pseudoRandom, relError } from '@gmr-conv/test-utils/numeric';
/** Deterministic data in [-1, 1); relative error (@gmr-conv/test-utils/numeric). */
export const rand = pseudoRandom;
export const relErr = relError;

export interface Case {
  name: string;
  /** Spatial rank (1, 2 or 3); 2 when absent. */
  rank?: 1 | 2 | 3;
  batch?: number;
  cin: number;
  cout: number;
  /** Spatial size, one entry per axis (depth, height, width / length). */
  size: number[];
  gaussian: boolean;
  bias: boolean;
  /** User masks with overlapping, non-symmetric rings (exercises the general per-tap loop). */
  randomMasks?: boolean;
  opts: GMRConvOptions;
}

export interface Result {
  y: Float32Array;
  grads: Record<string, Float32Array>;
}

const CF = 'channelsFirst';

export const CASES_2D: Case[] = [
  { name: 'k5 same bias gaussian', cin: 3, cout: 4, size: [8, 7], gaussian: true, bias: true, opts: { kernelSize: 5, padding: 'same' } },
  { name: 'k3 s2 valid CF binary', cin: 2, cout: 3, size: [9, 8], gaussian: false, bias: false, opts: { kernelSize: 3, strides: 2, padding: 'valid', dataFormat: CF } },
  { name: 'k3 d2 explicit pads groups2 bias', cin: 4, cout: 4, size: [8, 9], gaussian: true, bias: true, opts: { kernelSize: 3, dilations: 2, padding: [[1, 2], [2, 1]], groups: 2 } },
  { name: 'k5 s2 d2 same depthwise CF', cin: 3, cout: 6, size: [10, 9], gaussian: true, bias: true, opts: { kernelSize: 5, strides: 2, dilations: 2, padding: 'same', groups: 3, dataFormat: CF } },
  { name: 'k3 s2 same binary groups2 CF bias', cin: 4, cout: 2, size: [7, 8], gaussian: false, bias: true, opts: { kernelSize: 3, strides: 2, padding: 'same', groups: 2, dataFormat: CF } },
  { name: 'k5 s2 d1 padding 1 depthwise CL', cin: 3, cout: 3, size: [9, 9], gaussian: true, bias: false, opts: { kernelSize: 5, strides: 2, padding: 1, groups: 3 } },
  { name: 'k3 reflect bias', cin: 2, cout: 2, size: [6, 7], gaussian: true, bias: true, opts: { kernelSize: 3, padding: [[1, 2], [2, 1]], paddingMode: 'reflect' } },
  { name: 'k5 replicate s2', cin: 2, cout: 3, size: [6, 6], gaussian: true, bias: false, opts: { kernelSize: 5, padding: 2, paddingMode: 'replicate', strides: 2 } },
  { name: 'k3 circular CF bias', cin: 2, cout: 2, size: [6, 6], gaussian: false, bias: true, opts: { kernelSize: 3, padding: 1, paddingMode: 'circular', dataFormat: CF } },
  { name: 'k3 s2 overlapping user masks groups2', cin: 4, cout: 2, size: [7, 6], gaussian: true, bias: true, randomMasks: true, opts: { kernelSize: 3, strides: 2, padding: 'same', groups: 2 } },
  { name: 'k4 even non-circular same', cin: 2, cout: 2, size: [7, 7], gaussian: true, bias: true, opts: { kernelSize: 4, forceCircular: false, padding: 'same' } },
];

export const CASES_3D: Case[] = [
  { name: '3D k3 same bias gaussian', rank: 3, cin: 2, cout: 3, size: [5, 6, 5], gaussian: true, bias: true, opts: { kernelSize: 3, padding: 'same' } },
  { name: '3D k3 s2 valid CF binary', rank: 3, cin: 2, cout: 2, size: [5, 5, 6], gaussian: false, bias: false, opts: { kernelSize: 3, strides: 2, padding: 'valid', dataFormat: CF } },
  { name: '3D k5 d1 explicit pads groups2', rank: 3, cin: 4, cout: 2, size: [6, 5, 5], gaussian: true, bias: true, opts: { kernelSize: 5, padding: [[2, 1], [1, 2], [2, 2]], groups: 2 } },
  { name: '3D k3 d2 reflect depthwise CF', rank: 3, cin: 2, cout: 4, size: [6, 6, 5], gaussian: true, bias: true, opts: { kernelSize: 3, dilations: 2, padding: 2, paddingMode: 'reflect', groups: 2, dataFormat: CF } },
  { name: '3D k3 circular s2 bias', rank: 3, cin: 2, cout: 2, size: [5, 4, 5], gaussian: true, bias: true, opts: { kernelSize: 3, padding: 1, strides: 2, paddingMode: 'circular' } },
  { name: '3D k3 replicate user masks', rank: 3, cin: 2, cout: 2, size: [4, 4, 4], gaussian: true, bias: false, randomMasks: true, opts: { kernelSize: 3, padding: 1, paddingMode: 'replicate' } },
  { name: '3D k4 even non-circular same', rank: 3, cin: 2, cout: 2, size: [5, 5, 5], gaussian: true, bias: true, opts: { kernelSize: 4, forceCircular: false, padding: 'same' } },
];

export const CASES_1D: Case[] = [
  { name: '1D k5 same bias gaussian', rank: 1, cin: 3, cout: 2, size: [11], gaussian: true, bias: true, opts: { kernelSize: 5, padding: 'same' } },
  { name: '1D k3 s2 d2 reflect CF groups', rank: 1, cin: 4, cout: 2, size: [12], gaussian: true, bias: false, opts: { kernelSize: 3, strides: 2, dilations: 2, padding: 2, paddingMode: 'reflect', groups: 2, dataFormat: CF } },
  { name: '1D k4 even circular binary', rank: 1, cin: 2, cout: 3, size: [9], gaussian: false, bias: true, opts: { kernelSize: 4, forceCircular: false, padding: [[1, 2]], paddingMode: 'circular' } },
];



export function caseNumRings(c: Case): number {
  return defaultNumRings(c.opts.kernelSize as number, c.opts.forceCircular !== false);
}

const OPS = { 1: gmrConv1d, 2: gmrConv2d, 3: gmrConv3d } as const;

/** y and the gradients of the case's op on `backend` (which it activates). */
export async function runCase(c: Case, backend: string): Promise<Result> {
  await tf.setBackend(backend);
  const rank = c.rank ?? 2;
  const k = c.opts.kernelSize as number;
  const n = caseNumRings(c);
  const cf = c.opts.dataFormat === CF;
  const b = c.batch ?? 2;
  const xShape = cf ? [b, c.cin, ...c.size] : [b, ...c.size, c.cin];
  const groups = c.opts.groups ?? 1;
  const x = tf.tensor(rand(xShape.reduce((p, q) => p * q), 11), xShape);
  const weight = tf.tensor(rand(c.cout * (c.cin / groups) * n, 12), [c.cout, c.cin / groups, n]);
  const params: tf.Tensor[] = [x, weight];
  const names = ['x', 'weight'];
  if (c.gaussian) {
    // Perturbed so that the σ gradient is not symmetric; the first one clipped (sigmaMin) to exercise clipping.
    const base = initialLogSigmas(k, n);
    params.push(tf.tensor1d(Float32Array.from(base, (v, i) => (i === 0 ? -6 : v + 0.1 * i))));
    names.push('logSigmas');
  }
  if (c.bias) {
    params.push(tf.tensor1d(rand(c.cout, 13)));
    names.push('bias');
  }
  const indexMat = c.randomMasks ? tf.tensor2d(rand(n * k ** rank, 15), [n, k ** rank]) : null;
  const op = OPS[rank];
  const f = (...p: tf.Tensor[]) => {
    let i = 2;
    const ls = c.gaussian ? p[i++]! : null;
    const bi = c.bias ? p[i++]! : null;
    return op(p[0]!, { weight: p[1]!, logSigmas: ls, bias: bi, indexMat }, { ...c.opts, checkFinite: false });
  };
  const y = f(...params);
  const dy = tf.tensor(rand(y.size, 14), y.shape);
  const gs = tf.grads(f)(params, dy);
  const out: Result = { y: (await y.data()) as Float32Array, grads: {} };
  for (let i = 0; i < gs.length; i++) out.grads[names[i]!] = (await gs[i]!.data()) as Float32Array;
  tf.dispose([y, dy, ...gs, ...params, ...(indexMat ? [indexMat] : [])]);
  return out;
}

/** Relative error of y and each gradient of `got` against `ref`. */
export function caseErrors(got: Result, ref: Result): Record<string, number> {
  const e: Record<string, number> = { y: relErr(got.y, ref.y) };
  for (const k of Object.keys(ref.grads)) e[`d${k}`] = got.grads[k] ? relErr(got.grads[k]!, ref.grads[k]!) : Infinity;
  return e;
}
