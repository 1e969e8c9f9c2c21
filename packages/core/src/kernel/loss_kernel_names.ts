/**
 * The training loss's kernels, named here beside the GMR ones so that a kernel package finds every name it may
 * register in one place. Core runs tfjs's own tf.losses.softmaxCrossEntropy where a backend does not register both
 * (ops/softmax_cross_entropy.ts); the native backends do.
 *
 *   GMRSoftmaxCrossEntropy      inputs { logits [B, K], labels [B, K] } → [loss (scalar): the mean over the B rows of
 *                               −Σ_k labels·log softmax(logits), probs [B, K] = softmax(logits)]
 *   GMRSoftmaxCrossEntropyGrad  inputs { probs [B, K], labels [B, K], dy (scalar) } → dlogits [B, K] =
 *                               dy·(probs − labels)/B (tfjs's gradient of the same loss, which takes each label row as
 *                               summing to 1)
 */
export const SOFTMAX_CROSS_ENTROPY = 'GMRSoftmaxCrossEntropy';
export const SOFTMAX_CROSS_ENTROPY_GRAD = 'GMRSoftmaxCrossEntropyGrad';
