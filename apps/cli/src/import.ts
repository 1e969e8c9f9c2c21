/**
 * gmr import: PyTorch weights (a safetensors state dict, or the state-dict JSON) as a tfjs model folder. The
 * architecture's sizes (widths, kernel sizes, classes, input channels) are read off the state dict's shapes, so
 * only the model family is given; keys may carry DDP's `module.` or a flattened checkpoint's prefix.
 * A `.pt` file is zip + pickle, which no well-kept npm library reads and writes: convert it first with
 * packages/models/python/gmr_interop.py to-safetensors.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileSystem } from '@gmr-conv/core/node';
import {
  gmrCNN,
  gmrResNet18,
  gmrResNet34,
  gmrResNet50,
  loadPyTorchStateDict,
  plainCNN,
  readSafetensors,
  resNet18,
  stateDictFromJSON,
  stripWrapperPrefixes,
  type LoadReport,
  type StateDict,
} from '@gmr-conv/models';
import type { tf } from './backend.js';
import { CliError } from './errors.js';

export const IMPORT_MODELS = [
  'gmr-cnn',
  'plain-cnn',
  'gmr-resnet18',
  'gmr-resnet34',
  'gmr-resnet50',
  'resnet18',
] as const;
export type ImportModel = (typeof IMPORT_MODELS)[number];

export function readStateDictFile(path: string): StateDict {
  if (!existsSync(path)) throw new CliError(`--weights: ${path} not found`);
  const lower = path.toLowerCase();
  if (lower.endsWith('.pt') || lower.endsWith('.pth') || lower.endsWith('.ckpt')) {
    throw new CliError(
      `--weights: ${path} is a PyTorch pickle (zip + pickle); GMR.js reads safetensors (or state-dict JSON). Convert it with: python3 packages/models/python/gmr_interop.py to-safetensors ${path} weights.safetensors`,
    );
  }
  try {
    if (lower.endsWith('.json')) return stateDictFromJSON(JSON.parse(readFileSync(path, 'utf8')), path);
    return readSafetensors(readFileSync(path), path);
  } catch (e) {
    throw new CliError(`--weights: ${(e as Error).message}`);
  }
}

/** The first of `keys` the state dict has (the CNN's nn.Sequential index or our layer name). */
function pick(sd: StateDict, what: string, ...keys: string[]) {
  for (const k of keys) {
    const t = sd.get(k);
    if (t) return t;
  }
  throw new CliError(
    `--weights: the state dict has none of ${keys.join(', ')} (needed for the ${what}); is it this model's?`,
  );
}

/** Kernel size of a GMR conv from its ring masks [1, 1, n, k^d] (d = 2), else from its ring count (k = 2n − 1). */
function gmrKernel(sd: StateDict, prefix: string): { k: number; rings: number } {
  const theta = pick(sd, `GMR conv ${prefix}`, `${prefix}.weight`);
  const rings = theta.shape[theta.shape.length - 1];
  const mask = sd.get(`${prefix}.default_weight_index_mat`);
  const k = mask ? Math.round(Math.sqrt(mask.shape[mask.shape.length - 1])) : 2 * rings - 1;
  return { k, rings };
}

/** Builds the model the state dict describes. */
export function modelFor(kind: ImportModel, sd: StateDict): tf.LayersModel {
  try {
    if (kind === 'gmr-cnn' || kind === 'plain-cnn') {
      const conv = (i: number, name: string) =>
        pick(sd, `conv ${name}`, `${[0, 4, 8][i]}.weight`, `${name}.weight`).shape;
      const shapes = [conv(0, 'conv1'), conv(1, 'conv2'), conv(2, 'conv3')];
      const fc = pick(sd, 'classifier', '13.weight', 'fc.weight').shape;
      const widths = shapes.map((s) => s[0]) as [number, number, number];
      const kernelSizes = shapes.map((s, i) => {
        if (kind === 'plain-cnn') return s[2];
        return gmrKernel(sd, sd.has(`${[0, 4, 8][i]}.weight`) ? `${[0, 4, 8][i]}` : `conv${i + 1}`).k;
      }) as [number, number, number];
      const o = {
        widths,
        kernelSizes,
        numClasses: fc[0],
        inChannels: shapes[0][1],
        inputSize: [null, null] as [null, null],
      };
      return kind === 'gmr-cnn' ? gmrCNN(o) : plainCNN(o);
    }
    const stem = pick(sd, 'stem', 'conv1.weight').shape;
    const numClasses = pick(sd, 'classifier', 'fc.weight').shape[0];
    if (kind === 'resnet18')
      return resNet18({ numClasses, inChannels: stem[1], inplanes: stem[0], stemKernel: stem[2] });
    // per stage: the first block's GMR conv (conv1 in basic blocks, conv2 in bottlenecks; `.1` after a strided AvgPool)
    const conv = kind === 'gmr-resnet50' ? 'conv2' : 'conv1';
    const stages = [1, 2, 3, 4].map((s) =>
      gmrKernel(sd, sd.has(`layer${s}.0.${conv}.1.weight`) ? `layer${s}.0.${conv}.1` : `layer${s}.0.${conv}`),
    );
    const o = {
      numClasses,
      inChannels: stem[1],
      inplanes: stem[0],
      gmrConvSize: stages.map((s) => s.k),
      numRings: stages.map((s) => (s.rings === Math.floor(s.k / 2) + 1 ? null : s.rings)),
    };
    return kind === 'gmr-resnet18' ? gmrResNet18(o) : kind === 'gmr-resnet34' ? gmrResNet34(o) : gmrResNet50(o);
  } catch (e) {
    if (e instanceof CliError) throw e;
    throw new CliError(`cannot build ${kind} from the state dict's shapes: ${(e as Error).message}`);
  }
}

export interface ImportResult {
  out: string;
  model: ImportModel;
  report: LoadReport;
}

export async function importWeights(
  file: string,
  kind: ImportModel,
  out: string,
  opts: { strict: boolean; overwrite: boolean },
): Promise<ImportResult> {
  const dir = resolve(out);
  if (existsSync(dir) && readdirSync(dir).length > 0 && !opts.overwrite)
    throw new CliError(`${dir} is not empty: pass --force to replace the model there`);
  const raw = readStateDictFile(file);
  // sizes are read from the bare keys; loadPyTorchStateDict strips the same prefixes again and reports them
  const { sd } = stripWrapperPrefixes(raw, new Set());
  const model = modelFor(kind, sd);
  let report: LoadReport;
  try {
    report = loadPyTorchStateDict(model, raw, { strict: opts.strict });
  } catch (e) {
    model.dispose();
    throw new CliError(`--weights ${file} does not fit ${kind}: ${(e as Error).message}`);
  }
  await model.save(fileSystem(dir));
  model.dispose();
  return { out: dir, model: kind, report };
}
