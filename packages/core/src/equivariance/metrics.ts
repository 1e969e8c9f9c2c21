/**
 * Equivariance metrics, defined as the official PyTorch code defines them for
 * its equivariance vectors, so numbers are comparable with the reference:
 *   y1 = f(g·x), y2 = g·f(x), compared on the pixels within `radius` of the
 *   grid centre ((H−1)/2, (W−1)/2), all batch entries and channels:
 *   relL2 = ‖y1−y2‖₂ / ‖y2‖₂, maxAbs = max|y1−y2|, maxAbsOverMaxRef = maxAbs / max|y2|.
 * The reductions run in JS with float64 accumulation on values read back from
 * the backend, so the metric itself adds no float32 error. Every function has
 * a synchronous form (dataSync: cpu, wasm, webgl) and an `…Async` form
 * (data(): also webgpu, and does not block the browser's main thread).
 */
import * as tf from '@tensorflow/tfjs-core';
import type { DataFormat } from '../ops/attrs.js';
import { normalizeDataFormat } from '../ops/gmr_conv_ops.js';
import { invalid } from '../utils/errors.js';
import { applyCubeSymmetry, CUBE_SYMMETRIES, type CubeSymmetry } from './cube.js';
import { applyD4, D4_ELEMENTS, type D4Element } from './d4.js';
import { rotateBilinear } from './rotate.js';

export interface EquivarianceError {
  /** ‖y1−y2‖₂ / ‖y2‖₂ over the selected pixels (0 when both are 0, Infinity when only y2 is 0). */
  relL2: number;
  maxAbs: number;
  maxAbsOverMaxRef: number;
  /** Number of values compared (after the radius mask). */
  count: number;
}

export interface EquivarianceErrorOptions {
  /** Keep pixels at distance ≤ radius from the grid centre; default: every pixel. */
  radius?: number;
  /** Layout of rank ≥ 3 tensors (default 'channelsLast'); rank-2 tensors (e.g. logits) have no spatial axes. */
  dataFormat?: DataFormat | string;
}

/** Mask over the flattened spatial grid: distance to the centre ≤ radius. */
function spatialMask(spatial: number[], radius: number): Uint8Array {
  const size = spatial.reduce((a, b) => a * b, 1);
  const mask = new Uint8Array(size);
  const centres = spatial.map((n) => (n - 1) / 2);
  const r2 = radius * radius;
  for (let p = 0; p < size; p++) {
    let rem = p;
    let d2 = 0;
    for (let a = spatial.length - 1; a >= 0; a--) {
      const coord = rem % spatial[a];
      rem = Math.floor(rem / spatial[a]);
      d2 += (coord - centres[a]) ** 2;
    }
    // Tiny slack so that a pixel exactly on the circle is kept despite rounding.
    mask[p] = d2 <= r2 + 1e-9 ? 1 : 0;
  }
  return mask;
}

/** The metric on plain arrays (row-major, `shape` shared by both). */
export function equivarianceErrorFromValues(
  y1: ArrayLike<number>,
  y2: ArrayLike<number>,
  shape: number[],
  options: EquivarianceErrorOptions = {},
): EquivarianceError {
  const where = 'equivarianceError';
  const total = shape.reduce((a, b) => a * b, 1);
  if (y1.length !== total || y2.length !== total)
    invalid(where, 'values', [y1.length, y2.length], `${total} values each (shape [${shape.join(', ')}])`);
  const radius = options.radius ?? Infinity;
  if (typeof radius !== 'number' || Number.isNaN(radius) || radius < 0)
    invalid(where, 'radius', radius, 'a non-negative number');
  let mask: Uint8Array | null = null;
  let spatialSize = 1;
  let channels = 1;
  let channelsLast = true;
  if (shape.length >= 3 && radius !== Infinity) {
    const fmt = normalizeDataFormat(where, options.dataFormat);
    channelsLast = fmt === 'channelsLast';
    const spatial = channelsLast ? shape.slice(1, -1) : shape.slice(2);
    channels = channelsLast ? shape[shape.length - 1] : 1;
    spatialSize = spatial.reduce((a, b) => a * b, 1);
    mask = spatialMask(spatial, radius);
  }
  let diff2 = 0;
  let ref2 = 0;
  let maxAbs = 0;
  let maxRef = 0;
  let count = 0;
  for (let i = 0; i < total; i++) {
    if (mask) {
      const p = channelsLast ? Math.floor(i / channels) % spatialSize : i % spatialSize;
      if (!mask[p]) continue;
    }
    const a = y1[i];
    const b = y2[i];
    const d = Math.abs(a - b);
    diff2 += d * d;
    ref2 += b * b;
    if (d > maxAbs || Number.isNaN(d)) maxAbs = Number.isNaN(maxAbs) ? maxAbs : d;
    if (Math.abs(b) > maxRef) maxRef = Math.abs(b);
    count++;
  }
  const ratio = (num: number, den: number) => (den > 0 ? num / den : num === 0 ? 0 : Infinity);
  return { relL2: ratio(Math.sqrt(diff2), Math.sqrt(ref2)), maxAbs, maxAbsOverMaxRef: ratio(maxAbs, maxRef), count };
}

