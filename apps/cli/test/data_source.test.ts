/** `--data SOURCE`: parsing, every reader through loadDataSource, the stratified validation split, normalisation statistics. */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { channelStats, loadDataSource, parseDataSource, stratifiedSplit } from '../src/data_source.js';
import { CliError } from '../src/errors.js';
import {
  pixels,
  tempRoot,
  writeCifar10,
  writeCifar100,
  writeFolder,
  writeIdx,
  writeNpz,
  writePcam,
} from './source_fixtures.js';

const counts = (labels: Int32Array, k: number) =>
  Array.from({ length: k }, (_, c) => labels.filter((l) => l === c).length);

describe('parseDataSource', () => {
  it('reads every kind and refuses unknown kinds and missing paths, naming the value', () => {
    const root = tempRoot('parse');
    writeFolder(join(root, 'f'), { perClass: 1, size: [4, 4], channels: 1 });
    expect(parseDataSource(`folder:${join(root, 'f')}`)).toMatchObject({ kind: 'folder', paths: [join(root, 'f')] });
    expect(parseDataSource('mnist')).toMatchObject({ kind: 'mnist', paths: [], dataset: 'mnist' });
    expect(parseDataSource('mnist+mnist-rot')).toMatchObject({ dataset: 'mnist+mnist-rot' });
    expect(() => parseDataSource('imagenet:/x')).toThrow(CliError);
    expect(() => parseDataSource('imagenet:/x')).toThrow(/unknown source kind 'imagenet'.*folder:PATH/);
    expect(() => parseDataSource('cifar')).toThrow(/unknown source kind 'cifar'/);
    expect(() => parseDataSource('folder')).toThrow(/needs a path after a colon/);
    expect(() => parseDataSource(`folder:${join(root, 'nope')}`)).toThrow(/folder not found: .*nope/);
    expect(() => parseDataSource(`npz:${root}`)).toThrow(/is a folder; npz: takes a file/);
    expect(() => parseDataSource(`hdf5:${root}`)).toThrow(/hdf5:X,Y/);
  });
});

