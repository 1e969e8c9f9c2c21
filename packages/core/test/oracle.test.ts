/**
 * Runs `pnpm oracle`'s checker on every vector in fixtures/oracle/vectors, on
 * cpu and wasm (and webgpu where an adapter exists; required when GMR_REQUIRE_WEBGPU=1).
 */
import '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import { runOracle } from '@gmr-conv/test-utils/oracle/cli';
import { defaultOracleDir, listVectorFiles, readVector } from '@gmr-conv/test-utils/oracle/load';
import { initBackend } from '@gmr-conv/test-utils/backends';

const dir = defaultOracleDir();
const checkable = fs.existsSync(dir)
  ? listVectorFiles([dir]).filter((f) =>
      ['layer', 'equivariance45', 'reference_behaviour'].includes(readVector(f)?.meta?.kind),
    )
  : [];

describe('oracle vectors', () => {
  it('has vectors to check', () => {
    expect(checkable.length).toBeGreaterThan(0);
  });
  for (const backend of ['cpu', 'wasm', 'webgpu']) {
    it(`every layer, 45° and behaviour vector passes on ${backend}`, async (ctx) => {
      if (backend === 'webgpu') {
        const st = await initBackend('webgpu');
        if (!st.ok && process.env.GMR_REQUIRE_WEBGPU !== '1') ctx.skip();
      }
      const lines: string[] = [];
      const { passed, failed, results } = await runOracle([dir], backend, (s) => lines.push(s));
      const failures = results.filter((r) => !r.ok).map((r) => `${r.name}: ${r.messages.join('; ')}`);
      expect(failures).toEqual([]);
      expect(failed).toBe(0);
      expect(passed).toBe(checkable.length);
      expect(lines[lines.length - 1]).toBe(`${passed} passed, 0 failed`);
    }, 600_000);
  }
});
