/**
 * `--data SOURCE`: where a run's images come from, for every reader of @gmr-conv/datasets, and the splits a run
 * uses. parseDataSource reads the text of a source; loadDataSource reads it into train / validation / test
 * ImageSets with class names, making a seeded validation split stratified per class when the source has none.
 *
 *   folder:PATH      PATH/<class>/<image> (PNG, JPEG, TIFF), or PATH/{train,test[,val]}/<class>/<image>
 *   cifar10:PATH     the CIFAR-10 binary folder (data_batch_1..5.bin, test_batch.bin[, batches.meta.txt])
 *   cifar100:PATH    the CIFAR-100 binary folder (train.bin, test.bin[, fine_label_names.txt]); fine labels
 *   npz:FILE         a MedMNIST .npz ({train,val,test}_{images,labels})
 *   hdf5:X,Y         PatchCamelyon x and y files (datasets 'x', 'y'); a *_train_* pair finds its *_valid_* and *_test_* siblings
 *   idx:DIR          {train,t10k}-{images-idx3,labels-idx1}-ubyte[.gz] (the t10k pair is optional)
 *   mnist | fashion-mnist | mnist-rot   the embedded data (and mixes joined with '+', as --dataset)
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import {
  DatasetError,
  concatImageSets,
  Rng,
  listClassFolders,
  medmnistSplit,
  permutation,
  readCifar,
  readIdxImageSet,
  readImageFolder,
  readImageFolderSplits,
  readNpz,
  readPcam,
  type ImageFolderOptions,
  type ImageSet,
} from '@gmr-conv/datasets';
import { datasetParts, loadSplit, pick, selectClasses } from './data.js';
import { CliError } from './errors.js';

export const SOURCE_KINDS = [
  'folder',
  'cifar10',
  'cifar100',
  'npz',
  'hdf5',
  'idx',
  'mnist',
  'fashion-mnist',
  'mnist-rot',
] as const;
export type SourceKind = (typeof SOURCE_KINDS)[number];

/** The sources that name files after a colon (the others are embedded). */
const FILE_KINDS = ['folder', 'cifar10', 'cifar100', 'npz', 'hdf5', 'idx'] as const;
const EMBEDDED = ['mnist', 'fashion-mnist', 'mnist-rot'] as const;

export interface DataSource {
  kind: SourceKind;
  /** the text as given (stored in the run's configuration) */
  text: string;
  /** the files or folder named (hdf5: [x, y]); empty for the embedded data */
  paths: string[];
  /** embedded data: the dataset name, mixes included (mnist+mnist-rot) */
  dataset?: string;
}

const USAGE = `folder:PATH, cifar10:PATH, cifar100:PATH, npz:FILE, hdf5:X,Y, idx:DIR, or ${EMBEDDED.join(' | ')} (mixes joined with '+')`;

/** Reads the text of `--data`; an unknown kind or a missing path is a CliError naming the value and what is allowed. */
export function parseDataSource(text: string): DataSource {
  if (typeof text !== 'string' || text.trim() === '') throw new CliError(`--data: empty source; expected ${USAGE}`);
  const colon = text.indexOf(':');
  if (colon < 0) {
    const parts = text.split('+');
    if (parts.every((p) => (EMBEDDED as readonly string[]).includes(p))) {
      datasetParts(text);
      return { kind: parts.length === 1 ? (text as SourceKind) : 'mnist', text, paths: [], dataset: text };
    }
    if ((FILE_KINDS as readonly string[]).includes(text))
      throw new CliError(
        `--data '${text}': the ${text} source needs a path after a colon (${text}:PATH); expected ${USAGE}`,
      );
    throw new CliError(`--data '${text}': unknown source kind '${text}'; expected ${USAGE}`);
  }
  const kind = text.slice(0, colon);
  const rest = text.slice(colon + 1);
  if (!(FILE_KINDS as readonly string[]).includes(kind))
    throw new CliError(`--data '${text}': unknown source kind '${kind}'; expected ${USAGE}`);
  if (rest === '') throw new CliError(`--data '${text}': no path after '${kind}:'; expected ${USAGE}`);
  const paths = kind === 'hdf5' ? rest.split(',') : [rest];
  if (kind === 'hdf5' && (paths.length !== 2 || paths.some((p) => p === '')))
    throw new CliError(
      `--data '${text}': hdf5 takes the images file and the labels file, hdf5:X,Y (PatchCamelyon layout)`,
    );
  const wantDir = kind === 'folder' || kind === 'cifar10' || kind === 'cifar100' || kind === 'idx';
  for (const p of paths) {
    if (!existsSync(p)) throw new CliError(`--data '${text}': ${wantDir ? 'folder' : 'file'} not found: ${p}`);
    const dir = statSync(p).isDirectory();
    if (wantDir && !dir) throw new CliError(`--data '${text}': ${p} is a file; ${kind}: takes a folder`);
    if (!wantDir && dir) throw new CliError(`--data '${text}': ${p} is a folder; ${kind}: takes a file`);
  }
  return { kind: kind as SourceKind, text, paths };
}

