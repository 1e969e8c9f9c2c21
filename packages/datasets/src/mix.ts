/**
 * Mixed datasets: several labelled image sets of one image shape joined into one, e.g. upright MNIST with the
 * regenerated rotated MNIST (the same ten classes), or MNIST with Fashion-MNIST (twenty classes). Shuffle the
 * result with the pipeline (makeDataset) or a seeded permutation: the sets are joined in order.
 */
import { invalidArg } from './errors.js';
import type { ImageSet } from './types.js';

export interface MixOptions {
  /**
   * 'shared': every set uses the same label space (same class names where they have them); labels are kept.
   * 'disjoint': each set's labels are moved past the previous sets' classes (class names prefixed with the set's
   * name), so a model tells the sets apart. Default 'shared'.
   */
  labels?: 'shared' | 'disjoint';
  /** Names of the sets, for messages and disjoint class names (default set0, set1, …). */
  names?: string[];
}

function classCount(set: ImageSet): number {
  let max = -1;
  for (const l of set.labels) if (l > max) max = l;
  return Math.max(set.classNames?.length ?? 0, max + 1);
}

/**
 * Joins the sets. Images stay uint8 when every set is uint8; otherwise they become float32 in [0, 1] (uint8
 * sets are scaled by 1/255), so the mix has one pixel scale.
 */
export function mixSets(sets: ImageSet[], options: MixOptions = {}): ImageSet {
  const where = 'mixSets';
  if (!Array.isArray(sets) || sets.length === 0) invalidArg(where, 'sets', sets, 'a non-empty array of image sets');
  const mode = options.labels ?? 'shared';
  if (mode !== 'shared' && mode !== 'disjoint') invalidArg(where, 'options.labels', mode, "'shared' or 'disjoint'");
  const names = options.names ?? sets.map((_, i) => `set${i}`);
  if (names.length !== sets.length) invalidArg(where, 'options.names', names, `${sets.length} names, one per set`);
  const [first] = sets;
  sets.forEach((s, i) => {
    if (s.height !== first.height || s.width !== first.width || s.channels !== first.channels) {
      invalidArg(
        where,
        `sets[${i}] (${names[i]})`,
        `${s.height}×${s.width}×${s.channels} images`,
        `of the first set's shape ${first.height}×${first.width}×${first.channels}`,
      );
    }
  });
  if (mode === 'shared') {
    const named = sets.map((s, i) => [i, s.classNames] as const).filter(([, c]) => c !== undefined);
    for (const [i, c] of named) {
      if (JSON.stringify(c) !== JSON.stringify(named[0][1])) {
        invalidArg(
          where,
          `sets[${i}] (${names[i]}) class names`,
          c,
          `the same as ${names[named[0][0]]}'s ${JSON.stringify(named[0][1])} for shared labels (use labels: 'disjoint' to keep the sets' classes apart)`,
        );
      }
    }
  }
  const size = first.height * first.width * first.channels;
  const count = sets.reduce((a, s) => a + s.count, 0);
  const allUint8 = sets.every((s) => s.images instanceof Uint8Array);
  const images = allUint8 ? new Uint8Array(count * size) : new Float32Array(count * size);
  const labels = new Int32Array(count);
  const classNames: string[] = [];
  let at = 0;
  let offset = 0;
  sets.forEach((s, i) => {
    const src = s.images.subarray(0, s.count * size);
    if (allUint8 || !(s.images instanceof Uint8Array)) images.set(src, at * size);
    else for (let p = 0; p < src.length; p++) images[at * size + p] = src[p] / 255;
    for (let k = 0; k < s.count; k++) labels[at + k] = s.labels[k] + (mode === 'disjoint' ? offset : 0);
    const n = classCount(s);
    if (mode === 'disjoint') for (let c = 0; c < n; c++) classNames.push(`${names[i]}:${s.classNames?.[c] ?? c}`);
    offset += n;
    at += s.count;
  });
  const shared = sets.find((s) => s.classNames)?.classNames;
  return {
    images,
    labels,
    count,
    height: first.height,
    width: first.width,
    channels: first.channels,
    classNames: mode === 'disjoint' ? classNames : shared,
  };
}
