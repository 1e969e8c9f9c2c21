/**
 * The steerable GMR-CNN through the command line: train, stop and --resume (same weights as an uninterrupted
 * run), eval (exactly invariant at 90° multiples and under flips), export as a tfjs folder (same logits), and the
 * flags that belong to it refused elsewhere.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadCheckpoint } from '../src/checkpoint.js';
import { gmr } from './helpers.js';

const FIELDS = '2:2:2,4:2:2';
const TRAIN = [
  'train',
  '--model',
  'gmr-steerable',
  '--fields',
  FIELDS,
  '--input-blur',
  '0.5',
  '--limit',
  '64',
  '--batch-size',
  '32',
  '--test-limit',
  '40',
  '--bn-recalibration',
  '64',
  '--seed',
  '3',
  '--no-progress',
];

let root = '';

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'gmr-steerable-'));
});

describe('gmr train --model gmr-steerable', () => {
  it('a run stopped after one epoch and resumed ends with the weights of an uninterrupted run', () => {
    const full = gmr([...TRAIN, '--epochs', '2', '--out', join(root, 'full')]);
    expect(full.status, full.stderr).toBe(0);
    const part = gmr([...TRAIN, '--epochs', '2', '--out', join(root, 'part'), '--stop-after', '1']);
    expect(part.status, part.stderr).toBe(0);
    expect(loadCheckpoint(join(root, 'part', 'checkpoint.gmrckpt')).header.epochsDone).toBe(1);
    const resumed = gmr(['train', '--resume', join(root, 'part', 'checkpoint.gmrckpt'), '--no-progress']);
    expect(resumed.status, resumed.stderr).toBe(0);
    const a = loadCheckpoint(join(root, 'full', 'checkpoint.gmrckpt'));
    const b = loadCheckpoint(join(root, 'part', 'checkpoint.gmrckpt'));
    expect(b.header.epochsDone).toBe(2);
    expect(b.header.model).toEqual(a.header.model);
    expect(a.header.model.fields).toEqual([
      [2, 2, 2],
      [4, 2, 2],
    ]);
    expect(a.header.model.inputBlur).toBe(0.5);
    const names = [...a.weights.keys()];
    // the steerable convs (θ, log σ), the field batch norms (γ, β, moving statistics), the head are all in it
    for (const n of ['conv1', 'bn1', 'conv2', 'bn2', 'head_bn', 'fc'])
      expect(names.some((x) => x.startsWith(n))).toBe(true);
    expect([...b.weights.keys()]).toEqual(names);
    for (const [name, w] of a.weights) expect(Array.from(b.weights.get(name)!)).toEqual(Array.from(w));
  });

  it('eval: 90° multiples and both flips give the upright accuracy exactly; export keeps the logits', () => {
    const ckpt = join(root, 'full', 'checkpoint.gmrckpt');
    const r = gmr([
      'eval',
      '--checkpoint',
      ckpt,
      '--rotations',
      '--flips',
      '--angles',
      '0,45,90,180,270',
      '--test-limit',
      '60',
      '--out',
      join(root, 'eval'),
      '--json',
    ]);
    expect(r.status, r.stderr).toBe(0);
    const res = (
      JSON.parse(r.stdout) as {
        results: {
          upright: number;
          rotations: { accuracy: number[] };
          flips: { vertical: number; horizontal: number };
        }[];
      }
    ).results[0]!;
    const acc = res.rotations.accuracy;
    for (const i of [2, 3, 4]) expect(acc[i]).toBe(acc[0]);
    expect(res.flips.vertical).toBe(res.upright);
    expect(res.flips.horizontal).toBe(res.upright);
    const e = gmr(['export', '--checkpoint', ckpt, '--out', join(root, 'tfjs'), '--json']);
    expect(e.status, e.stderr).toBe(0);
    const manifest = JSON.parse(readFileSync(join(root, 'tfjs', 'model.json'), 'utf8')) as { modelTopology: unknown };
    const classes = JSON.stringify(manifest.modelTopology);
    for (const c of ['GMRSteerableConv2D', 'FieldBatchNorm', 'FieldNonlinearity', 'FieldInvariants', 'RingPooling2D'])
      expect(classes).toContain(c);
  });

  it('refuses flags that belong to another model, and bad --fields, in words', () => {
    const a = gmr(['train', '--model', 'gmr-cnn', '--fields', '2:2:2', '--limit', '32', '--out', join(root, 'x1')]);
    expect(a.status).not.toBe(0);
    expect(a.stderr).toMatch(/--fields and --input-blur belong to --model gmr-steerable/);
    const b = gmr([
      'train',
      '--model',
      'gmr-steerable',
      '--widths',
      '4,8,8',
      '--limit',
      '32',
      '--out',
      join(root, 'x2'),
    ]);
    expect(b.status).not.toBe(0);
    expect(b.stderr).toMatch(/takes --fields/);
    const c = gmr(['train', '--model', 'gmr-steerable', '--fields', '2:2', '--limit', '32', '--out', join(root, 'x3')]);
    expect(c.status).not.toBe(0);
    expect(c.stderr).toMatch(
      /option '--fields .*`fields` must be each conv's fields of orders 0, 1, 2 as n0:n1:n2, .*got "2:2"\./,
    );
  });
});
