/**
 * Both computation paths ('two-stage' with the smoothed or the binary basis, and
 * 'dense') of every public op against the independent float64 dense reference
 * (@gmr-conv/test-utils/oracle/dense_reference + a float64 kernel synthesis in test/helpers).
 */
import '@tensorflow/tfjs';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { gmrConv2d, gmrConvTranspose2d, synthesizeKernel, smoothedBasis } from '../src/index.js';
import {
  type CaseSpec,
  PATH_VARIANTS,
  caseName,
  caseTensors,
  makeCase,
  referenceOutput,
  relErr,
  runCase,
} from './helpers/gmr_reference.js';

const TOL = 1e-5;

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const CF = 'channelsFirst' as const;

const cases2d: CaseSpec[] = [
  // kernel sizes, circular or not
  { rank: 2, cin: 3, cout: 4, spatial: [7, 7], kernelSize: 3, padding: 1, bias: true },
  { rank: 2, cin: 3, cout: 2, spatial: [6, 5], kernelSize: 3, forceCircular: false, padding: 1, dataFormat: CF },
  { rank: 2, cin: 3, cout: 4, spatial: [5, 6], kernelSize: 1, bias: true },
  { rank: 2, cin: 2, cout: 3, spatial: [5, 5], kernelSize: 1, forceCircular: false, padding: 1, dataFormat: CF },
  { rank: 2, cin: 2, cout: 3, spatial: [9, 9], kernelSize: 4, padding: 'same', bias: true },
  { rank: 2, cin: 2, cout: 2, spatial: [10, 10], kernelSize: 4, forceCircular: false, padding: 2, strides: 2 },
  { rank: 2, cin: 3, cout: 4, spatial: [10, 10], kernelSize: 5, padding: 2, bias: true, batch: 2 },
  { rank: 2, cin: 2, cout: 3, spatial: [9, 8], kernelSize: 5, padding: 'same', forceCircular: false, dataFormat: CF },
  { rank: 2, cin: 2, cout: 2, spatial: [8, 9], kernelSize: 5, padding: 'valid', bias: true },
  { rank: 2, cin: 2, cout: 2, spatial: [13, 13], kernelSize: 9, padding: 0, bias: true },
  { rank: 2, cin: 2, cout: 3, spatial: [11, 12], kernelSize: 9, padding: 'same', forceCircular: false, dataFormat: CF },
  { rank: 2, cin: 2, cout: 2, spatial: [9, 9], kernelSize: 5, padding: 2, numRings: 5 },
  // strides / dilations
  { rank: 2, cin: 3, cout: 2, spatial: [11, 11], kernelSize: 3, strides: 2 },
  { rank: 2, cin: 3, cout: 2, spatial: [11, 10], kernelSize: 5, strides: 2, padding: 2, bias: true, dataFormat: CF },
  { rank: 2, cin: 2, cout: 3, spatial: [11, 13], kernelSize: 3, strides: 3, padding: 1 },
  { rank: 2, cin: 2, cout: 3, spatial: [10, 11], kernelSize: 3, strides: [1, 2], padding: [1, 0] },
  { rank: 2, cin: 2, cout: 2, spatial: [9, 9], kernelSize: 3, dilations: 2, padding: 2, bias: true },
  { rank: 2, cin: 2, cout: 2, spatial: [12, 11], kernelSize: 3, dilations: 2, strides: 2, padding: 2 },
  {
    rank: 2,
    cin: 2,
    cout: 3,
    spatial: [13, 12],
    kernelSize: 5,
    dilations: 2,
    strides: 2,
    padding: 'same',
    dataFormat: CF,
  },
  { rank: 2, cin: 2, cout: 2, spatial: [9, 10], kernelSize: 3, dilations: [2, 1], padding: 'same' },
  // 'same' with stride (tfjs semantics: ceil(H/s), extra padding after)
  { rank: 2, cin: 2, cout: 2, spatial: [9, 10], kernelSize: 3, strides: 2, padding: 'same', bias: true },
  { rank: 2, cin: 2, cout: 2, spatial: [8, 7], kernelSize: 5, strides: 3, padding: 'same' },
  { rank: 2, cin: 2, cout: 2, spatial: [8, 8], kernelSize: 4, strides: 2, padding: 'same' },
  // padding tuples / explicit pairs
  { rank: 2, cin: 2, cout: 3, spatial: [7, 8], kernelSize: 3, padding: [1, 2] },
  {
    rank: 2,
    cin: 2,
    cout: 3,
    spatial: [7, 8],
    kernelSize: 5,
    padding: [
      [0, 2],
      [3, 1],
    ],
    bias: true,
  },
  {
    rank: 2,
    cin: 2,
    cout: 3,
    spatial: [8, 8],
    kernelSize: 3,
    padding: [
      [2, 0],
      [0, 1],
    ],
    strides: 2,
    dataFormat: CF,
  },
  // padding modes
  { rank: 2, cin: 2, cout: 2, spatial: [7, 7], kernelSize: 3, padding: 1, paddingMode: 'reflect', bias: true },
  {
    rank: 2,
    cin: 2,
    cout: 3,
    spatial: [8, 9],
    kernelSize: 5,
    padding: 2,
    paddingMode: 'reflect',
    strides: 2,
    dataFormat: CF,
  },
  {
    rank: 2,
    cin: 2,
    cout: 2,
    spatial: [7, 8],
    kernelSize: 3,
    padding: [
      [1, 2],
      [2, 0],
    ],
    paddingMode: 'reflect',
  },
  { rank: 2, cin: 2, cout: 2, spatial: [7, 7], kernelSize: 3, padding: 1, paddingMode: 'replicate' },
  {
    rank: 2,
    cin: 2,
    cout: 3,
    spatial: [6, 7],
    kernelSize: 5,
    padding: 'same',
    paddingMode: 'replicate',
    dilations: 2,
    bias: true,
  },
  { rank: 2, cin: 2, cout: 2, spatial: [7, 7], kernelSize: 3, padding: 1, paddingMode: 'circular', dataFormat: CF },
  {
    rank: 2,
    cin: 2,
    cout: 2,
    spatial: [6, 6],
    kernelSize: 5,
    padding: [
      [2, 3],
      [1, 2],
    ],
    paddingMode: 'circular',
    strides: 2,
  },
  { rank: 2, cin: 2, cout: 2, spatial: [6, 6], kernelSize: 3, padding: 'same', paddingMode: 'circular', strides: 2 },
  // groups / depthwise
  { rank: 2, cin: 4, cout: 6, spatial: [8, 8], kernelSize: 3, padding: 1, groups: 2, bias: true },
  {
    rank: 2,
    cin: 4,
    cout: 4,
    spatial: [9, 8],
    kernelSize: 5,
    padding: 2,
    groups: 2,
    strides: 2,
    paddingMode: 'reflect',
    dataFormat: CF,
  },
  { rank: 2, cin: 3, cout: 6, spatial: [7, 7], kernelSize: 3, padding: 1, groups: 3, bias: true },
  {
    rank: 2,
    cin: 4,
    cout: 8,
    spatial: [9, 9],
    kernelSize: 5,
    padding: 'same',
    groups: 4,
    dilations: 2,
    dataFormat: CF,
  },
  {
    rank: 2,
    cin: 2,
    cout: 4,
    spatial: [8, 8],
    kernelSize: 3,
    padding: 1,
    groups: 2,
    rings: 'binary',
    paddingMode: 'circular',
  },
  // binary rings (SRE, logSigmas null)
  { rank: 2, cin: 3, cout: 2, spatial: [8, 8], kernelSize: 5, padding: 2, rings: 'binary', bias: true },
  {
    rank: 2,
    cin: 2,
    cout: 2,
    spatial: [10, 10],
    kernelSize: 9,
    padding: 'same',
    rings: 'binary',
    forceCircular: false,
    dataFormat: CF,
  },
  { rank: 2, cin: 2, cout: 2, spatial: [9, 9], kernelSize: 3, strides: 2, dilations: 2, padding: 1, rings: 'binary' },
  // clamped sigmas (σ outside [1e-2, 2n]) and clipping disabled
  {
    rank: 2,
    cin: 2,
    cout: 3,
    spatial: [8, 8],
    kernelSize: 5,
    padding: 2,
    logSigmas: [Math.log(0.004), Math.log(0.7), Math.log(9)],
    bias: true,
  },
  {
    rank: 2,
    cin: 2,
    cout: 3,
    spatial: [8, 8],
    kernelSize: 5,
    padding: 2,
    logSigmas: [Math.log(0.05), Math.log(0.7), Math.log(9)],
    clipSigma: false,
  },
  // non-square kernel
  { rank: 2, cin: 2, cout: 2, spatial: [8, 9], kernelSize: [3, 5], padding: [1, 2] },
];

