/**
 * Checkpoints: one binary file, written atomically (temp file + fsync + rename + directory fsync), so a kill
 * during a save leaves the previous checkpoint intact. A SHA-256 of everything before it ends the file, so a
 * flipped bit or a cut file is refused on load instead of evaluating silently.
 *
 * Layout: "GMRCKPT2" (8 bytes) | header length (u32 LE) | header JSON (UTF-8) | float32 LE data | SHA-256 (32 bytes)
 */
import { createHash } from 'node:crypto';
import {
  closeSync,
  existsSync,
  fsyncSync,
  openSync,
  readFileSync,
  readdirSync,
  renameSync,
  writeSync,
  unlinkSync,
} from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { CliError, fileError } from './errors.js';
import type { HeaderModel } from './model.js';

const MAGIC = 'GMRCKPT2';
const OLD_MAGIC = 'GMRCKPT1';
const DIGEST = 32;

export interface TensorEntry {
  name: string;
  shape: number[];
  /** float32 offset into the data block */
  offset: number;
}

export interface CheckpointHeader {
  format: 'gmr-checkpoint';
  version: 2;
  /** the run this checkpoint belongs to (also on every line of its log.jsonl) */
  runId?: string;
  /**
   * what model the weights belong to; its `normalization` (runs of --data) is the model's own first layer
   * (input_norm), so whoever loads the model feeds it pixels in [0, 1] and normalises nothing
   */
  model: HeaderModel;
  /** the names of the classes by output index (runs of --data; absent in earlier checkpoints) */
  classNames?: string[];
  /** the training configuration (opaque to this module) */
  config: Record<string, unknown>;
  epochsDone: number;
  step: number;
  weights: TensorEntry[];
  optimizer: TensorEntry[];
  history: unknown[];
  [k: string]: unknown;
}

export interface Checkpoint {
  header: CheckpointHeader;
  weights: Map<string, Float32Array>;
  optimizer: Map<string, Float32Array>;
}

export function fsyncDir(dir: string): void {
  try {
    const fd = openSync(dir, 'r');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  } catch {
    /* some file systems refuse directory fsync */
  }
}

/** Writes bytes to `path` atomically: `path.tmp-<pid>`, fsync, rename over `path`, fsync the folder. */
export function writeFileAtomic(path: string, chunks: Uint8Array[]): void {
  const tmp = `${path}.tmp-${process.pid}`;
  let fd: number;
  try {
    fd = openSync(tmp, 'w');
  } catch (e) {
    throw fileError(e, tmp);
  }
  try {
    for (const c of chunks) {
      let off = 0;
      while (off < c.byteLength) off += writeSync(fd, c, off, c.byteLength - off);
    }
    fsyncSync(fd);
  } catch (e) {
    closeSync(fd);
    try {
      unlinkSync(tmp);
    } catch {
      /* ignore */
    }
    // a full disk must not leave a partial file under the final name, nor a temp file (nothing is renamed)
    throw fileError(e, path);
  }
  closeSync(fd);
  try {
    renameSync(tmp, path);
  } catch (e) {
    throw fileError(e, path);
  }
  fsyncDir(dirname(path));
}

/** True when a process with this id runs (signal 0 probes without signalling; EPERM means it exists). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Removes `path.tmp-<pid>` files left by killed writers (their process is gone): a kill between the temp write
 * and the rename leaves one, and nothing would ever reuse it. Returns the names removed.
 */
export function removeStaleTemps(path: string): string[] {
  const dir = dirname(path);
  const prefix = `${basename(path)}.tmp-`;
  const removed: string[] = [];
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return removed;
  }
  for (const n of names) {
    if (!n.startsWith(prefix)) continue;
    const pid = Number(n.slice(prefix.length));
    if (!Number.isInteger(pid) || pid === process.pid || alive(pid)) continue;
    try {
      unlinkSync(join(dir, n));
      removed.push(n);
    } catch {
      /* another process removed it first */
    }
  }
  return removed;
}

