/**
 * The one list of GMR op cases (shapes, strides, dilations, padding modes, groups, data formats, dims 1/2/3,
 * transposed) that core runs on cpu against its float64 reference and plain-tfjs gradients, and that each kernel
 * package runs on its backend against core's composed path on cpu: as tfjs's backends run tfjs-core's own tests,
 * a new backend proves itself on the cases core is checked on. Add a case here and every backend runs it.
 *
 * Platform-neutral (no Node module): kernels-webgpu's Chromium page bundles it.
 */
import * as tf from '@tensorflow/tfjs-core';
import {
  defaultNumRings,
  gmrConv1d,
  gmrConv2d,
  gmrConv3d,
  gmrConvTranspose2d,
  initialLogSigmas,
  type GMRConvOptions,
} from '@gmr-conv/core';
import { pseudoRandom, relError } from './numeric.js';

export interface OpCase {
  name: string;
  /** Spatial rank. */
  rank: 1 | 2 | 3;
  /** gmrConvTranspose2d (rank 2 only); its weight is [cin, cout/groups, n]. */
  transposed?: boolean;
  /** Batch size (2 when absent). */
  batch?: number;
  cin: number;
  cout: number;
  /** Spatial size, one entry per axis (depth, height, width / length). */
  size: number[];
  /** Gaussian-smoothed rings (log σ given) or binary rings (log σ absent). */
  gaussian: boolean;
  bias: boolean;
  /** A user index matrix of overlapping, non-symmetric rings (exercises the general per-tap loop). */
  randomMasks?: boolean;
  opts: GMRConvOptions;
}

const CF = 'channelsFirst';

// Channel counts of real networks (16–72) and one input channel are there for the native kernels' vector blocks
// (16 lanes, the last one masked; 64 channels at a time; a first layer vectorised along the row).
const CASES_2D: OpCase[] = [
  {
    // the fused activation: in the output pass outside the tape, tf.relu after the kernel under it
    name: 'k5 same bias gaussian relu',
    rank: 2,
    cin: 3,
    cout: 4,
    size: [8, 7],
    gaussian: true,
    bias: true,
    opts: { kernelSize: 5, padding: 'same', activation: 'relu' },
  },
  {
    name: 'k7 s2 CF binary relu, 16 in',
    rank: 2,
    cin: 16,
    cout: 5,
    size: [9, 9],
    gaussian: false,
    bias: false,
    opts: { kernelSize: 7, strides: 2, padding: 'same', dataFormat: CF, activation: 'relu' },
  },
  {
    name: 'k5 same bias gaussian',
    rank: 2,
    cin: 3,
    cout: 4,
    size: [8, 7],
    gaussian: true,
    bias: true,
    opts: { kernelSize: 5, padding: 'same' },
  },
  {
    name: 'k3 s2 valid CF binary',
    rank: 2,
    cin: 2,
    cout: 3,
    size: [9, 8],
    gaussian: false,
    bias: false,
    opts: { kernelSize: 3, strides: 2, padding: 'valid', dataFormat: CF },
  },
  {
    name: 'k3 d2 explicit pads groups2 bias',
    rank: 2,
    cin: 4,
    cout: 4,
    size: [8, 9],
    gaussian: true,
    bias: true,
    opts: {
      kernelSize: 3,
      dilations: 2,
      padding: [
        [1, 2],
        [2, 1],
      ],
      groups: 2,
    },
  },
  {
    name: 'k5 s2 d2 same depthwise CF',
    rank: 2,
    cin: 3,
    cout: 6,
    size: [10, 9],
    gaussian: true,
    bias: true,
    opts: { kernelSize: 5, strides: 2, dilations: 2, padding: 'same', groups: 3, dataFormat: CF },
  },
  {
    name: 'k3 s2 same binary groups2 CF bias',
    rank: 2,
    cin: 4,
    cout: 2,
    size: [7, 8],
    gaussian: false,
    bias: true,
    opts: { kernelSize: 3, strides: 2, padding: 'same', groups: 2, dataFormat: CF },
  },
  {
    name: 'k5 s2 padding 1 depthwise',
    rank: 2,
    cin: 3,
    cout: 3,
    size: [9, 9],
    gaussian: true,
    bias: false,
    opts: { kernelSize: 5, strides: 2, padding: 1, groups: 3 },
  },
  {
    name: 'k3 reflect explicit pads bias',
    rank: 2,
    cin: 2,
    cout: 2,
    size: [6, 7],
    gaussian: true,
    bias: true,
    opts: {
      kernelSize: 3,
      padding: [
        [1, 2],
        [2, 1],
      ],
      paddingMode: 'reflect',
    },
  },
  {
    name: 'k5 replicate s2',
    rank: 2,
    cin: 2,
    cout: 3,
    size: [6, 6],
    gaussian: true,
    bias: false,
    opts: { kernelSize: 5, padding: 2, paddingMode: 'replicate', strides: 2 },
  },
  {
    name: 'k3 circular CF bias',
    rank: 2,
    cin: 2,
    cout: 2,
    size: [6, 6],
    gaussian: false,
    bias: true,
    opts: { kernelSize: 3, padding: 1, paddingMode: 'circular', dataFormat: CF },
  },
  {
    name: 'k3 circular groups2 binary',
    rank: 2,
    cin: 2,
    cout: 4,
    size: [7, 6],
    gaussian: false,
    bias: false,
    opts: { kernelSize: 3, padding: 1, paddingMode: 'circular', groups: 2 },
  },
  {
    name: 'k3 s2 overlapping user masks groups2',
    rank: 2,
    cin: 4,
    cout: 2,
    size: [7, 6],
    gaussian: true,
    bias: true,
    randomMasks: true,
    opts: { kernelSize: 3, strides: 2, padding: 'same', groups: 2 },
  },
  {
    name: 'k4 even non-circular same batch1',
    rank: 2,
    batch: 1,
    cin: 2,
    cout: 2,
    size: [7, 7],
    gaussian: true,
    bias: true,
    opts: { kernelSize: 4, forceCircular: false, padding: 'same' },
  },
  {
    name: 'k9 same 16→8',
    rank: 2,
    cin: 16,
    cout: 8,
    size: [12, 12],
    gaussian: true,
    bias: true,
    opts: { kernelSize: 9, padding: 'same' },
  },
  {
    name: 'k5 same 24→8 (masked lanes)',
    rank: 2,
    cin: 24,
    cout: 8,
    size: [7, 6],
    gaussian: true,
    bias: false,
    opts: { kernelSize: 5, padding: 'same' },
  },
  {
    name: 'k3 same 72→4 binary (two channel blocks)',
    rank: 2,
    cin: 72,
    cout: 4,
    size: [5, 6],
    gaussian: false,
    bias: true,
    opts: { kernelSize: 3, padding: 'same' },
  },
  {
    name: 'k9 same 1→6 (one input channel)',
    rank: 2,
    cin: 1,
    cout: 6,
    size: [11, 21],
    gaussian: true,
    bias: true,
    opts: { kernelSize: 9, padding: 'same' },
  },
  {
    name: 'k5 d2 strides [2, 1] reflect 1→3',
    rank: 2,
    cin: 1,
    cout: 3,
    size: [10, 9],
    gaussian: true,
    bias: false,
    opts: { kernelSize: 5, dilations: 2, strides: [2, 1], padding: 4, paddingMode: 'reflect' },
  },
  {
    name: 'k3 circular 1→2 CF',
    rank: 2,
    cin: 1,
    cout: 2,
    size: [6, 19],
    gaussian: false,
    bias: false,
    opts: { kernelSize: 3, padding: 1, paddingMode: 'circular', dataFormat: CF },
  },
];

