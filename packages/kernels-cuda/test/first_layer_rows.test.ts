/**
 * One input channel with many mask rows (the steerable CNN's first layer: 1 → 56 channels on 16 angle-weighted rows):
 * the native forward mixes only the rows of Φ that each 16 output channels use (Φ is mostly zeros there), keeps R
 * under the tape in position-major rows, and the filter gradient takes its lanes along the rows (≤ 16 of them).
 * Checked against core's composed path on cpu (output, dx, dW: every entry of dW, the zeros of Φ included), with equal
 * bits at 1 and 2 threads, and a NaN in x reaching every output channel as it does without the skipped rows.
 */
import { describe, expect, it } from 'vitest';
import { GMRSteerableConv2D, gmrConv2d } from '@gmr-conv/core';
import { kernelCallCounts, resetKernelCallCounts, setNumThreads } from '../src/index.js';
import { on, rand, relErr, tf } from './helpers.js';

/**
 * A weighted mask [rows, k·k]: each row keeps about half of the taps (seeded), weights in [-1, 1). With `bands`, the
 * rows of band b (as bandedPhi cuts them) keep only taps t with t % bands = b, so that a pixel reaches the rings of
 * one band only through a given tap.
 */
function weightedMask(rows: number, k: number, seed: number, bands = 0): Float32Array {
  const v = rand(rows * k * k, seed);
  const keep = rand(rows * k * k, seed + 1);
  const per = Math.ceil(rows / Math.max(1, bands));
  return v.map((w, i) => {
    const r = Math.floor(i / (k * k)),
      t = i % (k * k);
    if (bands > 0 && t % bands !== Math.floor(r / per)) return 0;
    return keep[i]! > -0.5 ? w : 0;
  });
}

/** Φ [cout, 1, rows] with each output channel reading one band of rows (the rest exact zeros), one more zero inside. */
function bandedPhi(cout: number, rows: number, bands: number, seed: number): Float32Array {
  const v = rand(cout * rows, seed);
  const per = Math.ceil(rows / bands);
  for (let c = 0; c < cout; c++) {
    const band = Math.floor((c * bands) / cout);
    for (let r = 0; r < rows; r++) if (Math.floor(r / per) !== band) v[c * rows + r] = 0;
  }
  v[rows + Math.floor(rows / bands / 2)] = 0; // a zero of Φ whose dW entry the gradient still needs
  return v;
}

interface Case {
  name: string;
  batch: number;
  H: number;
  W: number;
  k: number;
  rows: number;
  cout: number;
  bands: number;
  paddingMode?: 'zeros' | 'reflect';
}

const cases: Case[] = [
  { name: '1→56 k7 16 rows (the steerable first layer)', batch: 3, H: 28, W: 28, k: 7, rows: 16, cout: 56, bands: 5 },
  {
    name: '1→80 k5 12 rows, reflect',
    batch: 2,
    H: 11,
    W: 70,
    k: 5,
    rows: 12,
    cout: 80,
    bands: 3,
    paddingMode: 'reflect',
  },
  { name: '1→20 k7 16 rows, dense Φ', batch: 2, H: 9, W: 13, k: 7, rows: 16, cout: 20, bands: 1 },
  { name: '1→9 k5 10 rows', batch: 2, H: 8, W: 9, k: 5, rows: 10, cout: 9, bands: 2 },
];

/** y under the tape, y outside it, dx and dW of Σ y·r on `backend`. */
function run(c: Case, nan = false) {
  return () => {
    const x = tf.tensor(rand(c.batch * c.H * c.W, 61), [c.batch, c.H, c.W, 1]);
    const xs = nan ? tf.where(tf.equal(tf.range(0, c.batch * c.H * c.W).reshape(x.shape), 40), tf.scalar(NaN), x) : x;
    const indexMat = tf.tensor(weightedMask(c.rows, c.k, 62, nan ? c.bands : 0), [c.rows, c.k * c.k]);
    const w = tf.variable(tf.tensor(bandedPhi(c.cout, c.rows, c.bands, 63), [c.cout, 1, c.rows]));
    const r = tf.tensor(rand(c.batch * c.H * c.W * c.cout, 64), [c.batch, c.H, c.W, c.cout]);
    const opts = {
      kernelSize: c.k,
      padding: 'same' as const,
      path: 'two-stage' as const,
      twoStageBasis: 'binary' as const,
      ...(c.paddingMode ? { paddingMode: c.paddingMode } : {}),
    };
    const conv = (t: tf.Tensor, weight: tf.Tensor) => gmrConv2d(t, { weight, logSigmas: null, indexMat }, opts);
    const f = (t: tf.Tensor, weight: tf.Tensor) => tf.sum(tf.mul(conv(t, weight), r));
    let yTape: tf.Tensor | null = null;
    const { grads } = tf.variableGrads(() => {
      yTape = tf.keep(conv(xs, w));
      return tf.sum(tf.mul(yTape, r)) as tf.Scalar;
    }, [w]);
    const dx = tf.grad((t: tf.Tensor) => f(t, w))(xs);
    const y = conv(xs, w);
    return [yTape!, y, dx, grads[w.name]!];
  };
}

