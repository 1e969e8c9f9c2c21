/**
 * Batch-norm recalibration ("precise BN"): replaces every BatchNormalization layer's moving mean and variance by
 * the population statistics of its input over a set of images, with the network in inference mode and the
 * layers in order (each layer sees inputs normalised by the already recalibrated layers before it).
 *
 * Why: during training a BN layer's moving averages follow batch statistics computed while the layers before it
 * normalise with *their* batch statistics and while the weights move. For GMR networks the ring features carry
 * large means relative to their spread, so the small lag of the moving averages is amplified at inference: a
 * GMR-CNN on the rotated MNIST split scored 26 % in inference mode and 74 % in training mode after one epoch;
 * recalibrated, 74 % in inference mode too. Run it after training (the CLI runs it after every epoch).
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';

export interface RecalibrationOptions {
  /** images per forward pass (default 256) */
  batchSize?: number;
}

interface BNLayer extends tfl.layers.Layer {
  axis: number;
}

/**
 * Recalibrates the BN layers of `model` (a functional or sequential LayersModel) on `images` [N, ...input shape],
 * already scaled as the model expects. Returns the names of the recalibrated layers. Leaves no tensor behind.
 */
export function recalibrateBatchNorm(model: tfl.LayersModel, images: tf.Tensor, options: RecalibrationOptions = {}): string[] {
  const batchSize = options.batchSize ?? 256;
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new Error(`recalibrateBatchNorm: batchSize must be a positive integer, got ${batchSize}`);
  if (images.shape[0] === 0) throw new Error('recalibrateBatchNorm: images must hold at least one image');
  const done: string[] = [];
  for (const layer of model.layers) {
    if (layer.getClassName() !== 'BatchNormalization') continue;
    const bn = layer as BNLayer;
    const prefix = tfl.model({ inputs: model.inputs, outputs: bn.input as tfl.SymbolicTensor });
    const rank = (bn.input as tfl.SymbolicTensor).shape.length;
    const axis = bn.axis < 0 ? rank + bn.axis : bn.axis;
    const reduce = [...Array(rank).keys()].filter((a) => a !== axis);
    // per-batch sums of y and y² (a few thousand images × pixels: float32 sums are accurate to ~1e-6 relative)
    let sum: tf.Tensor | null = null;
    let sumSq: tf.Tensor | null = null;
    let count = 0;
    for (let s = 0; s < images.shape[0]; s += batchSize) {
      const n = Math.min(batchSize, images.shape[0] - s);
      const next = tf.tidy(() => {
        const y = prefix.apply(tf.slice(images, s, n), { training: false }) as tf.Tensor;
        count += y.size / y.shape[axis];
        const sy = tf.sum(y, reduce);
        const sy2 = tf.sum(tf.square(y), reduce);
        return [sum ? tf.add(sum, sy) : sy, sumSq ? tf.add(sumSq, sy2) : sy2];
      });
      tf.dispose([sum!, sumSq!].filter((t) => t != null));
      [sum, sumSq] = next;
    }
    const [mean, variance] = tf.tidy(() => {
      const mean = tf.div(sum!, count);
      return [mean, tf.relu(tf.sub(tf.div(sumSq!, count), tf.square(mean)))];
    });
    tf.dispose([sum!, sumSq!]);
    const w = bn.getWeights();
    // [gamma, beta, movingMean, movingVariance], or fewer when center/scale are off: the last two are the statistics
    bn.setWeights([...w.slice(0, w.length - 2), mean, variance]);
    tf.dispose([mean, variance]);
    done.push(bn.name);
  }
  return done;
}
