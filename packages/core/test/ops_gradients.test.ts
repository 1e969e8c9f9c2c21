/**
 * Gradients of every op and path w.r.t. the input, θ, log σ, the bias and the
 * index matrix (trainIndexMat), checked
 *  (a) against central finite differences of the loss sum(y·R) (float64 loss from
 *      float32 outputs, eps 1e-2, a few random coordinates per tensor), and
 *  (b) against tfjs's own gradients of the same op composed of plain tfjs ops
 *      (tf.conv1d / conv2d / conv3d / conv2dTranspose, cpu backend) to 1e-4.
 */
import '@tensorflow/tfjs';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { gmrConv2d } from '../src/index.js';
import {
  type CaseData,
  type CaseSpec,
  PATH_VARIANTS,
  type PathVariant,
  type TfParams,
  caseName,
  caseTensors,
  makeCase,
  maxAbs,
  randnArray,
  relErr,
  rng,
  runCase,
  tfComposition,
} from './helpers/gmr_reference.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const CF = 'channelsFirst' as const;

const cases: CaseSpec[] = [
  { rank: 2, cin: 2, cout: 3, spatial: [7, 7], kernelSize: 5, padding: 2, bias: true },
  { rank: 2, cin: 2, cout: 2, spatial: [9, 8], kernelSize: 3, strides: 2, padding: 1, bias: true },
  { rank: 2, cin: 2, cout: 2, spatial: [8, 8], kernelSize: 3, dilations: 2, padding: 2 },
  { rank: 2, cin: 2, cout: 3, spatial: [10, 9], kernelSize: 3, strides: 2, dilations: 2, padding: 2, bias: true },
  { rank: 2, cin: 2, cout: 2, spatial: [9, 9], kernelSize: 5, strides: 2, padding: 'same' },
  { rank: 2, cin: 4, cout: 4, spatial: [6, 6], kernelSize: 3, padding: 1, groups: 2, bias: true },
  { rank: 2, cin: 3, cout: 6, spatial: [6, 6], kernelSize: 3, padding: 1, groups: 3, dataFormat: CF },
  {
    rank: 2,
    cin: 2,
    cout: 2,
    spatial: [6, 7],
    kernelSize: 3,
    padding: [
      [1, 2],
      [2, 1],
    ],
    paddingMode: 'reflect',
    bias: true,
  },
  { rank: 2, cin: 2, cout: 2, spatial: [6, 6], kernelSize: 5, padding: 2, paddingMode: 'replicate', strides: 2 },
  {
    rank: 2,
    cin: 2,
    cout: 2,
    spatial: [6, 6],
    kernelSize: 3,
    padding: 1,
    paddingMode: 'circular',
    dataFormat: CF,
    bias: true,
  },
  { rank: 2, cin: 2, cout: 3, spatial: [7, 7], kernelSize: 5, padding: 2, rings: 'binary', bias: true },
  { rank: 2, cin: 2, cout: 2, spatial: [7, 7], kernelSize: 4, forceCircular: false, padding: 'same' },
  { rank: 1, cin: 2, cout: 3, spatial: [10], kernelSize: 5, padding: 2, bias: true },
  {
    rank: 1,
    cin: 2,
    cout: 2,
    spatial: [11],
    kernelSize: 3,
    strides: 2,
    dilations: 2,
    padding: 1,
    paddingMode: 'reflect',
    dataFormat: CF,
  },
  { rank: 3, cin: 2, cout: 2, spatial: [5, 5, 5], kernelSize: 3, padding: 1, bias: true },
  {
    rank: 3,
    cin: 2,
    cout: 4,
    spatial: [6, 5, 5],
    kernelSize: 3,
    strides: 2,
    dilations: [1, 2, 1],
    padding: [1, 2, 1],
    groups: 2,
    paddingMode: 'circular',
    dataFormat: CF,
  },
  {
    rank: 2,
    transposed: true,
    cin: 2,
    cout: 3,
    spatial: [4, 4],
    kernelSize: 3,
    strides: 2,
    padding: 1,
    outputPadding: 1,
    bias: true,
  },
  {
    rank: 2,
    transposed: true,
    cin: 4,
    cout: 4,
    spatial: [4, 3],
    kernelSize: 5,
    strides: 2,
    padding: 2,
    groups: 2,
    dataFormat: CF,
  },
  {
    rank: 2,
    transposed: true,
    cin: 2,
    cout: 2,
    spatial: [4, 4],
    kernelSize: 3,
    dilations: 2,
    strides: 2,
    padding: [
      [1, 2],
      [0, 1],
    ],
    rings: 'binary',
  },
];

