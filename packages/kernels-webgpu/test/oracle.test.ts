/**
 * Core's oracle vectors (fixtures/oracle/vectors) through core's checker on webgpu, with this package's kernels
 * registered: every checkable vector passes and the kernels really ran.
 */
import { afterAll, describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import { runOracle } from '@gmr-conv/test-utils/oracle/cli';
import { defaultOracleDir, listVectorFiles, readVector } from '@gmr-conv/test-utils/oracle/load';
import { disposeBackends } from '@gmr-conv/test-utils/backends';
import { SKIP } from './helpers.js';
import { kernelCallCounts, resetKernelCallCounts } from '../src/index.js';

const dir = defaultOracleDir();
const checkable = fs.existsSync(dir)
  ? listVectorFiles([dir]).filter((f) =>
      ['layer', 'equivariance45', 'reference_behaviour'].includes(readVector(f)?.meta?.kind),
    )
  : [];

describe.skipIf(SKIP)('oracle vectors on webgpu with the fused kernels', () => {
  afterAll(() => disposeBackends());

  it('every layer, 45° and behaviour vector passes', async () => {
    expect(checkable.length, `oracle vectors in ${dir}`).toBeGreaterThan(0);
    // The first GMR call through a non-composed kernel creates a few tensors that core keeps for the process (the
    // empty placeholder for absent inputs, cached masks); the checker would count them as a leak of whichever vector
    // runs first. Run one vector once to create them; the full run below then checks for leaks per vector.
    const warm =
      checkable.find((f) => readVector(f)?.meta?.kind === 'layer' && readVector(f)?.dims === 2) ?? checkable[0]!;
    await runOracle([warm], 'webgpu', () => undefined);
    resetKernelCallCounts();
    const lines: string[] = [];
    const { passed, failed, results } = await runOracle([dir], 'webgpu', (s) => lines.push(s));
    const failures = results.filter((r) => !r.ok).map((r) => `${r.name}: ${r.messages.join('; ')}`);
    expect(failures).toEqual([]);
    expect(failed).toBe(0);
    expect(passed).toBe(checkable.length);
    expect(lines[lines.length - 1]).toBe(`${passed} passed, 0 failed`);
    const counts = kernelCallCounts();
    console.log(`[kernels-webgpu oracle] ${lines[lines.length - 1]}; kernel calls ${JSON.stringify(counts)}`);
    expect(counts.forward).toBeGreaterThan(0);
    expect(counts.backpropInput).toBeGreaterThan(0);
    expect(counts.backpropFilter).toBeGreaterThan(0);
  }, 170_000);
});
