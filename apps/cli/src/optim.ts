/**
 * Optimisers written out (their state is part of the checkpoint, so a resumed run continues bit for bit):
 * SGD with momentum (PyTorch's form, optional Nesterov), Adam and AdamW. Weight decay applies to every
 * trainable weight except the GMR sigmas (`log_sigmas`), as in the paper; global-norm gradient clipping;
 * cosine learning-rate schedule with linear warm-up, per step.
 *
 * Two forms of the same step. Where the backend registers @gmr-conv/kernels-cuda's NativeOptimizerUpdate kernel
 * ('native', 'cuda'), every variable, its state and the gradient norm are updated in one native call; elsewhere
 * (and with `fused: false`) about 14 small tfjs ops per variable. The kernel performs the tfjs-op path's float32
 * operations in the same order, so both forms give the same numbers (the test checks it step by step), and a
 * checkpoint written by one resumes with the other.
 */
import { tf } from './backend.js';
import type { NamedArray } from './model.js';
// Types only (erased): the package itself is imported when its backend is chosen (backend.ts).
import type { NativeOptimizerUpdateAttrs } from '@gmr-conv/kernels-cuda';

export const OPTIMIZERS = ['sgd', 'adam', 'adamw'] as const;

/**
 * The fused update's kernel name (@gmr-conv/kernels-cuda's NativeOptimizerUpdate; looked up by name in the kernel
 * registry, since that package is imported only when its backend is chosen).
 */
export const FUSED_UPDATE_KERNEL = 'NativeOptimizerUpdate';
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

export interface OptimizerOptions {
  /**
   * Use the fused native update where the backend has it (default true, or false when the environment sets
   * GMR_FUSED_OPTIMIZER=0, for comparing the two forms in benchmarks); false: always the tfjs-op path.
   */
  fused?: boolean;
}

export class Optimizer {
  private slots = new Map<string, tf.Variable[]>();
  constructor(
    readonly config: OptimConfig,
    private readonly vars: tf.Variable[],
    private readonly names: string[],
    private readonly options: OptimizerOptions = {},
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
    if (this.usesFusedUpdate()) return this.applyFused(gs, lr, s + 1);
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

  /** Whether apply() runs the one native call (the backend registers the kernel and `fused` is not false). */
  usesFusedUpdate(): boolean {
    const fused = this.options.fused ?? process.env.GMR_FUSED_OPTIMIZER !== '0';
    return fused && tf.getKernel(FUSED_UPDATE_KERNEL, tf.getBackend()) != null;
  }

  /** The whole step in one kernel call: inputs per variable (w, g, state…), outputs per variable (w, state…), norm. */
  private async applyFused(gs: tf.Tensor[], lr: number, t: number): Promise<number> {
    const c = this.config;
    const inputs: tf.Tensor[] = [];
    this.vars.forEach((w, i) => inputs.push(w, gs[i], ...this.slots.get(this.names[i])!));
    const attrs: NativeOptimizerUpdateAttrs = {
      optimizer: c.optimizer,
      lr,
      momentum: c.momentum,
      nesterov: c.nesterov,
      weightDecay: c.weightDecay,
      beta1: c.beta1,
      beta2: c.beta2,
      eps: c.eps,
      step: t,
      clipNorm: c.clipNorm,
      decay: this.names.map(decays),
    };
    const outs = tf
      .engine()
      .runKernel(
        FUSED_UPDATE_KERNEL,
        inputs as unknown as tf.NamedTensorMap,
        attrs as unknown as tf.NamedAttrMap,
      ) as tf.Tensor[];
    const per = 1 + this.slotCount();
    this.vars.forEach((w, i) => {
      w.assign(outs[i * per]);
      this.slots.get(this.names[i])!.forEach((v, k) => v.assign(outs[i * per + 1 + k]));
    });
    const normValue = (await outs[outs.length - 1].data())[0];
    for (const o of outs) o.dispose();
    return normValue;
  }

  async state(): Promise<NamedArray[]> {
    const out: NamedArray[] = [];
    for (const [name, slots] of this.slots)
      for (const [k, v] of slots.entries())
        out.push({ name: `${name}#${k}`, shape: v.shape, data: (await v.data()) as Float32Array });
    return out;
  }

  load(state: Map<string, Float32Array>): void {
    for (const [name, slots] of this.slots)
      slots.forEach((v, k) => {
        const d = state.get(`${name}#${k}`);
        if (!d || d.length !== v.size)
          throw new Error(`optimizer state for ${name}#${k} is missing or has the wrong size`);
        const t = tf.tensor(d, v.shape);
        v.assign(t);
        t.dispose();
      });
  }

  dispose(): void {
    for (const slots of this.slots.values()) slots.forEach((v) => v.dispose());
  }
}
