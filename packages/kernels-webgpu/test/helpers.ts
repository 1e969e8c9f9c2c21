/** Shared test setup: the webgpu backend on a software adapter (@gmr-conv/test-utils/backends) and this package. */
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '@gmr-conv/test-utils/backends';

export const REQUIRE_WEBGPU = process.env.GMR_REQUIRE_WEBGPU === '1';

export const webgpuStatus = await initBackend('webgpu');
console.log(`[kernels-webgpu] webgpu: ${webgpuStatus.detail}`);
if (!webgpuStatus.ok && !REQUIRE_WEBGPU)
  console.log('[kernels-webgpu] skipping: no WebGPU adapter (set GMR_REQUIRE_WEBGPU=1 to fail instead)');
/** Skip the webgpu tests only when there is no adapter and GMR_REQUIRE_WEBGPU is not set. */
export const SKIP = !webgpuStatus.ok && !REQUIRE_WEBGPU;

// The kernels register on import (after core, which the package imports itself).
await import('../src/index.js');

export { tf };

export { pseudoRandom as rand, relError as relErr } from '@gmr-conv/test-utils/numeric';