export function saveCheckpoint(
  path: string,
  header: Pick<CheckpointHeader, 'model' | 'config' | 'epochsDone' | 'step' | 'history' | 'runId' | 'classNames'>,
  weights: { name: string; shape: number[]; data: Float32Array }[],
  optimizer: { name: string; shape: number[]; data: Float32Array }[],
): void {
  let offset = 0;
  const entries = (list: typeof weights) =>
    list.map((w) => {
      const e = { name: w.name, shape: w.shape, offset };
      offset += w.data.length;
      return e;
    });
  const full: CheckpointHeader = {
    format: 'gmr-checkpoint',
    version: 2,
    ...header,
    weights: entries(weights),
    optimizer: entries(optimizer),
  };
  const json = new TextEncoder().encode(JSON.stringify(full));
  const pre = new Uint8Array(12);
  pre.set(new TextEncoder().encode(MAGIC), 0);
  new DataView(pre.buffer).setUint32(8, json.byteLength, true);
  const data = new Float32Array(offset);
  let o = 0;
  for (const w of [...weights, ...optimizer]) {
    data.set(w.data, o);
    o += w.data.length;
  }
  const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  const digest = createHash('sha256').update(pre).update(json).update(bytes).digest();
  removeStaleTemps(path);
  writeFileAtomic(path, [pre, json, bytes, new Uint8Array(digest)]);
}

export interface LoadOptions {
  /** accept NaN / ±Infinity in the weights (refused by default: such a model predicts nothing useful) */
  allowNonFinite?: boolean;
}

const isInt = (v: unknown, min = 0) => typeof v === 'number' && Number.isInteger(v) && v >= min;

/** The header's structure, checked field by field so that a damaged header names the field instead of crashing later. */
function checkHeader(h: Record<string, unknown>, bad: (why: string) => CliError): CheckpointHeader {
  const m = h.model as Record<string, unknown> | null;
  if (!m || typeof m !== 'object' || typeof m.kind !== 'string' || !Array.isArray(m.widths) || !isInt(m.numClasses, 1))
    throw bad(`header field "model" must be {kind, widths, numClasses}, got ${JSON.stringify(h.model)}`);
  checkDataFields(m, bad);
  if (!h.config || typeof h.config !== 'object' || Array.isArray(h.config))
    throw bad(`header field "config" must be an object, got ${JSON.stringify(h.config)}`);
  for (const k of ['epochsDone', 'step'] as const)
    if (!isInt(h[k])) throw bad(`header field "${k}" must be an integer ≥ 0, got ${JSON.stringify(h[k])}`);
  if (!Array.isArray(h.history)) throw bad(`header field "history" must be a list, got ${JSON.stringify(h.history)}`);
  for (const k of ['weights', 'optimizer'] as const) {
    const list = h[k];
    if (!Array.isArray(list))
      throw bad(`header field "${k}" must be a list of tensors {name, shape, offset}, got ${JSON.stringify(list)}`);
    for (const e of list as Record<string, unknown>[]) {
      if (
        !e ||
        typeof e.name !== 'string' ||
        !Array.isArray(e.shape) ||
        !e.shape.every((d) => isInt(d)) ||
        !isInt(e.offset)
      )
        throw bad(
          `an entry of "${k}" must be {name, shape: integers ≥ 0, offset: integer ≥ 0}, got ${JSON.stringify(e)}`,
        );
    }
  }
  return h as CheckpointHeader;
}

/**
 * The model fields a --data run adds: inputShape [H, W, C] and the normalisation of its first layer, one mean and
 * one positive std per channel (a damaged one would scale every input wrongly, silently).
 */
function checkDataFields(m: Record<string, unknown>, bad: (why: string) => CliError): void {
  const shape = m.inputShape;
  if (shape !== undefined && !(Array.isArray(shape) && shape.length === 3 && shape.every((d) => isInt(d, 1))))
    throw bad(
      `header field "model.inputShape" must be [height, width, channels] of integers ≥ 1, got ${JSON.stringify(shape)}`,
    );
  const n = m.normalization as { mean?: unknown; std?: unknown } | undefined;
  if (n === undefined) return;
  const channels = Array.isArray(shape) ? (shape[2] as number) : 1;
  const list = (v: unknown, positive: boolean) =>
    Array.isArray(v) &&
    v.length === channels &&
    v.every((x) => typeof x === 'number' && Number.isFinite(x) && (!positive || x > 0));
  if (!n || typeof n !== 'object' || !list(n.mean, false) || !list(n.std, true))
    throw bad(
      `header field "model.normalization" must be {mean, std} of ${channels} finite number(s) each (one per input channel), std > 0, got ${JSON.stringify(n)}`,
    );
}