const CASES_3D: OpCase[] = [
  {
    name: '3D k3 same gaussian relu',
    rank: 3,
    cin: 2,
    cout: 3,
    size: [5, 6, 5],
    gaussian: true,
    bias: false,
    opts: { kernelSize: 3, padding: 'same', activation: 'relu' },
  },
  {
    name: '3D k3 same bias gaussian',
    rank: 3,
    cin: 2,
    cout: 3,
    size: [5, 6, 5],
    gaussian: true,
    bias: true,
    opts: { kernelSize: 3, padding: 'same' },
  },
  {
    name: '3D k3 s2 valid CF binary',
    rank: 3,
    cin: 2,
    cout: 2,
    size: [5, 5, 6],
    gaussian: false,
    bias: false,
    opts: { kernelSize: 3, strides: 2, padding: 'valid', dataFormat: CF },
  },
  {
    name: '3D k5 explicit pads groups2',
    rank: 3,
    cin: 4,
    cout: 2,
    size: [6, 5, 5],
    gaussian: true,
    bias: true,
    opts: {
      kernelSize: 5,
      padding: [
        [2, 1],
        [1, 2],
        [2, 2],
      ],
      groups: 2,
    },
  },
  {
    name: '3D k3 d2 reflect depthwise CF',
    rank: 3,
    cin: 2,
    cout: 4,
    size: [6, 6, 5],
    gaussian: true,
    bias: true,
    opts: { kernelSize: 3, dilations: 2, padding: 2, paddingMode: 'reflect', groups: 2, dataFormat: CF },
  },
  {
    name: '3D k3 d[2,1,1] explicit pads reflect groups2 bias',
    rank: 3,
    cin: 4,
    cout: 4,
    size: [5, 5, 6],
    gaussian: true,
    bias: true,
    opts: {
      kernelSize: 3,
      dilations: [2, 1, 1],
      padding: [
        [2, 1],
        [1, 1],
        [0, 2],
      ],
      paddingMode: 'reflect',
      groups: 2,
    },
  },
  {
    name: '3D k3 circular s2 bias',
    rank: 3,
    cin: 2,
    cout: 2,
    size: [5, 4, 5],
    gaussian: true,
    bias: true,
    opts: { kernelSize: 3, padding: 1, strides: 2, paddingMode: 'circular' },
  },
  {
    name: '3D k3 s2 circular groups2 CF',
    rank: 3,
    cin: 2,
    cout: 4,
    size: [6, 5, 5],
    gaussian: true,
    bias: false,
    opts: { kernelSize: 3, strides: 2, padding: 1, groups: 2, paddingMode: 'circular', dataFormat: CF },
  },
  {
    name: '3D k3 s[1,2,1] same replicate CF bias',
    rank: 3,
    cin: 2,
    cout: 2,
    size: [5, 4, 5],
    gaussian: true,
    bias: true,
    opts: { kernelSize: 3, strides: [1, 2, 1], padding: 'same', paddingMode: 'replicate', dataFormat: CF },
  },
  {
    name: '3D k3 replicate user masks',
    rank: 3,
    cin: 2,
    cout: 2,
    size: [4, 4, 4],
    gaussian: true,
    bias: false,
    randomMasks: true,
    opts: { kernelSize: 3, padding: 1, paddingMode: 'replicate' },
  },
  {
    name: '3D k4 even non-circular same',
    rank: 3,
    cin: 2,
    cout: 2,
    size: [5, 5, 5],
    gaussian: true,
    bias: true,
    opts: { kernelSize: 4, forceCircular: false, padding: 'same' },
  },
];

