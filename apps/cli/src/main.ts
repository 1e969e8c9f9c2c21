/**
 * gmr: the GMR-Conv command line.
 *   gmr train      train a GMR or plain CNN / ResNet on MNIST or your own data (--data; checkpoint every epoch, --resume)
 *   gmr eval       the paper's rotation (37 angles) and flip protocol on checkpoints, with a report
 *   gmr main-job   train both models on upright MNIST, evaluate both, print the comparison and write the report
 *   gmr import     PyTorch weights (safetensors) as a tfjs model folder; gmr export --format safetensors the reverse
 *   gmr predict    class and top-k probabilities of image files (--rotations: over the 37 angles)
 *   gmr make-example  a seeded orientation-less image-folder dataset (cells) to try --data folder: on
 */
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { existsSync, appendFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { parseAngles } from './angles.js';
import { loadCheckpoint, writeFileAtomic, type CheckpointHeader } from './checkpoint.js';
import { applyConfigFile } from './config_file.js';
import { addDataAndResNetOptions, dataAndResNetConfig } from './train_options.js';
import { CliError, fileError, makeFolder, optionMessage } from './errors.js';
import type { ModelEval } from './evaluate.js';
import type { ModelKind, ModelSpec, Pooling } from './model.js';
import type { PredictCommandOptions } from './predict.js';
import type { TrainConfig } from './train.js';
import type * as tfTypes from '@tensorflow/tfjs';

// Constants repeated here so that argument errors need no tfjs import (checked against the modules in the tests).
/** The steerable network's default fields and input blur (the main job's recipe; = model.ts STEERABLE_DEFAULTS). */
export const STEERABLE_FIELDS: [number, number, number][] = [
  [8, 8, 8],
  [16, 16, 16],
  [32, 16, 16],
];
export const STEERABLE_INPUT_BLUR = 0;
/** The steerable network's peak learning rate in the main job (Adam). */
const STEERABLE_LR = 3e-3;
const STEERABLE_FIELDS_TEXT = STEERABLE_FIELDS.map((f) => f.join(':')).join(',');
/** Channels of each steerable conv: n0 + 2·n1 + 2·n2. */
const channelsOfFields = (fields: [number, number, number][]) =>
  fields.map((f) => f[0] + 2 * f[1] + 2 * f[2]) as [number, number, number];
export const MODELS = [
  'gmr-cnn',
  'plain-cnn',
  'gmr-steerable',
  'gmr-resnet18',
  'gmr-resnet34',
  'gmr-resnet50',
  'resnet18',
] as const;
/** The models `gmr bench` times (28×28 digits). */
export const BENCH_MODELS = ['gmr-cnn', 'plain-cnn', 'gmr-steerable'] as const;
export const DATASETS = ['mnist', 'fashion-mnist', 'mnist-rot'] as const;
export const OPTIMIZERS = ['sgd', 'adam', 'adamw'] as const;
export const AUGMENTATIONS = ['none', 'paper'] as const;
export const POOLINGS = ['average', 'rings'] as const;
const ALLOW_NON_FINITE = [
  '--allow-non-finite',
  'load a checkpoint even when its weights hold NaN or ±Infinity (refused by default)',
] as const;

/** The tfjs-dependent modules, loaded when a command runs. */
async function heavy() {
  const [backend, data, evaluate, model, report, train] = await Promise.all([
    import('./backend.js'),
    import('./data.js'),
    import('./evaluate.js'),
    import('./model.js'),
    import('./report.js'),
    import('./train.js'),
  ]);
  return { ...backend, ...data, ...evaluate, ...model, ...report, ...train };
}

const int =
  (name: string, min = 0) =>
  (v: string) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < min) throw new InvalidArgumentError(optionMessage(name, v, `an integer ≥ ${min}`));
    return n;
  };
const num =
  (name: string, min = 0, max = Infinity) =>
  (v: string) => {
    const n = Number(v);
    if (!Number.isFinite(n) || n < min || n > max)
      throw new InvalidArgumentError(optionMessage(name, v, `a number in [${min}, ${max}]`));
    return n;
  };
// the option's own name is printed by commander before the message (widths serve --widths, --gmr-widths, …)
const widths = (v: string): [number, number, number] => {
  const w = v.split(',').map(Number);
  if (w.length !== 3 || w.some((x) => !Number.isInteger(x) || x < 1))
    throw new InvalidArgumentError(optionMessage('widths', v, 'three positive integers like 32,64,128'));
  return w as [number, number, number];
};
const harmonicChannels = (v: string): [number, number, number] => {
  const h = v.split(',').map(Number);
  if (h.length !== 3 || h.some((x) => !Number.isInteger(x) || x < 0))
    throw new InvalidArgumentError(optionMessage('harmonic channels', v, 'three integers ≥ 0 like 0,16,32'));
  return h as [number, number, number];
};
/** --fields n0:n1:n2,n0:n1:n2,n0:n1:n2: the steerable network's output fields (orders 0, 1, 2) of each conv. */
export const fieldList = (v: string): [number, number, number][] => {
  const layers = v.split(',').map((l) => l.split(':').map((x) => Number(x.trim())));
  if (
    layers.length < 1 ||
    layers.some((f) => f.length !== 3 || f.some((x) => !Number.isInteger(x) || x < 0) || f.every((x) => x === 0))
  )
    throw new InvalidArgumentError(
      optionMessage(
        'fields',
        v,
        "each conv's fields of orders 0, 1, 2 as n0:n1:n2, comma-separated, integers ≥ 0 and not all zero, like 8:8:8,16:16:16,32:16:16",
      ),
    );
  return layers as [number, number, number][];
};
const datasetName = (v: string): string => {
  for (const p of v.split('+'))
    if (!(DATASETS as readonly string[]).includes(p))
      throw new InvalidArgumentError(
        optionMessage('--dataset', p, `one of ${DATASETS.join(', ')}, or several joined with '+'`),
      );
  if (new Set(v.split('+')).size !== v.split('+').length)
    throw new InvalidArgumentError(optionMessage('--dataset', v, 'datasets named once each'));
  return v;
};
const classList = (v: string): number[] => {
  const c = v.split(',').map((x) => Number(x.trim()));
  if (c.length < 2 || c.some((x) => !Number.isInteger(x) || x < 0) || new Set(c).size !== c.length) {
    throw new InvalidArgumentError(optionMessage('--classes', v, 'two or more distinct integer labels like 6,9'));
  }
  return c;
};
const DEFAULT_WIDTHS: Record<(typeof BENCH_MODELS)[number], [number, number, number]> = {
  'gmr-cnn': [24, 48, 96],
  'plain-cnn': [16, 32, 64],
  'gmr-steerable': [0, 0, 0],
};

