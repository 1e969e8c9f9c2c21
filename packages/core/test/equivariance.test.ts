import '@tensorflow/tfjs';
import * as tf from '@tensorflow/tfjs-core';
import * as tfjs from '@tensorflow/tfjs';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { applyD4, composeD4, D4_ELEMENTS, type D4Element, invertD4, isD4Rotation } from '../src/equivariance/d4.js';
import {
  applyCubeSymmetry,
  composeCubeSymmetries,
  CUBE_ROTATIONS,
  CUBE_SYMMETRIES,
  invertCubeSymmetry,
} from '../src/equivariance/cube.js';
import { rotateBilinear, rotationPlan } from '../src/equivariance/rotate.js';
import {
  equivarianceError,
  equivarianceErrorAsync,
  equivarianceErrorFromValues,
  layerEquivarianceError,
  layerEquivarianceErrorAsync,
  modelInvarianceCheck,
  modelInvarianceCheckAsync,
} from '../src/equivariance/metrics.js';
import { checkExactEquivariance, type LayerLike, type LayerSpec } from '../src/equivariance/exactness.js';
import { gmrConv2d, gmrConv3d } from '../src/ops/gmr_conv_ops.js';
import { defaultNumRings } from '../src/rings/ring_masks.js';
import { checkEquivariance45Case, checkEquivariance45CaseAsync } from '@gmr-conv/test-utils/oracle/equivariance45_case';
import { defaultOracleDir } from '@gmr-conv/test-utils/oracle/load';

const eqFile = path.join(defaultOracleDir(), 'public_equivariance45.json');

beforeAll(async () => {
  await tf.setBackend('cpu');
  await tf.ready();
});

const arr = (t: tf.Tensor) => Array.from(t.dataSync());
function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}
function maxAbs(a: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]));
  return m;
}
function sameTensor(a: tf.Tensor, b: tf.Tensor): boolean {
  return a.shape.join() === b.shape.join() && maxAbsDiff(a.dataSync(), b.dataSync()) === 0;
}
/** Deterministic pseudo-random data (no tf.random: identical on every backend). */
function noise(shape: number[], seed = 1): tf.Tensor {
  let s = seed >>> 0 || 1;
  const n = shape.reduce((a, b) => a * b, 1);
  const v = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    v[i] = s / 2 ** 31 - 1;
  }
  return tf.tensor(v, shape);
}
/** GMR layer weights for Cin → Cout, kernel k (θ, log σ, bias). */
function gmrWeights(cin: number, cout: number, k: number, seed = 3) {
  const n = defaultNumRings(k, true);
  return {
    weight: noise([cout, cin, n], seed),
    logSigmas: tf.mul(noise([n], seed + 1), 0.3),
    bias: noise([cout], seed + 2),
  };
}

// ----------------------------------------------------------------------------- D4

