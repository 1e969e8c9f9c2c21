/**
 * Kernel names owned by core, and the dispatch between a backend's own kernel
 * (registered by a kernel package) and core's composed implementation, which is
 * registered as the default for whichever backend runs the op first.
 *
 * Contract for kernel packages (forward ops, non-transposed):
 *   GMRConv{1D,2D,3D}, GMRConv2DTranspose: inputs {x, weight, logSigmas, indexMat, bias} (absent
 *     logSigmas / bias are empty tensors; attrs.hasLogSigmas / attrs.hasBias say so),
 *     attrs = GMRConvAttrs (attrs.ts), output y.
 *   Optional backward pieces for GMRConv{1D,2D,3D} (used when both are registered):
 *   <name>BackpropInput:  inputs {dy, weight, logSigmas?, indexMat} → dx (layout of x)
 *   <name>BackpropFilter: inputs {x, dy, indexMat} → dΦ [Cout, Cin/groups, n], the gradient of the
 *     mixing weights Φ = θ·P of the binary-ring form (ring sums with M, then mixing with Φ).
 *   Core turns dΦ into dθ and d(log σ) through P, and computes d(bias) itself.
 */
import * as tf from '@tensorflow/tfjs-core';
import { gaussianMatrix } from '../mixture/gaussian_mixture.js';
import type { GMRConvAttrs } from './attrs.js';
import { gmrConvComposed, GMRConvTensors } from './gmr_conv_composed.js';

export const GMR_CONV_1D = 'GMRConv1D';
export const GMR_CONV_2D = 'GMRConv2D';
export const GMR_CONV_3D = 'GMRConv3D';
export const GMR_CONV_2D_TRANSPOSE = 'GMRConv2DTranspose';
export const GMR_KERNEL_NAMES = [GMR_CONV_1D, GMR_CONV_2D, GMR_CONV_3D, GMR_CONV_2D_TRANSPOSE] as const;
export const backpropInputName = (name: string) => `${name}BackpropInput`;
export const backpropFilterName = (name: string) => `${name}BackpropFilter`;

const composedKernelFuncs = new Set<tf.KernelFunc>();

/** The five saved inputs of a kernel call (absent ones are empty placeholders) → tensors. */
function unpackSaved(saved: tf.Tensor[], a: GMRConvAttrs): GMRConvTensors {
  const [x, weight, logSigmas, indexMat, bias] = saved;
  return { x, weight, logSigmas: a.hasLogSigmas ? logSigmas : null, indexMat, bias: a.hasBias ? bias : null };
}

function unpack(inputs: tf.Tensor[], a: GMRConvAttrs): GMRConvTensors {
  let i = 0;
  const x = inputs[i++];
  const weight = inputs[i++];
  const logSigmas = a.hasLogSigmas ? inputs[i++] : null;
  const indexMat = inputs[i++];
  const bias = a.hasBias ? inputs[i++] : null;
  return { x, weight, logSigmas, indexMat, bias };
}

function pack(t: GMRConvTensors): tf.Tensor[] {
  return [t.x, t.weight, t.logSigmas, t.indexMat, t.bias].filter((v): v is tf.Tensor => v != null);
}

const placeholders = new Map<string, tf.Tensor>();
/** A kept empty tensor standing for an absent input (attrs.hasLogSigmas / hasBias say which). */
function emptyInput(): tf.Tensor {
  const key = tf.getBackend();
  let t = placeholders.get(key);
  if (!t || t.isDisposed) {
    t = tf.keep(tf.zeros([0]));
    placeholders.set(key, t);
  }
  return t;
}

/** Kernel inputs: always the five names, so the registered gradient can save them by name. */
function namedInputs(t: GMRConvTensors): tf.NamedTensorMap {
  return { x: t.x, weight: t.weight, logSigmas: t.logSigmas ?? emptyInput(), indexMat: t.indexMat, bias: t.bias ?? emptyInput() };
}

/** Mixing weights of the binary-ring form: Φ = θ·P (θ itself for binary rings). */
function mixingWeights(weight: tf.Tensor, logSigmas: tf.Tensor | null | undefined, a: GMRConvAttrs): tf.Tensor {
  if (!logSigmas) return weight;
  const [cout, cinG, n] = weight.shape;
  return tf.reshape(tf.matMul(tf.reshape(weight, [cout * cinG, n]), gaussianMatrix(logSigmas, a)), [cout, cinG, n]);
}

/** tf.grads inside a gradient function: the engine has one active tape, so keep the outer one alive. */
function nestedGrads(f: (...a: tf.Tensor[]) => tf.Tensor, xs: tf.Tensor[], dy: tf.Tensor): tf.Tensor[] {
  const state = (tf.engine() as unknown as { state: { gradientDepth: number; activeTape: unknown[] | null } }).state;
  if (state.gradientDepth === 0 && state.activeTape == null) return tf.grads(f)(xs, dy);
  state.gradientDepth++;
  try {
    return tf.grads(f)(xs, dy);
  } finally {
    state.gradientDepth--;
  }
}

