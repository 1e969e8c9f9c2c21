/**
 * Fault injection: the real gmr process killed during a checkpoint save and during a log write, a full disk, a
 * read-only output folder, damaged checkpoints. After each, nothing is lost that was saved, no partial file is
 * left under a final name, and the error names the file. (Faults come from test/fault_preload.mjs; a full disk
 * and a read-only folder are real tmpfs mounts where root may mount them, else injected write errors.)
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  chmodSync,
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadCheckpoint, saveCheckpoint } from '../src/checkpoint.js';
import { gmr, gmrFault } from './helpers.js';

const TRAIN = [
  'train',
  '--widths',
  '4,8,8',
  '--limit',
  '64',
  '--batch-size',
  '32',
  '--epochs',
  '2',
  '--test-limit',
  '16',
  '--seed',
  '3',
  '--no-progress',
];
let root = '';
let done = ''; // a finished 2-epoch run, the reference for every resumed one
const mounts: string[] = [];
const logLines = (dir: string) =>
  readFileSync(join(dir, 'log.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { event: string; epoch?: number; run?: string; recovered?: boolean });
const sha = (f: string) =>
  createHash('sha256')
    .update(new Uint8Array(readFileSync(f)))
    .digest('hex');

/** Mounts a tmpfs (root only); false where that is not allowed. */
function tmpfs(dir: string, options: string): boolean {
  mkdirSync(dir, { recursive: true });
  if (process.getuid?.() !== 0) return false;
  const ok = spawnSync('mount', ['-t', 'tmpfs', '-o', options, 'tmpfs', dir]).status === 0;
  if (ok) mounts.push(dir);
  return ok;
}

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'gmr-faults-'));
  done = join(root, 'done');
  const r = gmr([...TRAIN, '--out', done]);
  expect(r.status, r.stderr).toBe(0);
});
afterAll(() => {
  for (const m of mounts.reverse()) spawnSync('umount', [m]);
});

/** Resumes `dir`, then checks it ends as the uninterrupted run: same weights, one log line per epoch, one run id. */
function resumeAndCompare(dir: string): { stdout: string } {
  const r = gmr(['train', '--resume', join(dir, 'checkpoint.gmrckpt'), '--no-progress']);
  expect(r.status, r.stderr).toBe(0);
  const a = loadCheckpoint(join(done, 'checkpoint.gmrckpt'));
  const b = loadCheckpoint(join(dir, 'checkpoint.gmrckpt'));
  for (const [name, w] of a.weights) expect(Array.from(b.weights.get(name)!), name).toEqual(Array.from(w));
  const lines = logLines(dir);
  expect(lines.filter((l) => l.event === 'epoch').map((l) => l.epoch)).toEqual([1, 2]);
  expect(new Set(lines.map((l) => l.run))).toEqual(new Set([b.header.runId]));
  expect(readdirSync(dir).filter((f) => f.includes('.tmp-'))).toEqual([]);
  return r;
}

describe('killed during a save or a log write', () => {
  it('kill before the rename of the second checkpoint: the first is intact, its temp file is cleaned on resume', () => {
    const dir = join(root, 'before-rename');
    const r = gmrFault('kill-before-rename:2', [...TRAIN, '--out', dir]);
    expect(r.signal).toBe('SIGKILL');
    expect(loadCheckpoint(join(dir, 'checkpoint.gmrckpt')).header.epochsDone).toBe(1);
    expect(readdirSync(dir).filter((f) => f.startsWith('checkpoint.gmrckpt.tmp-'))).toHaveLength(1);
    resumeAndCompare(dir);
  });

  it("kill between the rename and the log write: resume writes the lost epoch's line again", () => {
    const dir = join(root, 'after-rename');
    const r = gmrFault('kill-after-rename:1', [...TRAIN, '--out', dir]);
    expect(r.signal).toBe('SIGKILL');
    expect(loadCheckpoint(join(dir, 'checkpoint.gmrckpt')).header.epochsDone).toBe(1);
    expect(existsSync(join(dir, 'log.jsonl'))).toBe(false);
    const out = resumeAndCompare(dir);
    expect(out.stdout).toMatch(/log lines of epoch\(s\) 1 written again from the checkpoint/);
    expect(logLines(dir).find((l) => l.epoch === 1)?.recovered).toBe(true);
  });

  it('kill in the middle of a log line: the cut line is dropped and written whole again', () => {
    const dir = join(root, 'mid-log');
    const r = gmrFault('kill-mid-log:1', [...TRAIN, '--out', dir]);
    expect(r.signal).toBe('SIGKILL');
    expect(readFileSync(join(dir, 'log.jsonl'), 'utf8')).not.toMatch(/\n$/);
    resumeAndCompare(dir);
  });
});

