import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseCifar, readCifar } from '../src/index.js';
import { tempDir } from './helpers/tmp.js';

/** A CIFAR record: label byte(s), then R plane, G plane, B plane (each 32×32 row-major). */
function record(labels: number[], pixel: (c: number, y: number, x: number) => number): number[] {
  const out = [...labels];
  for (let c = 0; c < 3; c++) for (let y = 0; y < 32; y++) for (let x = 0; x < 32; x++) out.push(pixel(c, y, x));
  return out;
}

describe('CIFAR binary reader', () => {
  let dir: string;
  const px = (n: number) => (c: number, y: number, x: number) => (n * 50 + c * 80 + y * 3 + x) % 256;
  beforeAll(async () => {
    dir = await tempDir();
    await writeFile(join(dir, 'data_batch_1.bin'), Uint8Array.from([...record([3], px(0)), ...record([9], px(1))]));
    await writeFile(join(dir, 'data_batch_2.bin'), Uint8Array.from(record([0], px(2))));
    await writeFile(join(dir, 'train.bin'), Uint8Array.from([...record([7, 42], px(0)), ...record([19, 99], px(1))]));
  });

  it('reads CIFAR-10 records into NHWC with the planar channels interleaved', async () => {
    const set = await readCifar([join(dir, 'data_batch_1.bin'), join(dir, 'data_batch_2.bin')]);
    expect(set).toMatchObject({ count: 3, height: 32, width: 32, channels: 3 });
    expect(Array.from(set.labels)).toEqual([3, 9, 0]);
    for (const [n, y, x, c] of [
      [0, 0, 0, 0],
      [0, 5, 7, 2],
      [1, 31, 31, 1],
      [2, 10, 3, 0],
    ]) {
      expect(set.images[((n * 32 + y) * 32 + x) * 3 + c]).toBe(px(n)(c, y, x));
    }
  });

  it('reads CIFAR-100 fine and coarse labels', async () => {
    const fine = await readCifar(join(dir, 'train.bin'), { variant: 100 });
    expect(Array.from(fine.labels)).toEqual([42, 99]);
    const coarse = await readCifar(join(dir, 'train.bin'), { variant: 100, labelMode: 'coarse' });
    expect(Array.from(coarse.labels)).toEqual([7, 19]);
    expect(coarse.images[((1 * 32 + 4) * 32 + 6) * 3 + 2]).toBe(px(1)(2, 4, 6));
  });

  it('rejects truncated files and out-of-range labels, naming the file', async () => {
    const f = join(dir, 'short.bin');
    await writeFile(f, Uint8Array.from(record([1], px(0)).slice(0, 3000)));
    await expect(readCifar(f)).rejects.toThrow(/short\.bin: truncated or not a CIFAR-10 binary file: 3000 bytes/);
    await expect(readCifar(join(dir, 'train.bin'))).rejects.toThrow(
      /train\.bin: truncated or not a CIFAR-10 binary file/,
    );
    const g = join(dir, 'badlabel.bin');
    await writeFile(g, Uint8Array.from(record([12], px(0))));
    await expect(readCifar(g)).rejects.toThrow(/badlabel\.bin: record 0: label 12 out of range 0\.\.9/);
    expect(() => parseCifar(new Uint8Array(0), 'empty.bin')).toThrow(/empty\.bin: empty CIFAR file/);
  });
});
