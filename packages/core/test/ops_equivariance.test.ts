/**
 * Exact 90°-rotation / flip equivariance of the GMR ops (odd kernels, stride 1 or a
 * symmetric strided grid, symmetric padding), for every path; the 48 cube symmetries
 * in 3D; reversal in 1D; the transposed conv; and its failure for even kernels.
 *
 * Transposed conv, derived by hand: y[q] = Σ_{p,t} x[p]·K[t] with q = s·p + t − pad,
 * pad = (k−1)/2, output length (L−1)s + op + 1. For x'[p] = x[L−1−p] and K symmetric,
 * y'[q] = y[(L−1)s − q]. Reversing y gives y[(L−1)s + op − q], so reversal (and rot90)
 * commutes exactly iff op = 0 (any stride); with op = 1 it holds on the first
 * (L−1)s + 1 rows/columns only (the extra row is the one the op adds at the end).
 */
import '@tensorflow/tfjs';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { gmrConv1d, gmrConv2d, gmrConv3d, gmrConvTranspose2d } from '../src/index.js';
import { randn } from './helpers/gmr_reference.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

type T = tf.Tensor;
const PATHS = [
  { path: 'two-stage', twoStageBasis: 'smoothed' },
  { path: 'two-stage', twoStageBasis: 'binary' },
  { path: 'dense' },
] as const;

/** The 8 elements of D4 acting on the (H, W) axes 1, 2 of an NHWC (or axes 2, 3 of NCHW) tensor. */
function d4(hAxis: number): Array<{ name: string; f: (x: T) => T }> {
  const w = hAxis + 1;
  const swap = (x: T) => {
    const perm = x.shape.map((_, i) => i);
    perm[hAxis] = w;
    perm[w] = hAxis;
    return tf.transpose(x, perm);
  };
  return [
    { name: 'rot90', f: (x) => tf.reverse(swap(x), hAxis) },
    { name: 'rot180', f: (x) => tf.reverse(x, [hAxis, w]) },
    { name: 'rot270', f: (x) => tf.reverse(swap(x), w) },
    { name: 'flipH', f: (x) => tf.reverse(x, hAxis) },
    { name: 'flipW', f: (x) => tf.reverse(x, w) },
    { name: 'transpose', f: swap },
    { name: 'antitranspose', f: (x) => tf.reverse(swap(x), [hAxis, w]) },
  ];
}

/** max|f(g x) − g f(x)| / max|g f(x)|. */
function equivError(f: (x: T) => T, g: (x: T) => T, x: T): number {
  return tf.tidy(() => {
    const a = f(g(x));
    const b = g(f(x));
    if (a.shape.join() !== b.shape.join()) return Infinity;
    const diff = tf.max(tf.abs(tf.sub(a, b))).dataSync()[0];
    const ref = tf.max(tf.abs(b)).dataSync()[0];
    expect(ref).toBeGreaterThan(0);
    return diff / ref;
  });
}

interface Cfg2d {
  name: string;
  k: number;
  H: number;
  W: number;
  opts: Record<string, unknown>;
  gauss?: boolean;
  cin?: number;
  cout?: number;
}

const equivariant2d: Cfg2d[] = [
  { name: 'k3 pad1', k: 3, H: 7, W: 9, opts: { padding: 1 } },
  { name: 'k5 same', k: 5, H: 8, W: 8, opts: { padding: 'same' } },
  { name: 'k5 valid', k: 5, H: 9, W: 7, opts: { padding: 'valid' } },
  { name: 'k9 pad4 nofc', k: 9, H: 10, W: 11, opts: { padding: 4, forceCircular: false } },
  { name: 'k1', k: 1, H: 5, W: 6, opts: {} },
  { name: 'k3 dil2 pad2', k: 3, H: 9, W: 8, opts: { padding: 2, dilations: 2 } },
  { name: 'k5 reflect', k: 5, H: 7, W: 8, opts: { padding: 2, paddingMode: 'reflect' } },
  { name: 'k3 replicate', k: 3, H: 7, W: 7, opts: { padding: 1, paddingMode: 'replicate' } },
  { name: 'k3 circular pad2', k: 3, H: 6, W: 7, opts: { padding: 2, paddingMode: 'circular' } },
  { name: 'k3 groups2', k: 3, H: 7, W: 7, opts: { padding: 1, groups: 2 }, cin: 4, cout: 6 },
  { name: 'k5 depthwise', k: 5, H: 7, W: 7, opts: { padding: 2, groups: 3 }, cin: 3, cout: 6 },
  { name: 'k5 binary rings', k: 5, H: 8, W: 7, opts: { padding: 2 }, gauss: false },
  { name: 'k3 channelsFirst', k: 3, H: 7, W: 8, opts: { padding: 1, dataFormat: 'channelsFirst' } },
  // stride 2 on a symmetric grid: (H + 2p − d(k−1) − 1) divisible by s on both axes
  { name: 'k3 stride2 symmetric grid', k: 3, H: 9, W: 11, opts: { padding: 1, strides: 2 } },
  { name: 'k5 stride3 symmetric grid', k: 5, H: 10, W: 13, opts: { padding: 2, strides: 3 } },
];

