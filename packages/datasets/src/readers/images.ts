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
  if (bytes.length >= 8 && bytes[0] === 0x89 && bytes[1] === 0x50 && bytes[2] === 0x4e && bytes[3] === 0x47) return 'png';
  if (bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) return 'jpeg';
  if (bytes.length >= 4 && ((bytes[0] === 0x49 && bytes[1] === 0x49 && bytes[2] === 0x2a && bytes[3] === 0) || (bytes[0] === 0x4d && bytes[1] === 0x4d && bytes[2] === 0 && bytes[3] === 0x2a))) return 'tiff';
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
      out = { width: png.width, height: png.height, rgba: new Uint8Array(png.data.buffer, png.data.byteOffset, png.data.byteLength) };
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
    fail(file, `corrupt or truncated ${format.toUpperCase()} image (decoded ${out.rgba.length} bytes for ${out.width}×${out.height})`);
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
          (1 - fy) * ((1 - fx) * src.rgba[(y0 * src.width + x0) * 4 + c] + fx * src.rgba[(y0 * src.width + x1) * 4 + c]) +
          fy * ((1 - fx) * src.rgba[(y1 * src.width + x0) * 4 + c] + fx * src.rgba[(y1 * src.width + x1) * 4 + c]);
        out[(i * width + j) * 4 + c] = Math.round(v);
      }
    }
  }
  return { width, height, rgba: out };
}

export interface ImageFolderOptions {
  /**
   * The class names, in label order. When given, a sub-folder not in this list is an error (a typo or a stray
   * folder would otherwise shift every label), and so is a listed class with no folder. When omitted, the
   * sub-folders sorted by name are the classes.
   */
  classes?: string[];
  /** 1 (grey) or 3 (RGB, default). */
  channels?: 1 | 3;
  /** Resize every image to [height, width] (bilinear). Without it, every image must have the first one's size. */
  size?: [number, number];
  /** File extensions read (lower case, with the dot); other files are ignored. Default .png .jpg .jpeg .tif .tiff. */
  extensions?: string[];
}

const DEFAULT_EXTENSIONS = ['.png', '.jpg', '.jpeg', '.tif', '.tiff'];

/**
 * Reads root/<class>/<image files> into a uint8 NHWC ImageSet, files sorted by name within a class.
 * Any bad file stops the read with an error naming it: no partial set comes back.
 */
export async function readImageFolder(root: string, options: ImageFolderOptions = {}): Promise<ImageSet> {
  const where = 'readImageFolder';
  const channels = options.channels ?? 3;
  if (channels !== 1 && channels !== 3) invalidArg(where, 'channels', channels, '1 or 3');
  if (options.size && !(options.size.length === 2 && options.size.every((s) => Number.isInteger(s) && s > 0))) {
    invalidArg(where, 'size', options.size, '[height, width] of positive integers');
  }
  const extensions = (options.extensions ?? DEFAULT_EXTENSIONS).map((e) => e.toLowerCase());
  let entries;
  try {
    entries = await readdir(root, { withFileTypes: true });
  } catch (e) {
    fail(root, `cannot list the image folder (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  const folders = entries.filter((e) => e.isDirectory()).map((e) => e.name).sort();
  let classes: string[];
  if (options.classes) {
    classes = options.classes;
    for (const f of folders) {
      if (!classes.includes(f)) fail(join(root, f), `unknown class folder '${f}' (the classes are: ${classes.join(', ')})`);
    }
    for (const c of classes) {
      if (!folders.includes(c)) fail(join(root, c), `class '${c}' has no folder`);
    }
  } else {
    classes = folders;
  }
  if (classes.length === 0) fail(root, 'no class sub-folders');
  const files: Array<{ path: string; label: number }> = [];
  for (let label = 0; label < classes.length; label++) {
    const dir = join(root, classes[label]);
    const names = (await readdir(dir)).filter((n) => extensions.some((e) => n.toLowerCase().endsWith(e))).sort();
    for (const n of names) {
      const p = join(dir, n);
      if ((await stat(p)).isFile()) files.push({ path: p, label });
    }
  }
  if (files.length === 0) fail(root, `no image files (${extensions.join(' ')}) in the class folders`);
  let height = options.size?.[0] ?? 0;
  let width = options.size?.[1] ?? 0;
  let images: Uint8Array | null = null;
  const labels = new Int32Array(files.length);
  for (let n = 0; n < files.length; n++) {
    const { path, label } = files[n];
    let img = decodeImage(await readBytes(path), path);
    if (images === null) {
      if (!options.size) {
        height = img.height;
        width = img.width;
      }
      images = new Uint8Array(files.length * height * width * channels);
    }
    if (options.size) img = resizeRgba(img, height, width);
    else if (img.height !== height || img.width !== width) {
      fail(path, `image is ${img.width}×${img.height}, the others are ${width}×${height} (pass size to resize)`);
    }
    rgbaTo(img.rgba, height * width, channels, images, n * height * width * channels);
    labels[n] = label;
  }
  return { images: images as Uint8Array, labels, count: files.length, height, width, channels, classNames: [...classes] };
}
