import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { getH5wasm, readHdf5Dataset, readPcam } from '../src/index.js';
import { tempDir, u8 } from './helpers/tmp.js';

describe('HDF5 (h5wasm) and PatchCamelyon', () => {
  let dir: string;
  const n = 3;
  const x = Uint8Array.from({ length: n * 4 * 4 * 3 }, (_, i) => (i * 11) % 256);
  beforeAll(async () => {
    dir = await tempDir();
    const h5 = await getH5wasm();
    // The PCam layout: x [N, H, W, 3] uint8, y [N, 1, 1, 1] uint8, in separate files.
    const fx = new h5.File(join(dir, 'camelyonpatch_level_2_split_test_x.h5'), 'w');
    fx.create_dataset({ name: 'x', data: x, shape: [n, 4, 4, 3], dtype: '<B' });
    fx.close();
    const fy = new h5.File(join(dir, 'camelyonpatch_level_2_split_test_y.h5'), 'w');
    fy.create_dataset({ name: 'y', data: Uint8Array.from([1, 0, 1]), shape: [n, 1, 1, 1], dtype: '<B' });
    fy.close();
    const fy2 = new h5.File(join(dir, 'y_short.h5'), 'w');
    fy2.create_dataset({ name: 'y', data: Uint8Array.from([1, 0]), shape: [2, 1, 1, 1], dtype: '<B' });
    fy2.create_dataset({ name: 'f', data: Float32Array.from([0.5, 1.5]), shape: [2], dtype: '<f' });
    fy2.close();
  });

  it('reads datasets and a PCam split', async () => {
    const set = await readPcam(
      join(dir, 'camelyonpatch_level_2_split_test_x.h5'),
      join(dir, 'camelyonpatch_level_2_split_test_y.h5'),
    );
    expect(set).toMatchObject({ count: 3, height: 4, width: 4, channels: 3 });
    expect(Array.from(set.images)).toEqual(Array.from(x));
    expect(Array.from(set.labels)).toEqual([1, 0, 1]);
    const f = await readHdf5Dataset(join(dir, 'y_short.h5'), 'f');
    expect(f.shape).toEqual([2]);
    expect(Array.from(f.data as Float32Array)).toEqual([0.5, 1.5]);
  });

  it('rejects missing files, non-HDF5 files, missing datasets and mismatched counts', async () => {
    await expect(readHdf5Dataset(join(dir, 'nope.h5'), 'x')).rejects.toThrow(/nope\.h5: file not found/);
    const junk = join(dir, 'junk.h5');
    await writeFile(junk, 'this is not HDF5 at all, just some text that is long enough');
    await expect(readHdf5Dataset(junk, 'x')).rejects.toThrow(/junk\.h5: not an HDF5 file: no HDF5 format signature/);
    const whole = u8(await readFile(join(dir, 'camelyonpatch_level_2_split_test_x.h5')));
    const cut = join(dir, 'cut_x.h5');
    await writeFile(cut, whole.subarray(0, Math.floor(whole.length / 2)));
    await expect(readHdf5Dataset(cut, 'x')).rejects.toThrow(
      /cut_x\.h5: truncated HDF5 file: its superblock says \d+ bytes, the file has \d+/,
    );
    await expect(readHdf5Dataset(join(dir, 'y_short.h5'), 'x')).rejects.toThrow(
      /y_short\.h5: no dataset 'x' \(found: f, y\)/,
    );
    await expect(readPcam(join(dir, 'camelyonpatch_level_2_split_test_x.h5'), join(dir, 'y_short.h5'))).rejects.toThrow(
      /y_short\.h5: mismatched counts: 2 labels for 3 images/,
    );
  });
});
