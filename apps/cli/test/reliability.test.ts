/**
 * Issue 16: a resumed run never writes into another run's folder; bad data, sizes and flags are refused before any
 * work and leave no run folder behind; every refusal names the value and what is allowed.
 */
import { createHash } from 'node:crypto';
import {
  appendFileSync,
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  renameSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodeIdx } from '@gmr-conv/datasets';
import { beforeAll, describe, expect, it } from 'vitest';
import { MAX_ANGLES, parseAngles } from '../src/angles.js';
import { loadCheckpoint } from '../src/checkpoint.js';
import { gmr } from './helpers.js';

const TINY = ['--widths', '4,8,8', '--limit', '64', '--batch-size', '32', '--test-limit', '16', '--no-progress'];
let root = '';
const sha = (f: string) =>
  createHash('sha256')
    .update(new Uint8Array(readFileSync(f)))
    .digest('hex');
const noStack = (s: string) => expect(s).not.toMatch(/^\s+at .+\(.+:\d+:\d+\)$/m);

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'gmr-rel-'));
});

/** An IDX folder with the given train/test images (n × 28 × 28) and labels. */
function idxFolder(name: string, train: number[], test: number[]): string {
  const dir = join(root, name);
  mkdirSync(dir);
  for (const [prefix, labels] of [
    ['train', train],
    ['t10k', test],
  ] as const) {
    writeFileSync(
      join(dir, `${prefix}-images-idx3-ubyte`),
      encodeIdx([labels.length, 28, 28], new Uint8Array(labels.length * 784)),
    );
    writeFileSync(join(dir, `${prefix}-labels-idx1-ubyte`), encodeIdx([labels.length], Uint8Array.from(labels)));
  }
  return dir;
}

