/**
 * The whole-model oracle files (meta.kind == "model"; default: fixtures/oracle/vectors), checked by
 * @gmr-conv/models' checkModelOracle: models' `pnpm oracle` and kernels-cuda's oracle test run them.
 * One line per file, then `N passed, N failed`.
 */
import * as tf from '@tensorflow/tfjs';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { checkModelOracle, type ModelOracleFile, type ModelOracleResult } from '@gmr-conv/models';
import { initBackend } from '../backends.js';
import { defaultOracleDir, listVectorFiles } from './load.js';

/** The folder of the model files: the same as the layer files' (fixtures/oracle/vectors or $GMR_ORACLE_DIR). */
export const defaultModelOracleDir = defaultOracleDir;

/** The model files among `paths` (files or folders); the layer files belong to core's oracle. */
export function listModelOracleFiles(paths: string[]): string[] {
  // A peek at the head (where `meta` is) avoids parsing every big layer file; a file whose head names no kind is parsed.
  return listVectorFiles(paths).filter((f) => {
    const text = fs.readFileSync(f, 'utf8');
    const m = /"kind"\s*:\s*"([^"]*)"/.exec(text.slice(0, 4000));
    if (m) return m[1] === 'model';
    try {
      return (JSON.parse(text) as { meta?: { kind?: string } }).meta?.kind === 'model';
    } catch {
      return false;
    }
  });
}

export async function runModelOracle(paths: string[], log: (s: string) => void = console.log) {
  const results: ModelOracleResult[] = [];
  for (const f of listModelOracleFiles(paths)) {
    const file = JSON.parse(fs.readFileSync(f, 'utf8')) as ModelOracleFile;
    let r: ModelOracleResult;
    try {
      r = checkModelOracle(file);
    } catch (e) {
      r = {
        name: file.name,
        ok: false,
        messages: [(e as Error).message],
        figures: { logitsRelError: NaN, d4MaxAbsDiff: {}, oracleD4MaxAbsDiff: NaN },
      };
    }
    results.push(r);
    const fig = r.figures;
    const d4 = Math.max(...Object.values(fig.d4MaxAbsDiff).map(Number));
    const rot = fig.rot45
      ? ` rot45 max|Δ| ${fig.rot45.maxAbsDiff.toFixed(4)} (oracle ${fig.rot45.oracleMaxAbsDiff.toFixed(4)}) rel_l2 ${fig.rot45.relL2.toFixed(4)} (oracle ${fig.rot45.oracleRelL2.toFixed(4)})`
      : '';
    log(
      `${r.ok ? 'PASS' : 'FAIL'} ${path.basename(f)} [${tf.getBackend()}]: logits rel err ${fig.logitsRelError.toExponential(2)}, D4 max|Δ| ${d4.toExponential(2)} (oracle ${fig.oracleD4MaxAbsDiff.toExponential(2)})${rot}${r.ok ? '' : ` — ${r.messages.join('; ')}`}`,
    );
  }
  const passed = results.filter((r) => r.ok).length;
  const failed = results.length - passed;
  log(`${passed} passed, ${failed} failed`);
  return { passed, failed, results };
}

/** The `pnpm oracle` command of @gmr-conv/models: [--backend NAME] [FILES or DIRS…]; exits 1 on any failure. */
export async function modelOracleMain(args: string[]): Promise<never> {
  let backend = 'cpu';
  const paths: string[] = [];
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '--backend') backend = args[++i] ?? '';
    // pnpm runs package scripts in the package folder: resolve from where the user typed the command.
    else paths.push(path.resolve(process.env.INIT_CWD ?? process.cwd(), args[i]!));
  }
  const st = await initBackend(backend);
  if (!st.ok) {
    console.error(`oracle: backend '${backend}' is not available here: ${st.detail}`);
    process.exit(2);
  }
  const { failed, results } = await runModelOracle(paths.length ? paths : [defaultModelOracleDir()]);
  process.exit(failed > 0 || results.length === 0 ? 1 : 0);
}