export interface LoadSourceOptions {
  /** folder: resize every image to [height, width] (required when the images have mixed sizes) */
  size?: [number, number];
  /**
   * The fraction of the training images held out (stratified per class) for validation when the source has no
   * validation split. Default: 0.1 when the source has neither a validation nor a test split (a plain class
   * folder), else 0 (the per-epoch figures then come from the test split, as the embedded MNIST always did).
   */
  valFraction?: number;
  /** seed of the validation split */
  seed?: number;
  /** keep only these class labels, relabelled 0..k-1 */
  classes?: number[];
  /** the embedded data: read the IDX files of this folder instead (--data-dir) */
  dataDir?: string;
  /**
   * Which splits to read (default all). Asked for the test split alone, a source without one (a plain class
   * folder, a single hdf5 pair, an idx folder without t10k files) gives all its images as the test split.
   */
  splits?: Array<'train' | 'test'>;
  /** called as files are read (done of total), for a progress bar */
  onProgress?: (done: number, total: number) => void;
}

export interface LoadedData {
  source: DataSource;
  /** the training images (less the validation images when they were split off) */
  train: ImageSet;
  /** the source's validation split, the held-out part of train, or an empty set */
  validation: ImageSet;
  /** the source's test split, when it has one (or asked for alone: see LoadSourceOptions.splits) */
  test?: ImageSet;
  classNames: string[];
  /** where the validation images come from */
  validationFrom: 'source' | 'split' | 'none';
}

/** The images of one source as read, before the validation split. */
interface RawSplits {
  train?: ImageSet;
  val?: ImageSet;
  test?: ImageSet;
}

