/**
 * gmr oracle: the whole-model oracle files (meta.kind == "model", written by the official PyTorch code) checked
 * with @gmr-conv/models' checkModelOracle: logits, D4 logit differences and the 45° figures. Layer-level oracle
 * files belong to core's own tool (`pnpm oracle` at the repository root) and are skipped here.
 */
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { checkModelOracle, type ModelOracleFile, type ModelOracleResult } from '@gmr-conv/models';
import { CliError } from './errors.js';

export function defaultOracleDir(): string {
  return (
    process.env.GMR_ORACLE_DIR ??
    resolve(fileURLToPath(new URL('.', import.meta.url)), '../../../fixtures/oracle/vectors')
  );
}

export function modelOracleFiles(paths: string[]): string[] {
  const files: string[] = [];
  for (const p of paths) {
    if (!existsSync(p)) throw new CliError(`oracle path not found: ${p}`);
    if (statSync(p).isDirectory()) for (const f of readdirSync(p).sort()) f.endsWith('.json') && files.push(join(p, f));
    else files.push(p);
  }
  return files.filter((f) => {
    const head = readFileSync(f, 'utf8').slice(0, 4000);
    const m = /"kind"\s*:\s*"([^"]*)"/.exec(head);
    return m ? m[1] === 'model' : false;
  });
}

export function runOracle(
  files: string[],
  log: (s: string) => void,
): { passed: number; failed: number; results: ModelOracleResult[] } {
  const results: ModelOracleResult[] = [];
  for (const f of files) {
    let r: ModelOracleResult;
    try {
      r = checkModelOracle(JSON.parse(readFileSync(f, 'utf8')) as ModelOracleFile);
    } catch (e) {
      r = {
        name: basename(f),
        ok: false,
        messages: [(e as Error).message],
        figures: { logitsRelError: NaN, d4MaxAbsDiff: {}, oracleD4MaxAbsDiff: NaN },
      };
    }
    results.push(r);
    const d4 = Math.max(...Object.values(r.figures.d4MaxAbsDiff).map(Number));
    log(
      `${r.ok ? 'PASS' : 'FAIL'} ${basename(f)}: logits rel err ${r.figures.logitsRelError.toExponential(2)}, D4 max|Δ| ${d4.toExponential(2)} (oracle ${r.figures.oracleD4MaxAbsDiff.toExponential(2)})${r.ok ? '' : ` — ${r.messages.join('; ')}`}`,
    );
  }
  const passed = results.filter((r) => r.ok).length;
  return { passed, failed: results.length - passed, results };
}
