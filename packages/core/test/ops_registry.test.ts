/**
 * Kernel registry: the composed kernel is registered as the default on first use;
 * a "foreign" kernel registered by a kernel package takes over (forward and, via
 * core's registered gradient, backward); optional BackpropInput / BackpropFilter
 * pieces are used when both are registered. The registry is restored afterwards.
 */
import '@tensorflow/tfjs';
import * as tf from '@tensorflow/tfjs-core';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { gmrConv2d, gmrConvTranspose2d } from '../src/index.js';
import {
  GMR_CONV_2D,
  GMR_CONV_2D_BACKPROP_FILTER,
  GMR_CONV_2D_BACKPROP_INPUT,
  GMR_CONV_2D_TRANSPOSE,
  gmrConvComposed,
  usesComposedKernel,
  type GMRConvAttrs,
} from '../src/kernel/index.js';
import { prepareGMRConv } from '../src/ops/gmr_conv_ops.js';
import { padWithMode } from '../src/kernel/composed/pad_ops.js';
import { ringFilter } from '../src/kernel/composed/ring_filter.js';
import {
  type CaseSpec,
  type TfParams,
  caseTensors,
  makeCase,
  randnArray,
  referenceOutput,
  relErr,
  runCase,
} from './helpers/gmr_reference.js';

const BACKEND = 'cpu';

beforeAll(async () => {
  await tf.setBackend(BACKEND);
});

/** Registry entries this file changes, restored after every test. */
const touched = new Map<string, tf.KernelConfig | undefined>();
function replaceKernel(name: string, kernelFunc: tf.KernelFunc) {
  if (!touched.has(name)) touched.set(name, tf.getKernel(name, BACKEND));
  if (tf.getKernel(name, BACKEND)) tf.unregisterKernel(name, BACKEND);
  tf.registerKernel({ kernelName: name, backendName: BACKEND, kernelFunc });
}
afterEach(() => {
  for (const [name, original] of touched) {
    if (tf.getKernel(name, BACKEND)) tf.unregisterKernel(name, BACKEND);
    if (original) tf.registerKernel(original);
  }
  touched.clear();
});

/** Kernel inputs always carry five names; absent logSigmas / bias are empty tensors (attrs.hasLogSigmas / hasBias). */
function unpackNamed(inputs: tf.NamedTensorInfoMap, attrs?: tf.NamedAttrMap) {
  const i = inputs as unknown as tf.NamedTensorMap;
  const a = (attrs ?? {}) as unknown as Partial<GMRConvAttrs>;
  const present = (t: tf.Tensor | undefined, flag: boolean | undefined) => (t && (flag ?? t.size > 0) ? t : null);
  return {
    x: i.x,
    weight: i.weight,
    logSigmas: present(i.logSigmas, a.hasLogSigmas),
    indexMat: i.indexMat,
    bias: present(i.bias, a.hasBias),
  };
}

const names = ['x', 'weight', 'logSigmas', 'bias', 'indexMat'] as const;

/** y and the gradients of sum(y·R) w.r.t. every parameter present. */
function forwardAndGrads(spec: CaseSpec, path: 'two-stage' | 'dense', extra: Record<string, unknown> = {}) {
  const c = makeCase(spec);
  const t = caseTensors(c);
  const p: TfParams = { x: t.x, weight: t.weight, logSigmas: t.logSigmas, bias: t.bias, indexMat: t.indexMat };
  const present = names.filter((n) => p[n] != null);
  const y = runCase(c, p, path, extra);
  const R = tf.tensor(randnArray(y.size, 99), y.shape);
  const gs = tf.grads((...vals: tf.Tensor[]) => {
    const q = { ...p };
    present.forEach((n, i) => ((q as unknown as Record<string, tf.Tensor>)[n] = vals[i]));
    return tf.sum(tf.mul(runCase(c, q, path, extra), R));
  })(present.map((n) => p[n]!));
  const out = {
    y: y.dataSync().slice(),
    grads: new Map(present.map((n, i) => [n, gs[i].dataSync().slice()])),
    ref: referenceOutput(c),
  };
  tf.dispose([y, R, ...gs, ...(Object.values(t).filter(Boolean) as tf.Tensor[])]);
  return out;
}

