/**
 * The wasm backend has no Conv2DBackpropFilter kernel, so a plain tf.layers.conv2d
 * cannot train there. This registers one for a backend that lacks it, computed as a
 * forward convolution (the same form core's GMR ops use), so that plain baselines
 * (a CNN twin, a ResNet-18) train on the backend their GMR twins train on.
 */
import * as tf from '@tensorflow/tfjs-core';
import { conv2dFilterGrad } from './conv_primitive.js';

/**
 * Registers Conv2DBackpropFilter for `backendName` when that backend has none (default 'wasm').
 * Returns true when it registered the kernel.
 */
export function registerConv2DBackpropFilter(backendName = 'wasm'): boolean {
  if (tf.getKernel('Conv2DBackpropFilter', backendName)) return false;
  tf.registerKernel({
    kernelName: 'Conv2DBackpropFilter',
    backendName,
    kernelFunc: ({ inputs, attrs }) => {
      const { x, dy } = inputs as { x: tf.Tensor4D; dy: tf.Tensor4D };
      const a = attrs as unknown as {
        strides: number | [number, number];
        pad: 'valid' | 'same' | number | tf.backend_util.ExplicitPadding;
        dataFormat: 'NHWC' | 'NCHW';
        dimRoundingMode?: 'floor' | 'round' | 'ceil';
        filterShape: [number, number, number, number];
      };
      return tf.tidy(() => {
        const channelsFirst = a.dataFormat === 'NCHW';
        const xl = channelsFirst ? tf.transpose(x, [0, 2, 3, 1]) : x;
        const dyl = channelsFirst ? tf.transpose(dy, [0, 2, 3, 1]) : dy;
        const info = tf.backend_util.computeConv2DInfo(xl.shape as [number, number, number, number], a.filterShape, a.strides, 1, a.pad, a.dimRoundingMode, false, 'channelsLast');
        return conv2dFilterGrad(xl as tf.Tensor4D, dyl as tf.Tensor4D, a.filterShape, {
          strides: [info.strideHeight, info.strideWidth],
          dilations: [1, 1],
          pads: [
            [info.padInfo.top, info.padInfo.bottom],
            [info.padInfo.left, info.padInfo.right],
          ],
        });
      }) as unknown as tf.TensorInfo;
    },
  });
  return true;
}
