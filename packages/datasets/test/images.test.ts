import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { decodeImage, encodeJpeg, encodePng, encodeTiff, readImageFolder, sniffImageFormat } from '../src/index.js';
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
    await writeFile(join(root, 'ok', 'cat', 'notes.txt'), 'ignored');
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
    await expect(readImageFolder(join(root, 'ok'), { classes: ['cat'] })).rejects.toThrow(/ok\/dog: unknown class folder 'dog' \(the classes are: cat\)/);
    await expect(readImageFolder(join(root, 'ok'), { classes: ['cat', 'dog', 'owl'] })).rejects.toThrow(/ok\/owl: class 'owl' has no folder/);
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
});