const cases1d: CaseSpec[] = [
  { rank: 1, cin: 2, cout: 3, spatial: [11], kernelSize: 3, padding: 1, bias: true },
  { rank: 1, cin: 2, cout: 3, spatial: [12], kernelSize: 5, padding: 2, dataFormat: CF },
  { rank: 1, cin: 2, cout: 2, spatial: [12], kernelSize: 5, forceCircular: false, padding: 'same' },
  { rank: 1, cin: 3, cout: 2, spatial: [9], kernelSize: 1 },
  { rank: 1, cin: 2, cout: 2, spatial: [13], kernelSize: 9, padding: 4, bias: true, batch: 2 },
  { rank: 1, cin: 2, cout: 2, spatial: [10], kernelSize: 4, padding: 'same' },
  { rank: 1, cin: 2, cout: 3, spatial: [13], kernelSize: 3, strides: 2, padding: 1 },
  { rank: 1, cin: 2, cout: 3, spatial: [14], kernelSize: 3, strides: 3, padding: 'same', bias: true },
  { rank: 1, cin: 2, cout: 2, spatial: [12], kernelSize: 3, dilations: 2, strides: 2, padding: 2, dataFormat: CF },
  { rank: 1, cin: 2, cout: 2, spatial: [9], kernelSize: 5, padding: [[3, 1]], paddingMode: 'reflect' },
  { rank: 1, cin: 2, cout: 2, spatial: [9], kernelSize: 5, padding: 2, paddingMode: 'replicate', strides: 2 },
  { rank: 1, cin: 2, cout: 2, spatial: [9], kernelSize: 3, padding: 1, paddingMode: 'circular', dataFormat: CF },
  { rank: 1, cin: 4, cout: 6, spatial: [10], kernelSize: 3, padding: 1, groups: 2, bias: true },
  { rank: 1, cin: 3, cout: 6, spatial: [10], kernelSize: 5, padding: 2, groups: 3, rings: 'binary' },
];

