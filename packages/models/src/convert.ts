/**
 * Model surgery on tfjs-layers models:
 * - convertToGMR: every Conv2D with kernel > 1 becomes a GMR conv (strided ones
 *   become AvgPool(stride) + stride-1 GMR conv, named `${name}.0` / `${name}.1` as the
 *   reference's nn.Sequential), every option honoured; other layers are cloned with their weights.
 * - exportToPlainConv: every GMRConv2D becomes a Conv2D holding its synthesised kernel,
 *   so a trained GMR model runs anywhere tfjs runs (and on any converter) without @gmr-conv/core.
 * Both return a new functional model and leave the input model untouched.
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import {
  GMRConv2D,
  GMRConvBase,
  GMRHarmonicConv2D,
  GMRValueError,
  invalid,
  type GMRConvLayerArgs,
  type InitScheme,
} from '@gmr-conv/core';
import type { GMROptions, SymbolicTensor } from './building_blocks.js';

type Layer = tfl.layers.Layer;
type Node = { inputTensors: SymbolicTensor[]; outputTensors: SymbolicTensor[]; callArgs?: Record<string, unknown> };
/** Returns what stands for `layer` in the new graph: a function of the new inputs. */
type Replace = (
  layer: Layer,
) => ((xs: SymbolicTensor[], callArgs?: Record<string, unknown>) => SymbolicTensor | SymbolicTensor[]) | null;

/** A fresh layer of the same class and config (not yet built). */
export function cloneLayer(layer: Layer): Layer {
  const entry = tf.serialization.SerializationMap.getMap().classNameMap[layer.getClassName()];
  if (!entry)
    invalid(
      `cloneLayer: layer '${layer.name}'`,
      'className',
      layer.getClassName(),
      'a layer class registered for serialization (tf.serialization.registerClass)',
    );
  const [cls, fromConfig] = entry;
  return fromConfig(
    cls as unknown as tf.serialization.SerializableConstructor<tf.serialization.Serializable>,
    layer.getConfig(),
  ) as unknown as Layer;
}

/** Clone applied to the new inputs, then given the old layer's weights. */
function cloneWithWeights(layer: Layer, copyWeights: boolean) {
  const fresh = cloneLayer(layer);
  let done = false;
  return (xs: SymbolicTensor[], callArgs?: Record<string, unknown>) => {
    const y = fresh.apply(xs.length === 1 ? xs[0] : xs, callArgs) as SymbolicTensor | SymbolicTensor[];
    if (copyWeights && !done) {
      // getWeights() returns the variables themselves: never dispose them.
      try {
        fresh.setWeights(layer.getWeights());
      } catch (e) {
        throw new GMRValueError(
          `layer '${layer.name}' cannot keep its weights in the rebuilt model (${(e as Error).message}): its input shape changed, ` +
            `e.g. a strided 'valid' conv became AvgPool + stride-1 conv, which gives another output size (as in the reference); ` +
            `use padding 'same' upstream or copyWeights: false`,
        );
      }
      done = true;
    }
    return y;
  };
}

function isInputLayer(layer: Layer): boolean {
  return layer.getClassName() === 'InputLayer';
}

/** Rebuilds the graph of `model`, asking `replace` for each layer (null: clone it). */
export function rebuildModel(
  model: tfl.LayersModel,
  replace: Replace,
  options: { copyWeights?: boolean; name?: string } = {},
): tfl.LayersModel {
  const copyWeights = options.copyWeights ?? true;
  const map = new Map<number, SymbolicTensor>();
  const inputs = model.inputs.map((t, i) => {
    const inp = tfl.input({
      shape: t.shape.slice(1) as (number | null)[],
      dtype: t.dtype,
      name: model.inputLayers?.[i]?.name ?? `input_${i}`,
    });
    map.set(t.id, inp);
    return inp;
  });
  const fns = new Map<
    Layer,
    (xs: SymbolicTensor[], callArgs?: Record<string, unknown>) => SymbolicTensor | SymbolicTensor[]
  >();
  const fnFor = (layer: Layer) => {
    let f = fns.get(layer);
    if (!f) {
      if (layer instanceof tfl.LayersModel) {
        const inner = rebuildModel(layer, replace, { copyWeights, name: layer.name });
        f = (xs) => inner.apply(xs.length === 1 ? xs[0] : xs) as SymbolicTensor;
      } else {
        f = replace(layer) ?? cloneWithWeights(layer, copyWeights);
      }
      fns.set(layer, f);
    }
    return f;
  };
  const pending: { layer: Layer; node: Node }[] = [];
  for (const layer of model.layers) {
    if (isInputLayer(layer)) continue;
    for (const node of (layer as unknown as { inboundNodes: Node[] }).inboundNodes) pending.push({ layer, node });
  }
  let progress = true;
  const done = new Set<Node>();
  while (progress) {
    progress = false;
    for (const { layer, node } of pending) {
      if (done.has(node) || !node.inputTensors.every((t) => map.has(t.id))) continue;
      const ys = fnFor(layer)(
        node.inputTensors.map((t) => map.get(t.id)!),
        node.callArgs,
      );
      const list = Array.isArray(ys) ? ys : [ys];
      node.outputTensors.forEach((t, i) => map.set(t.id, list[i]));
      done.add(node);
      progress = true;
    }
  }
  const outputs = model.outputs.map((t) => {
    const y = map.get(t.id);
    if (!y)
      throw new GMRValueError(
        `rebuildModel: output '${t.name}' of model '${model.name}' could not be rebuilt (is the graph connected to its inputs?)`,
      );
    return y;
  });
  return tfl.model({ inputs, outputs, name: options.name ?? model.name });
}