describe('D4', () => {
  it('rot90 equals numpy.rot90(m, 1, axes=(-2,-1)) on a hand-computed 3×4 image, both layouts', () => {
    // m = [[0,1,2,3],[4,5,6,7],[8,9,10,11]]; np.rot90(m) = [[3,7,11],[2,6,10],[1,5,9],[0,4,8]].
    const m = tf.tensor4d([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11], [1, 1, 3, 4]);
    const expected = [3, 7, 11, 2, 6, 10, 1, 5, 9, 0, 4, 8];
    const cf = applyD4(m, 'rot90', 'channelsFirst');
    expect(cf.shape).toEqual([1, 1, 4, 3]);
    expect(arr(cf)).toEqual(expected);
    const cl = applyD4(tf.reshape(m, [1, 3, 4, 1]), 'rot90', 'channelsLast');
    expect(cl.shape).toEqual([1, 4, 3, 1]);
    expect(arr(cl)).toEqual(expected);
    // NCHW aliases are accepted; rot270 = np.rot90(m, 3) = [[8,4,0],[9,5,1],[10,6,2],[11,7,3]].
    expect(arr(applyD4(m, 'rot270', 'NCHW'))).toEqual([8, 4, 0, 9, 5, 1, 10, 6, 2, 11, 7, 3]);
  });

  it('every element matches its index formula (channels untouched)', () => {
    const H = 3;
    const W = 4;
    const C = 2;
    const x = tf.tensor4d(
      Float32Array.from({ length: H * W * C }, (_, i) => i),
      [1, H, W, C],
    );
    const src = x.dataSync();
    const at = (i: number, j: number, c: number) => src[(i * W + j) * C + c];
    const formulas: Record<D4Element, [number, number, (i: number, j: number, c: number) => number]> = {
      identity: [H, W, (i, j, c) => at(i, j, c)],
      rot90: [W, H, (i, j, c) => at(j, W - 1 - i, c)],
      rot180: [H, W, (i, j, c) => at(H - 1 - i, W - 1 - j, c)],
      rot270: [W, H, (i, j, c) => at(H - 1 - j, i, c)],
      flipH: [H, W, (i, j, c) => at(i, W - 1 - j, c)],
      flipV: [H, W, (i, j, c) => at(H - 1 - i, j, c)],
      transpose: [W, H, (i, j, c) => at(j, i, c)],
      antiTranspose: [W, H, (i, j, c) => at(H - 1 - j, W - 1 - i, c)],
    };
    for (const e of D4_ELEMENTS) {
      const [h, w, f] = formulas[e];
      const y = applyD4(x, e);
      expect(y.shape, e).toEqual([1, h, w, C]);
      const want: number[] = [];
      for (let i = 0; i < h; i++) for (let j = 0; j < w; j++) for (let c = 0; c < C; c++) want.push(f(i, j, c));
      expect(arr(y), e).toEqual(want);
      // channelsFirst agrees with channelsLast.
      const yf = applyD4(tf.transpose(x, [0, 3, 1, 2]), e, 'channelsFirst');
      expect(arr(tf.transpose(yf, [0, 2, 3, 1])), e).toEqual(want);
    }
  });

  it('the group closes: composition table matches the tensors, inverses give identity', () => {
    const x = noise([2, 5, 5, 3], 7);
    expect(composeD4('rot90', 'rot90')).toBe('rot180');
    expect(composeD4('rot90', 'rot180')).toBe('rot270');
    expect(composeD4('rot90', 'rot270')).toBe('identity');
    expect(sameTensor(applyD4(applyD4(x, 'rot90'), 'rot90'), applyD4(x, 'rot180'))).toBe(true);
    for (const a of D4_ELEMENTS) {
      const inv = invertD4(a);
      expect(composeD4(inv, a)).toBe('identity');
      expect(composeD4(a, inv)).toBe('identity');
      expect(sameTensor(applyD4(applyD4(x, a), inv), x), a).toBe(true);
      for (const b of D4_ELEMENTS) {
        const ab = composeD4(a, b); // apply b, then a
        expect(sameTensor(applyD4(applyD4(x, b), a), applyD4(x, ab)), `${a}∘${b}`).toBe(true);
      }
    }
    expect(invertD4('rot90')).toBe('rot270');
    expect(D4_ELEMENTS.filter(isD4Rotation)).toEqual(['identity', 'rot90', 'rot180', 'rot270']);
    // 8 distinct images.
    const images = D4_ELEMENTS.map((e) => arr(applyD4(x, e)).join());
    expect(new Set(images).size).toBe(8);
  });

  it('rejects bad arguments with clear messages', () => {
    const x = noise([1, 4, 4, 1]);
    expect(() => applyD4(x, 'rot45' as D4Element)).toThrow(/element.*rot90/);
    expect(() => applyD4(noise([4, 4, 1]), 'rot90')).toThrow(/rank-4/);
    expect(() => applyD4(x, 'rot90', 'NWHC')).toThrow(/dataFormat/);
  });
});

// ----------------------------------------------------------------------------- cube

