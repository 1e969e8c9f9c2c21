/**
 * FieldBatchNorm's training step as two kernels, where a backend registers them (the native backends do):
 *   FIELD_BATCH_NORM       inputs { x [..., C], gamma [F], beta [n0] (absent when n0 = 0) }, attrs FieldBatchNormAttrs
 *                          → y (x's shape), mean [C] (order-0 means, 0 on order m), stats [F] (per-field variance:
 *                          order 0 of its channel, order m E|z|²), invStd [C] = 1/√(variance of the channel's field + ε)
 *   FIELD_BATCH_NORM_GRAD  inputs { x, dy, mean, invStd, gamma, beta (with 'relu') }, same attrs → dx, dgamma [F],
 *                          dbeta [n0] (when n0 > 0)
 * the same function and gradient as the composed form in field_batch_norm.ts (whose comments give the formulas), with
 * one pass for the sums and one for the output each way instead of a dozen full-size element-wise kernels. With
 * `activation: 'relu'` (order-0 fields only) the ReLU after the batch norm is in the same passes: its own forward and
 * gradient passes over the activations go away, and the gradient's mask is recomputed from x, so nothing more is kept.
 */
import * as tf from '@tensorflow/tfjs-core';
import { FIELD_BATCH_NORM, FIELD_BATCH_NORM_GRAD, type FieldBatchNormAttrs } from '../kernel/field_kernel_names.js';

/** Whether the current backend registers both kernels (for float32 x). */
export function fieldBatchNormKernelHere(x: tf.Tensor): boolean {
  const b = tf.getBackend();
  return (
    x.dtype === 'float32' && tf.getKernel(FIELD_BATCH_NORM, b) != null && tf.getKernel(FIELD_BATCH_NORM_GRAD, b) != null
  );
}

/**
 * Training-mode field batch norm through the kernels: y, with `onStats(mean [C], stats [F])` given the batch statistics
 * (for the moving averages), and the gradient for x, γ [F] and β [n0] (β null when n0 = 0).
 */
export function fusedFieldBatchNorm(
  x: tf.Tensor,
  gamma: tf.Tensor,
  beta: tf.Tensor | null,
  attrs: FieldBatchNormAttrs,
  onStats: (mean: tf.Tensor, stats: tf.Tensor) => void,
): tf.Tensor {
  const a = attrs as unknown as tf.NamedAttrMap;
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [xs, g] = args as [tf.Tensor, tf.Tensor];
    const b = beta ? (args[2] as tf.Tensor) : null;
    const save = args[args.length - 1] as tf.GradSaveFunc;
    const inputs: tf.NamedTensorMap = b ? { x: xs, gamma: g, beta: b } : { x: xs, gamma: g };
    const [y, mean, stats, invStd] = tf.engine().runKernel(FIELD_BATCH_NORM, inputs, a) as tf.Tensor[];
    onStats(mean!, stats!);
    const relu = attrs.activation === 'relu';
    save(relu && b ? [xs, mean!, invStd!, g, b] : [xs, mean!, invStd!, g]);
    return {
      value: y!,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [xv, m, inv, gv, bv] = saved as [tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor | undefined];
        const gradInputs: tf.NamedTensorMap = { x: xv, dy, mean: m, invStd: inv, gamma: gv };
        if (bv) gradInputs.beta = bv;
        const grads = tf.engine().runKernel(FIELD_BATCH_NORM_GRAD, gradInputs, a) as tf.Tensor[];
        return beta ? grads : grads.slice(0, 2);
      },
    };
  });
  return beta ? op(x, gamma, beta) : op(x, gamma);
}
