/**
 * The 3D and 1D webgpu kernels against core's composed path on cpu: y and every gradient (x, θ, log σ, bias) through
 * core's gmrConv3d / gmrConv1d ops, to 1e-4 relative, with the call counters showing that the fused forward and both
 * backward kernels ran.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { usesComposedKernel, GMR_CONV_1D, GMR_CONV_3D } from '@gmr-conv/core/kernel';
import { disposeBackends } from '@gmr-conv/test-utils/backends';
import { SKIP, tf, webgpuStatus } from './helpers.js';
import { opCasesOf, opCaseErrors as caseErrors, runOpCase as runCase } from '@gmr-conv/test-utils/op_cases';
import { kernelCallCounts, resetKernelCallCounts } from '../src/index.js';

describe.skipIf(SKIP)('GMRConv3D and GMRConv1D webgpu kernels vs core composed on cpu', () => {
  beforeAll(() => {
    expect(webgpuStatus.ok, webgpuStatus.detail).toBe(true);
  });
  afterAll(() => disposeBackends());

  it('registers the 1D and 3D kernels for webgpu', async () => {
    await tf.setBackend('webgpu');
    for (const name of [GMR_CONV_1D, GMR_CONV_3D]) {
      expect(usesComposedKernel(name, 'webgpu')).toBe(false);
      expect(tf.getKernel(`${name}BackpropInput`, 'webgpu')).toBeTruthy();
      expect(tf.getKernel(`${name}BackpropFilter`, 'webgpu')).toBeTruthy();
    }
  });

  it.each([...opCasesOf(3), ...opCasesOf(1)].map((c) => [c.name, c] as const))(
    '%s: y and all gradients match',
    async (_name, c) => {
      const ref = await runCase(c, 'cpu');
      resetKernelCallCounts();
      const got = await runCase(c, 'webgpu');
      const counts = kernelCallCounts();
      expect(counts.forward).toBeGreaterThanOrEqual(1);
      expect(counts.backpropInput).toBe(1);
      expect(counts.backpropFilter).toBe(1);
      expect(counts.fallback).toBe(0);
      for (const [what, e] of Object.entries(caseErrors(got, ref))) expect(e, what).toBeLessThan(1e-4);
    },
  );

  it('does not leak tensors across a 3D forward + backward', async () => {
    await tf.setBackend('webgpu');
    const c = opCasesOf(3)[2]!;
    await runCase(c, 'webgpu');
    const before = tf.memory().numTensors;
    await runCase(c, 'webgpu');
    expect(tf.memory().numTensors).toBe(before);
  });
});
