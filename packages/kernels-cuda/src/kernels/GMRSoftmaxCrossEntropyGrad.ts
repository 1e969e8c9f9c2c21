/** GMRSoftmaxCrossEntropyGrad: dlogits = dy·(probs − labels)/B of GMRSoftmaxCrossEntropy in one native pass. */
import { invalid } from '@gmr-conv/core';
import { SOFTMAX_CROSS_ENTROPY_GRAD } from '@gmr-conv/core/kernel';
import type { NamedTensorInfoMap } from '@tensorflow/tfjs-core';
import { count } from '../counters.js';
import { allF32, nativeKernel, size, type NativeKernelArgs } from './native_util.js';

export function softmaxCrossEntropyGrad({
  inputs,
  backend,
}: NativeKernelArgs<Pick<NamedTensorInfoMap, 'probs' | 'labels' | 'dy'>, unknown>) {
  const { probs, labels, dy } = inputs;
  if (
    !allF32(probs, labels, dy) ||
    probs!.shape.length !== 2 ||
    String(probs!.shape) !== String(labels!.shape) ||
    size(dy!.shape) !== 1
  )
    invalid(
      SOFTMAX_CROSS_ENTROPY_GRAD,
      'inputs',
      `probs [${probs!.shape}], labels [${labels!.shape}], dy [${dy!.shape}]`,
      'float32 probs and labels of one shape [batch, classes] and a scalar dy',
    );
  count(SOFTMAX_CROSS_ENTROPY_GRAD);
  const [b, k] = probs!.shape as [number, number];
  const dlogits = backend.allocFloat32(b * k);
  backend.addon.softmaxCrossEntropyGrad(backend.f32(probs!), backend.f32(labels!), k, backend.f32(dy!)[0]!, dlogits);
  return backend.makeNativeOutput(dlogits, [b, k]);
}

export const softmaxCrossEntropyGradConfig = nativeKernel(SOFTMAX_CROSS_ENTROPY_GRAD, softmaxCrossEntropyGrad);
