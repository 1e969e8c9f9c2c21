/**
 * The `gmr train` flags of the data source and of the ResNets: their parsers, and the checks that tie them to
 * --model. Kept free of tfjs (main.ts parses every command line before loading it), so the ResNet defaults are
 * repeated here from model.ts (a unit test checks they agree).
 */
import { type Command, InvalidArgumentError, Option } from 'commander';
import { resolve } from 'node:path';
import { CliError } from './errors.js';

export const RESNET_MODELS = ['gmr-resnet18', 'gmr-resnet34', 'gmr-resnet50', 'resnet18'] as const;
/** = model.ts RESNET_DEFAULTS.inplanes */
export const RESNET_INPLANES = 64;
const isResNet = (m: string) => (RESNET_MODELS as readonly string[]).includes(m);

/** The ResNet builders' options a run sets (GMRResNetOptions / ResNetOptions of the models package). */
export interface ResNetOptions {
  /** base width; stages have inplanes·(1, 2, 4, 8) channels (models' default 64) */
  inplanes?: number;
  /** GMR ResNets: GMR kernel size per stage, four values (models' default [9, 9, 5, 5]) */
  gmrConvSize?: number[];
  /** GMR ResNets: drop the stem's 2×2 average pool */
  skipFirstPool?: boolean;
  /** resnet18: stem kernel size and stride (models' default 5 and 1), and the max pool after the stem (default on) */
  stemKernel?: number;
  stemStride?: number;
  maxPool?: boolean;
}

const bad = (flag: string, v: string, allowed: string) =>
  new InvalidArgumentError(`${flag} must be ${allowed}; got '${v}'`);

/** --size H or HxW */
export function sizeArg(v: string): [number, number] {
  const parts = v.toLowerCase().split('x');
  const n = parts.map(Number);
  if (parts.length > 2 || n.some((x) => !Number.isInteger(x) || x < 1 || x > 4096))
    throw bad('--size', v, 'H or HxW, integers from 1 to 4096, like 64 or 96x128');
  return n.length === 1 ? [n[0], n[0]] : [n[0], n[1]];
}

/** --val-fraction in [0, 1) */
export function valFractionArg(v: string): number {
  const n = Number(v);
  if (v.trim() === '' || !Number.isFinite(n) || n < 0 || n >= 1)
    throw bad('--val-fraction', v, 'a number in [0, 1) (0: no validation split)');
  return n;
}

/** --gmr-conv-size k or k1,k2,k3,k4 (one GMR kernel size per stage) */
export function gmrConvSizeArg(v: string): number[] {
  const n = v.split(',').map(Number);
  if ((n.length !== 1 && n.length !== 4) || n.some((x) => !Number.isInteger(x) || x < 1 || x > 31))
    throw bad(
      '--gmr-conv-size',
      v,
      'one kernel size or four (one per stage), integers from 1 to 31, like 5 or 9,9,5,5',
    );
  return n.length === 1 ? [n[0], n[0], n[0], n[0]] : n;
}

const posInt = (flag: string, max: number) => (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1 || n > max) throw bad(flag, v, `an integer from 1 to ${max}`);
  return n;
};

/** The data-source and ResNet options of `gmr train` (names follow the models package's builder options). */
export function addDataAndResNetOptions(c: Command): Command {
  return c
    .option(
      '--data <source>',
      'training data: folder:PATH (one sub-folder per class, or train/ test/ [val/] of them), cifar10:PATH, cifar100:PATH, npz:FILE (MedMNIST), hdf5:X,Y (PatchCamelyon), idx:DIR, or mnist | fashion-mnist | mnist-rot (as --dataset)',
    )
    .option(
      '--size <HxW>',
      'folder: resize every image to H×W (bilinear); needed when the images have mixed sizes',
      sizeArg,
    )
    .option(
      '--val-fraction <f>',
      'hold out this fraction of the training images, stratified per class (seeded by --seed), when the source has no validation split (default 0.1 for a plain class folder, else 0)',
      valFractionArg,
    )
    .addOption(
      new Option(
        '--normalize',
        "normalise the input per channel with the mean and std of the training images, as the model's first layer (default with --data, except the embedded digit sets)",
      ),
    )
    .addOption(new Option('--no-normalize', 'feed the model pixels in [0, 1] as they are'))
    .option(
      '--inplanes <n>',
      `ResNets: base width, stages have inplanes·(1, 2, 4, 8) channels (default ${RESNET_INPLANES})`,
      posInt('--inplanes', 512),
    )
    .option(
      '--gmr-conv-size <k|k,k,k,k>',
      'GMR ResNets: GMR kernel size, one or one per stage (default 9,9,5,5)',
      gmrConvSizeArg,
    )
    .option('--skip-first-pool', "GMR ResNets: drop the stem's 2×2 average pool (for small images)")
    .option(
      '--stem-kernel <k>',
      "resnet18: stem conv kernel size (default 5; 7 with --stem-stride 2 is torchvision's)",
      posInt('--stem-kernel', 15),
    )
    .option('--stem-stride <s>', 'resnet18: stem conv stride (default 1)', posInt('--stem-stride', 4))
    .option('--no-max-pool', 'resnet18: no 3×3 stride-2 max pool after the stem');
}