const spec2d: CaseSpec = {
  rank: 2,
  cin: 4,
  cout: 6,
  spatial: [9, 8],
  kernelSize: 5,
  strides: 2,
  padding: 2,
  groups: 2,
  bias: true,
  dataFormat: 'channelsFirst',
};
const specs2d: CaseSpec[] = [
  spec2d,
  { rank: 2, cin: 2, cout: 3, spatial: [7, 7], kernelSize: 3, padding: 1, paddingMode: 'reflect', bias: true },
  {
    rank: 2,
    cin: 2,
    cout: 2,
    spatial: [8, 9],
    kernelSize: 3,
    strides: 2,
    dilations: 2,
    padding: 'same',
    rings: 'binary',
  },
];

describe('(a) default registration', () => {
  it('after a call on cpu, GMRConv2D is registered (the composed kernel)', () => {
    const y = gmrConv2d(tf.ones([1, 5, 5, 2]), { weight: tf.ones([3, 2, 2]) }, { kernelSize: 3 });
    y.dispose();
    expect(tf.getKernel(GMR_CONV_2D, BACKEND)).toBeDefined();
    expect(usesComposedKernel(GMR_CONV_2D, BACKEND)).toBe(true);
    // Core's gradient is registered for every GMR kernel name.
    expect(tf.getGradient(GMR_CONV_2D)).toBeDefined();
    expect(tf.getGradient(GMR_CONV_2D_TRANSPOSE)).toBeDefined();
  });
  it('runKernel on the default kernel gives the composed numbers', () => {
    const c = makeCase(spec2d);
    const t = caseTensors(c);
    const { tensors, attrs } = prepareGMRConv(
      2,
      false,
      t.x,
      { weight: t.weight, logSigmas: t.logSigmas, bias: t.bias },
      { kernelSize: 5, strides: 2, padding: 2, groups: 2, dataFormat: 'channelsFirst', path: 'dense' },
    );
    const inputs: tf.NamedTensorMap = {
      x: tensors.x,
      weight: tensors.weight,
      logSigmas: tensors.logSigmas!,
      indexMat: tensors.indexMat,
      bias: tensors.bias!,
    };
    const viaKernel = tf.engine().runKernel(GMR_CONV_2D, inputs, attrs as unknown as tf.NamedAttrMap) as tf.Tensor;
    expect(relErr(viaKernel.dataSync(), referenceOutput(c).data)).toBeLessThanOrEqual(1e-5);
    tf.dispose([viaKernel, ...(Object.values(t).filter(Boolean) as tf.Tensor[])]);
  });
});

