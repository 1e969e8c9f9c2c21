/**
 * Small numeric helpers shared by the tests, benchmarks and checks of core and the kernel packages. Browser-safe
 * (no Node imports): kernels-webgpu bundles it into its Chromium test page.
 */

/** Deterministic data in [-1, 1) from a seed (a linear congruential generator; seed 0 is taken as 1). */
export function pseudoRandom(n: number, seed: number): Float32Array {
  const out = new Float32Array(n);
  let s = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s / 2 ** 31 - 1;
  }
  return out;
}

/** max|actual − expected| / max|expected| (the max difference itself when expected is all zeros); NaN → Infinity. */
export function relError(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  if (actual.length !== expected.length) return Infinity;
  let maxDiff = 0;
  let maxRef = 0;
  for (let i = 0; i < expected.length; i++) {
    const d = Math.abs(actual[i] - expected[i]);
    if (Number.isNaN(d)) return Infinity;
    maxDiff = Math.max(maxDiff, d);
    maxRef = Math.max(maxRef, Math.abs(expected[i]));
  }
  if (maxRef === 0) return maxDiff;
  return maxDiff / maxRef;
}
