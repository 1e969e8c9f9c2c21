/**
 * Image files (PNG via pngjs, JPEG via jpeg-js, TIFF via utif2; format told by the magic number) and image
 * folders laid out one sub-folder per class (root/<class>/<image>), as NCT-CRC-HE, MTARSI and NWPU crops come.
 */
import { readdir, stat } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fail, invalidArg } from '../errors.js';
import { readBytes } from '../io.js';
import type { ImageSet } from '../types.js';

const require = createRequire(import.meta.url);
const { PNG } = require('pngjs') as typeof import('pngjs');
const jpeg = require('jpeg-js') as typeof import('jpeg-js');
const UTIF = require('utif2') as typeof import('utif2');

/** A decoded image: RGBA, 8 bits per channel, row-major. */
export interface DecodedImage {
  width: number;
  height: number;
  rgba: Uint8Array;
}

export type ImageFormat = 'png' | 'jpeg' | 'tiff';

/** The format of an image file from its magic number, or null. */
export function sniffImageFormat(bytes: Uint8Array): ImageFormat | null {
  if (bytes.length >= 8 && bytes[0] === 0x89 && bytes[1] === 0x50 && bytes[2] === 0x4e && bytes[3] === 0x47)
    return 'png';
  if (bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) return 'jpeg';
  if (
    bytes.length >= 4 &&
    ((bytes[0] === 0x49 && bytes[1] === 0x49 && bytes[2] === 0x2a && bytes[3] === 0) ||
      (bytes[0] === 0x4d && bytes[1] === 0x4d && bytes[2] === 0 && bytes[3] === 0x2a))
  )
    return 'tiff';
  return null;
}

