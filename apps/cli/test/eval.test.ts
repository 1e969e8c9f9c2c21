/** gmr eval --rotations --flips writes a table, JSON, SVG and PNG plots and an HTML page that parse. */
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { gmr, trainTinyCheckpoint } from './helpers.js';

let root = '';
let ckpt = '';

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'gmr-eval-'));
  ckpt = trainTinyCheckpoint(root, 128, 32);
});

describe('gmr eval', () => {
  it('runs the 37-angle and flip protocol and writes the report', () => {
    const out = join(root, 'report');
    const r = gmr([
      'eval',
      '--checkpoint',
      ckpt,
      '--rotations',
      '--flips',
      '--test-limit',
      '40',
      '--out',
      out,
      '--json',
    ]);
    expect(r.status, r.stderr).toBe(0);
    const printed = JSON.parse(r.stdout) as {
      results: { rotations: { angles: number[]; accuracy: number[]; mean: number }; flips: { vertical: number } }[];
    };
    const rot = printed.results[0].rotations;
    expect(rot.angles).toEqual(Array.from({ length: 37 }, (_, i) => 10 * i));
    expect(rot.accuracy).toHaveLength(37);
    for (const a of rot.accuracy) expect(a).toBeGreaterThanOrEqual(0);
    // the GMR-CNN is D4-invariant at 28×28: 0°, 90°, 180°, 270° and 360° agree
    for (const a of [9, 18, 27, 36]) expect(rot.accuracy[a]).toBeCloseTo(rot.accuracy[0], 6);

    const report = JSON.parse(readFileSync(join(out, 'report.json'), 'utf8')) as { results: unknown[] };
    expect(report.results).toHaveLength(1);
    expect(readFileSync(join(out, 'table.md'), 'utf8')).toMatch(/mean over the 37 angles/);
    for (const name of ['accuracy-vs-angle', 'accuracy-polar']) {
      const svg = readFileSync(join(out, `${name}.svg`), 'utf8');
      expect(svg.startsWith('<svg')).toBe(true);
      expect(svg.trim().endsWith('</svg>')).toBe(true);
      expect((svg.match(/<path/g) ?? []).length).toBeGreaterThan(5);
      const png = readFileSync(join(out, `${name}.png`));
      expect(Array.from(png.subarray(0, 8))).toEqual([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
      expect(png.readUInt32BE(16)).toBe(1200); // IHDR width
      expect(png.readUInt32BE(20)).toBeGreaterThan(100);
    }
    const html = readFileSync(join(out, 'report.html'), 'utf8');
    expect(html).toMatch(/^<!doctype html>/);
    expect(html).toContain('</html>');
    expect(html).toContain('<svg');
    expect(html).toContain('accuracy-vs-angle.png');
    expect(html).toMatch(/<table>/);
  });

  it('evaluates chosen angles only', () => {
    const out = join(root, 'angles');
    const r = gmr([
      'eval',
      '--checkpoint',
      ckpt,
      '--rotations',
      '--angles',
      '0,45,90',
      '--test-limit',
      '20',
      '--out',
      out,
    ]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/mean over the 3 angles/);
    expect(existsSync(join(out, 'report.html'))).toBe(true);
  });

  it('gmr export --plain writes a tfjs model without GMR layers and the same logits; refuses to overwrite', () => {
    const out = join(root, 'exported');
    const r = gmr(['export', '--checkpoint', ckpt, '--out', out, '--plain', '--json']);
    expect(r.status, r.stderr).toBe(0);
    const info = JSON.parse(r.stdout) as { maxAbsLogitDiff: number; maxAbsLogit: number; layers: string[] };
    expect(info.maxAbsLogitDiff).toBeLessThan(2e-5 * Math.max(1, info.maxAbsLogit));
    expect(info.layers).not.toContain('GMRConv2D');
    const modelJson = JSON.parse(readFileSync(join(out, 'model.json'), 'utf8')) as {
      modelTopology: unknown;
      weightsManifest: unknown[];
    };
    expect(JSON.stringify(modelJson.modelTopology)).toContain('Conv2D');
    expect(JSON.stringify(modelJson.modelTopology)).not.toContain('GMRConv2D');
    expect(existsSync(join(out, 'weights.bin'))).toBe(true);
    const again = gmr(['export', '--checkpoint', ckpt, '--out', out]);
    expect(again.status).toBe(2);
    expect(again.stderr).toMatch(/is not empty: pass --force/);
  });

  it('gmr convert turns a plain-cnn checkpoint into a GMR model; refuses a GMR checkpoint', () => {
    const plainRun = join(root, 'plain');
    const t = gmr([
      'train',
      '--model',
      'plain-cnn',
      '--widths',
      '4,8,8',
      '--limit',
      '64',
      '--epochs',
      '1',
      '--test-limit',
      '16',
      '--optimizer',
      'sgd',
      '--out',
      plainRun,
      '--no-progress',
    ]);
    expect(t.status, t.stderr).toBe(0);
    const r = gmr([
      'convert',
      '--checkpoint',
      join(plainRun, 'checkpoint.gmrckpt'),
      '--out',
      join(root, 'converted'),
      '--json',
    ]);
    expect(r.status, r.stderr).toBe(0);
    expect((JSON.parse(r.stdout) as { converted: string[] }).converted).toEqual(['conv1', 'conv2', 'conv3']);
    expect(readFileSync(join(root, 'converted', 'model.json'), 'utf8')).toContain('GMRConv2D');
    const bad = gmr(['convert', '--checkpoint', ckpt, '--out', join(root, 'converted2')]);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/no Conv2D layer/);
  });

  it('gmr oracle checks the whole-model oracle files', () => {
    const r = gmr(['oracle']);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/PASS public_gmr_resnet18_small\.json/);
    expect(r.stdout).toMatch(/\d+ passed, 0 failed/);
  });
});
