/** Node-side checks of the page's pieces that need no browser: the drawing → 28×28 conversion, samples, weights. */
import { readFileSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { toMnist } from '../src/draw.ts';
import { CLI_MAIN, MODELS_STEERABLE, parseArgs, steerableRecipe } from '../scripts/recipes.mjs';

const WEB = resolve(dirname(fileURLToPath(import.meta.url)), '..');

function stats(img: Float32Array) {
  let mass = 0,
    cy = 0,
    cx = 0,
    x0 = 28,
    x1 = -1,
    y0 = 28,
    y1 = -1;
  for (let y = 0; y < 28; y++) {
    for (let x = 0; x < 28; x++) {
      const v = img[y * 28 + x];
      if (v <= 0) continue;
      mass += v;
      cy += v * y;
      cx += v * x;
      x0 = Math.min(x0, x);
      x1 = Math.max(x1, x);
      y0 = Math.min(y0, y);
      y1 = Math.max(y1, y);
    }
  }
  return { mass, cy: cy / mass, cx: cx / mass, w: x1 - x0 + 1, h: y1 - y0 + 1 };
}

describe('toMnist (a drawing → an MNIST-like 28×28 digit)', () => {
  it('fits the ink into 20 px and centres its centre of mass', () => {
    // a 30×200 bar near the top-left corner of a 280×280 pad
    const W = 280;
    const grey = new Float32Array(W * W);
    for (let y = 10; y < 210; y++) for (let x = 20; x < 50; x++) grey[y * W + x] = 1;
    const s = stats(toMnist(grey, W, W));
    expect(s.h).toBe(20);
    expect(s.w).toBe(3);
    expect(Math.abs(s.cy - 13.5)).toBeLessThanOrEqual(0.5);
    expect(Math.abs(s.cx - 13.5)).toBeLessThanOrEqual(0.5);
  });

  it('keeps the aspect ratio and values in [0, 1]; an empty pad gives zeros', () => {
    const W = 100;
    const grey = new Float32Array(W * W);
    for (let y = 40; y < 60; y++) for (let x = 10; x < 90; x++) grey[y * W + x] = 0.8;
    const out = toMnist(grey, W, W);
    const s = stats(out);
    expect(s.w).toBe(20);
    expect(s.h).toBe(5);
    expect(Math.max(...out)).toBeCloseTo(0.8, 5);
    expect(Math.min(...out)).toBeGreaterThanOrEqual(0);
    expect(toMnist(new Float32Array(W * W), W, W).every((v) => v === 0)).toBe(true);
  });
});

describe('shipped data', () => {
  it('samples.json: 20 MNIST test digits, two per class, 784 pixels each', () => {
    const s = JSON.parse(readFileSync(join(WEB, 'src/samples.json'), 'utf8')) as {
      samples: { index: number; label: number; pixels: string }[];
    };
    expect(s.samples).toHaveLength(20);
    for (let c = 0; c < 10; c++) expect(s.samples.filter((x) => x.label === c)).toHaveLength(2);
    for (const x of s.samples) expect(Buffer.from(x.pixels, 'base64')).toHaveLength(784);
  });

  it('models: tfjs layers folders under 2 MB, the GMR models with their GMR layers, and the manifest that made them', () => {
    const manifest = JSON.parse(readFileSync(join(WEB, 'public/models/manifest.json'), 'utf8'));
    expect(manifest.command).toBe('pnpm --filter @gmr-conv/web run weights');
    expect(Object.keys(manifest.models)).toEqual(['gmr-cnn', 'plain-cnn', 'gmr-steerable']);
    for (const [name, conv] of [
      ['gmr-cnn', 'GMRConv2D'],
      ['plain-cnn', 'Conv2D'],
      ['gmr-steerable', 'GMRSteerableConv2D'],
    ] as const) {
      const dir = join(WEB, 'public/models', name);
      const model = JSON.parse(readFileSync(join(dir, 'model.json'), 'utf8'));
      const layers = model.modelTopology.config.layers.map((l: { class_name: string }) => l.class_name);
      expect(layers.filter((c: string) => c === conv)).toHaveLength(3);
      expect(model.weightsManifest[0].paths).toEqual(['weights.bin']);
      const values = model.weightsManifest
        .flatMap((g: { weights: { shape: number[] }[] }) => g.weights)
        .reduce((n: number, w: { shape: number[] }) => n + w.shape.reduce((a, b) => a * b, 1), 0);
      expect(statSync(join(dir, 'weights.bin')).size).toBe(values * 4);
      expect(statSync(join(dir, 'weights.bin')).size).toBeLessThan(2 * 1024 * 1024);
      expect(manifest.models[name].train).toMatch(new RegExp(`^gmr train --model ${name} `));
      expect(manifest.models[name].weights).toEqual({
        values,
        bytes: statSync(join(dir, 'weights.bin')).size + statSync(join(dir, 'model.json')).size,
      });
      for (const a of ['0deg', '45deg', '90deg']) expect(manifest.models[name].testAccuracy[a]).toBeGreaterThan(0.1);
    }
    // the steerable network's head: field invariants, then ring pooling
    const steerable = JSON.parse(readFileSync(join(WEB, 'public/models/gmr-steerable/model.json'), 'utf8'));
    expect(steerable.modelTopology.config.layers.map((l: { class_name: string }) => l.class_name)).toEqual(
      expect.arrayContaining(['FieldBatchNorm', 'FieldNonlinearity', 'FieldInvariants', 'GMRRingPooling2D']),
    );
  });

  it("the steerable weights come from the main job's current recipe", () => {
    const manifest = JSON.parse(readFileSync(join(WEB, 'public/models/manifest.json'), 'utf8'));
    const train = manifest.models['gmr-steerable'].train;
    expect(
      train,
      "the main job's steerable recipe changed: rerun pnpm --filter @gmr-conv/web run weights --only gmr-steerable",
    ).toBe(`gmr train ${steerableRecipe()}`);
  });
});

describe('scripts/recipes.mjs', () => {
  const cli = readFileSync(CLI_MAIN, 'utf8');
  const models = readFileSync(MODELS_STEERABLE, 'utf8');

  it("reads the main job's steerable recipe from the CLI's source", () => {
    const lr = /\bSTEERABLE_LR\s*=\s*([^;]+);/.exec(cli)![1];
    const recipe = steerableRecipe(cli, models);
    expect(recipe).toMatch(
      new RegExp(
        `^--model gmr-steerable --limit \\d+ --epochs \\d+ --batch-size 32 --lr ${lr.replace(/[.+-]/g, '\\$&')} --warmup 0\\.05 --clip-norm 5 --seed 1`,
      ),
    );
    // other defaults in the CLI than in the models package: written out
    const changed = cli
      .replace(/(STEERABLE_FIELDS\b[^=]*=\s*\[)\s*\[\s*\d+\s*,\s*\d+\s*,\s*\d+\s*\]/, '$1[4, 6, 2]')
      .replace(/(STEERABLE_INPUT_BLUR\s*=\s*)[^;]+;/, (_, head) => `${head}0.6;`)
      .replace(/(native:\s*\{\s*limit:\s*)\d+(\s*,\s*epochs:\s*)\d+/, (_, head, mid) => `${head}12345${mid}3`);
    const r = steerableRecipe(changed, models);
    expect(r).toContain('--limit 12345 --epochs 3 ');
    expect(r).toMatch(/ --fields 4:6:2,\d+:\d+:\d+,\d+:\d+:\d+ --input-blur 0\.6$/);
    // a constant renamed away is an error naming it, not a silent default
    expect(() => steerableRecipe(cli.replace(/STEERABLE_LR/g, 'PEAK_LR'), models)).toThrow(
      /STEERABLE_LR not found in .*main\.ts/,
    );
  });

  it('parses --only and the recipe overrides, and refuses what it cannot use', () => {
    const recipes = { 'gmr-cnn': 'g', 'plain-cnn': 'p', 'gmr-steerable': 's' };
    expect(parseArgs([], recipes)).toEqual({ recipes, only: ['gmr-cnn', 'plain-cnn', 'gmr-steerable'] });
    expect(parseArgs(['--only', 'gmr-steerable'], recipes)).toEqual({ recipes, only: ['gmr-steerable'] });
    expect(
      parseArgs(['--only=gmr-steerable,gmr-cnn', '--steerable-args', '--model gmr-steerable --limit 10'], recipes),
    ).toEqual({
      recipes: { ...recipes, 'gmr-steerable': '--model gmr-steerable --limit 10' },
      only: ['gmr-cnn', 'gmr-steerable'],
    });
    expect(() => parseArgs(['--only', 'steerable'], recipes)).toThrow(
      "--only: got 'steerable'; allowed: a comma-separated list of gmr-cnn, plain-cnn, gmr-steerable",
    );
    expect(() => parseArgs(['--only', 'plain-cnn', '--gmr-args', 'x'], recipes)).toThrow(
      '--gmr-args is for gmr-cnn, which --only leaves out',
    );
    expect(() => parseArgs(['--steerable-args'], recipes)).toThrow('--steerable-args needs a value');
    expect(() => parseArgs(['--epochs', '2'], recipes)).toThrow('unknown argument --epochs');
  });
});
