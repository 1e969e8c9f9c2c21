/**
 * The optimiser's two forms on `native`: the fused native update (one NativeOptimizerUpdate call for every
 * variable) against the tfjs-op path, for each optimiser, the weight-decay mask (never the sigmas), clipping and
 * Nesterov, over several steps; a resume from state() continues bit for bit; nothing leaks.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { setupBackend, tf } from '../src/backend.js';
import { Optimizer, type OptimConfig } from '../src/optim.js';

const BASE: OptimConfig = {
  optimizer: 'adam',
  lr: 0.05,
  minLr: 0.001,
  momentum: 0.9,
  nesterov: false,
  weightDecay: 0,
  beta1: 0.9,
  beta2: 0.999,
  eps: 1e-8,
  warmupSteps: 2,
  totalSteps: 8,
  clipNorm: 0,
};

// A conv kernel larger than the native chunk (2^14 elements, so the norm's chunk sums and several tasks run),
// GMR mixing weights, GMR sigmas (never decayed), a bias.
const SHAPES: Record<string, number[]> = {
  'conv1/kernel': [9, 9, 16, 16],
  'g1/weight': [24, 1, 5],
  'g1/log_sigmas': [5],
  'fc/bias': [10],
};

/** Deterministic pseudo-random values (a sine hash), so both forms see the same numbers. */
function values(n: number, seed: number, scale: number): Float32Array {
  return Float32Array.from({ length: n }, (_, i) => scale * Math.sin(i * 12.9898 + seed * 78.233) * (1 + (i % 7) / 7));
}

function makeVars(): { vars: tf.Variable[]; names: string[] } {
  const names = Object.keys(SHAPES);
  const vars = names.map((n, k) =>
    tf.variable(tf.tensor(values(tf.util.sizeFromShape(SHAPES[n]), k + 1, 0.5), SHAPES[n]), true, `v${Math.random()}`),
  );
  return { vars, names };
}

function gradsFor(vars: tf.Variable[], step: number, scale: number): tf.NamedTensorMap {
  const g: tf.NamedTensorMap = {};
  vars.forEach((v, k) => (g[v.name] = tf.tensor(values(v.size, 100 * step + k, scale), v.shape)));
  return g;
}

async function run(
  config: OptimConfig,
  fused: boolean,
  steps: number,
  from?: { state: Map<string, Float32Array>; start: number; weights: Float32Array[] },
) {
  const { vars, names } = makeVars();
  if (from) vars.forEach((v, i) => v.assign(tf.tensor(from.weights[i], v.shape)));
  const opt = new Optimizer(config, vars, names, { fused });
  if (from) opt.load(from.state);
  expect(opt.usesFusedUpdate()).toBe(fused);
  const norms: number[] = [];
  const start = from?.start ?? 0;
  for (let s = start; s < start + steps; s++) {
    const g = gradsFor(vars, s, 0.3);
    norms.push(await opt.apply(g, s));
    tf.dispose(Object.values(g));
  }
  const weights = vars.map((v) => v.dataSync() as Float32Array);
  const state = new Map((await opt.state()).map((e) => [e.name, e.data]));
  opt.dispose();
  vars.forEach((v) => v.dispose());
  return { weights, state, norms };
}

function expectClose(a: Float32Array, b: Float32Array, what: string): void {
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]) / Math.max(1e-6, Math.abs(b[i])));
  expect(worst, what).toBeLessThanOrEqual(1e-6);
}

const CASES: [string, Partial<OptimConfig>][] = [
  ['sgd, momentum', { optimizer: 'sgd' }],
  ['sgd, Nesterov, weight decay', { optimizer: 'sgd', nesterov: true, weightDecay: 1e-2 }],
  ['sgd, no momentum (no state), clipping', { optimizer: 'sgd', momentum: 0, clipNorm: 1 }],
  ['adam', {}],
  ['adam, L2 weight decay, clipping', { optimizer: 'adam', weightDecay: 1e-2, clipNorm: 1 }],
  ['adamw, decoupled weight decay', { optimizer: 'adamw', weightDecay: 5e-2 }],
  ['adamw, clipping that does not trigger', { optimizer: 'adamw', weightDecay: 5e-2, clipNorm: 1e6 }],
];

