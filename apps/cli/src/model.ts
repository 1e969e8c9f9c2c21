/** Building the models with a seeded initialisation, and moving weights in and out. */
import {
  DEFAULT_STEERABLE_FIELDS,
  cloneLayer,
  gmrCNN,
  gmrResNet18,
  gmrResNet34,
  gmrResNet50,
  gmrSteerableCNN,
  plainCNN,
  rebuildModel,
  resNet18,
} from '@gmr-conv/models';
import { fieldChannels } from '@gmr-conv/core';
import { tf } from './backend.js';
import { CliError } from './errors.js';
import type { ResNetOptions } from './train_options.js';

export const MODELS = [
  'gmr-cnn',
  'plain-cnn',
  'gmr-steerable',
  'gmr-resnet18',
  'gmr-resnet34',
  'gmr-resnet50',
  'resnet18',
] as const;
export type ModelKind = (typeof MODELS)[number];
/** The ResNets (the models package's gmrResNet18/34/50 and the plain resNet18 twin). */
export const RESNETS = ['gmr-resnet18', 'gmr-resnet34', 'gmr-resnet50', 'resnet18'] as const;
export const isResNet = (kind: string): boolean => (RESNETS as readonly string[]).includes(kind);

/** Per-channel mean and std of the training pixels (in [0, 1]); the model's first layer subtracts and divides by them. */
export interface Normalization {
  mean: number[];
  std: number[];
}

export const POOLINGS = ['average', 'rings'] as const;
export type Pooling = (typeof POOLINGS)[number];

export interface ModelSpec extends ResNetOptions {
  kind: ModelKind;
  widths: [number, number, number];
  numClasses: number;
  /** global average pooling (default) or core's RingPooling2D before the classifier */
  pooling?: Pooling;
  /** gmr-cnn: harmonic-magnitude channels per conv (core's GMRHarmonicConv2D), default none */
  harmonicChannels?: [number, number, number];
  /** gmr-steerable: output fields [order 0, order 1, order 2] of each steerable conv (default the models package's) */
  fields?: [number, number, number][];
  /** gmr-steerable: σ (pixels) of the fixed Gaussian blur of the input, 0 = none */
  inputBlur?: number;
  /** [height, width, channels] of the input (default [28, 28, 1], the digits every earlier checkpoint was trained on) */
  inputShape?: [number, number, number];
  /** input normalisation built in as the first layer (input_norm), when the run computed one */
  normalization?: Normalization;
}

/** The input shape of every checkpoint written before the input shape was stored. */
export const DIGIT_SHAPE: [number, number, number] = [28, 28, 1];

/** The steerable network's defaults (the main job's recipe; see apps/cli/README.md). */
export const STEERABLE_DEFAULTS = { fields: DEFAULT_STEERABLE_FIELDS as [number, number, number][], inputBlur: 0 };

/** Channels of each conv of a steerable network (core's fieldChannels: n0 + 2·n1 + 2·n2). */
export function steerableWidths(fields: [number, number, number][]): [number, number, number] {
  return fields.map((f) => fieldChannels(f)) as [number, number, number];
}

const NO_HARMONICS: [number, number, number] = [0, 0, 0];

/** What a checkpoint header says about its model (checkpoint.ts keeps it as JSON): a ModelSpec, less strictly typed. */
export interface HeaderModel extends Omit<
  ModelSpec,
  'kind' | 'widths' | 'pooling' | 'harmonicChannels' | 'fields' | 'inputShape'
> {
  kind: string;
  widths: number[];
  pooling?: string;
  harmonicChannels?: number[];
  fields?: number[][];
  inputShape?: number[];
}

