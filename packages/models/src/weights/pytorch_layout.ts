/**
 * Where each PyTorch state-dict entry of a model lives on our side: the one map
 * that both import (pytorch_import.ts) and export (pytorch_export.ts) read, so
 * the two directions cannot drift apart.
 *
 * | layer (ours)               | PyTorch keys (module prefix + …)                                  | our variables        |
 * |----------------------------|-------------------------------------------------------------------|----------------------|
 * | GMR conv 1D/2D/3D/2DT      | weight θ [O, I/g, n] (transposed: [I, O/g, n]), bias [O], log_sigmas [n]; buffers mus int64 [n], default_weight_index_mat and weight_index_mat [1, 1, n, taps] | kernel, bias, log_sigmas (index_mat when trained) |
 * | Conv1D/2D/3D               | weight [O, I, …k], bias                                           | kernel [...k, I, O]  |
 * | Conv2DTranspose/3D         | weight [I, O, …k], bias                                           | kernel [...k, O, I]  |
 * | Dense on a 2D input        | nn.Linear weight [O, I], bias                                     | kernel [I, O]        |
 * | Dense on a 4D/5D input     | 1×1 nn.Conv2d/3d weight [O, I, 1, 1(, 1)], bias                   | kernel [I, O]        |
 * | BatchNormalization (2D/3D) | weight, bias, running_mean, running_var; buffer num_batches_tracked int64 [] | gamma, beta, moving_mean, moving_variance |
 * | InstanceNormalization      | weight, bias (affine, no running statistics)                      | gamma, beta          |
 *
 * Key prefixes are our layer names (each builder names its layers after the PyTorch modules), except for the
 * GMR-CNN and its plain twin, whose PyTorch form is an `nn.Sequential` (see SEQUENTIAL_CNN below).
 */
import type * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { GMRConvBase, GMRValueError, invalid } from '@gmr-conv/core';
import type { StateTensor } from './state_dict.js';

export type Var = {
  read(): tf.Tensor;
  write(v: tf.Tensor): unknown;
  shape: number[];
  originalName?: string;
  name: string;
};

/** A state-dict entry backed by one of our variables. */
export interface ParamSlot {
  key: string;
  layer: string;
  variable: Var;
  /** The shape PyTorch keeps. */
  torchShape: number[];
  /** The PyTorch-ordered shape before `perm` (torchShape without the 1×1 axes of a pointwise conv). */
  permInShape: number[];
  /** Axis permutation from the PyTorch layout (permInShape) to ours; null: same layout. */
  perm: number[] | null;
}

/** A buffer PyTorch keeps that has no variable here: written on export, read back only as metadata. */
export interface BufferSlot {
  key: string;
  layer: string;
  kind: 'mus' | 'num_batches_tracked';
  /** The value PyTorch would hold (num_batches_tracked: 0 unless the model's metadata remembers one). */
  value: StateTensor;
}

/** A GMR layer's ring masks (`default_weight_index_mat`, and `weight_index_mat` unless it trains them). */
export interface MaskSlot {
  key: string;
  layer: GMRConvBase;
}

/** 'modules': keys start with our layer names; 'sequential': the CNNs as nn.Sequential; 'auto': sequential for the CNNs. */
export type PyTorchLayout = 'auto' | 'modules' | 'sequential';

export interface Slots {
  layout: 'modules' | 'sequential';
  params: ParamSlot[];
  buffers: BufferSlot[];
  masks: MaskSlot[];
}

/**
 * The GMR-CNN / plain CNN (cnn.ts) in PyTorch, as documented in the models README:
 * nn.Sequential(conv, BN, ReLU, AvgPool2d(2), conv, BN, ReLU, AvgPool2d(2), conv, BN, ReLU,
 * AdaptiveAvgPool2d(1), Flatten(), Linear) — our layer name → its index there.
 */
export const SEQUENTIAL_CNN: Readonly<Record<string, string>> = {
  conv1: '0',
  bn1: '1',
  conv2: '4',
  bn2: '5',
  conv3: '8',
  bn3: '9',
  fc: '13',
};
const SEQUENTIAL_SHAPE = [
  'conv1',
  'bn1',
  'relu1',
  'pool1',
  'conv2',
  'bn2',
  'relu2',
  'pool2',
  'conv3',
  'bn3',
  'relu3',
  'avgpool',
  'fc',
];

/** Whether the model is cnn.ts's GMR-CNN / plain CNN with global average pooling (the form nn.Sequential can hold). */
export function isSequentialCNN(model: tfl.LayersModel): boolean {
  const names = model.layers
    .filter((l) => l.getClassName() !== 'InputLayer' && l.getClassName() !== 'ZeroPadding2D')
    .map((l) => l.name);
  return names.length === SEQUENTIAL_SHAPE.length && names.every((n, i) => n === SEQUENTIAL_SHAPE[i]);
}

/** Metadata key under which import keeps PyTorch values we have no variable for (num_batches_tracked). */
export const PYTORCH_METADATA_KEY = 'pytorch';
export interface PyTorchMetadata {
  numBatchesTracked?: Record<string, number>;
}

export function pytorchMetadata(model: tfl.LayersModel): PyTorchMetadata {
  const meta = model.getUserDefinedMetadata() as Record<string, unknown> | undefined;
  const p = meta?.[PYTORCH_METADATA_KEY];
  return p && typeof p === 'object' ? (p as PyTorchMetadata) : {};
}

