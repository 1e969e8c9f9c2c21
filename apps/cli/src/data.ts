/** Datasets for the CLI: embedded MNIST or an IDX folder, subsets, and the paper's resampling-robust augmentation. */
import { existsSync, statSync } from 'node:fs';
import {
  compose,
  gaussianBlur,
  loadFashionMnist,
  loadMnist,
  randomResizedCrop,
  randomTranslation,
  type ImageSet,
  type Transform,
} from '@gmr-conv/datasets';
import { CliError } from './errors.js';

export const DATASETS = ['mnist', 'fashion-mnist'] as const;

export interface DataSpec {
  dataset: string;
  dataDir?: string;
}

function describe(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** Loads a split. `dataDir` (IDX files `{train,t10k}-{images-idx3,labels-idx1}-ubyte[.gz]`) overrides the embedded copy. */
export async function loadSplit(spec: DataSpec, split: 'train' | 'test'): Promise<ImageSet> {
  if (!(DATASETS as readonly string[]).includes(spec.dataset)) throw new CliError(`unknown dataset '${spec.dataset}' (choose one of: ${DATASETS.join(', ')})`);
  if (spec.dataDir !== undefined) {
    if (!existsSync(spec.dataDir)) throw new CliError(`dataset folder not found: ${spec.dataDir}`);
    if (!statSync(spec.dataDir).isDirectory()) throw new CliError(`dataset folder is not a folder: ${spec.dataDir}`);
    try {
      return await loadFashionMnist(spec.dataDir, split);
    } catch (e) {
      throw new CliError(`cannot read the ${split} split from ${spec.dataDir}: ${describe(e)}`);
    }
  }
  if (spec.dataset === 'fashion-mnist') throw new CliError('fashion-mnist is not embedded: pass --data-dir (e.g. /usr/share/datasets/fashion-mnist)');
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
 * 'paper': the GMR-Conv paper's resampling-robust recipe adapted to grey 28×28 digits (method.md §1.7), no
 * rotations or flips: random resized crop (scale 0.8–1), Gaussian blur (3×3, σ ∈ [0.1, 1]) with p = 0.5, and a
 * translation of up to 2 pixels.
 */
export function augmentation(kind: Augmentation, size: number): Transform | undefined {
  if (kind === 'none') return undefined;
  const rrc = randomResizedCrop(size, size, [0.8, 1], [0.9, 1.1]);
  const blur: Transform = (img, rng) => (rng.next() < 0.5 ? gaussianBlur(img, 3, rng.uniform(0.1, 1)) : img);
  return compose([rrc, blur, randomTranslation(2 / size)]);
}