function checkPair(y1: unknown, y2: unknown): [tf.Tensor, tf.Tensor] {
  const where = 'equivarianceError';
  if (!(y1 instanceof tf.Tensor)) invalid(where, 'y1', y1, 'a tf.Tensor');
  if (!(y2 instanceof tf.Tensor)) invalid(where, 'y2', y2, 'a tf.Tensor');
  const a = y1 as tf.Tensor;
  const b = y2 as tf.Tensor;
  if (a.shape.length !== b.shape.length || a.shape.some((s, i) => s !== b.shape[i])) {
    invalid(where, 'y2', b, `the shape of y1 [${a.shape.join(', ')}]`);
  }
  return [a, b];
}

/** Oracle metric between y1 = f(g·x) and the reference y2 = g·f(x) (synchronous read-back). */
export function equivarianceError(
  y1: tf.Tensor,
  y2: tf.Tensor,
  options: EquivarianceErrorOptions = {},
): EquivarianceError {
  const [a, b] = checkPair(y1, y2);
  return equivarianceErrorFromValues(a.dataSync(), b.dataSync(), a.shape, options);
}

export async function equivarianceErrorAsync(
  y1: tf.Tensor,
  y2: tf.Tensor,
  options: EquivarianceErrorOptions = {},
): Promise<EquivarianceError> {
  const [a, b] = checkPair(y1, y2);
  const [va, vb] = await Promise.all([a.data(), b.data()]);
  return equivarianceErrorFromValues(va as ArrayLike<number>, vb as ArrayLike<number>, a.shape, options);
}

/**
 * A transformation of the input grid: a D4 element (rank-4 data), a cube
 * symmetry or its name (rank-5 data), or a rotation angle in degrees
 * (`number` or {angleDegrees}), applied with rotateBilinear.
 */
export type EquivarianceTransform = D4Element | number | { angleDegrees: number } | CubeSymmetry;

export interface LayerEquivarianceOptions extends EquivarianceErrorOptions {}

function transformFn(
  where: string,
  t: EquivarianceTransform,
  fmt: DataFormat,
): { apply: (x: tf.Tensor) => tf.Tensor; isAngle: boolean } {
  if (typeof t === 'number') return { apply: (x) => rotateBilinear(x, t, fmt), isAngle: true };
  if (t && typeof t === 'object' && 'angleDegrees' in t)
    return { apply: (x) => rotateBilinear(x, t.angleDegrees, fmt), isAngle: true };
  if (typeof t === 'string' && (D4_ELEMENTS as readonly string[]).includes(t))
    return { apply: (x) => applyD4(x, t, fmt), isAngle: false };
  if (
    (typeof t === 'string' && CUBE_SYMMETRIES.some((c) => c.name === t)) ||
    (t && typeof t === 'object' && 'perm' in t)
  ) {
    return { apply: (x) => applyCubeSymmetry(x, t as CubeSymmetry, fmt), isAngle: false };
  }
  return invalid(
    where,
    'transform',
    t,
    'a D4 element name, a cube symmetry, or an angle in degrees (number or {angleDegrees})',
  );
}

function outputOf(where: string, v: unknown): tf.Tensor {
  if (!(v instanceof tf.Tensor)) invalid(where, 'f(x)', v, 'a tf.Tensor');
  return v as tf.Tensor;
}

/** Default radius: everything for grid symmetries; for angles, one pixel inside the inscribed circle (33×33 → 15, as the oracle). */
function defaultRadius(shape: number[], fmt: DataFormat, isAngle: boolean): number {
  if (!isAngle || shape.length < 3) return Infinity;
  const spatial = fmt === 'channelsLast' ? shape.slice(1, -1) : shape.slice(2);
  return Math.max(0, Math.min(...spatial.map((n) => (n - 1) / 2)) - 1);
}

function layerPair(
  where: string,
  f: (x: tf.Tensor) => tf.Tensor,
  x: tf.Tensor,
  transform: EquivarianceTransform,
  options: LayerEquivarianceOptions,
) {
  const fmt = normalizeDataFormat(where, options.dataFormat);
  const { apply, isAngle } = transformFn(where, transform, fmt);
  const y1 = tf.tidy(() => outputOf(where, f(apply(x))));
  const y2 = tf.tidy(() => apply(outputOf(where, f(x))));
  const opts = { ...options, dataFormat: fmt, radius: options.radius ?? defaultRadius(y2.shape, fmt, isAngle) };
  return { y1, y2, opts };
}

/**
 * Equivariance error of a layer (any function of one tensor): compares
 * f(g·x) with g·f(x) for a D4 element / cube symmetry (exact for GMR layers
 * with odd kernels: ≈ float error) or an angle (bilinear rotation; the
 * oracle's 45° numbers are the reference).
 */