describe('cube symmetries', () => {
  it('48 distinct symmetries, 24 rotations, closed under composition and inverse', () => {
    expect(CUBE_SYMMETRIES.length).toBe(48);
    expect(CUBE_ROTATIONS.length).toBe(24);
    expect(CUBE_SYMMETRIES[0].name).toBe('identity');
    expect(new Set(CUBE_SYMMETRIES.map((s) => s.name)).size).toBe(48);
    const x = noise([1, 3, 3, 3, 2], 11);
    const images = CUBE_SYMMETRIES.map((s) => arr(applyCubeSymmetry(x, s)).join());
    expect(new Set(images).size).toBe(48);
    for (const s of CUBE_SYMMETRIES) {
      const inv = invertCubeSymmetry(s);
      expect(composeCubeSymmetries(inv, s).name).toBe('identity');
      expect(sameTensor(applyCubeSymmetry(applyCubeSymmetry(x, s), inv), x)).toBe(true);
    }
    // Rotations form a subgroup; a spot check of the composition against tensors.
    for (const a of CUBE_ROTATIONS.slice(0, 6)) {
      for (const b of CUBE_SYMMETRIES.slice(20, 30)) {
        const ab = composeCubeSymmetries(a, b);
        expect(ab.isRotation).toBe(a.isRotation === b.isRotation);
        expect(sameTensor(applyCubeSymmetry(applyCubeSymmetry(x, b), a), applyCubeSymmetry(x, ab))).toBe(true);
      }
    }
  });

  it('acts on [B,D,H,W,C] and [B,C,D,H,W] alike; names resolve', () => {
    const x = noise([1, 2, 3, 4, 2], 5);
    const xf = tf.transpose(x, [0, 4, 1, 2, 3]);
    for (const s of CUBE_SYMMETRIES) {
      const yl = applyCubeSymmetry(x, s);
      const yf = applyCubeSymmetry(xf, s.name, 'channelsFirst');
      expect(sameTensor(tf.transpose(yf, [0, 2, 3, 4, 1]), yl)).toBe(true);
    }
    // '+H-D+W': output axis 0 = H, axis 1 = D reversed, axis 2 = W.
    const y = applyCubeSymmetry(x, '+H-D+W');
    expect(y.shape).toEqual([1, 3, 2, 4, 2]);
    const src = x.dataSync();
    const out = y.dataSync();
    // out[0, h, d, w, c] = x[0, D−1−d, h, w, c]
    expect(out[((1 * 2 + 0) * 4 + 2) * 2 + 1]).toBe(src[((1 * 3 + 1) * 4 + 2) * 2 + 1]);
  });

  it('a 3D GMR conv with an odd kernel commutes with all 48 (dense path)', () => {
    const x = noise([1, 5, 5, 5, 2], 21);
    const w = gmrWeights(2, 2, 3, 9);
    const f = (t: tf.Tensor) => gmrConv3d(t, w, { kernelSize: 3, padding: 'same' });
    for (const s of CUBE_SYMMETRIES) {
      const e = layerEquivarianceError(f, x, s);
      expect(e.maxAbs, s.name).toBeLessThan(1e-5);
    }
  });
});

// ----------------------------------------------------------------------------- rotation

describe('rotateBilinear', () => {
  it('90° / 180° / 270° equal the D4 rotations and 0° is the identity (both layouts)', () => {
    const x = noise([2, 7, 7, 3], 13);
    for (const [deg, e] of [
      [90, 'rot90'],
      [180, 'rot180'],
      [270, 'rot270'],
      [-90, 'rot270'],
      [0, 'identity'],
    ] as Array<[number, D4Element]>) {
      expect(maxAbsDiff(rotateBilinear(x, deg).dataSync(), applyD4(x, e).dataSync()), `${deg}`).toBeLessThan(1e-6);
      const xf = tf.transpose(x, [0, 3, 1, 2]);
      expect(
        maxAbsDiff(rotateBilinear(xf, deg, 'channelsFirst').dataSync(), applyD4(xf, e, 'channelsFirst').dataSync()),
      ).toBeLessThan(1e-6);
    }
    // An even-sized grid rotates about its centre (3.5, 3.5) too.
    const y = noise([1, 8, 8, 1], 3);
    expect(maxAbsDiff(rotateBilinear(y, 90).dataSync(), applyD4(y, 'rot90').dataSync())).toBeLessThan(1e-6);
  });

  it('follows the formula on a hand-checked pixel and zero-fills outside', () => {
    // 3×3, θ = 45°: output (0,1): r = 1 + cos·(−1) + 0 = 1 − 0.7071, s = 1 + sin·1 = 1.7071.
    const plan = rotationPlan(3, 3, 45);
    const p = 0 * 3 + 1;
    const r = 1 - Math.SQRT1_2;
    const s = 1 + Math.SQRT1_2;
    const expectIdx = [0 * 3 + 1, 0 * 3 + 2, 1 * 3 + 1, 1 * 3 + 2];
    const fr = r;
    const fs = s - 1;
    const expectW = [(1 - fr) * (1 - fs), (1 - fr) * fs, fr * (1 - fs), fr * fs];
    for (let c = 0; c < 4; c++) {
      expect(plan.indices[c * 9 + p]).toBe(expectIdx[c]);
      expect(plan.weights[c * 9 + p]).toBeCloseTo(expectW[c], 12);
    }
    // Corner (0,0): r = 1 − 1.414 < 0 … neighbours outside count 0.
    const ones = tf.ones([1, 3, 3, 1]);
    const v = rotateBilinear(ones, 45).dataSync();
    expect(v[4]).toBeCloseTo(1, 6);
    expect(v[0]).toBeLessThan(1);
  });

  it('is differentiable', () => {
    const x = noise([1, 6, 6, 1], 2);
    const g = tf.grad((t: tf.Tensor) => tf.sum(rotateBilinear(t, 30)))(x);
    expect(g.shape).toEqual(x.shape);
    // d/dx of the sum = the total weight each source pixel receives; positive at the centre.
    expect(g.dataSync()[2 * 6 + 2]).toBeGreaterThan(0.5);
  });
});