describe('resume writes only into the folder that holds the checkpoint', () => {
  it('a moved run resumes in place; the run now at its old path is untouched', () => {
    const a = join(root, 'A');
    const b = join(root, 'B');
    const first = gmr(['train', ...TINY, '--epochs', '2', '--stop-after', '1', '--seed', '1', '--out', a]);
    expect(first.status, first.stderr).toBe(0);
    renameSync(a, b);
    const other = gmr(['train', ...TINY, '--epochs', '1', '--seed', '7', '--out', a]);
    expect(other.status, other.stderr).toBe(0);
    const before = { ck: sha(join(a, 'checkpoint.gmrckpt')), log: sha(join(a, 'log.jsonl')) };
    // a stale temp file of a killed writer (no such process) is cleaned on resume
    writeFileSync(join(b, 'checkpoint.gmrckpt.tmp-999999'), 'partial');

    const resumed = gmr(['train', '--resume', join(b, 'checkpoint.gmrckpt'), '--no-progress']);
    expect(resumed.status, resumed.stderr).toBe(0);
    expect(resumed.stdout).toContain(`in ${b}`);
    expect({ ck: sha(join(a, 'checkpoint.gmrckpt')), log: sha(join(a, 'log.jsonl')) }).toEqual(before);
    const ck = loadCheckpoint(join(b, 'checkpoint.gmrckpt'));
    expect(ck.header.epochsDone).toBe(2);
    expect(ck.header.config.out).toBe(b);
    expect(existsSync(join(b, 'checkpoint.gmrckpt.tmp-999999'))).toBe(false);
    const runs = readFileSync(join(b, 'log.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => (JSON.parse(l) as { run: string }).run);
    expect(new Set(runs)).toEqual(new Set([ck.header.runId]));
    expect(ck.header.runId).not.toBe(loadCheckpoint(join(a, 'checkpoint.gmrckpt')).header.runId);
  });

  it('a folder whose log holds another run is refused; --out, --epochs that differ are refused, not ignored', () => {
    const b = join(root, 'B');
    const mixed = join(root, 'mixed');
    cpSync(b, mixed, { recursive: true });
    appendFileSync(join(mixed, 'log.jsonl'), JSON.stringify({ event: 'epoch', run: 'someone-else', epoch: 1 }) + '\n');
    const m = gmr(['train', '--resume', join(mixed, 'checkpoint.gmrckpt'), '--no-progress']);
    expect(m.status).toBe(2);
    expect(m.stderr).toMatch(
      /log\.jsonl holds lines of run someone-else, but the checkpoint belongs to run [0-9a-f-]{36}: the folder mixes two runs/,
    );

    const e = gmr(['train', '--resume', join(b, 'checkpoint.gmrckpt'), '--epochs', '5']);
    expect(e.status).toBe(2);
    expect(e.stderr).toMatch(
      /--epochs 5 differs from the resumed run's 2: a resumed run keeps the configuration it started with/,
    );
    const o = gmr(['train', '--resume', join(b, 'checkpoint.gmrckpt'), '--out', join(root, 'elsewhere')]);
    expect(o.status).toBe(2);
    expect(o.stderr).toContain(
      `--resume continues the run in the folder that holds its checkpoint (${b}), not in ${join(root, 'elsewhere')}`,
    );
    expect(existsSync(join(root, 'elsewhere'))).toBe(false);
  });
});

describe('data and sizes checked before any work, nothing written on refusal', () => {
  it('an empty training set', () => {
    const dir = idxFolder('empty', [], [1, 2]);
    const out = join(root, 'run-empty');
    const r = gmr(['train', ...TINY, '--data-dir', dir, '--out', out]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/the training set is empty \(0 images\)/);
    expect(existsSync(out)).toBe(false);
    noStack(r.stderr);
  });

  it('a label outside the classes, named with its file', () => {
    const dir = idxFolder('mislabelled', [1, 200, 3], [1, 2]);
    const out = join(root, 'run-label');
    const r = gmr(['train', ...TINY, '--data-dir', dir, '--out', out]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/train-labels-idx1-ubyte: label 200 at index 1 is outside the 10 classes/);
    expect(existsSync(out)).toBe(false);
  });

  it('a batch that cannot fit in memory, with the estimate and the limit', () => {
    const out = join(root, 'run-batch');
    const r = gmr(['train', ...TINY, '--batch-size', '100000000', '--out', out]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(
      /--batch-size 100000000 with 28×28 images and widths 4\/8\/8 needs about [\d.]+ GiB per training step, over the limit of [\d.]+ GiB .*; use --batch-size \d+ or less/,
    );
    expect(existsSync(out)).toBe(false);
  });
});

describe('flags', () => {
  it('angles: empty, a negative step and too many are refused with the rule', () => {
    const ck = join(root, 'B', 'checkpoint.gmrckpt');
    const empty = gmr(['eval', '--checkpoint', ck, '--angles', '']);
    expect(empty.status).toBe(2);
    expect(empty.stderr).toMatch(/`--angles` must be one or more angles \(use 'paper', .*\), got ""\./);
    const neg = gmr(['eval', '--checkpoint', ck, '--angles', '0:360:-10']);
    expect(neg.stderr).toMatch(/`--angles step` must be positive, got -10\./);
    const many = gmr(['eval', '--checkpoint', ck, '--angles', '0:360:0.0001']);
    expect(many.status).toBe(2);
    expect(many.stderr).toMatch(
      new RegExp(
        `\`--angles\` must be at most ${MAX_ANGLES} angles \\(a step of 0\\.1° over 0\\.\\.360; this range gives 3600001\\)`,
      ),
    );
    // the limit itself is allowed, and ranges keep their exact values
    expect(parseAngles('0:360:0.1')).toHaveLength(MAX_ANGLES);
    expect(parseAngles('0:360:10')).toEqual(Array.from({ length: 37 }, (_, i) => 10 * i));
    expect(() => parseAngles('0,,90')).toThrow(/`--angles` must be a list without empty entries .*, got "0,,90"\./);
  });

  it('--config takes the flag name "no-progress"; extra positional arguments are refused', () => {
    const f = join(root, 'np.json');
    writeFileSync(f, JSON.stringify({ 'no-progress': true, 'batch-size': 100000000 }));
    // the config is applied (its batch size is what gets refused), "no-progress" is not an unknown option
    const r = gmr(['train', '--config', f, '--out', join(root, 'run-config')]);
    expect(r.status).toBe(2);
    expect(r.stderr).not.toMatch(/unknown option/);
    expect(r.stderr).toMatch(/--batch-size 100000000/);
    const extra = gmr(['train', 'mnist', '--epochs', '1']);
    expect(extra.status).toBe(2);
    expect(extra.stderr).toMatch(/too many arguments for 'train'/);
  });
});
