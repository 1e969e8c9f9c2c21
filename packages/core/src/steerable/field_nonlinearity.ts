/**
 * FieldNonlinearity: point-wise non-linearities that commute with rotations and mirrors of feature fields.
 *
 * A ReLU on Re z and Im z separately would not: rotating z changes which parts are negative. What commutes with
 * z ↦ e^{iα}z and z ↦ conj z is a non-linearity of the magnitude times the phase, so:
 * - order 0: ReLU (a scalar map is invariant under both);
 * - 'norm-relu' (default), order m > 0: z·ReLU(|z| + b)/|z| with |z| = √(a² + b² + ε) and one learned bias b per
 *   field (Harmonic Networks, Worrall et al. 2017). b starts at 0: then the field passes unchanged at first (after a
 *   FieldBatchNorm |z| is of order 1), so no field starts dead; training makes b negative where thresholding helps.
 * - 'gate', order m > 0: z·sigmoid(s) with s an order-0 "gate" channel of the same layer (Weiler et al. 2018).
 *   The input then carries one gate per field of order ≥ 1 right after the order-0 maps:
 *     [order-0 maps (n0) | gates for the order-1 fields (n1) | gates for the order-2 fields (n2) | Re1 | Im1 | Re2 | Im2]
 *   i.e. the layout of `gatedFields(fields)` = [n0 + n1 + n2, n1, n2]: give a GMRSteerableConv2D those fields. The
 *   gates are consumed; the output has the layout of `fields`.
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import type { LayerArgs } from '@tensorflow/tfjs-layers/dist/engine/topology.js';
import { invalid } from '../utils/errors.js';
import { resolveSerializable, serializeObject } from '../layers/identifiers.js';
import { checkFieldInput, checkFields, type Fields, fieldLayout } from './fields.js';
import { type FieldMaps, fieldMaps } from './field_maps.js';
import { fieldGate } from './field_gate.js';

type Initializer = { apply(shape: number[], dtype?: tf.DataType): tf.Tensor };
type LayerVariable = { read(): tf.Tensor };

export const FIELD_NONLINEARITY_MODES = ['norm-relu', 'gate'] as const;
export type FieldNonlinearityMode = (typeof FIELD_NONLINEARITY_MODES)[number];

export interface FieldNonlinearityArgs extends LayerArgs {
  /** The output fields [n0, n1, n2] (also the input's, plus the gate channels in 'gate' mode). */
  fields: Fields;
  mode?: FieldNonlinearityMode;
  /** ε under the square root of |z| (keeps the gradient finite at z = 0). Default 1e-6. */
  epsilon?: number;
  /** Initial norm-ReLU biases (default zeros). */
  biasInitializer?: string | Initializer | tf.serialization.ConfigDict;
}

/** The fields a conv should output to feed a 'gate' FieldNonlinearity with output `fields`. */
export function gatedFields(fields: Fields): Fields {
  const [n0, n1, n2] = checkFields('gatedFields', 'fields', fields);
  return [n0 + n1 + n2, n1, n2];
}

/**
 * ReLU on order-0 channels and z·ReLU(|z| + b)/|z| on order-m channels, on the whole tensor, with the gradient
 * written out: autodiff of the same expression runs about twice as many full-size ops (the quotient's gradient
 * alone is four, and a full-size negation that `native` has no kernel for). The per-field part runs on [N, K]
 * (K = n1 + n2 fields, less than half the channels) between two products with the 0/1 map E [K, C] (field → its
 * Re and Im channels):
 *   |z| = √((x²)·Eᵀ + ε), t = |z| + b, o = ReLU(t)/|z|        (per field)
 *   y = x·(o·E) + ReLU(x)·[order 0]
 *   ∂L/∂b = Σ a·step(t)/|z|  with  a = (dy·x)·Eᵀ               (Σ over the field's two channels)
 *   ∂L/∂x = dy·(o·E + step(x)·[order 0]) + x·(a·(step(t) − o)/|z|²)·E
 */
function normRelu(x: tf.Tensor, bias: tf.Tensor, maps: FieldMaps, epsilon: number): tf.Tensor {
  const C = maps.channels;
  const K = maps.fieldCount - maps.order0Count;
  const rows = x.size / C;
  const fieldToChannels = () => tf.tensor2d(maps.expand.subarray(maps.order0Count * C), [K, C]);
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [xs, b, save] = args as [tf.Tensor, tf.Tensor, tf.GradSaveFunc];
    const e = fieldToChannels();
    const norm = tf.sqrt(
      tf.fused.matMul({ a: tf.reshape(tf.square(xs), [rows, C]), b: e, transposeB: true, bias: tf.fill([K], epsilon) }),
    );
    const t = tf.add(norm, b);
    const open = tf.div(tf.relu(t), norm);
    const factor = tf.reshape(tf.matMul(open, e), xs.shape); // 0 on order-0 channels
    // ReLU(x) rather than x·step(x) on order 0: the latter is −0 for x < 0
    const order0 = maps.order0Count > 0 ? tf.mul(tf.relu(xs), tf.tensor1d(maps.order0)) : null;
    save(order0 ? [xs, norm, t, open, factor, order0] : [xs, norm, t, open, factor]);
    return {
      value: order0 ? tf.add(tf.mul(xs, factor), order0) : tf.mul(xs, factor),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [xv, n, tv, o, fc, r0] = saved as [
          tf.Tensor,
          tf.Tensor,
          tf.Tensor,
          tf.Tensor,
          tf.Tensor,
          tf.Tensor | undefined,
        ];
        const e2 = fieldToChannels();
        const u = tf.div(tf.matMul(tf.reshape(tf.mul(dy, xv), [rows, C]), e2, false, true), n); // a/|z| per field
        const passing = tf.step(tv);
        const db = tf.sum(tf.mul(u, passing), 0);
        const viaNorm = tf.reshape(tf.matMul(tf.div(tf.mul(u, tf.sub(passing, o)), n), e2), xv.shape);
        const f = r0 ? tf.add(fc, tf.step(r0)) : fc; // ∂y_c/∂x_c at fixed |z|: step(x) on order 0 (r0 > 0 exactly there)
        return [tf.add(tf.mul(dy, f), tf.mul(xv, viaNorm)), db];
      },
    };
  });
  return op(x, bias);
}

