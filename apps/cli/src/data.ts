/** Datasets for the CLI: embedded MNIST or an IDX folder, subsets, and the paper's resampling-robust augmentation. */
import { existsSync, statSync } from 'node:fs';
import {
  compose,
  gaussianBlur,
  loadFashionMnist,
  loadMnist,
  materialize,
  mixSets,
  permutation,
  Rng,
  randomResizedCrop,
  regeneratedMnistRot,
  type RegeneratedSplits,
  randomTranslation,
  type ImageSet,
  type Transform,
} from '@gmr-conv/datasets';
import { CliError } from './errors.js';

/**
 * mnist: the embedded MNIST (upright). fashion-mnist: IDX files from --data-dir.
 * mnist-rot: the regenerated MNIST-rot-style split (datasets' regeneratedMnistRot, seed 0): 10,000 rotated training
 * images and 50,000 rotated test images drawn from MNIST, each at a uniform random angle ("regenerated", not the
 * original MNIST-rot-12k files).
 */
export const DATASETS = ['mnist', 'fashion-mnist', 'mnist-rot'] as const;

export interface DataSpec {
  dataset: string;
  dataDir?: string;
  /** keep only these classes, relabelled 0..k-1 in this order (e.g. [6, 9] gives a binary task) */
  classes?: number[];
}

let regenerated: Promise<RegeneratedSplits> | undefined;

/** Multiplier that brings a set's pixels to [0, 1]: uint8 sets hold 0..255, float sets (mnist-rot) are already scaled. */
export function pixelScale(set: ImageSet): number {
  return set.images instanceof Uint8Array ? 1 / 255 : 1;
}

/** The images of the given classes, relabelled 0..k-1 in the order given. */
export function selectClasses(set: ImageSet, classes: number[] | undefined): ImageSet {
  if (!classes) return set;
  const seen = new Set<number>();
  for (const c of classes) {
    if (!Number.isInteger(c) || c < 0)
      throw new CliError(`--classes: every class must be an integer label ≥ 0, got ${c}`);
    if (seen.has(c)) throw new CliError(`--classes: class ${c} is listed twice`);
    seen.add(c);
  }
  if (classes.length < 2) throw new CliError(`--classes needs at least 2 classes, got ${classes.length}`);
  const present = new Set(set.labels);
  const absent = classes.filter((c) => !present.has(c));
  if (absent.length)
    throw new CliError(
      `--classes: class(es) ${absent.join(', ')} not in the dataset (labels ${[...present].sort((a, b) => a - b).join(', ')})`,
    );
  const map = new Map(classes.map((c, i) => [c, i]));
  const keep: number[] = [];
  set.labels.forEach((l, i) => map.has(l) && keep.push(i));
  const classNames = classes.map((c) => set.classNames?.[c] ?? String(c));
  return { ...pick(set, keep, (l) => map.get(l)!), classNames };
}

/** The images at `indices`, in that order, each label passed through `relabel`. */
export function pick(
  set: ImageSet,
  indices: ArrayLike<number>,
  relabel: (label: number) => number = (l) => l,
): ImageSet {
  const n = indices.length;
  const size = set.height * set.width * set.channels;
  const images = set.images instanceof Uint8Array ? new Uint8Array(n * size) : new Float32Array(n * size);
  const labels = new Int32Array(n);
  for (let k = 0; k < n; k++) {
    const i = indices[k];
    images.set(set.images.subarray(i * size, (i + 1) * size), k * size);
    labels[k] = relabel(set.labels[i]);
  }
  return { ...set, images, labels, count: n };
}

