/**
 * The optimiser step alone, fused (one NativeOptimizerUpdate call) against the tfjs-op path, on the trainable
 * variables of the CLI's networks, on `native`: the two forms alternate step by step in one process, each step's
 * wall time and process CPU time recorded (CPU time moves less than wall time on a machine shared with other jobs);
 * medians, the 1-minute load average printed before and after. Then the same for a whole training step (batch 32,
 * 28×28: forward, gradients, update) with each optimiser form, and for inference with and without batch norm
 * folded (models' BatchNormFolding).
 *   node --import tsx bench/optimizer_step.ts [steps=60] [optimizer=adam]   (GMR_NATIVE_THREADS=1 for one thread)
 */
import { loadavg } from 'node:os';
import { setupBackend, tf } from '../src/backend.js';
import { buildModel } from '../src/model.js';
import { Optimizer, OPTIMIZERS, type OptimizerName } from '../src/optim.js';
import { BatchNormFolding } from '@gmr-conv/models';

const steps = Number(process.argv[2] ?? 60);
const optimizer = (process.argv[3] ?? 'adam') as OptimizerName;
if (!OPTIMIZERS.includes(optimizer))
  throw new Error(`optimizer must be one of ${OPTIMIZERS.join(', ')}, got ${optimizer}`);
const backend = await setupBackend('native');
console.log(`${backend.detail}; load ${loadavg()[0].toFixed(2)}`);
const median = (v: number[]) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)]!;

/** Runs each form's function once per round, alternating, `rounds` times after 5 warm-up rounds; medians. */
async function alternate(forms: Record<string, () => Promise<void>>, rounds: number): Promise<string> {
  const wall: Record<string, number[]> = {};
  const cpu: Record<string, number[]> = {};
  for (let s = 0; s < rounds + 5; s++) {
    for (const [form, f] of Object.entries(forms)) {
      const c0 = process.cpuUsage();
      const t0 = performance.now();
      await f();
      const t1 = performance.now();
      const c = process.cpuUsage(c0);
      if (s < 5) continue;
      (wall[form] ??= []).push(t1 - t0);
      (cpu[form] ??= []).push((c.user + c.system) / 1000);
    }
  }
  return Object.keys(forms)
    .map((f) => `${f} ${median(wall[f]!).toFixed(2)} ms (CPU ${median(cpu[f]!).toFixed(2)} ms)`)
    .join(', ');
}

for (const [kind, widths] of [
  ['gmr-cnn', [24, 48, 96]],
  ['plain-cnn', [16, 32, 64]],
] as const) {
  const model = buildModel({ kind, widths: [...widths], numClasses: 10 } as never, 1);
  const vars = model.trainableWeights.map((w) => (w as unknown as { val: tf.Variable }).val);
  const names = model.trainableWeights.map((w) => w.originalName);
  const config = {
    optimizer,
    lr: 1e-3,
    minLr: 1e-3,
    momentum: 0.9,
    nesterov: false,
    weightDecay: 1e-4,
    beta1: 0.9,
    beta2: 0.999,
    eps: 1e-8,
    warmupSteps: 0,
    totalSteps: 1,
    clipNorm: 1,
  };
  const forms = {
    ops: new Optimizer(config, vars, names, { fused: false }),
    fused: new Optimizer(config, vars, names, { fused: true }),
  };
  const grads: tf.NamedTensorMap = {};
  vars.forEach((v, i) => (grads[v.name] = tf.mul(tf.randomNormal(v.shape, 0, 1, 'float32', i), 1e-3)));
  let step = 0;
  const only = await alternate(
    {
      'tfjs ops': () => forms.ops.apply(grads, step++).then(() => {}),
      fused: () => forms.fused.apply(grads, step++).then(() => {}),
    },
    steps,
  );
  const params = vars.reduce((a, v) => a + v.size, 0);
  console.log(
    `${kind} (${vars.length} variables, ${params} weights), ${optimizer} with weight decay and clipping, median of ${steps}: ` +
      `${only}; load ${loadavg()[0].toFixed(2)}`,
  );
  const x = tf.randomUniform([32, 28, 28, 1], 0, 1, 'float32', 1);
  const y = tf.oneHot(
    tf.tensor1d(
      Array.from({ length: 32 }, (_, i) => i % 10),
      'int32',
    ),
    10,
  );
  const trainStep = (opt: Optimizer) => async () => {
    const r = tf.variableGrads(
      () => tf.losses.softmaxCrossEntropy(y, model.apply(x, { training: true }) as tf.Tensor) as tf.Scalar,
      vars,
    );
    await opt.apply(r.grads, step++);
    await r.value.data();
    tf.dispose([r.value, ...Object.values(r.grads)]);
  };
  const whole = await alternate(
    { 'tfjs ops': trainStep(forms.ops), fused: trainStep(forms.fused) },
    Math.ceil(steps / 4),
  );
  console.log(
    `${kind} training step (batch 32), median of ${Math.ceil(steps / 4)}: ${whole}; load ${loadavg()[0].toFixed(2)}`,
  );
  const folding = new BatchNormFolding(model);
  const infer = (f: () => tf.Tensor) => async () => {
    const out = f();
    await out.data();
    out.dispose();
  };
  const inference = await alternate(
    { unfolded: infer(() => model.predict(x) as tf.Tensor), folded: infer(() => folding.predict(x)) },
    steps,
  );
  console.log(`${kind} inference (batch 32), median of ${steps}: ${inference}; load ${loadavg()[0].toFixed(2)}`);
  folding.dispose();
  tf.dispose([x, y, ...Object.values(grads)]);
  forms.ops.dispose();
  forms.fused.dispose();
  model.dispose();
}
