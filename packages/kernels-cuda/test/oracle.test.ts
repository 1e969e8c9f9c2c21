/**
 * Core's oracle vectors (fixtures/oracle/vectors) through core's checker on 'native' (layer, 45° and behaviour
 * files), and the models package's whole-model files: every vector passes and the native kernels really ran.
 */
import { describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import { runOracle } from '@gmr-conv/test-utils/oracle/cli';
import { defaultOracleDir, listVectorFiles, readVector } from '@gmr-conv/test-utils/oracle/load';
import { runModelOracle, listModelOracleFiles } from '@gmr-conv/test-utils/oracle/model';
import { kernelCallCounts, resetKernelCallCounts } from '../src/index.js';
import { tf } from './helpers.js';

const dir = defaultOracleDir();
const checkable = fs.existsSync(dir)
  ? listVectorFiles([dir]).filter((f) =>
      ['layer', 'equivariance45', 'reference_behaviour'].includes(readVector(f)?.meta?.kind),
    )
  : [];

describe('oracle vectors on the native backend', () => {
  it('every layer, 45° and behaviour vector passes', async () => {
    expect(checkable.length, `oracle vectors in ${dir}`).toBeGreaterThan(0);
    resetKernelCallCounts();
    const lines: string[] = [];
    const { passed, failed, results } = await runOracle([dir], 'native', (s) => lines.push(s));
    const failures = results.filter((r) => !r.ok).map((r) => `${r.name}: ${r.messages.join('; ')}`);
    expect(failures).toEqual([]);
    expect(failed).toBe(0);
    expect(passed).toBe(checkable.length);
    const counts = kernelCallCounts();
    console.log(
      `[kernels-cuda oracle] ${lines[lines.length - 1]}; GMR kernel calls fwd ${counts.gmrForward} bi ${counts.gmrBackpropInput} bf ${counts.gmrBackpropFilter}`,
    );
    expect(counts.gmrForward).toBeGreaterThan(0);
    expect(counts.gmrBackpropInput).toBeGreaterThan(0);
    expect(counts.gmrBackpropFilter).toBeGreaterThan(0);
  }, 170_000);

  const modelFiles = fs.existsSync(dir) ? listModelOracleFiles([dir]) : [];
  it('every whole-model vector passes (GMR-ResNet-18 small)', async () => {
    expect(modelFiles.length, `model oracle vectors in ${dir}`).toBeGreaterThan(0);
    await tf.setBackend('native');
    const { failed, results } = await runModelOracle([dir], () => undefined);
    expect(results.filter((r) => !r.ok).map((r) => `${r.name}: ${r.messages.join('; ')}`)).toEqual([]);
    expect(failed).toBe(0);
    expect(results.length).toBe(modelFiles.length);
  }, 170_000);
});
