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
import { checkFieldInput, checkFields, type Fields, takeChannels } from './fields.js';
import { channelsToFields, type FieldMaps, fieldMaps, fieldsToChannels } from './field_maps.js';
import { fieldBatchNormKernelHere, fusedFieldBatchNorm } from './field_batch_norm_op.js';

import { movingAverage, type LayerVariable } from '../layers/layer_utils.js';

export interface FieldBatchNormArgs extends LayerArgs {
  fields: Fields;
  /** Moving-average momentum, tfjs style (default 0.99). */
  momentum?: number;
  /** Default 1e-3 (tfjs's). */
  epsilon?: number;
}

const constant = (v: number) => ({ apply: (s: number[]) => tf.fill(s, v) });

/** An order-0 vector [n0] as a per-channel one [C] (zeros on the order-m channels, which follow the order-0 ones). */
const padChannels = (v: tf.Tensor, C: number) => (v.size === C ? v : tf.pad(v, [[0, C - v.size]]));

/**
 * Training mode on the whole tensor, as one tf.batchNorm with per-channel vectors (see field_maps.ts for why not
 * per block): mean = the order-0 means and 0 on order m (no mean subtraction there); variance = the order-0
 * variances, and E|z|² of its field on both channels of an order-m field; scale = γ of the channel's field;
 * offset = β on order 0, 0 on order m. `onStats(mean [C], stats [F])` receives the batch statistics (stats: the
 * order-0 variances, then E|z|² per order-m field) for the moving averages.
 *
 * The gradient is written out, as for any batch norm (x̂ = (x − mean)/√(variance + ε), N values per channel):
 *   ∂L/∂x = γ/√(variance + ε)·(dy − [order 0]·mean(dy) − x̂·Σ_{field} mean(dy·x̂)),  ∂L/∂γ_f = N·Σ_{c in f} mean(dy·x̂)_c,
 *   ∂L/∂β = N·mean(dy)
 * where the field sum is the channel itself on order 0 and Re + Im on order m (E|z|² couples them). Autodiff of
 * the same forward ran about 100 kernels per layer, most of them the gradients of the small per-channel vectors.
 */
function fieldBatchNormTraining(
  x: tf.Tensor,
  gamma: tf.Tensor,
  beta: tf.Tensor | null,
  maps: FieldMaps,
  epsilon: number,
  onStats: (mean: tf.Tensor, stats: tf.Tensor) => void,
): tf.Tensor {
  const C = maps.channels;
  const n0 = maps.order0Count;
  const order0 = () => tf.tensor1d(maps.order0);
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [xs, g] = args as [tf.Tensor, tf.Tensor];
    const b = beta ? (args[2] as tf.Tensor) : null;
    const save = args[args.length - 1] as tf.GradSaveFunc;
    const mean =
      n0 === 0 ? tf.zeros([C]) : n0 === C ? tf.mean(xs, [0, 1, 2]) : tf.mul(tf.mean(xs, [0, 1, 2]), order0());
    const centred = n0 > 0 ? tf.sub(xs, mean) : xs;
    // order 0: E(x − mean)²; order m: E re², E im², summed per field into E|z|²
    const stats = channelsToFields(tf.mean(tf.square(centred), [0, 1, 2]), maps);
    onStats(mean, stats);
    const variance = fieldsToChannels(stats, maps);
    const scale = fieldsToChannels(g, maps);
    const invStd = tf.div(1, tf.sqrt(tf.add(variance, epsilon)));
    save([centred, invStd, scale]);
    return {
      value: tf.batchNorm(xs, mean, variance, b ? padChannels(b, C) : undefined, scale, epsilon),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [xc, inv, sc] = saved as [tf.Tensor, tf.Tensor, tf.Tensor];
        const count = xc.size / C;
        const meanDy = tf.mean(dy, [0, 1, 2]);
        // per field: Σ_{c in f} mean(dy·x̂) (x̂ = (x − mean)·inv, inv the same on both channels of a field)
        const corr = channelsToFields(tf.mul(tf.mean(tf.mul(dy, xc), [0, 1, 2]), inv), maps);
        // ∂L/∂x as dy·a + (x − mean)·b + d with per-channel a, b, d: three full-size passes instead of five
        const a = tf.mul(inv, sc);
        const bx = tf.neg(tf.mul(tf.mul(a, inv), fieldsToChannels(corr, maps)));
        const shifted = n0 > 0 ? tf.add(tf.mul(xc, bx), tf.neg(tf.mul(tf.mul(a, meanDy), order0()))) : tf.mul(xc, bx);
        const dx = tf.add(tf.mul(dy, a), shifted);
        const grads = [dx, tf.mul(corr, count)];
        // β's gradient only where there is a β (no order-0 maps, no β)
        if (beta) grads.push(tf.mul(takeChannels(meanDy, 0, n0)!, count));
        return grads;
      },
    };
  });
  return beta ? op(x, gamma, beta) : op(x, gamma);
}