function machine(): Record<string, unknown> {
  const c = cpus();
  return {
    cpus: c.length,
    cpuModel: c[0]?.model ?? '?',
    loadavg1: Number(loadavg()[0].toFixed(2)),
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
  };
}

/** The parsed flags of `gmr train`: TrainConfig's fields, a few with defaults still to resolve, and the invocation's own. */
type TrainOpts = Omit<TrainConfig, 'widths' | 'lr' | 'weightDecay' | 'warmupEpochs' | 'out' | 'dataset'> & {
  dataset?: string;
  widths?: [number, number, number];
  lr?: number;
  weightDecay?: number;
  warmup: number;
  out?: string;
  name?: string;
  resume?: string;
  backend: string;
  json: boolean;
  progress: boolean;
  config?: string;
  allowNonFinite: boolean;
};

function trainConfig(o: TrainOpts): TrainConfig {
  // resume, backend, json, progress and config belong to the invocation, not to the run's saved configuration
  const {
    widths,
    lr,
    weightDecay,
    warmup,
    out,
    name,
    resume,
    backend,
    json,
    progress,
    config,
    allowNonFinite,
    ...same
  } = o;
  if (o.model !== 'gmr-steerable' && (o.fields !== undefined || o.inputBlur !== undefined))
    throw new CliError(`--fields and --input-blur belong to --model gmr-steerable, not ${o.model}`);
  if (o.model === 'gmr-steerable' && widths !== undefined)
    throw new CliError(
      '--model gmr-steerable takes --fields n0:n1:n2,… (fields of orders 0, 1, 2 per conv), not --widths',
    );
  if (o.model === 'gmr-steerable' && o.harmonicChannels !== undefined)
    throw new CliError(
      '--harmonic-channels belongs to --model gmr-cnn; the steerable network has order-1 and order-2 fields of its own (--fields)',
    );
  const steerable =
    o.model === 'gmr-steerable'
      ? {
          fields: o.fields ?? STEERABLE_FIELDS,
          inputBlur: o.inputBlur ?? STEERABLE_INPUT_BLUR,
          pooling: 'rings' as const,
        }
      : {};
  return {
    ...same,
    ...steerable,
    widths:
      o.model === 'gmr-steerable'
        ? channelsOfFields(o.fields ?? STEERABLE_FIELDS)
        : (widths ?? DEFAULT_WIDTHS[o.model as keyof typeof DEFAULT_WIDTHS]),
    ...(dataAndResNetConfig(o) as Partial<TrainConfig> & Pick<TrainConfig, 'dataset'>),
    lr: lr ?? (o.optimizer === 'sgd' ? 0.05 : 3e-3),
    weightDecay: weightDecay ?? (o.optimizer === 'adamw' ? 1e-2 : o.optimizer === 'sgd' ? 1e-3 : 0),
    warmupEpochs: warmup,
    out: resolve(out ?? join('runs', name ?? `${o.model}-seed${o.seed}`)),
  };
}

function addTrainOptions(c: Command): Command {
  return addDataAndResNetOptions(c)
    .addOption(new Option('--model <name>', 'model').choices(MODELS).default('gmr-cnn'))
    .option('--widths <a,b,c>', 'channels of the three convs (default gmr-cnn 24,48,96; plain-cnn 16,32,64)', widths)
    .addOption(
      new Option(
        '--pooling <kind>',
        "before the classifier: 'average' (global average pooling) or 'rings' (a mean per ring around the centre, per channel; still invariant to 90° rotations and flips)",
      )
        .choices(POOLINGS)
        .default('average'),
    )
    .option(
      '--fields <n0:n1:n2,...>',
      `gmr-steerable: output fields of orders 0, 1, 2 of each steerable conv (default ${STEERABLE_FIELDS_TEXT}); the network always ends in ring pooling`,
      fieldList,
    )
    .option(
      '--input-blur <sigma>',
      `gmr-steerable: σ in pixels of a fixed Gaussian blur of the input (default ${STEERABLE_INPUT_BLUR}; 0 = none)`,
      num('--input-blur', 0, 10),
    )
    .option(
      '--harmonic-channels <a,b,c>',
      "gmr-cnn: how many of each conv's channels are order-1 harmonic magnitudes (core's GMRHarmonicConv2D, an extension of the paper: they see relative orientations; still invariant), e.g. 0,24,48",
      harmonicChannels,
    )
    .addOption(
      new Option(
        '--dataset <name>',
        `dataset: ${DATASETS.join(' | ')}, or a mix joined with '+' (mnist+mnist-rot: upright and rotated digits; mnist+fashion-mnist: 20 classes). mnist is embedded; fashion-mnist needs --data-dir; mnist-rot = the regenerated MNIST-rot-style split (10k rotated train, 50k rotated test)`,
      ).argParser(datasetName),
    )
    .option('--data-dir <folder>', 'read IDX files from this folder instead of the embedded MNIST')
    .option(
      '--classes <list>',
      'train on these class labels only, relabelled 0..k-1 (two classes: a binary task with ROC-AUC), e.g. 6,9',
      classList,
    )
    .option('--limit <n>', 'use only the first n training images', int('--limit', 1))
    .option('--test-limit <n>', 'test images used for the per-epoch accuracy', int('--test-limit', 1), 1000)
    .option('--epochs <n>', 'epochs', int('--epochs', 1), 1)
    .option('--batch-size <n>', 'batch size', int('--batch-size', 1), 64)
    .addOption(new Option('--optimizer <name>', 'optimizer').choices(OPTIMIZERS).default('adam'))
    .option('--lr <x>', 'peak learning rate (default sgd 0.05, adam/adamw 3e-3)', num('--lr', 0, 10))
    .option('--min-lr <x>', 'final learning rate of the cosine schedule', num('--min-lr', 0, 10), 1e-5)
    .option('--momentum <x>', 'SGD momentum', num('--momentum', 0, 1), 0.9)
    .option('--nesterov', 'Nesterov momentum (SGD)', false)
    .option(
      '--weight-decay <x>',
      'weight decay on weights, never on the GMR sigmas (default sgd 1e-3, adamw 1e-2, adam 0)',
      num('--weight-decay', 0, 1),
    )
    .option('--warmup <epochs>', 'linear warm-up, in epochs (fractions allowed)', num('--warmup', 0, 1000), 0)
    .option('--label-smoothing <x>', 'label smoothing', num('--label-smoothing', 0, 1), 0)
    .option('--clip-norm <x>', 'clip the global gradient norm (0: off)', num('--clip-norm', 0), 0)
    .addOption(
      new Option(
        '--augment <kind>',
        "training augmentation: 'paper' = random resized crop + Gaussian blur + translation (no rotations)",
      )
        .choices(AUGMENTATIONS)
        .default('none'),
    )
    .option(
      '--bn-recalibration <n>',
      'after every epoch, set the batch-norm statistics from the first n training images in inference mode (0: off)',
      int('--bn-recalibration', 0),
      2000,
    )
    .option('--seed <n>', 'seed of initialisation, order and augmentation', int('--seed', 0), 1)
    .option('--out <folder>', 'run folder (default runs/<name>)')
    .option('--name <name>', 'run name (folder runs/<name>)')
    .option('--resume <checkpoint>', 'continue the run saved in this checkpoint (its configuration is used)')
    .addOption(
      new Option('--stop-after <epochs>', 'stop after this many epochs of this invocation')
        .argParser(int('--stop-after', 1))
        .hideHelp(),
    )
    .option(
      '--backend <name>',
      'tfjs backend: auto (native, else wasm, else cpu), native, cuda, wasm, cpu, webgpu (Dawn, with the fused GMR kernels)',
      'auto',
    )
    .option('--json', 'print a JSON summary on stdout', false)
    .option('--no-progress', 'no progress bar')
    .option('--config <file>', 'JSON file of options keyed by flag name ({"epochs": 3, "batch-size": 64}); flags win')
    .option(ALLOW_NON_FINITE[0], ALLOW_NON_FINITE[1], false);
}

