import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { makeDataset, randomRotation, splitIndices, type Batch, type ImageSet } from '../src/index.js';

/** n images of 3×3×1 whose pixels all equal their index (so a batch tells which images it holds). */
function indexSet(n: number, classes = 10): ImageSet {
  const images = new Uint8Array(n * 9);
  for (let i = 0; i < n; i++) images.fill(i, i * 9, (i + 1) * 9);
  return {
    images,
    labels: Int32Array.from({ length: n }, (_, i) => i % classes),
    count: n,
    height: 3,
    width: 3,
    channels: 1,
  };
}

async function collect(ds: tf.data.Dataset<Batch>): Promise<Array<{ ids: number[]; ys: number[][] | number[] }>> {
  const out: Array<{ ids: number[]; ys: number[][] | number[] }> = [];
  await ds.forEachAsync((b) => {
    const x = b.xs.arraySync() as number[][][][];
    out.push({ ids: x.map((img) => Math.round(img[0][0][0] * 255)), ys: b.ys.arraySync() as number[][] });
    b.xs.dispose();
    b.ys.dispose();
  });
  return out;
}

describe('tf.data pipelines', () => {
  beforeAll(async () => {
    await tf.setBackend('cpu');
  });

  it('batches in order, scales uint8 by 1/255, one-hot or sparse labels, and leaks no tensors', async () => {
    const before = tf.memory().numTensors;
    const batches = await collect(makeDataset(indexSet(10), { batchSize: 4 }));
    expect(batches.map((b) => b.ids)).toEqual([
      [0, 1, 2, 3],
      [4, 5, 6, 7],
      [8, 9],
    ]);
    expect((batches[0].ys as number[][])[1]).toEqual([0, 1, 0, 0, 0, 0, 0, 0, 0, 0]);
    const sparse = await collect(makeDataset(indexSet(10), { batchSize: 4, labels: 'sparse', dropRemainder: true }));
    expect(sparse.map((b) => b.ys)).toEqual([
      [0, 1, 2, 3],
      [4, 5, 6, 7],
    ]);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('shuffles with a seed: the same seed gives the same epochs, each epoch a new permutation', async () => {
    const opts = { batchSize: 5, shuffle: true, seed: 7 };
    const a = makeDataset(indexSet(20), opts);
    const b = makeDataset(indexSet(20), opts);
    const a0 = (await collect(a)).flatMap((x) => x.ids);
    const a1 = (await collect(a)).flatMap((x) => x.ids);
    const b0 = (await collect(b)).flatMap((x) => x.ids);
    expect(b0).toEqual(a0);
    expect(a1).not.toEqual(a0);
    expect([...a0].sort((x, y) => x - y)).toEqual(Array.from({ length: 20 }, (_, i) => i));
    const c0 = (await collect(makeDataset(indexSet(20), { ...opts, seed: 8 }))).flatMap((x) => x.ids);
    expect(c0).not.toEqual(a0);
  });

  it('gives each image the same random transform whatever the batch size', async () => {
    const set = indexSet(6);
    for (let i = 0; i < 6; i++) set.images[i * 9 + 2] = 255; // an asymmetric pixel, so rotation shows
    const run = async (batchSize: number) => {
      const xs: number[] = [];
      await makeDataset(set, { batchSize, seed: 3, transform: randomRotation(0, 360) }).forEachAsync((b) => {
        xs.push(...(b.xs.dataSync() as Float32Array));
        tf.dispose([b.xs, b.ys]);
      });
      return xs;
    };
    const one = await run(1);
    expect(await run(4)).toEqual(one);
    expect(one.slice(0, 9)).not.toEqual(Array.from(set.images.subarray(0, 9), (v) => v / 255));
  });

  it('subsets by indices and splits with a seed', async () => {
    const [a, b] = splitIndices(10, 3, 1);
    expect(a.length).toBe(3);
    expect(new Set([...a, ...b]).size).toBe(10);
    expect(Array.from(splitIndices(10, 3, 1)[0])).toEqual(Array.from(a));
    const got = (await collect(makeDataset(indexSet(10), { indices: a, batchSize: 8 }))).flatMap((x) => x.ids);
    expect(got).toEqual(Array.from(a));
    expect(() => makeDataset(indexSet(3), { indices: [5] })).toThrow(
      /makeDataset: `indices` must be indices in 0\.\.2, got 5/,
    );
    expect(() => makeDataset(indexSet(3), { batchSize: 0 })).toThrow(/`batchSize` must be a positive integer/);
  });

  it('feeds model.fitDataset and evaluateDataset without growing the tensor count', async () => {
    const set = indexSet(64, 2);
    const model = tf.sequential({
      layers: [tf.layers.flatten({ inputShape: [3, 3, 1] }), tf.layers.dense({ units: 2, activation: 'softmax' })],
    });
    model.compile({ optimizer: tf.train.sgd(0.1), loss: 'categoricalCrossentropy', metrics: ['accuracy'] });
    const ds = makeDataset(set, { batchSize: 16, shuffle: true, seed: 1 });
    const h1 = await model.fitDataset(ds, { epochs: 1, verbose: 0 });
    const after1 = tf.memory().numTensors;
    const h2 = await model.fitDataset(ds, { epochs: 2, verbose: 0 });
    expect(tf.memory().numTensors).toBe(after1);
    expect(h1.history.loss).toHaveLength(1);
    expect(h2.history.loss).toHaveLength(2);
    const ev = (await model.evaluateDataset(makeDataset(set, { batchSize: 32 }), {})) as tf.Scalar[];
    expect(ev).toHaveLength(2);
    tf.dispose(ev);
    expect(tf.memory().numTensors).toBe(after1);
    model.dispose();
  });
});