function weights2d(
  cfg: { k: number; cin?: number; cout?: number; gauss?: boolean; groups?: number },
  n: number,
  seed: number,
  transposed = false,
) {
  const cin = cfg.cin ?? 2;
  const cout = cfg.cout ?? 3;
  const g = cfg.groups ?? 1;
  const shape = transposed ? [cin, cout / g, n] : [cout, cin / g, n];
  return {
    weight: randn(shape, seed),
    logSigmas: cfg.gauss === false ? null : tf.tensor1d(Array.from({ length: n }, (_, i) => Math.log(0.45 + 0.1 * i))),
    bias: randn([cout], seed + 1),
  };
}

const ringsFor = (k: number, fc: boolean) => Math.floor(k / 2) + 1 + (fc ? 0 : 1);

describe('gmrConv2d commutes with the 8 elements of D4 (odd k, symmetric padding)', () => {
  it.each(equivariant2d.map((c) => [c.name, c] as const))('%s', (_n, cfg) => {
    const cf = cfg.opts.dataFormat === 'channelsFirst';
    const cin = cfg.cin ?? 2;
    const n = ringsFor(cfg.k, (cfg.opts.forceCircular as boolean) ?? true);
    const w = weights2d({ ...cfg, groups: (cfg.opts.groups as number) ?? 1 }, n, 11);
    const x = randn(cf ? [2, cin, cfg.H, cfg.W] : [2, cfg.H, cfg.W, cin], 3);
    for (const p of PATHS) {
      const f = (v: T) => gmrConv2d(v, w, { kernelSize: cfg.k, ...cfg.opts, ...p });
      for (const g of d4(cf ? 2 : 1)) {
        expect(
          equivError(f, g.f, x),
          `${p.path}/${'twoStageBasis' in p ? p.twoStageBasis : ''} ${g.name}`,
        ).toBeLessThanOrEqual(1e-5);
      }
    }
    tf.dispose([x, w.weight, w.logSigmas, w.bias].filter(Boolean) as T[]);
  });

  it('fails on an asymmetric strided grid (k3, pad 1, stride 2, H = 8): a property of strided sampling', () => {
    const w = weights2d({ k: 3 }, 2, 5);
    const x = randn([1, 8, 8, 2], 8);
    for (const p of PATHS) {
      const f = (v: T) => gmrConv2d(v, w, { kernelSize: 3, padding: 1, strides: 2, ...p });
      const errs = d4(1).map((g) => equivError(f, g.f, x));
      expect(Math.max(...errs)).toBeGreaterThan(1e-2);
    }
    tf.dispose([x, w.weight, w.logSigmas!, w.bias]);
  });
});

describe('even kernel sizes are not equivariant', () => {
  it.each([
    { k: 4, opts: { padding: 'same' } },
    {
      k: 4,
      opts: {
        padding: [
          [1, 2],
          [1, 2],
        ],
      },
    },
    { k: 4, opts: { padding: 'same', forceCircular: false } },
    { k: 6, opts: { padding: 'same' } },
  ])('k=$k $opts: D4 error > 1e-2', ({ k, opts }) => {
    const n = ringsFor(k, (opts as { forceCircular?: boolean }).forceCircular ?? true);
    const w = weights2d({ k }, n, 21);
    const x = randn([1, 9, 9, 2], 4);
    for (const p of PATHS) {
      const f = (v: T) => gmrConv2d(v, w, { kernelSize: k, ...opts, ...p } as never);
      const byName = Object.fromEntries(d4(1).map((g) => [g.name, equivError(f, g.f, x)]));
      // Rings are centred on tap k/2, not the kernel centre, so rotations and flips do not commute.
      expect(byName.rot90).toBeGreaterThan(1e-2);
      expect(byName.flipW).toBeGreaterThan(1e-2);
      expect(byName.flipH).toBeGreaterThan(1e-2);
    }
    tf.dispose([x, w.weight, w.logSigmas!, w.bias]);
  });
});

