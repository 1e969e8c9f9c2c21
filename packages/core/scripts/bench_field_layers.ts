/**
 * Forward + backward time of the steerable field layers (FieldBatchNorm in training, FieldNonlinearity 'norm-relu'
 * and 'gate', FieldInvariants) at the shapes of models' default gmrSteerableCNN, batch 32: what a training step
 * spends around its convolutions.
 *
 *   cd packages/core && GMR_KERNELS=file://$PWD/../kernels-cuda/dist/index.js nice -n 10 npx tsx scripts/bench_field_layers.ts native 9
 *   cd packages/core && nice -n 10 npx tsx scripts/bench_field_layers.ts cpu
 *
 * Prints the median of several runs per layer and shape, the kernels one forward + backward of it runs, and the
 * machine's load average next to each figure.
 */
import * as os from 'node:os';
import { initBackend, disposeBackends, tf } from '@gmr-conv/test-utils/backends';
import { timeIt } from '@gmr-conv/test-utils/timing';
import {
  FieldBatchNorm,
  fieldChannels,
  FieldInvariants,
  FieldNonlinearity,
  gatedFields,
  type Fields,
} from '../src/index.js';

const backend = process.argv[2] ?? 'cpu';
const runs = Number(process.argv[3] ?? 7);

/** The default network's field layers: [fields, spatial size]. */
const CASES: [Fields, number][] = [
  [[8, 8, 8], 28],
  [[16, 16, 16], 14],
  [[32, 16, 16], 7],
];

async function main() {
  const st = await initBackend(backend);
  if (!st.ok) throw new Error(`backend ${backend}: ${st.detail}`);
  const load = () =>
    os
      .loadavg()
      .map((l) => l.toFixed(2))
      .join(' ');
  const totals = new Map<string, number>();
  for (const [fields, size] of CASES) {
    const layers: [string, Fields, tfLayer, { training?: boolean }][] = [
      ['FieldBatchNorm (training)', fields, new FieldBatchNorm({ fields }), { training: true }],
      ['FieldNonlinearity norm-relu', fields, new FieldNonlinearity({ fields }), {}],
      ['FieldNonlinearity gate', gatedFields(fields), new FieldNonlinearity({ fields, mode: 'gate' }), {}],
      ['FieldInvariants', fields, new FieldInvariants({ fields }), {}],
    ];
    for (const [name, inFields, layer, kwargs] of layers) {
      const x = tf.randomNormal([32, size, size, fieldChannels(inFields)]);
      const y0 = layer.apply(x, kwargs) as tf.Tensor;
      const dy = tf.randomNormal(y0.shape);
      y0.dispose();
      // the input as a variable too, so one backward pass gives every gradient (as in a network)
      const xv = tf.variable(x);
      const vars = [xv, ...layer.trainableWeights.map((w) => (w as unknown as { val: tf.Variable }).val)];
      const step = () => {
        const { grads, value } = tf.variableGrads(
          () => tf.sum(tf.mul(layer.apply(xv, kwargs) as tf.Tensor, dy)) as tf.Scalar,
          vars,
        );
        return [value, ...Object.values(grads)];
      };
      const forward = await timeIt(() => layer.apply(x, kwargs) as tf.Tensor, runs);
      const both = await timeIt(step, runs);
      const prof = await tf.profile(() => tf.tidy(step));
      const kernels = new Map<string, number>();
      prof.kernels.forEach((k) => kernels.set(k.name, (kernels.get(k.name) ?? 0) + 1));
      totals.set(name, (totals.get(name) ?? 0) + both);
      console.log(
        `${backend} ${name} [${fields.join(', ')}] ${size}×${size}: forward ${forward.toFixed(1)} ms, forward+backward ${both.toFixed(1)} ms ` +
          `(median of ${runs}; load ${load()}); ${prof.kernels.length} kernels: ${[...kernels].map(([k, n]) => `${k}×${n}`).join(' ')}`,
      );
      tf.dispose([x, xv, dy]);
      layer.dispose();
    }
  }
  for (const [name, ms] of totals)
    console.log(
      `${backend} ${name}, all three shapes: forward+backward ${ms.toFixed(1)} ms (load ${load()}; ${os.cpus().length} cores)`,
    );
  disposeBackends();
}

type tfLayer = FieldBatchNorm | FieldNonlinearity | FieldInvariants;

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