describe('(b) a foreign forward kernel', () => {
  it.each(specs2d.map((s, i) => [i, s] as const))(
    'case %i: the op routes to it; output and gradients equal the composed ones',
    (_i, spec) => {
      for (const path of ['two-stage', 'dense'] as const) {
        const expected = forwardAndGrads(spec, path); // default composed kernel
        let calls = 0;
        const seenAttrs: GMRConvAttrs[] = [];
        replaceKernel(GMR_CONV_2D, ({ inputs, attrs }) => {
          calls++;
          seenAttrs.push(attrs as unknown as GMRConvAttrs);
          return gmrConvComposed(
            unpackNamed(inputs, attrs),
            attrs as unknown as GMRConvAttrs,
          ) as unknown as tf.TensorInfo;
        });
        expect(usesComposedKernel(GMR_CONV_2D, BACKEND)).toBe(false);
        const got = forwardAndGrads(spec, path);
        // One forward call for y, one inside tf.grads.
        expect(calls).toBe(2);
        expect(seenAttrs[0].path).toBe(path);
        expect(seenAttrs[0].kernelSize).toEqual([spec.kernelSize, spec.kernelSize]);
        expect(relErr(got.y, expected.y)).toBeLessThanOrEqual(1e-6);
        expect(relErr(got.y, got.ref.data)).toBeLessThanOrEqual(1e-5);
        for (const [n, g] of expected.grads)
          expect(relErr(got.grads.get(n)!, g), `${path} grad ${n}`).toBeLessThanOrEqual(1e-5);
        // Restore for the next path.
        for (const [name, original] of touched) {
          tf.unregisterKernel(name, BACKEND);
          if (original) tf.registerKernel(original);
        }
        touched.clear();
        expect(usesComposedKernel(GMR_CONV_2D, BACKEND)).toBe(true);
      }
    },
  );

  it('the transposed op routes to a foreign GMRConv2DTranspose too', () => {
    const spec: CaseSpec = {
      rank: 2,
      transposed: true,
      cin: 4,
      cout: 4,
      spatial: [4, 5],
      kernelSize: 3,
      strides: 2,
      padding: 1,
      outputPadding: 1,
      groups: 2,
      bias: true,
    };
    gmrConvTranspose2d(tf.ones([1, 3, 3, 4]), { weight: tf.ones([4, 2, 2]) }, { kernelSize: 3 }).dispose(); // registers the default
    const expected = forwardAndGrads(spec, 'dense');
    let calls = 0;
    replaceKernel(GMR_CONV_2D_TRANSPOSE, ({ inputs, attrs }) => {
      calls++;
      return gmrConvComposed(unpackNamed(inputs, attrs), attrs as unknown as GMRConvAttrs) as unknown as tf.TensorInfo;
    });
    const got = forwardAndGrads(spec, 'dense');
    expect(calls).toBe(2);
    expect(relErr(got.y, got.ref.data)).toBeLessThanOrEqual(1e-5);
    for (const [n, g] of expected.grads) expect(relErr(got.grads.get(n)!, g), n).toBeLessThanOrEqual(1e-5);
  });

  it('forward + backward through the foreign kernel leaks no tensors', () => {
    replaceKernel(
      GMR_CONV_2D,
      ({ inputs, attrs }) =>
        gmrConvComposed(unpackNamed(inputs, attrs), attrs as unknown as GMRConvAttrs) as unknown as tf.TensorInfo,
    );
    const c = makeCase(spec2d);
    const t = caseTensors(c);
    const p: TfParams = { x: t.x, weight: t.weight, logSigmas: t.logSigmas, bias: t.bias, indexMat: t.indexMat };
    const step = () => {
      const gs = tf.tidy(() =>
        tf.grads((x: tf.Tensor, w: tf.Tensor, s: tf.Tensor) =>
          tf.sum(runCase(c, { ...p, x, weight: w, logSigmas: s }, 'two-stage')),
        )([p.x, p.weight, p.logSigmas!]),
      );
      tf.dispose(gs);
    };
    step();
    const before = tf.memory().numTensors;
    for (let i = 0; i < 20; i++) step();
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose(Object.values(t).filter(Boolean) as tf.Tensor[]);
  });
});

/**
 * Fake backward pieces computed without autodiff:
 *  dx = the transposed GMR conv of dy with the same ring weights (zeros padding),
 *  dΦ[o, c, r] = Σ dy[o] · (x_c ⋆ M_r): ring sums of the (mode-padded) input, one matmul per group.
 * NOTE: the BackpropInput contract passes no input shape; with stride > 1 the input size is
 * ambiguous (e.g. H = 7 and H = 8 give the same output for k = 3, stride 2, padding 0),
 * so this fake reads the expected input shape from `state.xShape`.
 */