// ----------------------------------------------------------------------------- oracle (45°)

describe('oracle public_equivariance45.json', () => {
  // The in-repo fixture: a missing file fails here rather than skipping.
  const json = JSON.parse(fs.readFileSync(eqFile, 'utf8'));
  const toT = (a: any) => tf.tensor(Float32Array.from(a.data), a.shape);
  const theta = json?.method?.theta_deg ?? 45;

  it('our rotation of `input` equals `rotated_input`; of each `output`, `rotated_output`', () => {
    const ours = rotateBilinear(toT(json.input), theta, 'channelsFirst');
    expect(maxAbsDiff(ours.dataSync(), json.rotated_input.data)).toBeLessThanOrEqual(1e-5);
    let checked = 0;
    for (const e of json.entries) {
      if (!e.output || !e.rotated_output) continue;
      const r = rotateBilinear(toT(e.output), theta, 'channelsFirst');
      expect(maxAbsDiff(r.dataSync(), e.rotated_output.data) / maxAbs(e.rotated_output.data)).toBeLessThanOrEqual(1e-6);
      expect(maxAbsDiff(r.dataSync(), e.rotated_output.data)).toBeLessThanOrEqual(1e-5);
      checked++;
    }
    expect(checked).toBeGreaterThan(0);
  });

  it('recomputes gmr_45 for every entry with gmrConv2d (rel_l2 within 1e-3 relative)', () => {
    const x = toT(json.input);
    expect(json.entries.length).toBeGreaterThanOrEqual(6);
    for (const e of json.entries) {
      const weights = {
        weight: toT(e.weight),
        bias: e.bias ? toT(e.bias) : null,
        logSigmas: e.log_sigmas ? toT(e.log_sigmas) : null,
      };
      expect(e.log_sigmas == null).toBe(!e.gaussian_mixture_ring);
      const f = (t: tf.Tensor) =>
        gmrConv2d(t, weights, {
          kernelSize: e.kernel_size,
          padding: 'same',
          forceCircular: e.force_circular,
          dataFormat: 'channelsFirst',
        });
      if (e.output) {
        expect(maxAbsDiff(f(x).dataSync(), e.output.data) / maxAbs(e.output.data)).toBeLessThan(1e-5);
      }
      const m = layerEquivarianceError(f, x, theta, { radius: 15, dataFormat: 'channelsFirst' });
      const label = `k=${e.kernel_size} fc=${e.force_circular} gmr=${e.gaussian_mixture_ring}`;
      expect(
        Math.abs(m.relL2 - e.gmr_45.rel_l2) / e.gmr_45.rel_l2,
        `${label}: ${m.relL2} vs ${e.gmr_45.rel_l2}`,
      ).toBeLessThan(1e-3);
      expect(Math.abs(m.maxAbs - e.gmr_45.max_abs) / e.gmr_45.max_abs, label).toBeLessThan(1e-3);
      expect(
        Math.abs(m.maxAbsOverMaxRef - e.gmr_45.max_abs_over_max_ref) / e.gmr_45.max_abs_over_max_ref,
        label,
      ).toBeLessThan(1e-3);
      // The default radius for an angle on 33×33 is the oracle's 15.
      expect(layerEquivarianceError(f, x, { angleDegrees: theta }, { dataFormat: 'channelsFirst' }).relL2).toBeCloseTo(
        m.relL2,
        10,
      );
      // 90° is exact up to float32 round-off (oracle: gmr_90_sanity ≈ 1e-16 in float64).
      expect(layerEquivarianceError(f, x, 90, { dataFormat: 'channelsFirst' }).relL2).toBeLessThan(1e-5);
    }
  });

  it('checkEquivariance45Case passes on the public file (sync and async)', async () => {
    const r = checkEquivariance45Case(json, {});
    expect(r.messages).toEqual([]);
    expect(r.ok).toBe(true);
    expect(r.worst['rotated_input']).toBeLessThan(1e-5);
    expect(Object.keys(r.worst).some((k) => k.endsWith('.gmr_45.rel_l2'))).toBe(true);
    const ra = await checkEquivariance45CaseAsync(json, {});
    expect(ra.ok).toBe(true);
    expect(ra.worst).toEqual(r.worst);
    // And fails on a tampered metric.
    const bad = JSON.parse(JSON.stringify(json));
    bad.entries[0].gmr_45.rel_l2 *= 1.01;
    const rb = checkEquivariance45Case(bad, {});
    expect(rb.ok).toBe(false);
    expect(rb.messages.join(' ')).toMatch(/gmr_45\.rel_l2/);
  });
});

