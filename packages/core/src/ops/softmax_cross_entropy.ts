/**
 * softmaxCrossEntropy: tf.losses.softmaxCrossEntropy(labels, logits, undefined, labelSmoothing) — the mean over the
 * batch of −Σ labels·log softmax(logits) — as one kernel forward and one backward where the backend registers them
 * (the native backends do: GMRSoftmaxCrossEntropy and its gradient, loss_kernel_names.ts), and as tfjs's own loss
 * everywhere else.
 *
 * Why: tfjs composes the loss from about twenty small kernels (logSumExp, the weighted-loss reduction, the label
 * smoothing) and differentiates it with as many more; for a small classifier's batch each costs more in the engine
 * than in arithmetic, together about as much as a 9×9 convolution's gradient.
 *
 * The gradient is for the logits only: labels are data. (tfjs's loss also differentiates the labels; nothing in a
 * training step asks for that.)
 */
import * as tf from '@tensorflow/tfjs-core';
import { SOFTMAX_CROSS_ENTROPY, SOFTMAX_CROSS_ENTROPY_GRAD } from '../kernel/loss_kernel_names.js';
import { invalid } from '../utils/errors.js';

function kernelsHere(logits: tf.Tensor): boolean {
  const b = tf.getBackend();
  return (
    logits.dtype === 'float32' &&
    tf.getKernel(SOFTMAX_CROSS_ENTROPY, b) != null &&
    tf.getKernel(SOFTMAX_CROSS_ENTROPY_GRAD, b) != null
  );
}

/**
 * The softmax cross-entropy of `logits` [B, K] against `labels` [B, K] (one-hot or probabilities), averaged over the
 * batch; `labelSmoothing` ε in [0, 1) replaces the labels by labels·(1 − ε) + ε/K first, as tfjs's loss does.
 */
export function softmaxCrossEntropy(labels: tf.Tensor, logits: tf.Tensor, labelSmoothing = 0): tf.Scalar {
  const where = 'softmaxCrossEntropy';
  if (logits.rank !== 2)
    invalid(where, 'logits', `a tensor of shape [${logits.shape}]`, 'a 2D tensor [batch, classes]');
  if (labels.rank !== 2 || labels.shape[0] !== logits.shape[0] || labels.shape[1] !== logits.shape[1])
    invalid(where, 'labels', `a tensor of shape [${labels.shape}]`, `logits' shape [${logits.shape}]`);
  if (typeof labelSmoothing !== 'number' || !(labelSmoothing >= 0 && labelSmoothing < 1))
    invalid(where, 'labelSmoothing', labelSmoothing, 'a number in [0, 1)');
  if (!kernelsHere(logits))
    return tf.losses.softmaxCrossEntropy(labels, logits, undefined, labelSmoothing) as tf.Scalar;
  return tf.tidy(() => {
    const k = logits.shape[1]!;
    // tfjs's smoothing, in its order of operations: labels·(1 − ε) + ε/K
    let target = tf.cast(labels, 'float32');
    if (labelSmoothing > 0)
      target = tf.add(tf.mul(target, tf.scalar(1 - labelSmoothing)), tf.scalar(labelSmoothing / k));
    const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
      const [z, save] = args as [tf.Tensor, tf.GradSaveFunc];
      const [loss, probs] = tf.engine().runKernel(SOFTMAX_CROSS_ENTROPY, { logits: z, labels: target }) as tf.Tensor[];
      save([probs!, target]);
      return {
        value: loss as tf.Scalar,
        gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) =>
          tf.engine().runKernel(SOFTMAX_CROSS_ENTROPY_GRAD, { probs: saved[0]!, labels: saved[1]!, dy }) as tf.Tensor,
      };
    });
    return op(logits) as tf.Scalar;
  });
}
