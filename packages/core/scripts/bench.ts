/**
 * `pnpm bench layer [--backend cpu|wasm|webgpu|all] [--json FILE] [--runs N]`
 *
 * Median milliseconds of forward and forward+backward for a GMR layer
 * (64→64, k=9, 32×32, batch 8, channels-last) on each path, for a plain conv of
 * the same shape, and for k = 3, 5, 7, 9, 11 (how cost grows with k).
 * A benchmark prints figures; it asserts nothing.
 */
import { Command } from 'commander';
import * as os from 'node:os';
import { initBackend, disposeBackends, tf } from '@gmr-conv/test-utils/backends';
import { timeIt, writeRecords } from '@gmr-conv/test-utils/timing';
import { gmrConv2d, initialLogSigmas, defaultNumRings } from '../src/index.js';
import { convNd } from '../src/kernel/composed/conv_primitive.js';

type Path = 'auto' | 'two-stage' | 'dense' | 'plain-conv';
interface BenchRecord {
  backend: string;
  path: Path;
  resolved_path?: string;
  kernel: number;
  channels: number;
  size: number;
  batch: number;
  layout: 'channelsLast';
  forward_ms: number;
  forward_backward_ms: number;
}

async function benchOne(
  backend: string,
  path: Path,
  k: number,
  c: number,
  size: number,
  batch: number,
  runs: number,
): Promise<BenchRecord> {
  const n = defaultNumRings(k);
  const x = tf.randomNormal([batch, size, size, c], 0, 1, 'float32', 1);
  const theta = tf.randomNormal([c, c, n], 0, 0.05, 'float32', 2);
  const logSigmas = tf.tensor1d(initialLogSigmas(k, n));
  const bias = tf.zeros([c]);
  const plainKernel = tf.randomNormal([k, k, c, c], 0, 0.05, 'float32', 3);
  const forward = (xx: tf.Tensor, w: tf.Tensor, ls: tf.Tensor, b: tf.Tensor) =>
    path === 'plain-conv'
      ? // Plain conv with the same forward-only backward as GMR (wasm has no Conv2DBackpropFilter).
        tf.add(
          convNd(xx, w, {
            strides: [1, 1],
            dilations: [1, 1],
            pads: [
              [(k - 1) >> 1, k >> 1],
              [(k - 1) >> 1, k >> 1],
            ],
          }),
          b,
        )
      : gmrConv2d(xx, { weight: w, logSigmas: ls, bias: b }, { kernelSize: k, padding: 'same', path });
  const w0 = path === 'plain-conv' ? plainKernel : theta;
  const fwd = await timeIt(() => tf.tidy(() => forward(x, w0, logSigmas, bias)), runs);
  const fb = await timeIt(
    () =>
      tf.tidy(() => {
        const vars = path === 'plain-conv' ? [x, w0, bias] : [x, w0, logSigmas, bias];
        return tf.grads((...a: tf.Tensor[]) =>
          tf.sum(path === 'plain-conv' ? forward(a[0], a[1], logSigmas, a[2]) : forward(a[0], a[1], a[2], a[3])),
        )(vars);
      }),
    runs,
  );
  tf.dispose([x, theta, logSigmas, bias, plainKernel]);
  return {
    backend,
    path,
    kernel: k,
    channels: c,
    size,
    batch,
    layout: 'channelsLast',
    forward_ms: +fwd.toFixed(2),
    forward_backward_ms: +fb.toFixed(2),
  };
}

async function main() {
  const program = new Command()
    .name('bench')
    .argument('[suite]', "suite to run: 'layer'", 'layer')
    .option('--backend <name>', 'cpu, wasm, webgpu or all', 'all')
    .option('--json <file>', 'also write the records as a JSON array')
    .option('--runs <n>', 'timed runs per figure (median reported)', '5')
    .option('--quick', 'only the 64→64 k=9 layer (skip the kernel-size sweep)')
    .parse(process.argv);
  const [suite] = program.args.length ? program.args : ['layer'];
  const opts = program.opts<{ backend: string; json?: string; runs: string; quick?: boolean }>();
  if (suite !== 'layer') {
    console.error(`bench: unknown suite '${suite}' (this package has: layer)`);
    process.exit(2);
  }
  const runs = Number(opts.runs);
  if (!Number.isInteger(runs) || runs < 1) {
    console.error(`bench: --runs must be a positive integer, got ${opts.runs}`);
    process.exit(2);
  }
  const backends = opts.backend === 'all' ? ['cpu', 'wasm', 'webgpu'] : opts.backend.split(',');
  const records: BenchRecord[] = [];
  console.log(
    `machine: ${os.cpus()[0]?.model ?? 'unknown cpu'} × ${os.cpus().length}, Node ${process.version}, tfjs ${tf.version.tfjs}`,
  );
  for (const backend of backends) {
    const st = await initBackend(backend as never);
    if (!st.ok) {
      console.log(`${backend}: not available (${st.detail})`);
      continue;
    }
    console.log(`\nbackend ${backend} (${st.detail})`);
    console.log('path        k   C→C    size batch  forward_ms  fwd+bwd_ms');
    const emit = (r: BenchRecord) => {
      records.push(r);
      console.log(
        `${r.path.padEnd(10)} ${String(r.kernel).padStart(2)}  ${r.channels}→${r.channels}  ${r.size}×${r.size}  ${String(r.batch).padStart(3)}  ${r.forward_ms.toFixed(1).padStart(10)}  ${r.forward_backward_ms.toFixed(1).padStart(10)}`,
      );
    };
    for (const path of ['auto', 'two-stage', 'dense', 'plain-conv'] as Path[]) {
      // The cpu backend's dense 64→64 k=9 takes minutes per pass: time it once.
      const r = backend === 'cpu' && (path === 'dense' || path === 'plain-conv') ? 1 : runs;
      emit(await benchOne(backend, path, 9, 64, 32, 8, r));
    }
    if (!opts.quick) {
      for (const k of [3, 5, 7, 9, 11]) {
        for (const path of ['auto', 'two-stage', 'dense', 'plain-conv'] as Path[]) {
          if (backend === 'cpu' && (path === 'dense' || path === 'plain-conv') && k > 5) continue;
          emit(await benchOne(backend, path, k, 16, 32, 8, Math.max(1, Math.min(runs, 3))));
        }
      }
    }
  }
  if (opts.json) writeRecords(opts.json, records);
  disposeBackends();
}

main().catch((e) => {
  console.error(`bench: ${(e as Error).message}`);
  process.exit(1);
});