const cases3d: CaseSpec[] = [
  { rank: 3, cin: 2, cout: 3, spatial: [5, 5, 5], kernelSize: 3, padding: 1, bias: true },
  { rank: 3, cin: 2, cout: 2, spatial: [7, 7, 7], kernelSize: 3, forceCircular: false, strides: 2, dataFormat: CF },
  { rank: 3, cin: 2, cout: 2, spatial: [6, 7, 6], kernelSize: 5, padding: 2, rings: 'binary' },
  { rank: 3, cin: 2, cout: 2, spatial: [4, 5, 4], kernelSize: 1, bias: true },
  { rank: 3, cin: 2, cout: 2, spatial: [6, 6, 6], kernelSize: 4, padding: 'same' },
  { rank: 3, cin: 2, cout: 2, spatial: [7, 6, 7], kernelSize: 3, dilations: 2, padding: 'same', bias: true },
  { rank: 3, cin: 2, cout: 2, spatial: [8, 7, 7], kernelSize: 3, dilations: 2, strides: 2, padding: 1 },
  { rank: 3, cin: 2, cout: 2, spatial: [6, 7, 5], kernelSize: 3, strides: [2, 1, 3], padding: 'same', dataFormat: CF },
  {
    rank: 3,
    cin: 2,
    cout: 2,
    spatial: [5, 6, 5],
    kernelSize: 3,
    padding: [
      [1, 0],
      [2, 1],
      [0, 2],
    ],
    paddingMode: 'reflect',
  },
  { rank: 3, cin: 2, cout: 2, spatial: [5, 5, 5], kernelSize: 3, padding: 1, paddingMode: 'replicate', bias: true },
  { rank: 3, cin: 2, cout: 2, spatial: [5, 5, 6], kernelSize: 3, padding: 1, paddingMode: 'circular', dataFormat: CF },
  { rank: 3, cin: 4, cout: 4, spatial: [5, 5, 5], kernelSize: 3, padding: 1, groups: 2, bias: true },
  { rank: 3, cin: 2, cout: 4, spatial: [5, 5, 5], kernelSize: 3, padding: 1, groups: 2, dataFormat: CF },
];