/** Options of `gmr train` that belong to one invocation, not to the run (a resumed run may change them). */
const INVOCATION_OPTIONS = new Set([
  'resume',
  'backend',
  'json',
  'progress',
  'config',
  'allowNonFinite',
  'stopAfter',
  'out',
  'name',
  'model',
  'widths',
]);

/**
 * `--resume` continues a run in the folder that holds its checkpoint, with the configuration it started with:
 * another --out, or a training flag with another value (--epochs 5 for a 3-epoch run), is refused, not ignored.
 */
function checkResumeFlags(o: TrainOpts, config: TrainConfig, saved: TrainConfig, given: string[]): void {
  const folder = dirname(resolve(o.resume!));
  if ((o.out !== undefined || o.name !== undefined) && config.out !== folder)
    throw new CliError(
      `--resume continues the run in the folder that holds its checkpoint (${folder}), not in ${config.out}: copy the run folder there and resume the copy, or leave out --out/--name`,
    );
  const asked = config as unknown as Record<string, unknown>;
  const held = saved as unknown as Record<string, unknown>;
  for (const attr of given) {
    if (INVOCATION_OPTIONS.has(attr)) continue;
    const key = attr === 'warmup' ? 'warmupEpochs' : attr;
    if (JSON.stringify(asked[key]) === JSON.stringify(held[key])) continue;
    const flag = `--${attr.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
    throw new CliError(
      `${flag} ${JSON.stringify(asked[key])} differs from the resumed run's ${JSON.stringify(held[key])}: a resumed run keeps the configuration it started with (its schedule and data order depend on it); start a new run with another --out for other settings`,
    );
  }
}

async function runTrain(o: TrainOpts, explicit: { model: boolean; widths: boolean; given: string[] }): Promise<void> {
  const config = trainConfig(o);
  if (o.resume !== undefined) {
    const ck = loadCheckpoint(o.resume, { allowNonFinite: o.allowNonFinite });
    const saved = ck.header.config as unknown as TrainConfig;
    checkResumeFlags(o, config, saved, explicit.given);
    // --model / --widths given with --resume must match the checkpoint (the run keeps its own configuration)
    if (explicit.model || explicit.widths) {
      const m = ck.header.model;
      const { assertSameModel, specFromHeader } = await heavy();
      const held = specFromHeader(m);
      assertSameModel(
        ck,
        {
          ...held,
          kind: explicit.model ? o.model : held.kind,
          widths: explicit.widths && o.widths ? o.widths : held.widths,
        },
        o.resume,
      );
    }
  }
  const { setupBackend, train } = await heavy();
  const b = await setupBackend(o.backend);
  const log = (l: string) => (o.json ? process.stderr.write(l + '\n') : console.log(l));
  log(`backend: ${b.detail}`);
  const r = await train(config, { progress: o.progress && !!process.stderr.isTTY, log }, o.resume, {
    allowNonFinite: o.allowNonFinite,
  });
  const last = r.history[r.history.length - 1];
  if (o.json)
    console.log(
      JSON.stringify({
        checkpoint: r.checkpoint,
        finished: r.finished,
        seconds: r.seconds,
        backend: b.name,
        history: r.history,
      }),
    );
  else
    log(
      `${r.finished ? 'done' : 'stopped'}: ${r.history.length} epoch(s), ${last?.evaluatedOn ?? 'test'} accuracy ${last ? (100 * last.accuracy).toFixed(2) + ' %' : '-'}, ${r.seconds.toFixed(1)} s; checkpoint ${r.checkpoint}`,
    );
  r.model.dispose();
}

/** Loads a model from a checkpoint (checking it against --model/--widths when given). */
async function modelFromCheckpoint(
  path: string,
  expect?: { model?: ModelKind; widths?: [number, number, number]; allowNonFinite?: boolean },
): Promise<{ model: tfTypes.LayersModel; spec: ModelSpec; config: TrainConfig; header: CheckpointHeader }> {
  const { buildModel, specFromHeader, writeWeights } = await heavy();
  const ck = loadCheckpoint(path, { allowNonFinite: expect?.allowNonFinite });
  const m = ck.header.model;
  if (expect?.model && expect.model !== m.kind)
    throw new CliError(`${path} is a checkpoint of ${m.kind}, not of ${expect.model}`);
  if (expect?.widths && JSON.stringify(expect.widths) !== JSON.stringify(m.widths))
    throw new CliError(`${path} holds widths ${JSON.stringify(m.widths)}, not ${JSON.stringify(expect.widths)}`);
  const spec: ModelSpec = specFromHeader(m);
  const model = buildModel(spec, 0);
  writeWeights(model, ck.weights, path);
  return { model, spec, config: ck.header.config as unknown as TrainConfig, header: ck.header };
}

