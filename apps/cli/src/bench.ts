/** gmr bench: median time of one training step and of one inference batch for the CLI's models; --profile adds the
 * per-kernel self time of each (where a step goes, kernel by kernel, on whichever backend runs). */
import { tf } from './backend.js';
import { buildModel, type ModelKind } from './model.js';
import { Optimizer } from './optim.js';
import { softmaxCrossEntropy } from '@gmr-conv/core';
import { BatchNormFolding, TrainingForward } from '@gmr-conv/models';

/** One kernel's share of a step: calls and self time (its own time, less the kernels it ran inside) per step. */
export interface KernelTime {
  kernel: string;
  calls: number;
  selfMs: number;
}

/** Where one step went: wall time, the part inside kernels, and the kernels by self time (largest first). */
export interface StepProfile {
  stepMs: number;
  kernelMs: number;
  outsideMs: number;
  kernels: KernelTime[];
}

export interface BenchResult {
  model: ModelKind;
  widths: number[];
  params: number;
  batch: number;
  trainStepMs: number;
  inferenceMs: number;
  /**
   * Process CPU time (every thread) of the same step and batch, medians: on a machine shared with other jobs wall
   * time includes the time others held the cores; CPU time much less so (compare it at one thread).
   */
  trainStepCpuMs: number;
  inferenceCpuMs: number;
  trainImagesPerSecond: number;
  inferenceImagesPerSecond: number;
  profile?: { train: StepProfile; inference: StepProfile };
}

const median = (v: number[]) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)];

/**
 * Times every kernel of the active backend by wrapping its kernel function (registered again on uninstall). Kernels
 * run synchronously and nest (a gradient kernel calling others), so a stack of child times gives each its self time.
 */
export class KernelProfiler {
  private readonly originals: tf.KernelConfig[] = [];
  private readonly self = new Map<string, { ms: number; calls: number }>();
  private readonly stack: number[] = [];

  install(): void {
    for (const k of tf.getKernelsForBackend(tf.getBackend())) {
      const f = k.kernelFunc;
      this.originals.push(k);
      tf.unregisterKernel(k.kernelName, k.backendName);
      tf.registerKernel({
        ...k,
        kernelFunc: ((args: Parameters<tf.KernelFunc>[0]) => {
          const t0 = performance.now();
          this.stack.push(0);
          try {
            return f(args);
          } finally {
            const dt = performance.now() - t0;
            const inner = this.stack.pop()!;
            const e = this.self.get(k.kernelName) ?? { ms: 0, calls: 0 };
            e.ms += dt - inner;
            e.calls++;
            this.self.set(k.kernelName, e);
            if (this.stack.length) this.stack[this.stack.length - 1] += dt;
          }
        }) as tf.KernelFunc,
      });
    }
  }

  uninstall(): void {
    for (const k of this.originals) {
      tf.unregisterKernel(k.kernelName, k.backendName);
      tf.registerKernel(k);
    }
    this.originals.length = 0;
  }

  /** The totals so far as a per-step profile of `steps` steps lasting `totalMs`; then starts again from zero. */
  take(steps: number, totalMs: number): StepProfile {
    const kernels = [...this.self.entries()]
      .map(([kernel, e]) => ({ kernel, calls: e.calls / steps, selfMs: e.ms / steps }))
      .sort((a, b) => b.selfMs - a.selfMs);
    this.self.clear();
    const stepMs = totalMs / steps;
    const kernelMs = kernels.reduce((s, r) => s + r.selfMs, 0);
    return { stepMs, kernelMs, outsideMs: Math.max(0, stepMs - kernelMs), kernels };
  }
}