export function weightByName(layer: tfl.layers.Layer, short: string): Var | undefined {
  return (layer.weights as unknown as Var[]).find((w) => (w.originalName ?? w.name).split('/').pop() === short);
}

/** Rank of the tensor a layer is applied to (Dense on [N, H, W, C] is a 1×1 conv). */
function inputRank(layer: tfl.layers.Layer): number {
  try {
    return (layer.input as tfl.SymbolicTensor).shape.length;
  } catch {
    return 2; // applied more than once or not at all: treat as nn.Linear
  }
}

/** The state-dict entries of `model` under `layout`. Throws for a layer with weights and no PyTorch counterpart. */
export function pytorchSlots(model: tfl.LayersModel, layout: PyTorchLayout = 'auto'): Slots {
  const seqOK = isSequentialCNN(model);
  if (layout === 'sequential' && !seqOK) {
    invalid(
      `pytorchSlots(${model.name})`,
      'layout',
      layout,
      "'auto' or 'modules' for this model ('sequential' is the GMR-CNN / plain CNN with average pooling and no harmonic channels)",
    );
  }
  const resolved = layout === 'auto' ? (seqOK ? 'sequential' : 'modules') : layout;
  const prefix = (name: string) => (resolved === 'sequential' ? (SEQUENTIAL_CNN[name] ?? name) : name);
  const nbt = pytorchMetadata(model).numBatchesTracked ?? {};
  const params: ParamSlot[] = [];
  const buffers: BufferSlot[] = [];
  const masks: MaskSlot[] = [];
  const add = (
    layer: tfl.layers.Layer,
    torchName: string,
    short: string,
    perm: number[] | null,
    torchShape?: number[],
  ) => {
    const v = weightByName(layer, short);
    if (!v) return;
    const permInShape = perm ? perm.map((_, i) => v.shape[perm.indexOf(i)]) : [...v.shape];
    params.push({
      key: `${prefix(layer.name)}.${torchName}`,
      layer: layer.name,
      variable: v,
      torchShape: torchShape ?? permInShape,
      permInShape,
      perm,
    });
  };
  for (const layer of model.layers) {
    if (layer.weights.length === 0) continue;
    const cls = layer.getClassName();
    const p = prefix(layer.name);
    if (layer instanceof GMRConvBase) {
      if (cls === 'GMRHarmonicConv2D')
        throw new GMRValueError(
          `layer '${layer.name}' (GMRHarmonicConv2D) has no counterpart in the official PyTorch code; build the model without harmonic channels to exchange weights`,
        );
      add(layer, 'weight', 'kernel', null);
      add(layer, 'bias', 'bias', null);
      if (layer.gaussianMixtureRing) {
        add(layer, 'log_sigmas', 'log_sigmas', null);
        const n = layer.numRings;
        buffers.push({
          key: `${p}.mus`,
          layer: layer.name,
          kind: 'mus',
          value: { shape: [n], dtype: 'int64', data: Array.from({ length: n }, (_, i) => i) },
        });
      }
      if (layer.trainIndexMat) {
        const v = weightByName(layer, 'index_mat')!;
        params.push({
          key: `${p}.weight_index_mat`,
          layer: layer.name,
          variable: v,
          torchShape: [1, 1, ...v.shape],
          permInShape: [...v.shape],
          perm: null,
        });
      }
      masks.push({ key: `${p}.default_weight_index_mat`, layer });
      if (!layer.trainIndexMat) masks.push({ key: `${p}.weight_index_mat`, layer });
    } else if (
      cls === 'Conv1D' ||
      cls === 'Conv2D' ||
      cls === 'Conv3D' ||
      cls === 'Conv2DTranspose' ||
      cls === 'Conv3DTranspose'
    ) {
      const rank = weightByName(layer, 'kernel')!.shape.length;
      // ours [...k, I, O] = torch [O, I, ...k] permuted by [2, …, rank-1, 1, 0]; transposed: [...k, O, I] and [I, O, ...k], same permutation
      add(layer, 'weight', 'kernel', [...Array.from({ length: rank - 2 }, (_, i) => i + 2), 1, 0]);
      add(layer, 'bias', 'bias', null);
    } else if (cls === 'Dense') {
      const v = weightByName(layer, 'kernel')!;
      const r = inputRank(layer);
      add(layer, 'weight', 'kernel', [1, 0], r > 2 ? [v.shape[1], v.shape[0], ...Array(r - 2).fill(1)] : undefined);
      add(layer, 'bias', 'bias', null);
    } else if (cls === 'BatchNormalization' || cls === 'GMRModelsBatchNormalization5D') {
      add(layer, 'weight', 'gamma', null);
      add(layer, 'bias', 'beta', null);
      add(layer, 'running_mean', 'moving_mean', null);
      add(layer, 'running_var', 'moving_variance', null);
      const key = `${p}.num_batches_tracked`;
      buffers.push({
        key,
        layer: layer.name,
        kind: 'num_batches_tracked',
        value: { shape: [], dtype: 'int64', data: [nbt[key] ?? 0] },
      });
    } else if (cls === 'GMRModelsInstanceNormalization') {
      add(layer, 'weight', 'gamma', null);
      add(layer, 'bias', 'beta', null);
    } else {
      throw new GMRValueError(
        `layer '${layer.name}' (${cls}) has weights but no PyTorch mapping; supported: GMR convs, Conv1D/2D/3D(Transpose), Dense, BatchNormalization, InstanceNormalization`,
      );
    }
  }
  return { layout: resolved, params, buffers, masks };
}