const casesT: CaseSpec[] = [
  { rank: 2, transposed: true, cin: 3, cout: 2, spatial: [5, 5], kernelSize: 3, padding: 1, bias: true },
  {
    rank: 2,
    transposed: true,
    cin: 2,
    cout: 3,
    spatial: [4, 5],
    kernelSize: 3,
    strides: 2,
    padding: 1,
    outputPadding: 1,
  },
  {
    rank: 2,
    transposed: true,
    cin: 2,
    cout: 2,
    spatial: [4, 4],
    kernelSize: 5,
    strides: 2,
    padding: 2,
    outputPadding: 1,
    dataFormat: CF,
    bias: true,
  },
  { rank: 2, transposed: true, cin: 2, cout: 2, spatial: [4, 4], kernelSize: 4, strides: 2, padding: 1 },
  {
    rank: 2,
    transposed: true,
    cin: 2,
    cout: 2,
    spatial: [3, 4],
    kernelSize: 3,
    strides: 3,
    outputPadding: 2,
    forceCircular: false,
  },
  { rank: 2, transposed: true, cin: 2, cout: 2, spatial: [4, 4], kernelSize: 1, strides: 2, outputPadding: 1 },
  {
    rank: 2,
    transposed: true,
    cin: 2,
    cout: 2,
    spatial: [4, 5],
    kernelSize: 3,
    strides: 2,
    dilations: 2,
    padding: 2,
    outputPadding: [1, 0],
  },
  { rank: 2, transposed: true, cin: 2, cout: 2, spatial: [5, 5], kernelSize: 3, dilations: 2, padding: 1 },
  {
    rank: 2,
    transposed: true,
    cin: 4,
    cout: 6,
    spatial: [4, 4],
    kernelSize: 3,
    strides: 2,
    padding: 1,
    groups: 2,
    bias: true,
  },
  {
    rank: 2,
    transposed: true,
    cin: 3,
    cout: 6,
    spatial: [4, 4],
    kernelSize: 3,
    strides: 2,
    padding: 1,
    outputPadding: 1,
    groups: 3,
    dataFormat: CF,
  },
  {
    rank: 2,
    transposed: true,
    cin: 2,
    cout: 2,
    spatial: [4, 4],
    kernelSize: 5,
    strides: 2,
    padding: [
      [1, 2],
      [2, 0],
    ],
    rings: 'binary',
  },
  {
    rank: 2,
    transposed: true,
    cin: 2,
    cout: 2,
    spatial: [4, 3],
    kernelSize: 3,
    strides: 2,
    padding: [1, 0],
    rings: 'binary',
    dataFormat: CF,
  },
  {
    rank: 2,
    transposed: true,
    cin: 2,
    cout: 3,
    spatial: [4, 5],
    kernelSize: 3,
    strides: 2,
    padding: 'same',
    bias: true,
  },
  { rank: 2, transposed: true, cin: 2, cout: 2, spatial: [4, 4], kernelSize: 5, strides: 2, padding: 'same' },
  { rank: 2, transposed: true, cin: 2, cout: 2, spatial: [3, 3], kernelSize: 3, strides: 3, padding: 'same' },
  {
    rank: 2,
    transposed: true,
    cin: 2,
    cout: 2,
    spatial: [4, 4],
    kernelSize: 5,
    padding: 'valid',
    numRings: 4,
    bias: true,
  },
];