/**
 * Batch normalisation of feature fields that commutes with the 8 D4 symmetries exactly (and with any rotation of
 * the fields' phases): order-0 channels as tf.layers.batchNormalization; each field of order m > 0 scaled by
 * γ/√(E|z|² + ε), with no mean subtracted and no β added (a rotated field has another mean). Statistics are taken
 * over batch, height and width, which a permutation of the pixels leaves unchanged. training true: batch
 * statistics, moving statistics updated as tfjs does; otherwise the moving statistics.
 */
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
  private mapsCache: FieldMaps | null = null;

  constructor(args: FieldBatchNormArgs) {
    super(args);
    const where = 'FieldBatchNorm';
    if (args == null || typeof args !== 'object') invalid(where, 'args', args, 'an options object with fields');
    this.fields = checkFields(where, 'fields', args.fields);
    this.momentum = args.momentum ?? 0.99;
    if (typeof this.momentum !== 'number' || !(this.momentum >= 0 && this.momentum <= 1))
      invalid(where, 'momentum', args.momentum, 'a number in [0, 1]');
    this.epsilon = args.epsilon ?? 1e-3;
    if (typeof this.epsilon !== 'number' || !(this.epsilon > 0) || !Number.isFinite(this.epsilon))
      invalid(where, 'epsilon', args.epsilon, 'a finite positive number');
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
      const maps = this.maps;
      const n0 = maps.order0Count;
      const gamma = this.joinFields(this.gamma0, this.fieldGamma);
      if (kwargs?.training === true) {
        const beta = this.beta0?.read() ?? null;
        const onStats = (mean: tf.Tensor, stats: tf.Tensor) => this.updateMovingStatistics(mean, stats);
        return fieldBatchNormKernelHere(x)
          ? fusedFieldBatchNorm(x, gamma, beta, { fields: this.fields, epsilon: this.epsilon }, onStats)
          : fieldBatchNormTraining(x, gamma, beta, maps, this.epsilon, onStats);
      }
      const C = maps.channels;
      const mean = n0 === 0 ? tf.zeros([C]) : padChannels(this.movingMean!.read(), C);
      const variance = fieldsToChannels(this.joinFields(this.movingVariance, this.movingSquareNorm), maps);
      const offset = n0 === 0 ? undefined : padChannels(this.beta0!.read(), C);
      return tf.batchNorm(x, mean, variance, offset, fieldsToChannels(gamma, maps), this.epsilon);
    });
  }

  /** The moving averages after a training batch with these batch statistics (mean [C], stats [F]). */
  private updateMovingStatistics(mean: tf.Tensor, stats: tf.Tensor): void {
    const n0 = this.maps.order0Count;
    if (n0 > 0) {
      movingAverage(this.movingMean!, takeChannels(mean, 0, n0)!, this.momentum);
      movingAverage(this.movingVariance!, takeChannels(stats, 0, n0)!, this.momentum);
    }
    if (this.movingSquareNorm)
      movingAverage(this.movingSquareNorm, takeChannels(stats, n0, this.maps.fieldCount - n0)!, this.momentum);
  }

  /** A per-field vector [F] from an order-0 part [n0] and an order-m part [n1 + n2] (either may be absent). */
  private joinFields(order0: LayerVariable | null, orderM: LayerVariable | null): tf.Tensor {
    const parts = [order0, orderM].filter((v): v is LayerVariable => v != null).map((v) => v.read());
    return parts.length === 1 ? parts[0]! : tf.concat(parts);
  }

  /** The layout's channel maps, built once (plain arrays). */
  private get maps(): FieldMaps {
    return (this.mapsCache ??= fieldMaps(this.fields));
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), fields: this.fields, momentum: this.momentum, epsilon: this.epsilon };
  }
}

tf.serialization.registerClass(FieldBatchNorm);