/** The model a checkpoint header describes (fields added later get their defaults). */
export function specFromHeader(m: HeaderModel): ModelSpec {
  // absent in earlier checkpoints: 28×28×1 digits, no normalisation
  const data = {
    ...(m.inputShape ? { inputShape: m.inputShape as [number, number, number] } : {}),
    ...(m.normalization ? { normalization: m.normalization } : {}),
  };
  if (m.kind === 'gmr-steerable') {
    const fields = (m.fields as [number, number, number][] | undefined) ?? STEERABLE_DEFAULTS.fields;
    return {
      kind: 'gmr-steerable',
      widths: steerableWidths(fields),
      numClasses: m.numClasses,
      pooling: 'rings',
      fields,
      inputBlur: m.inputBlur ?? STEERABLE_DEFAULTS.inputBlur,
      ...data,
    };
  }
  if (isResNet(m.kind)) {
    const inplanes = m.inplanes ?? RESNET_DEFAULTS.inplanes;
    const common = {
      kind: m.kind as ModelKind,
      widths: resnetWidths(inplanes),
      numClasses: m.numClasses,
      inplanes,
      ...data,
    };
    if (m.kind === 'resnet18')
      return {
        ...common,
        stemKernel: m.stemKernel ?? RESNET_DEFAULTS.stemKernel,
        stemStride: m.stemStride ?? RESNET_DEFAULTS.stemStride,
        maxPool: m.maxPool ?? true,
      };
    return {
      ...common,
      gmrConvSize: m.gmrConvSize ?? RESNET_DEFAULTS.gmrConvSize,
      skipFirstPool: m.skipFirstPool ?? false,
    };
  }
  return {
    kind: m.kind as ModelKind,
    widths: m.widths as [number, number, number],
    numClasses: m.numClasses,
    pooling: (m.pooling as Pooling | undefined) ?? 'average',
    harmonicChannels: (m.harmonicChannels as [number, number, number] | undefined) ?? NO_HARMONICS,
    ...data,
  };
}

/** The models package's ResNet defaults (GMRResNetOptions / ResNetOptions), spelled out so a checkpoint records them. */
export const RESNET_DEFAULTS = { inplanes: 64, gmrConvSize: [9, 9, 5, 5], stemKernel: 5, stemStride: 1 };

/** Stand-in "widths" of a ResNet for messages and the memory estimate: its first three stages' channels. */
export function resnetWidths(inplanes: number): [number, number, number] {
  return [inplanes, 2 * inplanes, 4 * inplanes];
}

/** The spec's fields that a checkpoint header stores under "model", in the order they are written. */
const HEADER_FIELDS = [
  'kind',
  'widths',
  'numClasses',
  'pooling',
  'harmonicChannels',
  'fields',
  'inputBlur',
  'inputShape',
  'normalization',
  'inplanes',
  'gmrConvSize',
  'skipFirstPool',
  'stemKernel',
  'stemStride',
  'maxPool',
] as const satisfies readonly (keyof ModelSpec)[];

/** The header fields of a spec (what saveCheckpoint stores under "model"); a JSON round trip drops the absent ones. */
export function headerOfSpec(s: ModelSpec): HeaderModel {
  return JSON.parse(JSON.stringify(Object.fromEntries(HEADER_FIELDS.map((k) => [k, s[k]]))));
}

/** A one-line description of a model spec (for messages). */
export function describeSpec(s: ModelSpec): string {
  const shape = s.inputShape && s.inputShape.join() !== DIGIT_SHAPE.join() ? `, ${s.inputShape.join('×')} input` : '';
  if (s.kind === 'gmr-steerable') {
    const f = s.fields ?? STEERABLE_DEFAULTS.fields;
    return `gmr-steerable with fields ${f.map((x) => x.join(':')).join(',')} (${s.numClasses} classes, input blur ${s.inputBlur ?? 0}${shape})`;
  }
  if (isResNet(s.kind)) {
    const stem =
      s.kind === 'resnet18'
        ? `stem ${s.stemKernel ?? RESNET_DEFAULTS.stemKernel}×${s.stemKernel ?? RESNET_DEFAULTS.stemKernel} stride ${s.stemStride ?? RESNET_DEFAULTS.stemStride}${s.maxPool === false ? ', no max pool' : ''}`
        : `GMR kernels ${(s.gmrConvSize ?? RESNET_DEFAULTS.gmrConvSize).join('/')}${s.skipFirstPool ? ', no stem pool' : ''}`;
    return `${s.kind} with inplanes ${s.inplanes ?? RESNET_DEFAULTS.inplanes} (${s.numClasses} classes, ${stem}${shape})`;
  }
  const h = s.harmonicChannels ?? NO_HARMONICS;
  return `${s.kind} with widths ${JSON.stringify(s.widths)} (${s.numClasses} classes, ${s.pooling ?? 'average'} pooling${h.some((v) => v > 0) ? `, harmonic channels ${JSON.stringify(h)}` : ''}${shape})`;
}