function registerFakeBackprop(state: { xShape: number[]; dxCalls: number; dPhiCalls: number }) {
  replaceKernel(GMR_CONV_2D_BACKPROP_INPUT, ({ inputs, attrs }) => {
    state.dxCalls++;
    const a = attrs as unknown as GMRConvAttrs;
    const i = inputs as unknown as tf.NamedTensorMap;
    if (a.paddingMode !== 'zeros') throw new Error('fake BackpropInput: zeros padding only');
    const spatialIn = a.dataFormat === 'channelsFirst' ? state.xShape.slice(2) : state.xShape.slice(1, 3);
    const spatialOut = a.dataFormat === 'channelsFirst' ? i.dy.shape.slice(2) : i.dy.shape.slice(1, 3);
    const outputPadding = spatialIn.map(
      (len, k) =>
        len -
        ((spatialOut[k] - 1) * a.strides[k] - a.pads[k][0] - a.pads[k][1] + a.dilations[k] * (a.kernelSize[k] - 1) + 1),
    );
    const tAttrs: GMRConvAttrs = { ...a, transposed: true, outputPadding, hasBias: false };
    return gmrConvComposed(
      {
        x: i.dy,
        weight: i.weight,
        logSigmas: i.logSigmas && i.logSigmas.size > 0 ? i.logSigmas : null,
        indexMat: i.indexMat,
        bias: null,
      },
      tAttrs,
    ) as unknown as tf.TensorInfo;
  });
  replaceKernel(GMR_CONV_2D_BACKPROP_FILTER, ({ inputs, attrs }) => {
    state.dPhiCalls++;
    const a = attrs as unknown as GMRConvAttrs;
    const i = inputs as unknown as tf.NamedTensorMap;
    return tf.tidy(() => {
      const cl = (v: tf.Tensor) => (a.dataFormat === 'channelsFirst' ? tf.transpose(v, [0, 2, 3, 1]) : v);
      let x = cl(i.x);
      const dy = cl(i.dy);
      let pads = a.pads;
      if (a.paddingMode !== 'zeros') {
        x = padWithMode(x, [1, 2], a.pads, a.paddingMode);
        pads = [
          [0, 0],
          [0, 0],
        ];
      }
      const { z } = ringFilter(x, i.indexMat as tf.Tensor2D, a.kernelSize, {
        strides: a.strides,
        dilations: a.dilations,
        pads,
      });
      const cin = x.shape[3] as number;
      const cout = dy.shape[3] as number;
      const n = i.indexMat.shape[0] as number;
      const g = a.groups;
      const dy2 = tf.reshape(dy, [-1, cout]);
      const parts: tf.Tensor[] = [];
      for (let k = 0; k < g; k++) {
        const zg = tf.slice(z, [0, (k * cin * n) / g], [-1, (cin * n) / g]);
        const dyg = tf.slice(dy2, [0, (k * cout) / g], [-1, cout / g]);
        parts.push(tf.reshape(tf.matMul(dyg, zg, true, false), [cout / g, cin / g, n]));
      }
      return tf.concat(parts, 0);
    }) as unknown as tf.TensorInfo;
  });
}

