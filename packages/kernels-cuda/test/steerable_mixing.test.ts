/**
 * The steerable mixing-weight kernels (GMRSteerableMixingWeights / GMRSteerableMixingWeightsGrad) against core's
 * composed placement on cpu: the op weights W and the gradients for θ and log σ over several field layouts, kernel
 * sizes, binary rings and clipped σ; a steerable layer's full training gradients through them; the kernel counts of a
 * training step; no leaked tensors.
 */
import { describe, expect, it } from 'vitest';
import { fieldChannels, GMRSteerableConv2D, type Fields } from '@gmr-conv/core';
import { STEERABLE_MIXING_WEIGHTS, STEERABLE_MIXING_WEIGHTS_GRAD } from '@gmr-conv/core/kernel';
import { kernelCallCounts, resetKernelCallCounts } from '../src/index.js';
import { on, rand, relErr, tf } from './helpers.js';
import { expectNoLeaks } from './leak_check.js';

type Vars = { val: tf.Variable };

/** A rings-path layer with θ (and log σ) set from `seed`; log σ given explicitly where a case clips. */
function layerOf(inputFields: Fields, fields: Fields, k: number, seed: number, opts: Record<string, unknown> = {}) {
  const layer = new GMRSteerableConv2D({ fields, inputFields, kernelSize: k, path: 'rings', ...opts });
  layer.build([1, 12, 12, fieldChannels(inputFields)]);
  const values = layer.getWeights().map((w, i) => rand(w.size, seed + i));
  return { layer, values };
}

function setWeights(layer: GMRSteerableConv2D, values: Float32Array[], logSigmas?: number[]) {
  layer.setWeights(
    values.map((v, i) => {
      const shape = layer.weights[i]!.shape as number[];
      const isLogSigma = layer.weights[i]!.name.includes('log_sigmas');
      if (!isLogSigma) return tf.tensor(v, shape);
      return tf.tensor(logSigmas ? Float32Array.from(logSigmas) : v.map((x) => 0.4 * x), shape);
    }),
  );
}

const layouts: [Fields, Fields][] = [
  [
    [1, 1, 1],
    [1, 1, 1],
  ],
  [
    [2, 0, 1],
    [1, 1, 1],
  ],
  [
    [1, 1, 1],
    [0, 2, 0],
  ],
  [
    [0, 2, 0],
    [2, 0, 1],
  ],
  [
    [2, 0, 1],
    [0, 2, 0],
  ],
];