/** Loads a source's splits; reader errors become CliErrors that name the source and the file. */
export async function loadDataSource(source: DataSource, opts: LoadSourceOptions = {}): Promise<LoadedData> {
  const want = new Set<'train' | 'test'>(opts.splits ?? ['train', 'test']);
  if (opts.valFraction !== undefined && !(opts.valFraction >= 0 && opts.valFraction < 1))
    throw new CliError(`--val-fraction must be a number in [0, 1), got ${opts.valFraction}`);
  if (opts.size && !(opts.size.length === 2 && opts.size.every((s) => Number.isInteger(s) && s > 0)))
    throw new CliError(`--size must be H or HxW of positive integers, got ${JSON.stringify(opts.size)}`);
  if (opts.size && source.kind !== 'folder')
    throw new CliError(`--size resizes the images of a folder: source; ${source.text} has images of one size already`);
  let raw: RawSplits;
  try {
    raw = await readSource(source, want, opts);
  } catch (e) {
    if (e instanceof DatasetError)
      throw new CliError(
        `--data ${source.text}: ${e.message}${/mixed sizes|need a size|pass a size/.test(e.message) ? ' (pass --size H[xW])' : ''}`,
      );
    throw e;
  }
  if (want.size === 1 && want.has('test') && !raw.test) {
    // a source without a test split is tested on all of its images
    const parts = [raw.train, raw.val].filter((set): set is ImageSet => set !== undefined);
    if (parts.length > 0) raw = { test: concatImageSets(parts) };
  }
  const anySet = raw.train ?? raw.test ?? raw.val;
  if (!anySet) throw new CliError(`--data ${source.text}: no images read`);
  const classNames = namesOf(source, [raw.train, raw.val, raw.test]);
  const select = (s: ImageSet | undefined) => (s ? selectClasses({ ...s, classNames }, opts.classes) : undefined);
  const train = select(raw.train);
  const val = select(raw.val);
  const test = select(raw.test);
  const names = (train ?? test ?? val)!.classNames ?? classNames;
  if (!train)
    return {
      source,
      train: emptyLike(test ?? val!),
      validation: val ?? emptyLike(test!),
      test,
      classNames: names,
      validationFrom: val ? 'source' : 'none',
    };
  if (val) return { source, train, validation: val, test, classNames: names, validationFrom: 'source' };
  const fraction = opts.valFraction ?? (test ? 0 : DEFAULT_VAL_FRACTION);
  if (fraction === 0)
    return { source, train, validation: emptyLike(train), test, classNames: names, validationFrom: 'none' };
  const split = stratifiedSplit(train, fraction, opts.seed ?? 0);
  return { source, train: split.train, validation: split.validation, test, classNames: names, validationFrom: 'split' };
}

/** Held out for validation from a source that has neither a validation nor a test split. */
export const DEFAULT_VAL_FRACTION = 0.1;

async function readSource(
  source: DataSource,
  want: Set<'train' | 'test'>,
  opts: LoadSourceOptions,
): Promise<RawSplits> {
  const [p, q] = source.paths;
  switch (source.kind) {
    case 'folder':
      return readFolder(p, opts);
    case 'cifar10':
    case 'cifar100':
      return readCifarFolder(p, source.kind === 'cifar10' ? 10 : 100, want);
    case 'npz': {
      const arrays = await readNpz(p);
      const has = (s: string) => `${s}_images` in arrays;
      if (!has('train') && !has('test'))
        throw new DatasetError(
          p,
          `no train_images or test_images array (MedMNIST layout {train,val,test}_{images,labels}; found: ${Object.keys(arrays).join(', ')})`,
        );
      const get = (s: 'train' | 'val' | 'test') => (has(s) ? medmnistSplit(arrays, s, p) : undefined);
      return {
        train: want.has('train') ? get('train') : undefined,
        val: want.has('train') ? get('val') : undefined,
        test: get('test'),
      };
    }
    case 'hdf5':
      return readHdf5Pair(p, q, want);
    case 'idx':
      return readIdxFolder(p, want);
    default: {
      const spec = { dataset: source.dataset ?? source.kind, dataDir: opts.dataDir };
      return {
        train: want.has('train') ? await loadSplit(spec, 'train') : undefined,
        test: await loadSplit(spec, 'test'),
      };
    }
  }
}

/** A class folder, or a folder of train/test[/val] class folders; channels 1 when every image is grey. */
async function readFolder(root: string, opts: LoadSourceOptions): Promise<RawSplits> {
  const options: ImageFolderOptions = { channels: 3, size: opts.size, onProgress: opts.onProgress };
  const top = await listClassFolders(root);
  if (top.includes('train') && top.includes('test')) {
    const s = await readImageFolderSplits(root, options);
    const grey = [s.train, s.test, s.val].every((x) => !x || isGrey(x));
    const g = (x: ImageSet | undefined) => (x && grey ? toGrey(x) : x);
    return { train: g(s.train), test: g(s.test), val: g(s.val) };
  }
  const set = await readImageFolder(root, options);
  return { train: isGrey(set) ? toGrey(set) : set };
}

