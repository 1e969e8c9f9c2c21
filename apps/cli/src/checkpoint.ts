/**
 * Checkpoints: one binary file, written atomically (temp file + fsync + rename + directory fsync), so a kill
 * during a save leaves the previous checkpoint intact.
 *
 * Layout: "GMRCKPT1" (8 bytes) | header length (u32 LE) | header JSON (UTF-8) | float32 LE data.
 */
import { closeSync, existsSync, fsyncSync, openSync, readFileSync, renameSync, writeSync, unlinkSync } from 'node:fs';
import { dirname } from 'node:path';
import { CliError } from './errors.js';

const MAGIC = 'GMRCKPT1';

export interface TensorEntry {
  name: string;
  shape: number[];
  /** float32 offset into the data block */
  offset: number;
}

export interface CheckpointHeader {
  format: 'gmr-checkpoint';
  version: 1;
  /** what model the weights belong to */
  model: { kind: string; widths: number[]; numClasses: number; pooling?: string; harmonicChannels?: number[] };
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
  const fd = openSync(tmp, 'w');
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
    throw e;
  }
  closeSync(fd);
  renameSync(tmp, path);
  fsyncDir(dirname(path));
}

export function saveCheckpoint(
  path: string,
  header: Pick<CheckpointHeader, 'model' | 'config' | 'epochsDone' | 'step' | 'history'>,
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
  const full: CheckpointHeader = { format: 'gmr-checkpoint', version: 1, ...header, weights: entries(weights), optimizer: entries(optimizer) };
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
  writeFileAtomic(path, [pre, json, new Uint8Array(data.buffer, data.byteOffset, data.byteLength)]);
}

export function loadCheckpoint(path: string): Checkpoint {
  if (!existsSync(path)) throw new CliError(`checkpoint not found: ${path}`);
  const buf = readFileSync(path);
  const bad = (why: string) => new CliError(`${path}: not a valid gmr checkpoint (${why})`);
  if (buf.byteLength < 12 || buf.subarray(0, 8).toString('latin1') !== MAGIC) throw bad('wrong magic bytes; expected a file written by `gmr train`');
  const len = buf.readUInt32LE(8);
  if (12 + len > buf.byteLength) throw bad(`truncated header: needs ${len} bytes`);
  let header: CheckpointHeader;
  try {
    header = JSON.parse(buf.subarray(12, 12 + len).toString('utf8')) as CheckpointHeader;
  } catch (e) {
    throw bad(`header is not JSON: ${(e as Error).message}`);
  }
  if (header.format !== 'gmr-checkpoint' || header.version !== 1) throw bad(`unknown format ${String(header.format)} v${String(header.version)}`);
  const dataStart = 12 + len;
  const total = (buf.byteLength - dataStart) / 4;
  const all = [...header.weights, ...header.optimizer];
  const need = all.reduce((a, e) => Math.max(a, e.offset + e.shape.reduce((p, q) => p * q, 1)), 0);
  if (!Number.isInteger(total) || total < need) throw bad(`truncated data: needs ${need} floats, has ${Math.floor(total)}`);
  const copy = new Float32Array(total);
  new Uint8Array(copy.buffer).set(buf.subarray(dataStart, dataStart + total * 4));
  const read = (list: TensorEntry[]) => new Map(list.map((e) => [e.name, copy.subarray(e.offset, e.offset + e.shape.reduce((p, q) => p * q, 1))]));
  return { header, weights: read(header.weights), optimizer: read(header.optimizer) };
}
