/**
 * FieldBatchNorm: batch normalisation that commutes with rotations and mirrors of feature fields.
 *
 * - Order 0: as tf.layers.batchNormalization: (x − mean)/√(var + ε)·γ + β, per channel.
 * - Order m > 0: z·γ/√(E|z|² + ε), one statistic and one γ per field, shared by Re and Im. Subtracting a mean or
 *   adding a β would not commute with z ↦ e^{iα}z (a rotated field has another mean), and normalising Re and Im
 *   separately would not either; |z|² is invariant, so its mean is.
 * Statistics over batch, height and width: a permutation of the pixels (any D4 element) leaves them unchanged.
 *
 * training = true: batch statistics, and the moving ones updated the way tfjs's BatchNormalization does
 * (moving ← moving − (moving − batch)·(1 − momentum), written inside call(), so model.fit updates them);
 * training false or absent: the moving statistics.
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import type { LayerArgs } from '@tensorflow/tfjs-layers/dist/engine/topology.js';
import { invalid } from '../utils/errors.js';
import { checkFieldInput, checkFields, concatFields, Fields, splitFields, takeChannels } from './fields.js';

type LayerVariable = { read(): tf.Tensor; write(v: tf.Tensor): unknown };

export interface FieldBatchNormArgs extends LayerArgs {
  fields: Fields;
  /** Moving-average momentum, tfjs style (default 0.99). */
  momentum?: number;
  /** Default 1e-3 (tfjs's). */
  epsilon?: number;
}

const constant = (v: number) => ({ apply: (s: number[]) => tf.fill(s, v) });

/** tfjs-layers' update: moving ← moving − (moving − value)·(1 − momentum). */
function movingAverage(variable: LayerVariable, value: tf.Tensor, momentum: number): void {
  tf.tidy(() => {
    const old = variable.read();
    variable.write(tf.sub(old, tf.mul(tf.sub(old, value), 1 - momentum)));
  });
}

export class FieldBatchNorm extends tfl.layers.Layer {
  static className = 'FieldBatchNorm';
  readonly fields: Fields;
  readonly momentum: number;
  readonly epsilon: number;
  private gamma0: LayerVariable | null = null;
  private beta0: LayerVariable | null = null;
  private movingMean: LayerVariable | null = null;
  private movingVariance: LayerVariable | null = null;
  private fieldGamma: LayerVariable | null = null;
  private movingSquareNorm: LayerVariable | null = null;

  constructor(args: FieldBatchNormArgs) {
    super(args);
    const where = 'FieldBatchNorm';
    if (args == null || typeof args !== 'object') invalid(where, 'args', args, 'an options object with fields');
    this.fields = checkFields(where, 'fields', args.fields);
    this.momentum = args.momentum ?? 0.99;
    if (typeof this.momentum !== 'number' || !(this.momentum >= 0 && this.momentum <= 1)) invalid(where, 'momentum', args.momentum, 'a number in [0, 1]');
    this.epsilon = args.epsilon ?? 1e-3;
    if (typeof this.epsilon !== 'number' || !(this.epsilon > 0) || !Number.isFinite(this.epsilon)) invalid(where, 'epsilon', args.epsilon, 'a finite positive number');
  }

  override build(inputShape: (number | null)[] | (number | null)[][]): void {
    const shape = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as (number | null)[];
    checkFieldInput('FieldBatchNorm', shape, this.fields);
    const addWeight = (this as unknown as { addWeight: (...a: unknown[]) => LayerVariable }).addWeight.bind(this);
    const [n0, n1, n2] = this.fields;
    if (n0 > 0) {
      this.gamma0 = addWeight('gamma', [n0], 'float32', constant(1), undefined, true);
      this.beta0 = addWeight('beta', [n0], 'float32', constant(0), undefined, true);
      this.movingMean = addWeight('moving_mean', [n0], 'float32', constant(0), undefined, false);
      this.movingVariance = addWeight('moving_variance', [n0], 'float32', constant(1), undefined, false);
    }
    if (n1 + n2 > 0) {
      this.fieldGamma = addWeight('field_gamma', [n1 + n2], 'float32', constant(1), undefined, true);
      this.movingSquareNorm = addWeight('moving_square_norm', [n1 + n2], 'float32', constant(1), undefined, false);
    }
    this.built = true;
  }

  override computeOutputShape(inputShape: (number | null)[] | (number | null)[][]): (number | null)[] {
    return (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as (number | null)[];
  }

  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: { training?: boolean; [k: string]: unknown }): tf.Tensor {
    return tf.tidy(() => {
      const x = Array.isArray(inputs) ? inputs[0]! : inputs;
      checkFieldInput('FieldBatchNorm', x.shape, this.fields);
      const training = kwargs?.training === true;
      const blocks = splitFields(x, this.fields);
      const [, n1, n2] = this.fields;
      const out = { order0: null as tf.Tensor | null, re: [null, null, null] as [null, tf.Tensor | null, tf.Tensor | null], im: [null, null, null] as [null, tf.Tensor | null, tf.Tensor | null] };
      if (blocks.order0) {
        let mean: tf.Tensor;
        let variance: tf.Tensor;
        if (training) {
          ({ mean, variance } = tf.moments(blocks.order0, [0, 1, 2]));
          movingAverage(this.movingMean!, mean, this.momentum);
          movingAverage(this.movingVariance!, variance, this.momentum);
        } else {
          mean = this.movingMean!.read();
          variance = this.movingVariance!.read();
        }
        out.order0 = tf.batchNorm(blocks.order0, mean, variance, this.beta0!.read(), this.gamma0!.read(), this.epsilon);
      }
      if (this.fieldGamma) {
        const squares = [1, 2].map((m) => (blocks.re[m] ? tf.add(tf.square(blocks.re[m]!), tf.square(blocks.im[m]!)) : null));
        let power: tf.Tensor;
        if (training) {
          power = tf.concat(squares.filter((s): s is tf.Tensor => s != null).map((s) => tf.mean(s, [0, 1, 2])));
          movingAverage(this.movingSquareNorm!, power, this.momentum);
        } else {
          power = this.movingSquareNorm!.read();
        }
        const scale = tf.mul(this.fieldGamma.read(), tf.rsqrt(tf.add(power, this.epsilon)));
        const scales = [null, takeChannels(scale, 0, n1), takeChannels(scale, n1, n2)];
        for (const m of [1, 2] as const) {
          if (!blocks.re[m]) continue;
          out.re[m] = tf.mul(blocks.re[m]!, scales[m]!);
          out.im[m] = tf.mul(blocks.im[m]!, scales[m]!);
        }
      }
      return concatFields(out);
    });
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), fields: this.fields, momentum: this.momentum, epsilon: this.epsilon };
  }
}

tf.serialization.registerClass(FieldBatchNorm);
