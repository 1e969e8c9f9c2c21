/**
 * Our model's weights as the state dict the official PyTorch module holds, so that
 * `model.load_state_dict(sd)` (strict, as users load) takes it: parameters in PyTorch layouts, and the
 * buffers PyTorch registers with their dtypes and shapes — `mus` int64 [n], the ring masks [1, 1, n, taps],
 * BatchNorm's `num_batches_tracked` int64 [] — see pytorch_layout.ts for the table.
 */
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import type { StateDict } from './state_dict.js';
import { pytorchSlots, type PyTorchLayout } from './pytorch_layout.js';

export interface ExportOptions {
  /** Key layout (default 'auto': the GMR-CNN / plain CNN as nn.Sequential, every other model by module names). */
  layout?: PyTorchLayout;
}

/** The model's weights as a PyTorch state dict (float32 parameters, PyTorch names, layouts and buffers). */
export function exportPyTorchStateDict(model: tfl.LayersModel, options: ExportOptions = {}): StateDict {
  const { params, buffers, masks } = pytorchSlots(model, options.layout ?? 'auto');
  const sd: StateDict = new Map();
  for (const slot of params) {
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
    sd.set(m.key, {
      shape: [1, 1, n, m.layer.geometry.masks.length / n],
      dtype: 'float32',
      data: Float32Array.from(m.layer.geometry.masks),
    });
  }
  for (const b of buffers)
    sd.set(b.key, { ...b.value, shape: [...b.value.shape], data: [...(b.value.data as number[])] });
  return sd;
}
