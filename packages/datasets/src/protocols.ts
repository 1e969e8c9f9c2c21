/**
 * The paper's rotated-data protocols.
 * (a) Train upright, evaluate at 37 angles (0°, 10°, …, 360°; 0° and 360° both counted) with bilinear
 *     interpolation and zero fill (core's rotateBilinear, the oracle's formula), and under flips.
 * (b) "regenerated": an MNIST-rot-style split rebuilt from MNIST — 10,000 train + 2,000 validation + 50,000 test,
 *     each image rotated by a uniform random angle in [0°, 360°), deterministic for a seed. It is not the
 *     original MNIST-rot-12k (whose files cannot be had here) and is never called that.
 */
import * as tf from '@tensorflow/tfjs-core';
import { rotateBilinear, rotationPlan, sourceCoordinates } from '@gmr-conv/core';
import { invalidArg } from './errors.js';
import { Rng, deriveSeed, permutation } from './rng.js';
import { type ImageSource, imageSetSource } from './source.js';
import { loadMnist } from './sources.js';
import type { ImageSet } from './types.js';

/** The 37 test angles in degrees: 0, 10, …, 360 (Python's range(0, 361, 10)). */
export const ROTATION_ANGLES: readonly number[] = Object.freeze(Array.from({ length: 37 }, (_, i) => 10 * i));

/** The flip set of the 2D protocol: none, vertical (top–bottom), horizontal (left–right). */
export const FLIPS = ['none', 'vertical', 'horizontal'] as const;
export type Flip = (typeof FLIPS)[number];

/** Rotates a batch [B, H, W, C] (float32) by `degrees`, bilinear, zero fill: core's rotateBilinear. */
export function rotateBatch(x: tf.Tensor4D, degrees: number): tf.Tensor4D {
  return rotateBilinear(x, degrees, 'channelsLast');
}

/** Flips a batch [B, H, W, C]: 'vertical' reverses rows (axis 1), 'horizontal' reverses columns (axis 2). */
export function flipBatch(x: tf.Tensor4D, flip: Flip): tf.Tensor4D {
  if (!FLIPS.includes(flip)) invalidArg('flipBatch', 'flip', flip, "'none', 'vertical' or 'horizontal'");
  if (flip === 'none') return tf.clone(x);
  return tf.reverse(x, flip === 'vertical' ? 1 : 2);
}

export interface RotationEvalOptions {
  /** Angles in degrees (default ROTATION_ANGLES). */
  angles?: readonly number[];
  /** Images per forward pass (default 256). */
  batchSize?: number;
  /** Scale of uint8 ImageSets (default 1/255). */
  scale?: number;
  /** Applied to every rotated batch before predict (e.g. normalisation); must not keep its input. */
  preprocess?: (x: tf.Tensor4D) => tf.Tensor4D;
}

export interface RotationEvalResult {
  angles: number[];
  /** Accuracy (0..1) at each angle. */
  accuracy: number[];
  mean: number;
  std: number;
}

/** A function from a float32 batch [B, H, W, C] to logits or probabilities [B, classes]. */
export type PredictFn = (x: tf.Tensor4D) => tf.Tensor | Promise<tf.Tensor>;

async function accuracyOf(
  set: ImageSource,
  predict: PredictFn,
  batchSize: number,
  alter: (x: tf.Tensor4D) => tf.Tensor4D,
): Promise<number> {
  const size = set.height * set.width * set.channels;
  let correct = 0;
  for (let start = 0; start < set.count; start += batchSize) {
    const n = Math.min(batchSize, set.count - start);
    const buf = new Float32Array(n * size);
    for (let k = 0; k < n; k++) set.read(start + k, buf, k * size);
    const x = tf.tensor4d(buf, [n, set.height, set.width, set.channels]);
    const altered = alter(x);
    x.dispose();
    let out: tf.Tensor;
    try {
      out = await predict(altered);
    } finally {
      altered.dispose();
    }
    const pred = tf.tidy(() => tf.argMax(out, -1));
    out.dispose();
    const p = await pred.data();
    pred.dispose();
    for (let k = 0; k < n; k++) if (p[k] === set.labels[start + k]) correct++;
  }
  return set.count === 0 ? 0 : correct / set.count;
}

function meanStd(v: number[]): { mean: number; std: number } {
  const mean = v.reduce((a, b) => a + b, 0) / v.length;
  const std = Math.sqrt(v.reduce((a, b) => a + (b - mean) ** 2, 0) / v.length);
  return { mean, std };
}

/**
 * Accuracy of `predict` on `set` rotated to each angle (bilinear, zero fill), with mean and (population) std
 * over the angles, as main.py's eval_rot reports them. Leaves no tensors behind.
 */
