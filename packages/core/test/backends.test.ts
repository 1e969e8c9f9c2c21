import { afterAll, describe, expect, it } from 'vitest';
import { availableBackends, disposeBackends, initBackend, tf } from '@gmr-conv/test-utils/backends';

const REQUIRE_WEBGPU = process.env.GMR_REQUIRE_WEBGPU === '1';

/** sum(conv2d(x, w)) and its gradients with respect to x and w, on the active backend. */
async function convAndGrads(): Promise<{ y: Float32Array; dx: Float32Array; dw: Float32Array }> {
  const x = tf.tensor4d(
    Array.from({ length: 1 * 6 * 5 * 2 }, (_, i) => Math.sin(i * 0.7)),
    [1, 6, 5, 2],
  );
  const w = tf.tensor4d(
    Array.from({ length: 3 * 3 * 2 * 3 }, (_, i) => Math.cos(i * 0.3)),
    [3, 3, 2, 3],
  );
  try {
    const y = tf.conv2d(x, w, 1, 'same');
    const g = tf.grads((a: tf.Tensor, b: tf.Tensor) =>
      tf.sum(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, 1, 'same')),
    );
    const [dx, dw] = g([x, w]);
    const out = {
      y: (await y.data()) as Float32Array,
      dx: (await dx!.data()) as Float32Array,
      dw: (await dw!.data()) as Float32Array,
    };
    tf.dispose([y, dx!, dw!]);
    return out;
  } finally {
    tf.dispose([x, w]);
  }
}

function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

const CONV_KERNELS = [
  'Conv2D',
  'Conv2DBackpropInput',
  'Conv2DBackpropFilter',
  'DepthwiseConv2dNative',
  'DepthwiseConv2dNativeBackpropInput',
  'DepthwiseConv2dNativeBackpropFilter',
  'Conv3D',
  'Conv3DBackpropInputV2',
  'Conv3DBackpropFilterV2',
  'Einsum',
];

function missingKernels(backend: string): string[] {
  return CONV_KERNELS.filter((k) => tf.getKernel(k, backend) == null);
}

let cpuResult: { y: Float32Array; dx: Float32Array; dw: Float32Array };