function checkCase(spec: CaseSpec) {
  const c = makeCase(spec);
  const ref = referenceOutput(c);
  const t = caseTensors(c);
  try {
    for (const v of PATH_VARIANTS) {
      for (const withIndexMat of [false, true]) {
        const y = runCase(c, t, v, {}, withIndexMat);
        expect(y.shape, `${v} shape`).toEqual(ref.shape);
        const err = relErr(y.dataSync(), ref.data);
        expect(err, `${v} (indexMat ${withIndexMat ? 'given' : 'built'}) rel err`).toBeLessThanOrEqual(TOL);
        y.dispose();
      }
    }
    // 'auto' picks one of the two; either way the numbers are the same.
    const y = runCase(c, t, 'dense', { path: 'auto' });
    expect(relErr(y.dataSync(), ref.data), 'auto').toBeLessThanOrEqual(TOL);
    y.dispose();
  } finally {
    Object.values(t).forEach((v) => v?.dispose());
  }
}

describe('gmrConv2d: two-stage and dense paths vs the float64 dense reference', () => {
  it.each(cases2d.map((s) => [caseName(s), s] as const))('%s', (_n, s) => checkCase(s));
});

describe('gmrConv1d: both paths vs the reference', () => {
  it.each(cases1d.map((s) => [caseName(s), s] as const))('%s', (_n, s) => checkCase(s));
});

describe('gmrConv3d: both paths vs the reference', () => {
  it.each(cases3d.map((s) => [caseName(s), s] as const))('%s', (_n, s) => checkCase(s));
});

describe('gmrConvTranspose2d: both paths vs the reference (PyTorch ConvTranspose2d semantics)', () => {
  it.each(casesT.map((s) => [caseName(s), s] as const))('%s', (_n, s) => checkCase(s));
});

