/**
 * Shared helpers for the ops_*.test.ts files:
 *  - seeded random numbers,
 *  - an independent float64 GMR reference (ring masks from src/rings, but the
 *    Gaussian matrix, the kernel synthesis, padding resolution, layouts and the
 *    convolution itself are computed here / in @gmr-conv/test-utils/oracle/dense_reference),
 *  - a GMR convolution made of plain tfjs ops (tf.conv2d / conv1d / conv3d /
 *    conv2dTranspose and their own tfjs gradients) for gradient comparisons,
 *  - error metrics.
 */
import * as tf from '@tensorflow/tfjs-core';
import { ringMasks, gmrConv1d, gmrConv2d, gmrConv3d, gmrConvTranspose2d } from '../../src/index.js';
import {
  denseConvReference,
  denseConvTransposeReference,
  sourceIndex,
} from '@gmr-conv/test-utils/oracle/dense_reference';
import { relError } from '@gmr-conv/test-utils/oracle/load';

// ---------------------------------------------------------------- random numbers

/** mulberry32, a small seeded PRNG. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function randnArray(n: number, seed: number, scale = 1): Float32Array {
  const r = rng(seed);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const u = Math.max(r(), 1e-12);
    const v = r();
    out[i] = scale * Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  }
  return out;
}

export const prod = (s: number[]) => s.reduce((a, b) => a * b, 1);

export function randn(shape: number[], seed: number, scale = 1): tf.Tensor {
  return tf.tensor(randnArray(prod(shape), seed, scale), shape, 'float32');
}

// ---------------------------------------------------------------- layouts

/** out = transpose(data, perm) for a row-major array. */
export function permute(
  data: ArrayLike<number>,
  shape: number[],
  perm: number[],
): { data: Float64Array; shape: number[] } {
  const outShape = perm.map((p) => shape[p]);
  const inStrides = new Array(shape.length).fill(1);
  for (let i = shape.length - 2; i >= 0; i--) inStrides[i] = inStrides[i + 1] * shape[i + 1];
  const out = new Float64Array(data.length);
  const idx = new Array(outShape.length).fill(0);
  for (let flat = 0; flat < data.length; flat++) {
    let src = 0;
    for (let a = 0; a < outShape.length; a++) src += idx[a] * inStrides[perm[a]];
    out[flat] = data[src];
    for (let a = outShape.length - 1; a >= 0; a--) {
      if (++idx[a] < outShape[a]) break;
      idx[a] = 0;
    }
  }
  return { data: out, shape: outShape };
}

const range = (a: number, b: number) => Array.from({ length: b - a }, (_, i) => a + i);
/** Permutation channels-last → channels-first for a tensor of the given rank. */
export const toFirstPerm = (rank: number) => [0, rank - 1, ...range(1, rank - 1)];
/** Permutation channels-first → channels-last. */
export const toLastPerm = (rank: number) => [0, ...range(2, rank), 1];

// ---------------------------------------------------------------- float64 GMR kernel

export interface SigmaClipSpec {
  clipSigma?: boolean;
  sigmaMin?: number;
  sigmaMax?: number;
}

/** P[j, i] = exp(-½((i−j)/σ_j)²) / (σ_j · 2.5066) in float64, σ clamped to [1e-2, 2n] by default. */
export function gaussianMatrix64(logSigmas: ArrayLike<number>, clip: SigmaClipSpec = {}): Float64Array {
  const n = logSigmas.length;
  const lo = clip.sigmaMin ?? 1e-2;
  const hi = clip.sigmaMax ?? 2 * n;
  const P = new Float64Array(n * n);
  for (let j = 0; j < n; j++) {
    let s = Math.exp(logSigmas[j]);
    if (clip.clipSigma ?? true) s = Math.min(Math.max(s, lo), hi);
    for (let i = 0; i < n; i++) P[j * n + i] = Math.exp(-0.5 * ((i - j) / s) ** 2) / (s * 2.5066);
  }
  return P;
}