/** Decodes PNG, JPEG or TIFF bytes to RGBA8. Corrupt or truncated data is a DatasetError naming `file`. */
export function decodeImage(bytes: Uint8Array, file = '<image>'): DecodedImage {
  const format = sniffImageFormat(bytes);
  if (!format) fail(file, 'not a PNG, JPEG or TIFF image (unknown magic number)');
  let out: DecodedImage;
  try {
    if (format === 'png') {
      const png = PNG.sync.read(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
      out = {
        width: png.width,
        height: png.height,
        rgba: new Uint8Array(png.data.buffer, png.data.byteOffset, png.data.byteLength),
      };
    } else if (format === 'jpeg') {
      const img = jpeg.decode(bytes, { useTArray: true, formatAsRGBA: true, tolerantDecoding: false });
      out = { width: img.width, height: img.height, rgba: img.data };
    } else {
      const ab = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
      const ifds = UTIF.decode(ab);
      if (ifds.length === 0) throw new Error('no image directory');
      UTIF.decodeImage(ab, ifds[0]);
      const { width, height } = ifds[0];
      if (!(width > 0 && height > 0)) throw new Error('no image data');
      out = { width, height, rgba: UTIF.toRGBA8(ifds[0]) };
    }
  } catch (e) {
    fail(file, `corrupt or truncated ${format.toUpperCase()} image (${(e as Error).message})`);
  }
  if (!(out.width > 0 && out.height > 0) || out.rgba.length < out.width * out.height * 4) {
    fail(
      file,
      `corrupt or truncated ${format.toUpperCase()} image (decoded ${out.rgba.length} bytes for ${out.width}×${out.height})`,
    );
  }
  return out;
}

/** Encodes RGBA8 as PNG (for fixtures and figures). */
export function encodePng(rgba: Uint8Array, width: number, height: number): Uint8Array {
  const png = new PNG({ width, height });
  png.data = Buffer.from(rgba);
  const buf = PNG.sync.write(png);
  return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
}

/** Encodes RGBA8 as JPEG (quality 0..100). */
export function encodeJpeg(rgba: Uint8Array, width: number, height: number, quality = 90): Uint8Array {
  const out = jpeg.encode({ data: rgba, width, height }, quality);
  return new Uint8Array(out.data.buffer, out.data.byteOffset, out.data.byteLength);
}

/** Encodes RGBA8 as an uncompressed TIFF. */
export function encodeTiff(rgba: Uint8Array, width: number, height: number): Uint8Array {
  return new Uint8Array(UTIF.encodeImage(rgba, width, height));
}

/** Converts RGBA8 to `channels` (1: ITU-R 601 luma, rounded; 3: RGB) into `out` at `offset`. */
function rgbaTo(rgba: Uint8Array, pixels: number, channels: 1 | 3, out: Uint8Array, offset: number): void {
  for (let p = 0; p < pixels; p++) {
    const r = rgba[4 * p];
    const g = rgba[4 * p + 1];
    const b = rgba[4 * p + 2];
    if (channels === 3) {
      out[offset + 3 * p] = r;
      out[offset + 3 * p + 1] = g;
      out[offset + 3 * p + 2] = b;
    } else {
      out[offset + p] = Math.round(0.299 * r + 0.587 * g + 0.114 * b);
    }
  }
}

/** Bilinear resize of RGBA8 (half-pixel centres, as PIL/torchvision without antialias). */
export function resizeRgba(src: DecodedImage, height: number, width: number): DecodedImage {
  if (src.height === height && src.width === width) return src;
  const out = new Uint8Array(height * width * 4);
  const sy = src.height / height;
  const sx = src.width / width;
  for (let i = 0; i < height; i++) {
    const y = Math.min(Math.max((i + 0.5) * sy - 0.5, 0), src.height - 1);
    const y0 = Math.floor(y);
    const y1 = Math.min(y0 + 1, src.height - 1);
    const fy = y - y0;
    for (let j = 0; j < width; j++) {
      const x = Math.min(Math.max((j + 0.5) * sx - 0.5, 0), src.width - 1);
      const x0 = Math.floor(x);
      const x1 = Math.min(x0 + 1, src.width - 1);
      const fx = x - x0;
      for (let c = 0; c < 4; c++) {
        const v =
          (1 - fy) *
            ((1 - fx) * src.rgba[(y0 * src.width + x0) * 4 + c] + fx * src.rgba[(y0 * src.width + x1) * 4 + c]) +
          fy * ((1 - fx) * src.rgba[(y1 * src.width + x0) * 4 + c] + fx * src.rgba[(y1 * src.width + x1) * 4 + c]);
        out[(i * width + j) * 4 + c] = Math.round(v);
      }
    }
  }
  return { width, height, rgba: out };
}

/** How image files are turned into an ImageSet. */
export interface ImageReadOptions {
  /** 1 (grey) or 3 (RGB, default). */
  channels?: 1 | 3;
  /** Resize every image to [height, width] (bilinear). Without it, every image must have the first one's size. */
  size?: [number, number];
  /** Called after every file read (done of total): a caller's progress bar; reading a large folder takes a while. */
  onProgress?: (done: number, total: number) => void;
}

export interface ImageFolderOptions extends ImageReadOptions {
  /**
   * The class names, in label order. When given, a sub-folder not in this list is an error (a typo or a stray
   * folder would otherwise shift every label), and so is a listed class with no folder. When omitted, the
   * sub-folders sorted by name are the classes.
   */
  classes?: string[];
  /** File extensions read (lower case, with the dot). Default .png .jpg .jpeg .tif .tiff. */
  extensions?: string[];
  /**
   * What to do with a file of another extension in a class folder: 'error' (default; a stray CSV or a .webp would
   * otherwise silently leave the class short) or 'ignore'. Hidden files (.DS_Store) and Thumbs.db / desktop.ini,
   * which file browsers write by themselves, are always skipped.
   */
  otherFiles?: 'error' | 'ignore';
}

const DEFAULT_EXTENSIONS = ['.png', '.jpg', '.jpeg', '.tif', '.tiff'];
/** Files that file browsers leave in any folder; never data. */
const SYSTEM_FILES = new Set(['thumbs.db', 'desktop.ini']);

function checkReadOptions(where: string, options: ImageReadOptions): 1 | 3 {
  const channels = options.channels ?? 3;
  if (channels !== 1 && channels !== 3) invalidArg(where, 'channels', channels, '1 or 3');
  if (options.size && !(options.size.length === 2 && options.size.every((s) => Number.isInteger(s) && s > 0))) {
    invalidArg(where, 'size', options.size, '[height, width] of positive integers');
  }
  return channels;
}

async function listFolder(dir: string) {
  try {
    return await readdir(dir, { withFileTypes: true });
  } catch (e) {
    fail(dir, `cannot list the image folder (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
}

/** The class sub-folders of an image folder, sorted by name. */
export async function listClassFolders(root: string): Promise<string[]> {
  return (await listFolder(root))
    .filter((e) => e.isDirectory())
    .map((e) => e.name)
    .sort();
}

/**
 * Reads root/<class>/<image files> into a uint8 NHWC ImageSet, files sorted by name within a class.
 * Any bad file stops the read with an error naming it: no partial set comes back.
 */
export async function readImageFolder(root: string, options: ImageFolderOptions = {}): Promise<ImageSet> {
  const where = 'readImageFolder';
  checkReadOptions(where, options);
  if (options.otherFiles !== undefined && options.otherFiles !== 'error' && options.otherFiles !== 'ignore')
    invalidArg(where, 'otherFiles', options.otherFiles, "'error' or 'ignore'");
  const extensions = (options.extensions ?? DEFAULT_EXTENSIONS).map((e) => e.toLowerCase());
  const folders = await listClassFolders(root);
  let classes: string[];
  if (options.classes) {
    classes = options.classes;
    for (const f of folders) {
      if (!classes.includes(f))
        fail(join(root, f), `unknown class folder '${f}' (the classes are: ${classes.join(', ')})`);
    }
    for (const c of classes) {
      if (!folders.includes(c)) fail(join(root, c), `class '${c}' has no folder`);
    }
  } else {
    classes = folders;
  }
  if (classes.length === 0)
    fail(root, 'no class sub-folders (an image folder holds one sub-folder of images per class: root/<class>/<image>)');
  const files: Array<{ path: string; label: number }> = [];
  for (let label = 0; label < classes.length; label++) {
    const dir = join(root, classes[label]);
    // sub-folders of a class folder are not read; a link to a file counts as the file
    const names = (await listFolder(dir))
      .filter((e) => !e.isDirectory())
      .map((e) => e.name)
      .sort();
    let found = 0;
    for (const name of names) {
      const lower = name.toLowerCase();
      if (lower.startsWith('.') || SYSTEM_FILES.has(lower)) continue;
      if (!extensions.some((x) => lower.endsWith(x))) {
        if (options.otherFiles === 'ignore') continue;
        fail(
          join(dir, name),
          `not an image file (the readable extensions are ${extensions.join(' ')}); move it out of the class folder, or pass otherFiles: 'ignore'`,
        );
      }
      const path = join(dir, name);
      let isFile: boolean;
      try {
        isFile = (await stat(path)).isFile();
      } catch (e) {
        fail(
          path,
          `cannot read the file (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}; a broken link?)`,
        );
      }
      if (!isFile) continue;
      files.push({ path, label });
      found++;
    }
    if (found === 0)
      fail(
        dir,
        `class folder '${classes[label]}' holds no image files (${extensions.join(' ')}); add images or remove the folder`,
      );
  }
  const set = await readFiles(files, options);
  return { ...set, classNames: [...classes] };
}

/** Reads image files (any mix of PNG, JPEG, TIFF) into one uint8 NHWC ImageSet, labels all 0: images to predict on. */
export async function readImageFiles(paths: string[], options: ImageReadOptions = {}): Promise<ImageSet> {
  checkReadOptions('readImageFiles', options);
  if (paths.length === 0) invalidArg('readImageFiles', 'paths', paths, 'a list of one or more image files');
  return readFiles(
    paths.map((path) => ({ path, label: 0 })),
    options,
  );
}

async function readFiles(files: Array<{ path: string; label: number }>, options: ImageReadOptions): Promise<ImageSet> {
  const channels = options.channels ?? 3;
  let height = options.size?.[0] ?? 0;
  let width = options.size?.[1] ?? 0;
  let first = '';
  let images: Uint8Array | null = null;
  const labels = new Int32Array(files.length);
  for (let n = 0; n < files.length; n++) {
    const { path, label } = files[n];
    let img = decodeImage(await readBytes(path), path);
    if (images === null) {
      if (!options.size) {
        height = img.height;
        width = img.width;
        first = path;
      }
      images = new Uint8Array(files.length * height * width * channels);
    }
    if (options.size) img = resizeRgba(img, height, width);
    else if (img.height !== height || img.width !== width) {
      fail(
        path,
        `image is ${img.width}×${img.height}, the others are ${width}×${height} (as ${first}): images of mixed sizes need a size to resize them to (option size: [height, width])`,
      );
    }
    rgbaTo(img.rgba, height * width, channels, images, n * height * width * channels);
    labels[n] = label;
    options.onProgress?.(n + 1, files.length);
  }
  return { images: images as Uint8Array, labels, count: files.length, height, width, channels };
}

/** The splits of an image folder laid out root/train/<class>/…, root/test/<class>/… (and optionally root/val/<class>/…). */
export interface ImageFolderSplits {
  train: ImageSet;
  test: ImageSet;
  val?: ImageSet;
}

/** The split folder names: a validation folder may be called val or validation. */
const VAL_FOLDERS = ['val', 'validation'];

/**
 * Reads root/train, root/test and root/val (when present) with the same class list, the train folder's. A test or
 * val folder whose class folders differ from train's is an error naming both folders and the classes that differ:
 * read on their own, each would number its classes in its own way and the labels would not match.
 */
export async function readImageFolderSplits(
  root: string,
  options: Omit<ImageFolderOptions, 'classes'> = {},
): Promise<ImageFolderSplits> {
  const present = await listClassFolders(root);
  for (const need of ['train', 'test'])
    if (!present.includes(need))
      fail(
        join(root, need),
        `no ${need}/ folder (a split image folder holds train/ and test/, each with one sub-folder per class)`,
      );
  const val = VAL_FOLDERS.find((v) => present.includes(v));
  const trainDir = join(root, 'train');
  const classes = await listClassFolders(trainDir);
  for (const split of ['test', ...(val ? [val] : [])]) {
    const dir = join(root, split);
    const theirs = await listClassFolders(dir);
    const onlyTrain = classes.filter((c) => !theirs.includes(c));
    const onlyHere = theirs.filter((c) => !classes.includes(c));
    if (onlyTrain.length || onlyHere.length) {
      const parts = [
        onlyTrain.length ? `only in ${trainDir}: ${onlyTrain.join(', ')}` : '',
        onlyHere.length ? `only in ${dir}: ${onlyHere.join(', ')}` : '',
      ].filter(Boolean);
      fail(
        dir,
        `its class folders differ from the training folder's (${parts.join('; ')}): train and ${split} must hold the same classes`,
      );
    }
  }
  // progress counts on across the splits (train's files, then test's on top), so a bar does not start over
  let before = 0;
  const progress =
    options.onProgress && ((done: number, total: number) => options.onProgress!(before + done, before + total));
  const train = await readImageFolder(trainDir, { ...options, onProgress: progress });
  before = train.count;
  const size = options.size ?? [train.height, train.width];
  const read = async (split: string) => {
    const set = await readImageFolder(join(root, split), {
      ...options,
      onProgress: progress,
      classes,
      size: options.size,
    });
    before += set.count;
    if (!options.size && (set.height !== size[0] || set.width !== size[1]))
      fail(
        join(root, split),
        `images are ${set.width}×${set.height}, the training images ${size[1]}×${size[0]}: pass a size to resize both`,
      );
    return set;
  };
  return { train, test: await read('test'), ...(val ? { val: await read(val) } : {}) };
}