// ----------------------------------------------------------------------------- metrics

describe('metrics', () => {
  it('equivarianceError: oracle definitions, radius mask over all channels', () => {
    // 1×1×3×3 channelsFirst; only the centre and its 4 neighbours are within radius 1.
    const y2 = tf.tensor4d([1, 2, 3, 4, 5, 6, 7, 8, 9], [1, 1, 3, 3]);
    const y1 = tf.tensor4d([100, 2, 3, 4, 5, 6, 7, 8, 9.5], [1, 1, 3, 3]);
    const all = equivarianceError(y1, y2, { dataFormat: 'channelsFirst' });
    expect(all.maxAbs).toBeCloseTo(99, 5);
    expect(all.count).toBe(9);
    const inner = equivarianceError(y1, y2, { radius: 1, dataFormat: 'channelsFirst' });
    expect(inner.count).toBe(5);
    expect(inner.maxAbs).toBe(0);
    const y3 = tf.tensor4d([1, 2, 3, 4, 6, 6, 7, 8, 9], [1, 1, 3, 3]);
    const e = equivarianceError(y3, y2, { radius: 1, dataFormat: 'channelsFirst' });
    expect(e.relL2).toBeCloseTo(1 / Math.sqrt(4 + 16 + 25 + 36 + 64), 6);
    expect(e.maxAbsOverMaxRef).toBeCloseTo(1 / 8, 6);
    // channelsLast with 2 channels: the mask is per pixel.
    const a = equivarianceErrorFromValues([1, 1, 2, 2, 3, 3, 4, 4], [0, 0, 2, 2, 3, 3, 4, 4], [1, 2, 2, 2], {
      radius: 0.8,
    });
    expect(a.count).toBe(8); // all 4 pixels of a 2×2 grid are 0.707 from the centre
    expect(a.maxAbs).toBe(1);
  });

  it('layerEquivarianceError: odd GMR kernel exact for D4, even kernel and plain conv not', async () => {
    const x = noise([1, 9, 9, 2], 4);
    const w5 = gmrWeights(2, 3, 5);
    const f5 = (t: tf.Tensor) => gmrConv2d(t, w5, { kernelSize: 5, padding: 'same' });
    const w4 = gmrWeights(2, 3, 4);
    const f4 = (t: tf.Tensor) => gmrConv2d(t, w4, { kernelSize: 4, padding: 'same' });
    const k = noise([3, 3, 2, 3], 8);
    const plain = (t: tf.Tensor) => tf.conv2d(t as tf.Tensor4D, k as tf.Tensor4D, 1, 'same');
    for (const e of D4_ELEMENTS) {
      expect(layerEquivarianceError(f5, x, e).maxAbs, e).toBeLessThan(1e-5);
    }
    expect(layerEquivarianceError(f4, x, 'rot90').relL2).toBeGreaterThan(1e-2);
    expect(layerEquivarianceError(plain, x, 'flipH').relL2).toBeGreaterThan(1e-2);
    expect((await layerEquivarianceErrorAsync(f5, x, 'transpose')).maxAbs).toBeLessThan(1e-5);
    const a = await equivarianceErrorAsync(f5(x), f5(x));
    expect(a.relL2).toBe(0);
  });

  it('modelInvarianceCheck: GMR conv + global pooling is invariant, a plain conv is not', async () => {
    const x = noise([2, 8, 8, 2], 6);
    const w = gmrWeights(2, 4, 3, 12);
    const gmrModel = (t: tf.Tensor) => tf.mean(tf.relu(gmrConv2d(t, w, { kernelSize: 3, padding: 1 })), [1, 2]);
    const r = modelInvarianceCheck(gmrModel, x);
    expect(Object.keys(r).sort()).toEqual(
      D4_ELEMENTS.filter((e) => e !== 'identity')
        .slice()
        .sort(),
    );
    for (const v of Object.values(r)) expect(v).toBeLessThan(1e-5);
    const k = noise([3, 3, 2, 4], 8);
    const plainModel = (t: tf.Tensor) =>
      tf.mean(tf.relu(tf.conv2d(t as tf.Tensor4D, k as tf.Tensor4D, 1, 'same')), [1, 2]);
    const rp = await modelInvarianceCheckAsync(plainModel, x, { elements: ['rot90', 'flipV'] });
    expect(Object.keys(rp)).toEqual(['rot90', 'flipV']);
    expect(rp.rot90).toBeGreaterThan(1e-3);
    // channelsFirst models too; an identity "model" returning its input is handled (not disposed).
    const xf = tf.transpose(x, [0, 3, 1, 2]);
    const rf = modelInvarianceCheck(
      (t) => tf.mean(gmrConv2d(t, w, { kernelSize: 3, padding: 1, dataFormat: 'channelsFirst' }), [2, 3]),
      xf,
      { dataFormat: 'channelsFirst' },
    );
    expect(Math.max(...Object.values(rf))).toBeLessThan(1e-5);
    modelInvarianceCheck((t) => t, x, { elements: ['rot180'] });
    expect(x.isDisposed).toBe(false);
  });
});