/** Ring masks [n, taps] (float64 copy of src/rings). */
export function masks64(
  kernelSize: number[],
  forceCircular = true,
  numRings: number | null = null,
): { masks: Float64Array; n: number } {
  const g = ringMasks(kernelSize, { forceCircular, numRings });
  return { masks: Float64Array.from(g.masks), n: g.numRings };
}

/** K[a, b, p] = Σ_i θ[a, b, i] · G[i, p], G = P·M (or M). Returns [A, B, taps] flat. */
export function synthesize64(
  theta: ArrayLike<number>,
  thetaShape: number[],
  masks: ArrayLike<number>,
  logSigmas: ArrayLike<number> | null,
  clip: SigmaClipSpec = {},
): Float64Array {
  const [A, B, n] = thetaShape;
  const taps = masks.length / n;
  let G: ArrayLike<number> = masks;
  if (logSigmas) {
    const P = gaussianMatrix64(logSigmas, clip);
    const g = new Float64Array(n * taps);
    for (let i = 0; i < n; i++)
      for (let l = 0; l < n; l++) for (let p = 0; p < taps; p++) g[i * taps + p] += P[i * n + l] * masks[l * taps + p];
    G = g;
  }
  const K = new Float64Array(A * B * taps);
  for (let ab = 0; ab < A * B; ab++)
    for (let i = 0; i < n; i++) {
      const t = theta[ab * n + i];
      for (let p = 0; p < taps; p++) K[ab * taps + p] += t * G[i * taps + p];
    }
  return K;
}

// ---------------------------------------------------------------- padding resolution (independent)

export type PadSpec = 'same' | 'valid' | number | number[] | Array<[number, number]>;

/** tfjs 'same' (output ceil(L/s), extra padding after), numbers, tuples, pairs. */
export function resolvePadsRef(
  padding: PadSpec,
  spatial: number[],
  k: number[],
  s: number[],
  d: number[],
): Array<[number, number]> {
  if (padding === 'valid') return spatial.map(() => [0, 0]);
  if (padding === 'same') {
    return spatial.map((L, i) => {
      const out = Math.ceil(L / s[i]);
      const total = Math.max(0, (out - 1) * s[i] + d[i] * (k[i] - 1) + 1 - L);
      return [Math.floor(total / 2), total - Math.floor(total / 2)];
    });
  }
  if (typeof padding === 'number') return spatial.map(() => [padding, padding]);
  return (padding as Array<number | [number, number]>).map((p) => (typeof p === 'number' ? [p, p] : [p[0], p[1]]));
}

// ---------------------------------------------------------------- the reference op

export type Mode = 'zeros' | 'reflect' | 'replicate' | 'circular';

export interface CaseSpec {
  rank: 1 | 2 | 3;
  transposed?: boolean;
  batch?: number;
  cin: number;
  cout: number;
  spatial: number[];
  kernelSize: number | number[];
  forceCircular?: boolean;
  numRings?: number | null;
  strides?: number | number[];
  dilations?: number | number[];
  padding?: PadSpec;
  paddingMode?: Mode;
  groups?: number;
  bias?: boolean;
  /** 'gauss' (default): logSigmas given; 'binary': logSigmas null. */
  rings?: 'gauss' | 'binary';
  /** Explicit log σ values (default: init σ perturbed). */
  logSigmas?: number[];
  dataFormat?: 'channelsLast' | 'channelsFirst';
  outputPadding?: number | number[];
  clipSigma?: boolean;
  seed?: number;
}

const tuple = (v: number | number[] | undefined, rank: number, dflt: number) =>
  v === undefined ? new Array(rank).fill(dflt) : typeof v === 'number' ? new Array(rank).fill(v) : v.slice();

export interface CaseData {
  spec: CaseSpec;
  kernelSize: number[];
  strides: number[];
  dilations: number[];
  groups: number;
  n: number;
  /** x in the op's layout (dataFormat). */
  xShape: number[];
  x: Float32Array;
  weightShape: number[];
  weight: Float32Array;
  logSigmas: Float32Array | null;
  bias: Float32Array | null;
  masks: Float64Array;
  dataFormat: 'channelsLast' | 'channelsFirst';
}