type Named = { name: string; t: tf.Tensor };

function paramList(p: TfParams): Named[] {
  const out: Named[] = [
    { name: 'x', t: p.x },
    { name: 'weight', t: p.weight },
  ];
  if (p.logSigmas) out.push({ name: 'logSigmas', t: p.logSigmas });
  if (p.bias) out.push({ name: 'bias', t: p.bias });
  out.push({ name: 'indexMat', t: p.indexMat });
  return out;
}

function withValues(p: TfParams, names: string[], values: tf.Tensor[]): TfParams {
  const q: TfParams = { ...p };
  names.forEach((n, i) => ((q as unknown as Record<string, tf.Tensor>)[n] = values[i]));
  return q;
}

/** Analytic gradients of sum(f(params)·R) for every parameter. */
function gradsOf(f: (p: TfParams) => tf.Tensor, p: TfParams, R: tf.Tensor): Map<string, Float32Array> {
  const list = paramList(p);
  const names = list.map((l) => l.name);
  const gs = tf.grads((...vals: tf.Tensor[]) => tf.sum(tf.mul(f(withValues(p, names, vals)), R)))(list.map((l) => l.t));
  const out = new Map<string, Float32Array>();
  names.forEach((n, i) => out.set(n, gs[i].dataSync() as Float32Array));
  tf.dispose(gs);
  return out;
}

/** Float64 loss sum(y·R) from the op's float32 output. */
function lossOf(f: (p: TfParams) => tf.Tensor, p: TfParams, R: Float32Array): number {
  const y = f(p);
  const d = y.dataSync();
  y.dispose();
  let s = 0;
  for (let i = 0; i < d.length; i++) s += d[i] * R[i];
  return s;
}

function finiteDiffCheck(
  label: string,
  f: (p: TfParams) => tf.Tensor,
  p: TfParams,
  R: Float32Array,
  analytic: Map<string, Float32Array>,
  seed: number,
) {
  const eps = 1e-2;
  const r = rng(seed);
  for (const { name, t } of paramList(p)) {
    const base = t.dataSync().slice() as Float32Array;
    const grad = analytic.get(name)!;
    const scale = maxAbs(grad);
    expect(scale, `${label}: grad ${name} is identically zero`).toBeGreaterThan(0);
    const coords = new Set<number>();
    // Three random coordinates, plus the largest-gradient one.
    let argmax = 0;
    for (let i = 0; i < grad.length; i++) if (Math.abs(grad[i]) > Math.abs(grad[argmax])) argmax = i;
    coords.add(argmax);
    while (coords.size < Math.min(4, base.length)) coords.add(Math.floor(r() * base.length));
    for (const i of coords) {
      const plus = base.slice();
      plus[i] += eps;
      const minus = base.slice();
      minus[i] -= eps;
      const tp = tf.tensor(plus, t.shape);
      const tm = tf.tensor(minus, t.shape);
      const fd = (lossOf(f, withValues(p, [name], [tp]), R) - lossOf(f, withValues(p, [name], [tm]), R)) / (2 * eps);
      tf.dispose([tp, tm]);
      const tol = 1e-2 * Math.max(Math.abs(grad[i]), 0.05 * scale);
      expect(
        Math.abs(fd - grad[i]),
        `${label}: d/d${name}[${i}] analytic ${grad[i]} vs finite difference ${fd}`,
      ).toBeLessThanOrEqual(tol);
    }
  }
}

function setup(spec: CaseSpec) {
  const c: CaseData = makeCase(spec);
  const t = caseTensors(c);
  const p: TfParams = { x: t.x, weight: t.weight, logSigmas: t.logSigmas, bias: t.bias, indexMat: t.indexMat };
  const yShape = tf.tidy(() => runCase(c, p, 'dense').shape);
  const Rdata = randnArray(
    yShape.reduce((a, b) => a * b, 1),
    777,
  );
  const R = tf.tensor(Rdata, yShape);
  const dispose = () => tf.dispose([...(Object.values(t).filter(Boolean) as tf.Tensor[]), R]);
  return { c, p, R, Rdata, dispose };
}