const CASES_1D: OpCase[] = [
  {
    name: '1D k5 same bias relu',
    rank: 1,
    cin: 3,
    cout: 2,
    size: [11],
    gaussian: true,
    bias: true,
    opts: { kernelSize: 5, padding: 'same', activation: 'relu' },
  },
  {
    name: '1D k5 same bias gaussian',
    rank: 1,
    cin: 3,
    cout: 2,
    size: [11],
    gaussian: true,
    bias: true,
    opts: { kernelSize: 5, padding: 'same' },
  },
  {
    name: '1D k5 s2 replicate bias',
    rank: 1,
    cin: 2,
    cout: 3,
    size: [12],
    gaussian: true,
    bias: true,
    opts: { kernelSize: 5, strides: 2, padding: 2, paddingMode: 'replicate' },
  },
  {
    name: '1D k3 same reflect CF binary',
    rank: 1,
    cin: 2,
    cout: 2,
    size: [10],
    gaussian: false,
    bias: false,
    opts: { kernelSize: 3, padding: 'same', paddingMode: 'reflect', dataFormat: CF },
  },
  {
    name: '1D k3 s2 d2 reflect CF groups2',
    rank: 1,
    cin: 4,
    cout: 2,
    size: [12],
    gaussian: true,
    bias: false,
    opts: { kernelSize: 3, strides: 2, dilations: 2, padding: 2, paddingMode: 'reflect', groups: 2, dataFormat: CF },
  },
  {
    name: '1D k4 even circular binary',
    rank: 1,
    cin: 2,
    cout: 3,
    size: [9],
    gaussian: false,
    bias: true,
    opts: { kernelSize: 4, forceCircular: false, padding: [[1, 2]], paddingMode: 'circular' },
  },
];

const CASES_TRANSPOSED: OpCase[] = [
  {
    name: 'T2D k3 s2 bias relu',
    rank: 2,
    transposed: true,
    cin: 2,
    cout: 3,
    size: [4, 5],
    gaussian: true,
    bias: true,
    opts: { kernelSize: 3, strides: 2, padding: 1, outputPadding: 1, activation: 'relu' },
  },
  {
    name: 'T2D k3 s2 padding 1 outputPadding 1 bias',
    rank: 2,
    transposed: true,
    cin: 2,
    cout: 3,
    size: [4, 5],
    gaussian: true,
    bias: true,
    opts: { kernelSize: 3, strides: 2, padding: 1, outputPadding: 1 },
  },
  {
    name: 'T2D k5 s2 d2 groups2 CF',
    rank: 2,
    transposed: true,
    cin: 4,
    cout: 4,
    size: [4, 4],
    gaussian: true,
    bias: false,
    opts: { kernelSize: 5, strides: 2, dilations: 2, padding: 2, groups: 2, dataFormat: CF },
  },
];

