/**
 * CIFAR-10/100 binary version: each record is the label byte(s) then 3072 bytes of image, channel-planar
 * (1024 red, 1024 green, 1024 blue, each row-major 32×32). CIFAR-10 records have 1 label byte (3073 bytes);
 * CIFAR-100 records have a coarse then a fine label byte (3074 bytes).
 */
import { fail, invalidArg } from '../errors.js';
import { maybeGunzip, readBytes } from '../io.js';
import type { ImageSet } from '../types.js';

export interface CifarOptions {
  /** 10 (default) or 100. */
  variant?: 10 | 100;
  /** CIFAR-100 only: which label to return, 'fine' (100 classes, default) or 'coarse' (20 superclasses). */
  labelMode?: 'fine' | 'coarse';
  /** Class names to attach (e.g. from batches.meta.txt). */
  classNames?: string[];
}

/** Parses one CIFAR binary batch into an NHWC uint8 ImageSet. */
export function parseCifar(raw: Uint8Array, file = '<cifar>', options: CifarOptions = {}): ImageSet {
  const variant = options.variant ?? 10;
  if (variant !== 10 && variant !== 100) invalidArg('parseCifar', 'variant', variant, '10 or 100');
  const labelBytes = variant === 10 ? 1 : 2;
  const record = labelBytes + 3072;
  const bytes = maybeGunzip(raw, file);
  if (bytes.length === 0) fail(file, 'empty CIFAR file');
  if (bytes.length % record !== 0) {
    fail(
      file,
      `truncated or not a CIFAR-${variant} binary file: ${bytes.length} bytes is not a multiple of the ${record}-byte record (${Math.floor(
        bytes.length / record,
      )} whole records and ${bytes.length % record} bytes left over)`,
    );
  }
  const count = bytes.length / record;
  const images = new Uint8Array(count * 3072);
  const labels = new Int32Array(count);
  const labelOffset = variant === 100 && (options.labelMode ?? 'fine') === 'fine' ? 1 : 0;
  const maxLabel = variant === 10 ? 10 : (options.labelMode ?? 'fine') === 'fine' ? 100 : 20;
  for (let n = 0; n < count; n++) {
    const base = n * record;
    const label = bytes[base + labelOffset];
    if (label >= maxLabel) fail(file, `record ${n}: label ${label} out of range 0..${maxLabel - 1}`);
    labels[n] = label;
    const px = base + labelBytes;
    const out = n * 3072;
    for (let p = 0; p < 1024; p++) {
      images[out + 3 * p] = bytes[px + p];
      images[out + 3 * p + 1] = bytes[px + 1024 + p];
      images[out + 3 * p + 2] = bytes[px + 2048 + p];
    }
  }
  return { images, labels, count, height: 32, width: 32, channels: 3, classNames: options.classNames };
}

/** Reads one or more CIFAR binary batch files (e.g. data_batch_1.bin … data_batch_5.bin) into one ImageSet. */
export async function readCifar(files: string | string[], options: CifarOptions = {}): Promise<ImageSet> {
  const list = Array.isArray(files) ? files : [files];
  const sets: ImageSet[] = [];
  for (const f of list) sets.push(parseCifar(await readBytes(f), f, options));
  return concatImageSets(sets);
}

/** Concatenates ImageSets of the same image shape. */
export function concatImageSets(sets: ImageSet[]): ImageSet {
  if (sets.length === 0) invalidArg('concatImageSets', 'sets', sets, 'at least one ImageSet');
  if (sets.length === 1) return sets[0];
  const { height, width, channels } = sets[0];
  for (const s of sets) {
    if (
      s.height !== height ||
      s.width !== width ||
      s.channels !== channels ||
      s.images.constructor !== sets[0].images.constructor
    ) {
      invalidArg(
        'concatImageSets',
        `sets[${sets.indexOf(s)}]`,
        `${s.height}×${s.width}×${s.channels} ${s.images.constructor.name} images`,
        `of the first set's shape ${height}×${width}×${channels} and dtype (${sets[0].images.constructor.name})`,
      );
    }
  }
  const count = sets.reduce((a, s) => a + s.count, 0);
  const images =
    sets[0].images instanceof Float32Array
      ? new Float32Array(count * height * width * channels)
      : new Uint8Array(count * height * width * channels);
  const labels = new Int32Array(count);
  let o = 0;
  for (const s of sets) {
    images.set(s.images, o * height * width * channels);
    labels.set(s.labels, o);
    o += s.count;
  }
  return { images, labels, count, height, width, channels, classNames: sets[0].classNames };
}