describe('the fused native optimiser update', () => {
  beforeAll(async () => {
    expect((await setupBackend('native')).name).toBe('native');
  });

  for (const [label, over] of CASES) {
    it(`equals the tfjs-op path over 5 steps: ${label}`, async () => {
      const c = { ...BASE, ...over };
      const fused = await run(c, true, 5);
      const ops = await run(c, false, 5);
      fused.weights.forEach((w, i) => expectClose(w, ops.weights[i], `weight ${i}`));
      expect([...fused.state.keys()]).toEqual([...ops.state.keys()]);
      for (const [k, v] of fused.state) expectClose(v, ops.state.get(k)!, `state ${k}`);
      fused.norms.forEach((n, i) => expect(Math.abs(n - ops.norms[i]) / ops.norms[i]).toBeLessThanOrEqual(1e-6));
      // The weights moved (a no-op update would pass the comparison above).
      const { vars } = makeVars();
      expect(Math.abs(fused.weights[0][0] - vars[0].dataSync()[0])).toBeGreaterThan(1e-4);
      vars.forEach((v) => v.dispose());
    });
  }

  it('decays every weight but the sigmas', async () => {
    // With zero gradients only weight decay moves a weight (SGD without momentum: w ← w − lr·wd·w).
    const c: OptimConfig = { ...BASE, optimizer: 'sgd', momentum: 0, weightDecay: 0.1, warmupSteps: 0 };
    const { vars, names } = makeVars();
    const before = vars.map((v) => v.dataSync() as Float32Array);
    const opt = new Optimizer(c, vars, names);
    expect(opt.usesFusedUpdate()).toBe(true);
    const g: tf.NamedTensorMap = {};
    vars.forEach((v) => (g[v.name] = tf.zerosLike(v)));
    await opt.apply(g, 0);
    names.forEach((n, i) => {
      const after = vars[i].dataSync();
      if (n.includes('log_sigma')) expect(Array.from(after)).toEqual(Array.from(before[i]));
      else expect(after[0]).toBeCloseTo(before[i][0] * (1 - c.lr * 0.1), 6);
    });
    tf.dispose(Object.values(g));
    opt.dispose();
    vars.forEach((v) => v.dispose());
  });

  it('resumes from state() bit for bit, and a tfjs-op checkpoint resumes on the fused path', async () => {
    for (const c of [
      { ...BASE, optimizer: 'adamw' as const, weightDecay: 1e-2, clipNorm: 1 },
      { ...BASE, optimizer: 'sgd' as const, nesterov: true, weightDecay: 1e-3 },
    ]) {
      const whole = await run(c, true, 6);
      for (const firstFused of [true, false]) {
        const first = await run(c, firstFused, 3);
        const rest = await run(c, true, 3, { state: first.state, start: 3, weights: first.weights });
        // Exact equality of every float (Object.is: even +0 and −0 differ).
        rest.weights.forEach((w, i) => expect(Array.from(w), `weight ${i}`).toEqual(Array.from(whole.weights[i])));
        for (const [k, v] of rest.state) expect(Array.from(v), `state ${k}`).toEqual(Array.from(whole.state.get(k)!));
      }
    }
  });

  it('leaves no tensor and no native buffer behind, and runs one kernel per step', async () => {
    const { liveNativeBuffers, kernelCallCounts, resetKernelCallCounts } = await import('@gmr-conv/kernels-cuda');
    const { vars, names } = makeVars();
    const opt = new Optimizer({ ...BASE, optimizer: 'adam', weightDecay: 1e-2, clipNorm: 1 }, vars, names);
    const step = async (s: number) => {
      const g = gradsFor(vars, s, 0.3);
      await opt.apply(g, s);
      tf.dispose(Object.values(g));
    };
    await step(0);
    const tensors = tf.memory().numTensors;
    const buffers = liveNativeBuffers().count;
    resetKernelCallCounts();
    for (let s = 1; s < 20; s++) await step(s);
    expect(kernelCallCounts()['NativeOptimizerUpdate']).toBe(19);
    expect(tf.memory().numTensors).toBe(tensors);
    expect(liveNativeBuffers().count).toBe(buffers);
    opt.dispose();
    vars.forEach((v) => v.dispose());
  });

  it('refuses inputs that do not match the variables, naming the input', () => {
    const w = tf.ones([3]);
    const g = tf.ones([4]);
    const attrs = { ...BASE, optimizer: 'sgd', momentum: 0, step: 1, decay: [true] } as unknown as tf.NamedAttrMap;
    expect(() => tf.engine().runKernel('NativeOptimizerUpdate', [w, g] as unknown as tf.NamedTensorMap, attrs)).toThrow(
      /inputs\[1\]\.shape.*\[3\]/,
    );
    expect(() => tf.engine().runKernel('NativeOptimizerUpdate', [w] as unknown as tf.NamedTensorMap, attrs)).toThrow(
      /`inputs` must be 2 tensors/,
    );
    expect(() =>
      tf
        .engine()
        .runKernel('NativeOptimizerUpdate', [w, w] as unknown as tf.NamedTensorMap, { ...attrs, optimizer: 'rmsprop' }),
    ).toThrow(/`optimizer` must be 'sgd', 'adam' or 'adamw', got "rmsprop"/);
    tf.dispose([w, g]);
  });
});
