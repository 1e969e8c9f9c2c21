/**
 * The benchmark grid, shared by the Node benchmark (scripts/bench.ts) and the headless-Chromium page
 * (tools/browser/page.ts): median ms of forward and forward+backward (gradients w.r.t. x, θ, log σ and bias) of a
 * C→C GMR layer, k×k, 'same', channels-last, with this package's fused kernels and with core's composed path on the
 * same (already active) webgpu backend. Platform-neutral: no Node module.
 */
import * as tf from '@tensorflow/tfjs-core';
import { gmrConv2d, initialLogSigmas, defaultNumRings } from '@gmr-conv/core';

export interface BenchRecord {
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

export interface GridOptions {
  channels: number[];
  kernels: number[];
  sizes: number[];
  batch: number;
  runs: number;
  impls: Array<'fused' | 'composed'>;
  adapter: string;
  runtime: 'node' | 'chromium';
}

export interface KernelSwitch {
  registerWebGPUKernels(): void;
  unregisterWebGPUKernels(): void;
}

export type TimeIt = (fn: () => tf.Tensor | tf.Tensor[], runs: number) => Promise<number>;

export const TABLE_HEADER = 'impl       k    C→C    size batch  forward_ms  fwd+bwd_ms';

export function formatRecord(r: BenchRecord): string {
  const c = r.channels;
  return `${r.impl.padEnd(9)} ${String(r.kernel).padStart(2)}  ${String(c).padStart(3)}→${String(c).padEnd(3)} ${String(r.size).padStart(3)}×${String(r.size).padEnd(3)} ${String(r.batch).padStart(3)}  ${r.forward_ms.toFixed(1).padStart(10)}  ${r.forward_backward_ms.toFixed(1).padStart(10)}`;
}

/**
 * Parses `--quick`, `--channels 16,64`, … (shared by the Node and Chromium runners). Kernel sizes: `--kernel-sizes`
 * (`--kernels` is accepted too).
 */
export function gridFromArgs(o: Record<string, string | boolean>): Omit<GridOptions, 'adapter' | 'runtime'> {
  const list = (v: string | boolean | undefined, d: number[]) =>
    typeof v === 'string' && v ? v.split(',').map(Number) : d;
  const impls =
    typeof o.impl === 'string' && o.impl
      ? (o.impl.split(',') as Array<'fused' | 'composed'>)
      : (['fused', 'composed'] as const).slice();
  return {
    runs: Number(o.runs ?? 5),
    channels: list(o.channels, o.quick ? [16] : [16, 64]),
    kernels: list(o['kernel-sizes'] ?? o.kernels, o.quick ? [9] : [5, 9, 11]),
    sizes: list(o.sizes, o.quick ? [32] : [32, 64]),
    batch: Number(o.batch ?? 8),
    impls,
  };
}

export async function runBenchGrid(
  g: GridOptions,
  kernels: KernelSwitch,
  timeIt: TimeIt,
  log: (s: string) => void,
): Promise<BenchRecord[]> {
  const records: BenchRecord[] = [];
  for (const c of g.channels)
    for (const size of g.sizes)
      for (const k of g.kernels) {
        const n = defaultNumRings(k);
        const x = tf.randomNormal([g.batch, size, size, c], 0, 1, 'float32', 1);
        const theta = tf.randomNormal([c, c, n], 0, 0.05, 'float32', 2);
        const logSigmas = tf.tensor1d(initialLogSigmas(k, n));
        const bias = tf.zeros([c]);
        const forward = (xx: tf.Tensor, w: tf.Tensor, ls: tf.Tensor, b: tf.Tensor) =>
          gmrConv2d(xx, { weight: w, logSigmas: ls, bias: b }, { kernelSize: k, padding: 'same', checkFinite: false });
        for (const impl of g.impls) {
          if (impl === 'fused') kernels.registerWebGPUKernels();
          else kernels.unregisterWebGPUKernels();
          const fwd = await timeIt(() => tf.tidy(() => forward(x, theta, logSigmas, bias)), g.runs);
          const fb = await timeIt(
            () =>
              tf.tidy(() =>
                tf.grads((...a: tf.Tensor[]) => tf.sum(forward(a[0]!, a[1]!, a[2]!, a[3]!)))([
                  x,
                  theta,
                  logSigmas,
                  bias,
                ]),
              ),
            g.runs,
          );
          const r: BenchRecord = {
            adapter: g.adapter,
            runtime: g.runtime,
            impl,
            kernel: k,
            channels: c,
            size,
            batch: g.batch,
            forward_ms: +fwd.toFixed(2),
            forward_backward_ms: +fb.toFixed(2),
          };
          records.push(r);
          log(formatRecord(r));
        }
        kernels.registerWebGPUKernels();
        tf.dispose([x, theta, logSigmas, bias]);
      }
  return records;
}

/** Fused-over-composed ratios per (kernel, channels, size), for the closing summary. */
export function ratioLines(records: BenchRecord[]): string[] {
  const out: string[] = [];
  for (const f of records.filter((r) => r.impl === 'fused')) {
    const c = records.find(
      (r) =>
        r.impl === 'composed' &&
        r.runtime === f.runtime &&
        r.adapter === f.adapter &&
        r.kernel === f.kernel &&
        r.channels === f.channels &&
        r.size === f.size &&
        r.batch === f.batch,
    );
    if (!c) continue;
    out.push(
      `${f.runtime} k=${f.kernel} C=${f.channels} ${f.size}×${f.size}: fused ${(c.forward_ms / f.forward_ms).toFixed(1)}× forward, ${(c.forward_backward_ms / f.forward_backward_ms).toFixed(1)}× forward+backward`,
    );
  }
  return out;
}
