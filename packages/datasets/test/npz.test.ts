import { readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { zipSync } from 'fflate';
import { beforeAll, describe, expect, it } from 'vitest';
import { encodeNpz, medmnistSplit, parseNpy, parseNpz, readNpz } from '../src/index.js';
import { tempDir, u8 } from './helpers/tmp.js';

const here = dirname(fileURLToPath(import.meta.url));

describe('.npz reader', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await tempDir();
  });

  it('reads an archive written by numpy.savez_compressed (fixture made by numpy 2.x)', async () => {
    const a = await readNpz(join(here, 'fixtures', 'numpy_fixture.npz'));
    expect(a.train_images.shape).toEqual([3, 4, 5]);
    expect(a.train_images.dtype).toBe('uint8');
    expect(Array.from(a.train_images.data as Uint8Array)).toEqual(Array.from({ length: 60 }, (_, i) => i));
    expect(a.train_labels.shape).toEqual([3, 1]);
    expect(a.big.dtype).toBe('float32');
    expect(Array.from(a.big.data as Float32Array)).toEqual([1.5, -2.25, 3]);
    // Fortran order comes back in C order: [[0, 1, 2], [3, 4, 5]].
    expect(a.fort.shape).toEqual([2, 3]);
    expect(Array.from(a.fort.data as Int32Array)).toEqual([0, 1, 2, 3, 4, 5]);
    expect(a.flags.dtype).toBe('bool');
    expect(Array.from(a.flags.data as Uint8Array)).toEqual([1, 0, 1]);
    expect(Array.from(a.i64.data as BigInt64Array)).toEqual([-1n, 2n ** 40n]);
  });

  it('gives a MedMNIST split as an ImageSet', async () => {
    const a = await readNpz(join(here, 'fixtures', 'numpy_fixture.npz'));
    const set = medmnistSplit(a, 'train', 'fixture.npz');
    expect(set).toMatchObject({ count: 3, height: 4, width: 5, channels: 1 });
    expect(Array.from(set.labels)).toEqual([2, 0, 1]);
    expect(() => medmnistSplit(a, 'test', 'fixture.npz')).toThrow(/fixture\.npz: no 'test_images' array/);
  });

  it('round-trips encodeNpz, stored and deflated, with RGB images', async () => {
    for (const compress of [false, true]) {
      const imgs = Uint8Array.from({ length: 2 * 3 * 3 * 3 }, (_, i) => i * 4);
      const bytes = encodeNpz(
        {
          val_images: { shape: [2, 3, 3, 3], data: imgs },
          val_labels: { shape: [2, 1], data: Uint8Array.from([5, 6]) },
        },
        compress,
      );
      const set = medmnistSplit(parseNpz(bytes), 'val');
      expect(set).toMatchObject({ count: 2, height: 3, width: 3, channels: 3 });
      expect(Array.from(set.images)).toEqual(Array.from(imgs));
      expect(Array.from(set.labels)).toEqual([5, 6]);
    }
  });

  it('rejects a non-zip, a corrupt zip, a bad .npy and mismatched counts, naming the file', async () => {
    const f = join(dir, 'notzip.npz');
    await writeFile(f, Uint8Array.from([1, 2, 3, 4, 5]));
    await expect(readNpz(f)).rejects.toThrow(/notzip\.npz: wrong magic number: \.npz files are zip archives/);
    const good = u8(await readFile(join(here, 'fixtures', 'numpy_fixture.npz')));
    const g = join(dir, 'cut.npz');
    await writeFile(g, good.subarray(0, good.length - 40));
    await expect(readNpz(g)).rejects.toThrow(/cut\.npz: corrupt or truncated zip archive/);
    const npy = zipSync({ 'x.npy': Uint8Array.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0, 200, 0, 0x7b]) });
    expect(() => parseNpz(npy, 'h.npz')).toThrow(/h\.npz:x\.npy: truncated \.npy header/);
    expect(() => parseNpy(Uint8Array.from([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]), 'q.npy')).toThrow(
      /q\.npy: wrong magic number/,
    );
    const bytes = encodeNpz({
      train_images: { shape: [3, 2, 2], data: new Uint8Array(12) },
      train_labels: { shape: [2], data: new Uint8Array(2) },
    });
    expect(() => medmnistSplit(parseNpz(bytes, 'm.npz'), 'train', 'm.npz')).toThrow(
      /m\.npz: mismatched counts: 2 labels in 'train_labels' for 3 images/,
    );
    const trunc = encodeNpz({ a: { shape: [4], data: new Float32Array(4) } });
    const entries = { 'a.npy': parseNpzEntry(trunc).subarray(0, 140) };
    expect(() => parseNpz(zipSync(entries), 't.npz')).toThrow(
      /t\.npz:a\.npy: truncated \.npy data: shape \[4\] of <f4 needs 144 bytes, the file has 140/,
    );
  });
});

function parseNpzEntry(zip: Uint8Array): Uint8Array {
  // The first (stored) entry's data: local header is 30 bytes + name + extra.
  const view = new DataView(zip.buffer, zip.byteOffset);
  const nameLen = view.getUint16(26, true);
  const extraLen = view.getUint16(28, true);
  const size = view.getUint32(18, true);
  return zip.subarray(30 + nameLen + extraLen, 30 + nameLen + extraLen + size);
}