export async function evaluateRotations(
  set: ImageSet | ImageSource,
  predict: PredictFn,
  options: RotationEvalOptions = {},
): Promise<RotationEvalResult> {
  const source = 'read' in set ? set : imageSetSource(set, options.scale);
  const angles = [...(options.angles ?? ROTATION_ANGLES)];
  const batchSize = options.batchSize ?? 256;
  const pre = options.preprocess;
  const accuracy: number[] = [];
  for (const a of angles) {
    accuracy.push(
      await accuracyOf(source, predict, batchSize, (x) =>
        tf.tidy(() => {
          const r = rotateBatch(x, a);
          return pre ? pre(r) : r;
        }),
      ),
    );
  }
  return { angles, accuracy, ...meanStd(accuracy) };
}

export interface FlipEvalResult {
  flips: Flip[];
  accuracy: number[];
  /** Mean over the flipped versions only (main.py's printed "Overall Avg.", overall_acc[1:]). */
  flippedMean: number;
  /** Mean over all three, the unflipped included (the value main.py logs and returns). */
  mean: number;
}

/** Accuracy of `predict` on `set` unflipped, flipped vertically and horizontally. Leaves no tensors behind. */
export async function evaluateFlips(
  set: ImageSet | ImageSource,
  predict: PredictFn,
  options: Omit<RotationEvalOptions, 'angles'> = {},
): Promise<FlipEvalResult> {
  const source = 'read' in set ? set : imageSetSource(set, options.scale);
  const batchSize = options.batchSize ?? 256;
  const pre = options.preprocess;
  const accuracy: number[] = [];
  for (const f of FLIPS) {
    accuracy.push(
      await accuracyOf(source, predict, batchSize, (x) =>
        tf.tidy(() => {
          const r = flipBatch(x, f);
          return pre ? pre(r) : r;
        }),
      ),
    );
  }
  return { flips: [...FLIPS], accuracy, flippedMean: (accuracy[1] + accuracy[2]) / 2, mean: meanStd(accuracy).mean };
}

/**
 * Rotates one float32 HWC image by core's bilinear sampling plan (the exact formula of rotateBilinear, applied in
 * JS without tensors), zero fill. Used by the regenerated split, where every image has its own angle.
 */
export function rotateImageWithPlan(
  src: Float32Array,
  height: number,
  width: number,
  channels: number,
  degrees: number,
  out: Float32Array,
  offset: number,
): void {
  const plan = rotationPlan(height, width, degrees);
  const hw = height * width;
  for (let p = 0; p < hw; p++) {
    for (let c = 0; c < channels; c++) {
      let acc = 0;
      for (let k = 0; k < 4; k++) {
        const q = plan.indices[k * hw + p];
        if (q < hw) acc += plan.weights[k * hw + p] * src[q * channels + c];
      }
      out[offset + p * channels + c] = acc;
    }
  }
}

/**
 * The same rotation as rotateImageWithPlan (core's formula and float64 arithmetic, in the same order, so the
 * results are bit-identical: the tests check it), computed without building a plan, about 20× faster. The
 * regenerated split uses it, since each of its images has its own angle and a plan would serve one image only.
 */
export function rotateImageBilinearZeros(
  src: Float32Array,
  height: number,
  width: number,
  channels: number,
  degrees: number,
  out: Float32Array,
  offset: number,
): void {
  const src0 = sourceCoordinates(height, width, degrees);
  for (let i = 0; i < height; i++) {
    for (let j = 0; j < width; j++) {
      const r = src0.r[i * width + j];
      const s = src0.s[i * width + j];
      const r0 = Math.floor(r);
      const s0 = Math.floor(s);
      const fr = r - r0;
      const fs = s - s0;
      const w00 = (1 - fr) * (1 - fs);
      const w01 = (1 - fr) * fs;
      const w10 = fr * (1 - fs);
      const w11 = fr * fs;
      const inR0 = r0 >= 0 && r0 < height;
      const inR1 = r0 + 1 >= 0 && r0 + 1 < height;
      const inS0 = s0 >= 0 && s0 < width;
      const inS1 = s0 + 1 >= 0 && s0 + 1 < width;
      const q00 = (r0 * width + s0) * channels;
      const q01 = q00 + channels;
      const q10 = q00 + width * channels;
      const q11 = q10 + channels;
      const o = offset + (i * width + j) * channels;
      for (let c = 0; c < channels; c++) {
        let acc = 0;
        if (inR0 && inS0) acc += w00 * src[q00 + c];
        if (inR0 && inS1) acc += w01 * src[q01 + c];
        if (inR1 && inS0) acc += w10 * src[q10 + c];
        if (inR1 && inS1) acc += w11 * src[q11 + c];
        out[o + c] = acc;
      }
    }
  }
}

