import * as tfjs from '@tensorflow/tfjs';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { RingPooling2D, ringIndexOfPixels, GMRConv2D } from '../src/index.js';

beforeAll(async () => {
  await tfjs.setBackend('cpu');
});

/** Independent loop: mean of channel c over the pixels whose rounded distance to the centre is r. */
function loopRingMeans(x: Float32Array, [b, h, w, c]: number[]): number[][] {
  const out: number[][] = [];
  const ci = (h - 1) / 2;
  const cj = (w - 1) / 2;
  const rings = new Map<number, number[]>();
  for (let i = 0; i < h; i++)
    for (let j = 0; j < w; j++) {
      const r = Math.round(Math.hypot(i - ci, j - cj));
      rings.set(r, [...(rings.get(r) ?? []), i * w + j]);
    }
  const order = [...rings.keys()].sort((a, z) => a - z);
  for (let n = 0; n < b; n++) {
    const row: number[] = [];
    for (const r of order)
      for (let k = 0; k < c; k++) {
        const px = rings.get(r)!;
        row.push(px.reduce((s, p) => s + x[(n * h * w + p) * c + k], 0) / px.length);
      }
    out.push(row);
  }
  return out;
}

describe('RingPooling2D', () => {
  it('averages each channel over rings of equal rounded distance to the centre (odd, even and non-square maps)', () => {
    for (const shape of [
      [2, 7, 7, 3],
      [1, 8, 8, 2],
      [2, 5, 9, 1],
    ]) {
      const x = tf.randomNormal(shape, 0, 1, 'float32', 5);
      const layer = new RingPooling2D();
      const y = layer.apply(x) as tf.Tensor;
      const want = loopRingMeans(x.dataSync() as Float32Array, shape);
      expect(y.shape).toEqual([shape[0], want[0].length]);
      expect(layer.computeOutputShape(shape)).toEqual(y.shape);
      const got = y.arraySync() as number[][];
      got.forEach((row, n) => row.forEach((v, i) => expect(v).toBeCloseTo(want[n][i], 5)));
      layer.dispose();
      tf.dispose([x, y]);
    }
    expect(ringIndexOfPixels(7, 7)).toMatchObject({ numRings: 5, sizes: [1, 8, 12, 16, 12] });
  });

  it('is exactly invariant to the 8 symmetries of a square map; global average pooling is a linear function of it', () => {
    const x = tf.randomNormal([2, 8, 8, 4], 0, 1, 'float32', 9);
    const layer = new RingPooling2D();
    const y0 = layer.apply(x) as tf.Tensor2D;
    const rot90 = (t: tf.Tensor4D) => tf.reverse(tf.transpose(t, [0, 2, 1, 3]), 2);
    let t = x as tf.Tensor4D;
    for (let k = 0; k < 4; k++) {
      for (const v of [t, tf.reverse(t, 1)]) {
        const y = layer.apply(v) as tf.Tensor;
        expect(tf.max(tf.abs(tf.sub(y, y0))).dataSync()[0]).toBeLessThan(1e-5);
      }
      t = rot90(t);
    }
    // GAP = Σ_r (|ring r| / HW) · ring mean
    const { sizes } = ringIndexOfPixels(8, 8);
    const R = sizes.length;
    const weights = tf.tensor2d(
      sizes.map((s) => s / 64),
      [1, R],
    );
    const gap = tf.matMul(weights.broadcastTo([2, 1, R]), y0.reshape([2, R, 4])).reshape([2, 4]);
    expect(tf.max(tf.abs(tf.sub(gap, tf.mean(x, [1, 2])))).dataSync()[0]).toBeLessThan(1e-5);
  });

  it('channelsFirst equals channelsLast; the gradient spreads each ring weight over the ring pixels; bad dataFormat refused', () => {
    const x = tf.randomNormal([1, 6, 6, 2], 0, 1, 'float32', 2);
    const last = new RingPooling2D();
    const first = new RingPooling2D({ dataFormat: 'channelsFirst' });
    const a = last.apply(x) as tf.Tensor;
    const b = first.apply(tf.transpose(x, [0, 3, 1, 2])) as tf.Tensor;
    expect(tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]).toBeLessThan(1e-6);
    // d/dx of Σ w·pool(x): pixel p of channel c gets w[ring(p), c] / |ring(p)|
    const w = tf.randomNormal(a.shape, 0, 1, 'float32', 4);
    const g = tf.grad((v: tf.Tensor) => tf.sum(tf.mul(last.apply(v) as tf.Tensor, w)))(x);
    const { index, sizes } = ringIndexOfPixels(6, 6);
    const wv = w.dataSync();
    const gv = g.dataSync();
    for (let p = 0; p < 36; p++)
      for (let c = 0; c < 2; c++) expect(gv[p * 2 + c]).toBeCloseTo(wv[index[p] * 2 + c] / sizes[index[p]], 5);
    const cfg = first.getConfig();
    const back = tf.serialization.SerializationMap.getMap().classNameMap['GMRRingPooling2D'];
    expect(back).toBeDefined();
    expect(cfg.dataFormat).toBe('channelsFirst');
    expect(() => new RingPooling2D({ dataFormat: 'rows' as 'channelsLast' })).toThrow(
      /RingPooling2D: `dataFormat` must be 'channelsLast' or 'channelsFirst'/,
    );
    tf.dispose([x, a, b, w, g]);
    last.dispose();
    first.dispose();
  });

  it('in a model: predicts without leaking, disposes its averaging matrix, survives a JSON round trip', async () => {
    const input = tfjs.input({ shape: [9, 9, 1] });
    const h = new GMRConv2D({ filters: 3, kernelSize: 5, padding: 'same' }).apply(input) as tfjs.SymbolicTensor;
    const model = tfjs.model({ inputs: input, outputs: new RingPooling2D().apply(h) as tfjs.SymbolicTensor });
    const xin = tf.randomNormal([2, 9, 9, 1], 0, 1, 'float32', 1);
    const y1 = model.predict(xin) as tf.Tensor; // first call builds the averaging matrix
    const before = tf.memory().numTensors;
    tf.tidy(() => void model.predict(xin));
    expect(tf.memory().numTensors).toBe(before);
    let saved: tfjs.io.ModelArtifacts | undefined;
    await model.save(
      tfjs.io.withSaveHandler(
        async (a) => ((saved = a), { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } }),
      ),
    );
    const loaded = await tfjs.loadLayersModel(tfjs.io.fromMemory(saved!));
    const y2 = loaded.predict(xin) as tf.Tensor;
    expect(tf.max(tf.abs(tf.sub(y1, y2))).dataSync()[0]).toBeLessThan(1e-6);
    tf.dispose([y1, y2]);
    loaded.dispose();
    const live = tf.memory().numTensors;
    model.dispose();
    // the model's weights (θ, log σ, index matrices…) and the ring layer's averaging matrix are freed
    expect(live - tf.memory().numTensors).toBeGreaterThanOrEqual(model.weights.length + 1);
    xin.dispose();
  });
});
