/**
 * The kernel seam (@gmr-conv/core/kernel): the padding-mode codes are the native header's, computeGMRConvInfo
 * agrees with tfjs's own computeConv2DInfo / computeConv3DInfo and with the shapes the op, the layers and the
 * exactness checker produce, Φ = θ·P is the product it names, and the backward kernel names follow the forward ones.
 */
import * as tfjs from '@tensorflow/tfjs';
import * as tf from '@tensorflow/tfjs-core';
import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  checkExactEquivariance,
  gaussianMatrix,
  GMRConv1D,
  GMRConv2D,
  GMRConv2DTranspose,
  GMRConv3D,
  gmrConv1d,
  gmrConv2d,
  gmrConv3d,
  gmrConvTranspose2d,
  type PaddingSpec,
} from '../src/index.js';
import {
  computeGMRConvInfo,
  forwardTensors,
  gmrKernelConfig,
  GMR_BACKPROP_KERNEL_NAMES,
  GMR_CONV_2D,
  GMR_KERNEL_NAMES,
  mixingWeights,
  PADDING_MODE_CODES,
  PADDING_MODES,
  type GMRConvAttrs,
} from '../src/kernel/index.js';

beforeAll(async () => {
  await tfjs.setBackend('cpu');
});

describe('padding-mode codes', () => {
  it("are the native header's PadMode enum (kernels-cuda native/gmr_common.h), mode for mode", () => {
    const header = readFileSync(new URL('../../kernels-cuda/native/gmr_common.h', import.meta.url), 'utf8');
    const body = /enum\s+PadMode\s*\{([^}]*)\}/.exec(header)?.[1];
    expect(body, 'gmr_common.h declares enum PadMode').toBeDefined();
    const native = Object.fromEntries(
      [...body!.matchAll(/PAD_([A-Z]+)\s*=\s*(\d+)/g)].map((m) => [m[1]!.toLowerCase(), Number(m[2])]),
    );
    expect(native).toEqual({ ...PADDING_MODE_CODES });
    expect(Object.keys(PADDING_MODE_CODES).sort()).toEqual([...PADDING_MODES].sort());
    expect(new Set(Object.values(PADDING_MODE_CODES)).size).toBe(PADDING_MODES.length);
  });
});

/** tfjs's explicit-padding form of a per-axis spec (NHWC / NDHWC). */
function tfjsPad(padding: PaddingSpec, rank: number): 'same' | 'valid' | number | [number, number][] {
  if (padding === 'same' || padding === 'valid' || typeof padding === 'number') return padding;
  const pairs = (padding as Array<number | [number, number]>).map(
    (p) => (typeof p === 'number' ? [p, p] : p) as [number, number],
  );
  return [[0, 0], ...pairs.slice(0, rank), [0, 0]];
}