/** True when every pixel of an RGB set has R = G = B (grey images saved as colour or as grey PNGs). */
function isGrey(set: ImageSet): boolean {
  if (set.channels !== 3) return set.channels === 1;
  const px = set.images;
  for (let i = 0; i < px.length; i += 3) if (px[i] !== px[i + 1] || px[i] !== px[i + 2]) return false;
  return true;
}

function toGrey(set: ImageSet): ImageSet {
  const n = set.count * set.height * set.width;
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = set.images[3 * i];
  return { ...set, images: out, channels: 1 };
}

function linesOf(file: string): string[] | undefined {
  if (!existsSync(file)) return undefined;
  const lines = readFileSync(file, 'utf8')
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter(Boolean);
  return lines.length ? lines : undefined;
}

/** CIFAR binary folders as distributed (cifar-10-batches-bin, cifar-100-binary), or the folder above them. */
async function readCifarFolder(dir: string, variant: 10 | 100, want: Set<'train' | 'test'>): Promise<RawSplits> {
  const inner = join(dir, variant === 10 ? 'cifar-10-batches-bin' : 'cifar-100-binary');
  const root = existsSync(inner) ? inner : dir;
  const trainFiles =
    variant === 10
      ? [1, 2, 3, 4, 5].map((i) => join(root, `data_batch_${i}.bin`)).filter((f) => existsSync(f))
      : [join(root, 'train.bin')].filter((f) => existsSync(f));
  const testFile = join(root, variant === 10 ? 'test_batch.bin' : 'test.bin');
  if (trainFiles.length === 0 && !existsSync(testFile))
    throw new DatasetError(
      root,
      `no CIFAR-${variant} binary files (expected ${variant === 10 ? 'data_batch_1.bin … data_batch_5.bin and test_batch.bin' : 'train.bin and test.bin'})`,
    );
  const classNames = linesOf(join(root, variant === 10 ? 'batches.meta.txt' : 'fine_label_names.txt'));
  const opts = { variant, classNames };
  return {
    // asked for the test split alone, a folder without test_batch gives its training batches (see splits)
    train:
      trainFiles.length && (want.has('train') || !existsSync(testFile)) ? await readCifar(trainFiles, opts) : undefined,
    test: existsSync(testFile) ? await readCifar(testFile, opts) : undefined,
  };
}

/** A PatchCamelyon pair; a *_train_* pair brings its *_valid_* and *_test_* siblings when they are there. */
async function readHdf5Pair(x: string, y: string, want: Set<'train' | 'test'>): Promise<RawSplits> {
  const sibling = (f: string, split: string) => join(dirname(f), basename(f).replace('_train_', `_${split}_`));
  const paired = basename(x).includes('_train_') && basename(y).includes('_train_');
  const pairOf = (split: string) =>
    paired && existsSync(sibling(x, split)) && existsSync(sibling(y, split))
      ? ([sibling(x, split), sibling(y, split)] as const)
      : undefined;
  const valid = pairOf('valid');
  const test = pairOf('test');
  return {
    train: want.has('train') ? await readPcam(x, y) : await undefinedUnless(!test, () => readPcam(x, y)),
    val: want.has('train') && valid ? await readPcam(...valid) : undefined,
    test: test ? await readPcam(...test) : undefined,
  };
}

async function undefinedUnless<T>(cond: boolean, f: () => Promise<T>): Promise<T | undefined> {
  return cond ? f() : undefined;
}

/** The IDX file `name` in `dir`, raw or .gz, or undefined. */
function idxFile(dir: string, name: string): string | undefined {
  return [name, `${name}.gz`].map((n) => join(dir, n)).find((f) => existsSync(f));
}

async function readIdxFolder(dir: string, want: Set<'train' | 'test'>): Promise<RawSplits> {
  const pair = (prefix: string) => {
    const img = idxFile(dir, `${prefix}-images-idx3-ubyte`);
    const lab = idxFile(dir, `${prefix}-labels-idx1-ubyte`);
    return img && lab ? ([img, lab] as const) : undefined;
  };
  const train = pair('train');
  const test = pair('t10k');
  if (!train && !test)
    throw new DatasetError(
      dir,
      'no IDX pair: expected train-images-idx3-ubyte and train-labels-idx1-ubyte (and t10k-… for the test split), raw or .gz',
    );
  return {
    train: train && (want.has('train') || !test) ? await readIdxImageSet(...train) : undefined,
    test: test ? await readIdxImageSet(...test) : undefined,
  };
}