export function layerEquivarianceError(
  f: (x: tf.Tensor) => tf.Tensor,
  x: tf.Tensor,
  transform: EquivarianceTransform,
  options: LayerEquivarianceOptions = {},
): EquivarianceError {
  const { y1, y2, opts } = layerPair('layerEquivarianceError', f, x, transform, options);
  try {
    return equivarianceError(y1, y2, opts);
  } finally {
    tf.dispose([y1, y2]);
  }
}

export async function layerEquivarianceErrorAsync(
  f: (x: tf.Tensor) => tf.Tensor,
  x: tf.Tensor,
  transform: EquivarianceTransform,
  options: LayerEquivarianceOptions = {},
): Promise<EquivarianceError> {
  const { y1, y2, opts } = layerPair('layerEquivarianceErrorAsync', f, x, transform, options);
  try {
    return await equivarianceErrorAsync(y1, y2, opts);
  } finally {
    tf.dispose([y1, y2]);
  }
}

export interface ModelInvarianceOptions {
  /** Elements to test (default: the 7 non-identity elements, like the oracle's d4_logit_max_abs_diff). */
  elements?: readonly D4Element[];
  dataFormat?: DataFormat | string;
}

type Predict = (x: tf.Tensor) => tf.Tensor | tf.Tensor[];

/** Checks the outputs; an output that is the caller's own input is cloned so disposing it is safe. */
function asList(where: string, v: unknown, input: tf.Tensor): tf.Tensor[] {
  const list = Array.isArray(v) ? v : [v];
  return list.map((t, i) => {
    if (!(t instanceof tf.Tensor)) invalid(where, `predict(x)${Array.isArray(v) ? `[${i}]` : ''}`, t, 'a tf.Tensor');
    return t === input ? tf.clone(t) : (t as tf.Tensor);
  });
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i] - b[i]);
    if (d > m || Number.isNaN(d)) m = d;
  }
  return m;
}

function invariancePlan(where: string, options: ModelInvarianceOptions) {
  const fmt = normalizeDataFormat(where, options.dataFormat);
  const elements = options.elements ?? D4_ELEMENTS.filter((e) => e !== 'identity');
  elements.forEach((e, i) => {
    if (!(D4_ELEMENTS as readonly string[]).includes(e))
      invalid(where, `elements[${i}]`, e, `one of ${D4_ELEMENTS.join(', ')}`);
  });
  return { fmt, elements };
}

function checkSameShapes(where: string, a: tf.Tensor[], b: tf.Tensor[], e: string): void {
  if (a.length !== b.length || a.some((t, i) => t.shape.join() !== b[i].shape.join())) {
    invalid(
      where,
      `predict(${e}(x))`,
      b.map((t) => t.shape),
      `outputs shaped like predict(x): ${JSON.stringify(a.map((t) => t.shape))}`,
    );
  }
}

/**
 * For a model (logits, or any invariant output): max |predict(g·x) − predict(x)|
 * per D4 element. A GMR-ResNet with odd kernels and even pooled sizes gives
 * float error here (oracle: ≈1e-15 in float64, ≈1e-6 in float32).
 */
export function modelInvarianceCheck(
  predict: Predict,
  x: tf.Tensor,
  options: ModelInvarianceOptions = {},
): Partial<Record<D4Element, number>> {
  const where = 'modelInvarianceCheck';
  const { fmt, elements } = invariancePlan(where, options);
  const ref = tf.tidy(() => asList(where, predict(x), x));
  try {
    const refValues = ref.map((t) => t.dataSync());
    const out: Partial<Record<D4Element, number>> = {};
    for (const e of elements) {
      const y = tf.tidy(() => asList(where, predict(applyD4(x, e, fmt)), x));
      try {
        checkSameShapes(where, ref, y, e);
        out[e] = Math.max(...y.map((t, i) => maxAbsDiff(t.dataSync(), refValues[i])));
      } finally {
        tf.dispose(y);
      }
    }
    return out;
  } finally {
    tf.dispose(ref);
  }
}

export async function modelInvarianceCheckAsync(
  predict: Predict,
  x: tf.Tensor,
  options: ModelInvarianceOptions = {},
): Promise<Partial<Record<D4Element, number>>> {
  const where = 'modelInvarianceCheckAsync';
  const { fmt, elements } = invariancePlan(where, options);
  const ref = tf.tidy(() => asList(where, predict(x), x));
  try {
    const refValues = (await Promise.all(ref.map((t) => t.data()))) as ArrayLike<number>[];
    const out: Partial<Record<D4Element, number>> = {};
    for (const e of elements) {
      const y = tf.tidy(() => asList(where, predict(applyD4(x, e, fmt)), x));
      try {
        checkSameShapes(where, ref, y, e);
        const values = (await Promise.all(y.map((t) => t.data()))) as ArrayLike<number>[];
        out[e] = Math.max(...values.map((v, i) => maxAbsDiff(v, refValues[i])));
      } finally {
        tf.dispose(y);
      }
    }
    return out;
  } finally {
    tf.dispose(ref);
  }
}
