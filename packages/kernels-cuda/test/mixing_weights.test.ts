/**
 * The mixing-weight kernels (GMRMixingWeights / GMRMixingWeightsGrad) against core's composed Φ = θ·P on cpu: Φ, dθ
 * and d(log σ), with σ inside and outside the clip range, clipping off, and a GMR layer's full gradient through them;
 * no leaked tensors.
 */
import { describe, expect, it } from 'vitest';
import { GMRConv2D } from '@gmr-conv/core';
import { GMR_MIXING_WEIGHTS, GMR_MIXING_WEIGHTS_GRAD, mixingWeights } from '@gmr-conv/core/kernel';
import { kernelCallCounts, resetKernelCallCounts } from '../src/index.js';
import { on, rand, relErr, tf } from './helpers.js';
import { expectNoLeaks } from './leak_check.js';

const cases: [string, number[], number[], { clipSigma?: boolean; sigmaMin?: number; sigmaMax?: number }][] = [
  ['σ inside the clip range', [6, 4, 5], [-0.7, 0.1, 0.4, -0.2, 0.9], {}],
  // exp(-6) < 1e-2 and exp(3) > 2·n: both clipped, so their d(log σ) is 0
  ['σ clipped at both ends', [3, 2, 4], [-6, 0.2, 3, -0.4], {}],
  ['clipping off, custom limits ignored', [2, 5, 3], [-3, 0.5, 2.5], { clipSigma: false, sigmaMin: 1, sigmaMax: 1.5 }],
  ['custom limits', [4, 1, 6], [-1, -0.2, 0, 0.3, 0.6, 1], { sigmaMin: 0.5, sigmaMax: 1.6 }],
];

describe('GMRMixingWeights on native', () => {
  for (const [what, shape, logSigmas, clip] of cases) {
    it(`${what}: Φ, dθ and d(log σ) match core's composed form on cpu`, async () => {
      const f = () => {
        const theta = tf.tensor(
          rand(
            shape.reduce((p, q) => p * q, 1),
            80,
          ),
          shape,
        );
        const ls = tf.tensor1d(logSigmas);
        const r = tf.tensor(rand(theta.size, 81), shape);
        const phi = mixingWeights(theta, ls, clip);
        const [dTheta, dLs] = tf.grads((t: tf.Tensor, s: tf.Tensor) => tf.sum(tf.mul(mixingWeights(t, s, clip), r)))([
          theta,
          ls,
        ]);
        return [phi, dTheta!, dLs!];
      };
      const ref = await on('cpu', f);
      resetKernelCallCounts();
      const got = await on('native', f);
      expect(kernelCallCounts()[GMR_MIXING_WEIGHTS], 'the kernel ran').toBe(2);
      expect(kernelCallCounts()[GMR_MIXING_WEIGHTS_GRAD], 'the gradient kernel ran').toBe(1);
      ['Φ', 'dθ', 'd(log σ)'].forEach((name, i) => {
        // relErr is relative to the reference's largest magnitude; a clipped σ's gradient is exactly 0 on both
        expect(relErr(got[i]!, ref[i]!), name).toBeLessThan(1e-5);
      });
      if (what.includes('clipped')) {
        expect(got[2]![0]).toBe(0);
        expect(got[2]![2]).toBe(0);
        expect(Math.abs(got[2]![1]!)).toBeGreaterThan(0);
      }
    });
  }

  it("a GMR layer's gradients for θ and log σ through the kernels match cpu", async () => {
    const f = () => {
      const layer = new GMRConv2D({ filters: 5, kernelSize: 7, padding: 'same', useBias: false });
      const x = tf.tensor(rand(2 * 9 * 9 * 3, 82), [2, 9, 9, 3]);
      layer.build(x.shape);
      layer.setWeights(
        layer.getWeights().map((w, i) =>
          tf.tensor(
            rand(w.size, 83 + i).map((v) => v / 2),
            w.shape,
          ),
        ),
      );
      const vars = layer.trainableWeights.map((w) => (w as unknown as { val: tf.Variable }).val);
      const { grads } = tf.variableGrads(
        () => tf.sum(tf.square(layer.apply(x, { training: true }) as tf.Tensor)) as tf.Scalar,
        vars,
      );
      return vars.map((v) => grads[v.name]!);
    };
    const ref = await on('cpu', f);
    resetKernelCallCounts();
    const got = await on('native', f);
    expect(kernelCallCounts()[GMR_MIXING_WEIGHTS_GRAD] ?? 0).toBeGreaterThan(0);
    expect(got.length).toBe(2);
    got.forEach((g, i) => expect(relErr(g, ref[i]!)).toBeLessThan(1e-4));
  });

  it('leaks no tensors', async () => {
    await tf.setBackend('native');
    const theta = tf.randomNormal([4, 3, 5]);
    const ls = tf.randomNormal([5], 0, 0.3);
    expectNoLeaks(() => {
      const g = tf.grads((t: tf.Tensor, s: tf.Tensor) => tf.sum(mixingWeights(t, s, {})))([theta, ls]);
      tf.dispose(g);
    }, 5);
    tf.dispose([theta, ls]);
  });
});
