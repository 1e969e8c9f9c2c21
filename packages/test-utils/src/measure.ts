/**
 * Wall-time measurement shared by the benchmark scripts and kernels-webgpu's Chromium page. Browser-safe (no Node
 * imports); timing.ts re-exports it next to the Node-only record writer.
 */
import * as tf from '@tensorflow/tfjs-core';

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** Median wall time of `runs` calls after one warm-up (shader compilation, kernel registration); waits for the data. */
export async function timeIt(fn: () => tf.Tensor | tf.Tensor[], runs: number): Promise<number> {
  const settle = async (r: tf.Tensor | tf.Tensor[]) => {
    const list = Array.isArray(r) ? r : [r];
    await Promise.all(list.map((t) => t.data()));
    tf.dispose(list);
  };
  await settle(fn());
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    await settle(fn());
    times.push(performance.now() - t0);
  }
  return median(times);
}