export interface ConvertToGMROptions extends GMROptions {
  /** Rings of every GMR conv (default: automatic, k//2 + 1). */
  numRings?: number | null;
  /** θ init: 'reference' (the GMR layer default, U(±1/√(Cin·k²)), as the reference's converter) or 'kaimingNormalFanOut'. */
  initScheme?: InitScheme;
  /** Which Conv2Ds to convert (default: every one with a kernel > 1 on some axis). */
  filter?: (layer: Layer) => boolean;
  /** Copy the weights of the layers that stay (default true) and the conv biases into the GMR biases. */
  copyWeights?: boolean;
  /** Name of the new model (default: the old one's). */
  name?: string;
}

const GMR_KEYS: (keyof GMROptions)[] = [
  'forceCircular',
  'gaussianMixtureRing',
  'trainGaussianSigma',
  'sigmaScale',
  'clipSigma',
  'sigmaMin',
  'sigmaMax',
  'trainIndexMat',
  'path',
  'twoStageBasis',
  'inferenceCache',
  'paddingMode',
];

/**
 * A new model in which every Conv2D with kernel > 1 is a GMRConv2D (stride 1, same
 * padding, dilation, bias, activation, regularizers and constraints); a strided one becomes
 * AvgPool2D(strides) → stride-1 GMR conv. θ is freshly initialised (a dense kernel has no
 * exact ring form); the conv bias is kept.
 */
export function convertToGMR(model: tfl.LayersModel, options: ConvertToGMROptions = {}): tfl.LayersModel {
  const where = 'convertToGMR';
  const copyWeights = options.copyWeights ?? true;
  const gmr: Partial<GMRConvLayerArgs> = {};
  for (const k of GMR_KEYS) if (options[k] !== undefined) (gmr as Record<string, unknown>)[k] = options[k];
  if (options.numRings !== undefined) gmr.numRings = options.numRings;
  gmr.initScheme = options.initScheme ?? 'reference';
  const wanted = options.filter ?? ((l: Layer) => (l.getConfig().kernelSize as number[]).some((k) => k > 1));
  const replace: Replace = (layer) => {
    if (layer.getClassName() !== 'Conv2D' || !wanted(layer)) return null;
    const c = layer.getConfig() as Record<string, unknown>;
    const strides = c.strides as number[];
    const strided = strides.some((s) => s > 1);
    const dataFormat = (c.dataFormat as 'channelsLast' | 'channelsFirst') ?? 'channelsLast';
    const padding = c.padding as 'same' | 'valid' | 'causal';
    if (padding === 'causal')
      invalid(
        `${where}: layer '${layer.name}'`,
        'padding',
        padding,
        "'same' or 'valid' (a 2D GMR conv takes no 'causal')",
      );
    const gmrLayer = new GMRConv2D({
      ...gmr,
      name: strided ? `${layer.name}.1` : layer.name,
      filters: c.filters as number,
      kernelSize: c.kernelSize as number[],
      strides: 1,
      padding,
      dilationRate: c.dilationRate as number[],
      dataFormat,
      useBias: c.useBias as boolean,
      activation: c.activation as string,
      biasInitializer: (c.biasInitializer as tf.serialization.ConfigDict) ?? undefined,
      kernelRegularizer: (c.kernelRegularizer as tf.serialization.ConfigDict) ?? undefined,
      biasRegularizer: (c.biasRegularizer as tf.serialization.ConfigDict) ?? undefined,
      activityRegularizer: (c.activityRegularizer as tf.serialization.ConfigDict) ?? undefined,
      kernelConstraint: (c.kernelConstraint as tf.serialization.ConfigDict) ?? undefined,
      biasConstraint: (c.biasConstraint as tf.serialization.ConfigDict) ?? undefined,
      trainable: layer.trainable,
    } as GMRConvLayerArgs);
    const pool = strided
      ? tfl.layers.averagePooling2d({
          name: `${layer.name}.0`,
          poolSize: strides as [number, number],
          strides: strides as [number, number],
          padding: padding === 'same' ? 'same' : 'valid',
          dataFormat,
        })
      : null;
    return (xs) => {
      const x = pool ? (pool.apply(xs[0]) as SymbolicTensor) : xs[0];
      const y = gmrLayer.apply(x) as SymbolicTensor;
      if (copyWeights && (c.useBias as boolean)) {
        const bias = layer.getWeights()[1];
        const w = gmrLayer.getWeights();
        const idx = (gmrLayer.weights as unknown as { originalName?: string; name: string }[]).findIndex((v) =>
          (v.originalName ?? v.name).endsWith('/bias'),
        );
        if (idx >= 0 && bias) {
          w[idx] = bias;
          gmrLayer.setWeights(w);
        }
      }
      return y;
    };
  };
  return rebuildModel(model, replace, { copyWeights, name: options.name });
}

