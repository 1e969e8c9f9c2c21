/** Shared test setup: tfjs (cpu, the reference), this package's 'native' backend, data and error helpers. */
import * as tf from '@tensorflow/tfjs';
import { nativeStatus } from '../src/index.js';
import { pseudoRandom, relError } from '@gmr-conv/test-utils/numeric';
/** Deterministic data in [-1, 1); relative error (@gmr-conv/test-utils/numeric). */
export const rand = pseudoRandom;
export const relErr = relError;

export { tf };

const st = nativeStatus();
if (!st.native.ok) throw new Error(`the 'native' backend is not available: ${st.native.detail} (run pnpm build first)`);

/** Runs f on `backend` with every tensor created from plain arrays there; returns the outputs as arrays. */
export async function on(backend: string, f: () => tf.Tensor | tf.Tensor[]): Promise<Float32Array[]> {
  await tf.setBackend(backend);
  const outs = tf.tidy(f);
  const list = Array.isArray(outs) ? outs : [outs];
  const vals = await Promise.all(list.map((t) => t.data() as Promise<Float32Array>));
  tf.dispose(list);
  return vals;
}
