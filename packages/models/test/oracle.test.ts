/** `pnpm oracle` on the public whole-model file, on cpu and wasm. */
import { describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { defaultModelOracleDir, listModelOracleFiles, runModelOracle } from '@gmr-conv/test-utils/oracle/model';
import { useBackend } from './helpers/backend.js';

const file = path.join(defaultModelOracleDir(), 'public_gmr_resnet18_small.json');

describe('model oracle', () => {
  it('finds the public model file and only model files', () => {
    expect(fs.existsSync(file)).toBe(true);
    const files = listModelOracleFiles([defaultModelOracleDir()]);
    expect(files.map((f) => path.basename(f))).toContain('public_gmr_resnet18_small.json');
    expect(files.every((f) => !path.basename(f).startsWith('public_2d'))).toBe(true);
  });
  for (const backend of ['cpu', 'wasm'] as const) {
    it(`public_gmr_resnet18_small passes on ${backend}: logits, D4, rot45`, async () => {
      await useBackend(backend);
      const lines: string[] = [];
      const { passed, failed, results } = await runModelOracle([file], (s) => lines.push(s));
      expect(results[0].messages).toEqual([]);
      expect(passed).toBe(1);
      expect(failed).toBe(0);
      expect(lines[0]).toMatch(/^PASS public_gmr_resnet18_small\.json/);
      expect(lines[lines.length - 1]).toBe('1 passed, 0 failed');
      const f = results[0].figures;
      expect(f.logitsRelError).toBeLessThan(1e-4);
      for (const v of Object.values(f.d4MaxAbsDiff)) expect(v).toBeLessThan(1e-4);
      expect(f.rot45!.logitsRelError).toBeLessThan(1e-4);
      expect(f.rot45!.rotatedLogitsRelError).toBeLessThan(1e-4);
      expect(Math.abs(f.rot45!.maxAbsDiff - f.rot45!.oracleMaxAbsDiff)).toBeLessThan(1e-3);
      expect(Math.abs(f.rot45!.relL2 - f.rot45!.oracleRelL2)).toBeLessThan(1e-4);
    });
  }
  it('a failing file is reported as FAIL with the reason, not thrown', async () => {
    await useBackend('wasm');
    const json = JSON.parse(fs.readFileSync(file, 'utf8'));
    json.variants.float32.logits.data[0] += 1;
    delete json.state_dict['layer1.0.bn1.running_var'];
    const tmp = path.join(fs.mkdtempSync('/tmp/gmr-models-'), 'bad_model.json');
    fs.writeFileSync(tmp, JSON.stringify(json));
    const lines: string[] = [];
    const { passed, failed } = await runModelOracle([tmp], (s) => lines.push(s));
    expect(passed).toBe(0);
    expect(failed).toBe(1);
    expect(lines[0]).toMatch(/^FAIL bad_model\.json.*missing from the state dict.*layer1\.0\.bn1\.running_var/);
    expect(lines[1]).toBe('0 passed, 1 failed');
  });
});
