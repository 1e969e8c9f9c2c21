/**
 * Every op (1D / 2D / 3D / transposed 2D), both paths, forward and gradients, on the
 * wasm backend (which has no Conv2DBackpropFilter kernel: tf.conv2d's own filter
 * gradient fails there, ours must not) and on webgpu when an adapter is available
 * (GMR_REQUIRE_WEBGPU=1 makes webgpu mandatory), against the cpu backend to 1e-4.
 */
import '@tensorflow/tfjs';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { disposeBackends, initBackend } from '@gmr-conv/test-utils/backends';
import { OP_CASES } from '@gmr-conv/test-utils/op_cases';
import {
  type CaseSpec,
  PATH_VARIANTS,
  type PathVariant,
  type TfParams,
  caseTensors,
  makeCase,
  randnArray,
  relErr,
  runCase,
} from './helpers/gmr_reference.js';
import { caseSpecOf } from './helpers/shared_cases.js';

const REQUIRE_WEBGPU = process.env.GMR_REQUIRE_WEBGPU === '1';
const TOL = 1e-4;

// The shared op cases (@gmr-conv/test-utils/op_cases: the list the kernel packages run on their own backends) but
// those with ≥ 16 input channels: they aim at the native kernels' vector blocks, and here, through core's composed
// path, they would only triple the time (op_cases.test.ts runs them on cpu).
const shared = OP_CASES.filter((c) => c.cin < 16);
const cases: CaseSpec[] = shared.map(caseSpecOf);
const caseNames = shared.map((c) => c.name);

interface Result {
  y: Float32Array;
  shape: number[];
  grads: Map<string, Float32Array>;
}

const cpuResults = new Map<string, Result>();
const key = (i: number, v: PathVariant) => `${i}|${v}`;

/** Forward + gradients of sum(y·R) w.r.t. every input, on the active backend. */
async function compute(spec: CaseSpec, v: PathVariant): Promise<Result> {
  const c = makeCase(spec);
  const t = caseTensors(c);
  const p: TfParams = { x: t.x, weight: t.weight, logSigmas: t.logSigmas, bias: t.bias, indexMat: t.indexMat };
  const names = (['x', 'weight', 'logSigmas', 'bias', 'indexMat'] as const).filter((n) => p[n] != null);
  const run = (q: TfParams) => runCase(c, q, v, { trainIndexMat: true });
  const y = run(p);
  const R = tf.tensor(randnArray(y.size, 4242), y.shape);
  const gs = tf.grads((...vals: tf.Tensor[]) => {
    const q = { ...p };
    names.forEach((n, i) => ((q as unknown as Record<string, tf.Tensor>)[n] = vals[i]));
    return tf.sum(tf.mul(run(q), R));
  })(names.map((n) => p[n]!));
  const grads = new Map<string, Float32Array>();
  for (let i = 0; i < names.length; i++) grads.set(names[i], (await gs[i].data()) as Float32Array);
  const out: Result = { y: (await y.data()) as Float32Array, shape: y.shape, grads };
  tf.dispose([y, R, ...gs, ...(Object.values(t).filter(Boolean) as tf.Tensor[])]);
  return out;
}

function compare(label: string, got: Result, ref: Result) {
  expect(got.shape, `${label} shape`).toEqual(ref.shape);
  expect(relErr(got.y, ref.y), `${label} forward`).toBeLessThanOrEqual(TOL);
  for (const [n, g] of ref.grads) expect(relErr(got.grads.get(n)!, g), `${label} grad ${n}`).toBeLessThanOrEqual(TOL);
}

// Backend availability is needed at collection time for it.skipIf.
const wasmStatus = await initBackend('wasm');
const webgpuStatus = await initBackend('webgpu');
await tf.setBackend('cpu');
console.log(`[ops_backends] wasm: ${wasmStatus.detail}`);
console.log(`[ops_backends] webgpu: ${webgpuStatus.detail}`);

beforeAll(async () => {
  await tf.setBackend('cpu');
  for (let i = 0; i < cases.length; i++)
    for (const v of PATH_VARIANTS) cpuResults.set(key(i, v), await compute(cases[i], v));
});

afterAll(() => {
  disposeBackends();
});

/** Case i on `backend`, every path, against the cpu results. */
async function matchesCpu(backend: string, status: { ok: boolean; detail: string }, i: number): Promise<void> {
  expect(status.ok, status.detail).toBe(true);
  await tf.setBackend(backend);
  expect(tf.getBackend()).toBe(backend);
  try {
    for (const v of PATH_VARIANTS) compare(`${backend} ${v}`, await compute(cases[i]!, v), cpuResults.get(key(i, v))!);
  } finally {
    await tf.setBackend('cpu');
  }
}

describe('wasm backend', () => {
  it('initialises', () => {
    expect(wasmStatus.ok, wasmStatus.detail).toBe(true);
  });

  it('has no conv2d filter gradient of its own (so the test below is meaningful)', async () => {
    await tf.setBackend('wasm');
    expect(tf.getKernel('Conv2DBackpropFilter', 'wasm')).toBeUndefined();
    const x = tf.ones([1, 5, 5, 1]);
    const f = tf.ones([3, 3, 1, 1]);
    expect(() =>
      tf.grad((w: tf.Tensor) => tf.sum(tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, 1, 'same')))(f),
    ).toThrow();
    tf.dispose([x, f]);
    await tf.setBackend('cpu');
  });

  it.each(caseNames.map((name, i) => [name, i] as const))('%s: forward and gradients match cpu', async (_n, i) =>
    matchesCpu('wasm', wasmStatus, i),
  );
});

describe('webgpu backend', () => {
  it.runIf(REQUIRE_WEBGPU)('is available (GMR_REQUIRE_WEBGPU=1)', () => {
    expect(webgpuStatus.ok, webgpuStatus.detail).toBe(true);
  });

  const onWebGPU = (i: number) => matchesCpu('webgpu', webgpuStatus, i);
  // Every case, 3D 'reflect' with batch > 1 included: core's padding reverses a rank-3 view, since tfjs-webgpu
  // 4.22's Reverse breaks on rank-5 tensors whose batch is > 1.
  const noWebGPU = !webgpuStatus.ok && !REQUIRE_WEBGPU;
  it.skipIf(noWebGPU).each(caseNames.map((name, i) => [name, i] as const))(
    '%s: forward and gradients match cpu',
    async (_n, i) => onWebGPU(i),
  );
});