/** One split of the regenerated rotated MNIST: an ImageSource rotating each image on demand. */
export interface RotatedSplit extends ImageSource {
  /** The rotation of each image, degrees in [0, 360). */
  angles: Float64Array;
  /** Where each image comes from: 0 = MNIST train, 1 = MNIST test. */
  sourceSplit: Uint8Array;
  /** Index of each image in its MNIST split. */
  sourceIndex: Int32Array;
}

export interface RegeneratedSplits {
  name: 'regenerated';
  seed: number;
  train: RotatedSplit;
  validation: RotatedSplit;
  test: RotatedSplit;
}

export interface RegeneratedOptions {
  seed?: number;
  /** Sizes (default 10,000 / 2,000 / 50,000, as MNIST-rot). */
  sizes?: { train: number; validation: number; test: number };
  /** The upright source (default: the embedded full MNIST). Tests pass small sets. */
  source?: { train: ImageSet; test: ImageSet };
}

/**
 * The "regenerated" MNIST-rot-style split. With a seeded permutation of the MNIST train images, train takes
 * the first 10,000 and validation the next 2,000; the test pool is the 10,000 MNIST test images followed by
 * the remaining train images in permuted order, and test takes its first 50,000 — so no image is in two splits.
 * Every image gets a uniform angle in [0°, 360°) (train, validation, test drawn in that order) and is rotated
 * on demand with core's bilinear formula (zero fill) into [0, 1] floats. Same seed, same split, bit for bit.
 */
export async function regeneratedMnistRot(options: RegeneratedOptions = {}): Promise<RegeneratedSplits> {
  const where = 'regeneratedMnistRot';
  const seed = options.seed ?? 0;
  if (!Number.isFinite(seed)) invalidArg(where, 'seed', seed, 'a finite number');
  const sizes = options.sizes ?? { train: 10_000, validation: 2_000, test: 50_000 };
  const src = options.source ?? { train: await loadMnist('train'), test: await loadMnist('test') };
  const tr = src.train;
  const te = src.test;
  if (tr.height !== te.height || tr.width !== te.width || tr.channels !== te.channels) {
    invalidArg(
      where,
      'source',
      `train ${tr.height}×${tr.width}×${tr.channels}, test ${te.height}×${te.width}×${te.channels}`,
      'train and test of one image shape',
    );
  }
  if (sizes.train + sizes.validation > tr.count)
    invalidArg(where, 'sizes', sizes, `train + validation ≤ ${tr.count} source train images`);
  if (sizes.test > te.count + tr.count - sizes.train - sizes.validation) {
    invalidArg(
      where,
      'sizes.test',
      sizes.test,
      `at most ${te.count + tr.count - sizes.train - sizes.validation} (test images + unused train images)`,
    );
  }
  const rng = new Rng(deriveSeed(seed, 0x4d4e495354));
  const perm = permutation(tr.count, rng);
  const angleRng = new Rng(deriveSeed(seed, 0xa9e1e5));
  const trainS = tr.images instanceof Uint8Array ? imageSetSource(tr) : imageSetSource(tr, 1);
  const testS = te.images instanceof Uint8Array ? imageSetSource(te) : imageSetSource(te, 1);
  const make = (entries: Array<[number, number]>): RotatedSplit => {
    const n = entries.length;
    const angles = new Float64Array(n);
    const sourceSplit = new Uint8Array(n);
    const sourceIndex = new Int32Array(n);
    const labels = new Int32Array(n);
    for (let k = 0; k < n; k++) {
      const [s, i] = entries[k];
      angles[k] = angleRng.uniform(0, 360);
      sourceSplit[k] = s;
      sourceIndex[k] = i;
      labels[k] = (s === 0 ? tr : te).labels[i];
    }
    const { height, width, channels } = tr;
    const scratch = new Float32Array(height * width * channels);
    return {
      count: n,
      height,
      width,
      channels,
      labels,
      classNames: tr.classNames,
      angles,
      sourceSplit,
      sourceIndex,
      read(k, out, offset) {
        (sourceSplit[k] === 0 ? trainS : testS).read(sourceIndex[k], scratch, 0);
        rotateImageBilinearZeros(scratch, height, width, channels, angles[k], out, offset);
      },
    };
  };
  const trainEntries: Array<[number, number]> = [];
  for (let k = 0; k < sizes.train; k++) trainEntries.push([0, perm[k]]);
  const valEntries: Array<[number, number]> = [];
  for (let k = sizes.train; k < sizes.train + sizes.validation; k++) valEntries.push([0, perm[k]]);
  const testEntries: Array<[number, number]> = [];
  for (let i = 0; i < te.count && testEntries.length < sizes.test; i++) testEntries.push([1, i]);
  for (let k = sizes.train + sizes.validation; k < tr.count && testEntries.length < sizes.test; k++)
    testEntries.push([0, perm[k]]);
  return {
    name: 'regenerated',
    seed,
    train: make(trainEntries),
    validation: make(valEntries),
    test: make(testEntries),
  };
}
