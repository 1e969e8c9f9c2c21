/** --config files, --classes (a binary task with ROC-AUC) and the regenerated mnist-rot dataset. */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { selectClasses } from '../src/data.js';
import { gmr } from './helpers.js';

let root = '';
beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'gmr-options-'));
});

const config = (name: string, v: unknown) => {
  const f = join(root, name);
  writeFileSync(f, typeof v === 'string' ? v : JSON.stringify(v));
  return f;
};

describe('--config', () => {
  it("fills options through the flags' parsers; command-line flags win", () => {
    const f = config('ok.json', {
      widths: [4, 8, 8],
      limit: 64,
      'test-limit': 32,
      batchSize: 32,
      augment: 'paper',
      lr: 0.01,
      progress: false,
    });
    const out = join(root, 'cfg-run');
    const r = gmr(['train', '--config', f, '--lr', '0.002', '--out', out]);
    expect(r.status, r.stderr).toBe(0);
    const saved = JSON.parse(readFileSync(join(out, 'config.json'), 'utf8'));
    expect(saved.widths).toEqual([4, 8, 8]);
    expect(saved.limit).toBe(64);
    expect(saved.testLimit).toBe(32);
    expect(saved.batchSize).toBe(32);
    expect(saved.augment).toBe('paper');
    expect(saved.lr).toBe(0.002); // the flag, not the file's 0.01
  });

  it('refuses unknown keys, bad values, wrong types and unreadable files with the key named', () => {
    const cases: Array<[unknown, RegExp]> = [
      [{ limt: 5 }, /unknown option "limt" for 'gmr train' \(known: .*limit/],
      [{ limit: 0 }, /`--limit` must be an integer ≥ 1, got "0"/],
      [{ augment: 'rot' }, /"augment" must be one of none, paper, got 'rot'/],
      [{ nesterov: 'yes' }, /"nesterov" \(--nesterov\) is a switch: use true or false/],
      [{ widths: { a: 1 } }, /"widths" must be a number, a string, a boolean or a list/],
      [[1, 2], /must hold a JSON object of options, got an array/],
      ['{"epochs": 2,', /is not valid JSON/],
    ];
    cases.forEach(([v, re], i) => {
      const r = gmr(['train', '--config', config(`bad${i}.json`, v), '--out', join(root, `bad${i}`)]);
      expect(r.status, `case ${i}: ${r.stderr}`).toBe(2);
      expect(r.stderr).toMatch(re);
      expect(r.stderr).not.toMatch(/^\s+at /m);
    });
    const missing = gmr(['train', '--config', join(root, 'nope.json')]);
    expect(missing.status).toBe(2);
    expect(missing.stderr).toMatch(/cannot read --config .*nope\.json: file not found/);
  });
});

describe('--classes', () => {
  it('selects and relabels classes', () => {
    const set = {
      images: new Uint8Array([1, 2, 3, 4, 5]),
      labels: new Int32Array([0, 9, 6, 9, 1]),
      count: 5,
      height: 1,
      width: 1,
      channels: 1,
    };
    const s = selectClasses(set, [9, 6]);
    expect(Array.from(s.labels)).toEqual([0, 1, 0]);
    expect(Array.from(s.images)).toEqual([2, 3, 4]);
    expect(s.classNames).toEqual(['9', '6']);
    expect(() => selectClasses(set, [6, 7])).toThrow(/class\(es\) 7 not in the dataset/);
  });

  it('trains a binary 6-vs-9 model and logs its ROC-AUC; eval keeps the same classes', () => {
    const out = join(root, 'bin69');
    const r = gmr([
      'train',
      '--classes',
      '6,9',
      '--widths',
      '4,8,8',
      '--limit',
      '128',
      '--test-limit',
      '64',
      '--out',
      out,
      '--no-progress',
      '--json',
    ]);
    expect(r.status, r.stderr).toBe(0);
    const last = JSON.parse(r.stdout).history[0];
    expect(last.rocAuc).toBeGreaterThanOrEqual(0);
    expect(last.rocAuc).toBeLessThanOrEqual(1);
    expect(r.stderr).toMatch(/ROC-AUC \d\.\d{4}/);
    const e = gmr([
      'eval',
      '--checkpoint',
      join(out, 'checkpoint.gmrckpt'),
      '--angles',
      '0,90',
      '--test-limit',
      '40',
      '--json',
    ]);
    expect(e.status, e.stderr).toBe(0);
    expect(JSON.parse(e.stdout).results[0].testImages).toBe(40);
    const bad = gmr(['train', '--classes', '6', '--out', join(root, 'x')]);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/`--classes` must be two or more distinct integer labels like 6,9, got "6"\./);
  });
});