export async function bench(
  kind: ModelKind,
  widths: [number, number, number],
  batch: number,
  runs: number,
  warmup: number,
  profile = false,
): Promise<BenchResult> {
  const model = buildModel({ kind, widths, numClasses: 10 }, 1);
  const vars = model.trainableWeights.map((w) => (w as unknown as { val: tf.Variable }).val);
  const names = model.trainableWeights.map((w) => w.originalName);
  const opt = new Optimizer(
    {
      optimizer: 'adam',
      lr: 1e-3,
      minLr: 1e-3,
      momentum: 0.9,
      nesterov: false,
      weightDecay: 0,
      beta1: 0.9,
      beta2: 0.999,
      eps: 1e-8,
      warmupSteps: 0,
      totalSteps: 1,
      clipNorm: 0,
    },
    vars,
    names,
  );
  const x = tf.randomUniform([batch, 28, 28, 1], 0, 1, 'float32', 1);
  const y = tf.oneHot(
    tf.tensor1d(
      Array.from({ length: batch }, (_, i) => i % 10),
      'int32',
    ),
    10,
  );
  const train: number[] = [];
  const infer: number[] = [];
  const forward = new TrainingForward(model);
  const trainStep = async (i: number) => {
    const { value, grads } = tf.variableGrads(() => softmaxCrossEntropy(y, forward.apply(x)), vars);
    await opt.apply(grads, i);
    await value.data();
    tf.dispose([value, ...Object.values(grads)]);
  };
  // Inference with batch norm folded into the convolutions (cached folded weights); GMR_BENCH_NO_FOLD=1 times the
  // unfolded model (kernels-cuda's bench/fused_step_ab.mjs compares the two).
  const folding = process.env.GMR_BENCH_NO_FOLD === '1' ? null : new BatchNormFolding(model);
  const inference = async () => {
    const out = folding ? folding.predict(x) : (model.predict(x) as tf.Tensor);
    await out.data();
    out.dispose();
  };
  const trainCpu: number[] = [];
  const inferCpu: number[] = [];
  const cpuMs = (since: NodeJS.CpuUsage) => {
    const c = process.cpuUsage(since);
    return (c.user + c.system) / 1000;
  };
  // Training steps first, then inference batches on the trained (now fixed) weights: inference is timed as a deployed
  // model runs, its caches (the folded batch norm, the GMR layers' basis) built once in its warm-up; timed right after
  // each step it would rebuild them every time. pytorch_cnn.py (kernels-cuda's bench) times PyTorch the same way.
  for (let i = 0; i < warmup + runs; i++) {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    await trainStep(i);
    const t1 = performance.now();
    if (i >= warmup) {
      train.push(t1 - t0);
      trainCpu.push(cpuMs(c0));
    }
  }
  for (let i = 0; i < warmup + runs; i++) {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    await inference();
    const t1 = performance.now();
    if (i >= warmup) {
      infer.push(t1 - t0);
      inferCpu.push(cpuMs(c0));
    }
  }
  const r: BenchResult = {
    model: kind,
    widths,
    params: model.trainableWeights.reduce((a, w) => a + w.shape.reduce((p: number, q) => p * (q ?? 1), 1), 0),
    batch,
    trainStepMs: median(train),
    inferenceMs: median(infer),
    trainStepCpuMs: median(trainCpu),
    inferenceCpuMs: median(inferCpu),
    trainImagesPerSecond: 0,
    inferenceImagesPerSecond: 0,
  };
  r.trainImagesPerSecond = (1000 * batch) / r.trainStepMs;
  r.inferenceImagesPerSecond = (1000 * batch) / r.inferenceMs;
  if (profile) {
    // Separate runs after the timed ones, so that the wrappers' small cost stays out of the medians above.
    const p = new KernelProfiler();
    p.install();
    try {
      let t0 = performance.now();
      for (let i = 0; i < runs; i++) await trainStep(warmup + runs + i);
      const trainProfile = p.take(runs, performance.now() - t0);
      t0 = performance.now();
      for (let i = 0; i < runs; i++) await inference();
      r.profile = { train: trainProfile, inference: p.take(runs, performance.now() - t0) };
    } finally {
      p.uninstall();
    }
  }
  tf.dispose([x, y]);
  folding?.dispose();
  opt.dispose();
  model.dispose();
  return r;
}

/** A profile as table rows: the top kernels by self time, then the time outside any kernel (JS, tape, reads). */
export function profileRows(p: StepProfile, top = 20): string[][] {
  const pct = (ms: number) => `${((100 * ms) / p.stepMs).toFixed(1)} %`;
  const rows = p.kernels
    .slice(0, top)
    .map((k) => [k.kernel, k.calls.toFixed(k.calls % 1 ? 1 : 0), k.selfMs.toFixed(2), pct(k.selfMs)]);
  const rest = p.kernels.slice(top);
  if (rest.length) {
    const ms = rest.reduce((s, k) => s + k.selfMs, 0);
    rows.push([
      `(${rest.length} other kernels)`,
      rest.reduce((s, k) => s + k.calls, 0).toFixed(0),
      ms.toFixed(2),
      pct(ms),
    ]);
  }
  rows.push(['(outside kernels)', '', p.outsideMs.toFixed(2), pct(p.outsideMs)]);
  return [['kernel', 'calls/step', 'self ms/step', 'share'], ...rows];
}