/** The 48 symmetries of the cube acting on axes 1..3 of NDHWC: an axis permutation then flips. */
function cubeSymmetries(): Array<{ name: string; f: (x: T) => T }> {
  const perms = [
    [0, 1, 2],
    [0, 2, 1],
    [1, 0, 2],
    [1, 2, 0],
    [2, 0, 1],
    [2, 1, 0],
  ];
  const out: Array<{ name: string; f: (x: T) => T }> = [];
  for (const perm of perms) {
    for (let flips = 0; flips < 8; flips++) {
      const axes = [0, 1, 2].filter((a) => flips & (1 << a)).map((a) => a + 1);
      out.push({
        name: `perm${perm.join('')} flip${axes.join('')}`,
        f: (x) => {
          const t = tf.transpose(x, [0, ...perm.map((a) => a + 1), 4]);
          return axes.length ? tf.reverse(t, axes) : t;
        },
      });
    }
  }
  return out;
}

describe('gmrConv3d commutes with the 48 cube symmetries', () => {
  const syms = cubeSymmetries();
  it('there are 48 distinct symmetries', () => {
    const x = tf.range(0, 27).reshape([1, 3, 3, 3, 1]);
    const keys = new Set(syms.map((s) => Array.from(s.f(x).dataSync()).join(',')));
    expect(keys.size).toBe(48);
    x.dispose();
  });
  it.each([
    { name: 'k3 pad1', k: 3, opts: { padding: 1 } },
    { name: 'k3 nofc same', k: 3, opts: { padding: 'same', forceCircular: false } },
    { name: 'k5 pad2 binary', k: 5, opts: { padding: 2 }, gauss: false },
    { name: 'k3 reflect dil2', k: 3, opts: { padding: 2, dilations: 2, paddingMode: 'reflect' } },
  ])('$name', ({ k, opts, gauss }) => {
    const n = ringsFor(k, (opts as { forceCircular?: boolean }).forceCircular ?? true);
    const w = weights2d({ k, gauss }, n, 31);
    const x = randn([1, 5, 6, 7, 2], 9);
    for (const p of PATHS) {
      const f = (v: T) => gmrConv3d(v, w, { kernelSize: k, ...opts, ...p } as never);
      for (const g of syms) expect(equivError(f, g.f, x), `${p.path} ${g.name}`).toBeLessThanOrEqual(1e-5);
    }
    tf.dispose([x, w.weight, w.bias, ...(w.logSigmas ? [w.logSigmas] : [])]);
  });
  it('even k=4 breaks the cube symmetries', () => {
    const w = weights2d({ k: 4 }, 3, 41);
    const x = randn([1, 6, 6, 6, 2], 10);
    const f = (v: T) => gmrConv3d(v, w, { kernelSize: 4, padding: 'same', path: 'dense' });
    const errs = syms.slice(1).map((g) => equivError(f, g.f, x));
    expect(Math.max(...errs)).toBeGreaterThan(1e-2);
    tf.dispose([x, w.weight, w.logSigmas!, w.bias]);
  });
});