/** Deterministic random data for a case. */
export function makeCase(spec: CaseSpec): CaseData {
  const rank = spec.rank;
  const kernelSize = tuple(spec.kernelSize, rank, 1);
  const strides = tuple(spec.strides, rank, 1);
  const dilations = tuple(spec.dilations, rank, 1);
  const groups = spec.groups ?? 1;
  const seed = spec.seed ?? 1234;
  const { masks, n } = masks64(kernelSize, spec.forceCircular ?? true, spec.numRings ?? null);
  const dataFormat = spec.dataFormat ?? 'channelsLast';
  const b = spec.batch ?? 1;
  const xShape = dataFormat === 'channelsLast' ? [b, ...spec.spatial, spec.cin] : [b, spec.cin, ...spec.spatial];
  const weightShape = spec.transposed ? [spec.cin, spec.cout / groups, n] : [spec.cout, spec.cin / groups, n];
  const rings = spec.rings ?? 'gauss';
  let logSigmas: Float32Array | null = null;
  if (rings === 'gauss') {
    if (spec.logSigmas) logSigmas = Float32Array.from(spec.logSigmas);
    else {
      const r = rng(seed + 7);
      const base = Math.log(kernelSize[0] / (2 * Math.max(n - 1, 1)) / 2.355);
      logSigmas = Float32Array.from({ length: n }, () => base + (r() - 0.5) * 0.7);
    }
  }
  return {
    spec,
    kernelSize,
    strides,
    dilations,
    groups,
    n,
    xShape,
    x: randnArray(prod(xShape), seed),
    weightShape,
    weight: randnArray(prod(weightShape), seed + 1, 0.5),
    logSigmas,
    bias: spec.bias ? randnArray(spec.cout, seed + 2, 0.5) : null,
    masks,
    dataFormat,
  };
}

/** Op options for a case (without path). */
export function caseOptions(c: CaseData): Record<string, unknown> {
  const s = c.spec;
  const o: Record<string, unknown> = {
    kernelSize: s.kernelSize,
    dataFormat: c.dataFormat,
    forceCircular: s.forceCircular ?? true,
  };
  if (s.strides !== undefined) o.strides = s.strides;
  if (s.dilations !== undefined) o.dilations = s.dilations;
  if (s.padding !== undefined) o.padding = s.padding;
  if (s.paddingMode !== undefined) o.paddingMode = s.paddingMode;
  if (s.groups !== undefined) o.groups = s.groups;
  if (s.numRings != null) o.numRings = s.numRings;
  if (s.outputPadding !== undefined) o.outputPadding = s.outputPadding;
  if (s.clipSigma !== undefined) o.clipSigma = s.clipSigma;
  return o;
}

/** The case's tensors (caller disposes). */
export function caseTensors(c: CaseData) {
  return {
    x: tf.tensor(c.x, c.xShape, 'float32'),
    weight: tf.tensor(c.weight, c.weightShape, 'float32'),
    logSigmas: c.logSigmas ? tf.tensor1d(c.logSigmas, 'float32') : null,
    bias: c.bias ? tf.tensor1d(c.bias, 'float32') : null,
    indexMat: tf.tensor2d(Float32Array.from(c.masks), [c.n, c.masks.length / c.n], 'float32'),
  };
}

/** Resolved pads / output padding of a case, computed here (not by src). */
export function resolveCase(c: CaseData): { pads: Array<[number, number]>; outputPadding: number[] } {
  const s = c.spec;
  const rank = s.rank;
  const spatial = s.spatial;
  if (!s.transposed) {
    return {
      pads: resolvePadsRef(s.padding ?? 'valid', spatial, c.kernelSize, c.strides, c.dilations),
      outputPadding: [],
    };
  }
  const outputPadding = tuple(s.outputPadding as number | number[] | undefined, rank, 0);
  let pads: Array<[number, number]>;
  if (s.padding === 'same') {
    // tfjs conv2dTranspose 'same': output = L·s.
    pads = spatial.map((L, i) => {
      const full = (L - 1) * c.strides[i] + c.dilations[i] * (c.kernelSize[i] - 1) + 1;
      const crop = full - L * c.strides[i];
      if (crop < 0) {
        outputPadding[i] = -crop;
        return [0, 0];
      }
      outputPadding[i] = 0;
      return [Math.floor(crop / 2), crop - Math.floor(crop / 2)];
    });
  } else {
    pads = resolvePadsRef(s.padding ?? 'valid', spatial, c.kernelSize, c.strides, c.dilations);
  }
  return { pads, outputPadding };
}