describe('test-utils backends', () => {
  afterAll(() => {
    disposeBackends();
  });

  it('cpu initialises, passes its conv2d check and has gradients', async () => {
    const r = await initBackend('cpu');
    expect(r.ok, r.detail).toBe(true);
    expect(r.name).toBe('cpu');
    expect(tf.getBackend()).toBe('cpu');
    cpuResult = await convAndGrads();
    // d/dx sum(conv) is finite and non-zero.
    expect(cpuResult.dx.some((v) => v !== 0)).toBe(true);
    expect(missingKernels('cpu')).toEqual([]);
  });

  it('wasm initialises and matches cpu on conv2d', async () => {
    const r = await initBackend('wasm');
    expect(r.ok, r.detail).toBe(true);
    expect(tf.getBackend()).toBe('wasm');
    const x = tf.tensor4d([1, 2, 3, 4], [1, 2, 2, 1]);
    const w = tf.tensor4d([1, 0, 0, 1], [2, 2, 1, 1]);
    const y = tf.conv2d(x, w, 1, 'valid');
    expect(Array.from(await y.data())).toEqual([5]);
    tf.dispose([x, w, y]);
  });

  it('wasm: conv2d gradients (documents the missing kernels)', async () => {
    expect((await initBackend('wasm')).ok).toBe(true);
    const missing = missingKernels('wasm');
    console.log(`[backends] wasm conv-related kernels missing: ${missing.join(', ') || 'none'}`);
    let gradError: string | null = null;
    try {
      const r = await convAndGrads();
      expect(maxDiff(r.y, cpuResult.y)).toBeLessThan(1e-4);
      expect(maxDiff(r.dx, cpuResult.dx)).toBeLessThan(1e-4);
      expect(maxDiff(r.dw, cpuResult.dw)).toBeLessThan(1e-4);
    } catch (e) {
      gradError = e instanceof Error ? e.message : String(e);
    }
    console.log(`[backends] wasm tf.grads(sum(conv2d)) wrt x and w: ${gradError ?? 'ok'}`);
    if (missing.includes('Conv2DBackpropFilter')) {
      // tfjs-backend-wasm 4.22 has no Conv2DBackpropFilter: the filter gradient cannot run there.
      expect(gradError).toMatch(/Conv2DBackpropFilter/);
    } else {
      expect(gradError).toBeNull();
    }
  });

  it('webgpu initialises on a software adapter and matches cpu, gradients included', async (ctx) => {
    const r = await initBackend('webgpu');
    console.log(`[backends] webgpu: ok=${r.ok} ${r.detail}`);
    if (!r.ok && !REQUIRE_WEBGPU) {
      ctx.skip(`no WebGPU here (set GMR_REQUIRE_WEBGPU=1 to make this fail): ${r.detail}`);
      return;
    }
    expect(r.ok, r.detail).toBe(true);
    expect(tf.getBackend()).toBe('webgpu');
    const g = await convAndGrads();
    expect(maxDiff(g.y, cpuResult.y)).toBeLessThan(1e-4);
    expect(maxDiff(g.dx, cpuResult.dx)).toBeLessThan(1e-4);
    expect(maxDiff(g.dw, cpuResult.dw)).toBeLessThan(1e-4);
    const missing = missingKernels('webgpu');
    console.log(`[backends] webgpu conv-related kernels missing: ${missing.join(', ') || 'none'}`);

    // disposeBackends() removes navigator.gpu; initBackend('webgpu') sets it up again.
    disposeBackends();
    expect((globalThis as { navigator?: { gpu?: unknown } }).navigator?.gpu).toBeUndefined();
    const again = await initBackend('webgpu');
    expect(again.ok, again.detail).toBe(true);
    expect((globalThis as { navigator?: { gpu?: unknown } }).navigator?.gpu).toBeDefined();
  });

  it('webgl reports not available in Node, without throwing', async () => {
    const r = await initBackend('webgl');
    expect(r.ok).toBe(false);
    expect(r.name).toBe('webgl');
    expect(r.detail).toMatch(/browser/i);
  });

  it('an unknown backend name gives ok:false', async () => {
    const r = await initBackend('nope' as never);
    expect(r.ok).toBe(false);
    expect(r.detail).toMatch(/unknown backend/);
  });

  it('a backend that a kernel module registers: imported from options.kernels or GMR_KERNELS, then checked', async () => {
    const spec = new URL('./helpers/fake_kernels.ts', import.meta.url).href;
    const missing = await initBackend('fake-kernels');
    expect(missing.ok).toBe(false);
    expect(missing.detail).toMatch(/no kernel module given/);
    const bad = await initBackend('fake-kernels', { kernels: 'file:///nonexistent/kernels.js' });
    expect(bad.ok).toBe(false);
    expect(bad.detail).toMatch(/cannot import/);
    const r = await initBackend('fake-kernels', { kernels: spec });
    expect(r.ok, r.detail).toBe(true);
    expect(r.detail).toMatch(/test kernel module, fake-kernels/);
    expect(tf.getBackend()).toBe('fake-kernels');
    process.env.GMR_KERNELS = spec;
    try {
      expect((await initBackend('fake-kernels')).ok).toBe(true);
    } finally {
      delete process.env.GMR_KERNELS;
    }
    await tf.setBackend('cpu');
  });

  it('availableBackends lists cpu and wasm and restores the active backend', async () => {
    expect((await initBackend('wasm')).ok).toBe(true);
    const names = await availableBackends();
    console.log(`[backends] available: ${names.join(', ')}`);
    expect(names).toContain('cpu');
    expect(names).toContain('wasm');
    expect(names).not.toContain('webgl');
    if (REQUIRE_WEBGPU) expect(names).toContain('webgpu');
    expect(tf.getBackend()).toBe('wasm');
  });
});