/**
 * A new model in which every GMRConv2D is a plain Conv2D holding its synthesised kernel
 * (θ · smoothed ring basis), with the same outputs to float rounding. PyTorch-style numeric
 * padding becomes ZeroPadding2D → 'valid' conv. Grouped, transposed, harmonic and non-zero-padded GMR
 * convs have no tfjs Conv2D equivalent and are reported as errors; GMRConv1D/3D are kept as they are.
 */
export function exportToPlainConv(model: tfl.LayersModel, options: { name?: string } = {}): tfl.LayersModel {
  const where = 'exportToPlainConv';
  const replace: Replace = (layer) => {
    if (!(layer instanceof GMRConvBase)) return null;
    if (layer instanceof GMRHarmonicConv2D)
      invalid(
        `${where}: layer '${layer.name}'`,
        'className',
        layer.getClassName(),
        'GMRConv2D (a GMRHarmonicConv2D is the magnitude of two convolutions: it has no plain Conv2D equivalent)',
      );
    if (layer.transposed)
      invalid(
        `${where}: layer '${layer.name}'`,
        'className',
        layer.getClassName(),
        'GMRConv2D (a transposed GMR conv is not exported)',
      );
    if (layer.rank !== 2) return null;
    if (layer.groups !== 1)
      invalid(`${where}: layer '${layer.name}'`, 'groups', layer.groups, '1 (tfjs Conv2D has no groups)');
    if (layer.paddingMode !== 'zeros')
      invalid(
        `${where}: layer '${layer.name}'`,
        'paddingMode',
        layer.paddingMode,
        "'zeros' (the only padding mode with a plain equivalent)",
      );
    const cfg = layer.getConfig() as Record<string, unknown>;
    let padding: 'same' | 'valid' = 'valid';
    let pad: [[number, number], [number, number]] | null = null;
    const p = layer.padding;
    if (p === 'same' || p === 'valid') padding = p;
    else {
      const pairs = [0, 1].map((i) => {
        if (typeof p === 'number') return [p, p] as [number, number];
        const e = (p as (number | [number, number])[])[i];
        return (typeof e === 'number' ? [e, e] : [e[0], e[1]]) as [number, number];
      }) as [[number, number], [number, number]];
      if (pairs.some(([a, b]) => a > 0 || b > 0)) pad = pairs;
    }
    const conv = tfl.layers.conv2d({
      name: layer.name,
      filters: layer.filters,
      kernelSize: layer.kernelSize,
      strides: layer.strides,
      padding,
      dilationRate: layer.dilationRate as [number, number],
      dataFormat: layer.dataFormat,
      useBias: layer.useBias,
      activation: (typeof cfg.activation === 'string' ? cfg.activation : 'linear') as 'linear',
    });
    const zp = pad
      ? tfl.layers.zeroPadding2d({ name: `${layer.name}_pad`, padding: pad, dataFormat: layer.dataFormat })
      : null;
    return (xs) => {
      const x = zp ? (zp.apply(xs[0]) as SymbolicTensor) : xs[0];
      const y = conv.apply(x) as SymbolicTensor;
      const kernel = layer.synthesizedKernel();
      const bias = layer.useBias
        ? layer
            .getWeights()
            .filter((_, i) =>
              (layer.weights[i] as unknown as { originalName?: string; name: string }).name.endsWith('bias'),
            )
        : [];
      conv.setWeights([kernel, ...bias]);
      kernel.dispose();
      return y;
    };
  };
  return rebuildModel(model, replace, { copyWeights: true, name: options.name });
}