interface EvalOpts {
  checkpoint?: string[];
  /** several checkpoints on one test set, one column each */
  compare?: string[];
  data?: string;
  progress: boolean;
  model?: ModelKind;
  widths?: [number, number, number];
  rotations: boolean;
  flips: boolean;
  angles?: string;
  testLimit?: number;
  dataDir?: string;
  out?: string;
  backend: string;
  json: boolean;
  allowNonFinite: boolean;
}

async function runEval(o: EvalOpts): Promise<void> {
  const angles = parseAngles(o.angles);
  if (!!o.checkpoint === !!o.compare)
    throw new CliError(
      'gmr eval takes --checkpoint FILE… (each on the data it was trained on, or --data) or --compare FILE… (all on one test set), one of the two',
    );
  const paths = (o.compare ?? o.checkpoint)!;
  for (const c of paths) if (!existsSync(c)) throw new CliError(`checkpoint not found: ${c}`);
  const { setupBackend, evaluateModel, writeReport, formatTable, tableRows, loadTestSet, classNamesOf } = await heavy();
  const { inputShapeOf } = await import('./predict.js');
  const { checkComparable, compareLabels } = await import('./compare.js');
  const b = await setupBackend(o.backend);
  const progress = o.progress;
  const loaded = [];
  for (const path of paths) {
    const m = await modelFromCheckpoint(path, { model: o.model, widths: o.widths, allowNonFinite: o.allowNonFinite });
    loaded.push({ ...m, path, input: inputShapeOf(m.model), classes: classNamesOf(m.header) });
  }
  const evals: ModelEval[] = [];
  let dataset = '';
  try {
    if (o.compare) checkComparable(loaded);
    const labels = o.compare ? compareLabels(paths) : loaded.map((m) => m.spec.kind);
    // --compare: one test set, that of --data or of the first checkpoint
    const shared = o.compare
      ? await loadTestSet({ ...o, progress }, loaded[0].header.config, loaded[0].input, loaded[0].classes)
      : undefined;
    for (const [i, m] of loaded.entries()) {
      const { set: test, dataset: name } =
        shared ?? (await loadTestSet({ ...o, progress }, m.header.config, m.input, m.classes));
      dataset = name;
      const t = performance.now();
      const details = o.compare
        ? { model: m.spec.kind, 'epochs trained': String(m.header.epochsDone), checkpoint: m.path }
        : undefined;
      const e = await evaluateModel(m.model, test, {
        label: labels[i],
        model: m.spec.kind,
        checkpoint: resolve(m.path),
        angles,
        rotations: o.rotations,
        flips: o.flips,
        progress,
      });
      evals.push(details ? { ...e, details } : e);
      if (!o.json)
        console.error(
          `evaluated ${m.path} on ${test.count} images in ${((performance.now() - t) / 1000).toFixed(1)} s`,
        );
    }
  } finally {
    for (const m of loaded) m.model.dispose();
  }
  const out = resolve(o.out ?? join(paths[0], '..', o.compare ? 'compare' : 'eval'));
  const title = o.compare ? `${paths.length} checkpoints compared on ${dataset}` : undefined;
  const files = await writeReport(out, evals, {
    command: o.compare ? 'gmr eval --compare' : 'gmr eval',
    title,
    generated: new Date().toISOString(),
    backend: b.detail,
    dataset,
    machine: machine(),
  });
  const table = formatTable(tableRows(evals));
  if (o.json) console.log(JSON.stringify({ results: evals, files }));
  else console.log(`${table}\n\nreport: ${files.html}`);
}

/**
 * The main job's training budget per backend: the same images and epochs for all three models (a fair comparison),
 * sized so that the whole job ends within 10 minutes on a 2-core machine (measured figures in apps/cli/README.md).
 * native: all of MNIST's 60,000 training images once since the steerable network's fused native kernels (issue 17; was
 * 30,000): 595 s in all measured under load 4–7 (kernels-cuda README, "Steerable GMR-CNN on native"), 196 s on the
 * quiet machine after issue 17's fourth round (apps/cli/README.md).
 */
const MAIN_JOB_BUDGET: Record<string, { limit: number; epochs: number }> = {
  native: { limit: 60000, epochs: 1 },
  cuda: { limit: 60000, epochs: 1 },
  wasm: { limit: 6000, epochs: 1 },
  cpu: { limit: 6000, epochs: 1 },
  webgpu: { limit: 6000, epochs: 1 },
};

export const MAIN_JOB_MODELS = ['plain-cnn', 'gmr-cnn', 'gmr-steerable'] as const;
const MAIN_JOB_LABELS: Record<(typeof MAIN_JOB_MODELS)[number], string> = {
  'plain-cnn': 'plain CNN',
  'gmr-cnn': 'GMR-CNN',
  'gmr-steerable': 'steerable GMR-CNN',
};

interface MainJobOpts {
  out: string;
  models: (typeof MAIN_JOB_MODELS)[number][];
  limit?: number;
  epochs?: number;
  gmrWidths: [number, number, number];
  gmrHarmonicChannels?: [number, number, number];
  plainWidths: [number, number, number];
  steerableFields?: [number, number, number][];
  steerableInputBlur?: number;
  pooling: Pooling;
  testLimit: number;
  uprightLimit?: number;
  seed: number;
  backend: string;
  json: boolean;
  progress: boolean;
}