describe('(c) foreign BackpropInput / BackpropFilter pieces', () => {
  const pieceSpecs: CaseSpec[] = [
    spec2d,
    {
      rank: 2,
      cin: 2,
      cout: 3,
      spatial: [7, 8],
      kernelSize: 3,
      strides: 2,
      dilations: 2,
      padding: [
        [1, 2],
        [2, 1],
      ],
      bias: true,
    },
    { rank: 2, cin: 2, cout: 2, spatial: [7, 7], kernelSize: 5, padding: 2, rings: 'binary' },
    { rank: 2, cin: 3, cout: 6, spatial: [8, 7], kernelSize: 3, padding: 'same', strides: 2, groups: 3, bias: true },
  ];
  it.each(pieceSpecs.map((s, i) => [i, s] as const))(
    'case %i: used by the gradient, which still matches the composed one',
    (_i, spec) => {
      for (const path of ['two-stage', 'dense'] as const) {
        const expected = forwardAndGrads(spec, path);
        const c = makeCase(spec);
        const state = { xShape: c.xShape, dxCalls: 0, dPhiCalls: 0 };
        let forwardCalls = 0;
        replaceKernel(GMR_CONV_2D, ({ inputs, attrs }) => {
          forwardCalls++;
          return gmrConvComposed(
            unpackNamed(inputs, attrs),
            attrs as unknown as GMRConvAttrs,
          ) as unknown as tf.TensorInfo;
        });
        registerFakeBackprop(state);
        const got = forwardAndGrads(spec, path);
        expect(forwardCalls).toBe(2);
        expect(state.dxCalls, 'BackpropInput used').toBe(1);
        expect(state.dPhiCalls, 'BackpropFilter used').toBe(1);
        expect(relErr(got.y, expected.y)).toBeLessThanOrEqual(1e-6);
        for (const n of ['x', 'weight', 'logSigmas', 'bias'] as const) {
          if (!expected.grads.has(n)) continue;
          expect(relErr(got.grads.get(n)!, expected.grads.get(n)!), `${path} grad ${n}`).toBeLessThanOrEqual(1e-4);
        }
        // The pieces cannot produce an index-matrix gradient: it is zero unless trainIndexMat is set.
        expect(Array.from(got.grads.get('indexMat')!).every((v) => v === 0)).toBe(true);
        for (const [name, original] of touched) {
          tf.unregisterKernel(name, BACKEND);
          if (original) tf.registerKernel(original);
        }
        touched.clear();
      }
    },
  );

  it('with trainIndexMat the pieces are bypassed and the index-matrix gradient is the composed one', () => {
    const expected = forwardAndGrads(spec2d, 'two-stage', { trainIndexMat: true });
    const state = { xShape: makeCase(spec2d).xShape, dxCalls: 0, dPhiCalls: 0 };
    replaceKernel(
      GMR_CONV_2D,
      ({ inputs, attrs }) =>
        gmrConvComposed(unpackNamed(inputs, attrs), attrs as unknown as GMRConvAttrs) as unknown as tf.TensorInfo,
    );
    registerFakeBackprop(state);
    const got = forwardAndGrads(spec2d, 'two-stage', { trainIndexMat: true });
    expect(state.dxCalls + state.dPhiCalls).toBe(0);
    for (const [n, g] of expected.grads) expect(relErr(got.grads.get(n)!, g), n).toBeLessThanOrEqual(1e-5);
    expect(Array.from(got.grads.get('indexMat')!).some((v) => v !== 0)).toBe(true);
  });

  it('only one of the two pieces registered: not used', () => {
    const expected = forwardAndGrads(spec2d, 'dense');
    const state = { xShape: makeCase(spec2d).xShape, dxCalls: 0, dPhiCalls: 0 };
    replaceKernel(
      GMR_CONV_2D,
      ({ inputs, attrs }) =>
        gmrConvComposed(unpackNamed(inputs, attrs), attrs as unknown as GMRConvAttrs) as unknown as tf.TensorInfo,
    );
    registerFakeBackprop(state);
    tf.unregisterKernel(GMR_CONV_2D_BACKPROP_FILTER, BACKEND);
    const got = forwardAndGrads(spec2d, 'dense');
    expect(state.dxCalls).toBe(0);
    for (const [n, g] of expected.grads) expect(relErr(got.grads.get(n)!, g), n).toBeLessThanOrEqual(1e-5);
  });

  it('the registry is restored after the tests above', () => {
    expect(usesComposedKernel(GMR_CONV_2D, BACKEND)).toBe(true);
    expect(tf.getKernel(GMR_CONV_2D_BACKPROP_INPUT, BACKEND)).toBeUndefined();
    expect(tf.getKernel(GMR_CONV_2D_BACKPROP_FILTER, BACKEND)).toBeUndefined();
  });
});
