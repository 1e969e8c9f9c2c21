/**
 * `pnpm bench webgpu [--runtime node|chromium|all] [--json FILE] [--runs N] [--quick] [--channels 16,64]
 *   [--kernel-sizes 5,9,11] [--sizes 32,64] [--batch 8] [--impl fused,composed]`
 *
 * Median milliseconds of forward and forward+backward (gradients w.r.t. x, θ, log σ and bias) of a GMR layer
 * C→C, k×k, 'same', channels-last, with this package's fused kernels ('fused') and with core's composed path on
 * the same adapter ('composed'), in Node (Dawn from npm `webgpu`, @gmr-conv/test-utils/backends) and/or in headless
 * Chromium (tools/browser/: the same grid in a bundled page). A benchmark prints figures; it asserts nothing.
 */
import * as os from 'node:os';
import {
  gridFromArgs,
  ratioLines,
  runBenchGrid,
  TABLE_HEADER,
  type BenchRecord,
  type GridOptions,
} from './bench_grid.js';

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

async function benchNode(grid: Omit<GridOptions, 'adapter' | 'runtime'>): Promise<BenchRecord[]> {
  const { initBackend, disposeBackends, tf } = await import('@gmr-conv/test-utils/backends');
  const { timeIt } = await import('@gmr-conv/test-utils/timing');
  const st = await initBackend('webgpu');
  if (!st.ok) throw new Error(`webgpu not available in Node (${st.detail})`);
  try {
    const kernelsMod = await import('../src/index.js');
    const adapter = st.detail.replace(/^tfjs webgpu backend on /, '').replace(/; conv2d check.*$/, '');
    console.log(
      `\n[node] ${os.cpus()[0]?.model ?? 'unknown cpu'} × ${os.cpus().length}, Node ${process.version}, tfjs ${tf.version.tfjs}`,
    );
    console.log(`[node] adapter: ${adapter}`);
    console.log(TABLE_HEADER);
    return await runBenchGrid({ ...grid, adapter, runtime: 'node' }, kernelsMod, timeIt, (s) => console.log(s));
  } finally {
    disposeBackends();
  }
}

async function benchChromium(grid: Omit<GridOptions, 'adapter' | 'runtime'>): Promise<BenchRecord[]> {
  // A path in a variable: bundlers (tools/device-bench.sh bundles this script for Node alone) leave it unresolved,
  // so the bundle does not need playwright-core and esbuild.
  const harnessPath = '../tools/browser/harness.js';
  const { openChromiumPage, chromiumPath } = (await import(
    harnessPath
  )) as typeof import('../tools/browser/harness.js');
  const s = await openChromiumPage({ onConsole: (line) => line.startsWith('[log] ') && console.log(line.slice(6)) });
  try {
    if (!s.init.ok) throw new Error(`webgpu not available in Chromium (${s.init.detail})`);
    const version = s.browser.version();
    console.log(`\n[chromium] ${chromiumPath} ${version}, headless, --enable-unsafe-webgpu`);
    console.log(`[chromium] adapter: ${s.init.adapter}`);
    console.log(TABLE_HEADER);
    const g: GridOptions = { ...grid, adapter: s.init.adapter, runtime: 'chromium' };
    type Page = { gmrPage: { bench(g: GridOptions): Promise<BenchRecord[]> } };
    return await s.page.evaluate((gg) => (globalThis as unknown as Page).gmrPage.bench(gg), g);
  } finally {
    await s.close();
  }
}

async function main() {
  const { o, positional } = parseArgs(process.argv.slice(2));
  const suite = positional[0] ?? 'webgpu';
  if (suite !== 'webgpu') {
    console.error(`bench: unknown suite '${suite}' (this package has: webgpu)`);
    process.exit(2);
  }
  const runtime = typeof o.runtime === 'string' ? o.runtime : 'node';
  if (!['node', 'chromium', 'all'].includes(runtime)) {
    console.error(`bench: --runtime must be node, chromium or all (got '${runtime}')`);
    process.exit(2);
  }
  const grid = gridFromArgs(o);
  const records: BenchRecord[] = [];
  if (runtime === 'node' || runtime === 'all') records.push(...(await benchNode(grid)));
  if (runtime === 'chromium' || runtime === 'all') records.push(...(await benchChromium(grid)));
  const ratios = ratioLines(records);
  if (ratios.length) console.log(`\ncomposed ÷ fused (higher: fused faster)\n${ratios.join('\n')}`);
  if (typeof o.json === 'string') {
    const { writeRecords } = await import('@gmr-conv/test-utils/timing');
    writeRecords(o.json, records);
  }
}

main().then(
  () => process.exit(0),
  (e) => {
    console.error(`bench: ${(e as Error).message}`);
    process.exit(1);
  },
);