function gradFuncFor(name: string): tf.GradFunc {
  return (dy, saved, attrs) => {
    const a = attrs as unknown as GMRConvAttrs;
    const t = unpackSaved(saved, a);
    const d = dy as tf.Tensor;
    const backendName = tf.getBackend();
    const bi = tf.getKernel(backpropInputName(name), backendName);
    const bf = tf.getKernel(backpropFilterName(name), backendName);
    let grads: tf.Tensor[];
    if (bi && bf && !a.transposed && !a.trainIndexMat) {
      const engine = tf.engine();
      const dxIn: tf.NamedTensorMap = { dy: d, weight: t.weight, indexMat: t.indexMat };
      if (t.logSigmas) dxIn.logSigmas = t.logSigmas;
      const dx = engine.runKernel(backpropInputName(name), dxIn, attrs as tf.NamedAttrMap) as tf.Tensor;
      const dPhi = engine.runKernel(backpropFilterName(name), { x: t.x, dy: d, indexMat: t.indexMat }, attrs as tf.NamedAttrMap) as tf.Tensor;
      const params = t.logSigmas ? [t.weight, t.logSigmas] : [t.weight];
      const pg = t.logSigmas ? nestedGrads((...p: tf.Tensor[]) => mixingWeights(p[0], p[1], a), params, dPhi) : [dPhi];
      grads = [dx, pg[0]];
      if (t.logSigmas) grads.push(pg[1]);
      grads.push(tf.zerosLike(t.indexMat));
      if (t.bias) {
        const channelAxis = a.dataFormat === 'channelsFirst' ? 1 : d.rank - 1;
        const axes = Array.from({ length: d.rank }, (_, i) => i).filter((i) => i !== channelAxis);
        grads.push(tf.sum(d, axes));
      }
    } else {
      grads = nestedGrads((...args: tf.Tensor[]) => gmrConvComposed(unpack(args, a), a), pack(t), d);
    }
    const out: Record<string, () => tf.Tensor> = {};
    let i = 0;
    out.x = () => grads[0];
    out.weight = () => grads[1];
    i = 2;
    if (t.logSigmas) {
      const g = grads[i++];
      out.logSigmas = () => g;
    } else out.logSigmas = () => tf.zeros([0]);
    const gm = grads[i++];
    out.indexMat = () => gm;
    if (t.bias) {
      const g = grads[i++];
      out.bias = () => g;
    } else out.bias = () => tf.zeros([0]);
    return out;
  };
}

let gradientsRegistered = false;
function registerGradients(): void {
  if (gradientsRegistered) return;
  gradientsRegistered = true;
  for (const name of GMR_KERNEL_NAMES) {
    tf.registerGradient({ kernelName: name, inputsToSave: ['x', 'weight', 'logSigmas', 'indexMat', 'bias'], gradFunc: gradFuncFor(name) });
  }
}
registerGradients();

/** Registers core's composed implementation of `name` for a backend (no-op when one is registered). */
export function registerComposedKernel(name: string, backendName: string): void {
  if (tf.getKernel(name, backendName)) return;
  const kernelFunc: tf.KernelFunc = ({ inputs, attrs }) => {
    const a = attrs as unknown as GMRConvAttrs;
    const m = inputs as tf.NamedTensorMap;
    return gmrConvComposed(unpackSaved([m.x, m.weight, m.logSigmas, m.indexMat, m.bias], a), a) as unknown as tf.TensorInfo;
  };
  composedKernelFuncs.add(kernelFunc);
  tf.registerKernel({ kernelName: name, backendName, kernelFunc });
}

/** True when the kernel registered for `name` on `backendName` is core's composed one (or none is). */
export function usesComposedKernel(name: string, backendName = tf.getBackend()): boolean {
  const cfg = tf.getKernel(name, backendName);
  return !cfg || composedKernelFuncs.has(cfg.kernelFunc);
}

/** Runs a GMR op: the backend's own kernel when a kernel package registered one, else the composed one. */
export function runGMRKernel(name: string, t: GMRConvTensors, a: GMRConvAttrs): tf.Tensor {
  const backendName = tf.getBackend();
  if (!usesComposedKernel(name, backendName)) {
    return tf.engine().runKernel(name, namedInputs(t), a as unknown as tf.NamedAttrMap) as tf.Tensor;
  }
  registerComposedKernel(name, backendName);
  // Same numbers as runKernel on the composed kernel, but differentiated directly (no recomputation).
  return gmrConvComposed(t, a);
}
