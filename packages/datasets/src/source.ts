/**
 * An ImageSource is anything that can write image i, as float32 HWC, into a buffer: an in-memory ImageSet (scaled
 * by 1/255 for uint8) or a lazily computed set such as the regenerated rotated MNIST. The pipelines read from it.
 */
import type { ImageSet } from './types.js';

export interface ImageSource {
  count: number;
  height: number;
  width: number;
  channels: number;
  labels: Int32Array;
  classNames?: string[];
  /** Writes image i (float32, HWC) into out at offset. */
  read(i: number, out: Float32Array, offset: number): void;
}

/** An ImageSet as an ImageSource: uint8 images are multiplied by `scale` (default 1/255), float32 ones by `scale` (default 1). */
export function imageSetSource(set: ImageSet, scale?: number): ImageSource {
  const k = scale ?? (set.images instanceof Uint8Array ? 1 / 255 : 1);
  const size = set.height * set.width * set.channels;
  return {
    count: set.count,
    height: set.height,
    width: set.width,
    channels: set.channels,
    labels: set.labels,
    classNames: set.classNames,
    read(i, out, offset) {
      const src = set.images.subarray(i * size, (i + 1) * size);
      for (let p = 0; p < size; p++) out[offset + p] = src[p] * k;
    },
  };
}

export function isImageSource(x: unknown): x is ImageSource {
  return typeof (x as ImageSource)?.read === 'function';
}

/** Reads every image of a source into one float32 ImageSet. */
export function materialize(source: ImageSource): ImageSet {
  const size = source.height * source.width * source.channels;
  const images = new Float32Array(source.count * size);
  for (let i = 0; i < source.count; i++) source.read(i, images, i * size);
  return {
    images,
    labels: source.labels,
    count: source.count,
    height: source.height,
    width: source.width,
    channels: source.channels,
    classNames: source.classNames,
  };
}
