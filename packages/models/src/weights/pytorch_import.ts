/**
 * PyTorch weights into our models, by parameter name. Each of our layers is
 * named after the PyTorch module it stands for, so `layer2.0.conv1.1.weight`
 * belongs to the layer named `layer2.0.conv1.1`. Layouts:
 *
 * | layer             | PyTorch                         | tfjs                          |
 * |-------------------|---------------------------------|-------------------------------|
 * | GMR conv          | weight θ [O, I/g, n], log_sigmas [n], bias [O] | kernel, log_sigmas, bias (same layouts) |
 * | Conv1D/2D/3D      | weight [O, I, …k]               | kernel [...k, I, O]           |
 * | Dense             | weight [O, I] (or a 1×1 conv's [O, I, 1, 1]) | kernel [I, O]    |
 * | BatchNormalization| weight, bias, running_mean, running_var | gamma, beta, moving_mean, moving_variance |
 *
 * Ignored: `*.mus`, `*.num_batches_tracked`; GMR ring masks (`*.weight_index_mat`,
 * `*.default_weight_index_mat`) are checked against ours (or loaded when the
 * layer trains its masks). Anything missing, extra or of the wrong shape is
 * reported together in one error, and nothing is written unless all is well.
 */
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { GMRConvBase } from '@gmr-conv/core';
import type { StateDict, StateTensor } from './state_dict.js';

type Var = { read(): tf.Tensor; write(v: tf.Tensor): unknown; shape: number[]; originalName?: string; name: string };

interface Slot {
  key: string;
  layer: string;
  variable: Var;
  /** The PyTorch shape expected for this key. */
  torchShape: number[];
  /** Axis permutation from the PyTorch layout to ours (null: same layout). */
  perm: number[] | null;
}

interface MaskCheck {
  key: string;
  layer: GMRConvBase;
}

const IGNORED_SUFFIXES = ['.mus', '.num_batches_tracked'];
const MASK_SUFFIXES = ['.weight_index_mat', '.default_weight_index_mat'];

function weightByName(layer: tfl.layers.Layer, short: string): Var | undefined {
  return (layer.weights as unknown as Var[]).find((w) => (w.originalName ?? w.name).split('/').pop() === short);
}

function className(layer: tfl.layers.Layer): string {
  return layer.getClassName();
}

/** The PyTorch keys our model holds, with the variable each one fills. */
export function pytorchSlots(model: tfl.LayersModel): { slots: Slot[]; masks: MaskCheck[] } {
  const slots: Slot[] = [];
  const masks: MaskCheck[] = [];
  const add = (layer: tfl.layers.Layer, torchName: string, short: string, perm: number[] | null) => {
    const v = weightByName(layer, short);
    if (!v) return;
    const torchShape = perm ? perm.map((_, i) => v.shape[perm.indexOf(i)]) : [...v.shape];
    slots.push({ key: `${layer.name}.${torchName}`, layer: layer.name, variable: v, torchShape, perm });
  };
  for (const layer of model.layers) {
    if (layer.weights.length === 0) continue;
    const cls = className(layer);
    if (layer instanceof GMRConvBase) {
      add(layer, 'weight', 'kernel', null);
      add(layer, 'log_sigmas', 'log_sigmas', null);
      add(layer, 'bias', 'bias', null);
      if (layer.trainIndexMat) {
        const v = weightByName(layer, 'index_mat')!;
        slots.push({ key: `${layer.name}.weight_index_mat`, layer: layer.name, variable: v, torchShape: [1, 1, ...v.shape], perm: null });
      }
      masks.push({ key: `${layer.name}.default_weight_index_mat`, layer });
      if (!layer.trainIndexMat) masks.push({ key: `${layer.name}.weight_index_mat`, layer });
    } else if (cls === 'Conv1D' || cls === 'Conv2D' || cls === 'Conv3D') {
      const rank = weightByName(layer, 'kernel')!.shape.length;
      // ours [...k, I, O] = torch [O, I, ...k] permuted by [2, …, rank-1, 1, 0]
      const perm = [...Array.from({ length: rank - 2 }, (_, i) => i + 2), 1, 0];
      add(layer, 'weight', 'kernel', perm);
      add(layer, 'bias', 'bias', null);
    } else if (cls === 'Dense') {
      add(layer, 'weight', 'kernel', [1, 0]);
      add(layer, 'bias', 'bias', null);
    } else if (cls === 'BatchNormalization' || cls === 'GMRModelsBatchNormalization5D') {
      add(layer, 'weight', 'gamma', null);
      add(layer, 'bias', 'beta', null);
      add(layer, 'running_mean', 'moving_mean', null);
      add(layer, 'running_var', 'moving_variance', null);
    } else {
      throw new Error(`loadPyTorchStateDict: layer '${layer.name}' (${cls}) has weights but no PyTorch mapping; supported: GMR convs, Conv1D/2D/3D, Dense, BatchNormalization`);
    }
  }
  return { slots, masks };
}

const fmt = (s: number[]) => `[${s.join(', ')}]`;
const sameShape = (a: number[], b: number[]) => a.length === b.length && a.every((d, i) => d === b[i]);

/** A 1×1 conv weight [O, I, 1, …] where a Dense [O, I] is expected. */
function squeezable(got: number[], want: number[]): boolean {
  return want.length === 2 && got.length > 2 && got[0] === want[0] && got[1] === want[1] && got.slice(2).every((d) => d === 1);
}