describe("'same' follows tfjs semantics", () => {
  const configs: Array<{ H: number; W: number; k: number; s: number; d?: number }> = [
    { H: 9, W: 10, k: 3, s: 2 },
    { H: 8, W: 8, k: 3, s: 2 },
    { H: 10, W: 7, k: 5, s: 2 },
    { H: 11, W: 9, k: 5, s: 3 },
    { H: 7, W: 8, k: 4, s: 2 },
    { H: 9, W: 9, k: 9, s: 2 },
    { H: 7, W: 6, k: 5, s: 1 },
    { H: 9, W: 8, k: 3, s: 1, d: 2 },
  ];
  it.each(configs)('conv2d H=$H W=$W k=$k s=$s d=$d: output ceil(H/s), same numbers as tf.conv2d(pad same)', (cfg) => {
    const d = cfg.d ?? 1;
    const c = makeCase({
      rank: 2,
      cin: 2,
      cout: 3,
      spatial: [cfg.H, cfg.W],
      kernelSize: cfg.k,
      strides: cfg.s,
      dilations: d,
      padding: 'same',
      bias: false,
      seed: 99 + cfg.k,
    });
    const t = caseTensors(c);
    const kernel = tf.tidy(() =>
      synthesizeKernel(t.weight, smoothedBasis(t.indexMat as tf.Tensor2D, t.logSigmas), [cfg.k, cfg.k]),
    );
    expect(kernel.shape).toEqual([cfg.k, cfg.k, 2, 3]);
    const expected = tf.conv2d(t.x as tf.Tensor4D, kernel as tf.Tensor4D, cfg.s, 'same', 'NHWC', d);
    expect(expected.shape).toEqual([1, Math.ceil(cfg.H / cfg.s), Math.ceil(cfg.W / cfg.s), 3]);
    for (const path of ['two-stage', 'dense'] as const) {
      const y = gmrConv2d(
        t.x,
        { weight: t.weight, logSigmas: t.logSigmas },
        { kernelSize: cfg.k, strides: cfg.s, dilations: d, padding: 'same', path },
      );
      expect(y.shape).toEqual(expected.shape);
      expect(relErr(y.dataSync(), expected.dataSync()), path).toBeLessThanOrEqual(TOL);
      y.dispose();
    }
    // The channelsFirst layout gives the same numbers.
    const xcf = tf.transpose(t.x, [0, 3, 1, 2]);
    const ycf = gmrConv2d(
      xcf,
      { weight: t.weight, logSigmas: t.logSigmas },
      { kernelSize: cfg.k, strides: cfg.s, dilations: d, padding: 'same', dataFormat: 'channelsFirst', path: 'dense' },
    );
    const back = tf.transpose(ycf, [0, 2, 3, 1]);
    expect(relErr(back.dataSync(), expected.dataSync())).toBeLessThanOrEqual(TOL);
    tf.dispose([kernel, expected, xcf, ycf, back, ...(Object.values(t).filter(Boolean) as tf.Tensor[])]);
  });

  it.each([
    { H: 4, W: 5, k: 3, s: 2 },
    { H: 4, W: 4, k: 5, s: 2 },
    { H: 3, W: 4, k: 3, s: 3 },
    { H: 3, W: 3, k: 1, s: 2 },
    { H: 4, W: 3, k: 4, s: 2 },
  ])('conv2dTranspose H=$H W=$W k=$k s=$s: output H·s, same numbers as tf.conv2dTranspose(pad same)', (cfg) => {
    const c = makeCase({
      rank: 2,
      transposed: true,
      cin: 2,
      cout: 3,
      spatial: [cfg.H, cfg.W],
      kernelSize: cfg.k,
      strides: cfg.s,
      padding: 'same',
      seed: 5 + cfg.k,
    });
    const t = caseTensors(c);
    // θ [Cin, Cout, n] → kernel [k, k, Cout, Cin] is exactly tfjs's conv2dTranspose filter layout.
    const kernel = tf.tidy(() =>
      synthesizeKernel(t.weight, smoothedBasis(t.indexMat as tf.Tensor2D, t.logSigmas), [cfg.k, cfg.k]),
    );
    expect(kernel.shape).toEqual([cfg.k, cfg.k, 3, 2]);
    const outShape: [number, number, number, number] = [1, cfg.H * cfg.s, cfg.W * cfg.s, 3];
    const expected = tf.conv2dTranspose(t.x as tf.Tensor4D, kernel as tf.Tensor4D, outShape, cfg.s, 'same');
    for (const path of ['two-stage', 'dense'] as const) {
      const y = gmrConvTranspose2d(
        t.x,
        { weight: t.weight, logSigmas: t.logSigmas },
        { kernelSize: cfg.k, strides: cfg.s, padding: 'same', path },
      );
      expect(y.shape).toEqual(outShape);
      expect(relErr(y.dataSync(), expected.dataSync()), path).toBeLessThanOrEqual(TOL);
      y.dispose();
    }
    tf.dispose([kernel, expected, ...(Object.values(t).filter(Boolean) as tf.Tensor[])]);
  });
});