describe('--dataset mnist-rot', () => {
  it('trains on the regenerated rotated split; --data-dir does not apply', () => {
    const r = gmr([
      'train',
      '--dataset',
      'mnist-rot',
      '--widths',
      '4,8,8',
      '--limit',
      '64',
      '--test-limit',
      '32',
      '--out',
      join(root, 'rot'),
      '--no-progress',
    ]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/test acc/);
    const bad = gmr(['train', '--dataset', 'mnist-rot', '--data-dir', root, '--out', join(root, 'rot2')]);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/mnist-rot is regenerated from the embedded MNIST: --data-dir does not apply/);
  });
});

describe('mixed datasets', () => {
  it('mnist+fashion-mnist trains a 20-class model (fashion from --data-dir); mnist+mnist-rot shares the 10 digits', async () => {
    const { encodeIdx } = await import('@gmr-conv/datasets');
    const dir = join(root, 'fashion');
    const { mkdirSync } = await import('node:fs');
    mkdirSync(dir);
    for (const [split, n] of [
      ['train', 40],
      ['t10k', 20],
    ] as const) {
      const px = new Uint8Array(n * 28 * 28).map((_, i) => (i * 37) % 256);
      writeFileSync(join(dir, `${split}-images-idx3-ubyte`), encodeIdx([n, 28, 28], px));
      writeFileSync(
        join(dir, `${split}-labels-idx1-ubyte`),
        encodeIdx(
          [n],
          new Uint8Array(n).map((_, i) => i % 10),
        ),
      );
    }
    const out = join(root, 'mix20');
    const r = gmr([
      'train',
      '--dataset',
      'mnist+fashion-mnist',
      '--data-dir',
      dir,
      '--widths',
      '4,8,8',
      '--limit',
      '64',
      '--test-limit',
      '200',
      '--out',
      out,
      '--no-progress',
    ]);
    expect(r.status, r.stderr).toBe(0);
    const { loadCheckpoint } = await import('../src/checkpoint.js');
    expect(loadCheckpoint(join(out, 'checkpoint.gmrckpt')).header.model.numClasses).toBe(20);
    const { loadSplit } = await import('../src/data.js');
    const mix = await loadSplit({ dataset: 'mnist+fashion-mnist', dataDir: dir }, 'test');
    expect(mix.count).toBe(10000 + 20);
    // the shuffle spreads fashion images (labels 10..19) through the set
    const firstFashion = mix.labels.findIndex((l) => l >= 10);
    expect(firstFashion).toBeGreaterThanOrEqual(0);
    expect(firstFashion).toBeLessThan(5000);
    const digits = await loadSplit({ dataset: 'mnist+mnist-rot' }, 'train');
    expect(digits.count).toBe(60000 + 10000);
    expect(Math.max(...digits.labels)).toBe(9);
    expect(digits.images).toBeInstanceOf(Float32Array);
  });
});

describe('--pooling rings', () => {
  it('trains a GMR-CNN with ring pooling; eval rebuilds it from the checkpoint; its 90° accuracy equals upright', () => {
    const out = join(root, 'rings');
    const r = gmr([
      'train',
      '--pooling',
      'rings',
      '--widths',
      '4,8,8',
      '--limit',
      '96',
      '--test-limit',
      '32',
      '--out',
      out,
      '--no-progress',
    ]);
    expect(r.status, r.stderr).toBe(0);
    const e = gmr([
      'eval',
      '--checkpoint',
      join(out, 'checkpoint.gmrckpt'),
      '--angles',
      '0,90,180,270',
      '--test-limit',
      '64',
      '--json',
    ]);
    expect(e.status, e.stderr).toBe(0);
    const acc = JSON.parse(e.stdout).results[0].rotations.accuracy as number[];
    expect(new Set(acc).size).toBe(1);
    const bad = gmr(['train', '--pooling', 'max', '--out', join(root, 'x')]);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/Allowed choices are average, rings/);
  });
});
