/**
 * Gradients replaced on 'native' (and 'cuda'), where tfjs-core's registered ones spend full-size element-wise passes:
 *
 * Batch norm in training. tfjs-layers normalises a training batch with tf.moments (Mean, Sub, Square,
 * Mean) and tf.batchNorm (FusedBatchNorm), and differentiates them with tfjs-core's registered gradients, which
 * build every result from full-size element-wise ops: FusedBatchNorm's alone runs about ten passes over the
 * activations (x − mean, dy·scale, a tiled 1/√var, and a product and a sum per parameter), and each Mean's gradient
 * fills a tensor of ones to multiply it by dy. On the native backends those two gradients are replaced here:
 *   FusedBatchNorm → one native kernel (NativeBatchNormGrad): per-channel sums Σdy and Σdy·(x − mean) in one pass,
 *     dx in a second, and dmean, dvariance, dscale, doffset from the sums;
 *   Mean → dy / n broadcast to x's shape (one Tile) instead of dy · ones / n.
 * ReLU: dy · step(x) in one native pass (NativeReluGrad) instead of Step, then Multiply.
 * The gradient functions are registered globally (tfjs has one gradient per kernel name), so on every other backend,
 * and for inputs the native kernel does not cover (per-channel parameters of another shape, int32), they call the
 * stock gradient unchanged.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { NativeBackend } from '../backend.js';
import { count } from '../counters.js';
import { kernelConfig, size, type Args } from './fallback.js';

export const BATCH_NORM_GRAD = 'NativeBatchNormGrad';
export const RELU_GRAD = 'NativeReluGrad';

type Saved = (tf.Tensor | undefined)[];

function batchNormGrad(args: Args): tf.TensorInfo[] {
  const backend = args.backend as NativeBackend;
  const { x, dy, mean, variance, scale } = args.inputs as Record<string, tf.TensorInfo | undefined>;
  const { varianceEpsilon } = args.attrs as { varianceEpsilon: number };
  count(BATCH_NORM_GRAD);
  const C = size(mean!.shape);
  const dx = backend.allocFloat32(size(x!.shape));
  const [dmean, dvar, dscale, doffset] = [0, 1, 2, 3].map(() => backend.allocFloat32(C)) as [Float32Array, Float32Array, Float32Array, Float32Array];
  const f = (t: tf.TensorInfo | undefined) => backend.f32(t!);
  backend.addon.batchNormGrad(f(x), f(dy), f(mean), f(variance), scale ? f(scale) : null, varianceEpsilon, dx, dmean, dvar, dscale, doffset);
  return [backend.makeNativeOutput(dx, x!.shape), ...[dmean, dvar, dscale, doffset].map((v) => backend.makeNativeOutput(v, mean!.shape))];
}

function reluGradKernel(args: Args): tf.TensorInfo {
  const backend = args.backend as NativeBackend;
  const { dy, x } = args.inputs as Record<string, tf.TensorInfo>;
  count(RELU_GRAD);
  const dx = backend.allocFloat32(size(x!.shape));
  backend.addon.reluGrad(backend.f32(dy!), backend.f32(x!), dx);
  return backend.makeNativeOutput(dx, x!.shape);
}

const onNative = () => {
  const b = tf.getBackend();
  return b === 'native' || b === 'cuda';
};

/** The native kernel covers float32 x with rank-1 mean, variance (and scale) of x's last dimension. */
function covered(x: tf.Tensor, dy: tf.Tensor, mean: tf.Tensor, variance: tf.Tensor, scale: tf.Tensor | undefined): boolean {
  const C = x.shape[x.rank - 1];
  const perChannel = (t: tf.Tensor) => t.rank === 1 && t.shape[0] === C && t.dtype === 'float32';
  return x.dtype === 'float32' && dy.dtype === 'float32' && x.rank >= 1 && perChannel(mean) && perChannel(variance) && (scale == null || perChannel(scale));
}

/**
 * Registers `native` as the gradient of `kernelName` where it applies (it returns null elsewhere), tfjs's own gradient
 * otherwise; once (the config is marked).
 */
function overrideGradient(kernelName: string, native: (dy: tf.Tensor, saved: tf.Tensor[], attrs: tf.NamedAttrMap) => Record<string, () => tf.Tensor> | null): void {
  const stock = tf.getGradient(kernelName);
  if (!stock || (stock as { native?: boolean }).native) return;
  const config: tf.GradConfig & { native: boolean } = {
    kernelName,
    inputsToSave: stock.inputsToSave,
    native: true,
    gradFunc: (dy, saved, attrs) => (onNative() ? native(dy as tf.Tensor, saved, attrs) : null) ?? stock.gradFunc(dy, saved, attrs),
  };
  tf.registerGradient(config);
}

function fusedBatchNormGrad(dy: tf.Tensor, saved: tf.Tensor[], attrs: tf.NamedAttrMap): Record<string, () => tf.Tensor> | null {
  const [x, mean, variance, scale] = saved as Saved;
  if (!covered(x!, dy, mean!, variance!, scale)) return null;
  const inputs: tf.NamedTensorMap = { x: x!, dy, mean: mean!, variance: variance! };
  if (scale) inputs.scale = scale;
  const [dx, dmean, dvar, dscale, doffset] = tf.engine().runKernel(BATCH_NORM_GRAD, inputs, { varianceEpsilon: (attrs as { varianceEpsilon: number }).varianceEpsilon }) as tf.Tensor[];
  return { x: () => dx!, mean: () => dmean!, variance: () => dvar!, scale: () => dscale!, offset: () => doffset! };
}

function meanGrad(dy: tf.Tensor, saved: tf.Tensor[], attrs: tf.NamedAttrMap): Record<string, () => tf.Tensor> | null {
  const [x] = saved;
  if (dy.dtype !== 'float32') return null;
  const axes = tf.util.parseAxisParam((attrs as { axis: number | number[] }).axis, x!.shape);
  const expanded = x!.shape.map((s, i) => (axes.includes(i) ? 1 : s));
  const n = axes.reduce((p, a) => p * x!.shape[a]!, 1);
  return { x: () => tf.broadcastTo(tf.div(tf.reshape(dy, expanded), n), x!.shape) };
}

function reluGrad(dy: tf.Tensor, saved: tf.Tensor[]): Record<string, () => tf.Tensor> | null {
  const [x] = saved;
  if (dy.dtype !== 'float32' || x!.dtype !== 'float32' || dy.size !== x!.size) return null;
  return { x: () => tf.engine().runKernel(RELU_GRAD, { dy, x: x! }) as tf.Tensor };
}

/** Registers the gradients (once; safe to call again). */
export function registerNativeGradients(): void {
  overrideGradient('FusedBatchNorm', fusedBatchNormGrad);
  overrideGradient('Mean', meanGrad);
  overrideGradient('Relu', reluGrad);
}

export function nativeGradientKernelConfigs(backendName: string): tf.KernelConfig[] {
  return [kernelConfig(backendName, BATCH_NORM_GRAD, batchNormGrad), kernelConfig(backendName, RELU_GRAD, reluGradKernel)];
}

// At import, with the kernels (index.ts imports this module through hot_ops.ts before registering the backends).
registerNativeGradients();
