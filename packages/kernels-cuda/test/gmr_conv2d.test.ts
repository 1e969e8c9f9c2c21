/**
 * The native GMRConv2D kernels against core's composed path on cpu, on the shared op cases
 * (@gmr-conv/test-utils/op_cases, the list core and kernels-webgpu run): the output and every gradient (x, θ, log σ,
 * bias) through core's gmrConv2d op, which dispatches to this package's kernels on 'native'. The other shared cases
 * (1D, 3D, transposed: no native kernel) go through core's composed path on native and must match too.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { GMRHarmonicConv2D, ringMasks } from '@gmr-conv/core';
import { GMR_CONV_2D, usesComposedKernel } from '@gmr-conv/core/kernel';
import { opCaseErrors, opCasesOf, runOpCase, type OpCase } from '@gmr-conv/test-utils/op_cases';
import { kernelCallCounts, loadAddon, resetKernelCallCounts, ringTaps, setNumThreads } from '../src/index.js';
import { on, rand, relErr, tf } from './helpers.js';

describe('native GMRConv2D vs core composed on cpu', () => {
  beforeAll(async () => {
    await tf.setBackend('native');
  });

  it.each(opCasesOf(2).map((c) => [c.name, c] as const))('%s', async (_name, c) => {
    const ref = await runOpCase(c, 'cpu', { path: 'two-stage' });
    resetKernelCallCounts();
    const got = await runOpCase(c, 'native', { path: 'two-stage' });
    const counts = kernelCallCounts();
    expect(usesComposedKernel(GMR_CONV_2D, 'native')).toBe(false);
    expect(counts.gmrForward).toBeGreaterThanOrEqual(1);
    expect(counts.gmrBackpropInput).toBe(1);
    expect(counts.gmrBackpropFilter).toBe(1);
    expect(counts.gmrRingSumsReused).toBe(1);
    expect(counts.gmrForwardFused).toBe(1); // the output outside the tape
    for (const [what, e] of Object.entries(opCaseErrors(got, ref)))
      expect(e, `${what} rel err ${e}`).toBeLessThan(1e-4);
  });

  it.each([...opCasesOf(3), ...opCasesOf(1), ...opCasesOf('transposed')].map((c) => [c.name, c] as const))(
    '%s: core composed on native matches cpu',
    async (_name, c) => {
      const ref = await runOpCase(c, 'cpu');
      const got = await runOpCase(c, 'native');
      for (const [what, e] of Object.entries(opCaseErrors(got, ref)))
        expect(e, `${what} rel err ${e}`).toBeLessThan(1e-4);
    },
  );

  it('GMRHarmonicConv2D (rings weighted by cos φ / sin φ) runs natively and matches cpu, gradients included', async () => {
    const layer = new GMRHarmonicConv2D({
      filters: 3,
      kernelSize: 7,
      padding: 'same',
      biasInitializer: 'randomNormal',
      magnitudeEpsilon: 1e-3,
    });
    layer.build([2, 10, 9, 4]);
    const weights = layer.getWeights().map((w) => w.dataSync().slice());
    const f = () => {
      layer.setWeights(weights.map((v, i) => tf.tensor(v, layer.weights[i]!.shape as number[])));
      const x = tf.tensor(rand(2 * 10 * 9 * 4, 21), [2, 10, 9, 4]);
      const vars = layer.trainableWeights.map((w) => (w as unknown as { val: tf.Variable }).val);
      const r = tf.tensor(rand(2 * 10 * 9 * 3, 22), [2, 10, 9, 3]);
      const { grads } = tf.variableGrads(() => tf.sum(tf.mul(layer.apply(x) as tf.Tensor, r)) as tf.Scalar, vars);
      const dx = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(layer.apply(t) as tf.Tensor, r)))(x);
      return [layer.apply(x) as tf.Tensor, dx, ...vars.map((v) => grads[v.name]!)];
    };
    const ref = await on('cpu', f);
    resetKernelCallCounts();
    const got = await on('native', f);
    expect(kernelCallCounts().gmrBackpropFilter ?? 0).toBeGreaterThanOrEqual(2);
    // One training step: the cos and the sin op run on the same x, and both filter gradients reuse their ring sums.
    await tf.setBackend('native');
    const x = tf.tensor(rand(2 * 10 * 9 * 4, 21), [2, 10, 9, 4]);
    const vars = layer.trainableWeights.map((w) => (w as unknown as { val: tf.Variable }).val);
    resetKernelCallCounts();
    const { value, grads } = tf.variableGrads(() => tf.sum(layer.apply(x) as tf.Tensor) as tf.Scalar, vars);
    expect(kernelCallCounts().gmrBackpropFilter).toBe(2);
    expect(kernelCallCounts().gmrRingSumsReused).toBe(2);
    tf.dispose([x, value, ...Object.values(grads)]);
    ['y', 'dx', 'dθ', 'dlogσ', 'dbias'].forEach((name, i) => expect(relErr(got[i]!, ref[i]!), name).toBeLessThan(1e-4));
    layer.disposeCaches();
  });

  // The CLI's GMR-CNN layers (packages/models/src/cnn.ts, widths 24/48/96) and the edges of the host fast paths
  // (native/host_ops.cc): per-class tap tables with zero padding, the one-channel padded image with its fused mixing
  // (Cout in 1, 2 or 4 vectors, or past 64 the plain loop; rows wider than 64 in two segments), positions no tap reaches,
  // ring sums of several images per tap list.
  const fastPathCases: OpCase[] = [
    { name: 'CNN 1→24 k9 28²', cin: 1, cout: 24, size: [28, 28], opts: { kernelSize: 9, padding: 'same' } },
    { name: 'CNN 24→48 k9 14²', cin: 24, cout: 48, size: [14, 14], opts: { kernelSize: 9, padding: 'same' } },
    { name: 'CNN 48→96 k5 7²', cin: 48, cout: 96, size: [7, 7], opts: { kernelSize: 5, padding: 'same' } },
    { name: '1→40 k5 9×70', cin: 1, cout: 40, size: [9, 70], opts: { kernelSize: 5, padding: 'same' } },
    // One vector of outputs, eight positions at a time and one left over per row.
    { name: '1→12 k5 6×9 batch 3', cin: 1, cout: 12, size: [6, 9], batch: 3, opts: { kernelSize: 5, padding: 'same' } },
    {
      name: '1→70 k3 replicate 6×5',
      cin: 1,
      cout: 70,
      size: [6, 5],
      opts: { kernelSize: 3, padding: 'same', paddingMode: 'replicate' },
    },
    { name: '6→5 k3 padding 3 on 4×4', cin: 6, cout: 5, size: [4, 4], opts: { kernelSize: 3, padding: 3 } },
    // The fused forward with Φ packed once per call (packBFull + gemmPackedB, which segfaulted for these two shapes
    // on an unaligned buffer), its wide tiles with masked last panels (70 = 48 + 16 + 6 columns, 20 = 16 + 4).
    { name: '48→16 k5 7²', cin: 48, cout: 16, size: [7, 7], opts: { kernelSize: 5, padding: 'same' } },
    { name: '24→96 k5 7²', cin: 24, cout: 96, size: [7, 7], opts: { kernelSize: 5, padding: 'same' } },
    {
      name: '24→70 k3 9×6 batch 3',
      cin: 24,
      cout: 70,
      size: [9, 6],
      batch: 3,
      opts: { kernelSize: 3, padding: 'same' },
    },
    { name: '8→20 k5 5×5 batch 6', cin: 8, cout: 20, size: [5, 5], batch: 6, opts: { kernelSize: 5, padding: 'same' } },
    // Ring sums four images at a time (then the rest), channels past 64 in two blocks, groups with stride 2.
    { name: '24→8 k5 batch 5', cin: 24, cout: 8, size: [6, 7], batch: 5, opts: { kernelSize: 5, padding: 'same' } },
    { name: '70→4 k3 batch 7', cin: 70, cout: 4, size: [5, 5], batch: 7, opts: { kernelSize: 3, padding: 'same' } },
    {
      name: '12→6 k5 groups 2 stride 2 batch 6',
      cin: 12,
      cout: 6,
      size: [9, 8],
      batch: 6,
      opts: { kernelSize: 5, padding: 1, strides: 2, groups: 2 },
    },
  ].map((c) => ({ rank: 2, gaussian: true, bias: true, ...c }) as OpCase);

  it.each(fastPathCases.map((c) => [c.name, c] as const))(
    '%s: native matches cpu at 1 and 2 threads, equal bits',
    async (_name, c) => {
      const ref = await runOpCase(c, 'cpu', { path: 'two-stage' });
      try {
        setNumThreads(1);
        const one = await runOpCase(c, 'native', { path: 'two-stage' });
        setNumThreads(2);
        const two = await runOpCase(c, 'native', { path: 'two-stage' });
        for (const [what, e] of Object.entries(opCaseErrors(one, ref)))
          expect(e, `${what} rel err ${e}`).toBeLessThan(1e-4);
        expect(Array.from(two.y)).toEqual(Array.from(one.y));
        for (const k of Object.keys(one.grads)) expect(Array.from(two.grads[k]!), k).toEqual(Array.from(one.grads[k]!));
      } finally {
        setNumThreads(2);
      }
    },
  );

  // The ring sums as row and column passes (RowColRings in native/host_ops.cc: stride 1 along the row, where they
  // need fewer vector operations than the gathers) straight from the addon against plain loops over the taps: ringSum,
  // the fused forward (local rows of R times Φᵀ) and the forward that keeps R, at 1 and 2 threads with equal bits.
  // Cases: the GMR-CNN's 24→48 layer, every padding mode on k9, dilation 2 with groups, 'valid' padding, stride 2
  // down the rows, more than 64 channels per group; the last one (k5 on 7 × 7) stays on the gathers.
  it.each([
    // [batch, cin, cout, k, H, W, groups, padMode, dilation, strideH, pad]
    [32, 24, 48, 9, 14, 14, 1, 0, 1, 1, 4],
    [3, 8, 5, 9, 12, 11, 1, 1, 1, 1, 4],
    [2, 6, 4, 9, 10, 13, 2, 2, 1, 1, 3],
    [2, 12, 6, 7, 15, 16, 3, 3, 2, 1, 6],
    [2, 16, 8, 9, 13, 17, 1, 0, 1, 1, 0],
    [3, 10, 4, 9, 19, 12, 1, 0, 1, 2, 4],
    [2, 80, 16, 9, 10, 10, 1, 0, 1, 1, 4],
    [4, 48, 96, 5, 7, 7, 1, 0, 1, 1, 2],
  ])(
    'ring sums %i×%i→%i k%i %i×%i groups %i pad mode %i dilation %i stride %i pad %i: row/column passes match the taps',
    (...c) => {
      const [B, cin, cout, k, H, W, groups, pm, dil, sh, pad] = c as number[];
      const { addon } = loadAddon('host');
      const { masks, numRings: n } = ringMasks([k!, k!]);
      const taps = ringTaps(masks, n, k!, k!);
      const span = (k! - 1) * dil! + 1;
      const oh = Math.floor((H! + 2 * pad! - span) / sh!) + 1,
        ow = W! + 2 * pad! - span + 1;
      const geom = Int32Array.from([B!, H!, W!, cin!, oh, ow, groups!, n, k!, k!, sh!, 1, dil!, dil!, pad!, pad!, pm!]);
      const cinG = cin! / groups!,
        coutG = cout! / groups!,
        kk = n * cinG,
        P = B! * oh * ow,
        rowLen = cin! * n;
      const map = (q: number, size: number) => {
        if (pm === 0) return q < 0 || q >= size ? -1 : q;
        if (pm === 1) {
          let r = Math.abs(q);
          if (r >= size) r = 2 * (size - 1) - r;
          return r;
        }
        if (pm === 2) return Math.min(size - 1, Math.max(0, q));
        return ((q % size) + size) % size;
      };
      const x = rand(B! * H! * W! * cin!, 51),
        phi = rand(cout! * kk, 52);
      const refR = new Float64Array(P * rowLen);
      for (let b = 0; b < B!; b++)
        for (let oy = 0; oy < oh; oy++)
          for (let ox = 0; ox < ow; ox++) {
            const p = (b * oh + oy) * ow + ox;
            for (let t = 0; t < taps.length; t += 4) {
              const iy = map(oy * sh! - pad! + taps[t]! * dil!, H!),
                ix = map(ox - pad! + taps[t + 1]! * dil!, W!);
              if (iy < 0 || ix < 0) continue;
              const r = taps[t + 2]!,
                w = taps[t + 3]!;
              for (let ci = 0; ci < cin!; ci++) {
                const grp = Math.floor(ci / cinG);
                refR[p * rowLen + (grp * n + r) * cinG + (ci % cinG)] += w * x[((b * H! + iy) * W! + ix) * cin! + ci]!;
              }
            }
          }
      // y[p, grp·coutG + o] = Σ_j R[p, grp·kk + j] · Φ[grp·coutG + o, j]
      const refY = new Float64Array(P * cout!);
      for (let p = 0; p < P; p++)
        for (let co = 0; co < cout!; co++) {
          const grp = Math.floor(co / coutG);
          let s = 0;
          for (let j = 0; j < kk; j++) s += refR[p * rowLen + grp * kk + j]! * phi[co * kk + j]!;
          refY[p * cout! + co] = s;
        }
      const before = addon!.info().threads;
      const got: Float32Array[][] = [];
      try {
        for (const threads of [1, 2]) {
          addon!.setThreads(threads);
          const r = new Float32Array(P * rowLen),
            y = new Float32Array(P * cout!),
            yKeep = new Float32Array(P * cout!),
            rKeep = new Float32Array(P * rowLen);
          addon!.ringSum(x, taps, geom, r);
          addon!.gmrForward(x, taps, geom, phi, cout!, y);
          addon!.gmrForwardKeep(x, taps, geom, phi, cout!, yKeep, rKeep);
          got.push([r, y, yKeep, rKeep]);
        }
      } finally {
        addon!.setThreads(before);
      }
      const [r, y, yKeep, rKeep] = got[0]!;
      expect(relErr(r!, Float32Array.from(refR))).toBeLessThan(1e-5);
      expect(relErr(y!, Float32Array.from(refY))).toBeLessThan(1e-5);
      expect(relErr(yKeep!, Float32Array.from(refY))).toBeLessThan(1e-5);
      expect(Array.from(rKeep!)).toEqual(Array.from(r!));
      for (let i = 0; i < 4; i++)
        expect(Array.from(got[1]![i]!), `output ${i} at 2 threads`).toEqual(Array.from(got[0]![i]!));
    },
  );

  // gmrFilterGrad (native/host_ops.cc) straight from the addon: the call on kept ring sums and the one that recomputes
  // them chunk by chunk from x (the forward kept none) give the same bits, at 1 and 2 threads, and match the plain
  // SGEMM dΦᵀ = dyᵀ·R. Cases: the GMR-CNN's layers (rank-1 updates for 5 rings, the packed SGEMM per chunk past 8
  // columns), groups with reflect padding, more than 64 output channels in the rank-1 path, stride 2 with circular
  // padding, and one-channel images tall enough for several chunks of rows.
  it.each([
    // [batch, cin, cout, k, H, W, groups, padMode, stride]
    [32, 1, 24, 9, 28, 28, 1, 0, 1],
    [32, 24, 48, 9, 14, 14, 1, 0, 1],
    [32, 48, 96, 5, 7, 7, 1, 0, 1],
    [3, 4, 6, 3, 9, 70, 2, 1, 1],
    [2, 1, 70, 3, 6, 5, 1, 2, 1],
    [5, 2, 3, 5, 11, 13, 1, 3, 2],
    [4, 1, 8, 5, 300, 9, 1, 0, 1],
  ])('gmrFilterGrad %i×(%i→%i) k%i %i×%i groups %i pad mode %i stride %i: from x = from R, any threads', (...c) => {
    const [B, cin, cout, k, H, W, groups, pm, s] = c as number[];
    const { addon } = loadAddon('host');
    const { masks, numRings: n } = ringMasks([k!, k!]);
    const taps = ringTaps(masks, n, k!, k!);
    const p = (k! - 1) >> 1;
    const oh = Math.floor((H! + 2 * p - k!) / s!) + 1,
      ow = Math.floor((W! + 2 * p - k!) / s!) + 1;
    const geom = Int32Array.from([B!, H!, W!, cin!, oh, ow, groups!, n, k!, k!, s!, s!, 1, 1, p, p, pm!]);
    const P = B! * oh * ow,
      cinG = cin! / groups!,
      coutG = cout! / groups!,
      kk = n * cinG;
    const x = rand(B! * H! * W! * cin!, 31),
      dy = rand(P * cout!, 32);
    const r = new Float32Array(P * cin! * n);
    addon!.ringSum(x, taps, geom, r);
    const dphiT = new Float32Array(cout! * kk),
      ref = new Float32Array(cout! * kk);
    for (let g = 0; g < groups!; g++)
      addon!.sgemm(
        true,
        false,
        coutG,
        kk,
        P,
        1,
        dy,
        g * coutG,
        cout!,
        r,
        g * kk,
        cin! * n,
        0,
        dphiT,
        g * coutG * kk,
        kk,
      );
    addon!.transpose(dphiT, Int32Array.from([cout!, n, cinG]), Int32Array.from([0, 2, 1]), ref);
    const got: Float32Array[] = [];
    const before = addon!.info().threads;
    try {
      for (const threads of [1, 2]) {
        addon!.setThreads(threads);
        const fromR = new Float32Array(cout! * kk),
          fromX = new Float32Array(cout! * kk);
        addon!.gmrFilterGrad(null, r, dy, taps, geom, cout!, fromR);
        addon!.gmrFilterGrad(x, null, dy, taps, geom, cout!, fromX);
        got.push(fromR, fromX);
      }
    } finally {
      addon!.setThreads(before);
    }
    expect(relErr(got[0]!, ref)).toBeLessThan(1e-5);
    for (const v of got.slice(1)) expect(Array.from(v)).toEqual(Array.from(got[0]!));
  });
});
