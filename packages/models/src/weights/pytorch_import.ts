/**
 * PyTorch weights into our models, by key (see pytorch_layout.ts for which key fills which variable).
 *
 * Accepts what PyTorch users save: a model's own `state_dict()`, or one flattened out of a checkpoint
 * (`state_dict.` / `model.` prefixes) or out of a DDP- or torch.compile-wrapped model (`module.` / `_orig_mod.`);
 * those wrapper prefixes are stripped when every key carries them. Buffers we have no variable for are
 * checked (ring masks) or set aside (`mus`, `num_batches_tracked`: the latter kept in the model's metadata so
 * export writes it back). Anything missing, unexpected, mis-shaped or of the wrong dtype is reported together,
 * and nothing is written unless all is well.
 */
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { GMRConvBase, GMRValueError, invalid } from '@gmr-conv/core';
import type { StateDict, StateTensor } from './state_dict.js';
import {
  PYTORCH_METADATA_KEY,
  isSequentialCNN,
  pytorchMetadata,
  pytorchSlots,
  type ParamSlot,
  type PyTorchLayout,
  type Slots,
} from './pytorch_layout.js';

/** Prefixes that wrappers add to every key: DDP / DataParallel, torch.compile, and flattened checkpoints. */
export const WRAPPER_PREFIXES = ['module.', '_orig_mod.', 'state_dict.', 'model.'] as const;

export interface LoadOptions {
  /**
   * As PyTorch's `load_state_dict(strict=)`: true (default) refuses a state dict with missing or unexpected keys;
   * false loads what fits and lists the rest in the report. Shape and dtype mismatches are refused either way.
   */
  strict?: boolean;
  /** Compare the state dict's ring masks with ours (default true). */
  checkMasks?: boolean;
  /** Key layout (default 'auto': the GMR-CNN / plain CNN as nn.Sequential, every other model by module names). */
  layout?: PyTorchLayout;
}

export interface LoadReport {
  /** The key layout that was read. */
  layout: 'modules' | 'sequential';
  /** Wrapper prefixes stripped from every key, outermost first. */
  stripped: string[];
  loaded: string[];
  /** Buffers with no variable here (mus, num_batches_tracked). */
  ignored: string[];
  masksChecked: string[];
  /** Keys the model needs that the state dict lacks (only with strict: false; strict throws). */
  missing: string[];
  /** Keys of the state dict that no layer takes (only with strict: false; strict throws). */
  unexpected: string[];
}

const fmt = (s: number[]) => `[${s.join(', ')}]`;
const sameShape = (a: number[], b: number[]) => a.length === b.length && a.every((d, i) => d === b[i]);
/** A shape without the trailing 1s past the second axis: [O, I, 1, 1] and [O, I] name the same pointwise weights. */
const squeezed = (s: number[]) => {
  let n = s.length;
  while (n > 2 && s[n - 1] === 1) n--;
  return s.slice(0, n);
};

/** Strips wrapper prefixes shared by every key, as long as none of the model's own keys starts with them. */
export function stripWrapperPrefixes(sd: StateDict, expected: Set<string>): { sd: StateDict; stripped: string[] } {
  const stripped: string[] = [];
  let cur = sd;
  for (;;) {
    const keys = [...cur.keys()];
    const p = WRAPPER_PREFIXES.find(
      (w) => keys.length > 0 && keys.every((k) => k.startsWith(w)) && ![...expected].some((k) => k.startsWith(w)),
    );
    if (!p) return { sd: cur, stripped };
    stripped.push(p);
    cur = new Map(keys.map((k) => [k.slice(p.length), cur.get(k)!]));
  }
}

function allKeys(s: Slots): Set<string> {
  return new Set([...s.params.map((p) => p.key), ...s.buffers.map((b) => b.key), ...s.masks.map((m) => m.key)]);
}

/** For 'auto' on a CNN: the layout (sequential indices or our layer names) that more of the state dict's keys fit. */
function chooseSlots(model: tfl.LayersModel, sd: StateDict, layout: PyTorchLayout): Slots {
  const first = pytorchSlots(model, layout);
  if (layout !== 'auto' || !isSequentialCNN(model)) return first;
  const other = pytorchSlots(model, 'modules');
  const score = (s: Slots) => {
    const keys = allKeys(s);
    const { sd: bare } = stripWrapperPrefixes(sd, keys);
    return [...bare.keys()].filter((k) => keys.has(k)).length;
  };
  return score(other) > score(first) ? other : first;
}

