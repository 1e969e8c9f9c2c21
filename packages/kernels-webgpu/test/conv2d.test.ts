/**
 * The webgpu kernels against core's composed path on cpu: outputs and every gradient (x, θ, log σ, bias) through
 * core's gmrConv2d op (which dispatches to this package's kernels on webgpu), to 1e-4 relative.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { usesComposedKernel, GMR_CONV_2D } from '@gmr-conv/core/kernel';
import { disposeBackends } from '@gmr-conv/test-utils/backends';
import { REQUIRE_WEBGPU, SKIP, tf, webgpuStatus } from './helpers.js';
import { opCasesOf, opCaseErrors as caseErrors, runOpCase as run } from '@gmr-conv/test-utils/op_cases';
import { kernelCallCounts, resetKernelCallCounts } from '../src/index.js';

// The shared 2D op cases (@gmr-conv/test-utils/op_cases), the list core and the native kernels run too.
const cases = opCasesOf(2);

describe.skipIf(SKIP)('GMRConv2D webgpu kernels vs core composed on cpu', () => {
  beforeAll(() => {
    expect(webgpuStatus.ok, webgpuStatus.detail).toBe(true);
  });
  afterAll(() => disposeBackends());

  it('registers the kernels for webgpu (core sees a non-composed kernel)', async () => {
    await tf.setBackend('webgpu');
    expect(usesComposedKernel(GMR_CONV_2D, 'webgpu')).toBe(false);
    expect(tf.getKernel('GMRConv2DBackpropInput', 'webgpu')).toBeTruthy();
    expect(tf.getKernel('GMRConv2DBackpropFilter', 'webgpu')).toBeTruthy();
  });

  it.each(cases.map((c) => [c.name, c] as const))('%s: y and all gradients match', async (_name, c) => {
    const ref = await run(c, 'cpu');
    resetKernelCallCounts();
    const got = await run(c, 'webgpu');
    const counts = kernelCallCounts();
    // The kernels really ran (forward once per op call; grads through the backward pieces), nothing fell back.
    expect(counts.forward).toBeGreaterThanOrEqual(1);
    expect(counts.backpropInput).toBe(1);
    expect(counts.backpropFilter).toBe(1);
    expect(counts.fallback).toBe(0);
    for (const [what, e] of Object.entries(caseErrors(got, ref))) expect(e, what).toBeLessThan(1e-4);
  });

  it('does not leak tensors across forward + backward', async () => {
    await tf.setBackend('webgpu');
    const c = cases[2]!;
    await run(c, 'webgpu'); // warm (placeholders, compiled programs)
    const before = tf.memory().numTensors;
    await run(c, 'webgpu');
    expect(tf.memory().numTensors).toBe(before);
  });

  it.runIf(REQUIRE_WEBGPU || webgpuStatus.ok)('runs on a real adapter', () => {
    expect(webgpuStatus.ok).toBe(true);
  });
});