describe('gradients: analytic vs tfjs composition (1e-4) and finite differences', () => {
  it.each(cases.map((s, i) => [caseName(s), s, i] as const))('%s', (_name, spec, idx) => {
    const { c, p, R, Rdata, dispose } = setup(spec);
    try {
      const reference = gradsOf((q) => tfComposition(c, q), p, R);
      for (const v of PATH_VARIANTS) {
        const op = (q: TfParams) => runCase(c, q, v, { trainIndexMat: true });
        const g = gradsOf(op, p, R);
        for (const [name, ref] of reference) {
          expect(relErr(g.get(name)!, ref), `${v}: grad ${name} vs tfjs composition`).toBeLessThanOrEqual(1e-4);
        }
        finiteDiffCheck(v, op, p, Rdata, g, 1000 + idx * 7 + PATH_VARIANTS.indexOf(v));
      }
    } finally {
      dispose();
    }
  });
});

describe('gradients without an explicit indexMat (masks built by the op)', () => {
  it.each(cases.slice(0, 6).map((s) => [caseName(s), s] as const))('%s', (_n, spec) => {
    const { c, p, R, dispose } = setup(spec);
    try {
      const reference = gradsOf((q) => tfComposition(c, q), p, R);
      for (const v of PATH_VARIANTS) {
        const list = paramList(p).filter((l) => l.name !== 'indexMat');
        const names = list.map((l) => l.name);
        const gs = tf.grads((...vals: tf.Tensor[]) =>
          tf.sum(tf.mul(runCase(c, withValues(p, names, vals), v, {}, false), R)),
        )(list.map((l) => l.t));
        names.forEach((n, i) =>
          expect(relErr(gs[i].dataSync(), reference.get(n)!), `${v} ${n}`).toBeLessThanOrEqual(1e-4),
        );
        tf.dispose(gs);
      }
    } finally {
      dispose();
    }
  });
});

describe('clamped sigmas', () => {
  it.each(PATH_VARIANTS)(
    'k=5, log σ = log([0.004, 0.7, 9.0]): exactly zero gradient for the clamped entries (%s)',
    (v: PathVariant) => {
      const spec: CaseSpec = {
        rank: 2,
        cin: 2,
        cout: 3,
        spatial: [8, 8],
        kernelSize: 5,
        padding: 2,
        bias: true,
        logSigmas: [Math.log(0.004), Math.log(0.7), Math.log(9.0)],
      };
      const { c, p, R, dispose } = setup(spec);
      try {
        const g = gradsOf((q) => runCase(c, q, v), p, R).get('logSigmas')!;
        expect(g[0]).toBe(0);
        expect(g[2]).toBe(0);
        expect(Math.abs(g[1])).toBeGreaterThan(1e-3);
        const ref = gradsOf((q) => tfComposition(c, q), p, R).get('logSigmas')!;
        expect(relErr(g, ref)).toBeLessThanOrEqual(1e-4);
        // With clipping off every entry gets a gradient.
        const gu = gradsOf((q) => runCase(c, q, v, { clipSigma: false }), p, R).get('logSigmas')!;
        expect(Math.abs(gu[0])).toBeGreaterThan(0);
        expect(Math.abs(gu[2])).toBeGreaterThan(0);
      } finally {
        dispose();
      }
    },
  );
});

describe('gradient w.r.t. a custom (trained) index matrix', () => {
  it('a perturbed index matrix changes the output like the reference and gets the same gradient on both paths', () => {
    const spec: CaseSpec = { rank: 2, cin: 2, cout: 2, spatial: [7, 7], kernelSize: 5, padding: 2, bias: true };
    const { c, p, R, dispose } = setup(spec);
    const noisy = Float32Array.from(c.masks, (m, i) => m + 0.1 * Math.sin(i));
    const M = tf.tensor2d(noisy, p.indexMat.shape as [number, number]);
    const q = { ...p, indexMat: M };
    try {
      const ref = gradsOf((z) => tfComposition(c, z), q, R);
      for (const v of PATH_VARIANTS) {
        const g = gradsOf((z) => runCase(c, z, v, { trainIndexMat: true }), q, R);
        for (const [name, r] of ref) expect(relErr(g.get(name)!, r), `${v} ${name}`).toBeLessThanOrEqual(1e-4);
      }
      // The gradient of the corner taps (outside every ring) is non-zero: the masks really are trainable.
      const gm = gradsOf(
        (z) =>
          gmrConv2d(
            z.x,
            { weight: z.weight, logSigmas: z.logSigmas, bias: z.bias, indexMat: z.indexMat },
            { kernelSize: 5, padding: 2, trainIndexMat: true },
          ),
        q,
        R,
      ).get('indexMat')!;
      expect(Math.abs(gm[0])).toBeGreaterThan(0);
    } finally {
      M.dispose();
      dispose();
    }
  });
});