/** Same architecture (defaults filled in on both sides). */
export function sameSpec(a: ModelSpec, b: ModelSpec): boolean {
  return describeSpec(specFromHeader(a)) === describeSpec(specFromHeader(b));
}

/**
 * How many times a model shrinks its input before the classifier through 'valid' average pools (a smaller image
 * would pool down to nothing), and where that comes from. The plain resnet18 pools with padding: any size works.
 */
export function downsampling(s: ModelSpec): { factor: number; why: string } {
  if (s.kind === 'gmr-cnn' || s.kind === 'plain-cnn') return { factor: 4, why: 'two 2×2 average pools' };
  if (s.kind === 'gmr-steerable') {
    const n = (s.fields ?? STEERABLE_DEFAULTS.fields).length - 1;
    return { factor: 2 ** n, why: `${n} 2×2 average pool(s), each needing an even size` };
  }
  if (s.kind === 'resnet18') return { factor: 1, why: 'padded strided convs' };
  return s.skipFirstPool
    ? { factor: 8, why: 'stage strides 2·2·2' }
    : { factor: 16, why: 'the stem pool 2 and stage strides 2·2·2' };
}

/** Refuses data a model cannot take, naming the model, the image size and what would do. */
export function checkModelFitsData(s: ModelSpec): void {
  const [h, w] = s.inputShape ?? DIGIT_SHAPE;
  const { factor, why } = downsampling(s);
  const evenNeeded = s.kind === 'gmr-steerable';
  const tooSmall = h < factor || w < factor;
  const odd = evenNeeded && (h % factor !== 0 || w % factor !== 0);
  if (tooSmall || odd) {
    const hint = s.kind.startsWith('gmr-resnet') && !s.skipFirstPool ? ', or --skip-first-pool' : '';
    throw new CliError(
      `--model ${s.kind} cannot take ${h}×${w} images: it downsamples by ${factor} (${why}), so both sides must be ${evenNeeded ? `multiples of ${factor}` : `at least ${factor}`}; resize them with --size${hint}, or choose another --model`,
    );
  }
}