// ----------------------------------------------------------------------------- exactness

describe('checkExactEquivariance', () => {
  it('odd GMR kernel, same, stride 1 on 32 → exact; even kernel → not, naming the layer', () => {
    const ok = checkExactEquivariance([{ type: 'gmrConv', kernelSize: 5, padding: 'same' }, { type: 'pointwise' }], 32);
    expect(ok.exact).toBe(true);
    expect(ok.reasons).toEqual([]);
    expect(ok.outputSize).toEqual([32, 32]);
    expect(ok.invariant).toBe(false);
    const even = checkExactEquivariance(
      [{ type: 'pointwise' }, { type: 'gmrConv', kernelSize: 4, padding: 'same' }],
      32,
    );
    expect(even.exact).toBe(false);
    expect(even.reasons.join('\n')).toMatch(/layer 1 .*even kernel size 4×4/);
    // 'same' with k=4 also pads (1, 2): asymmetric.
    expect(even.reasons.join('\n')).toMatch(/asymmetric padding \(1, 2\)/);
  });

  it('pooling on an odd size, strided grids and asymmetric same padding', () => {
    const pool = checkExactEquivariance(
      [
        { type: 'gmrConv', kernelSize: 3, padding: 1 },
        { type: 'avgPool', poolSize: 2 },
      ],
      33,
    );
    expect(pool.exact).toBe(false);
    expect(pool.reasons.length).toBe(2); // H and W
    expect(pool.reasons[0]).toMatch(/^layer 1 \(avgPool\).*odd size 33/);
    expect(pool.outputSize).toEqual([16, 16]);
    const sameS2 = checkExactEquivariance([{ type: 'gmrConv', kernelSize: 3, strides: 2, padding: 'same' }], 32);
    expect(sameS2.exact).toBe(false);
    expect(sameS2.reasons[0]).toMatch(/layer 0 .*asymmetric padding \(0, 1\) \('same' with stride 2 on size 32\)/);
    expect(checkExactEquivariance([{ type: 'gmrConv', kernelSize: 3, strides: 2, padding: 'same' }], 33).exact).toBe(
      true,
    );
    // The reference's behaviour too: stride 2 with H + 2p − d(k−1) even leaves a row unused on one side, so it is not equivariant.
    const grid = checkExactEquivariance([{ type: 'gmrConv', kernelSize: 5, strides: 2, padding: 2 }], 12);
    expect(grid.exact).toBe(false);
    expect(grid.reasons[0]).toMatch(/asymmetric grid: \(12 \+ 2 \+ 2 − 1·\(5−1\) − 1\) % 2 = 1/);
    expect(checkExactEquivariance([{ type: 'gmrConv', kernelSize: 5, strides: 2, padding: 0 }], 13).exact).toBe(true);
    // Dilation enters the extent d(k−1)+1.
    expect(
      checkExactEquivariance([{ type: 'gmrConv', kernelSize: 3, dilation: 2, strides: 2, padding: 2 }], 10).exact,
    ).toBe(false);
    expect(
      checkExactEquivariance([{ type: 'gmrConv', kernelSize: 3, dilation: 2, strides: 2, padding: 2 }], 9).exact,
    ).toBe(true);
  });

  it('plain convs, flatten + dense, global pooling, anisotropy', () => {
    const r = checkExactEquivariance(
      [
        { type: 'conv', kernelSize: 1 },
        { type: 'conv', kernelSize: 3, padding: 'same', name: 'stem' },
        { type: 'maxPool', poolSize: 2 },
        { type: 'flatten' },
        { type: 'dense' },
      ],
      8,
    );
    expect(r.exact).toBe(false);
    expect(r.reasons.some((s) => /^layer 1 "stem" \(conv\): plain convolution with a 3×3 kernel/.test(s))).toBe(true);
    expect(r.reasons.some((s) => /^layer 4 \(dense\).*4×4 flattened at layer 3/.test(s))).toBe(true);
    expect(r.outputSize).toEqual([]);
    const resnet: LayerSpec[] = [
      { type: 'gmrConv', kernelSize: 5, padding: 2 },
      { type: 'pointwise' },
      { type: 'avgPool', poolSize: 2 },
      { type: 'gmrConv', kernelSize: 9, padding: 4 },
      { type: 'avgPool', poolSize: 2 },
      { type: 'gmrConv', kernelSize: 9, padding: 4 },
      { type: 'avgPool', poolSize: 2 },
      { type: 'gmrConv', kernelSize: 5, padding: 2 },
      { type: 'avgPool', poolSize: 2 },
      { type: 'gmrConv', kernelSize: 5, padding: 2 },
      { type: 'globalPool' },
      { type: 'flatten' },
      { type: 'dense' },
    ];
    const rn = checkExactEquivariance(resnet, 32);
    expect(rn.reasons).toEqual([]);
    expect(rn.exact && rn.invariant).toBe(true);
    const rn30 = checkExactEquivariance(resnet, 30); // 30→15: the next pool sees 15
    expect(rn30.exact).toBe(false);
    expect(rn30.reasons[0]).toMatch(/^layer 4 \(avgPool\)/);
    const aniso = checkExactEquivariance([{ type: 'gmrConv', kernelSize: 3, strides: [1, 2], padding: 1 }], [9, 9]);
    expect(aniso.reasons[0]).toMatch(/strides \[1, 2\] differ between axes/);
    const flatOnly = checkExactEquivariance([{ type: 'gmrConv', kernelSize: 3, padding: 1 }, { type: 'flatten' }], 4);
    expect(flatOnly.exact).toBe(true);
    expect(flatOnly.invariant).toBe(false);
    expect(flatOnly.notes.join()).toMatch(/permutes/);
    const three = checkExactEquivariance(
      [
        { type: 'gmrConv', kernelSize: 3, padding: 1 },
        { type: 'avgPool', poolSize: 2 },
      ],
      [8, 8, 8],
    );
    expect(three.group).toBe('cube');
    expect(three.exact).toBe(true);
    expect(three.outputSize).toEqual([4, 4, 4]);
    expect(checkExactEquivariance([{ type: 'mystery' } as unknown as LayerSpec], 8).reasons[0]).toMatch(
      /unknown layer type "mystery"/,
    );
  });

  it('agrees with numerical D4 equivariance of gmrConv2d + pooling stacks', () => {
    const cases: Array<{ k: number; s: number; p: 'same' | 'valid' | number; L: number; pool?: number }> = [];
    for (const k of [3, 4, 5])
      for (const s of [1, 2])
        for (const p of ['same', 'valid', 1, 2] as const) for (const L of [8, 9]) cases.push({ k, s, p, L });
    cases.push(
      { k: 3, s: 1, p: 1, L: 9, pool: 2 },
      { k: 3, s: 1, p: 1, L: 10, pool: 2 },
      { k: 5, s: 1, p: 'same', L: 11, pool: 3 },
    );
    for (const c of cases) {
      const layers: LayerSpec[] = [{ type: 'gmrConv', kernelSize: c.k, strides: c.s, padding: c.p }];
      if (c.pool) layers.push({ type: 'avgPool', poolSize: c.pool });
      const verdict = checkExactEquivariance(layers, c.L);
      const x = noise([1, c.L, c.L, 2], c.k * 100 + c.L);
      const w = gmrWeights(2, 2, c.k, c.L);
      const f = (t: tf.Tensor) => {
        const y = gmrConv2d(t, w, { kernelSize: c.k, strides: c.s, padding: c.p });
        return c.pool ? tf.avgPool(y as tf.Tensor4D, c.pool, c.pool, 'valid') : y;
      };
      const worst = Math.max(...D4_ELEMENTS.map((e) => layerEquivarianceError(f, x, e).maxAbs));
      const label = `${JSON.stringify(c)}: numeric ${worst.toExponential(2)}, checker ${verdict.exact} ${verdict.reasons.join(' | ')}`;
      expect(worst < 1e-4, label).toBe(verdict.exact);
    }
  });

  it('reads tfjs LayersModels (sequential, functional with a branch) and GMR layers by class name', () => {
    const seq = tfjs.sequential({
      layers: [
        tfjs.layers.conv2d({ inputShape: [32, 32, 3], filters: 4, kernelSize: 1 }),
        tfjs.layers.batchNormalization(),
        tfjs.layers.reLU(),
        tfjs.layers.averagePooling2d({ poolSize: 2 }),
        tfjs.layers.globalAveragePooling2d({}),
        tfjs.layers.dense({ units: 3 }),
      ],
    });
    const r = checkExactEquivariance(seq);
    expect(r.reasons).toEqual([]);
    expect(r.invariant).toBe(true);
    const bad = tfjs.sequential({
      layers: [
        tfjs.layers.conv2d({ inputShape: [33, 33, 3], filters: 4, kernelSize: 3, padding: 'same' }),
        tfjs.layers.maxPooling2d({ poolSize: 2 }),
        tfjs.layers.flatten(),
        tfjs.layers.dense({ units: 3 }),
      ],
    });
    const rb = checkExactEquivariance(bad);
    expect(rb.exact).toBe(false);
    const text = rb.reasons.join('\n');
    expect(text).toMatch(/layer 0 "[^"]+" \(Conv2D → conv\): plain convolution with a 3×3 kernel/);
    expect(text).toMatch(/layer 1 "[^"]+" \(MaxPooling2D → maxPool\).*odd size 33/);
    expect(text).toMatch(/layer 3 "[^"]+" \(Dense → dense\).*flattened at layer 2/);

    const input = tfjs.input({ shape: [16, 16, 2] });
    const a = tfjs.layers.conv2d({ filters: 2, kernelSize: 1 }).apply(input) as tfjs.SymbolicTensor;
    const b = tfjs.layers
      .averagePooling2d({ poolSize: 2, strides: 2, padding: 'same' })
      .apply(a) as tfjs.SymbolicTensor;
    const c = tfjs.layers.conv2d({ filters: 2, kernelSize: 1, strides: 2 }).apply(a) as tfjs.SymbolicTensor;
    const sum = tfjs.layers.add().apply([b, c]) as tfjs.SymbolicTensor;
    const out = tfjs.layers.globalMaxPooling2d({}).apply(sum) as tfjs.SymbolicTensor;
    const fn = tfjs.model({ inputs: input, outputs: out });
    const rf = checkExactEquivariance(fn);
    // The strided 1×1 conv on 16 keeps rows 0, 2, …, 14: not mirror-symmetric (15 is never sampled).
    expect(rf.exact).toBe(false);
    expect(rf.reasons.some((s) => /\(Conv2D → conv\): axis H \(size 16\).*asymmetric grid/.test(s))).toBe(true);
    // On 17 the conv is fine but the 'same' pool pads (0, 1) with nothing to balance it.
    const r17 = checkExactEquivariance(fn, 17);
    expect(r17.reasons.length).toBe(2);
    expect(r17.reasons[0]).toMatch(
      /\(AveragePooling2D → avgPool\): axis H \(size 17\): asymmetric padding \(0, 1\) \('same' with stride 2 on size 17\)/,
    );
    expect(r17.outputSize).toEqual([]);

    const gmrLayer = (k: number, padding: unknown): LayerLike => ({
      name: `gmr${k}`,
      getClassName: () => 'GMRConv2D',
      getConfig: () => ({ kernelSize: k, strides: 1, padding, dilationRate: 1, paddingMode: 'reflect' }),
    });
    expect(checkExactEquivariance([gmrLayer(5, 'same'), gmrLayer(9, 4)], 20).exact).toBe(true);
    const re = checkExactEquivariance([gmrLayer(5, 'same'), gmrLayer(6, 'same')], 20);
    expect(re.reasons[0]).toMatch(/layer 1 "gmr6" \(GMRConv2D → gmrConv\): even kernel size 6×6/);
  });
});