const EMBEDDED = ['mnist', 'fashion-mnist', 'mnist-rot'];

/** `kind:path[,path]` with the paths made absolute, so a resumed run reads the same files from any folder. */
export function absoluteSource(text: string): string {
  const colon = text.indexOf(':');
  if (colon < 0) return text;
  const kind = text.slice(0, colon);
  const rest = text.slice(colon + 1);
  const paths = kind === 'hdf5' ? rest.split(',') : [rest];
  return `${kind}:${paths.map((p) => (p === '' ? p : resolve(p))).join(',')}`;
}

export interface DataAndResNetOpts extends ResNetOptions {
  model: string;
  data?: string;
  dataset?: string;
  size?: [number, number];
  normalize?: boolean;
  widths?: unknown;
  pooling?: string;
}

/**
 * The run configuration's data and ResNet fields from the flags. --dataset is the embedded data's older name for
 * --data (both at once is refused); flags of another model are refused rather than ignored.
 */
export function dataAndResNetConfig(o: DataAndResNetOpts): Record<string, unknown> {
  if (o.data !== undefined && o.dataset !== undefined)
    throw new CliError(
      `--data ${o.data} and --dataset ${o.dataset}: give one (--dataset NAME is --data NAME for the embedded data)`,
    );
  const data = absoluteSource(o.data ?? o.dataset ?? 'mnist');
  if (o.size !== undefined && !data.startsWith('folder:'))
    throw new CliError(`--size ${o.size.join('x')}: --size resizes the images of a folder: source, not ${data}`);
  const embedded = data.split('+').every((p) => EMBEDDED.includes(p));
  const resnet = isResNet(o.model);
  const given = (flags: Record<string, unknown>) =>
    Object.entries(flags)
      .filter(([, v]) => v !== undefined && v !== false)
      .map(([k]) => k);
  const resnetOnly = given({
    '--inplanes': o.inplanes,
    '--gmr-conv-size': o.gmrConvSize,
    '--skip-first-pool': o.skipFirstPool,
    '--stem-kernel': o.stemKernel,
    '--stem-stride': o.stemStride,
    '--no-max-pool': o.maxPool === false,
  });
  if (!resnet && resnetOnly.length)
    throw new CliError(
      `${resnetOnly.join(', ')} belong to the ResNets (--model ${RESNET_MODELS.join(' | ')}), not --model ${o.model}`,
    );
  if (resnet) {
    if (o.widths !== undefined)
      throw new CliError(`--model ${o.model} takes --inplanes N (stages of N·(1, 2, 4, 8) channels), not --widths`);
    if (o.pooling !== undefined && o.pooling !== 'average')
      throw new CliError(`--pooling ${o.pooling}: the ResNets end in global average pooling`);
    const gmrOnly = given({ '--gmr-conv-size': o.gmrConvSize, '--skip-first-pool': o.skipFirstPool });
    const plainOnly = given({
      '--stem-kernel': o.stemKernel,
      '--stem-stride': o.stemStride,
      '--no-max-pool': o.maxPool === false,
    });
    if (o.model === 'resnet18' && gmrOnly.length)
      throw new CliError(
        `${gmrOnly.join(', ')} belong to the GMR ResNets, not the plain resnet18 (its stem: --stem-kernel, --stem-stride, --no-max-pool)`,
      );
    if (o.model !== 'resnet18' && plainOnly.length)
      throw new CliError(
        `${plainOnly.join(', ')} belong to the plain resnet18, not --model ${o.model} (its options: --gmr-conv-size, --skip-first-pool)`,
      );
  }
  const inplanes = o.inplanes ?? RESNET_INPLANES;
  return {
    data,
    // earlier readers of a run's configuration look for the embedded dataset's name here
    dataset: embedded ? data : (o.dataset ?? data),
    ...(o.size ? { size: o.size } : {}),
    normalize: o.normalize ?? !embedded,
    ...(resnet
      ? {
          widths: [inplanes, 2 * inplanes, 4 * inplanes],
          inplanes,
          ...(o.model === 'resnet18'
            ? {
                stemKernel: o.stemKernel ?? 5,
                stemStride: o.stemStride ?? 1,
                maxPool: o.maxPool ?? true,
                gmrConvSize: undefined,
                skipFirstPool: undefined,
              }
            : {
                gmrConvSize: o.gmrConvSize ?? [9, 9, 5, 5],
                skipFirstPool: o.skipFirstPool ?? false,
                stemKernel: undefined,
                stemStride: undefined,
                maxPool: undefined,
              }),
        }
      : // commander's --no-max-pool defaults maxPool to true for every model: none of these belong to a CNN's run
        {
          inplanes: undefined,
          gmrConvSize: undefined,
          skipFirstPool: undefined,
          stemKernel: undefined,
          stemStride: undefined,
          maxPool: undefined,
        }),
  };
}