describe('full disk and read-only output', () => {
  it('a full disk during the eval report leaves no partial SVG and names the file', () => {
    const out = join(root, 'full');
    // 12 KiB holds report.json and table.md but not the plots
    const real = tmpfs(out, 'size=12k');
    const args = [
      'eval',
      '--checkpoint',
      join(done, 'checkpoint.gmrckpt'),
      '--rotations',
      '--angles',
      '0,90',
      '--test-limit',
      '8',
      '--out',
      out,
    ];
    const r = real ? gmr(args) : gmrFault('enospc:\\.svg', args);
    expect(r.status).toBe(4);
    expect(r.stderr).toMatch(/gmr: error: .*full.*: no space left on the device \(ENOSPC\)/);
    for (const f of readdirSync(out)) expect(statSync(join(out, f)).size, f).toBeGreaterThan(0);
    expect(readdirSync(out).filter((f) => f.endsWith('.svg') || f.includes('.tmp-'))).toEqual([]);
  });

  it('a read-only output folder is refused, naming the folder, and a file in the path gives ENOTDIR', () => {
    const ro = join(root, 'ro');
    const real = tmpfs(ro, 'ro,size=64k');
    // without root, a folder without write permission stands in for a read-only file system
    if (!real) chmodSync(ro, 0o555);
    const r = gmr([...TRAIN, '--epochs', '1', '--out', join(ro, 'run')]);
    expect(r.status).toBe(4);
    expect(r.stderr).toContain(`gmr: error: ${join(ro, 'run')}`);
    expect(r.stderr).toMatch(real ? /the file system is read-only \(EROFS\)/ : /permission denied \(EACCES\)/);
    expect(existsSync(join(ro, 'run'))).toBe(false);
    const file = join(root, 'a-file');
    writeFileSync(file, 'x');
    const n = gmr([...TRAIN, '--epochs', '1', '--out', join(file, 'run')]);
    expect(n.status).toBe(4);
    expect(n.stderr).toMatch(/a-file\/run.*: a part of the path is a file, not a folder \(ENOTDIR\)/);
  });
});

describe('damaged checkpoints', () => {
  it('a flipped bit is refused by the checksum; the original still loads', () => {
    const bad = join(root, 'flipped.gmrckpt');
    const bytes = new Uint8Array(readFileSync(join(done, 'checkpoint.gmrckpt')));
    bytes[bytes.length - 100] ^= 0x01;
    writeFileSync(bad, bytes);
    const r = gmr(['eval', '--checkpoint', bad, '--test-limit', '8']);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(
      /flipped\.gmrckpt: not a valid gmr checkpoint \(checksum mismatch: the file is damaged or truncated/,
    );
    expect(loadCheckpoint(join(done, 'checkpoint.gmrckpt')).header.epochsDone).toBe(2);
  });

  it('"weights": null with a valid checksum is a clear error, not "unexpected error"', () => {
    const ck = loadCheckpoint(join(done, 'checkpoint.gmrckpt'));
    const header = new TextEncoder().encode(JSON.stringify({ ...ck.header, weights: null }));
    const body = new Uint8Array(12 + header.byteLength);
    body.set(new TextEncoder().encode('GMRCKPT2'), 0);
    new DataView(body.buffer).setUint32(8, header.byteLength, true);
    body.set(header, 12);
    const file = join(root, 'null-weights.gmrckpt');
    const digest = new Uint8Array(createHash('sha256').update(body).digest());
    const whole = new Uint8Array(body.byteLength + digest.byteLength);
    whole.set(body, 0);
    whole.set(digest, body.byteLength);
    writeFileSync(file, whole);
    const r = gmr(['eval', '--checkpoint', file, '--test-limit', '8']);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/header field "weights" must be a list of tensors \{name, shape, offset\}, got null/);
    expect(r.stderr).not.toMatch(/unexpected error/);
  });

  it('non-finite weights are refused unless --allow-non-finite', () => {
    const ck = loadCheckpoint(join(done, 'checkpoint.gmrckpt'));
    const dir = join(root, 'nan');
    mkdirSync(dir);
    const file = join(dir, 'checkpoint.gmrckpt');
    const named = (m: Map<string, Float32Array>) =>
      ck.header[m === ck.weights ? 'weights' : 'optimizer'].map((e) => ({
        name: e.name,
        shape: e.shape,
        data: m.get(e.name)!.slice(),
      }));
    const weights = named(ck.weights);
    weights[0].data[3] = NaN;
    saveCheckpoint(file, ck.header, weights, named(ck.optimizer));
    const r = gmr(['eval', '--checkpoint', file, '--test-limit', '8']);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain(
      `'${weights[0].name}' holds 1 non-finite value(s) (NaN or ±Infinity; the first at index 3, NaN)`,
    );
    expect(r.stderr).toMatch(/pass --allow-non-finite to load it anyway/);
    const allowed = gmr([
      'eval',
      '--checkpoint',
      file,
      '--rotations',
      '--angles',
      '0',
      '--test-limit',
      '8',
      '--allow-non-finite',
      '--json',
    ]);
    expect(allowed.status, allowed.stderr).toBe(0);
  });

  it('a copied run resumes in its own folder only', () => {
    const copy = join(root, 'copy');
    cpSync(join(root, 'before-rename'), copy, { recursive: true });
    const before = sha(join(root, 'before-rename', 'checkpoint.gmrckpt'));
    const r = gmr(['train', '--resume', join(copy, 'checkpoint.gmrckpt'), '--no-progress']);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/after epoch 2\/2 .* in .*copy/);
    expect(sha(join(root, 'before-rename', 'checkpoint.gmrckpt'))).toBe(before);
  });
});