async function runMainJob(o: MainJobOpts): Promise<void> {
  const t0 = performance.now();
  const out = resolve(o.out);
  makeFolder(out);
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const { setupBackend, loadSplit, subset, evaluateModel, writeReport, formatTable, tableRows, train } = await heavy();
  const b = await setupBackend(o.backend);
  const log = (l: string) => (o.json ? process.stderr.write(l + '\n') : console.log(l));
  const start = machine();
  log(
    `main job: ${o.models.map((m) => MAIN_JOB_LABELS[m]).join(' vs ')} on upright MNIST (embedded), ${b.detail}; ${start.cpus} cpus, load ${start.loadavg1}`,
  );
  // the same budget for every model, following the backend, so that the job ends within 10 minutes on 2 cores
  const budget = MAIN_JOB_BUDGET[b.name] ?? MAIN_JOB_BUDGET.wasm;
  const common = {
    dataset: 'mnist',
    testLimit: o.testLimit,
    batchSize: 32,
    optimizer: 'adam' as const,
    minLr: 1e-5,
    momentum: 0.9,
    nesterov: false,
    weightDecay: 0,
    labelSmoothing: 0,
    clipNorm: 5,
    seed: o.seed,
    limit: o.limit ?? budget.limit,
    epochs: o.epochs ?? budget.epochs,
    warmupEpochs: 0.05,
  };
  const configs: Record<string, TrainConfig> = {
    'plain-cnn': {
      ...common,
      model: 'plain-cnn',
      widths: o.plainWidths,
      pooling: o.pooling,
      lr: 2e-3,
      augment: 'none',
      out: join(out, `plain-cnn-${stamp}`),
    },
    'gmr-cnn': {
      ...common,
      model: 'gmr-cnn',
      widths: o.gmrWidths,
      pooling: o.pooling,
      harmonicChannels: o.gmrHarmonicChannels,
      lr: 2e-3,
      augment: 'paper',
      out: join(out, `gmr-cnn-${stamp}`),
    },
    'gmr-steerable': {
      ...common,
      model: 'gmr-steerable',
      fields: o.steerableFields ?? STEERABLE_FIELDS,
      inputBlur: o.steerableInputBlur ?? STEERABLE_INPUT_BLUR,
      widths: channelsOfFields(o.steerableFields ?? STEERABLE_FIELDS),
      pooling: 'rings',
      lr: STEERABLE_LR,
      augment: 'none',
      out: join(out, `gmr-steerable-${stamp}`),
    },
  };
  const hooks = { progress: o.progress && !!process.stderr.isTTY, log };
  const results: ModelEval[] = [];
  const timings: Record<string, number> = {};
  // upright accuracy on the whole test split; the 37 angles and the flips on its first testLimit images
  const fullTest = await loadSplit({ dataset: 'mnist' }, 'test');
  const uprightSet = o.uprightLimit ? subset(fullTest, o.uprightLimit) : fullTest;
  const test = subset(fullTest, o.testLimit);
  for (const kind of o.models) {
    const label = MAIN_JOB_LABELS[kind];
    const cfg = configs[kind]!;
    const shape =
      kind === 'gmr-steerable'
        ? `fields ${cfg.fields!.map((f) => f.join(':')).join(',')}`
        : `${cfg.widths.join('/')} channels`;
    log(`training ${label} (${shape}, ${cfg.limit} images × ${cfg.epochs} epoch(s), augmentation ${cfg.augment})`);
    const r = await train(cfg, hooks);
    timings[`${label} training s`] = Number(r.seconds.toFixed(1));
    log(`evaluating ${label}: upright on ${uprightSet.count} test images, 37 angles and 3 flips on ${test.count}`);
    const e = await evaluateModel(r.model, test, {
      label,
      model: cfg.model,
      checkpoint: r.checkpoint,
      rotations: true,
      flips: true,
      uprightSet,
    });
    timings[`${label} evaluation s`] = Number(e.seconds.toFixed(1));
    results.push(e);
    r.model.dispose();
  }
  const total = (performance.now() - t0) / 1000;
  const meta = {
    command: 'gmr main-job',
    generated: new Date().toISOString(),
    backend: b.detail,
    dataset: 'MNIST (embedded, upright training)',
    seed: o.seed,
    totalSeconds: Number(total.toFixed(1)),
    timings,
    machineAtStart: start,
    machineAtEnd: machine(),
    configs,
  };
  const reportDir = join(out, `report-${stamp}`);
  const files = await writeReport(reportDir, results, meta);
  writeFileAtomic(join(out, 'latest-report.txt'), [new TextEncoder().encode(files.html + '\n')]);
  const line = {
    ...meta,
    results: results.map((r) => ({
      label: r.label,
      model: r.model,
      upright: r.upright,
      uprightImages: r.uprightImages ?? r.testImages,
      mean: r.rotations?.mean,
      std: r.rotations?.std,
      min: r.rotations ? Math.min(...r.rotations.accuracy) : undefined,
      flips: r.flips ? { vertical: r.flips.vertical, horizontal: r.flips.horizontal } : undefined,
      testImages: r.testImages,
    })),
  };
  try {
    appendFileSync(join(out, 'main-job.jsonl'), JSON.stringify(line) + '\n');
  } catch (e) {
    throw fileError(e, join(out, 'main-job.jsonl'));
  }
  const table = formatTable(tableRows(results));
  if (o.json) console.log(JSON.stringify({ results, files, totalSeconds: total, timings }));
  else
    console.log(
      `\n${table}\n\ntotal ${total.toFixed(1)} s (${Object.entries(timings)
        .map(([k, v]) => `${k} ${v}`)
        .join(', ')})\nreport: ${files.html}`,
    );
}

interface BenchOpts {
  model: ModelKind[];
  widths?: [number, number, number];
  batchSize: number;
  runs: number;
  warmup: number;
  backend: string;
  json: boolean;
  profile: boolean;
}

async function runBench(o: BenchOpts): Promise<void> {
  const { setupBackend } = await heavy();
  const { bench } = await import('./bench.js');
  const b = await setupBackend(o.backend);
  const results = [];
  for (const m of o.model)
    results.push(
      await bench(
        m,
        m === 'gmr-steerable'
          ? channelsOfFields(STEERABLE_FIELDS)
          : (o.widths ?? DEFAULT_WIDTHS[m as keyof typeof DEFAULT_WIDTHS]),
        o.batchSize,
        o.runs,
        o.warmup,
        o.profile,
      ),
    );
  if (o.json) {
    console.log(JSON.stringify({ backend: b.name, machine: machine(), results }));
    return;
  }
  console.log(`backend: ${b.detail}; ${o.runs} runs after ${o.warmup} warm-up, medians`);
  const { formatTable } = await heavy();
  console.log(
    formatTable([
      [
        'model',
        'widths',
        'trainable params',
        'batch',
        'train step ms',
        'train img/s',
        'inference ms',
        'inference img/s',
      ],
      ...results.map((r) => [
        r.model,
        r.widths.join('/'),
        String(r.params),
        String(r.batch),
        r.trainStepMs.toFixed(0),
        r.trainImagesPerSecond.toFixed(0),
        r.inferenceMs.toFixed(0),
        r.inferenceImagesPerSecond.toFixed(0),
      ]),
    ]),
  );
  if (!o.profile) return;
  const { profileRows } = await import('./bench.js');
  for (const r of results)
    for (const [phase, p] of Object.entries(r.profile!)) {
      console.log(
        `\n${r.model} ${phase}: ${p.stepMs.toFixed(1)} ms per step (profiled runs), ${p.kernelMs.toFixed(1)} ms in kernels; self time per kernel`,
      );
      console.log(formatTable(profileRows(p)));
    }
}