describe('one input channel, many rows on native', () => {
  for (const c of cases)
    it(`${c.name}: native matches cpu (y, dx, dW) at 1 and 2 threads, equal bits`, async () => {
      const ref = await on('cpu', run(c));
      try {
        setNumThreads(1);
        resetKernelCallCounts();
        const one = await on('native', run(c));
        const counts = kernelCallCounts();
        expect(counts.gmrRingSumsReused ?? 0, 'the filter gradient used the kept R').toBeGreaterThanOrEqual(1);
        expect(counts.gmrForwardFused ?? 0, 'the output outside the tape').toBeGreaterThanOrEqual(1);
        setNumThreads(2);
        const two = await on('native', run(c));
        ['y (tape)', 'y', 'dx', 'dW'].forEach((name, i) => {
          expect(relErr(one[i]!, ref[i]!), name).toBeLessThan(1e-5);
          expect(Array.from(two[i]!), `${name}: 2 threads`).toEqual(Array.from(one[i]!));
        });
        // the fused forward and the one that keeps R: the same bits
        expect(Array.from(one[0]!)).toEqual(Array.from(one[1]!));
        // every entry of dW, where Φ is zero too
        expect(one[3]!.every((v) => v !== 0)).toBe(true);
      } finally {
        setNumThreads(2);
      }
    });

  it('a NaN in x reaches every output channel of the positions that read it, as on cpu', async () => {
    const c = cases[0]!;
    const ref = await on('cpu', run(c, true));
    const got = await on('native', run(c, true));
    for (const i of [0, 1]) {
      const nanAt = (v: Float32Array) => Array.from(v, (e) => Number.isNaN(e));
      const refNaN = nanAt(ref[i]!);
      const gotNaN = nanAt(got[i]!);
      // cpu's conv with G = Φ·M has NaN wherever the pixel lies under the k×k window; native wherever some ring of
      // the mask reads it: a subset, and within a position all channels or none.
      expect(gotNaN.some((b) => b)).toBe(true);
      gotNaN.forEach((b, j) => b && expect(refNaN[j]).toBe(true));
      for (let p = 0; p < gotNaN.length; p += c.cout) {
        const row = gotNaN.slice(p, p + c.cout);
        expect(row.every((b) => b === row[0])).toBe(true);
      }
      const finite = (v: Float32Array) => v.map((e, j) => (refNaN[j] ? 0 : e));
      expect(relErr(finite(got[i]!), finite(ref[i]!))).toBeLessThan(1e-5);
    }
  });

  it('the steerable CNN first layer (1 → 8:8:8 fields, k7) matches its dense path on cpu', async () => {
    const make = (path?: 'dense') =>
      new GMRSteerableConv2D({
        fields: [8, 8, 8],
        inputFields: [1, 0, 0],
        kernelSize: 7,
        padding: 'same',
        biasInitializer: 'randomNormal',
        ...(path ? { path } : {}),
      });
    const auto = make();
    auto.build([2, 12, 14, 1]);
    const weights = auto.getWeights().map((w) => w.dataSync().slice());
    const go = (layer: GMRSteerableConv2D) => () => {
      if (!layer.built) layer.build([2, 12, 14, 1]);
      layer.setWeights(weights.map((v, i) => tf.tensor(v, layer.weights[i]!.shape as number[])));
      const x = tf.tensor(rand(2 * 12 * 14, 71), [2, 12, 14, 1]);
      const r = tf.tensor(rand(2 * 12 * 14 * 40, 72), [2, 12, 14, 40]);
      const vars = layer.trainableWeights.map((w) => (w as unknown as { val: tf.Variable }).val);
      const { grads } = tf.variableGrads(() => tf.sum(tf.mul(layer.apply(x) as tf.Tensor, r)) as tf.Scalar, vars);
      return [layer.apply(x) as tf.Tensor, ...vars.map((v) => grads[v.name]!)];
    };
    const ref = await on('cpu', go(make('dense')));
    resetKernelCallCounts();
    const got = await on('native', go(auto));
    expect(kernelCallCounts().gmrBackpropFilter ?? 0).toBeGreaterThanOrEqual(1);
    ['y', 'dθ', 'dlogσ', 'dbias'].forEach((name, i) => expect(relErr(got[i]!, ref[i]!), name).toBeLessThan(1e-4));
  });
});
