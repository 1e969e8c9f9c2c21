/** Shared test setup: the webgpu backend on a software adapter (core's tools/backends.ts) and this package. */
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../core/tools/backends.js';

export const REQUIRE_WEBGPU = process.env.GMR_REQUIRE_WEBGPU === '1';

export const webgpuStatus = await initBackend('webgpu');
console.log(`[kernels-webgpu] webgpu: ${webgpuStatus.detail}`);
if (!webgpuStatus.ok && !REQUIRE_WEBGPU) console.log('[kernels-webgpu] skipping: no WebGPU adapter (set GMR_REQUIRE_WEBGPU=1 to fail instead)');
/** Skip the webgpu tests only when there is no adapter and GMR_REQUIRE_WEBGPU is not set. */
export const SKIP = !webgpuStatus.ok && !REQUIRE_WEBGPU;

// The kernels register on import (after core, which the package imports itself).
await import('../src/index.js');

export { tf };

/** Deterministic data in [-1, 1). */
export function rand(n: number, seed: number): Float32Array {
  const out = new Float32Array(n);
  let s = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s / 2 ** 31 - 1;
  }
  return out;
}

/** max|a − b| / max|b| (b the reference). */
export function relErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return Infinity;
  let num = 0;
  let den = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i]! - b[i]!);
    num = Number.isNaN(d) ? Infinity : Math.max(num, d);
    den = Math.max(den, Math.abs(b[i]!));
  }
  return num / Math.max(den, 1e-12);
}