describe('computeGMRConvInfo', () => {
  const paddings: PaddingSpec[] = [
    'valid',
    'same',
    1,
    2,
    [
      [0, 2],
      [1, 0],
    ],
  ];

  it("forward 2D: output size and pads equal tfjs's computeConv2DInfo for every padding, stride, dilation and size", () => {
    let compared = 0;
    for (const len of [5, 6, 8, 9])
      for (const k of [1, 3, 4, 5])
        for (const s of [1, 2, 3])
          for (const d of [1, 2])
            for (const padding of paddings) {
              const geometry = {
                kernelSize: [k, k],
                strides: [s, s],
                dilations: [d, d],
                padding,
                dataFormat: 'channelsLast' as const,
                groups: 1,
              };
              const info = computeGMRConvInfo([2, len, len + 1, 3], [4, 3, 2], geometry);
              if (info.outSpatial.some((o) => o < 1)) continue;
              // tfjs asserts stride 1 or dilation 1 for its own conv2d; its geometry helper has no such limit.
              const ref = tf.backend_util.computeConv2DInfo(
                [2, len, len + 1, 3],
                [k, k, 3, 4],
                [s, s],
                [d, d],
                tfjsPad(padding, 2) as 'same',
              );
              expect(info.outSpatial, JSON.stringify({ len, k, s, d, padding })).toEqual([ref.outHeight, ref.outWidth]);
              expect(info.pads).toEqual([
                [ref.padInfo.top, ref.padInfo.bottom],
                [ref.padInfo.left, ref.padInfo.right],
              ]);
              expect(info.outShape).toEqual([2, ref.outHeight, ref.outWidth, 4]);
              compared++;
            }
    expect(compared).toBeGreaterThan(300);
  });

  it("forward 3D, channelsFirst: equals tfjs's computeConv3DInfo; channels, groups and rings from the weight shape", () => {
    for (const padding of ['valid', 'same', 1] as PaddingSpec[])
      for (const s of [1, 2]) {
        const info = computeGMRConvInfo([1, 6, 7, 5, 8], [6, 3, 4], {
          kernelSize: [3, 3, 3],
          strides: [s, s, s],
          dilations: [1, 1, 1],
          padding,
          dataFormat: 'channelsFirst',
          groups: 2,
        });
        const ref = tf.backend_util.computeConv3DInfo(
          [1, 7, 5, 8, 6],
          [3, 3, 3, 6, 6],
          [s, s, s],
          [1, 1, 1],
          padding as 'same',
        );
        expect(info.outSpatial).toEqual([ref.outDepth, ref.outHeight, ref.outWidth]);
        expect(info.pads).toEqual([
          [ref.padInfo.front, ref.padInfo.back],
          [ref.padInfo.top, ref.padInfo.bottom],
          [ref.padInfo.left, ref.padInfo.right],
        ]);
        expect(info.outShape).toEqual([1, 6, ref.outDepth, ref.outHeight, ref.outWidth]);
        expect([
          info.inChannels,
          info.outChannels,
          info.inChannelsPerGroup,
          info.outChannelsPerGroup,
          info.numRings,
        ]).toEqual([6, 6, 3, 3, 4]);
      }
  });

  it("transposed 'same' gives L·s on every axis (tfjs semantics), also when the stride exceeds the kernel", () => {
    for (const [len, k, s] of [
      [5, 3, 2],
      [6, 5, 3],
      [4, 1, 3],
      [7, 3, 1],
    ])
      for (const d of [1, 2]) {
        const info = computeGMRConvInfo([1, len, len, 2], [2, 3, 2], {
          kernelSize: [k, k],
          strides: [s, s],
          dilations: [d, d],
          padding: 'same',
          dataFormat: 'channelsLast',
          groups: 1,
          transposed: true,
        });
        expect(info.outSpatial).toEqual([len * s, len * s]);
        // Resolved attrs (pads + outputPadding) give the same geometry again, as kernels see it.
        const again = computeGMRConvInfo([1, len, len, 2], [2, 3, 2], {
          ...info,
          pads: info.pads,
          outputPadding: info.outputPadding,
        });
        expect(again.outSpatial).toEqual(info.outSpatial);
      }
  });

  it('the op, the layers and the exactness checker produce the shapes it computes (1D, 2D, 3D, transposed)', () => {
    const cases: Array<{
      rank: 1 | 2 | 3;
      transposed?: boolean;
      k: number;
      s: number;
      d: number;
      padding: PaddingSpec;
      len: number;
      outputPadding?: number;
    }> = [
      { rank: 1, k: 5, s: 2, d: 1, padding: 'same', len: 9 },
      { rank: 2, k: 3, s: 2, d: 2, padding: 'valid', len: 10 },
      {
        rank: 2,
        k: 5,
        s: 3,
        d: 1,
        padding: [
          [1, 2],
          [2, 1],
        ],
        len: 11,
      },
      { rank: 2, k: 3, s: 2, d: 1, padding: 'same', len: 8 },
      { rank: 3, k: 3, s: 2, d: 1, padding: 1, len: 5 },
      { rank: 2, transposed: true, k: 3, s: 2, d: 1, padding: 1, len: 5, outputPadding: 1 },
      { rank: 2, transposed: true, k: 5, s: 2, d: 1, padding: 'same', len: 4 },
      { rank: 2, transposed: true, k: 3, s: 3, d: 2, padding: 'valid', len: 4 },
    ];
    const ops = { 1: gmrConv1d, 2: gmrConv2d, 3: gmrConv3d };
    const layers = { 1: GMRConv1D, 2: GMRConv2D, 3: GMRConv3D };
    // The op keeps one ring-mask tensor per geometry (indexMatFor): count tensors from the second pass on.
    let before = 0;
    for (const pass of [0, 1]) {
      if (pass === 1) before = tf.memory().numTensors;
      for (const c of cases) {
        const label = JSON.stringify(c);
        const xShape = [1, ...new Array(c.rank).fill(c.len), 2];
        const weightShape = c.transposed ? [2, 3, 2] : [3, 2, 2];
        const nd = new Array(c.rank);
        const args = {
          kernelSize: nd.fill(c.k),
          strides: new Array(c.rank).fill(c.s),
          dilations: new Array(c.rank).fill(c.d),
          padding: c.padding,
        };
        const info = computeGMRConvInfo(xShape, weightShape, {
          ...args,
          dataFormat: 'channelsLast',
          groups: 1,
          transposed: c.transposed,
          outputPadding: new Array(c.rank).fill(c.outputPadding ?? 0),
        });
        tf.tidy(() => {
          const x = tf.ones(xShape);
          const weight = tf.ones(weightShape);
          const opts = { ...args, numRings: 2, outputPadding: c.outputPadding };
          const y = c.transposed ? gmrConvTranspose2d(x, { weight }, opts) : ops[c.rank](x, { weight }, opts);
          expect(y.shape, label).toEqual(info.outShape);
        });
        const layerArgs = {
          filters: 3,
          kernelSize: c.k,
          strides: c.s,
          dilationRate: c.d,
          padding: c.padding,
          numRings: 2,
          outputPadding: c.outputPadding,
        };
        const layer = c.transposed ? new GMRConv2DTranspose(layerArgs) : new layers[c.rank](layerArgs);
        expect(layer.computeOutputShape(xShape), label).toEqual(info.outShape);
        const spec = {
          type: c.transposed ? ('gmrConvTranspose' as const) : ('gmrConv' as const),
          kernelSize: c.k,
          strides: c.s,
          dilation: c.d,
          padding: c.padding,
          outputPadding: c.outputPadding,
        };
        expect(checkExactEquivariance([spec], new Array(c.rank).fill(c.len)).outputSize, label).toEqual(
          info.outSpatial,
        );
      }
    }
    expect(tf.memory().numTensors - before).toBe(0);
  });
});

