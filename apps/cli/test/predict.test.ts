/**
 * gmr predict, gmr eval --data and gmr eval --compare end to end on a tiny generated example (gmr make-example) with
 * two tiny checkpoints trained on it through gmr train --data folder:….
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodePng } from '@gmr-conv/datasets';
import { EXAMPLE_CLASSES } from '../src/example.js';
import { gmr } from './helpers.js';

let root = '';
let data = '';
const ck: Record<'gmr' | 'plain', string> = { gmr: '', plain: '' };

interface Pred {
  file: string;
  className: string;
  probability: number;
  top: { className: string; probability: number }[];
  rotations?: { agreement: number; worstAngle: number; worstProbability: number; worstClass: string };
}

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'gmr-predict-'));
  data = join(root, 'cells');
  const made = gmr([
    'make-example',
    data,
    '--train-per-class',
    '6',
    '--test-per-class',
    '3',
    '--size',
    '24',
    '--seed',
    '2',
    '--json',
  ]);
  expect(made.status, made.stderr).toBe(0);
  expect(JSON.parse(made.stdout)).toMatchObject({ counts: { train: 24, test: 12 }, classes: [...EXAMPLE_CLASSES] });
  for (const [name, model] of [
    ['gmr', 'gmr-cnn'],
    ['plain', 'plain-cnn'],
  ] as const) {
    const r = gmr([
      'train',
      '--data',
      `folder:${data}`,
      '--model',
      model,
      '--widths',
      '4,8,8',
      '--epochs',
      '1',
      '--batch-size',
      '8',
      '--out',
      join(root, name),
      '--no-progress',
    ]);
    expect(r.status, r.stderr).toBe(0);
    ck[name] = join(root, name, 'checkpoint.gmrckpt');
  }
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('gmr predict', () => {
  it('gives each image of a folder its class and top-k, and holds under 90° turns for the GMR model', () => {
    const r = gmr([
      'predict',
      '--checkpoint',
      ck.gmr,
      join(data, 'test'),
      '--top-k',
      '2',
      '--rotations',
      '--angles',
      '0,90,180,270',
      '--json',
    ]);
    expect(r.status, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as { classes: string[]; predictions: Pred[] };
    expect(out.classes).toEqual([...EXAMPLE_CLASSES]);
    expect(out.predictions).toHaveLength(12);
    for (const p of out.predictions) {
      expect(p.top).toHaveLength(2);
      expect(p.top[0]).toEqual({ className: p.className, probability: p.probability });
      expect(p.top[0].probability).toBeGreaterThanOrEqual(p.top[1].probability);
      expect(p.top[0].probability + p.top[1].probability).toBeLessThanOrEqual(1 + 1e-6);
      // the GMR-CNN is invariant to quarter turns (exact on the pixel grid): every angle agrees, the worst is the upright
      expect(p.rotations!.agreement).toBe(1);
      expect(p.rotations!.worstProbability).toBeCloseTo(p.probability, 4);
    }
  });

  it('agrees with gmr eval --data on the same images', () => {
    const p = gmr(['predict', '--checkpoint', ck.plain, join(data, 'test'), '--json']);
    expect(p.status, p.stderr).toBe(0);
    const preds = (JSON.parse(p.stdout) as { predictions: Pred[] }).predictions;
    const right = preds.filter((x) => x.className === basename(dirname(x.file))).length;
    const e = gmr([
      'eval',
      '--checkpoint',
      ck.plain,
      '--data',
      `folder:${data}`,
      '--rotations',
      '--angles',
      '0',
      '--out',
      join(root, 'eval'),
      '--json',
    ]);
    expect(e.status, e.stderr).toBe(0);
    const res = (JSON.parse(e.stdout) as { results: { upright: number; testImages: number }[] }).results[0];
    expect(res.testImages).toBe(12);
    expect(res.upright).toBeCloseTo(right / 12, 10);
    // the table form names the columns
    const t = gmr([
      'predict',
      '--checkpoint',
      ck.plain,
      join(data, 'test', 'round', '00000.png'),
      '--rotations',
      '--angles',
      '0:360:90',
    ]);
    expect(t.status, t.stderr).toBe(0);
    expect(t.stdout).toMatch(
      /\| image .*\| class .*\| probability .*\| top 3 .*\| same class over 5 angles .*\| worst angle/,
    );
  });

  it('names a missing image, a folder without images and --angles without --rotations', () => {
    const empty = join(root, 'empty');
    mkdirSync(empty, { recursive: true });
    writeFileSync(join(empty, 'notes.txt'), 'no images here');
    const missing = gmr(['predict', '--checkpoint', ck.plain, join(root, 'nope.png')]);
    expect(missing.status).toBe(2);
    expect(missing.stderr).toContain(`image not found: ${join(root, 'nope.png')}`);
    const none = gmr(['predict', '--checkpoint', ck.plain, empty]);
    expect(none.stderr).toMatch(/empty: no image files \(\.png \.jpg \.jpeg \.tif \.tiff\) in the folder or below it/);
    expect(gmr(['predict', '--checkpoint', ck.plain, empty, '--angles', '0,90']).stderr).toContain(
      '--angles 0,90 sets the angles of --rotations; add --rotations',
    );
  });
});

describe('gmr eval --compare', () => {
  it('puts two checkpoints on one test set and one page, named by their run folders', () => {
    const out = join(root, 'compare');
    const r = gmr([
      'eval',
      '--compare',
      ck.gmr,
      ck.plain,
      '--data',
      `folder:${data}`,
      '--rotations',
      '--angles',
      '0,45,90',
      '--out',
      out,
      '--json',
    ]);
    expect(r.status, r.stderr).toBe(0);
    const res = (
      JSON.parse(r.stdout) as {
        results: {
          label: string;
          testImages: number;
          details: Record<string, string>;
          rotations: { accuracy: number[] };
        }[];
      }
    ).results;
    expect(res.map((x) => x.label)).toEqual(['gmr', 'plain']);
    expect(res.map((x) => x.details.model)).toEqual(['gmr-cnn', 'plain-cnn']);
    expect(res.every((x) => x.testImages === 12 && x.rotations.accuracy.length === 3)).toBe(true);
    // exact invariance to 90°: the GMR model's accuracy at 90° is its upright accuracy
    expect(res[0].rotations.accuracy[2]).toBe(res[0].rotations.accuracy[0]);
    const html = readFileSync(join(out, 'report.html'), 'utf8');
    expect(html).toContain(`<h1>2 checkpoints compared on folder:${data}</h1>`);
    expect(html).toContain('accuracy-vs-angle.png');
    expect(readFileSync(join(out, 'table.md'), 'utf8')).toMatch(/\| model +\| gmr-cnn +\| plain-cnn +\|/);
  });

  it("refuses a checkpoint listed twice, both --checkpoint and --compare, and test classes that are not the checkpoint's", () => {
    expect(gmr(['eval', '--compare', ck.gmr, ck.gmr]).stderr).toMatch(
      /--compare: .*gmr\/checkpoint\.gmrckpt is listed twice/,
    );
    expect(gmr(['eval', '--compare', ck.gmr, ck.plain, '--checkpoint', ck.gmr]).stderr).toMatch(
      /takes --checkpoint FILE… .* or --compare FILE… .*, one of the two/,
    );
    const other = join(root, 'other');
    for (const c of ['cats', 'dogs']) {
      mkdirSync(join(other, c), { recursive: true });
      const px = new Uint8Array(24 * 24 * 4).fill(c === 'cats' ? 200 : 50);
      writeFileSync(join(other, c, '0.png'), encodePng(px, 24, 24));
    }
    const r = gmr(['eval', '--checkpoint', ck.plain, '--data', `folder:${other}`, '--rotations', '--angles', '0']);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain(`its classes [cats, dogs] are not the checkpoint's [${EXAMPLE_CLASSES.join(', ')}]`);
  });
});