// ----------------------------------------------------------------------------- memory

describe('no tensor leaks', () => {
  it('tf.memory().numTensors does not grow across calls', async () => {
    const x = noise([1, 9, 9, 2], 4);
    const w = gmrWeights(2, 2, 5);
    const f = (t: tf.Tensor) => gmrConv2d(t, w, { kernelSize: 5, padding: 'same' });
    const model = (t: tf.Tensor) => tf.mean(f(t), [1, 2]);
    const x3 = noise([1, 3, 3, 3, 1], 2);
    const round = async () => {
      tf.dispose([
        rotateBilinear(x, 45),
        applyD4(x, 'rot90'),
        applyD4(x, 'identity'),
        applyCubeSymmetry(x3, CUBE_SYMMETRIES[17]),
      ]);
      layerEquivarianceError(f, x, 'rot90');
      layerEquivarianceError(f, x, 30);
      await layerEquivarianceErrorAsync(f, x, 'flipV');
      modelInvarianceCheck(model, x);
      await modelInvarianceCheckAsync(model, x, { elements: ['rot90'] });
      const j = JSON.parse(fs.readFileSync(eqFile, 'utf8'));
      checkEquivariance45Case(j, {});
      await checkEquivariance45CaseAsync(j, {});
    };
    await round(); // warm-up: ring-mask caches keep their tensors
    const before = tf.memory().numTensors;
    await round();
    await round();
    expect(tf.memory().numTensors).toBe(before);
  });
});
