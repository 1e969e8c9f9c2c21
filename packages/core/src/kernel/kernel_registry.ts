/**
 * The dispatch between a backend's own GMR kernel (registered by a kernel package) and core's composed
 * implementation, which is registered as the default for whichever backend runs the op first; and the gradient
 * of every forward GMR kernel, which uses the backend's BackpropInput / BackpropFilter kernels when it has both
 * (the contract is in kernel_names.ts) and differentiates the composed implementation otherwise.
 */
import * as tf from '@tensorflow/tfjs-core';
import { gmrConvComposed } from './composed/gmr_conv_composed.js';
import { nestedGrads } from './engine_internals.js';
import { mixingWeights } from './mixing_weights.js';
import {
  forwardTensors,
  gmrKernelConfig,
  GMR_BACKPROP_KERNEL_NAMES,
  GMR_KERNEL_NAMES,
  type GMRConvAttrs,
  type GMRConvTensors,
  type GMRForwardKernelName,
} from './kernel_names.js';

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
  return {
    x: t.x,
    weight: t.weight,
    logSigmas: t.logSigmas ?? emptyInput(),
    indexMat: t.indexMat,
    bias: t.bias ?? emptyInput(),
  };
}

function gradFuncFor(name: string): tf.GradFunc {
  return (dy, saved, attrs) => {
    const a = attrs as unknown as GMRConvAttrs;
    const t = unpackSaved(saved, a);
    const d = dy as tf.Tensor;
    const backendName = tf.getBackend();
    const backward = GMR_BACKPROP_KERNEL_NAMES[name];
    const bi = backward && tf.getKernel(backward.input, backendName);
    const bf = backward && tf.getKernel(backward.filter, backendName);
    let grads: tf.Tensor[];
    let dxLater: (() => tf.Tensor) | null = null;
    if (backward && bi && bf && !a.transposed && !a.trainIndexMat) {
      const engine = tf.engine();
      const dxIn: tf.NamedTensorMap = { dy: d, weight: t.weight, indexMat: t.indexMat };
      if (t.logSigmas) dxIn.logSigmas = t.logSigmas;
      // dx only when asked for: tfjs calls an input's gradient closure only when that input lies on the path from
      // the differentiated variables, so a first layer (x = the images) never runs BackpropInput (issue 17).
      dxLater = () => engine.runKernel(backward.input, dxIn, attrs as tf.NamedAttrMap) as tf.Tensor;
      const dPhi = engine.runKernel(
        backward.filter,
        { x: t.x, dy: d, indexMat: t.indexMat },
        attrs as tf.NamedAttrMap,
      ) as tf.Tensor;
      const params = t.logSigmas ? [t.weight, t.logSigmas] : [t.weight];
      const pg = t.logSigmas ? nestedGrads((...p: tf.Tensor[]) => mixingWeights(p[0], p[1], a), params, dPhi) : [dPhi];
      grads = [d /* x's place; dxLater makes x's gradient */, pg[0]];
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
    out.x = dxLater ?? (() => grads[0]);
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
    tf.registerGradient({
      kernelName: name,
      inputsToSave: ['x', 'weight', 'logSigmas', 'indexMat', 'bias'],
      gradFunc: gradFuncFor(name),
    });
  }
}
registerGradients();

/** Registers core's composed implementation of `name` for a backend (no-op when one is registered). */
export function registerComposedKernel(name: GMRForwardKernelName, backendName: string): void {
  if (tf.getKernel(name, backendName)) return;
  const config = gmrKernelConfig(name, backendName, ({ inputs, attrs }) =>
    gmrConvComposed(forwardTensors(inputs, attrs), attrs),
  );
  composedKernelFuncs.add(config.kernelFunc);
  tf.registerKernel(config);
}

/** True when the kernel registered for `name` on `backendName` is core's composed one (or none is). */
export function usesComposedKernel(name: string, backendName = tf.getBackend()): boolean {
  const cfg = tf.getKernel(name, backendName);
  return !cfg || composedKernelFuncs.has(cfg.kernelFunc);
}

/** Runs a GMR op: the backend's own kernel when a kernel package registered one, else the composed one. */
export function runGMRKernel(name: GMRForwardKernelName, t: GMRConvTensors, a: GMRConvAttrs): tf.Tensor {
  const backendName = tf.getBackend();
  if (!usesComposedKernel(name, backendName)) {
    return tf.engine().runKernel(name, namedInputs(t), a as unknown as tf.NamedAttrMap) as tf.Tensor;
  }
  registerComposedKernel(name, backendName);
  // Same numbers as runKernel on the composed kernel, but differentiated directly (no recomputation).
  return gmrConvComposed(t, a);
}