function describe(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** Loads a split. `dataDir` (IDX files `{train,t10k}-{images-idx3,labels-idx1}-ubyte[.gz]`) overrides the embedded copy. */
export async function loadSplit(spec: DataSpec, split: 'train' | 'test'): Promise<ImageSet> {
  const parts = datasetParts(spec.dataset);
  if (parts.length === 1) return selectClasses(await loadWholeSplit(spec, split), spec.classes);
  const sets: ImageSet[] = [];
  // in a mix, --data-dir is where fashion-mnist comes from
  for (const p of parts)
    sets.push(await loadWholeSplit({ dataset: p, dataDir: p === 'fashion-mnist' ? spec.dataDir : undefined }, split));
  // a fixed shuffle, so that --limit / --test-limit take a sample of every part rather than the first part
  return selectClasses(shuffled(mixSets(sets, { labels: mixLabels(parts), names: parts }), 0x6d1c), spec.classes);
}

/** The set in a seeded random order. */
function shuffled(set: ImageSet, seed: number): ImageSet {
  return pick(set, permutation(set.count, new Rng(seed)));
}

const DIGITS = new Set(['mnist', 'mnist-rot']);

/**
 * A mixed dataset is named by its parts joined with '+' (mnist+mnist-rot: upright and rotated digits, the same ten
 * classes; mnist+fashion-mnist: twenty classes). Throws a CliError for an unknown or repeated part.
 */
export function datasetParts(name: string): string[] {
  const parts = name.split('+');
  for (const p of parts)
    if (!(DATASETS as readonly string[]).includes(p))
      throw new CliError(
        `unknown dataset '${p}' in '${name}' (choose one of: ${DATASETS.join(', ')}, or several joined with '+')`,
      );
  if (new Set(parts).size !== parts.length) throw new CliError(`dataset '${name}' names a part twice`);
  return parts;
}

/** Digit sets share the ten digit labels; a mix with another kind of set keeps each set's classes apart. */
function mixLabels(parts: string[]): 'shared' | 'disjoint' {
  return parts.every((p) => DIGITS.has(p)) ? 'shared' : 'disjoint';
}

/** Number of classes of a dataset name (mixes included), before --classes. */
export function datasetClassCount(name: string): number {
  const parts = datasetParts(name);
  return mixLabels(parts) === 'shared' ? 10 : 10 * parts.length;
}

async function loadWholeSplit(spec: DataSpec, split: 'train' | 'test'): Promise<ImageSet> {
  if (!(DATASETS as readonly string[]).includes(spec.dataset))
    throw new CliError(`unknown dataset '${spec.dataset}' (choose one of: ${DATASETS.join(', ')})`);
  if (spec.dataDir !== undefined && spec.dataset === 'mnist-rot')
    throw new CliError('mnist-rot is regenerated from the embedded MNIST: --data-dir does not apply to it');
  if (spec.dataDir !== undefined) {
    if (!existsSync(spec.dataDir)) throw new CliError(`dataset folder not found: ${spec.dataDir}`);
    if (!statSync(spec.dataDir).isDirectory()) throw new CliError(`dataset folder is not a folder: ${spec.dataDir}`);
    try {
      return await loadFashionMnist(spec.dataDir, split);
    } catch (e) {
      throw new CliError(`cannot read the ${split} split from ${spec.dataDir}: ${describe(e)}`);
    }
  }
  if (spec.dataset === 'mnist-rot') {
    try {
      regenerated ??= regeneratedMnistRot({ seed: 0 });
      return materialize((await regenerated)[split]);
    } catch (e) {
      throw new CliError(`cannot build the regenerated MNIST-rot ${split} split: ${describe(e)}`);
    }
  }
  if (spec.dataset === 'fashion-mnist')
    throw new CliError('fashion-mnist is not embedded: pass --data-dir (e.g. /usr/share/datasets/fashion-mnist)');
  try {
    return await loadMnist(split);
  } catch (e) {
    throw new CliError(`cannot load the embedded MNIST ${split} split: ${describe(e)}`);
  }
}

/** The first n images of a set (n ≥ count gives the set). */
export function subset(set: ImageSet, n: number | undefined): ImageSet {
  if (n === undefined || n >= set.count) return set;
  const size = set.height * set.width * set.channels;
  return { ...set, images: set.images.subarray(0, n * size), labels: set.labels.subarray(0, n), count: n };
}

export const AUGMENTATIONS = ['none', 'paper'] as const;
export type Augmentation = (typeof AUGMENTATIONS)[number];

/**
 * 'paper': the GMR-Conv paper's resampling-robust recipe (its MoCo-style augmentation) adapted to grey 28×28 digits, no
 * rotations or flips: random resized crop (scale 0.8–1), Gaussian blur (3×3, σ ∈ [0.1, 1]) with p = 0.5, and a
 * translation of up to 2 pixels.
 */
export function augmentation(kind: Augmentation, size: number, width = size): Transform | undefined {
  if (kind === 'none') return undefined;
  const rrc = randomResizedCrop(size, width, [0.8, 1], [0.9, 1.1]);
  const blur: Transform = (img, rng) => (rng.next() < 0.5 ? gaussianBlur(img, 3, rng.uniform(0.1, 1)) : img);
  return compose([rrc, blur, randomTranslation(2 / size)]);
}