describe('gmrConv1d commutes with reversal', () => {
  it.each([
    { name: 'k5 pad2', k: 5, opts: { padding: 2 } },
    { name: 'k3 same reflect', k: 3, opts: { padding: 'same', paddingMode: 'reflect' } },
    { name: 'k9 pad4 nofc', k: 9, opts: { padding: 4, forceCircular: false } },
    { name: 'k3 stride2 symmetric grid', k: 3, opts: { padding: 1, strides: 2 } },
    { name: 'k3 channelsFirst dil2', k: 3, opts: { padding: 2, dilations: 2, dataFormat: 'channelsFirst' } },
  ])('$name', ({ k, opts }) => {
    const n = ringsFor(k, (opts as { forceCircular?: boolean }).forceCircular ?? true);
    const w = weights2d({ k }, n, 51);
    const cf = (opts as { dataFormat?: string }).dataFormat === 'channelsFirst';
    const x = randn(cf ? [2, 2, 13] : [2, 13, 2], 12);
    const rev = (v: T) => tf.reverse(v, cf ? 2 : 1);
    for (const p of PATHS) {
      const f = (v: T) => gmrConv1d(v, w, { kernelSize: k, ...opts, ...p } as never);
      expect(equivError(f, rev, x), p.path).toBeLessThanOrEqual(1e-5);
    }
    tf.dispose([x, w.weight, w.logSigmas!, w.bias]);
  });
  it('even k=4 breaks it', () => {
    const w = weights2d({ k: 4 }, 3, 52);
    const x = randn([1, 12, 2], 13);
    const f = (v: T) => gmrConv1d(v, w, { kernelSize: 4, padding: 'same' });
    expect(equivError(f, (v) => tf.reverse(v, 1), x)).toBeGreaterThan(1e-2);
    tf.dispose([x, w.weight, w.logSigmas!, w.bias]);
  });
});

describe('gmrConvTranspose2d and D4', () => {
  it.each([
    { name: 'k3 s1 p1', k: 3, opts: { padding: 1 } },
    { name: 'k3 s2 p1 op0', k: 3, opts: { strides: 2, padding: 1 } },
    { name: 'k5 s2 p2 op0', k: 5, opts: { strides: 2, padding: 2 } },
    { name: 'k5 s3 valid', k: 5, opts: { strides: 3 } },
    { name: 'k3 s2 d2 p2', k: 3, opts: { strides: 2, dilations: 2, padding: 2 } },
    { name: 'k3 s2 groups2', k: 3, opts: { strides: 2, padding: 1, groups: 2 }, cin: 4, cout: 4 },
  ])('exact for $name', ({ k, opts, cin, cout }) => {
    const w = weights2d({ k, cin, cout, groups: (opts as { groups?: number }).groups }, ringsFor(k, true), 61, true);
    const x = randn([1, 5, 6, cin ?? 2], 14);
    for (const p of PATHS) {
      const f = (v: T) => gmrConvTranspose2d(v, w, { kernelSize: k, ...opts, ...p } as never);
      for (const g of d4(1)) expect(equivError(f, g.f, x), `${p.path} ${g.name}`).toBeLessThanOrEqual(1e-5);
    }
    tf.dispose([x, w.weight, w.logSigmas!, w.bias]);
  });

  it('stride 2, padding (k−1)/2, outputPadding 1: not equivariant, but exact on the first (L−1)s+1 rows/columns', () => {
    for (const k of [3, 5]) {
      const w = weights2d({ k }, ringsFor(k, true), 71 + k, true);
      const x = randn([1, 5, 5, 2], 15);
      for (const p of PATHS) {
        const opts = { kernelSize: k, strides: 2, padding: (k - 1) / 2, outputPadding: 1, ...p } as never;
        const full = (v: T) => gmrConvTranspose2d(v, w, opts);
        expect(full(x).shape).toEqual([1, 10, 10, 3]);
        const errs = d4(1).map((g) => equivError(full, g.f, x));
        expect(Math.max(...errs), `k=${k} ${p.path}`).toBeGreaterThan(1e-2);
        const cropped = (v: T) => tf.slice(gmrConvTranspose2d(v, w, opts), [0, 0, 0, 0], [1, 9, 9, 3]);
        for (const g of d4(1))
          expect(equivError(cropped, g.f, x), `k=${k} ${p.path} ${g.name} cropped`).toBeLessThanOrEqual(1e-5);
      }
      tf.dispose([x, w.weight, w.logSigmas!, w.bias]);
    }
  });

  it('even k=4 (s2, p1) is not equivariant', () => {
    const w = weights2d({ k: 4 }, 3, 81, true);
    const x = randn([1, 5, 5, 2], 16);
    const f = (v: T) => gmrConvTranspose2d(v, w, { kernelSize: 4, strides: 2, padding: 1 });
    expect(equivError(f, d4(1)[0].f, x)).toBeGreaterThan(1e-2);
    tf.dispose([x, w.weight, w.logSigmas!, w.bias]);
  });
});