describe('mixing weights', () => {
  it('Φ = θ·P entry by entry (P = gaussianMatrix with the clip), θ itself without log σ', () => {
    const before = tf.memory().numTensors;
    const theta = tf.randomNormal([3, 2, 4], 0, 1, 'float32', 7);
    const logSigmas = tf.tensor1d([-0.5, 0.1, 0.4, 2.5]);
    const clip = { clipSigma: true, sigmaMin: 0.01, sigmaMax: 8 };
    const phi = mixingWeights(theta, logSigmas, clip);
    const [t, p, f] = [theta.dataSync(), gaussianMatrix(logSigmas, clip).arraySync() as number[][], phi.dataSync()];
    for (let oc = 0; oc < 6; oc++)
      for (let l = 0; l < 4; l++) {
        let acc = 0;
        for (let i = 0; i < 4; i++) acc += t[oc * 4 + i]! * p[i]![l]!;
        expect(f[oc * 4 + l]).toBeCloseTo(acc, 5);
      }
    expect(phi.shape).toEqual([3, 2, 4]);
    expect(mixingWeights(theta, null, clip)).toBe(theta);
    tf.dispose([theta, logSigmas, phi]);
    // gaussianMatrix above was not disposed: one tensor from the test itself, none from mixingWeights.
    expect(tf.memory().numTensors - before).toBe(1);
  });
});

describe('kernel names and typed configs', () => {
  it('each forward name with a backward pair names it <name>BackpropInput / <name>BackpropFilter; the transposed op has none', () => {
    for (const name of GMR_KERNEL_NAMES) {
      const pair = GMR_BACKPROP_KERNEL_NAMES[name];
      if (name === 'GMRConv2DTranspose') expect(pair).toBeUndefined();
      else expect(pair).toEqual({ input: `${name}BackpropInput`, filter: `${name}BackpropFilter` });
    }
  });

  it('gmrKernelConfig registers a typed kernel that receives the op tensors by name; forwardTensors gives null for absent inputs', () => {
    let seen: ReturnType<typeof forwardTensors> | null = null;
    const config = gmrKernelConfig(GMR_CONV_2D, 'seam-test', ({ inputs, attrs }) => {
      seen = forwardTensors(inputs, attrs);
      return inputs.x;
    });
    expect(config.kernelName).toBe('GMRConv2D');
    expect(config.backendName).toBe('seam-test');
    const x = tf.ones([1, 3, 3, 1]);
    const empty = tf.zeros([0]);
    const attrs = { hasLogSigmas: false, hasBias: false } as GMRConvAttrs;
    config.kernelFunc({
      inputs: { x, weight: x, logSigmas: empty, indexMat: x, bias: empty },
      backend: null as never,
      attrs: attrs as never,
    });
    expect(seen).toEqual({ x, weight: x, logSigmas: null, indexMat: x, bias: null });
    tf.dispose([x, empty]);
  });
});