/** The class names: the source's own, else the labels as text ('0'…'k-1', k = largest label + 1). */
function namesOf(source: DataSource, sets: Array<ImageSet | undefined>): string[] {
  const present = sets.filter((s): s is ImageSet => !!s);
  const own = present.find((s) => s.classNames)?.classNames;
  let k = 0;
  for (const s of present) for (let i = 0; i < s.count; i++) k = Math.max(k, s.labels[i] + 1);
  if (own) {
    if (k > own.length)
      throw new CliError(`--data ${source.text}: label ${k - 1} is outside the ${own.length} named classes`);
    return [...own];
  }
  if (k < 2) throw new CliError(`--data ${source.text}: the labels name ${k} class(es); a classifier needs at least 2`);
  return Array.from({ length: k }, (_, i) => String(i));
}

function emptyLike(set: ImageSet): ImageSet {
  return {
    ...set,
    images: set.images instanceof Float32Array ? new Float32Array(0) : new Uint8Array(0),
    labels: new Int32Array(0),
    count: 0,
  };
}

/**
 * Splits `set` into train and validation, stratified: each class gives round(fraction · its count) images (at
 * least one when it has two or more), drawn by a seeded permutation; both parts keep the set's order.
 */
export function stratifiedSplit(
  set: ImageSet,
  fraction: number,
  seed: number,
): { train: ImageSet; validation: ImageSet } {
  if (!(fraction >= 0 && fraction < 1))
    throw new CliError(`--val-fraction must be a number in [0, 1), got ${fraction}`);
  const byClass = new Map<number, number[]>();
  for (let i = 0; i < set.count; i++) {
    const l = set.labels[i];
    if (!byClass.has(l)) byClass.set(l, []);
    byClass.get(l)!.push(i);
  }
  const held = new Uint8Array(set.count);
  const rng = new Rng(seed ^ 0x7a11d);
  for (const l of [...byClass.keys()].sort((a, b) => a - b)) {
    const idx = byClass.get(l)!;
    const want =
      idx.length < 2 || fraction === 0 ? 0 : Math.min(idx.length - 1, Math.max(1, Math.round(fraction * idx.length)));
    const order = permutation(idx.length, rng);
    for (let k = 0; k < want; k++) held[idx[order[k]]] = 1;
  }
  const trainIdx: number[] = [];
  const valIdx: number[] = [];
  for (let i = 0; i < set.count; i++) (held[i] ? valIdx : trainIdx).push(i);
  return { train: pick(set, trainIdx), validation: pick(set, valIdx) };
}

/** Per-channel mean and standard deviation of a set's pixels scaled to [0, 1] (uint8 / 255), for normalisation. */
export interface Normalization {
  mean: number[];
  std: number[];
}

export function channelStats(set: ImageSet): Normalization {
  const C = set.channels;
  const scale = set.images instanceof Uint8Array ? 1 / 255 : 1;
  const sum = new Float64Array(C);
  const sq = new Float64Array(C);
  const px = set.images;
  for (let i = 0; i < px.length; i++) {
    const v = px[i] * scale;
    sum[i % C] += v;
    sq[i % C] += v * v;
  }
  const n = px.length / C;
  if (n === 0) throw new CliError('cannot compute the normalisation of an empty training set');
  const mean = Array.from(sum, (s) => s / n);
  // a constant channel (std 0) is left unscaled rather than divided by zero
  const std = Array.from(sq, (s, c) => {
    const v = Math.sqrt(Math.max(0, s / n - mean[c] ** 2));
    return v > 1e-6 ? v : 1;
  });
  return { mean, std };
}
