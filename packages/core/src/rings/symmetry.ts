/**
 * Which ring-mask tensors are known to be even along every spatial axis
 * (G[u, v] = G[|u|, |v|]), so the two-stage path may use its folded form.
 * Masks built from the geometry are; a user's or a trained index matrix may not be.
 */
import * as tf from '@tensorflow/tfjs-core';

const known = new WeakSet<tf.Tensor>();

export function markSymmetricRings<T extends tf.Tensor>(t: T): T {
  known.add(t);
  return t;
}

/** Even along each axis of an odd square/cubic kernel, checked on the values. */
export function ringsAreSymmetric(values: ArrayLike<number>, numRings: number, kernelSize: number[]): boolean {
  const taps = kernelSize.reduce((a, b) => a * b, 1);
  const strides = kernelSize.map((_, i) => kernelSize.slice(i + 1).reduce((a, b) => a * b, 1));
  for (let r = 0; r < numRings; r++) {
    for (let p = 0; p < taps; p++) {
      for (let ax = 0; ax < kernelSize.length; ax++) {
        const coord = Math.floor(p / strides[ax]) % kernelSize[ax];
        const mirrored = p + (kernelSize[ax] - 1 - 2 * coord) * strides[ax];
        if (values[r * taps + p] !== values[r * taps + mirrored]) return false;
      }
    }
  }
  return true;
}

/** Known symmetric, or (on backends whose data is local) checked on the values. */
export function isSymmetricRings(t: tf.Tensor, kernelSize: number[]): boolean {
  if (known.has(t)) return true;
  const backend = tf.getBackend();
  if (backend !== 'cpu' && backend !== 'wasm') return false;
  const ok = ringsAreSymmetric(t.dataSync(), t.shape[0], kernelSize);
  if (ok) known.add(t);
  return ok;
}
