/**
 * The plain convolutions' direct paths (native/conv_host.cc: the AVX-512 implicit GEMM that reads x in place, the
 * stride-1 input gradient as a convolution of dy with the turned filter, the filter gradient tile by tile) against
 * the tfjs cpu backend: output-channel counts around the 16- and 32-wide tiles (8, 16, 24, 40, 70), position counts
 * that are no multiple of the 12-position tile, batch 1, odd sizes, 'same' / 'valid' / explicit asymmetric pads,
 * batches large enough that each task pads its own images, kernels wider than the image (taps that read only padding
 * are skipped), strides, dilation (forward only: tfjs has no conv gradient for dilation > 1), and the one-channel
 * first layer.
 * Run with GMR_NATIVE_SIMD=avx2 (or generic) the same cases take the im2col paths.
 */
import { describe, expect, it } from 'vitest';
import { kernelCallCounts, resetKernelCallCounts } from '../src/index.js';
import { on, rand, relErr, tf } from './helpers.js';
import { expectNoLeaks } from './leak_check.js';

const t = (shape: number[], seed: number) =>
  tf.tensor(
    rand(
      shape.reduce((p, q) => p * q, 1),
      seed,
    ),
    shape,
  );
type Pad = 'same' | 'valid' | [[0, 0], [number, number], [number, number], [0, 0]];

interface ConvCase {
  name: string;
  x: [number, number, number, number];
  k: [number, number];
  cout: number;
  strides?: number | [number, number];
  pad: Pad;
  dilations?: number | [number, number];
}

const cases: ConvCase[] = [
  {
    name: 'first layer 1 → 16, 9×9 same, 28×28 (the CLI plain CNN)',
    x: [2, 28, 28, 1],
    k: [9, 9],
    cout: 16,
    pad: 'same',
  },
  {
    name: 'first layer 1 → 20, 9×9 same, 28×28 (filter gradient by kernel row, a second panel of 4 channels)',
    x: [1, 28, 28, 1],
    k: [9, 9],
    cout: 20,
    pad: 'same',
  },
  { name: '16 → 32, 9×9 same, 14×14, batch 1', x: [1, 14, 14, 16], k: [9, 9], cout: 32, pad: 'same' },
  {
    name: '32 → 64, 5×5 same, 7×7, batch 3 (tiles of two rows that span two images)',
    x: [3, 7, 7, 32],
    k: [5, 5],
    cout: 64,
    pad: 'same',
  },
  {
    name: '8 → 24, 3×3 valid, odd sizes (7×5: 15 positions, no multiple of 12)',
    x: [1, 7, 5, 8],
    k: [3, 3],
    cout: 24,
    pad: 'valid',
  },
  {
    name: '12 → 40, 5×3 explicit asymmetric pads (a masked second panel)',
    x: [3, 9, 6, 12],
    k: [5, 3],
    cout: 40,
    pad: [
      [0, 0],
      [1, 3],
      [2, 0],
      [0, 0],
    ],
  },
  { name: '9 → 70, 3×3 same (three column groups, the last of 6)', x: [2, 5, 7, 9], k: [3, 3], cout: 70, pad: 'same' },
  {
    name: '16 → 8, 3×3 stride 2 same (strided forward and filter gradient)',
    x: [2, 9, 8, 16],
    k: [3, 3],
    cout: 8,
    strides: 2,
    pad: 'same',
  },
  {
    name: '10 → 20, 4×4 stride [1, 2] valid (even kernel)',
    x: [2, 8, 11, 10],
    k: [4, 4],
    cout: 20,
    strides: [1, 2],
    pad: 'valid',
  },
  {
    name: '10 → 20, 4×4 same (even kernel: uneven padding turned for the input gradient)',
    x: [2, 7, 9, 10],
    k: [4, 4],
    cout: 20,
    pad: 'same',
  },
  {
    name: '8 → 16, 3×3, pads wider than the kernel (3 top, 4 right)',
    x: [2, 6, 5, 8],
    k: [3, 3],
    cout: 16,
    pad: [
      [0, 0],
      [3, 0],
      [0, 4],
      [0, 0],
    ],
  },
  { name: '3 → 17, 5×5 same (few input channels)', x: [2, 6, 6, 3], k: [5, 5], cout: 17, pad: 'same' },
  {
    name: '16 → 32, 5×5 same, 7×7, batch 17 (images padded chunk by chunk, a last chunk of one image)',
    x: [17, 7, 7, 16],
    k: [5, 5],
    cout: 32,
    pad: 'same',
  },
  {
    name: '32 → 10, 7×5 same, 9×7, batch 3 (a masked 16-wide panel, groups of four 7-position rows across images)',
    x: [3, 9, 7, 32],
    k: [7, 5],
    cout: 10,
    pad: 'same',
  },
  {
    name: '16 → 16, 3×11 same, 7×7 (whole-row tiles: taps that put 5 of a 7-position row in the padding)',
    x: [2, 7, 7, 16],
    k: [3, 11],
    cout: 16,
    pad: 'same',
  },
  {
    name: '16 → 40, 3×3 same, 14×14 (whole-row tiles of two panels, the last pass 8 columns wide)',
    x: [2, 14, 14, 16],
    k: [3, 3],
    cout: 40,
    pad: 'same',
  },
  {
    name: '32 → 40, 5×5 same, 7×7 (the row-tap tile of two panels, the last pass 8 columns wide)',
    x: [3, 7, 7, 32],
    k: [5, 5],
    cout: 40,
    pad: 'same',
  },
  {
    name: '8 → 16, 7×7 same on 5×6, batch 12 (kernel rows and columns wider than the image: taps skipped per row)',
    x: [12, 5, 6, 8],
    k: [7, 7],
    cout: 16,
    pad: 'same',
  },
];