/** Every case, 2D first (the kernels every backend has), then 3D, 1D and transposed 2D. */
export const OP_CASES: readonly OpCase[] = [...CASES_2D, ...CASES_3D, ...CASES_1D, ...CASES_TRANSPOSED];

/** The cases of one op: rank 1, 2 or 3, or 'transposed' (gmrConvTranspose2d). */
export function opCasesOf(kind: 1 | 2 | 3 | 'transposed'): OpCase[] {
  return OP_CASES.filter((c) => (kind === 'transposed' ? c.transposed === true : c.rank === kind && !c.transposed));
}

export function opCaseNumRings(c: OpCase): number {
  return defaultNumRings(c.opts.kernelSize as number, c.opts.forceCircular !== false);
}

/** The op's output and the gradient of sum(y · r) for each input, named x, weight, logSigmas, bias. */
export interface OpCaseResult {
  y: Float32Array;
  shape: number[];
  grads: Record<string, Float32Array>;
}

type GMROp = (x: tf.Tensor, weights: Parameters<typeof gmrConv2d>[1], options: GMRConvOptions) => tf.Tensor;
const OPS: Record<1 | 2 | 3, GMROp> = { 1: gmrConv1d, 2: gmrConv2d, 3: gmrConv3d };

/**
 * Runs a case's public op on `backend` (which it activates): y outside the tape (the inference path), then y and
 * every gradient through tf.grads; `options` are added to the case's (e.g. `{ path: 'two-stage' }`). Leaves no
 * tensor behind.
 */
export async function runOpCase(
  c: OpCase,
  backend: string,
  options: Partial<GMRConvOptions> = {},
): Promise<OpCaseResult> {
  await tf.setBackend(backend);
  const k = c.opts.kernelSize as number;
  const n = opCaseNumRings(c);
  const cf = c.opts.dataFormat === CF;
  const b = c.batch ?? 2;
  const groups = c.opts.groups ?? 1;
  const xShape = cf ? [b, c.cin, ...c.size] : [b, ...c.size, c.cin];
  const weightShape = c.transposed ? [c.cin, c.cout / groups, n] : [c.cout, c.cin / groups, n];
  const x = tf.tensor(
    pseudoRandom(
      xShape.reduce((p, q) => p * q),
      11,
    ),
    xShape,
  );
  const weight = tf.tensor(
    pseudoRandom(
      weightShape.reduce((p, q) => p * q),
      12,
    ),
    weightShape,
  );
  const params: tf.Tensor[] = [x, weight];
  const names = ['x', 'weight'];
  if (c.gaussian) {
    // Perturbed so that the σ gradient is not symmetric; the first one clipped (sigmaMin) to exercise clipping.
    const base = initialLogSigmas(k, n);
    params.push(tf.tensor1d(Float32Array.from(base, (v, i) => (i === 0 ? -6 : v + 0.1 * i))));
    names.push('logSigmas');
  }
  if (c.bias) {
    params.push(tf.tensor1d(pseudoRandom(c.cout, 13)));
    names.push('bias');
  }
  const indexMat = c.randomMasks ? tf.tensor2d(pseudoRandom(n * k ** c.rank, 15), [n, k ** c.rank]) : null;
  const op: GMROp = c.transposed ? gmrConvTranspose2d : OPS[c.rank];
  const f = (...p: tf.Tensor[]) => {
    let i = 2;
    const logSigmas = c.gaussian ? p[i++]! : null;
    const bias = c.bias ? p[i++]! : null;
    return op(p[0]!, { weight: p[1]!, logSigmas, bias, indexMat }, { ...c.opts, checkFinite: false, ...options });
  };
  const y = f(...params);
  const dy = tf.tensor(pseudoRandom(y.size, 14), y.shape);
  const gs = tf.grads(f)(params, dy);
  const out: OpCaseResult = { y: (await y.data()) as Float32Array, shape: y.shape, grads: {} };
  for (let i = 0; i < gs.length; i++) out.grads[names[i]!] = (await gs[i]!.data()) as Float32Array;
  tf.dispose([y, dy, ...gs, ...params, ...(indexMat ? [indexMat] : [])]);
  return out;
}

/** Relative error of y and of each gradient of `got` against `ref` (y, dx, dweight, dlogSigmas, dbias). */
export function opCaseErrors(got: OpCaseResult, ref: OpCaseResult): Record<string, number> {
  const e: Record<string, number> = { y: got.shape.join() === ref.shape.join() ? relError(got.y, ref.y) : Infinity };
  for (const k of Object.keys(ref.grads)) e[`d${k}`] = got.grads[k] ? relError(got.grads[k]!, ref.grads[k]!) : Infinity;
  return e;
}
