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
import { checkFieldInput, checkFields, concatFields, Fields, fieldLayout, splitFields, takeChannels } from './fields.js';

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

export class FieldNonlinearity extends tfl.layers.Layer {
  static className = 'FieldNonlinearity';
  readonly fields: Fields;
  readonly mode: FieldNonlinearityMode;
  readonly epsilon: number;
  private biasInitializer?: Initializer;
  private biasVar: LayerVariable | null = null;

  constructor(args: FieldNonlinearityArgs) {
    super(args);
    const where = 'FieldNonlinearity';
    if (args == null || typeof args !== 'object') invalid(where, 'args', args, 'an options object with fields');
    this.fields = checkFields(where, 'fields', args.fields);
    this.mode = args.mode ?? 'norm-relu';
    if (!(FIELD_NONLINEARITY_MODES as readonly string[]).includes(this.mode)) invalid(where, 'mode', args.mode, "'norm-relu' or 'gate'");
    this.epsilon = args.epsilon ?? 1e-6;
    if (!(this.epsilon > 0) || !Number.isFinite(this.epsilon)) invalid(where, 'epsilon', args.epsilon, 'a finite positive number');
    this.biasInitializer = resolveSerializable<Initializer>(where, 'biasInitializer', args.biasInitializer, 'initializer');
  }

  /** The fields of the input: `fields`, or gatedFields(fields) in 'gate' mode. */
  get inputFields(): Fields {
    return this.mode === 'gate' ? gatedFields(this.fields) : this.fields;
  }

  override build(inputShape: (number | null)[] | (number | null)[][]): void {
    const shape = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as (number | null)[];
    checkFieldInput('FieldNonlinearity', shape, this.inputFields, this.mode === 'gate' ? 'fields (gate mode: input fields gatedFields(fields))' : 'fields');
    const count = this.fields[1] + this.fields[2];
    if (this.mode === 'norm-relu' && count > 0) {
      const addWeight = (this as unknown as { addWeight: (...a: unknown[]) => LayerVariable }).addWeight.bind(this);
      this.biasVar = addWeight('bias', [count], 'float32', this.biasInitializer ?? { apply: (s: number[]) => tf.zeros(s) }, undefined, true);
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
      const blocks = splitFields(x, this.inputFields);
      const [n0, n1, n2] = this.fields;
      let gates: tf.Tensor | null = null;
      let scalars = blocks.order0;
      if (this.mode === 'gate' && n1 + n2 > 0) {
        scalars = takeChannels(blocks.order0!, 0, n0);
        gates = tf.sigmoid(takeChannels(blocks.order0!, n0, n1 + n2)!);
      }
      const factors: (tf.Tensor | null)[] = [null, null, null];
      if (gates) {
        factors[1] = takeChannels(gates, 0, n1);
        factors[2] = takeChannels(gates, n1, n2);
      } else if (this.biasVar) {
        const bias = this.biasVar.read();
        const b = [takeChannels(bias, 0, n1), takeChannels(bias, n1, n2)];
        for (const m of [1, 2] as const) {
          if (!blocks.re[m]) continue;
          const norm = tf.sqrt(tf.add(tf.add(tf.square(blocks.re[m]!), tf.square(blocks.im[m]!)), this.epsilon));
          factors[m] = tf.div(tf.relu(tf.add(norm, b[m - 1]!)), norm);
        }
      }
      const out = {
        order0: scalars ? tf.relu(scalars) : null,
        re: [null, null, null] as [null, tf.Tensor | null, tf.Tensor | null],
        im: [null, null, null] as [null, tf.Tensor | null, tf.Tensor | null],
      };
      for (const m of [1, 2] as const) {
        if (!blocks.re[m]) continue;
        out.re[m] = tf.mul(blocks.re[m]!, factors[m]!);
        out.im[m] = tf.mul(blocks.im[m]!, factors[m]!);
      }
      return concatFields(out);
    });
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
