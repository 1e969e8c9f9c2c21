/** Reading oracle vectors (schema: fixtures/oracle/README.md). */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

export interface OracleArray {
  shape: number[];
  dtype: 'float64' | 'float32' | 'int64';
  data: number[];
  layout?: string;
}

/**
 * Default vector folder: $GMR_ORACLE_DIR, else the repository's own copy, fixtures/oracle/vectors (so a bare
 * clone's tests need nothing beside the repository; new vectors arriving elsewhere are copied in there).
 */
export function defaultOracleDir(): string {
  if (process.env.GMR_ORACLE_DIR) return process.env.GMR_ORACLE_DIR;
  const here = path.dirname(fileURLToPath(import.meta.url));
  const repoRoot = path.resolve(here, '../../../..');
  return path.resolve(repoRoot, 'fixtures/oracle/vectors');
}

/** Expands files and folders to the sorted list of .json files. */
export function listVectorFiles(targets: string[]): string[] {
  const out: string[] = [];
  for (const t of targets) {
    if (!fs.existsSync(t)) throw new Error(`oracle: no such file or folder: ${t}`);
    if (fs.statSync(t).isDirectory()) {
      for (const f of fs.readdirSync(t).sort()) if (f.endsWith('.json')) out.push(path.join(t, f));
    } else out.push(t);
  }
  return out;
}

export function readVector(file: string): any {
  return JSON.parse(fs.readFileSync(file, 'utf8'));
}

export function toFloat32(a: OracleArray): Float32Array {
  return Float32Array.from(a.data);
}

export function toFloat64(a: OracleArray): Float64Array {
  return Float64Array.from(a.data);
}

export { relError } from '../numeric.js';
