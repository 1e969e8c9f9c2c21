/**
 * The optimiser step alone, fused (one NativeOptimizerUpdate call) against the tfjs-op path, on the trainable
 * variables of the CLI's networks, on `native`: the two forms alternate step by step in one process, each step's
 * wall time and process CPU time recorded (CPU time moves less than wall time on a machine shared with other jobs);
 * medians, the 1-minute load average printed before and after.
 *   node --import tsx bench/optimizer_step.ts [steps=60] [optimizer=adam]   (GMR_NATIVE_THREADS=1 for one thread)
 */
import { loadavg } from 'node:os';
import { setupBackend, tf } from '../src/backend.js';
import { buildModel } from '../src/model.js';
import { Optimizer, OPTIMIZERS, type OptimizerName } from '../src/optim.js';

const steps = Number(process.argv[2] ?? 60);
const optimizer = (process.argv[3] ?? 'adam') as OptimizerName;
if (!OPTIMIZERS.includes(optimizer)) throw new Error(`optimizer must be one of ${OPTIMIZERS.join(', ')}, got ${optimizer}`);
const backend = await setupBackend('native');
console.log(`${backend.detail}; load ${loadavg()[0].toFixed(2)}`);
const median = (v: number[]) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)]!;

for (const [kind, widths] of [['gmr-cnn', [24, 48, 96]], ['plain-cnn', [16, 32, 64]]] as const) {
  const model = buildModel({ kind, widths: [...widths], numClasses: 10 } as never, 1);
  const vars = model.trainableWeights.map((w) => (w as unknown as { val: tf.Variable }).val);
  const names = model.trainableWeights.map((w) => w.originalName);
  const config = { optimizer, lr: 1e-3, minLr: 1e-3, momentum: 0.9, nesterov: false, weightDecay: 1e-4, beta1: 0.9, beta2: 0.999, eps: 1e-8, warmupSteps: 0, totalSteps: 1, clipNorm: 1 };
  const forms = { ops: new Optimizer(config, vars, names, { fused: false }), fused: new Optimizer(config, vars, names, { fused: true }) };
  const grads: tf.NamedTensorMap = {};
  vars.forEach((v, i) => (grads[v.name] = tf.mul(tf.randomNormal(v.shape, 0, 1, 'float32', i), 1e-3)));
  const wall: Record<string, number[]> = { ops: [], fused: [] };
  const cpu: Record<string, number[]> = { ops: [], fused: [] };
  for (let s = 0; s < steps + 5; s++) {
    for (const [form, opt] of Object.entries(forms)) {
      const c0 = process.cpuUsage();
      const t0 = performance.now();
      await opt.apply(grads, s);
      const t1 = performance.now();
      const c = process.cpuUsage(c0);
      if (s >= 5) {
        wall[form]!.push(t1 - t0);
        cpu[form]!.push((c.user + c.system) / 1000);
      }
    }
  }
  const params = vars.reduce((a, v) => a + v.size, 0);
  console.log(
    `${kind} (${vars.length} variables, ${params} weights), ${optimizer} with weight decay and clipping, median of ${steps}: ` +
      `tfjs ops ${median(wall.ops!).toFixed(2)} ms (CPU ${median(cpu.ops!).toFixed(2)} ms), ` +
      `fused ${median(wall.fused!).toFixed(2)} ms (CPU ${median(cpu.fused!).toFixed(2)} ms); load ${loadavg()[0].toFixed(2)}`,
  );
  tf.dispose(Object.values(grads));
  forms.ops.dispose();
  forms.fused.dispose();
  model.dispose();
}
