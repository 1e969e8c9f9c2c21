import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';

/** Sets the backend (wasm: the fastest here; cpu: tfjs's reference). Tests create no tensor before this. */
export async function useBackend(name: 'cpu' | 'wasm'): Promise<void> {
  if (!(await tf.setBackend(name))) throw new Error(`backend ${name} failed to initialise`);
  await tf.ready();
}

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

export const countTrainable = (m: tf.LayersModel) =>
  m.trainableWeights.reduce((a, w) => a + (w.shape as number[]).reduce((x, y) => x * y, 1), 0);

export { tf };

/**
 * Fills the BN moving statistics with a few training-mode passes (as the oracle does),
 * so eval-mode activations stay O(1) and absolute logit tolerances mean something:
 * with the init statistics (mean 0, var 1) a deep net's logits reach 1e5 or more.
 */
export function warmUpBatchNorm(model: tf.LayersModel, shape: number[], passes = 10): void {
  for (let i = 0; i < passes; i++) {
    tf.tidy(() => {
      model.apply(tf.randomNormal(shape, 0, 1, 'float32', 100 + i), { training: true });
    });
  }
}

/**
 * Runs `fn` with Math.random replaced by a seeded PRNG (mulberry32). tfjs's unseeded initialisers
 * draw their seeds from Math.random, so models built inside are the same on every run.
 */
export function seeded<T>(seed: number, fn: () => T): T {
  const original = Math.random;
  let a = seed >>> 0;
  Math.random = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  try {
    return fn();
  } finally {
    Math.random = original;
  }
}