/** Overrides for the reference (a custom index matrix, other parameters). */
export interface RefOverrides {
  x?: ArrayLike<number>;
  weight?: ArrayLike<number>;
  logSigmas?: ArrayLike<number> | null;
  bias?: ArrayLike<number> | null;
  masks?: ArrayLike<number>;
}

/** The independent float64 output of a case, in the case's data format. */
export function referenceOutput(c: CaseData, over: RefOverrides = {}): { data: Float64Array; shape: number[] } {
  const s = c.spec;
  const rank = s.rank;
  const x = over.x ?? c.x;
  const weight = over.weight ?? c.weight;
  const logSigmas = over.logSigmas !== undefined ? over.logSigmas : c.logSigmas;
  const bias = over.bias !== undefined ? over.bias : c.bias;
  const masks = over.masks ?? c.masks;
  const xFirst =
    c.dataFormat === 'channelsLast'
      ? permute(x, c.xShape, toFirstPerm(rank + 2))
      : { data: Float64Array.from(x), shape: c.xShape };
  const K = synthesize64(weight, c.weightShape, masks, logSigmas, { clipSigma: s.clipSigma ?? true });
  const kShape = [c.weightShape[0], c.weightShape[1], ...c.kernelSize];
  const { pads, outputPadding } = resolveCase(c);
  const y = s.transposed
    ? denseConvTransposeReference(xFirst.data, xFirst.shape, K, kShape, bias, {
        strides: c.strides,
        dilations: c.dilations,
        pads,
        groups: c.groups,
        outputPadding,
      })
    : denseConvReference(xFirst.data, xFirst.shape, K, kShape, bias, {
        strides: c.strides,
        dilations: c.dilations,
        pads,
        groups: c.groups,
        paddingMode: s.paddingMode ?? 'zeros',
      });
  return c.dataFormat === 'channelsLast' ? permute(y.data, y.shape, toLastPerm(rank + 2)) : y;
}

// ---------------------------------------------------------------- metrics

/** max|a − e| / max|e| (max|a − e| when e is all zeros); Infinity on a size mismatch or NaN. */
export const relErr = relError;

export function maxAbs(a: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]));
  return m;
}

// ---------------------------------------------------------------- plain-tfjs composition

/** Pads spatial axes 1..rank of a channels-last tensor with tf.pad (zeros) or tf.gather (other modes). */
export function tfPad(x: tf.Tensor, pads: Array<[number, number]>, mode: Mode): tf.Tensor {
  if (mode === 'zeros') return tf.pad(x, [[0, 0], ...pads, [0, 0]]);
  let t = x;
  pads.forEach(([a, b], i) => {
    const len = t.shape[1 + i];
    const idx = Array.from({ length: len + a + b }, (_, q) => sourceIndex(q, len, a, mode));
    t = tf.gather(t, tf.tensor1d(idx, 'int32'), 1 + i);
  });
  return t;
}

/** Inserts d−1 zeros between the taps of a [...k, I, O] filter on each spatial axis. */
export function dilateFilter(f: tf.Tensor, dilations: number[]): tf.Tensor {
  let t = f;
  dilations.forEach((d, axis) => {
    if (d === 1) return;
    const k = t.shape[axis];
    const shape = t.shape.slice();
    shape.splice(axis + 1, 0, 1);
    t = tf.reshape(t, shape);
    const pads = shape.map(() => [0, 0] as [number, number]);
    pads[axis + 1] = [0, d - 1];
    t = tf.pad(t, pads);
    const merged = t.shape.slice();
    merged.splice(axis, 2, k * d);
    t = tf.reshape(t, merged);
    const begin = t.shape.map(() => 0);
    const size = t.shape.slice();
    size[axis] = (k - 1) * d + 1;
    t = tf.slice(t, begin, size);
  });
  return t;
}

