/**
 * Damaged or mislabelled files are refused with one line naming the file: npz members whose CRC-32 does not match,
 * labels outside the classes (IDX, PatchCamelyon), and HDF5 files damaged past their superblock (no HDF5-DIAG dump).
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as zlib from 'node:zlib';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  crc32,
  encodeIdx,
  encodeNpz,
  getH5wasm,
  idxToImageSet,
  parseIdx,
  parseNpz,
  readHdf5Dataset,
  readPcam,
} from '../src/index.js';
import { tempDir, u8 } from './helpers/tmp.js';

afterEach(() => vi.restoreAllMocks());

describe('npz CRC-32', () => {
  it('crc32 matches the standard check value and zlib', () => {
    const digits = new TextEncoder().encode('123456789');
    expect(crc32(digits)).toBe(0xcbf43926);
    const some = Uint8Array.from({ length: 1000 }, (_, i) => (i * 37 + 11) % 256);
    const z = (zlib as unknown as { crc32?: (d: Uint8Array) => number }).crc32;
    if (z) expect(crc32(some)).toBe(z(some));
  });

  it('a flipped bit in a stored member is refused, naming the member; the intact archive reads', () => {
    const data = Float32Array.from({ length: 64 }, (_, i) => i / 7);
    const zip = encodeNpz({ a: { shape: [8, 8], data } }, false);
    expect(Array.from(parseNpz(zip, 'ok.npz').a.data as Float32Array)).toEqual(Array.from(data));
    // the member's bytes are stored as they are: find the array's first float and flip one bit in it
    const needle = new Uint8Array(Float32Array.from([1 / 7]).buffer);
    const at = zip.findIndex((_, i) => needle.every((b, j) => zip[i + j] === b));
    expect(at).toBeGreaterThan(0);
    const bad = zip.slice();
    bad[at] ^= 0x04;
    expect(() => parseNpz(bad, 'bad.npz')).toThrow(
      /bad\.npz: member 'a\.npy' is damaged: CRC-32 [0-9a-f]{8}, the archive says [0-9a-f]{8}/,
    );
  });
});

describe('labels outside the classes', () => {
  it('IDX: a label of 200 in a 10-class set is refused, naming the labels file and the index', () => {
    const images = parseIdx(encodeIdx([3, 2, 2], new Uint8Array(12)));
    const labels = parseIdx(encodeIdx([3], Uint8Array.from([1, 200, 3])));
    const ten = Array.from({ length: 10 }, (_, i) => String(i));
    expect(() => idxToImageSet(images, labels, 'img.idx', 'lab.idx', ten)).toThrow(
      /lab\.idx: label 200 at index 1 is outside the 10 classes \(labels must be 0\.\.9\)/,
    );
    const ok = parseIdx(encodeIdx([3], Uint8Array.from([1, 9, 3])));
    expect(Array.from(idxToImageSet(images, ok, 'img.idx', 'lab.idx', ten).labels)).toEqual([1, 9, 3]);
  });
});

describe('HDF5 damage', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await tempDir();
    const h5 = await getH5wasm();
    const fx = new h5.File(join(dir, 'x.h5'), 'w');
    fx.create_dataset({ name: 'x', data: new Uint8Array(2 * 4 * 4 * 3), shape: [2, 4, 4, 3], dtype: '<B' });
    fx.close();
    const fy = new h5.File(join(dir, 'y.h5'), 'w');
    fy.create_dataset({ name: 'y', data: Uint8Array.from([1, 2]), shape: [2, 1, 1, 1], dtype: '<B' });
    fy.close();
  });

  it('PatchCamelyon: a label 2 is refused (classes 0 and 1)', async () => {
    await expect(readPcam(join(dir, 'x.h5'), join(dir, 'y.h5'))).rejects.toThrow(
      /y\.h5: label 2 at index 1 is outside the PatchCamelyon classes/,
    );
  });

  it('a file damaged after its superblock gives one line naming the file, and prints nothing', async () => {
    const whole = u8(await readFile(join(dir, 'x.h5')));
    const bad = whole.slice();
    // keep the 96-byte superblock, overwrite the object headers that follow it
    for (let i = 96; i < Math.min(bad.length, 2048); i++) bad[i] = (i * 151) & 0xff;
    const file = join(dir, 'damaged.h5');
    await writeFile(file, bad);
    const printed: string[] = [];
    vi.spyOn(console, 'error').mockImplementation((...a: unknown[]) => void printed.push(a.join(' ')));
    const stderr = vi
      .spyOn(process.stderr, 'write')
      .mockImplementation((s: string | Uint8Array) => (printed.push(String(s)), true));
    let message = '';
    try {
      await readHdf5Dataset(file, 'x');
    } catch (e) {
      message = (e as Error).message;
    }
    stderr.mockRestore();
    expect(message).toMatch(/damaged\.h5: /);
    expect(message).toMatch(/corrupt or truncated HDF5 file \(HDF5: .*checksum/);
    expect(message.split('\n')).toHaveLength(1);
    expect(printed.join('')).not.toMatch(/HDF5-DIAG/);
  });
});
