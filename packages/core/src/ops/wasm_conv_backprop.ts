/**
 * The wasm backend has no Conv2DBackpropFilter kernel, so a plain tf.layers.conv2d
 * cannot train there. This registers one for a backend that lacks it, computed as a
 * forward convolution (the same form core's GMR ops use), so that plain baselines
 * (a CNN twin, a ResNet-18) train on the backend their GMR twins train on.
 */
import * as tf from '@tensorflow/tfjs-core';
import { conv2dFilterGrad } from '../kernel/composed/conv_primitive.js';

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
        const info = tf.backend_util.computeConv2DInfo(
          xl.shape as [number, number, number, number],
          a.filterShape,
          a.strides,
          1,
          a.pad,
          a.dimRoundingMode,
          false,
          'channelsLast',
        );
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

const fastTileOn = new Set<string>();

/**
 * Replaces a backend's Tile kernel (float32/int32) by a broadcast add, the same values: tfjs-wasm's Tile is
 * 20–50× slower, and tfjs's batch-norm gradient tiles [1,1,1,C] to the activation shape (measured: a quarter of
 * a GMR-CNN training step on wasm). Other dtypes keep the original kernel. Returns true when it replaced it.
 */
export function registerFastTile(backendName = 'wasm'): boolean {
  const original = tf.getKernel('Tile', backendName);
  if (!original || fastTileOn.has(backendName)) return false;
  fastTileOn.add(backendName);
  tf.unregisterKernel('Tile', backendName);
  tf.registerKernel({
    kernelName: 'Tile',
    backendName,
    kernelFunc: (args) => {
      const x = args.inputs.x as unknown as tf.Tensor;
      const reps = args.attrs!.reps as number[];
      if (x.dtype !== 'float32' && x.dtype !== 'int32') return original.kernelFunc(args);
      return tf.tidy(() => {
        // out[a·d + b] = x[b] on every axis: x viewed as [1, d] broadcast against [r, d], merged per kind.
        const view: number[] = [];
        const full: number[] = [];
        let kind = '';
        x.shape.forEach((d, i) => {
          for (const [v, f] of [
            [1, reps[i]],
            [d, d],
          ] as Array<[number, number]>) {
            if (f === 1) continue;
            const k = v === 1 ? 'b' : 'c';
            if (k === kind) {
              view[view.length - 1] *= v;
              full[full.length - 1] *= f;
            } else {
              view.push(v);
              full.push(f);
              kind = k;
            }
          }
        });
        const outShape = x.shape.map((d, i) => d * reps[i]);
        const y = tf.add(tf.zeros(full, x.dtype), tf.reshape(x, view));
        return tf.reshape(y, outShape);
      }) as unknown as tf.TensorInfo;
    },
  });
  return true;
}

/** Both wasm fixes: a filter gradient for plain Conv2D, and a fast Tile. */
export function optimizeWasmBackend(): void {
  registerConv2DBackpropFilter('wasm');
  registerFastTile('wasm');
}
