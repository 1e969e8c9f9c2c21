import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  DatasetError,
  decodeImage,
  encodeJpeg,
  encodePng,
  encodeTiff,
  readImageFiles,
  readImageFolder,
  readImageFolderSplits,
  sniffImageFormat,
} from '../src/index.js';
import { tempDir } from './helpers/tmp.js';

function rgbaPattern(w: number, h: number, seed: number): Uint8Array {
  const out = new Uint8Array(w * h * 4);
  for (let i = 0; i < w * h; i++) {
    out[4 * i] = (i * 13 + seed) % 256;
    out[4 * i + 1] = (i * 29 + 2 * seed) % 256;
    out[4 * i + 2] = (i * 7 + 3 * seed) % 256;
    out[4 * i + 3] = 255;
  }
  return out;
}

/** A flat colour, so JPEG's lossy coding leaves it (almost) exact. */
function flat(w: number, h: number, rgb: [number, number, number]): Uint8Array {
  const out = new Uint8Array(w * h * 4);
  for (let i = 0; i < w * h; i++) out.set([...rgb, 255], 4 * i);
  return out;
}

describe('image files and folders', () => {
  let root: string;
  beforeAll(async () => {
    root = await tempDir();
    await mkdir(join(root, 'ok', 'cat'), { recursive: true });
    await mkdir(join(root, 'ok', 'dog'), { recursive: true });
    await writeFile(join(root, 'ok', 'cat', 'a.png'), encodePng(rgbaPattern(6, 4, 1), 6, 4));
    await writeFile(join(root, 'ok', 'cat', 'b.tif'), encodeTiff(rgbaPattern(6, 4, 2), 6, 4));
    // written by file browsers by themselves: skipped, never an error
    await writeFile(join(root, 'ok', 'cat', '.DS_Store'), 'skipped');
    await writeFile(join(root, 'ok', 'dog', 'Thumbs.db'), 'skipped');
    await writeFile(join(root, 'ok', 'dog', 'c.jpg'), encodeJpeg(flat(6, 4, [200, 100, 50]), 6, 4, 100));
  });

  it('sniffs formats by magic number', () => {
    expect(sniffImageFormat(encodePng(rgbaPattern(2, 2, 0), 2, 2))).toBe('png');
    expect(sniffImageFormat(encodeJpeg(rgbaPattern(8, 8, 0), 8, 8))).toBe('jpeg');
    expect(sniffImageFormat(encodeTiff(rgbaPattern(2, 2, 0), 2, 2))).toBe('tiff');
    expect(sniffImageFormat(Uint8Array.from([1, 2, 3, 4]))).toBeNull();
  });

  it('decodes PNG and TIFF losslessly', () => {
    const src = rgbaPattern(5, 3, 9);
    expect(Array.from(decodeImage(encodePng(src, 5, 3)).rgba)).toEqual(Array.from(src));
    const t = decodeImage(encodeTiff(src, 5, 3));
    expect([t.width, t.height]).toEqual([5, 3]);
    expect(Array.from(t.rgba)).toEqual(Array.from(src));
  });

  it('reads a class-per-folder tree into labelled RGB and grey images', async () => {
    const set = await readImageFolder(join(root, 'ok'));
    expect(set).toMatchObject({ count: 3, height: 4, width: 6, channels: 3, classNames: ['cat', 'dog'] });
    expect(Array.from(set.labels)).toEqual([0, 0, 1]);
    const a = rgbaPattern(6, 4, 1);
    expect(Array.from(set.images.subarray(0, 6))).toEqual([a[0], a[1], a[2], a[4], a[5], a[6]]);
    const b = rgbaPattern(6, 4, 2);
    expect(set.images[72 + 3 * 5 + 1]).toBe(b[4 * 5 + 1]);
    const c = Array.from(set.images.subarray(144, 147));
    c.forEach((v, i) => expect(Math.abs(v - [200, 100, 50][i])).toBeLessThanOrEqual(2));
    const grey = await readImageFolder(join(root, 'ok'), { channels: 1 });
    expect(grey.channels).toBe(1);
    expect(grey.images[0]).toBe(Math.round(0.299 * a[0] + 0.587 * a[1] + 0.114 * a[2]));
    const small = await readImageFolder(join(root, 'ok'), { size: [2, 3] });
    expect(small).toMatchObject({ height: 2, width: 3 });
    expect(Math.abs(small.images[2 * 18] - 200)).toBeLessThanOrEqual(2);
  });

  it('rejects an unknown class folder, a missing class, a corrupt image and a size mismatch', async () => {
    await expect(readImageFolder(join(root, 'ok'), { classes: ['cat'] })).rejects.toThrow(
      /ok\/dog: unknown class folder 'dog' \(the classes are: cat\)/,
    );
    await expect(readImageFolder(join(root, 'ok'), { classes: ['cat', 'dog', 'owl'] })).rejects.toThrow(
      /ok\/owl: class 'owl' has no folder/,
    );
    const bad = join(root, 'bad');
    await mkdir(join(bad, 'x'), { recursive: true });
    const png = encodePng(rgbaPattern(6, 4, 1), 6, 4);
    await writeFile(join(bad, 'x', 'cut.png'), png.subarray(0, png.length - 30));
    await expect(readImageFolder(bad)).rejects.toThrow(/bad\/x\/cut\.png: corrupt or truncated PNG image/);
    const mixed = join(root, 'mixed');
    await mkdir(join(mixed, 'x'), { recursive: true });
    await writeFile(join(mixed, 'x', 'a.png'), png);
    await writeFile(join(mixed, 'x', 'b.png'), encodePng(rgbaPattern(3, 3, 1), 3, 3));
    await expect(readImageFolder(mixed)).rejects.toThrow(/mixed\/x\/b\.png: image is 3×3, the others are 6×4/);
    const fake = join(root, 'fake');
    await mkdir(join(fake, 'x'), { recursive: true });
    await writeFile(join(fake, 'x', 'a.jpg'), 'not an image at all');
    await expect(readImageFolder(fake)).rejects.toThrow(/fake\/x\/a\.jpg: not a PNG, JPEG or TIFF image/);
    const jpg = encodeJpeg(rgbaPattern(16, 16, 3), 16, 16);
    expect(() => decodeImage(jpg.subarray(0, 200), 'cut.jpg')).toThrow(/cut\.jpg: corrupt or truncated JPEG image/);
    await expect(readImageFolder(join(root, 'none'))).rejects.toThrow(/none: cannot list the image folder/);
  });

  /** A folder tree from {'a/b.png': [w, h]} (a PNG of that size) or {'a/b.txt': 'text'}. */
  async function tree(name: string, files: Record<string, [number, number] | string>): Promise<string> {
    const dir = join(root, name);
    for (const [rel, what] of Object.entries(files)) {
      const p = join(dir, rel);
      await mkdir(join(p, '..'), { recursive: true });
      await writeFile(
        p,
        typeof what === 'string' ? what : encodePng(rgbaPattern(what[0], what[1], rel.length), what[0], what[1]),
      );
    }
    return dir;
  }

  /** The DatasetError of a rejected promise (fails the test when it resolves or throws something else). */
  async function datasetError(p: Promise<unknown>): Promise<DatasetError> {
    const e = await p.then(
      () => null,
      (x: unknown) => x,
    );
    expect(e).toBeInstanceOf(DatasetError);
    return e as DatasetError;
  }

  it('names an empty class folder', async () => {
    const dir = await tree('empty-class', { 'a/1.png': [4, 4], 'b/readme.md': 'x' });
    await mkdir(join(dir, 'c'), { recursive: true });
    const e = await datasetError(readImageFolder(dir, { otherFiles: 'ignore' }));
    expect(e.file).toBe(join(dir, 'b'));
    expect(e.message).toMatch(/class folder 'b' holds no image files \(\.png \.jpg \.jpeg \.tif \.tiff\)/);
    const only = await tree('empty-only', { 'a/1.png': [4, 4] });
    await mkdir(join(only, 'z'), { recursive: true });
    expect((await datasetError(readImageFolder(only))).file).toBe(join(only, 'z'));
  });

  it('names a non-image file in a class folder, unless told to ignore such files', async () => {
    const dir = await tree('stray', { 'a/1.png': [4, 4], 'a/labels.csv': '1,2', 'b/2.png': [4, 4] });
    const e = await datasetError(readImageFolder(dir));
    expect(e.file).toBe(join(dir, 'a', 'labels.csv'));
    expect(e.message).toMatch(
      /not an image file \(the readable extensions are \.png .*\); move it out of the class folder, or pass otherFiles: 'ignore'/,
    );
    const set = await readImageFolder(dir, { otherFiles: 'ignore' });
    expect(Array.from(set.labels)).toEqual([0, 1]);
    // a file with an image's extension that is not one is refused by its content
    const fake = await tree('fake-ext', { 'a/1.png': [4, 4], 'a/2.png': 'text, not pixels' });
    expect((await datasetError(readImageFolder(fake))).message).toMatch(/2\.png: not a PNG, JPEG or TIFF image/);
    await expect(readImageFolder(dir, { otherFiles: 'skip' as 'ignore' })).rejects.toThrow(
      /`otherFiles` must be 'error' or 'ignore', got "skip"/,
    );
  });

  it('names the odd image out of a folder of mixed sizes, and resizes them when given a size', async () => {
    const dir = await tree('sizes', { 'a/1.png': [6, 4], 'a/2.png': [6, 4], 'b/3.png': [5, 5] });
    const e = await datasetError(readImageFolder(dir));
    expect(e.file).toBe(join(dir, 'b', '3.png'));
    expect(e.message).toContain(
      `image is 5×5, the others are 6×4 (as ${join(dir, 'a', '1.png')}): images of mixed sizes need a size`,
    );
    const set = await readImageFolder(dir, { size: [3, 3] });
    expect(set).toMatchObject({ count: 3, height: 3, width: 3 });
  });

  it('reads train/test splits with one class list and names class folders that differ', async () => {
    const ok = await tree('split-ok', {
      'train/a/1.png': [4, 4],
      'train/b/2.png': [4, 4],
      'train/b/3.png': [4, 4],
      'test/a/4.png': [4, 4],
      'test/b/5.png': [4, 4],
      'val/a/6.png': [4, 4],
      'val/b/7.png': [4, 4],
    });
    const seen: number[] = [];
    const s = await readImageFolderSplits(ok, { onProgress: (done, total) => seen.push(done / total) });
    expect(Array.from(s.train.labels)).toEqual([0, 1, 1]);
    expect(Array.from(s.test.labels)).toEqual([0, 1]);
    expect(Array.from(s.val!.labels)).toEqual([0, 1]);
    expect(s.test.classNames).toEqual(['a', 'b']);
    // one count across the splits: 1/3 … 3/3 (train), 4/5 5/5 (test), 6/7 7/7 (val)
    expect(seen).toEqual([1 / 3, 2 / 3, 1, 4 / 5, 1, 6 / 7, 1]);
    const bad = await tree('split-bad', {
      'train/a/1.png': [4, 4],
      'train/b/2.png': [4, 4],
      'test/a/3.png': [4, 4],
      'test/c/4.png': [4, 4],
    });
    const e = await datasetError(readImageFolderSplits(bad));
    expect(e.file).toBe(join(bad, 'test'));
    expect(e.message).toContain(`only in ${join(bad, 'train')}: b; only in ${join(bad, 'test')}: c`);
    const noTest = await tree('split-none', { 'train/a/1.png': [4, 4] });
    expect((await datasetError(readImageFolderSplits(noTest))).message).toMatch(/no test\/ folder/);
    const sizes = await tree('split-sizes', { 'train/a/1.png': [4, 4], 'test/a/2.png': [5, 5] });
    expect((await datasetError(readImageFolderSplits(sizes))).message).toMatch(
      /images are 5×5, the training images 4×4: pass a size/,
    );
    expect((await readImageFolderSplits(sizes, { size: [4, 4] })).test.height).toBe(4);
  });

  it('reads loose image files for prediction, resized', async () => {
    const dir = await tree('loose', { 'x.png': [6, 4], 'y.png': [3, 3] });
    const set = await readImageFiles([join(dir, 'x.png'), join(dir, 'y.png')], { size: [4, 6], channels: 1 });
    expect(set).toMatchObject({ count: 2, height: 4, width: 6, channels: 1 });
    const a = rgbaPattern(6, 4, 'x.png'.length);
    expect(set.images[0]).toBe(Math.round(0.299 * a[0] + 0.587 * a[1] + 0.114 * a[2]));
    await expect(readImageFiles([])).rejects.toThrow(/`paths` must be a list of one or more image files/);
  });
});
