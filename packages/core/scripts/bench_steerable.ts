/**
 * Forward + backward time of GMRSteerableConv2D's two paths ('rings': one GMR op on angle-weighted ring masks;
 * 'dense': synthesised kernel and tf.conv2d), for picking the layer's default path.
 *
 *   GMR_KERNELS=file://$PWD/packages/kernels-cuda/dist/index.js nice -n 10 npx tsx packages/core/scripts/bench_steerable.ts native
 *   nice -n 10 npx tsx packages/core/scripts/bench_steerable.ts cpu
 *
 * Case (the issue's): 16 order-0 input channels → fields [8, 8, 8] (40 channels), k = 7, 28×28, batch 32.
 * Prints the median of several runs and the machine's load average next to each figure.
 */
import * as os from 'node:os';
import { initBackend, disposeBackends, tf } from '@gmr-conv/test-utils/backends';
import { timeIt } from '@gmr-conv/test-utils/timing';
import { GMRSteerableConv2D } from '../src/index.js';

const backend = process.argv[2] ?? 'cpu';
const runs = Number(process.argv[3] ?? 5);

async function main() {
  const st = await initBackend(backend);
  if (!st.ok) throw new Error(`backend ${backend}: ${st.detail}`);
  const x = tf.randomNormal([32, 28, 28, 16]);
  const dy = tf.randomNormal([32, 28, 28, 40]);
  for (const path of ['rings', 'dense'] as const) {
    const layer = new GMRSteerableConv2D({ fields: [8, 8, 8], kernelSize: 7, path });
    layer.apply(x);
    const vars = layer.trainableWeights.map((w) => (w as unknown as { val: tf.Variable }).val);
    const forward = await timeIt(() => layer.apply(x) as tf.Tensor, runs);
    const step = await timeIt(() => {
      const { grads, value } = tf.variableGrads(
        () => tf.sum(tf.mul(layer.apply(x) as tf.Tensor, dy)) as tf.Scalar,
        vars,
      );
      return [value, ...Object.values(grads)];
    }, runs);
    console.log(
      `${backend} ${path}: forward ${forward.toFixed(1)} ms, forward+backward ${step.toFixed(1)} ms (median of ${runs}; load ${os
        .loadavg()
        .map((l) => l.toFixed(2))
        .join(' ')}; ${os.cpus().length} cores)`,
    );
    layer.dispose();
  }
  tf.dispose([x, dy]);
  disposeBackends();
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