describe('GMRSteerableMixingWeights on native', () => {
  const cases: [string, Fields, Fields, number, Record<string, unknown>, ((n: number) => number[]) | undefined][] = [];
  for (const [inF, outF] of layouts)
    for (const k of [5, 9]) cases.push([`[${inF}] → [${outF}], k ${k}`, inF, outF, k, {}, undefined]);
  cases.push([
    'binary rings, [1, 1, 1] → [2, 0, 1], k 5',
    [1, 1, 1],
    [2, 0, 1],
    5,
    { gaussianMixtureRing: false },
    undefined,
  ]);
  // exp(-6) < 1e-2 and exp(3.5) > 2·n: ring 0 and ring 2 clipped, so their d(log σ) is 0
  cases.push([
    'σ clipped at both ends, [1, 1, 1] → [1, 1, 1], k 9',
    [1, 1, 1],
    [1, 1, 1],
    9,
    {},
    (n) => Array.from({ length: n }, (_, j) => (j === 0 ? -6 : j === 2 ? 3.5 : 0.3 - 0.1 * j)),
  ]);
  cases.push([
    'clipping off, [2, 0, 1] → [1, 1, 1], k 5',
    [2, 0, 1],
    [1, 1, 1],
    5,
    { clipSigma: false },
    (n) => Array.from({ length: n }, (_, j) => (j === 0 ? -6 : 0.2 * j)),
  ]);

  cases.forEach(([what, inF, outF, k, opts, logSigmas], c) => {
    it(`${what}: W, dθ and d(log σ) match the composed form on cpu`, async () => {
      const { layer, values } = layerOf(inF, outF, k, 300 + 10 * c, opts);
      const f = () => {
        const n = layer.weights[0]!.shape[2]!;
        setWeights(layer, values, logSigmas?.(n));
        const w = layer.mixingWeights();
        const r = tf.tensor(rand(w.size, 90 + c), w.shape);
        const vars = layer.trainableWeights
          .map((v) => (v as unknown as Vars).val)
          .filter((v) => !v.name.includes('bias'));
        const { grads } = tf.variableGrads(() => tf.sum(tf.mul(layer.mixingWeights(), r)) as tf.Scalar, vars);
        return [w, ...vars.map((v) => grads[v.name]!)];
      };
      const ref = await on('cpu', f);
      resetKernelCallCounts();
      const got = await on('native', f);
      expect(kernelCallCounts()[STEERABLE_MIXING_WEIGHTS], 'the kernel ran').toBe(2);
      expect(kernelCallCounts()[STEERABLE_MIXING_WEIGHTS_GRAD], 'the gradient kernel ran').toBe(1);
      const binary = opts.gaussianMixtureRing === false;
      expect(got.length).toBe(binary ? 2 : 3);
      ['W', 'dθ', 'd(log σ)'].slice(0, got.length).forEach((name, i) => {
        expect(got[i]!.length, name).toBe(ref[i]!.length);
        expect(relErr(got[i]!, ref[i]!), name).toBeLessThan(1e-5);
      });
      if (what.includes('clipped')) {
        expect(got[2]![0]).toBe(0);
        expect(got[2]![2]).toBe(0);
        expect(ref[2]![0]).toBe(0);
        expect(Math.abs(got[2]![1]!)).toBeGreaterThan(0);
      }
      if (what.includes('clipping off')) expect(Math.abs(got[2]![0]!)).toBeGreaterThan(0);
      layer.disposeCaches();
    });
  });

  for (const [inF, outF, k] of [
    [[2, 0, 1], [1, 1, 1], 5],
    [[1, 1, 1], [0, 2, 0], 9],
  ] as [Fields, Fields, number][])
    it(`a steerable layer's training gradients (x, θ, log σ, bias) match cpu: [${inF}] → [${outF}], k ${k}`, async () => {
      const { layer, values } = layerOf(inF, outF, k, 400, { biasInitializer: 'randomNormal' });
      const [cin, cout] = [fieldChannels(inF), fieldChannels(outF)];
      const f = () => {
        setWeights(layer, values);
        const x = tf.tensor(rand(2 * 11 * 10 * cin, 41), [2, 11, 10, cin]);
        const r = tf.tensor(rand(2 * 11 * 10 * cout, 42), [2, 11, 10, cout]);
        const vars = layer.trainableWeights.map((v) => (v as unknown as Vars).val);
        const loss = () => tf.sum(tf.mul(layer.apply(x, { training: true }) as tf.Tensor, r)) as tf.Scalar;
        const { value, grads } = tf.variableGrads(loss, vars);
        const dx = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(layer.apply(t, { training: true }) as tf.Tensor, r)))(x);
        return [value, dx, ...vars.map((v) => grads[v.name]!)];
      };
      const ref = await on('cpu', f);
      resetKernelCallCounts();
      const got = await on('native', f);
      expect(kernelCallCounts()[STEERABLE_MIXING_WEIGHTS_GRAD] ?? 0).toBeGreaterThan(0);
      expect(got.length).toBe(ref.length);
      ['loss', 'dx', 'dθ', 'dlogσ', 'dbias']
        .slice(0, got.length)
        .forEach((name, i) => expect(relErr(got[i]!, ref[i]!), name).toBeLessThan(1e-4));
      layer.disposeCaches();
    });

  it('one kernel each way per layer in a training step: no composed placement ops on the tape', async () => {
    await tf.setBackend('native');
    const { layer, values } = layerOf([1, 1, 1], [2, 1, 1], 5, 500);
    setWeights(layer, values);
    const vars = layer.trainableWeights.map((v) => (v as unknown as Vars).val);
    const x = tf.tensor(rand(1 * 8 * 8 * 5, 51), [1, 8, 8, 5]);
    const profile = await tf.profile(() => {
      const { value, grads } = tf.variableGrads(
        () => tf.sum(layer.apply(x, { training: true }) as tf.Tensor) as tf.Scalar,
        vars,
      );
      tf.dispose([value, ...Object.values(grads)]);
    });
    const names = profile.kernels.map((k) => k.name);
    expect(names.filter((n) => n === STEERABLE_MIXING_WEIGHTS).length).toBe(1);
    expect(names.filter((n) => n === STEERABLE_MIXING_WEIGHTS_GRAD).length).toBe(1);
    // the composed form's P (Exp, RealDiv, ClipByValue) and its one-hot products are gone
    expect(names.filter((n) => ['Exp', 'ClipByValue', 'BatchMatMul'].includes(n))).toEqual([]);
    x.dispose();
    layer.disposeCaches();
  });

  it('leaks no tensors', async () => {
    await tf.setBackend('native');
    for (const opts of [{}, { gaussianMixtureRing: false }]) {
      const { layer, values } = layerOf([2, 0, 1], [1, 1, 1], 5, 600, opts);
      setWeights(layer, values);
      const vars = layer.trainableWeights
        .map((v) => (v as unknown as Vars).val)
        .filter((v) => !v.name.includes('bias'));
      layer.mixingWeights().dispose(); // the fixed tables are built once, outside the check
      expectNoLeaks(() => {
        const { value, grads } = tf.variableGrads(() => tf.sum(layer.mixingWeights()) as tf.Scalar, vars);
        tf.dispose([value, ...Object.values(grads)]);
      }, 5);
      layer.disposeCaches();
    }
  });
});
