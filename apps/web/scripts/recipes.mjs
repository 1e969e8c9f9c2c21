/**
 * The `gmr train` recipes of the demo's three models and the command line of scripts/weights.mjs.
 *
 * The steerable GMR-CNN's recipe is the main job's (`gmr main-job`), read from the CLI's source each time rather
 * than copied here, so that when its defaults change (STEERABLE_LR, STEERABLE_FIELDS, STEERABLE_INPUT_BLUR, the
 * `native` budget of MAIN_JOB_BUDGET in apps/cli/src/main.ts) a rerun of `weights --only gmr-steerable` trains
 * the network the main job trains. The other settings (batch 32, 5 % warm-up, clip 5, Adam, seed 1, no
 * augmentation) are the main job's fixed ones.
 */
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
export const CLI_MAIN = resolve(ROOT, 'apps/cli/src/main.ts');
export const MODELS_STEERABLE = resolve(ROOT, 'packages/models/src/steerable_cnn.ts');

export const MODEL_NAMES = ['gmr-cnn', 'plain-cnn', 'gmr-steerable'];

/** Recipes of the two older models (gmr train flags). Edit these to change their shipped weights. */
const FIXED = {
  'gmr-cnn':
    '--model gmr-cnn --widths 24,48,96 --limit 60000 --epochs 2 --batch-size 32 --lr 2e-3 --warmup 0.05 --clip-norm 5 --augment paper --seed 1',
  'plain-cnn':
    '--model plain-cnn --widths 16,32,64 --limit 4000 --epochs 1 --batch-size 32 --lr 2e-3 --warmup 0.05 --clip-norm 5 --augment none --seed 1',
};

function find(text, re, what, file) {
  const m = re.exec(text);
  if (!m)
    throw new Error(
      `recipes: ${what} not found in ${file} (pattern ${re}); update scripts/recipes.mjs to the CLI's source`,
    );
  return m;
}

/** [[n0, n1, n2], …] of an array literal `NAME…= [[8, 8, 8], …];`. */
function fieldsLiteral(text, name, file) {
  const body = find(text, new RegExp(`\\b${name}\\b[^=]*=\\s*\\[([\\s\\S]*?)\\];`), name, file)[1];
  const fields = [...body.matchAll(/\[\s*(\d+)\s*,\s*(\d+)\s*,\s*(\d+)\s*\]/g)].map((m) => [
    Number(m[1]),
    Number(m[2]),
    Number(m[3]),
  ]);
  if (fields.length === 0) throw new Error(`recipes: ${name} in ${file} lists no [n0, n1, n2] fields`);
  return fields;
}

/** The numeric literal of `NAME = <number>;`, as written (3e-3 stays 3e-3 in the recipe). */
function numberAfter(text, name, file) {
  const literal = find(text, new RegExp(`\\b${name}\\s*=\\s*([0-9.eE+-]+)\\s*;`), name, file)[1];
  if (!Number.isFinite(Number(literal))) throw new Error(`recipes: ${name} in ${file} is not a number: ${literal}`);
  return literal;
}

/**
 * The main job's steerable recipe from the sources' text (cliMain: apps/cli/src/main.ts, models: the models
 * package's steerable_cnn.ts). --fields / --input-blur are written only where the CLI's defaults differ from the
 * models package's, as `gmr train` would otherwise fill them in the same way.
 */
export function steerableRecipe(
  cliMain = readFileSync(CLI_MAIN, 'utf8'),
  models = readFileSync(MODELS_STEERABLE, 'utf8'),
) {
  const lr = numberAfter(cliMain, 'STEERABLE_LR', CLI_MAIN);
  const blur = numberAfter(cliMain, 'STEERABLE_INPUT_BLUR', CLI_MAIN);
  const fields = fieldsLiteral(cliMain, 'STEERABLE_FIELDS', CLI_MAIN);
  const budget = find(
    cliMain,
    /\bnative:\s*\{\s*limit:\s*(\d+)\s*,\s*epochs:\s*(\d+)\s*\}/,
    'the native budget of MAIN_JOB_BUDGET',
    CLI_MAIN,
  );
  const modelFields = fieldsLiteral(models, 'DEFAULT_STEERABLE_FIELDS', MODELS_STEERABLE);
  // the models package's own default blur: `o.inputBlur ?? 0`
  const modelBlur = Number(
    find(models, /o\.inputBlur\s*\?\?\s*([0-9.eE+-]+)/, 'the default inputBlur', MODELS_STEERABLE)[1],
  );
  const flags = [
    `--model gmr-steerable --limit ${budget[1]} --epochs ${budget[2]} --batch-size 32 --lr ${lr} --warmup 0.05 --clip-norm 5 --seed 1`,
  ];
  if (JSON.stringify(fields) !== JSON.stringify(modelFields))
    flags.push(`--fields ${fields.map((f) => f.join(':')).join(',')}`);
  if (Number(blur) !== modelBlur) flags.push(`--input-blur ${blur}`);
  return flags.join(' ');
}

/** The default recipes of the three models (gmr train flags). */
export function defaultRecipes() {
  return { ...FIXED, 'gmr-steerable': steerableRecipe() };
}

const OVERRIDES = { '--gmr-args': 'gmr-cnn', '--plain-args': 'plain-cnn', '--steerable-args': 'gmr-steerable' };

export function usage(recipes) {
  return [
    'usage: node scripts/weights.mjs [--only <model>[,<model>…]] [--gmr-args "…"] [--plain-args "…"] [--steerable-args "…"]',
    `  --only: (re)train only these models (${MODEL_NAMES.join(', ')}); the others' folders and manifest entries are kept`,
    "  --<kind>-args: gmr train flags replacing that model's recipe for this run",
    'default recipes:',
    ...MODEL_NAMES.map((m) => `  ${m.padEnd(14)} ${recipes[m]}`),
  ].join('\n');
}

/**
 * Parses the script's arguments: { recipes, only } (only: the models to train, in MODEL_NAMES order), or
 * { help: true }. Throws on an unknown argument, a missing value or an unknown model name.
 */
export function parseArgs(argv, recipes = defaultRecipes()) {
  const out = { ...recipes };
  let only = null;
  const given = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const [flag, inline] =
      a.startsWith('--') && a.includes('=')
        ? [a.slice(0, a.indexOf('=')), a.slice(a.indexOf('=') + 1)]
        : [a, undefined];
    if (flag === '--help' || flag === '-h') return { help: true, recipes: out };
    if (!(flag in OVERRIDES) && flag !== '--only') throw new Error(`unknown argument ${a} (see --help)`);
    const value = inline ?? argv[++i];
    if (value === undefined || value === '') throw new Error(`${flag} needs a value`);
    if (flag === '--only') {
      const names = value
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean);
      const bad = names.filter((n) => !MODEL_NAMES.includes(n));
      if (bad.length > 0 || names.length === 0)
        throw new Error(`--only: got '${value}'; allowed: a comma-separated list of ${MODEL_NAMES.join(', ')}`);
      only = [...new Set([...(only ?? []), ...names])];
    } else {
      out[OVERRIDES[flag]] = value;
      given.push([flag, OVERRIDES[flag]]);
    }
  }
  const models = MODEL_NAMES.filter((m) => only === null || only.includes(m));
  // a recipe given for a model that is not trained would be silently ignored
  for (const [flag, m] of given)
    if (!models.includes(m))
      throw new Error(`${flag} is for ${m}, which --only leaves out (--only ${models.join(',')})`);
  return { recipes: out, only: models };
}