/** The GMR Gaussian matrix with plain tfjs ops. */
export function tfGaussianMatrix(logSigmas: tf.Tensor, clip: SigmaClipSpec = {}): tf.Tensor2D {
  const n = logSigmas.shape[0];
  let s = tf.exp(tf.reshape(logSigmas, [n, 1]));
  if (clip.clipSigma ?? true) s = tf.clipByValue(s, clip.sigmaMin ?? 1e-2, clip.sigmaMax ?? 2 * n);
  const off: number[] = [];
  for (let j = 0; j < n; j++) for (let i = 0; i < n; i++) off.push(i - j);
  const z = tf.div(tf.tensor2d(off, [n, n]), s);
  return tf.div(tf.exp(tf.mul(-0.5, tf.square(z))), tf.mul(s, 2.5066)) as tf.Tensor2D;
}

export interface TfParams {
  x: tf.Tensor;
  weight: tf.Tensor;
  logSigmas: tf.Tensor | null;
  indexMat: tf.Tensor;
  bias: tf.Tensor | null;
}

/**
 * The same op as composition of plain tfjs ops (tf.conv1d / conv2d / conv3d /
 * conv2dTranspose); differentiating it uses tfjs's own conv gradients (cpu).
 * Dilation is realised by a dilated filter and stride+dilation by stride only on
 * the dilated filter (tfjs conv gradients require dilation 1).
 */
export function tfComposition(c: CaseData, p: TfParams): tf.Tensor {
  return tf.tidy(() => {
    const s = c.spec;
    const rank = s.rank;
    const g = c.groups;
    let x = c.dataFormat === 'channelsFirst' ? tf.transpose(p.x, toLastPerm(rank + 2)) : p.x;
    const basis = p.logSigmas
      ? tf.matMul(tfGaussianMatrix(p.logSigmas, { clipSigma: s.clipSigma ?? true }), p.indexMat)
      : p.indexMat;
    const [A, B, n] = c.weightShape;
    const koi = tf.reshape(tf.matMul(tf.reshape(p.weight, [A * B, n]), basis), [A, B, ...c.kernelSize]);
    // filter [...k, B, A]
    let f = tf.transpose(koi, [...range(2, rank + 2), 1, 0]);
    f = dilateFilter(f, c.dilations);
    const { pads, outputPadding } = resolveCase(c);
    let y: tf.Tensor;
    if (!s.transposed) {
      x = tfPad(x, pads, s.paddingMode ?? 'zeros');
      const conv = (xi: tf.Tensor, fi: tf.Tensor) => {
        if (rank === 1) return tf.conv1d(xi as tf.Tensor3D, fi as tf.Tensor3D, c.strides[0], 'valid');
        if (rank === 2) return tf.conv2d(xi as tf.Tensor4D, fi as tf.Tensor4D, c.strides as [number, number], 'valid');
        return tf.conv3d(xi as tf.Tensor5D, fi as tf.Tensor5D, c.strides as [number, number, number], 'valid');
      };
      const xs = g === 1 ? [x] : tf.split(x, g, rank + 1);
      const fs = g === 1 ? [f] : tf.split(f, g, rank + 1);
      const ys = xs.map((xi, i) => conv(xi, fs[i]));
      y = g === 1 ? ys[0] : tf.concat(ys, rank + 1);
    } else {
      if (rank !== 2) throw new Error('tfComposition: transposed only in 2D');
      // f is [kh, kw, Cout/g, Cin] = tfjs conv2dTranspose layout [k, k, outDepth, inDepth].
      const xs = g === 1 ? [x] : tf.split(x, g, 3);
      const fs = g === 1 ? [f] : tf.split(f, g, 3);
      const [b, h, w] = x.shape as number[];
      const [kh, kw, fo] = f.shape as number[];
      const full: [number, number, number, number] = [b, (h - 1) * c.strides[0] + kh, (w - 1) * c.strides[1] + kw, fo];
      const ys = xs.map((xi, i) =>
        tf.conv2dTranspose(xi as tf.Tensor4D, fs[i] as tf.Tensor4D, full, c.strides as [number, number], 'valid'),
      );
      let yy = g === 1 ? ys[0] : tf.concat(ys, 3);
      // Crop pads, add outputPadding at the end (zeros where the full output stops).
      yy = tf.pad(yy, [
        [0, 0],
        [0, outputPadding[0]],
        [0, outputPadding[1]],
        [0, 0],
      ]);
      const outH = full[1] - pads[0][0] - pads[0][1] + outputPadding[0];
      const outW = full[2] - pads[1][0] - pads[1][1] + outputPadding[1];
      y = tf.slice(yy, [0, pads[0][0], pads[1][0], 0], [b, outH, outW, yy.shape[3]]);
    }
    if (p.bias) y = tf.add(y, p.bias);
    return c.dataFormat === 'channelsFirst' ? tf.transpose(y, toFirstPerm(rank + 2)) : y;
  });
}

