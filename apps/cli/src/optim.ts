/**
 * Optimisers written out (their state is part of the checkpoint, so a resumed run continues bit for bit):
 * SGD with momentum (PyTorch's form, optional Nesterov), Adam and AdamW. Weight decay applies to every
 * trainable weight except the GMR sigmas (`log_sigmas`), as in the paper; global-norm gradient clipping;
 * cosine learning-rate schedule with linear warm-up, per step.
 */
import { tf } from './backend.js';
import type { NamedArray } from './model.js';

export const OPTIMIZERS = ['sgd', 'adam', 'adamw'] as const;
export type OptimizerName = (typeof OPTIMIZERS)[number];

export interface OptimConfig {
  optimizer: OptimizerName;
  lr: number;
  minLr: number;
  momentum: number;
  nesterov: boolean;
  weightDecay: number;
  beta1: number;
  beta2: number;
  eps: number;
  warmupSteps: number;
  totalSteps: number;
  clipNorm: number; // 0: off
}

/** Learning rate at step s (0-based): linear warm-up to lr, then cosine down to minLr at totalSteps. */
export function learningRate(c: OptimConfig, s: number): number {
  if (c.warmupSteps > 0 && s < c.warmupSteps) return (c.lr * (s + 1)) / c.warmupSteps;
  const span = Math.max(1, c.totalSteps - c.warmupSteps);
  const p = Math.min(1, (s - c.warmupSteps) / span);
  return c.minLr + 0.5 * (c.lr - c.minLr) * (1 + Math.cos(Math.PI * p));
}

/** Whether weight decay applies to a weight (never to the sigmas). */
export function decays(name: string): boolean {
  return !/log_sigmas?$/.test(name) && !name.includes('log_sigma');
}

export class Optimizer {
  private slots = new Map<string, tf.Variable[]>();
  constructor(
    readonly config: OptimConfig,
    private readonly vars: tf.Variable[],
    private readonly names: string[],
  ) {
    for (let i = 0; i < vars.length; i++) {
      const n = this.slotCount();
      this.slots.set(
        names[i],
        Array.from({ length: n }, () => tf.variable(tf.zerosLike(vars[i]), false)),
      );
    }
  }

  private slotCount(): number {
    return this.config.optimizer === 'sgd' ? (this.config.momentum > 0 ? 1 : 0) : 2;
  }

  /** Applies one update for step s (0-based); returns the gradient norm before clipping. */
  async apply(grads: tf.NamedTensorMap, s: number): Promise<number> {
    const c = this.config;
    const lr = learningRate(c, s);
    const gs = this.names.map((n) => grads[this.vars[this.names.indexOf(n)].name]);
    const norm = tf.tidy(() => tf.sqrt(tf.addN(gs.map((g) => tf.sum(tf.square(g))))));
    // data(), not dataSync(): the webgpu backend cannot read synchronously in Node.
    const normValue = (await norm.data())[0];
    norm.dispose();
    const scale = c.clipNorm > 0 && normValue > c.clipNorm ? c.clipNorm / (normValue + 1e-6) : 1;
    const t = s + 1;
    tf.tidy(() => {
      this.vars.forEach((w, i) => {
        const name = this.names[i];
        let g: tf.Tensor = gs[i];
        if (scale !== 1) g = tf.mul(g, scale);
        const wd = decays(name) ? c.weightDecay : 0;
        const slots = this.slots.get(name)!;
        if (c.optimizer === 'sgd') {
          if (wd) g = tf.add(g, tf.mul(w, wd));
          let update = g;
          if (c.momentum > 0) {
            const v = tf.add(tf.mul(slots[0], c.momentum), g);
            slots[0].assign(v);
            update = c.nesterov ? tf.add(g, tf.mul(v, c.momentum)) : v;
          }
          w.assign(tf.sub(w, tf.mul(update, lr)));
        } else {
          if (c.optimizer === 'adam' && wd) g = tf.add(g, tf.mul(w, wd));
          const m = tf.add(tf.mul(slots[0], c.beta1), tf.mul(g, 1 - c.beta1));
          const v = tf.add(tf.mul(slots[1], c.beta2), tf.mul(tf.square(g), 1 - c.beta2));
          slots[0].assign(m);
          slots[1].assign(v);
          const mHat = tf.div(m, 1 - c.beta1 ** t);
          const vHat = tf.div(v, 1 - c.beta2 ** t);
          let next = tf.sub(w, tf.mul(tf.div(mHat, tf.add(tf.sqrt(vHat), c.eps)), lr));
          if (c.optimizer === 'adamw' && wd) next = tf.sub(next, tf.mul(w, lr * wd));
          w.assign(next);
        }
      });
    });
    return normValue;
  }

  async state(): Promise<NamedArray[]> {
    const out: NamedArray[] = [];
    for (const [name, slots] of this.slots) for (const [k, v] of slots.entries()) out.push({ name: `${name}#${k}`, shape: v.shape, data: (await v.data()) as Float32Array });
    return out;
  }

  load(state: Map<string, Float32Array>): void {
    for (const [name, slots] of this.slots)
      slots.forEach((v, k) => {
        const d = state.get(`${name}#${k}`);
        if (!d || d.length !== v.size) throw new Error(`optimizer state for ${name}#${k} is missing or has the wrong size`);
        const t = tf.tensor(d, v.shape);
        v.assign(t);
        t.dispose();
      });
  }

  dispose(): void {
    for (const slots of this.slots.values()) slots.forEach((v) => v.dispose());
  }
}
