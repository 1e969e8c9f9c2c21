/**
 * NativeOptimizerUpdate: one optimiser step over every variable of a model in one native call (native/
 * optimizer_update.cc): SGD with momentum (PyTorch's form, optional Nesterov), Adam or AdamW, weight decay on the
 * variables the `decay` mask names, and global-norm clipping of the gradients. The tfjs-op form of the same step is
 * about 14 small kernels per variable, each with its own tensor bookkeeping; for the CLI's networks those cost more
 * than the convolutions (issue 17). Only 'native' and 'cuda' register it: a caller asks the kernel registry
 * (tf.getKernel(NativeOptimizerUpdate, tf.getBackend())) and takes the tfjs-op path where it is absent.
 *
 * Inputs, an array: per variable its value w, its gradient g, then its optimiser state (SGD: the momentum buffer
 * when momentum > 0; Adam/AdamW: the first and second moments), variable after variable.
 * Outputs: per variable the new w, then the new state, in the same order; last, the global gradient norm
 * (a float32 scalar, before clipping). Nothing is written in place: new tensors, as tfjs kernels must make.
 * Every number is the float32 result of the tfjs-op path's operations in its order (see the .cc file).
 */
import type * as tf from '@tensorflow/tfjs-core';
import { invalid } from '@gmr-conv/core';
import { count } from '../counters.js';
import { NativeOptimizerUpdate, type NativeOptimizerUpdateAttrs } from '../kernel_names.js';
import { nativeKernel, type NativeKernelArgs } from './native_util.js';

const WHERE = 'NativeOptimizerUpdate';
const KINDS = { sgd: 0, adam: 1, adamw: 2 } as const;

/** How many state tensors each variable has. */
export function optimizerSlots(a: Pick<NativeOptimizerUpdateAttrs, 'optimizer' | 'momentum'>): number {
  return a.optimizer === 'sgd' ? (a.momentum > 0 ? 1 : 0) : 2;
}

function optimizerUpdate({
  inputs: named,
  backend,
  attrs: a,
}: NativeKernelArgs<tf.NamedTensorInfoMap, NativeOptimizerUpdateAttrs>): tf.TensorInfo[] {
  // An array of tensors, as tfjs passes AddN's.
  const inputs = Object.values(named) as tf.TensorInfo[];
  if (!(a.optimizer in KINDS)) invalid(WHERE, 'optimizer', a.optimizer, "'sgd', 'adam' or 'adamw'");
  const decay = a.decay;
  if (!Array.isArray(decay)) invalid(WHERE, 'decay', decay, 'an array of booleans, one per variable');
  const slots = optimizerSlots(a);
  const per = 2 + slots;
  if (inputs.length !== decay.length * per) {
    invalid(
      WHERE,
      'inputs',
      `${inputs.length} tensors`,
      `${decay.length * per} tensors (${decay.length} variables × value, gradient and ${slots} state)`,
    );
  }
  for (let i = 0; i < inputs.length; i++) {
    const t = inputs[i]!,
      w = inputs[i - (i % per)]!;
    if (t.dtype !== 'float32') invalid(WHERE, `inputs[${i}].dtype`, t.dtype, "'float32'");
    if (t.shape.length !== w.shape.length || t.shape.some((d, k) => d !== w.shape[k])) {
      invalid(
        WHERE,
        `inputs[${i}].shape`,
        t.shape,
        `the shape of its variable (inputs[${i - (i % per)}]), [${w.shape.join(', ')}]`,
      );
    }
  }
  count(NativeOptimizerUpdate);
  // The constants as the tfjs-op path computes them: in double, before they become float32 scalars.
  const t = a.step;
  const params = Float64Array.from([
    KINDS[a.optimizer],
    a.lr,
    a.momentum,
    a.nesterov ? 1 : 0,
    a.weightDecay,
    a.beta1,
    1 - a.beta1,
    a.beta2,
    1 - a.beta2,
    1 - a.beta1 ** t,
    1 - a.beta2 ** t,
    a.eps,
    a.lr * a.weightDecay,
    a.clipNorm,
  ]);
  const ins: Float32Array[] = inputs.map((x) => backend.f32(x));
  const outs: Float32Array[] = [];
  const shapes: number[][] = [];
  for (let v = 0; v < decay.length; v++) {
    const w = inputs[v * per]!;
    const n = ins[v * per]!.length;
    for (let k = 0; k <= slots; k++) {
      outs.push(backend.allocFloat32(n));
      shapes.push(w.shape);
    }
  }
  const norm = backend.allocFloat32(1);
  try {
    backend.addon.optimizerUpdate(
      params,
      Uint8Array.from(decay, (d) => (d ? 1 : 0)),
      ins,
      outs,
      norm,
    );
  } catch (e) {
    for (const o of outs) backend.freeScratch(o);
    backend.freeScratch(norm);
    throw e;
  }
  return [...outs.map((o, i) => backend.makeNativeOutput(o, shapes[i]!)), backend.makeNativeOutput(norm, [])];
}

export const nativeOptimizerUpdateConfig = nativeKernel(NativeOptimizerUpdate, optimizerUpdate);