export interface LoadOptions {
  /** Report keys of the state dict that no layer takes (default true). */
  strict?: boolean;
  /** Compare the state dict's ring masks with ours (default true). */
  checkMasks?: boolean;
}

export interface LoadReport {
  loaded: string[];
  ignored: string[];
  masksChecked: string[];
}

/**
 * Loads a PyTorch state dict (see stateDictFromJSON, readSafetensors) into a
 * model built by this package (or any model whose layers carry PyTorch module names).
 * Values are rounded to float32.
 */
export function loadPyTorchStateDict(model: tfl.LayersModel, sd: StateDict, options: LoadOptions = {}): LoadReport {
  const strict = options.strict ?? true;
  const checkMasks = options.checkMasks ?? true;
  const { slots, masks } = pytorchSlots(model);
  const problems: string[] = [];
  const used = new Set<string>();
  const missing: string[] = [];
  const plan: { slot: Slot; t: StateTensor }[] = [];
  for (const slot of slots) {
    const t = sd.get(slot.key);
    if (!t) {
      missing.push(`${slot.key} ${fmt(slot.torchShape)}`);
      continue;
    }
    used.add(slot.key);
    if (!sameShape(t.shape, slot.torchShape) && !squeezable(t.shape, slot.torchShape)) {
      problems.push(`shape mismatch for '${slot.key}': state dict has ${fmt(t.shape)}, layer '${slot.layer}' needs ${fmt(slot.torchShape)}`);
      continue;
    }
    plan.push({ slot, t });
  }
  const masksChecked: string[] = [];
  for (const m of masks) {
    const t = sd.get(m.key);
    if (!t) continue; // masks are buffers the state dict may leave out
    used.add(m.key);
    if (!checkMasks) continue;
    const ours = m.layer.geometry.masks;
    const n = m.layer.numRings;
    const taps = ours.length / n;
    const inner = t.shape.filter((d, i) => !(d === 1 && i < t.shape.length - 2));
    if (!sameShape(inner, [n, taps])) {
      problems.push(`ring masks '${m.key}' have shape ${fmt(t.shape)}, layer '${m.layer.name}' has [${n}, ${taps}] (numRings ${n}, kernel ${fmt(m.layer.kernelSize)})`);
      continue;
    }
    let worst = 0;
    for (let i = 0; i < ours.length; i++) worst = Math.max(worst, Math.abs(ours[i] - t.data[i]));
    if (worst > 1e-6) {
      problems.push(`ring masks '${m.key}' differ from layer '${m.layer.name}' (max |Δ| ${worst}): build the layer with the reference's numRings / forceCircular`);
    }
    masksChecked.push(m.key);
  }
  const ignored: string[] = [];
  const extra: string[] = [];
  for (const [key, t] of sd) {
    if (used.has(key)) continue;
    if (IGNORED_SUFFIXES.some((s) => key.endsWith(s)) || MASK_SUFFIXES.some((s) => key.endsWith(s))) {
      // masks of a layer we have were handled above; masks of unknown layers are extra
      const owner = key.slice(0, key.lastIndexOf('.'));
      if (model.layers.some((l) => l.name === owner) || IGNORED_SUFFIXES.some((s) => key.endsWith(s))) {
        ignored.push(key);
        continue;
      }
    }
    extra.push(`${key} ${fmt(t.shape)}`);
  }
  if (missing.length) problems.push(`missing from the state dict (${missing.length}): ${missing.join(', ')}`);
  if (strict && extra.length) problems.push(`in the state dict but not in model '${model.name}' (${extra.length}): ${extra.join(', ')}`);
  if (problems.length) throw new Error(`loadPyTorchStateDict(${model.name}): ${problems.join('; ')}`);
  const tensors = plan.map(({ slot, t }) =>
    tf.tidy(() => {
      const x = tf.tensor(Float32Array.from(t.data as ArrayLike<number>), squeezable(t.shape, slot.torchShape) ? slot.torchShape : t.shape, 'float32');
      return slot.perm ? tf.transpose(x, slot.perm) : x;
    }),
  );
  try {
    plan.forEach(({ slot }, i) => slot.variable.write(tensors[i]));
  } finally {
    tf.dispose(tensors);
  }
  // GMR layers cache their smoothed basis for inference; log_sigmas changed.
  for (const l of model.layers) if (l instanceof GMRConvBase) l.disposeCaches();
  return { loaded: plan.map((p) => p.slot.key), ignored, masksChecked };
}

/** The model's weights as a PyTorch state dict (float32, PyTorch names and layouts); ring masks included for GMR layers. */
export function exportPyTorchStateDict(model: tfl.LayersModel): StateDict {
  const { slots, masks } = pytorchSlots(model);
  const sd: StateDict = new Map();
  for (const slot of slots) {
    const data = tf.tidy(() => {
      const v = slot.variable.read();
      if (!slot.perm) return v.dataSync() as Float32Array;
      const inv = slot.perm.map((_, i) => slot.perm!.indexOf(i));
      return tf.transpose(v, inv).dataSync() as Float32Array;
    });
    sd.set(slot.key, { shape: slot.torchShape, dtype: 'float32', data: Float32Array.from(data) });
  }
  for (const m of masks) {
    const n = m.layer.numRings;
    sd.set(m.key, { shape: [1, 1, n, m.layer.geometry.masks.length / n], dtype: 'float32', data: Float32Array.from(m.layer.geometry.masks) });
  }
  return sd;
}