/** Refuses NaN / ±Infinity in a tensor, naming it, the count and the first index. */
function checkFinite(path: string, name: string, v: Float32Array): void {
  let count = 0;
  let first = -1;
  for (let i = 0; i < v.length; i++) {
    if (!Number.isFinite(v[i])) {
      if (first < 0) first = i;
      count++;
    }
  }
  if (count > 0)
    throw new CliError(
      `${path}: '${name}' holds ${count} non-finite value(s) (NaN or ±Infinity; the first at index ${first}, ${v[first]}): the model would predict nothing useful; pass --allow-non-finite to load it anyway`,
    );
}

export function loadCheckpoint(path: string, opts: LoadOptions = {}): Checkpoint {
  if (!existsSync(path)) throw new CliError(`checkpoint not found: ${path}`);
  let buf: Buffer;
  try {
    buf = readFileSync(path);
  } catch (e) {
    throw fileError(e, path);
  }
  const bad = (why: string) => new CliError(`${path}: not a valid gmr checkpoint (${why})`);
  const magic = buf.subarray(0, 8).toString('latin1');
  if (magic === OLD_MAGIC) throw bad('written by an earlier gmr without a checksum; train it again with this version');
  if (buf.byteLength < 12 || magic !== MAGIC) throw bad('wrong magic bytes; expected a file written by `gmr train`');
  const len = buf.readUInt32LE(8);
  if (12 + len + DIGEST > buf.byteLength) throw bad(`truncated header: needs ${len} bytes`);
  const body = new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength - DIGEST);
  const stored = Buffer.from(buf.buffer, buf.byteOffset + buf.byteLength - DIGEST, DIGEST);
  const actual = createHash('sha256').update(body).digest();
  if (!actual.equals(new Uint8Array(stored)))
    throw bad(
      `checksum mismatch: the file is damaged or truncated (a changed, cut or added byte); SHA-256 of its contents ${actual.toString('hex').slice(0, 16)}…, stored ${stored.toString('hex').slice(0, 16)}…`,
    );
  let raw: unknown;
  try {
    raw = JSON.parse(buf.subarray(12, 12 + len).toString('utf8'));
  } catch (e) {
    throw bad(`header is not JSON: ${(e as Error).message}`);
  }
  if (!raw || typeof raw !== 'object' || Array.isArray(raw))
    throw bad(`header must be a JSON object, got ${JSON.stringify(raw)}`);
  const h = raw as Record<string, unknown>;
  if (h.format !== 'gmr-checkpoint' || h.version !== 2)
    throw bad(`unknown format ${String(h.format)} v${String(h.version)}`);
  const header = checkHeader(h, bad);
  const dataStart = 12 + len;
  const total = (body.byteLength - dataStart) / 4;
  const all = [...header.weights, ...header.optimizer];
  const need = all.reduce((a, e) => Math.max(a, e.offset + e.shape.reduce((p, q) => p * q, 1)), 0);
  if (!Number.isInteger(total) || total < need)
    throw bad(`truncated data: needs ${need} floats, has ${Math.floor(total)}`);
  const copy = new Float32Array(total);
  new Uint8Array(copy.buffer).set(body.subarray(dataStart, dataStart + total * 4));
  const read = (list: TensorEntry[]) =>
    new Map(list.map((e) => [e.name, copy.subarray(e.offset, e.offset + e.shape.reduce((p, q) => p * q, 1))]));
  const ck = { header, weights: read(header.weights), optimizer: read(header.optimizer) };
  if (!opts.allowNonFinite) for (const [name, v] of [...ck.weights, ...ck.optimizer]) checkFinite(path, name, v);
  return ck;
}
