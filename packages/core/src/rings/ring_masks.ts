/**
 * Ring geometry, shared by SRE-Conv and GMR-Conv: the binary masks that split a k^d kernel into
 * concentric rings around its centre tap. Reproduces the reference exactly,
 * including float64 `numpy.linspace` ties (k=9 puts offset (3,2) in ring 4).
 */
import { checkPositiveInt, invalid, toTuple, GMRValueError } from '../utils/errors.js';

export interface RingOptions {
  /** Drop the corners (taps beyond radius k//2 + 0.5). GMR default: true. */
  forceCircular?: boolean;
  /** Override the number of rings (default k//2 + 1, plus one when not circular). */
  numRings?: number | null;
}

export interface RingGeometry {
  kernelSize: number[];
  numRings: number;
  forceCircular: boolean;
  /** Row-major masks, shape [numRings, prod(kernelSize)], entries 0/1. */
  masks: Float32Array;
  /** For each tap, its ring index, or -1 when it belongs to no ring. */
  labels: Int32Array;
  /** Number of taps per ring. */
  ringSizes: number[];
}

/** `k//2 + 1` rings, one more when the corners form their own ring. */
export function defaultNumRings(kernelSize0: number, forceCircular = true): number {
  return Math.floor(kernelSize0 / 2) + 1 + (forceCircular ? 0 : 1);
}

/** numpy.linspace(start, stop, num) with numpy's float64 formula. */
export function linspace(start: number, stop: number, num: number): number[] {
  if (num === 1) return [start];
  const step = (stop - start) / (num - 1);
  const out: number[] = [];
  for (let i = 0; i < num; i++) out.push(i * step + start);
  out[num - 1] = stop;
  return out;
}

/** Euclidean distance of every tap (row-major) to the centre tap (k_i // 2 on each axis). */
export function tapDistances(kernelSize: number[]): Float64Array {
  const total = kernelSize.reduce((a, b) => a * b, 1);
  const out = new Float64Array(total);
  const centre = kernelSize.map((k) => Math.floor(k / 2));
  for (let flat = 0; flat < total; flat++) {
    let rest = flat;
    let sq = 0;
    for (let axis = kernelSize.length - 1; axis >= 0; axis--) {
      const coord = rest % kernelSize[axis];
      rest = Math.floor(rest / kernelSize[axis]);
      const off = coord - centre[axis];
      sq += off * off;
    }
    // sqrt of the integer sum, like scipy's distance_transform_edt (not Math.hypot).
    out[flat] = Math.sqrt(sq);
  }
  return out;
}

/** The most mask entries (numRings × taps, float32) made at once: 256 MB; a 1001×1001 kernel would need 2 GB. */
export const MAX_MASK_ENTRIES = 2 ** 26;

/**
 * Builds the ring masks of a 1D, 2D or 3D kernel.
 * The radius that bounds the circular rings comes from the "height" axis as in the
 * reference (axis 0 in 1D/2D, axis 1 in 3D); the default ring count from axis 0.
 */
export function ringMasks(kernelSize: number | number[], options: RingOptions = {}): RingGeometry {
  const where = 'ringMasks';
  const ks = Array.isArray(kernelSize)
    ? toTuple(where, 'kernelSize', kernelSize, kernelSize.length)
    : [checkPositiveInt(where, 'kernelSize', kernelSize)];
  if (ks.length < 1 || ks.length > 3) invalid(where, 'kernelSize', kernelSize, 'of rank 1, 2 or 3');
  const forceCircular = options.forceCircular ?? true;
  if (typeof forceCircular !== 'boolean') invalid(where, 'forceCircular', forceCircular, 'a boolean');
  const numRings =
    options.numRings == null
      ? defaultNumRings(ks[0], forceCircular)
      : checkPositiveInt(where, 'numRings', options.numRings);
  const heightAxis = ks.length === 3 ? 1 : 0;
  const total = ks.reduce((a, b) => a * b, 1);
  if (numRings * total > MAX_MASK_ENTRIES) {
    invalid(
      where,
      'kernelSize',
      kernelSize,
      `small enough that numRings × taps ≤ ${MAX_MASK_ENTRIES} (the masks' size; here ${numRings} × ${total})`,
    );
  }
  const D = tapDistances(ks);
  let maxD = 0;
  for (const d of D) maxD = Math.max(maxD, d);
  const maxDist = forceCircular ? Math.floor(ks[heightAxis] / 2) + 0.5 : maxD;
  // θ can only tell apart as many rings as the kernel has distinct tap distances (3 for a 3×3: 0, 1, √2); more rings
  // are empty parameters, so the count is bounded by that (never below the default count)
  const radii = new Set(
    Array.from(D, (d) => (!forceCircular || d < maxDist ? Math.round(d * 1e9) : -1)).filter((d) => d >= 0),
  ).size;
  const mostRings = Math.max(radii, defaultNumRings(ks[0], forceCircular));
  if (numRings > mostRings) {
    invalid(
      where,
      'numRings',
      numRings,
      `at most ${mostRings} for kernelSize [${ks.join(', ')}] (the distinct distances of its taps from the centre${forceCircular ? ' inside the circle' : ''})`,
    );
  }
  const numLevels = forceCircular ? numRings + 1 : numRings;
  if (!forceCircular && numLevels < 2 && total > 1) {
    throw new GMRValueError(`${where}: \`numRings\` must be at least 2 when forceCircular is false, got ${numRings}.`);
  }
  const levels = linspace(0, maxDist, numLevels);
  const masks = new Float32Array(numRings * total);
  const labels = new Int32Array(total).fill(-1);
  const ringSizes = new Array(numRings).fill(0);
  for (let i = 0; i < numRings; i++) {
    const last = i === numLevels - 1; // only reachable when !forceCircular
    for (let p = 0; p < total; p++) {
      const inRing = last ? D[p] === levels[i] : D[p] >= levels[i] && D[p] < levels[i + 1];
      if (inRing) {
        masks[i * total + p] = 1;
        // Rings never overlap, except the degenerate numRings=1 non-circular case.
        if (labels[p] === -1) labels[p] = i;
        ringSizes[i]++;
      }
    }
  }
  return { kernelSize: ks, numRings, forceCircular, masks, labels, ringSizes };
}
