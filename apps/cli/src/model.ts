/** Building the models with a seeded initialisation, and moving weights in and out. */
import { DEFAULT_STEERABLE_FIELDS, gmrCNN, gmrSteerableCNN, plainCNN } from '@gmr-conv/models';
import { fieldChannels } from '@gmr-conv/core';
import { tf } from './backend.js';
import { CliError } from './errors.js';

export const MODELS = ['gmr-cnn', 'plain-cnn', 'gmr-steerable'] as const;
export type ModelKind = (typeof MODELS)[number];

export const POOLINGS = ['average', 'rings'] as const;
export type Pooling = (typeof POOLINGS)[number];

export interface ModelSpec {
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
}

/** The steerable network's defaults (the main job's recipe; see apps/cli/README.md). */
export const STEERABLE_DEFAULTS = { fields: DEFAULT_STEERABLE_FIELDS as [number, number, number][], inputBlur: 0 };

/** Channels of each conv of a steerable network (core's fieldChannels: n0 + 2·n1 + 2·n2). */
export function steerableWidths(fields: [number, number, number][]): [number, number, number] {
  return fields.map((f) => fieldChannels(f)) as [number, number, number];
}

const NO_HARMONICS: [number, number, number] = [0, 0, 0];

/** The model a checkpoint header describes (fields added later get their defaults). */
export function specFromHeader(m: { kind: string; widths: number[]; numClasses: number; pooling?: string; harmonicChannels?: number[]; fields?: number[][]; inputBlur?: number }): ModelSpec {
  if (m.kind === 'gmr-steerable') {
    const fields = (m.fields as [number, number, number][] | undefined) ?? STEERABLE_DEFAULTS.fields;
    return { kind: 'gmr-steerable', widths: steerableWidths(fields), numClasses: m.numClasses, pooling: 'rings', fields, inputBlur: m.inputBlur ?? STEERABLE_DEFAULTS.inputBlur };
  }
  return {
    kind: m.kind as ModelKind,
    widths: m.widths as [number, number, number],
    numClasses: m.numClasses,
    pooling: (m.pooling as Pooling | undefined) ?? 'average',
    harmonicChannels: (m.harmonicChannels as [number, number, number] | undefined) ?? NO_HARMONICS,
  };
}

/** A one-line description of a model spec (for messages). */
export function describeSpec(s: ModelSpec): string {
  if (s.kind === 'gmr-steerable') {
    const f = s.fields ?? STEERABLE_DEFAULTS.fields;
    return `gmr-steerable with fields ${f.map((x) => x.join(':')).join(',')} (${s.numClasses} classes, input blur ${s.inputBlur ?? 0})`;
  }
  const h = s.harmonicChannels ?? NO_HARMONICS;
  return `${s.kind} with widths ${JSON.stringify(s.widths)} (${s.numClasses} classes, ${s.pooling ?? 'average'} pooling${h.some((v) => v > 0) ? `, harmonic channels ${JSON.stringify(h)}` : ''})`;
}

/** Same architecture (defaults filled in on both sides). */
export function sameSpec(a: ModelSpec, b: ModelSpec): boolean {
  return describeSpec(specFromHeader(a)) === describeSpec(specFromHeader(b));
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
  if (!(MODELS as readonly string[]).includes(spec.kind)) throw new CliError(`unknown model '${spec.kind}' (choose one of: ${MODELS.join(', ')})`);
  const original = Math.random;
  Math.random = seededRandom(seed ^ 0x1417);
  try {
    if (spec.kind === 'gmr-steerable') return gmrSteerableCNN({ fields: spec.fields ?? STEERABLE_DEFAULTS.fields, inputBlur: spec.inputBlur ?? STEERABLE_DEFAULTS.inputBlur, numClasses: spec.numClasses });
    const opts = { widths: spec.widths, numClasses: spec.numClasses, pooling: spec.pooling ?? 'average', harmonicChannels: spec.harmonicChannels ?? NO_HARMONICS };
    return spec.kind === 'gmr-cnn' ? gmrCNN(opts) : plainCNN(opts);
  } catch (e) {
    throw new CliError(`cannot build ${describeSpec(spec)}: ${(e as Error).message}`);
  } finally {
    Math.random = original;
  }
}

export interface NamedArray {
  name: string;
  shape: number[];
  data: Float32Array;
}

/** Every weight (trainable and BN statistics), in model order. */
export async function readWeights(model: tf.LayersModel): Promise<NamedArray[]> {
  const out: NamedArray[] = [];
  for (const w of model.weights) out.push({ name: w.originalName, shape: w.shape as number[], data: (await w.read().data()) as Float32Array });
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
  if (problems.length) throw new CliError(`${source} does not fit the model: ${problems.slice(0, 6).join('; ')}${problems.length > 6 ? ` (+${problems.length - 6} more)` : ''}`);
  for (const w of model.weights) {
    const t = tf.tensor(weights.get(w.originalName)!, w.shape as number[]);
    w.write(t);
    t.dispose();
  }
}