/** mulberry32 */
function seededRandom(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    let t = (s = (s + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Builds the model. tfjs initialisers draw their seeds from Math.random, so it is replaced by a seeded generator
 * while the model (and its weights) are created: the same seed gives the same initial weights.
 */
export function buildModel(spec: ModelSpec, seed: number): tf.LayersModel {
  if (!(MODELS as readonly string[]).includes(spec.kind))
    throw new CliError(`unknown model '${spec.kind}' (choose one of: ${MODELS.join(', ')})`);
  checkModelFitsData(spec);
  const original = Math.random;
  Math.random = seededRandom(seed ^ 0x1417);
  try {
    const model = buildBare(spec);
    return spec.normalization ? withInputNormalization(model, spec.normalization) : model;
  } catch (e) {
    throw new CliError(`cannot build ${describeSpec(spec)}: ${(e as Error).message}`);
  } finally {
    Math.random = original;
  }
}

function buildBare(spec: ModelSpec): tf.LayersModel {
  const [h, w, inChannels] = spec.inputShape ?? DIGIT_SHAPE;
  const inputSize: [number, number] = [h, w];
  const { numClasses } = spec;
  switch (spec.kind) {
    case 'gmr-steerable':
      return gmrSteerableCNN({
        fields: spec.fields ?? STEERABLE_DEFAULTS.fields,
        inputBlur: spec.inputBlur ?? STEERABLE_DEFAULTS.inputBlur,
        numClasses,
        inChannels,
        inputSize,
      });
    case 'gmr-cnn':
    case 'plain-cnn': {
      const opts = {
        widths: spec.widths,
        numClasses,
        inChannels,
        inputSize,
        pooling: spec.pooling ?? 'average',
        harmonicChannels: spec.harmonicChannels ?? NO_HARMONICS,
      };
      return spec.kind === 'gmr-cnn' ? gmrCNN(opts) : plainCNN(opts);
    }
    case 'resnet18':
      return resNet18({
        numClasses,
        inChannels,
        inputSize,
        inplanes: spec.inplanes,
        stemKernel: spec.stemKernel,
        stemStride: spec.stemStride,
        maxPool: spec.maxPool,
      });
    default: {
      const build = { 'gmr-resnet18': gmrResNet18, 'gmr-resnet34': gmrResNet34, 'gmr-resnet50': gmrResNet50 }[
        spec.kind
      ];
      return build({
        numClasses,
        inChannels,
        inputSize,
        inplanes: spec.inplanes,
        gmrConvSize: spec.gmrConvSize,
        skipFirstPool: spec.skipFirstPool,
      });
    }
  }
}

/** Name of the fixed first layer that normalises the input. */
export const INPUT_NORM = 'input_norm';

/**
 * The model with a fixed per-channel affine map (x − mean) / std in front, as a 1×1 depthwise conv named input_norm
 * (a built-in tfjs layer, so an exported model.json loads anywhere and applies the normalisation itself; a
 * per-channel affine map commutes with rotations and flips, so equivariance is kept). The graph is rebuilt with the
 * models package's rebuildModel, which copies every layer's weights: a layer shared by two graphs would have two
 * inbound nodes, which batch-norm recalibration cannot follow.
 */
function withInputNormalization(model: tf.LayersModel, norm: Normalization): tf.LayersModel {
  const C = norm.mean.length;
  const layer = tf.layers.depthwiseConv2d({
    name: INPUT_NORM,
    kernelSize: 1,
    useBias: true,
    trainable: false,
    depthwiseInitializer: 'ones',
    biasInitializer: 'zeros',
  });
  let normed: tf.SymbolicTensor | undefined;
  const fromInput = (t: tf.SymbolicTensor) => t.sourceLayer.getClassName() === 'InputLayer';
  const rebuilt = rebuildModel(model, (old) => {
    const nodes = (old as unknown as { inboundNodes: { inputTensors: tf.SymbolicTensor[] }[] }).inboundNodes;
    if (!nodes.some((n) => n.inputTensors.some(fromInput))) return null;
    return (xs, callArgs) => {
      const fresh = cloneLayer(old);
      const ins = xs.map((x) => (fromInput(x) ? (normed ??= layer.apply(x) as tf.SymbolicTensor) : x));
      const y = fresh.apply(ins.length === 1 ? ins[0] : ins, callArgs) as tf.SymbolicTensor | tf.SymbolicTensor[];
      fresh.setWeights(old.getWeights());
      return y;
    };
  });
  if (rebuilt.getLayer(INPUT_NORM) !== layer)
    throw new Error('the input normalisation found no layer reading the input');
  tf.tidy(() =>
    layer.setWeights([
      tf.tensor4d(
        norm.std.map((s) => 1 / s),
        [1, 1, C, 1],
      ),
      tf.tensor1d(norm.mean.map((m, c) => -m / norm.std[c])),
    ]),
  );
  model.dispose();
  return rebuilt;
}

export interface NamedArray {
  name: string;
  shape: number[];
  data: Float32Array;
}

/** Every weight (trainable and BN statistics), in model order. */
export async function readWeights(model: tf.LayersModel): Promise<NamedArray[]> {
  const out: NamedArray[] = [];
  for (const w of model.weights)
    out.push({ name: w.originalName, shape: w.shape as number[], data: (await w.read().data()) as Float32Array });
  return out;
}

export function writeWeights(model: tf.LayersModel, weights: Map<string, Float32Array>, source: string): void {
  const problems: string[] = [];
  for (const w of model.weights) {
    const d = weights.get(w.originalName);
    const size = (w.shape as number[]).reduce((a, b) => a * b, 1);
    if (!d) problems.push(`missing ${w.originalName}`);
    else if (d.length !== size) problems.push(`${w.originalName}: ${d.length} values, the model needs ${size}`);
  }
  const known = new Set(model.weights.map((w) => w.originalName));
  for (const k of weights.keys()) if (!known.has(k)) problems.push(`unexpected ${k}`);
  if (problems.length)
    throw new CliError(
      `${source} does not fit the model: ${problems.slice(0, 6).join('; ')}${problems.length > 6 ? ` (+${problems.length - 6} more)` : ''}`,
    );
  for (const w of model.weights) {
    const t = tf.tensor(weights.get(w.originalName)!, w.shape as number[]);
    w.write(t);
    t.dispose();
  }
}
