/**
 * `pnpm bench webgpu [--json FILE] [--runs N] [--quick] [--channels 16,64] [--kernels 5,9,11] [--sizes 32,64] [--batch 8]`
 *
 * Median milliseconds of forward and forward+backward (gradients w.r.t. x, θ, log σ and bias) of a GMR layer
 * C→C, k×k, 'same', channels-last, with this package's fused kernels ('fused') and with core's composed path on
 * the same adapter ('composed'). A benchmark prints figures; it asserts nothing.
 */
import * as os from 'node:os';
import { initBackend, disposeBackends, tf } from '../../core/tools/backends.js';
import { timeIt, writeRecords } from '../../core/tools/timing.js';
import { gmrConv2d, initialLogSigmas, defaultNumRings } from '@gmr-conv/core';

interface BenchRecord {
  adapter: string;
  runtime: 'node' | 'chromium';
  impl: 'fused' | 'composed';
  kernel: number;
  channels: number;
  size: number;
  batch: number;
  forward_ms: number;
  forward_backward_ms: number;
}


function parseArgs(argv: string[]) {
  const o: Record<string, string | boolean> = {};
  const positional: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--quick') o.quick = true;
    else if (a.startsWith('--')) o[a.slice(2)] = argv[++i] ?? '';
    else positional.push(a);
  }
  return { o, positional };
}

const list = (v: string | boolean | undefined, d: number[]) => (typeof v === 'string' && v ? v.split(',').map(Number) : d);

async function main() {
  const { o, positional } = parseArgs(process.argv.slice(2));
  const suite = positional[0] ?? 'webgpu';
  if (suite !== 'webgpu') {
    console.error(`bench: unknown suite '${suite}' (this package has: webgpu)`);
    process.exit(2);
  }
  const runs = Number(o.runs ?? 5);
  const channels = list(o.channels, o.quick ? [16] : [16, 64]);
  const kernels = list(o.kernels, o.quick ? [9] : [5, 9, 11]);
  const sizes = list(o.sizes, o.quick ? [32] : [32, 64]);
  const batch = Number(o.batch ?? 8);
  const st = await initBackend('webgpu');
  if (!st.ok) {
    console.error(`bench: webgpu not available (${st.detail})`);
    process.exit(1);
  }
  const kernelsMod = await import('../src/index.js');
  const adapter = st.detail.replace(/^tfjs webgpu backend on /, '').replace(/; conv2d check.*$/, '');
  console.log(`machine: ${os.cpus()[0]?.model ?? 'unknown cpu'} × ${os.cpus().length}, Node ${process.version}, tfjs ${tf.version.tfjs}`);
  console.log(`adapter: ${adapter}`);
  console.log('impl       k    C→C    size batch  forward_ms  fwd+bwd_ms');
  const records: BenchRecord[] = [];
  for (const c of channels)
    for (const size of sizes)
      for (const k of kernels) {
        const n = defaultNumRings(k);
        const x = tf.randomNormal([batch, size, size, c], 0, 1, 'float32', 1);
        const theta = tf.randomNormal([c, c, n], 0, 0.05, 'float32', 2);
        const logSigmas = tf.tensor1d(initialLogSigmas(k, n));
        const bias = tf.zeros([c]);
        const forward = (xx: tf.Tensor, w: tf.Tensor, ls: tf.Tensor, b: tf.Tensor) =>
          gmrConv2d(xx, { weight: w, logSigmas: ls, bias: b }, { kernelSize: k, padding: 'same', checkFinite: false });
        for (const impl of ['fused', 'composed'] as const) {
          if (impl === 'fused') kernelsMod.registerWebGPUKernels();
          else kernelsMod.unregisterWebGPUKernels();
          const fwd = await timeIt(() => tf.tidy(() => forward(x, theta, logSigmas, bias)), runs);
          const fb = await timeIt(
            () => tf.tidy(() => tf.grads((...a: tf.Tensor[]) => tf.sum(forward(a[0]!, a[1]!, a[2]!, a[3]!)))([x, theta, logSigmas, bias])),
            runs,
          );
          const r: BenchRecord = { adapter, runtime: 'node', impl, kernel: k, channels: c, size, batch, forward_ms: +fwd.toFixed(2), forward_backward_ms: +fb.toFixed(2) };
          records.push(r);
          console.log(`${impl.padEnd(9)} ${String(k).padStart(2)}  ${String(c).padStart(3)}→${String(c).padEnd(3)} ${String(size).padStart(3)}×${String(size).padEnd(3)} ${String(batch).padStart(3)}  ${fwd.toFixed(1).padStart(10)}  ${fb.toFixed(1).padStart(10)}`);
        }
        kernelsMod.registerWebGPUKernels();
        tf.dispose([x, theta, logSigmas, bias]);
      }
  if (typeof o.json === 'string') writeRecords(o.json, records);
  disposeBackends();
}

main().catch((e) => {
  console.error(`bench: ${(e as Error).message}`);
  process.exit(1);
});