interface ExportOpts {
  checkpoint: string;
  out: string;
  plain: boolean;
  format?: 'tfjs' | 'safetensors';
  force: boolean;
  backend: string;
  json: boolean;
  allowNonFinite: boolean;
}

async function runExport(o: ExportOpts): Promise<void> {
  if (!existsSync(o.checkpoint)) throw new CliError(`checkpoint not found: ${o.checkpoint}`);
  const { setupBackend } = await heavy();
  await setupBackend(o.backend);
  const { model, spec } = await modelFromCheckpoint(o.checkpoint, { allowNonFinite: o.allowNonFinite });
  if (o.format === 'safetensors') {
    if (o.plain)
      throw new CliError(
        '--plain and --format safetensors do not go together: the PyTorch state dict holds the GMR layers themselves',
      );
    const { exportSafetensors } = await import('./export.js');
    const r = await exportSafetensors(model, spec, o.out, o.force);
    if (o.json) console.log(JSON.stringify({ model: spec.kind, ...r }));
    else
      console.log(
        `exported ${spec.kind} as a PyTorch state dict (${r.tensors} tensors) to ${r.file}; module: ${JSON.stringify(r.pytorch)} (pytorch.json)`,
      );
    return;
  }
  const { exportModel } = await import('./export.js');
  const r = await exportModel(model, o.out, o.plain, o.force);
  if (o.json) console.log(JSON.stringify({ model: spec.kind, ...r }));
  else
    console.log(
      `exported ${spec.kind} (${r.plain ? 'GMR convs as plain Conv2D' : 'GMR layers'}) to ${r.out}/model.json; max |logit difference| vs the checkpoint ${r.maxAbsLogitDiff.toExponential(2)} (largest |logit| ${r.maxAbsLogit.toPrecision(3)})`,
    );
}

async function runOracleCommand(paths: string[], o: { backend: string; json: boolean }): Promise<void> {
  const { defaultOracleDir, modelOracleFiles, runOracle } = await import('./oracle.js');
  const files = modelOracleFiles(paths.length ? paths.map((p) => resolve(p)) : [defaultOracleDir()]);
  if (files.length === 0)
    throw new CliError(
      `no whole-model oracle files (meta.kind "model") in ${paths.length ? paths.join(', ') : defaultOracleDir()}`,
    );
  const { setupBackend } = await heavy();
  const b = await setupBackend(o.backend);
  const lines: string[] = [];
  const r = runOracle(files, (l) => (o.json ? lines.push(l) : console.log(`${l} [${b.name}]`)));
  if (o.json) console.log(JSON.stringify({ backend: b.name, passed: r.passed, failed: r.failed, results: r.results }));
  else console.log(`${r.passed} passed, ${r.failed} failed`);
  if (r.failed > 0) throw new CliError(`${r.failed} oracle file(s) failed`, 1);
}

interface ImportOpts {
  weights: string;
  model: string;
  out: string;
  strict: boolean;
  force: boolean;
  backend: string;
  json: boolean;
}

async function runImport(o: ImportOpts): Promise<void> {
  const { setupBackend } = await heavy();
  await setupBackend(o.backend);
  const { importWeights } = await import('./import.js');
  const r = await importWeights(o.weights, o.model as Parameters<typeof importWeights>[1], o.out, {
    strict: o.strict,
    overwrite: o.force,
  });
  if (o.json) console.log(JSON.stringify(r));
  else {
    const { loaded, ignored, masksChecked, missing, unexpected, stripped, layout } = r.report;
    console.log(
      `imported ${o.model} to ${r.out}/model.json: ${loaded.length} tensors loaded, ${masksChecked.length} ring masks checked, ${ignored.length} buffers set aside (${layout} keys${stripped.length ? `, prefix ${stripped.join('')} stripped` : ''})`,
    );
    if (missing.length) console.log(`missing (left at their initial values): ${missing.join(', ')}`);
    if (unexpected.length) console.log(`ignored, not in the model: ${unexpected.join(', ')}`);
  }
}

async function runConvert(o: ExportOpts): Promise<void> {
  if (!existsSync(o.checkpoint)) throw new CliError(`checkpoint not found: ${o.checkpoint}`);
  const { setupBackend } = await heavy();
  await setupBackend(o.backend);
  const { model, spec } = await modelFromCheckpoint(o.checkpoint, { allowNonFinite: o.allowNonFinite });
  const { convertModel } = await import('./export.js');
  const r = await convertModel(model, o.out, o.force);
  if (o.json) console.log(JSON.stringify({ model: spec.kind, ...r }));
  else
    console.log(
      `converted ${r.converted.join(', ')} of ${spec.kind} to GMR convs; saved to ${r.out}/model.json (θ newly initialised: fine-tune it)`,
    );
}

