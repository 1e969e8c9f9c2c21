/**
 * The same correctness checks in headless Chromium (Debian chromium through playwright-core, WebGPU on Chromium's
 * own adapter, SwiftShader on a machine without a GPU): a bundled page with tfjs, tfjs-backend-webgpu, core and this
 * package (tools/browser/), served from 127.0.0.1. The shared op cases (@gmr-conv/test-utils/op_cases: fused webgpu
 * kernels vs core's composed path on cpu, y and every gradient) and core's oracle vectors, with the call counters showing that the
 * fused kernels ran. Skipped with a message when Chromium or its WebGPU adapter is missing, failing instead when
 * GMR_REQUIRE_WEBGPU=1.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { defaultOracleDir, listVectorFiles, readVector } from '@gmr-conv/test-utils/oracle/load';
import { opCasesOf, type OpCase as Case } from '@gmr-conv/test-utils/op_cases';
import { chromiumAvailable, chromiumPath, openChromiumPage, type ChromiumSession } from '../tools/browser/harness.js';
import type { GmrPage } from '../tools/browser/page.js';

const REQUIRE_WEBGPU = process.env.GMR_REQUIRE_WEBGPU === '1';

let session: ChromiumSession | null = null;
let why = '';
if (!chromiumAvailable()) why = `no Chromium at ${chromiumPath}`;
else {
  try {
    session = await openChromiumPage({ oracleDir: defaultOracleDir() });
    if (!session.init.ok) why = `Chromium has no usable WebGPU adapter: ${session.init.detail}`;
    else console.log(`[kernels-webgpu chromium] ${session.init.detail}`);
  } catch (e) {
    why = `Chromium page failed: ${(e as Error).message}`;
  }
}
if (why && session) {
  await session.close();
  session = null;
}
if (why && !REQUIRE_WEBGPU)
  console.log(`[kernels-webgpu chromium] skipping: ${why} (set GMR_REQUIRE_WEBGPU=1 to fail instead)`);
const SKIP = why !== '' && !REQUIRE_WEBGPU;

type Compared = Awaited<ReturnType<GmrPage['compareCase']>>;
function compare(c: Case, checkLeak = false): Promise<Compared> {
  return session!.page.evaluate(
    ([cc, leak]) => (globalThis as unknown as { gmrPage: GmrPage }).gmrPage.compareCase(cc, leak),
    [c, checkLeak] as const,
  );
}

const dir = defaultOracleDir();
const checkable = fs.existsSync(dir)
  ? listVectorFiles([dir]).filter((f) =>
      ['layer', 'equivariance45', 'reference_behaviour'].includes(readVector(f)?.meta?.kind),
    )
  : [];

it.runIf(REQUIRE_WEBGPU)('headless Chromium with a WebGPU adapter is available (GMR_REQUIRE_WEBGPU=1)', () => {
  expect(why, why).toBe('');
});

describe.skipIf(SKIP)('headless Chromium: webgpu kernels vs core composed on cpu, and the oracle', () => {
  beforeAll(() => {
    expect(why, why).toBe('');
  });
  afterAll(async () => {
    await session?.close();
  });

  // The shared op cases but those with 1 or ≥ 16 input channels (they aim at the native kernels' vector blocks; the
  // WGSL kernels have none, and the Node test runs them): shader compilation makes each case a second here.
  const cases = [...opCasesOf(2), ...opCasesOf(3), ...opCasesOf(1)].filter((c) => c.cin > 1 && c.cin < 16);
  it.each(cases.map((c, i) => [c.name, c, i] as const))('%s: y and all gradients match', async (_name, c, i) => {
    const r = await compare(c, i === 0);
    expect(r.counts.forward, 'forward kernel ran').toBeGreaterThanOrEqual(1);
    expect(r.counts.backpropInput, 'input-gradient kernel ran').toBe(1);
    expect(r.counts.backpropFilter, 'filter-gradient kernel ran').toBe(1);
    expect(r.counts.fallback).toBe(0);
    expect(r.leaked, 'tensors left after forward + backward').toBe(0);
    for (const [what, e] of Object.entries(r.errors)) expect(e, what).toBeLessThan(1e-4);
  });

  it('every layer, 45° and behaviour vector passes', async () => {
    expect(checkable.length, `oracle vectors in ${dir}`).toBeGreaterThan(0);
    const names = checkable.map((f) => path.basename(f));
    // As in test/oracle.test.ts: one 2D layer vector first, so that what core keeps for the process is not counted
    // as a leak of whichever vector runs first.
    const warm =
      checkable.find((f) => readVector(f)?.meta?.kind === 'layer' && readVector(f)?.dims === 2) ?? checkable[0]!;
    const run = (files: string[]) =>
      session!.page.evaluate((ff) => (globalThis as unknown as { gmrPage: GmrPage }).gmrPage.oracle(ff), files);
    await run([path.basename(warm)]);
    const { results, counts } = await run(names);
    const failures = results.filter((r) => !r.ok).map((r) => `${r.file}: ${r.messages.join('; ')}`);
    console.log(
      `[kernels-webgpu chromium oracle] ${results.filter((r) => r.ok).length} passed, ${failures.length} failed; kernel calls ${JSON.stringify(counts)}`,
    );
    expect(failures).toEqual([]);
    expect(results.length).toBe(names.length);
    expect(counts.forward).toBeGreaterThan(0);
    expect(counts.backpropInput).toBeGreaterThan(0);
    expect(counts.backpropFilter).toBeGreaterThan(0);
  }, 170_000);
});
