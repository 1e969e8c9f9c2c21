/**
 * LeanConv2D: tfjs-layers' Conv2D that, without a bias and with a linear activation (how every network here builds
 * its plain convolutions: a batch norm follows), runs tf.conv2d instead of tf.fused.conv2d.
 *
 * Why: tf.fused.conv2d is a custom gradient that computes the input gradient and the filter gradient together, so a
 * network's first convolution computes the gradient of its input image every training step, which nothing reads (on
 * the plain CNN that is one of the step's largest kernels). tf.conv2d's registered gradient gives each input its own
 * function, and the tape runs only those on a path to a variable. The forward is the same convolution.
 *
 * It is tfjs-layers' layer to every other tool: class name 'Conv2D', the same config and weights; a saved model loads
 * with tfjs-layers alone. With a bias, an activation or channels first it is tfjs-layers' code unchanged.
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';

export type LeanConv2DArgs = Parameters<typeof tfl.layers.conv2d>[0];

/** tfjs-layers' Conv2D class (not exported by the package under its name; an instance gives it). */
const StockConv2D = tfl.layers.conv2d({ filters: 1, kernelSize: 1 }).constructor as new (
  args: LeanConv2DArgs,
) => tfl.layers.Layer;

/** The fields of tfjs-layers' Conv2D that its call() reads. */
interface Conv2DState {
  kernel: { read(): tf.Tensor };
  bias: { read(): tf.Tensor } | null;
  activation: { getClassName(): string };
  strides: [number, number];
  padding: 'same' | 'valid';
  dataFormat: string;
  dilationRate: number | [number, number];
}

export class LeanConv2D extends StockConv2D {
  /** Serialised as tfjs-layers' own layer (see the file comment). */
  static className = 'Conv2D';

  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: tf.serialization.ConfigDict): tf.Tensor | tf.Tensor[] {
    const s = this as unknown as Conv2DState;
    const x = Array.isArray(inputs) ? inputs[0]! : inputs;
    if (s.bias != null || s.activation.getClassName() !== 'linear' || s.dataFormat !== 'channelsLast' || x.rank !== 4)
      return super.call(inputs, kwargs);
    return tf.tidy(() =>
      tf.conv2d(x as tf.Tensor4D, s.kernel.read() as tf.Tensor4D, s.strides, s.padding, 'NHWC', s.dilationRate),
    );
  }
}
