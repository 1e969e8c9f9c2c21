/**
 * tf.data pipelines of {xs, ys} batches that model.fitDataset / evaluateDataset accept: a seeded full shuffle
 * per epoch, seeded per-element transforms, batching and prefetch.
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfd from '@tensorflow/tfjs-data';
import { invalidArg } from './errors.js';
import { Rng, deriveSeed, permutation } from './rng.js';
import { type ImageSource, imageSetSource, isImageSource } from './source.js';
import type { Transform } from './transforms.js';
import type { ImageSet } from './types.js';

export interface PipelineOptions {
  /** Images per batch (default 32). */
  batchSize?: number;
  /** Reshuffle every epoch (full permutation, seeded). Default false. */
  shuffle?: boolean;
  /** The seed of the shuffle and of the transforms (default 0). Epoch e uses a stream derived from (seed, e). */
  seed?: number;
  /** Applied to every image (float32 HWC, [0, 1] for uint8 sources), with a generator derived from (seed, epoch, image index). */
  transform?: Transform;
  /** 'oneHot' (default: float32 [B, numClasses], for categoricalCrossentropy) or 'sparse' (int32 [B]). */
  labels?: 'oneHot' | 'sparse';
  /** Number of classes for one-hot labels (default: classNames.length, else the largest label + 1). */
  numClasses?: number;
  /** Drop a last, smaller batch (default false). */
  dropRemainder?: boolean;
  /** Batches prepared ahead (default 2; 0 for none). */
  prefetch?: number;
  /** Scale of uint8 ImageSets (default 1/255). */
  scale?: number;
  /** Use only these images (indices into the source), e.g. a subset. */
  indices?: Int32Array | number[];
}

export type Batch = {
  xs: tf.Tensor4D;
  ys: tf.Tensor;
} & tf.TensorContainerObject;

/**
 * A tf.data.Dataset of batches {xs: float32 [B, H, W, C], ys} from an ImageSet or ImageSource. Each iteration
 * (epoch) is a new pass; with the same seed, the k-th pass gives the same batches every time the program runs.
 * Tensors are created per batch: whoever takes a batch disposes it (fitDataset does).
 */
export function makeDataset(data: ImageSet | ImageSource, options: PipelineOptions = {}): tfd.Dataset<Batch> {
  const where = 'makeDataset';
  const source = isImageSource(data) ? data : imageSetSource(data, options.scale);
  const batchSize = options.batchSize ?? 32;
  if (!(Number.isInteger(batchSize) && batchSize > 0)) invalidArg(where, 'batchSize', batchSize, 'a positive integer');
  const seed = options.seed ?? 0;
  if (!Number.isFinite(seed)) invalidArg(where, 'seed', seed, 'a finite number');
  const labelsMode = options.labels ?? 'oneHot';
  if (labelsMode !== 'oneHot' && labelsMode !== 'sparse')
    invalidArg(where, 'labels', labelsMode, "'oneHot' or 'sparse'");
  const base = options.indices
    ? Int32Array.from(options.indices)
    : Int32Array.from({ length: source.count }, (_, i) => i);
  for (const i of base)
    if (!(i >= 0 && i < source.count)) invalidArg(where, 'indices', i, `indices in 0..${source.count - 1}`);
  let numClasses = options.numClasses ?? source.classNames?.length ?? 0;
  if (!numClasses) for (const l of source.labels) numClasses = Math.max(numClasses, l + 1);
  for (const i of base) {
    const l = source.labels[i];
    if (!(l >= 0 && l < numClasses))
      invalidArg(where, `label of image ${i}`, l, `a class index in 0..${numClasses - 1}`);
  }
  const { height: H, width: W, channels: C } = source;
  const size = H * W * C;
  const prefetch = options.prefetch ?? 2;
  const nBatches = options.dropRemainder ? Math.floor(base.length / batchSize) : Math.ceil(base.length / batchSize);
  let epoch = 0;
  const ds = tfd.generator<Batch>(function* () {
    const e = epoch++;
    const order = options.shuffle
      ? permutation(base.length, new Rng(deriveSeed(seed, e, 0x5eed))).map((k) => base[k])
      : base;
    for (let b = 0; b < nBatches; b++) {
      const idx = order.subarray(b * batchSize, Math.min((b + 1) * batchSize, order.length));
      const n = idx.length;
      const xs = new Float32Array(n * size);
      const labels = new Int32Array(n);
      const scratch = options.transform ? new Float32Array(size) : null;
      for (let k = 0; k < n; k++) {
        const i = idx[k];
        labels[k] = source.labels[i];
        if (!scratch) {
          source.read(i, xs, k * size);
          continue;
        }
        source.read(i, scratch, 0);
        const img = options.transform!(
          { data: scratch.slice(), height: H, width: W, channels: C },
          new Rng(deriveSeed(seed, e, i)),
        );
        if (img.height !== H || img.width !== W || img.channels !== C) {
          invalidArg(
            where,
            'transform',
            `a transform that returned ${img.height}×${img.width}×${img.channels} images`,
            `a transform that keeps the image shape ${H}×${W}×${C} (batches need one shape)`,
          );
        }
        xs.set(img.data, k * size);
      }
      const x = tf.tensor4d(xs, [n, H, W, C]);
      const y =
        labelsMode === 'sparse'
          ? tf.tensor1d(labels, 'int32')
          : tf.tidy(() => tf.cast(tf.oneHot(tf.tensor1d(labels, 'int32'), numClasses), 'float32'));
      yield { xs: x, ys: y };
    }
  });
  return prefetch > 0 ? ds.prefetch(prefetch) : ds;
}

export interface VoxelBatch extends tf.TensorContainerObject {
  xs: tf.Tensor5D;
  ys: tf.Tensor;
}

/**
 * A tf.data.Dataset of voxel batches {xs: float32 [B, R, R, R, 1] occupancy, ys} (channels last, as the 3D
 * models take them), with the same seeded shuffle, labels, batching and prefetch as makeDataset.
 */
export function makeVoxelDataset(
  set: { grids: Uint8Array; labels: Int32Array; count: number; resolution: number; classNames?: string[] },
  options: Omit<PipelineOptions, 'transform' | 'scale'> = {},
): tfd.Dataset<VoxelBatch> {
  const R = set.resolution;
  const source: ImageSource = {
    count: set.count,
    height: R,
    width: R,
    channels: R,
    labels: set.labels,
    classNames: set.classNames,
    read(i, out, offset) {
      const n = R * R * R;
      for (let p = 0; p < n; p++) out[offset + p] = set.grids[i * n + p];
    },
  };
  // tf.data's map disposes the input tensors that the result does not keep (here the 4D xs).
  return makeDataset(source, options).map((b) => ({
    xs: tf.reshape(b.xs, [b.xs.shape[0], R, R, R, 1]) as tf.Tensor5D,
    ys: b.ys,
  })) as tfd.Dataset<VoxelBatch>;
}

/** The indices 0..count-1 split into two parts by a seeded permutation (e.g. a validation hold-out). */
export function splitIndices(count: number, firstCount: number, seed = 0): [Int32Array, Int32Array] {
  if (!(Number.isInteger(firstCount) && firstCount >= 0 && firstCount <= count))
    invalidArg('splitIndices', 'firstCount', firstCount, `an integer in 0..${count}`);
  const p = permutation(count, new Rng(deriveSeed(seed, 0x59117)));
  return [p.slice(0, firstCount), p.slice(firstCount)];
}
