/**
 * FusedBatchNormalization: tfjs-layers' BatchNormalization whose training batch runs as one kernel forward and one
 * backward where the backend registers them (the native backends do: core's GMRFieldBatchNorm kernels, with every
 * channel of order 0), and as tfjs-layers' own code everywhere else.
 *
 * Why: tfjs-layers normalises a training batch with tf.moments and tf.batchNorm, which the tape records as about
 * fifteen kernels per layer (mean, x − mean, its square, a second mean, the normalisation) and differentiates with
 * as many more, most of them full-size passes over the activations and Tiles of the per-channel gradients. In a
 * small network those cost more than the convolutions. The kernels compute the same function and gradient (per-channel
 * sums in double, biased batch variance as tf.moments) and the same moving-average update.
 *
 * It is the same layer to every other tool: its class name is 'BatchNormalization', its config and weights are
 * tfjs-layers' own, so a saved model loads with tfjs-layers alone (as its stock BatchNormalization) and folding,
 * export and interop treat it as one. Inference (training false or absent) is tfjs-layers' code unchanged.
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { fieldBatchNormKernelHere, fusedFieldBatchNorm } from '../steerable/field_batch_norm_op.js';
import { movingAverage, type LayerVariable } from './layer_utils.js';

export type FusedBatchNormalizationArgs = NonNullable<Parameters<typeof tfl.layers.batchNormalization>[0]>;

/** tfjs-layers' BatchNormalization class (not exported by the package under its name; an instance gives it). */
const StockBatchNormalization = tfl.layers.batchNormalization({}).constructor as new (
  args?: FusedBatchNormalizationArgs,
) => tfl.layers.Layer;

/** The fields tfjs-layers' BatchNormalization keeps, as its call() reads them. */
interface BatchNormalizationState {
  axis: number;
  momentum: number;
  epsilon: number;
  center: boolean;
  scale: boolean;
  gamma: LayerVariable;
  beta: LayerVariable;
  movingMean: LayerVariable;
  movingVariance: LayerVariable;
}

export class FusedBatchNormalization extends StockBatchNormalization {
  /** Serialised as tfjs-layers' own layer (see the file comment). */
  static className = 'BatchNormalization';

  constructor(args: FusedBatchNormalizationArgs = {}) {
    super(args);
  }

  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: tf.serialization.ConfigDict): tf.Tensor | tf.Tensor[] {
    const x = Array.isArray(inputs) ? inputs[0]! : inputs;
    return (kwargs?.training === true && this.kernelCall(x, 'linear')) || super.call(inputs, kwargs);
  }

  /**
   * relu(call(x, {training: true})) as one kernel each way (the ReLU's own forward and gradient passes over the
   * activations go away), where the training batch takes the kernel path; null where it does not (the caller then
   * runs this layer and the ReLU as they are). Models' TrainingForward calls it for a batch norm whose only consumer is
   * a ReLU layer.
   */
  trainingCallWithRelu(x: tf.Tensor): tf.Tensor | null {
    return this.kernelCall(x, 'relu');
  }

  /** The training batch through the field batch-norm kernels, or null where they do not apply. */
  private kernelCall(x: tf.Tensor, activation: 'linear' | 'relu'): tf.Tensor | null {
    const s = this as unknown as BatchNormalizationState;
    const axis = s.axis < 0 ? s.axis + x.rank : s.axis;
    // The kernels normalise the last axis with both γ and β; anything else is tfjs-layers' code.
    if (x.rank < 2 || axis !== x.rank - 1 || !s.center || !s.scale || !fieldBatchNormKernelHere(x)) return null;
    return tf.tidy(() => {
      const channels = x.shape[axis]!;
      return fusedFieldBatchNorm(
        x,
        s.gamma.read(),
        s.beta.read(),
        { fields: [channels, 0, 0], epsilon: s.epsilon, activation },
        (mean, variance) => {
          movingAverage(s.movingMean, mean, s.momentum);
          movingAverage(s.movingVariance, variance, s.momentum);
        },
      );
    });
  }
}
