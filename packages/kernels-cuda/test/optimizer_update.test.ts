/**
 * NativeOptimizerUpdate (native/optimizer_update.cc) against a float32 reference written out in JavaScript: each
 * operation of the tfjs-op form rounded with Math.fround (for +, −, ×, ÷ and √ that is the float32 result), so the
 * weights and state must match to the bit, for SGD (plain, momentum, Nesterov, weight decay), Adam (L2 decay) and
 * AdamW, clipped and not, on variables whose sizes leave vector tails (1, 15, 17) and span several chunks (2¹⁴ + 21),
 * at a step where 1 − β₁ᵗ rounds to 1 (that division is skipped); the gradient norm within float32 rounding; every
 * output the same at one and two threads.
 */
import { describe, expect, it } from 'vitest';
import { loadAddon, NativeOptimizerUpdate, type NativeOptimizerUpdateAttrs } from '../src/index.js';
import { rand, tf } from './helpers.js';

const f = Math.fround;
const SIZES = [1, 15, 17, 300, (1 << 14) + 21];
const DECAY = [true, false, true, true, true];

type Case = Partial<NativeOptimizerUpdateAttrs> & { optimizer: NativeOptimizerUpdateAttrs['optimizer'] };
const BASE: Omit<NativeOptimizerUpdateAttrs, 'optimizer'> = {
  lr: 0.01,
  momentum: 0.9,
  nesterov: false,
  weightDecay: 0,
  beta1: 0.9,
  beta2: 0.999,
  eps: 1e-7,
  step: 3,
  clipNorm: 0,
  decay: DECAY,
};
const CASES: [string, Case][] = [
  ['sgd', { optimizer: 'sgd', momentum: 0 }],
  ['sgd, momentum, weight decay, clipping', { optimizer: 'sgd', weightDecay: 1e-2, clipNorm: 1 }],
  ['sgd, Nesterov', { optimizer: 'sgd', nesterov: true }],
  ['adam', { optimizer: 'adam' }],
  ['adam, L2 decay, clipping', { optimizer: 'adam', weightDecay: 1e-2, clipNorm: 1 }],
  ['adam at step 400 (1 − β₁ᵗ is 1 in float32)', { optimizer: 'adam', step: 400 }],
  ['adamw', { optimizer: 'adamw', weightDecay: 5e-2 }],
  ['adamw, clipping, 1 − β₂ᵗ is 1', { optimizer: 'adamw', weightDecay: 5e-2, clipNorm: 1, step: 40000 }],
];

/** The tfjs-op form's numbers (apps/cli/src/optim.ts), op by op in float32. */
function reference(a: NativeOptimizerUpdateAttrs, vars: Float32Array[][], norm: number): Float32Array[] {
  const scale = a.clipNorm > 0 && norm > a.clipNorm ? f(a.clipNorm / (norm + 1e-6)) : 1;
  const [b1, omb1, b2, omb2] = [f(a.beta1), f(1 - a.beta1), f(a.beta2), f(1 - a.beta2)];
  const [bc1, bc2] = [f(1 - a.beta1 ** a.step), f(1 - a.beta2 ** a.step)];
  const [lr, mom, eps, lrwd] = [f(a.lr), f(a.momentum), f(a.eps), f(a.lr * a.weightDecay)];
  const out: Float32Array[] = [];
  vars.forEach(([w, g0, s0, s1], k) => {
    const n = w!.length;
    const wd = a.decay[k] ? f(a.weightDecay) : 0;
    const wo = new Float32Array(n),
      m = new Float32Array(n),
      v = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      let g = g0![i]!;
      if (scale !== 1) g = f(g * scale);
      if (a.optimizer !== 'adamw' && wd !== 0) g = f(g + f(w![i]! * wd));
      if (a.optimizer === 'sgd') {
        let upd = g;
        if (a.momentum > 0) {
          m[i] = f(f(s0![i]! * mom) + g);
          upd = a.nesterov ? f(g + f(m[i]! * mom)) : m[i]!;
        }
        wo[i] = f(w![i]! - f(upd * lr));
      } else {
        m[i] = f(f(s0![i]! * b1) + f(g * omb1));
        v[i] = f(f(s1![i]! * b2) + f(f(g * g) * omb2));
        const q = f(f(m[i]! / bc1) / f(f(Math.sqrt(f(v[i]! / bc2))) + eps));
        let next = f(w![i]! - f(q * lr));
        if (a.optimizer === 'adamw' && wd !== 0) next = f(next - f(w![i]! * lrwd));
        wo[i] = next;
      }
    }
    out.push(wo);
    if (a.optimizer !== 'sgd') out.push(m, v);
    else if (a.momentum > 0) out.push(m);
  });
  return out;
}

describe('NativeOptimizerUpdate', () => {
  for (const [label, over] of CASES) {
    it(`matches the float32 reference bit for bit, at 1 and 2 threads: ${label}`, async () => {
      await tf.setBackend('native');
      const a: NativeOptimizerUpdateAttrs = { ...BASE, ...over };
      const slots = a.optimizer === 'sgd' ? (a.momentum > 0 ? 1 : 0) : 2;
      const vars = SIZES.map((n, k) => [
        rand(n, 10 * k + 1),
        rand(n, 10 * k + 2).map((x) => x * 0.3),
        ...Array.from({ length: slots }, (_, s) =>
          rand(n, 10 * k + 3 + s).map((x) => (s === 1 ? x * x * 0.01 : x * 0.1)),
        ),
      ]);
      // The norm in double, from the float32 squares.
      let sq = 0;
      for (const [, g] of vars) for (const x of g!) sq += f(x * x);
      const normRef = Math.sqrt(sq);
      if (a.clipNorm > 0) expect(normRef).toBeGreaterThan(a.clipNorm);
      const addon = loadAddon('host').addon!;
      const before = addon.info().threads;
      const runs: Float32Array[][] = [];
      try {
        for (const threads of [1, 2]) {
          addon.setThreads(threads);
          const outs = tf.tidy(() => {
            const ins = vars.flat().map((x) => tf.tensor1d(x));
            return tf.engine().runKernel(NativeOptimizerUpdate, ins as never, a as never) as tf.Tensor[];
          });
          runs.push(outs.map((t) => t.dataSync() as Float32Array));
          tf.dispose(outs);
        }
      } finally {
        addon.setThreads(before);
      }
      const norm = runs[0]!.at(-1)![0]!;
      expect(Math.abs(norm - normRef) / normRef).toBeLessThan(1e-6);
      const ref = reference(a, vars, norm);
      expect(runs[0]!.length).toBe(ref.length + 1);
      ref.forEach((r, i) => expect(Array.from(runs[0]![i]!), `output ${i}`).toEqual(Array.from(r)));
      runs[1]!.forEach((o, i) => expect(Array.from(o), `output ${i} at 2 threads`).toEqual(Array.from(runs[0]![i]!)));
    });
  }
});