export function program(): Command {
  const p = new Command('gmr')
    .description(
      'GMR-Conv (rotation-equivariant convolutions) for TensorFlow.js: train, evaluate under rotation, report',
    )
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride()
    // --config FILE fills the options not given on the command line, through the flags' own parsers
    .hook('preAction', (_p, cmd) => {
      const file = cmd.getOptionValue('config') as string | undefined;
      if (file !== undefined) applyConfigFile(cmd, file);
    });
  addTrainOptions(
    p
      .command('train')
      .description(
        'train a GMR or plain CNN / ResNet (--model) on --data SOURCE (image folders, CIFAR, MedMNIST npz, PCam HDF5, IDX, the embedded MNIST); a checkpoint after every epoch, --resume to continue',
      ),
  ).action(async (o: TrainOpts, cmd: Command) =>
    runTrain(o, {
      model: cmd.getOptionValueSource('model') === 'cli',
      widths: cmd.getOptionValueSource('widths') === 'cli',
      given: cmd.options
        .map((x) => x.attributeName())
        .filter((k) => ['cli', 'config'].includes(cmd.getOptionValueSource(k) ?? '')),
    }),
  );
  p.command('eval')
    .description(
      "evaluate checkpoints under the paper's protocol (37 angles 0..360 step 10, bilinear, zero fill; flips) and write a report",
    )
    .option('--checkpoint <files...>', 'checkpoint(s) written by gmr train, each evaluated on its own test data')
    .option(
      '--compare <files...>',
      "two or more checkpoints evaluated on one test set (--data, else the first one's), one page: table and charts",
    )
    .option(
      '--data <source>',
      'test images from this source (as gmr train --data: folder:PATH, cifar10:PATH, npz:FILE, hdf5:X,Y, idx:DIR, mnist, …); its test split, or all its images when it has none',
    )
    .addOption(new Option('--model <name>', 'refuse a checkpoint of another model').choices(MODELS))
    .option('--widths <a,b,c>', 'refuse a checkpoint with other widths', widths)
    .option('--rotations', 'rotation protocol', false)
    .option('--flips', 'flip protocol', false)
    .option('--angles <list>', "angles in degrees, 0..360: 'paper' (0:360:10), a list 0,45,90 or a range a:b:step")
    .option('--test-limit <n>', 'use only the first n test images', int('--test-limit', 1))
    .option('--data-dir <folder>', 'read the test split from this IDX folder')
    .option(
      '--out <folder>',
      'report folder (default: eval/, or compare/ with --compare, next to the first checkpoint)',
    )
    .option(ALLOW_NON_FINITE[0], ALLOW_NON_FINITE[1], false)
    .option('--backend <name>', 'auto (native, else wasm, else cpu), native, cuda, wasm, cpu or webgpu', 'auto')
    .option('--json', 'print JSON on stdout', false)
    .option('--no-progress', 'no progress bar')
    .action(async (o: EvalOpts) => {
      if (!o.rotations && !o.flips) o.rotations = o.flips = true;
      await runEval(o);
    });
  p.command('predict')
    .description(
      "class and top-k probabilities of image files or folders of images (resized to the checkpoint's input, normalised as in training); --rotations: how each prediction holds over the 37 angles",
    )
    .argument('<images...>', 'image files (PNG, JPEG, TIFF) or folders searched for them')
    .requiredOption('--checkpoint <file>', 'checkpoint written by gmr train')
    .option('--top-k <k>', 'probabilities of the k most likely classes', int('--top-k', 1), 3)
    .option(
      '--rotations',
      'also predict each image turned through the angles: the fraction of angles giving the upright class, and the worst angle',
      false,
    )
    .option(
      '--angles <list>',
      "angles of --rotations in degrees: 'paper' (0:360:10), a list 0,45,90 or a range a:b:step",
    )
    .option(ALLOW_NON_FINITE[0], ALLOW_NON_FINITE[1], false)
    .option('--backend <name>', 'auto (native, else wasm, else cpu), native, cuda, wasm, cpu or webgpu', 'auto')
    .option('--json', 'print JSON on stdout', false)
    .option('--no-progress', 'no progress bar')
    .action(async (images: string[], o: PredictCommandOptions) => {
      const angles = parseAngles(o.angles);
      const { setupBackend } = await heavy();
      await setupBackend(o.backend);
      const { runPredict } = await import('./predict.js');
      await runPredict(images, o, modelFromCheckpoint, angles);
    });
  p.command('make-example')
    .description(
      'write a seeded orientation-less image-folder dataset (fluorescent cells in 4 classes told apart by nuclei, granules and shape, at random angles) as OUT/train/<class>/*.png and OUT/test/<class>/*.png',
    )
    .argument('<out>', 'folder to write (new or empty)')
    .option('--seed <n>', 'seed', int('--seed', 0), 1)
    .option('--train-per-class <n>', 'training images per class', int('--train-per-class', 1), 150)
    .option('--test-per-class <n>', 'test images per class', int('--test-per-class', 1), 100)
    .option('--size <pixels>', 'image side (16..256)', int('--size', 16), 32)
    .option('--json', 'print JSON on stdout', false)
    .option('--no-progress', 'no progress bar')
    .action(
      async (
        out: string,
        o: {
          seed: number;
          trainPerClass: number;
          testPerClass: number;
          size: number;
          json: boolean;
          progress: boolean;
        },
      ) => {
        const { runMakeExample } = await import('./example.js');
        await runMakeExample(out, o);
      },
    );
  p.command('main-job')
    .description(
      'train the plain CNN, the GMR-CNN and the steerable GMR-CNN on upright MNIST with the same budget, evaluate them upright, at the 37 angles and under flips, write the report under runs/',
    )
    .option('--out <folder>', 'runs folder', 'runs')
    .addOption(
      new Option('--models <names...>', 'which of the three models to train, in this order')
        .choices(MAIN_JOB_MODELS)
        .default([...MAIN_JOB_MODELS]),
    )
    .option(
      '--limit <n>',
      'training images of every model (default: 60000 on native/cuda, 6000 on wasm/cpu/webgpu)',
      int('--limit', 1),
    )
    .option('--epochs <n>', 'epochs of every model (default 1)', int('--epochs', 1))
    .option('--gmr-widths <a,b,c>', 'GMR-CNN widths', widths, [24, 48, 96] as [number, number, number])
    .option(
      '--gmr-harmonic-channels <a,b,c>',
      'GMR-CNN: harmonic-magnitude channels per conv (see gmr train --help)',
      harmonicChannels,
    )
    .option('--plain-widths <a,b,c>', 'plain CNN widths', widths, [16, 32, 64] as [number, number, number])
    .option(
      '--steerable-fields <n0:n1:n2,...>',
      `steerable GMR-CNN: fields of orders 0, 1, 2 per conv (default ${STEERABLE_FIELDS_TEXT})`,
      fieldList,
    )
    .option(
      '--steerable-input-blur <sigma>',
      `steerable GMR-CNN: σ of the fixed input blur (default ${STEERABLE_INPUT_BLUR})`,
      num('--steerable-input-blur', 0, 10),
    )
    .addOption(
      new Option(
        '--pooling <kind>',
        'pooling before the classifiers of the GMR-CNN and the plain CNN: average or rings',
      )
        .choices(POOLINGS)
        .default('average'),
    )
    .option('--test-limit <n>', 'test images for the 37 angles and the flips', int('--test-limit', 1), 2000)
    .option(
      '--upright-limit <n>',
      'test images for the upright accuracy (default: all 10,000)',
      int('--upright-limit', 1),
    )
    .option('--seed <n>', 'seed', int('--seed', 0), 1)
    .option('--backend <name>', 'auto (native, else wasm, else cpu), native, cuda, wasm, cpu or webgpu', 'auto')
    .option('--json', 'print JSON on stdout', false)
    .option('--no-progress', 'no progress bar')
    .option('--config <file>', 'JSON file of options keyed by flag name ({"epochs": 2}); flags win')
    .action(async (o: MainJobOpts) => runMainJob(o));
  p.command('bench')
    .description('median time of a training step and of an inference batch (28×28 digits)')
    .addOption(new Option('--model <names...>', 'models').choices(BENCH_MODELS).default([...BENCH_MODELS]))
    .option('--widths <a,b,c>', 'channels of the three convs (default per model)', widths)
    .option('--batch-size <n>', 'batch size', int('--batch-size', 1), 32)
    .option('--runs <n>', 'timed runs', int('--runs', 1), 5)
    .option('--warmup <n>', 'untimed runs first', int('--warmup', 0), 1)
    .option('--backend <name>', 'auto (native, else wasm, else cpu), native, cuda, wasm, cpu or webgpu', 'auto')
    .option('--json', 'print JSON on stdout', false)
    .option(
      '--profile',
      'then as many runs again with every kernel timed: self time per kernel (in the JSON as profile)',
      false,
    )
    .action(async (o: BenchOpts) => runBench(o));
  p.command('export')
    .description(
      'write a checkpoint as a tfjs model folder (model.json + weights.bin); --plain replaces GMR convs by Conv2D',
    )
    .requiredOption('--checkpoint <file>', 'checkpoint written by gmr train')
    .requiredOption('--out <folder>', 'model folder')
    .option('--plain', 'export GMR convs as plain Conv2D layers holding their synthesised kernels', false)
    .addOption(
      new Option(
        '--format <kind>',
        'tfjs (model.json + weights.bin) or safetensors (the PyTorch state dict, model.safetensors + pytorch.json)',
      )
        .choices(['tfjs', 'safetensors'])
        .default('tfjs'),
    )
    .option('--force', 'replace a model already in --out', false)
    .option(ALLOW_NON_FINITE[0], ALLOW_NON_FINITE[1], false)
    .option('--backend <name>', 'auto (native, else wasm, else cpu), native, cuda, wasm, cpu or webgpu', 'auto')
    .option('--json', 'print JSON on stdout', false)
    .action(async (o: ExportOpts) => runExport(o));
  p.command('import')
    .description(
      'PyTorch weights (a safetensors state dict, DDP module. keys welcome) as a tfjs model folder; sizes are read from the weights',
    )
    .requiredOption(
      '--weights <file>',
      '.safetensors (or state-dict .json); convert a .pt with packages/models/python/gmr_interop.py to-safetensors',
    )
    .addOption(
      new Option('--model <name>', 'the model family the weights belong to')
        .choices(['gmr-cnn', 'plain-cnn', 'gmr-resnet18', 'gmr-resnet34', 'gmr-resnet50', 'resnet18'])
        .makeOptionMandatory(),
    )
    .requiredOption('--out <folder>', 'model folder')
    .option(
      '--no-strict',
      'load what fits and list missing / unexpected keys (default: refuse them, as load_state_dict)',
    )
    .option('--force', 'replace a model already in --out', false)
    .option('--backend <name>', 'auto (native, else wasm, else cpu), native, cuda, wasm, cpu or webgpu', 'auto')
    .option('--json', 'print JSON on stdout', false)
    .action(async (o: ImportOpts) => runImport(o));
  p.command('convert')
    .description('convert the plain convs of a checkpoint (plain-cnn) to GMR convs and save a tfjs model folder')
    .requiredOption('--checkpoint <file>', 'checkpoint written by gmr train')
    .requiredOption('--out <folder>', 'model folder')
    .option('--force', 'replace a model already in --out', false)
    .option(ALLOW_NON_FINITE[0], ALLOW_NON_FINITE[1], false)
    .option('--backend <name>', 'auto (native, else wasm, else cpu), native, cuda, wasm, cpu or webgpu', 'auto')
    .option('--json', 'print JSON on stdout', false)
    .action(async (o: ExportOpts) => runConvert(o));
  p.command('oracle')
    .description(
      'check whole-model oracle files from the official PyTorch code (default: fixtures/oracle/vectors in the repository, or $GMR_ORACLE_DIR)',
    )
    .argument('[paths...]', 'oracle files or folders')
    .option('--backend <name>', 'auto (native, else wasm, else cpu), native, cuda, wasm, cpu or webgpu', 'auto')
    .option('--json', 'print JSON on stdout', false)
    .action(async (paths: string[], o: { backend: string; json: boolean }) => runOracleCommand(paths, o));
  // a stray word (a forgotten flag name, a second path) is refused rather than ignored
  for (const c of p.commands) c.allowExcessArguments(false);
  return p;
}