/** Human-readable case name. */
export function caseName(s: CaseSpec): string {
  const parts: string[] = [s.transposed ? 'T2D' : `${s.rank}D`, `k${JSON.stringify(s.kernelSize)}`];
  if (s.forceCircular === false) parts.push('nofc');
  if (s.numRings != null) parts.push(`nr${s.numRings}`);
  parts.push(`${s.cin}->${s.cout}`, `S${s.spatial.join('x')}`);
  if (s.batch && s.batch > 1) parts.push(`B${s.batch}`);
  if (s.strides !== undefined) parts.push(`s${JSON.stringify(s.strides)}`);
  if (s.dilations !== undefined) parts.push(`d${JSON.stringify(s.dilations)}`);
  parts.push(`p${JSON.stringify(s.padding ?? 'valid')}`);
  if (s.paddingMode && s.paddingMode !== 'zeros') parts.push(s.paddingMode);
  if (s.groups && s.groups > 1) parts.push(`g${s.groups}`);
  if (s.outputPadding !== undefined) parts.push(`op${JSON.stringify(s.outputPadding)}`);
  if (s.bias) parts.push('bias');
  if (s.rings === 'binary') parts.push('binary');
  if (s.logSigmas) parts.push('sig' + JSON.stringify(s.logSigmas.map((v) => +v.toFixed(2))));
  if (s.clipSigma === false) parts.push('noclip');
  if (s.dataFormat === 'channelsFirst') parts.push('NCHW');
  return parts.join(' ');
}

/** Calls the public op of a case. */
export type OpFn = (
  x: tf.Tensor,
  w: { weight: tf.Tensor; logSigmas?: tf.Tensor | null; indexMat?: tf.Tensor | null; bias?: tf.Tensor | null },
  o: any,
) => tf.Tensor;

export function opFor(s: CaseSpec): OpFn {
  if (s.transposed) return gmrConvTranspose2d as OpFn;
  return (s.rank === 1 ? gmrConv1d : s.rank === 2 ? gmrConv2d : gmrConv3d) as OpFn;
}

export type PathVariant = 'two-stage' | 'two-stage-binary' | 'dense';
export const PATH_VARIANTS: PathVariant[] = ['two-stage', 'two-stage-binary', 'dense'];

export function pathOptions(v: PathVariant): Record<string, unknown> {
  if (v === 'dense') return { path: 'dense' };
  return { path: 'two-stage', twoStageBasis: v === 'two-stage' ? 'smoothed' : 'binary' };
}

/** Runs the public op of a case on given tensors (indexMat passed only when `withIndexMat`). */
export function runCase(
  c: CaseData,
  p: TfParams,
  variant: PathVariant,
  extra: Record<string, unknown> = {},
  withIndexMat = true,
): tf.Tensor {
  const op = opFor(c.spec);
  return op(
    p.x,
    { weight: p.weight, logSigmas: p.logSigmas, bias: p.bias, indexMat: withIndexMat ? p.indexMat : null },
    { ...caseOptions(c), ...pathOptions(variant), ...extra },
  );
}
