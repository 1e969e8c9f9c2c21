/**
 * What this package does not cover still works on webgpu through core's composed path, and matches cpu:
 * trainIndexMat (forward on this package's kernel, gradients incl. d(indexMat) composed), and the transposed op
 * (its kernel name stays core's composed kernel).
 */
import { afterAll, describe, expect, it } from 'vitest';
import { gmrConv2d, gmrConv3d, gmrConvTranspose2d } from '@gmr-conv/core';
import { usesComposedKernel } from '@gmr-conv/core/kernel';
import { disposeBackends } from '@gmr-conv/test-utils/backends';
import { SKIP, rand, relErr, tf } from './helpers.js';
import { kernelCallCounts, resetKernelCallCounts } from '../src/index.js';

type Op = (p: tf.Tensor[]) => tf.Tensor;

async function valueAndGrads(backend: string, shapes: number[][], op: Op): Promise<Float32Array[]> {
  await tf.setBackend(backend);
  const params = shapes.map((s, i) =>
    tf.tensor(
      rand(
        s.reduce((a, b) => a * b, 1),
        21 + i,
      ),
      s,
    ),
  );
  const f = (...p: tf.Tensor[]) => op(p);
  const y = f(...params);
  const dy = tf.tensor(rand(y.size, 7), y.shape);
  const gs = tf.grads(f)(params, dy);
  const out = [(await y.data()) as Float32Array];
  for (const g of gs) out.push((await g.data()) as Float32Array);
  tf.dispose([y, dy, ...gs, ...params]);
  return out;
}

async function compare(shapes: number[][], op: Op): Promise<void> {
  const ref = await valueAndGrads('cpu', shapes, op);
  const got = await valueAndGrads('webgpu', shapes, op);
  ref.forEach((r, i) => expect(relErr(got[i]!, r), i === 0 ? 'y' : `grad ${i - 1}`).toBeLessThan(1e-4));
}

describe.skipIf(SKIP)('fallbacks on webgpu', () => {
  afterAll(() => disposeBackends());

  it('trainIndexMat: forward on the fused kernel, gradients (with d indexMat) through core', async () => {
    const op: Op = ([x, w, ls, m]) =>
      gmrConv2d(
        x!,
        { weight: w!, logSigmas: ls!, indexMat: m! },
        { kernelSize: 3, padding: 1, trainIndexMat: true, checkFinite: false },
      );
    const ref = await valueAndGrads('cpu', [[1, 6, 6, 2], [2, 2, 2], [2], [2, 9]], op);
    resetKernelCallCounts();
    const got = await valueAndGrads('webgpu', [[1, 6, 6, 2], [2, 2, 2], [2], [2, 9]], op);
    const c = kernelCallCounts();
    expect(c.forward).toBeGreaterThanOrEqual(1);
    expect(c.backpropInput + c.backpropFilter).toBe(0);
    ref.forEach((r, i) => expect(relErr(got[i]!, r), `#${i}`).toBeLessThan(1e-4));
  });

  it('3D trainIndexMat: forward fused, gradients (with d indexMat) through core', async () => {
    const op: Op = ([x, w, ls, m]) =>
      gmrConv3d(
        x!,
        { weight: w!, logSigmas: ls!, indexMat: m! },
        { kernelSize: 3, padding: 1, trainIndexMat: true, checkFinite: false },
      );
    const shapes = [[1, 4, 5, 5, 2], [2, 2, 2], [2], [2, 27]];
    const ref = await valueAndGrads('cpu', shapes, op);
    resetKernelCallCounts();
    const got = await valueAndGrads('webgpu', shapes, op);
    const c = kernelCallCounts();
    expect(c.forward).toBeGreaterThanOrEqual(1);
    expect(c.backpropInput + c.backpropFilter).toBe(0);
    ref.forEach((r, i) => expect(relErr(got[i]!, r), `#${i}`).toBeLessThan(1e-4));
  });

  it('the transposed op stays on core composed kernel and matches cpu', async () => {
    await tf.setBackend('webgpu');
    resetKernelCallCounts();
    await compare([[1, 4, 4, 2], [2, 3, 2], [2]], ([x, w, ls]) =>
      gmrConvTranspose2d(
        x!,
        { weight: w!, logSigmas: ls! },
        { kernelSize: 3, strides: 2, padding: 1, outputPadding: 1, checkFinite: false },
      ),
    );
    expect(kernelCallCounts().forward).toBe(0);
    expect(usesComposedKernel('GMRConv2DTranspose', 'webgpu')).toBe(true);
  });
});
