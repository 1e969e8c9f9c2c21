/**
 * Ring pooling: the rotation-invariant counterpart of global average pooling that keeps *where* a feature is,
 * radially. Each channel is averaged over the rings of pixels at the same rounded distance from the map's centre,
 * giving [batch, rings × channels] (ring-major: index r·C + c). Distances to the centre are unchanged by the
 * eight symmetries of a square grid, so on a square map the output is exactly invariant to 90° rotations and
 * flips of the input map (to float rounding), as global average pooling is; any other rotation changes it only
 * through resampling. Global average pooling is a fixed linear function of these ring means (weights = ring
 * sizes / pixels), so a dense layer after ring pooling can do anything it could do after global pooling.
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import type { LayerArgs } from '@tensorflow/tfjs-layers/dist/engine/topology.js';
import type { DataFormat } from '../ops/attrs.js';
import { normalizeDataFormat } from '../ops/gmr_conv_ops.js';
import { invalid } from '../utils/errors.js';

export interface RingPoolingArgs extends LayerArgs {
  /** 'channelsLast' (default) or 'channelsFirst'. */
  dataFormat?: DataFormat;
}

/** Ring index of every pixel of an H×W map (row-major): distance to the centre ((H−1)/2, (W−1)/2), rounded. */
export function ringIndexOfPixels(
  height: number,
  width: number,
): { index: Int32Array; numRings: number; sizes: number[] } {
  const index = new Int32Array(height * width);
  const ci = (height - 1) / 2;
  const cj = (width - 1) / 2;
  let numRings = 0;
  for (let i = 0; i < height; i++) {
    for (let j = 0; j < width; j++) {
      // squared distances are exact in doubles (quarter-integers), so symmetric pixels get the same ring
      const r = Math.round(Math.sqrt((i - ci) ** 2 + (j - cj) ** 2));
      index[i * width + j] = r;
      numRings = Math.max(numRings, r + 1);
    }
  }
  const sizes = new Array(numRings).fill(0);
  for (const r of index) sizes[r]++;
  // an empty ring (possible on very thin maps) would be a constant zero feature: renumber the non-empty ones
  const remap = new Map<number, number>();
  sizes.forEach((s, r) => s > 0 && remap.set(r, remap.size));
  for (let p = 0; p < index.length; p++) index[p] = remap.get(index[p])!;
  return { index, numRings: remap.size, sizes: sizes.filter((s) => s > 0) };
}

/**
 * Ring pooling (class name GMRRingPooling2D): each channel averaged over the rings of pixels at the same rounded
 * distance from the map's centre, [batch, H, W, C] → [batch, rings × channels] (ring-major). Exactly invariant to
 * the 8 D4 symmetries of a square input map (to float rounding): they move pixels only within their ring. On a
 * non-square map only the flips and the 180° rotation are symmetries of the grid. Other angles change the output
 * only through resampling. It has no weights; the ring-averaging matrix is made once per input size and kept
 * (freed by dispose()).
 */
export class RingPooling2D extends tfl.layers.Layer {
  static className = 'GMRRingPooling2D';
  readonly dataFormat: DataFormat;
  private averaging: { key: string; matrix: tf.Tensor2D } | null = null;

  constructor(args: RingPoolingArgs = {}) {
    super(args);
    this.dataFormat = normalizeDataFormat('RingPooling2D', args.dataFormat ?? 'channelsLast');
    this.inputSpec = [{ ndim: 4 }];
  }

  private spatial(shape: (number | null)[]): [number | null, number | null, number | null] {
    return this.dataFormat === 'channelsLast' ? [shape[1], shape[2], shape[3]] : [shape[2], shape[3], shape[1]];
  }

  override computeOutputShape(inputShape: tfl.Shape | tfl.Shape[]): tfl.Shape {
    const s = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as (number | null)[];
    const [h, w, c] = this.spatial(s);
    if (h == null || w == null)
      invalid('RingPooling2D', 'input height and width', [h, w], 'known (ring pooling needs the map size)');
    const rings = ringIndexOfPixels(h, w).numRings;
    return [s[0], c == null ? null : rings * c];
  }

  /** [rings, H·W]: row r averages ring r. Cached per map size (and disposed with the layer). */
  private matrixFor(h: number, w: number): tf.Tensor2D {
    const key = `${h}x${w}`;
    if (this.averaging?.key === key && !this.averaging.matrix.isDisposed) return this.averaging.matrix;
    this.averaging?.matrix.dispose();
    const { index, numRings, sizes } = ringIndexOfPixels(h, w);
    const m = new Float32Array(numRings * h * w);
    index.forEach((r, p) => (m[r * h * w + p] = 1 / sizes[r]));
    this.averaging = { key, matrix: tf.keep(tf.tensor2d(m, [numRings, h * w])) };
    return this.averaging.matrix;
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      let x = (Array.isArray(inputs) ? inputs[0] : inputs) as tf.Tensor4D;
      if (this.dataFormat === 'channelsFirst') x = tf.transpose(x, [0, 2, 3, 1]);
      const [b, h, w, c] = x.shape;
      const m = this.matrixFor(h, w);
      // [rings, H·W] × [B, H·W, C] → [B, rings, C]
      const pooled = tf.matMul(tf.broadcastTo(m, [b, m.shape[0], h * w]), tf.reshape(x, [b, h * w, c]));
      return tf.reshape(pooled, [b, m.shape[0] * c]);
    });
  }

  override dispose(): ReturnType<tfl.layers.Layer['dispose']> {
    this.averaging?.matrix.dispose();
    this.averaging = null;
    return super.dispose();
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), dataFormat: this.dataFormat };
  }
}
tf.serialization.registerClass(RingPooling2D);

/** Factory in the style of tf.layers.globalAveragePooling2d. */
export const ringPooling2d = (args: RingPoolingArgs = {}) => new RingPooling2D(args);
