import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { beforeAll, describe, expect, it } from 'vitest';
import { DatasetError, encodeIdx, parseIdx, readIdx, readIdxImageSet } from '../src/index.js';
import { tempDir, u8 } from './helpers/tmp.js';

/** IDX bytes built by hand from the format description (independent of encodeIdx). */
function idxBytes(typeByte: number, shape: number[], body: number[]): Uint8Array {
  const head = [0, 0, typeByte, shape.length];
  for (const s of shape) head.push((s >>> 24) & 255, (s >>> 16) & 255, (s >>> 8) & 255, s & 255);
  return Uint8Array.from([...head, ...body]);
}

describe('IDX reader', () => {
  let dir: string;
  const pixels = Array.from({ length: 3 * 2 * 4 }, (_, i) => (i * 7) % 256);
  beforeAll(async () => {
    dir = await tempDir();
    await writeFile(join(dir, 'img-idx3-ubyte'), idxBytes(0x08, [3, 2, 4], pixels));
    await writeFile(join(dir, 'lab-idx1-ubyte'), idxBytes(0x08, [3], [4, 0, 9]));
    await writeFile(join(dir, 'img-idx3-ubyte.gz'), u8(gzipSync(idxBytes(0x08, [3, 2, 4], pixels))));
    await writeFile(join(dir, 'lab-idx1-ubyte.gz'), u8(gzipSync(idxBytes(0x08, [3], [4, 0, 9]))));
    await writeFile(join(dir, 'lab2-idx1-ubyte'), idxBytes(0x08, [2], [4, 0]));
  });

  it('reads raw and gzip image/label pairs into an NHWC ImageSet', async () => {
    for (const suffix of ['', '.gz']) {
      const set = await readIdxImageSet(join(dir, `img-idx3-ubyte${suffix}`), join(dir, `lab-idx1-ubyte${suffix}`));
      expect(set).toMatchObject({ count: 3, height: 2, width: 4, channels: 1 });
      expect(Array.from(set.images)).toEqual(pixels);
      expect(Array.from(set.labels)).toEqual([4, 0, 9]);
    }
  });

  it('reads big-endian int32 and float32 payloads', () => {
    const i32 = parseIdx(idxBytes(0x0c, [2], [0xff, 0xff, 0xff, 0xfe, 0, 0, 1, 0]));
    expect(i32.dtype).toBe('int32');
    expect(Array.from(i32.data as Int32Array)).toEqual([-2, 256]);
    const f32 = parseIdx(idxBytes(0x0d, [1], [0x3f, 0xc0, 0, 0]));
    expect(Array.from(f32.data as Float32Array)).toEqual([1.5]);
  });

  it('round-trips encodeIdx', () => {
    const data = Uint8Array.from([1, 2, 3, 4, 5, 6]);
    const a = parseIdx(encodeIdx([2, 3], data));
    expect(a.shape).toEqual([2, 3]);
    expect(Array.from(a.data as Uint8Array)).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it('rejects a wrong magic number, naming the file', async () => {
    const f = join(dir, 'bad-magic');
    await writeFile(f, Uint8Array.from([0x50, 0x4b, 8, 1, 0, 0, 0, 0]));
    await expect(readIdx(f)).rejects.toThrow(DatasetError);
    await expect(readIdx(f)).rejects.toThrow(`${f}: wrong magic number`);
    const g = join(dir, 'bad-type');
    await writeFile(g, Uint8Array.from([0, 0, 0x42, 1, 0, 0, 0, 0]));
    await expect(readIdx(g)).rejects.toThrow(/bad-type: wrong magic number: unknown IDX data type byte 42/);
  });

  it('rejects truncated files and trailing data', async () => {
    const full = idxBytes(0x08, [3, 2, 4], pixels);
    const f = join(dir, 'trunc');
    await writeFile(f, full.subarray(0, full.length - 1));
    await expect(readIdx(f)).rejects.toThrow(
      /trunc: truncated IDX data: shape \[3, 2, 4\] needs 40 bytes, the file has 39/,
    );
    await writeFile(f, full.subarray(0, 9));
    await expect(readIdx(f)).rejects.toThrow(/truncated IDX header/);
    await writeFile(f, Uint8Array.from([...full, 0]));
    await expect(readIdx(f)).rejects.toThrow(/longer than its header says/);
  });

  it('rejects corrupt gzip and a .gz that is not gzip', async () => {
    const gz = u8(gzipSync(idxBytes(0x08, [3, 2, 4], pixels)));
    const f = join(dir, 'corrupt.gz');
    await writeFile(f, gz.subarray(0, gz.length - 12));
    await expect(readIdx(f)).rejects.toThrow(/corrupt\.gz: corrupt or truncated gzip data/);
    const g = join(dir, 'plain.gz');
    await writeFile(g, idxBytes(0x08, [1], [1]));
    await expect(readIdx(g)).rejects.toThrow(/plain\.gz: named \.gz but does not start with the gzip magic number/);
  });

  it('rejects mismatched image/label counts and missing files', async () => {
    await expect(readIdxImageSet(join(dir, 'img-idx3-ubyte'), join(dir, 'lab2-idx1-ubyte'))).rejects.toThrow(
      /lab2-idx1-ubyte: mismatched counts: 2 labels for 3 images/,
    );
    await expect(readIdxImageSet(join(dir, 'lab-idx1-ubyte'), join(dir, 'lab-idx1-ubyte'))).rejects.toThrow(
      /expected IDX images of type uint8 and shape/,
    );
    await expect(readIdx(join(dir, 'nope'))).rejects.toThrow(/nope: file not found/);
  });
});
