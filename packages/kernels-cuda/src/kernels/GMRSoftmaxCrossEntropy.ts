/**
 * GMRSoftmaxCrossEntropy: core's softmaxCrossEntropy forward in one native pass (native/loss_ops.cc): the batch mean
 * of −Σ labels·log softmax(logits), and softmax(logits) for the gradient (GMRSoftmaxCrossEntropyGrad).
 */
import { invalid } from '@gmr-conv/core';
import { SOFTMAX_CROSS_ENTROPY } from '@gmr-conv/core/kernel';
import type { NamedTensorInfoMap } from '@tensorflow/tfjs-core';
import { count } from '../counters.js';
import { allF32, nativeKernel, type NativeKernelArgs } from './native_util.js';

export function softmaxCrossEntropy({
  inputs,
  backend,
}: NativeKernelArgs<Pick<NamedTensorInfoMap, 'logits' | 'labels'>, unknown>) {
  const { logits, labels } = inputs;
  if (!allF32(logits, labels) || logits!.shape.length !== 2 || String(logits!.shape) !== String(labels!.shape))
    invalid(
      SOFTMAX_CROSS_ENTROPY,
      'inputs',
      `logits [${logits!.shape}] ${logits!.dtype}, labels [${labels!.shape}] ${labels!.dtype}`,
      'float32 logits and labels of one shape [batch, classes]',
    );
  count(SOFTMAX_CROSS_ENTROPY);
  const [b, k] = logits!.shape as [number, number];
  const loss = backend.allocFloat32(1);
  const probs = backend.allocFloat32(b * k);
  backend.addon.softmaxCrossEntropy(backend.f32(logits!), backend.f32(labels!), k, loss, probs);
  return [backend.makeNativeOutput(loss, []), backend.makeNativeOutput(probs, [b, k])];
}

export const softmaxCrossEntropyConfig = nativeKernel(SOFTMAX_CROSS_ENTROPY, softmaxCrossEntropy);