function checkMask(key: string, layer: GMRConvBase, t: StateTensor): string | null {
  const ours = layer.geometry.masks;
  const n = layer.numRings;
  const taps = ours.length / n;
  const inner = t.shape.filter((d, i) => !(d === 1 && i < t.shape.length - 2));
  if (!sameShape(inner, [n, taps]))
    return `ring masks '${key}' have shape ${fmt(t.shape)}, layer '${layer.name}' has [${n}, ${taps}] (numRings ${n}, kernel ${fmt(layer.kernelSize)})`;
  let worst = 0;
  for (let i = 0; i < ours.length; i++) worst = Math.max(worst, Math.abs(ours[i] - t.data[i]));
  if (worst > 1e-6)
    return `ring masks '${key}' differ from layer '${layer.name}' (max |Δ| ${worst}): build the layer with the reference's numRings / forceCircular`;
  return null;
}

/**
 * Loads a PyTorch state dict (see readSafetensors, stateDictFromJSON) into a model built by this package (or
 * any model whose layers carry PyTorch module names). Values are rounded to float32.
 */
export function loadPyTorchStateDict(
  model: tfl.LayersModel,
  stateDict: StateDict,
  options: LoadOptions = {},
): LoadReport {
  const strict = options.strict ?? true;
  const checkMasks = options.checkMasks ?? true;
  const layout = options.layout ?? 'auto';
  if (layout !== 'auto' && layout !== 'modules' && layout !== 'sequential') {
    invalid('loadPyTorchStateDict', 'layout', layout, "'auto', 'modules' or 'sequential'");
  }
  const slots = chooseSlots(model, stateDict, layout);
  const { sd, stripped } = stripWrapperPrefixes(stateDict, allKeys(slots));
  const problems: string[] = [];
  const used = new Set<string>();
  const missing: string[] = [];
  const plan: { slot: ParamSlot; t: StateTensor }[] = [];
  for (const slot of slots.params) {
    const t = sd.get(slot.key);
    if (!t) {
      missing.push(`${slot.key} ${fmt(slot.torchShape)}`);
      continue;
    }
    used.add(slot.key);
    if (t.dtype !== 'float32' && t.dtype !== 'float64') {
      problems.push(
        `dtype mismatch for '${slot.key}': state dict has ${t.dtype}, layer '${slot.layer}' needs float32 or float64`,
      );
      continue;
    }
    if (!sameShape(t.shape, slot.torchShape) && !sameShape(squeezed(t.shape), squeezed(slot.torchShape))) {
      problems.push(
        `shape mismatch for '${slot.key}': state dict has ${fmt(t.shape)}, layer '${slot.layer}' needs ${fmt(slot.torchShape)}`,
      );
      continue;
    }
    plan.push({ slot, t });
  }
  const masksChecked: string[] = [];
  for (const m of slots.masks) {
    const t = sd.get(m.key);
    if (!t) continue; // masks are buffers a state dict may leave out (we compute them)
    used.add(m.key);
    if (!checkMasks) continue;
    const problem = checkMask(m.key, m.layer, t);
    if (problem) problems.push(problem);
    else masksChecked.push(m.key);
  }
  const ignored: string[] = [];
  const numBatchesTracked: Record<string, number> = {};
  for (const b of slots.buffers) {
    const t = sd.get(b.key);
    if (!t) continue;
    used.add(b.key);
    ignored.push(b.key);
    if (b.kind === 'num_batches_tracked' && t.data.length === 1) numBatchesTracked[b.key] = Number(t.data[0]);
  }
  const unexpected = [...sd.keys()].filter((k) => !used.has(k));
  if (strict && missing.length) problems.push(`missing from the state dict (${missing.length}): ${missing.join(', ')}`);
  if (strict && unexpected.length) {
    problems.push(
      `in the state dict but not in model '${model.name}' (${unexpected.length}): ${unexpected.map((k) => `${k} ${fmt(sd.get(k)!.shape)}`).join(', ')}`,
    );
  }
  if (problems.length) {
    const how = stripped.length ? ` (keys read without the prefix ${stripped.join('')})` : '';
    throw new GMRValueError(
      `loadPyTorchStateDict(${model.name}, ${slots.layout} layout)${how}: ${problems.join('; ')}`,
    );
  }
  const tensors = plan.map(({ slot, t }) =>
    tf.tidy(() => {
      const x = tf.tensor(Float32Array.from(t.data as ArrayLike<number>), slot.permInShape, 'float32');
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
  if (Object.keys(numBatchesTracked).length) {
    const meta = (model.getUserDefinedMetadata() as Record<string, unknown> | undefined) ?? {};
    model.setUserDefinedMetadata({ ...meta, [PYTORCH_METADATA_KEY]: { ...pytorchMetadata(model), numBatchesTracked } });
  }
  return {
    layout: slots.layout,
    stripped,
    loaded: plan.map((p) => p.slot.key),
    ignored,
    masksChecked,
    missing,
    unexpected,
  };
}