/** Whether `e` is a refusal of core or datasets (GMRValueError or a subclass such as DatasetError). */
export function isLibraryRefusal(e: unknown): boolean {
  for (let p = e; p instanceof Error; p = Object.getPrototypeOf(p)) {
    if (p.constructor?.name === 'GMRValueError') return true;
  }
  return false;
}

export async function main(argv: string[]): Promise<number> {
  try {
    await program().parseAsync(argv, { from: 'user' });
    return 0;
  } catch (thrown) {
    // a full disk, a read-only or a wrong path: named with the file instead of "unexpected error"
    const e = fileError(thrown);
    if (e instanceof CommanderError) {
      // commander already printed its message (unknown option, missing value, help)
      return e.exitCode === 0 ? 0 : 2;
    }
    if (e instanceof CliError) {
      process.stderr.write(`gmr: error: ${e.message}\n`);
      return e.code;
    }
    // the libraries' refusals (core's GMRValueError, datasets' DatasetError, a subclass of it) name the parameter
    // or file, the value and what is allowed: the user's input, not a bug, so no stack-trace hint. Matched by name
    // so that argument errors stay reportable before the libraries load.
    if (isLibraryRefusal(e)) {
      process.stderr.write(`gmr: error: ${(e as Error).message}\n`);
      return 2;
    }
    const err = e as Error;
    process.stderr.write(`gmr: unexpected error: ${err?.message ?? String(e)}\n`);
    if (process.env.GMR_DEBUG) process.stderr.write(`${err?.stack ?? ''}\n`);
    else process.stderr.write('(set GMR_DEBUG=1 for the stack trace)\n');
    return 1;
  }
}

const isMain = process.argv[1] && /main\.[tj]s$/.test(process.argv[1]);
if (isMain) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    () => process.exit(1),
  );
}