/**
 * Point-wise non-linearities of feature fields that commute exactly with the 8 D4 symmetries (and with any rotation
 * of the fields' phases): ReLU on order-0 channels; on each field z of order m > 0 either 'norm-relu'
 * z·ReLU(|z| + b)/|z| with one learned bias b per field, or 'gate' z·sigmoid(s) with s an order-0 gate channel that
 * the input carries (lay the input out as `gatedFields(fields)`). Both act on the magnitude and keep the phase, so
 * turning or conjugating a field commutes with them. No cache.
 */
export class FieldNonlinearity extends tfl.layers.Layer {
  static className = 'FieldNonlinearity';
  readonly fields: Fields;
  readonly mode: FieldNonlinearityMode;
  readonly epsilon: number;
  private biasInitializer?: Initializer;
  private biasVar: LayerVariable | null = null;
  private mapsCache: FieldMaps | null = null;

  constructor(args: FieldNonlinearityArgs) {
    super(args);
    const where = 'FieldNonlinearity';
    if (args == null || typeof args !== 'object') invalid(where, 'args', args, 'an options object with fields');
    this.fields = checkFields(where, 'fields', args.fields);
    this.mode = args.mode ?? 'norm-relu';
    if (!(FIELD_NONLINEARITY_MODES as readonly string[]).includes(this.mode))
      invalid(where, 'mode', args.mode, "'norm-relu' or 'gate'");
    this.epsilon = args.epsilon ?? 1e-6;
    if (!(this.epsilon > 0) || !Number.isFinite(this.epsilon))
      invalid(where, 'epsilon', args.epsilon, 'a finite positive number');
    this.biasInitializer = resolveSerializable<Initializer>(
      where,
      'biasInitializer',
      args.biasInitializer,
      'initializer',
    );
  }

  /** The fields of the input: `fields`, or gatedFields(fields) in 'gate' mode. */
  get inputFields(): Fields {
    return this.mode === 'gate' ? gatedFields(this.fields) : this.fields;
  }

  override build(inputShape: (number | null)[] | (number | null)[][]): void {
    const shape = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as (number | null)[];
    checkFieldInput(
      'FieldNonlinearity',
      shape,
      this.inputFields,
      this.mode === 'gate' ? 'fields (gate mode: input fields gatedFields(fields))' : 'fields',
    );
    const count = this.fields[1] + this.fields[2];
    if (this.mode === 'norm-relu' && count > 0) {
      const addWeight = (this as unknown as { addWeight: (...a: unknown[]) => LayerVariable }).addWeight.bind(this);
      this.biasVar = addWeight(
        'bias',
        [count],
        'float32',
        this.biasInitializer ?? { apply: (s: number[]) => tf.zeros(s) },
        undefined,
        true,
      );
    }
    this.built = true;
  }

  override computeOutputShape(inputShape: (number | null)[] | (number | null)[][]): (number | null)[] {
    const shape = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as (number | null)[];
    return [...shape.slice(0, 3), fieldLayout(this.fields).channels];
  }

  override call(inputs: tf.Tensor | tf.Tensor[], _kwargs: { [k: string]: unknown }): tf.Tensor {
    return tf.tidy(() => {
      const x = Array.isArray(inputs) ? inputs[0]! : inputs;
      checkFieldInput('FieldNonlinearity', x.shape, this.inputFields);
      const maps = this.maps;
      if (maps.order0Count === maps.channels) return tf.relu(x); // order-0 maps only
      if (this.mode === 'gate') return fieldGate(x, this.fields);
      return normRelu(x, this.biasVar!.read(), maps, this.epsilon);
    });
  }

  /** The output layout's channel maps, built once (plain arrays). */
  private get maps(): FieldMaps {
    return (this.mapsCache ??= fieldMaps(this.fields));
  }

  override getConfig(): tf.serialization.ConfigDict {
    return {
      ...super.getConfig(),
      fields: this.fields,
      mode: this.mode,
      epsilon: this.epsilon,
      biasInitializer: serializeObject(this.biasInitializer),
    };
  }
}

tf.serialization.registerClass(FieldNonlinearity);