const conv = (c: ConvCase) => (x: tf.Tensor, w: tf.Tensor) =>
  tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, c.strides ?? 1, c.pad, 'NHWC', c.dilations ?? 1);

/** y, dx and dw (through a random dy) of a case. */
const withGrads = (c: ConvCase) => () => {
  const x = t(c.x, 1),
    w = t([...c.k, c.x[3], c.cout], 2);
  const y = conv(c)(x, w);
  const r = t(y.shape, 3);
  return [y, ...tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(conv(c)(a, b), r)))([x, w])];
};

describe('plain convolutions on native vs cpu', () => {
  for (const c of cases) {
    it(c.name, async () => {
      const ref = await on('cpu', withGrads(c));
      resetKernelCallCounts();
      const got = await on('native', withGrads(c));
      const counts = kernelCallCounts();
      for (const k of ['Conv2D', 'Conv2DBackpropInput', 'Conv2DBackpropFilter'])
        expect(counts[k] ?? 0, `${k} ran natively`).toBeGreaterThan(0);
      ['y', 'dx', 'dw'].forEach((what, i) => expect(relErr(got[i]!, ref[i]!), what).toBeLessThan(2e-5));
    });
  }

  // Bias and ReLU in the tiles' stores (FusedConv2D): every case's tiles (row-tap, whole-row, 14-position, masked
  // panels), with bias and ReLU, bias alone, ReLU alone.
  const EPILOGUES = [
    { bias: true, activation: 'relu' },
    { bias: true, activation: 'linear' },
    { bias: false, activation: 'relu' },
  ] as const;
  it('fused forward: bias and ReLU applied in the tiles, every case', async () => {
    const f = () =>
      cases.flatMap((c, ci) =>
        EPILOGUES.map((e) =>
          tf.fused.conv2d({
            x: t(c.x, 1 + ci) as tf.Tensor4D,
            filter: t([...c.k, c.x[3], c.cout], 2 + ci) as tf.Tensor4D,
            strides: c.strides ?? 1,
            pad: c.pad,
            dilations: c.dilations ?? 1,
            bias: e.bias ? t([c.cout], 3 + ci) : undefined,
            activation: e.activation,
          }),
        ),
      );
    const ref = await on('cpu', f);
    resetKernelCallCounts();
    const got = await on('native', f);
    expect(kernelCallCounts()['FusedConv2D']).toBe(cases.length * EPILOGUES.length);
    ref.forEach((r, i) => {
      const what = `${cases[Math.floor(i / EPILOGUES.length)]!.name}, ${JSON.stringify(EPILOGUES[i % EPILOGUES.length])}`;
      expect(relErr(got[i]!, r), what).toBeLessThan(2e-5);
      // ReLU's zeros exactly where cpu has them (no −0, no small negatives).
      if (EPILOGUES[i % EPILOGUES.length]!.activation === 'relu')
        expect(
          got[i]!.every((v, j) => v > 0 === r[j]! > 0 && v >= 0 && !Object.is(v, -0)),
          what,
        ).toBe(true);
    });
  });

  it('dilated forward (2 and [2, 3], same and valid)', async () => {
    const f = () => [
      tf.conv2d(t([2, 11, 10, 8], 1) as tf.Tensor4D, t([3, 3, 8, 20], 2) as tf.Tensor4D, 1, 'same', 'NHWC', 2),
      tf.conv2d(t([1, 12, 13, 4], 3) as tf.Tensor4D, t([3, 2, 4, 16], 4) as tf.Tensor4D, 1, 'valid', 'NHWC', [2, 3]),
    ];
    const ref = await on('cpu', f);
    resetKernelCallCounts();
    const got = await on('native', f);
    expect(kernelCallCounts()['Conv2D']).toBe(2);
    ref.forEach((r, i) => expect(relErr(got[i]!, r), `output ${i}`).toBeLessThan(2e-5));
  });

  it('leaves no tensor and no native buffer behind', async () => {
    await tf.setBackend('native');
    const c = cases[1]!;
    expectNoLeaks(() => tf.dispose(tf.tidy(withGrads(c))), 5);
  });
});
