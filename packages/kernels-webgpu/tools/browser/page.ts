/**
 * The headless-Chromium page (bundled by tools/browser/harness.ts with esbuild): tfjs (cpu backend, every gradient)
 * + tfjs-backend-webgpu + @gmr-conv/core + this package. Exposes `globalThis.gmrPage` for the Node side
 * (Playwright's page.evaluate): the shared op case comparisons (@gmr-conv/test-utils/op_cases), core's oracle checkers on vectors fetched from
 * the serving harness, and the benchmark grid of scripts/bench_grid.ts.
 */
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-webgpu';
import * as kernels from '../../src/index.js';
import { opCaseErrors as caseErrors, runOpCase as runCase, type OpCase as Case } from '@gmr-conv/test-utils/op_cases';
import { runBenchGrid, type GridOptions } from '../../scripts/bench_grid.js';
import { checkLayerCase, type CaseResult } from '@gmr-conv/test-utils/oracle/layer_case';
import { checkEquivariance45CaseAsync } from '@gmr-conv/test-utils/oracle/equivariance45_case';
import { checkReferenceBehaviour } from '@gmr-conv/test-utils/oracle/behaviour_case';
import { timeIt } from '@gmr-conv/test-utils/measure';

export interface InitResult {
  ok: boolean;
  adapter: string;
  detail: string;
}

async function adapterName(): Promise<string> {
  const gpu = (globalThis as { navigator?: { gpu?: { requestAdapter(): Promise<unknown> } } }).navigator?.gpu;
  if (!gpu) return 'no navigator.gpu';
  const adapter = (await gpu.requestAdapter()) as { info?: Record<string, string> } | null;
  if (!adapter) return 'no adapter';
  const info = adapter.info ?? {};
  return (
    [info.vendor, info.architecture, info.device, info.description].filter((s) => s).join(' / ') || 'unnamed adapter'
  );
}

/** Activates webgpu and checks a small conv2d against cpu (as @gmr-conv/test-utils/backends does in Node). */
async function init(): Promise<InitResult> {
  const adapter = await adapterName().catch((e: unknown) => `requestAdapter threw: ${String(e)}`);
  await tf.setBackend('cpu');
  const x = tf.tensor4d(
    Array.from({ length: 2 * 7 * 6 * 3 }, (_, i) => Math.sin(i)),
    [2, 7, 6, 3],
  );
  const w = tf.tensor4d(
    Array.from({ length: 3 * 3 * 3 * 4 }, (_, i) => Math.cos(i)),
    [3, 3, 3, 4],
  );
  const ref = tf.conv2d(x, w, 1, 'same').dataSync();
  let ok = false;
  try {
    ok = await tf.setBackend('webgpu');
  } catch (e) {
    tf.dispose([x, w]);
    return { ok: false, adapter, detail: `tf.setBackend('webgpu') threw: ${String(e)}` };
  }
  if (!ok) {
    tf.dispose([x, w]);
    return { ok: false, adapter, detail: "tf.setBackend('webgpu') failed" };
  }
  const y = tf.conv2d(x, w, 1, 'same');
  const got = await y.data();
  tf.dispose([x, w, y]);
  let diff = 0;
  for (let i = 0; i < ref.length; i++) diff = Math.max(diff, Math.abs(got[i]! - ref[i]!));
  if (!(diff <= 1e-4)) return { ok: false, adapter, detail: `conv2d check differs from cpu by ${diff}` };
  return {
    ok: true,
    adapter,
    detail: `tfjs webgpu backend on ${adapter}; conv2d check vs cpu max|diff| ${diff.toExponential(1)}`,
  };
}

/** Case on cpu (reference), then on webgpu with the kernel call counters reset before; `leaked` counts tensors left. */
async function compareCase(
  c: Case,
  checkLeak = false,
): Promise<{ errors: Record<string, number>; counts: kernels.KernelCallCounts; leaked: number }> {
  const ref = await runCase(c, 'cpu');
  await tf.setBackend('webgpu');
  // With checkLeak, one run first creates what core keeps for the process (placeholders, cached masks), so the
  // tensor count around the compared run is exact.
  if (checkLeak) await runCase(c, 'webgpu');
  const before = tf.memory().numTensors;
  kernels.resetKernelCallCounts();
  const got = await runCase(c, 'webgpu');
  const counts = kernels.kernelCallCounts();
  return { errors: caseErrors(got, ref), counts, leaked: checkLeak ? tf.memory().numTensors - before : 0 };
}

/** Core's oracle checkers on the named vector files (served by the harness under /oracle/). */
async function oracle(
  files: string[],
): Promise<{ results: Array<CaseResult & { file: string }>; counts: kernels.KernelCallCounts }> {
  await tf.setBackend('webgpu');
  const results: Array<CaseResult & { file: string }> = [];
  kernels.resetKernelCallCounts();
  for (const file of files) {
    const res = await fetch(`/oracle/${encodeURIComponent(file)}`);
    const json = await res.json();
    const kind = json?.meta?.kind;
    let r: CaseResult;
    try {
      if (kind === 'layer') r = await checkLayerCase(json);
      else if (kind === 'equivariance45') r = await checkEquivariance45CaseAsync(json, {});
      else if (kind === 'reference_behaviour') r = await checkReferenceBehaviour(json);
      else continue;
    } catch (e) {
      r = { name: file, ok: false, worst: {}, messages: [`threw: ${(e as Error).message}`] };
    }
    results.push({ ...r, file });
  }
  return { results, counts: kernels.kernelCallCounts() };
}

/** The benchmark grid on webgpu; each record is also logged (the Node side prints the page's console). */
async function bench(g: GridOptions) {
  await tf.setBackend('webgpu');
  return runBenchGrid(g, kernels, timeIt, (s) => console.log(s));
}

const api = { init, compareCase, oracle, bench, tfVersion: tf.version.tfjs };
(globalThis as unknown as { gmrPage: typeof api }).gmrPage = api;
export type GmrPage = typeof api;
