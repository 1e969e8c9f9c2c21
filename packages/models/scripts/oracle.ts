/**
 * pnpm oracle [--backend cpu|wasm] [FILES or DIRS…]
 * Checks every whole-model oracle file (meta.kind == "model"; default: fixtures/oracle/vectors).
 * One line per file, then `N passed, N failed`; exit code 1 on any failure.
 */
import * as tf from '@tensorflow/tfjs';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { checkModelOracle, type ModelOracleFile, type ModelOracleResult } from '../src/index.js';

export function defaultModelOracleDir(): string {
  const here = path.dirname(fileURLToPath(import.meta.url));
  const env = process.env.GMR_ORACLE_DIR;
  if (env) return env;
  return path.resolve(here, '../../../fixtures/oracle/vectors');
}

export function listModelOracleFiles(paths: string[]): string[] {
  const files: string[] = [];
  for (const p of paths) {
    if (fs.statSync(p).isDirectory()) {
      for (const f of fs.readdirSync(p).sort()) if (f.endsWith('.json')) files.push(path.join(p, f));
    } else files.push(p);
  }
  // Only model files; the layer files belong to core's oracle. A peek at the head (where `meta` is) avoids
  // parsing every big layer file; a file whose head names no kind is parsed.
  return files.filter((f) => {
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

export async function setBackend(name: string): Promise<void> {
  if (name === 'wasm') await import('@tensorflow/tfjs-backend-wasm');
  else if (name !== 'cpu' && tf.findBackendFactory(name) == null) {
    // A backend that a kernel package registers (GMR_KERNELS: the root oracle script sets it for native|cuda).
    const specs = (process.env.GMR_KERNELS ?? '').split(',').filter((s) => s.trim() !== '');
    let why = '';
    for (const spec of specs) {
      const m = (await import(spec.trim())) as { describeBackend?: (n: string) => string };
      why ||= m.describeBackend?.(name) ?? '';
    }
    if (tf.findBackendFactory(name) == null) throw new Error(why || `no backend '${name}' is registered (GMR_KERNELS: ${specs.join(', ') || 'not set'})`);
  }
  if (!(await tf.setBackend(name))) throw new Error(`backend '${name}' did not initialise`);
  await tf.ready();
}

export async function runModelOracle(paths: string[], log: (s: string) => void = console.log) {
  const results: ModelOracleResult[] = [];
  for (const f of listModelOracleFiles(paths)) {
    const file = JSON.parse(fs.readFileSync(f, 'utf8')) as ModelOracleFile;
    let r: ModelOracleResult;
    try {
      r = checkModelOracle(file);
    } catch (e) {
      r = { name: file.name, ok: false, messages: [(e as Error).message], figures: { logitsRelError: NaN, d4MaxAbsDiff: {}, oracleD4MaxAbsDiff: NaN } };
    }
    results.push(r);
    const fig = r.figures;
    const d4 = Math.max(...Object.values(fig.d4MaxAbsDiff).map(Number));
    const rot = fig.rot45 ? ` rot45 max|Δ| ${fig.rot45.maxAbsDiff.toFixed(4)} (oracle ${fig.rot45.oracleMaxAbsDiff.toFixed(4)}) rel_l2 ${fig.rot45.relL2.toFixed(4)} (oracle ${fig.rot45.oracleRelL2.toFixed(4)})` : '';
    log(`${r.ok ? 'PASS' : 'FAIL'} ${path.basename(f)} [${tf.getBackend()}]: logits rel err ${fig.logitsRelError.toExponential(2)}, D4 max|Δ| ${d4.toExponential(2)} (oracle ${fig.oracleD4MaxAbsDiff.toExponential(2)})${rot}${r.ok ? '' : ` — ${r.messages.join('; ')}`}`);
  }
  const passed = results.filter((r) => r.ok).length;
  const failed = results.length - passed;
  log(`${passed} passed, ${failed} failed`);
  return { passed, failed, results };
}

const isMain = process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url);
if (isMain) {
  const args = process.argv.slice(2);
  let backend = 'cpu';
  const paths: string[] = [];
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '--backend') backend = args[++i];
    // pnpm runs package scripts in the package folder: resolve from where the user typed the command.
    else paths.push(path.resolve(process.env.INIT_CWD ?? process.cwd(), args[i]));
  }
  try {
    await setBackend(backend);
  } catch (e) {
    console.error(`oracle: backend '${backend}' is not available here: ${(e as Error).message}`);
    process.exit(2);
  }
  const { failed, results } = await runModelOracle(paths.length ? paths : [defaultModelOracleDir()]);
  process.exit(failed > 0 || results.length === 0 ? 1 : 0);
}