describe('loadDataSource', () => {
  it('folder: grey PNG and TIFF read as one channel, stratified 10 % validation by default, class names from the folders', async () => {
    const root = writeFolder(tempRoot('folder'), {
      perClass: 10,
      size: [6, 8],
      channels: 1,
      format: (i) => (['png', 'tiff', 'png'] as const)[i % 3],
    });
    const d = await loadDataSource(parseDataSource(`folder:${root}`), { seed: 3 });
    expect(d.classNames).toEqual(['circle', 'square', 'star']);
    expect(d.train).toMatchObject({ height: 6, width: 8, channels: 1 });
    expect(d.validationFrom).toBe('split');
    expect(counts(d.validation.labels, 3)).toEqual([1, 1, 1]);
    expect(counts(d.train.labels, 3)).toEqual([9, 9, 9]);
    expect(d.test).toBeUndefined();
    // asked for the test split alone, a plain folder gives all its images
    const t = await loadDataSource(parseDataSource(`folder:${root}`), { splits: ['test'] });
    expect(t.test!.count).toBe(30);
  });

  it('folder: colour PNG and JPEG images keep 3 channels; mixed sizes need --size, which resizes', async () => {
    const root = writeFolder(tempRoot('mixed'), {
      perClass: 3,
      size: [8, 8],
      channels: 3,
      format: (i) => (i % 2 ? 'jpeg' : 'png'),
      sizeOf: (i) => (i === 4 ? [10, 12] : [8, 8]),
    });
    await expect(loadDataSource(parseDataSource(`folder:${root}`))).rejects.toThrow(
      /--data folder:.*10.*pass --size H\[xW\]/,
    );
    const d = await loadDataSource(parseDataSource(`folder:${root}`), { size: [5, 7], valFraction: 0 });
    expect(d.train).toMatchObject({ height: 5, width: 7, channels: 3, count: 9 });
    expect(d.validation.count).toBe(0);
  });

  it('folder with train/ and test/ keeps them; --val-fraction splits train', async () => {
    const root = tempRoot('splits');
    writeFolder(join(root, 'train'), { classes: ['a', 'b'], perClass: 5, size: [4, 4], channels: 3 });
    writeFolder(join(root, 'test'), { classes: ['a', 'b'], perClass: 2, size: [4, 4], channels: 3, seed: 2 });
    const d = await loadDataSource(parseDataSource(`folder:${root}`));
    expect([d.train.count, d.validation.count, d.test!.count]).toEqual([10, 0, 4]);
    const v = await loadDataSource(parseDataSource(`folder:${root}`), { valFraction: 0.2 });
    expect([v.train.count, v.validation.count]).toEqual([8, 2]);
  });

  it('cifar10, npz, hdf5 and idx sources', async () => {
    const root = tempRoot('readers');
    const c = await loadDataSource(parseDataSource(`cifar10:${writeCifar10(join(root, 'cifar'), 20, 10)}`));
    expect(c.classNames[9]).toBe('truck');
    expect([c.train.count, c.test!.count, c.train.height, c.train.channels]).toEqual([20, 10, 32, 3]);

    // CIFAR-100: the fine label (second byte) and its names; the folder as distributed (cifar-100-binary inside) too
    writeCifar100(join(root, 'c100', 'cifar-100-binary'), 8, 4);
    const c100 = await loadDataSource(parseDataSource(`cifar100:${join(root, 'c100')}`));
    expect([c100.train.count, c100.test!.count, c100.classNames.length]).toEqual([8, 4, 100]);
    expect(Array.from(c100.train.labels.subarray(0, 3))).toEqual([0, 1, 2]);
    expect(c100.classNames[2]).toBe('class2');

    const n = await loadDataSource(
      parseDataSource(`npz:${writeNpz(join(root, 'm.npz'), { train: 12, val: 6, test: 3 })}`),
    );
    expect([n.train.count, n.validation.count, n.test!.count, n.validationFrom]).toEqual([12, 6, 3, 'source']);
    expect(n.classNames).toEqual(['0', '1', '2']);

    const [x, y] = await writePcam(join(root, 'pcam'), { train: 8, valid: 4, test: 2 });
    const h = await loadDataSource(parseDataSource(`hdf5:${x},${y}`));
    expect([h.train.count, h.validation.count, h.test!.count]).toEqual([8, 4, 2]);
    expect(h.classNames).toEqual(['normal', 'metastatic']);

    const i = await loadDataSource(parseDataSource(`idx:${writeIdx(join(root, 'idx'), 16, 8)}`), {
      valFraction: 0.25,
      seed: 1,
    });
    expect([i.train.count, i.validation.count, i.test!.count]).toEqual([12, 4, 8]);
    expect(counts(i.validation.labels, 4)).toEqual([1, 1, 1, 1]);
  });

  it('asked for the test split alone, a source without one gives all its images', async () => {
    const root = tempRoot('testonly');
    const idx = writeIdx(join(root, 'idx'), 12, 4);
    const cifar = writeCifar10(join(root, 'cifar'), 6, 3);
    for (const f of ['t10k-images-idx3-ubyte', 't10k-labels-idx1-ubyte']) rmSync(join(idx, f));
    rmSync(join(cifar, 'test_batch.bin'));
    expect((await loadDataSource(parseDataSource(`idx:${idx}`), { splits: ['test'] })).test!.count).toBe(12);
    expect((await loadDataSource(parseDataSource(`cifar10:${cifar}`), { splits: ['test'] })).test!.count).toBe(6);
    const [x, y] = await writePcam(join(root, 'pcam'), { train: 5 });
    expect((await loadDataSource(parseDataSource(`hdf5:${x},${y}`), { splits: ['test'] })).test!.count).toBe(5);
  });

  it('refuses a --val-fraction out of [0, 1) and --size on a source of fixed size', async () => {
    const root = writeIdx(tempRoot('vf'), 8, 4);
    await expect(loadDataSource(parseDataSource(`idx:${root}`), { valFraction: 1 })).rejects.toThrow(
      /--val-fraction must be a number in \[0, 1\), got 1/,
    );
    await expect(loadDataSource(parseDataSource(`idx:${root}`), { size: [4, 4] })).rejects.toThrow(
      /--size resizes the images of a folder/,
    );
  });
});

describe('stratifiedSplit and channelStats', () => {
  it('holds out round(f·n) per class, seeded, disjoint and complete', () => {
    const { images, labels } = pixels(50, 2, 2, 1, 3);
    const labs = Int32Array.from(labels);
    // unbalanced: drop most of class 2
    const keep = Array.from({ length: 50 }, (_, i) => i).filter((i) => labs[i] !== 2 || i < 12);
    const set = {
      images: Uint8Array.from(keep.flatMap((i) => Array.from(images.subarray(4 * i, 4 * i + 4)))),
      labels: Int32Array.from(keep.map((i) => labs[i])),
      count: keep.length,
      height: 2,
      width: 2,
      channels: 1,
    };
    const per = counts(set.labels, 3);
    const a = stratifiedSplit(set, 0.2, 5);
    expect(counts(a.validation.labels, 3)).toEqual(per.map((n) => Math.round(0.2 * n)));
    expect(a.train.count + a.validation.count).toBe(set.count);
    const b = stratifiedSplit(set, 0.2, 5);
    expect(Array.from(b.validation.images)).toEqual(Array.from(a.validation.images));
    const other = stratifiedSplit(set, 0.2, 6);
    expect(Array.from(other.validation.images)).not.toEqual(Array.from(a.validation.images));
  });

  it('per-channel mean and std of pixels in [0, 1]', () => {
    const set = {
      images: Uint8Array.from([0, 255, 255, 255, 0, 255, 255, 255]),
      labels: new Int32Array(1),
      count: 1,
      height: 2,
      width: 2,
      channels: 2,
    };
    const s = channelStats(set);
    expect(s.mean[0]).toBeCloseTo(0.5, 6);
    expect(s.std[0]).toBeCloseTo(0.5, 6);
    expect(s.mean[1]).toBeCloseTo(1, 6);
    expect(s.std[1]).toBe(1); // a constant channel is not divided by zero
  });
});
