/**
 * FieldInvariants: order-0 channels computed from feature fields that no rotation or mirror changes, so a network's
 * head (pooling, dense layer) sees only invariant features while the layers before it kept the phases.
 *
 * Output channels, in this order:
 * - the order-0 maps (n0), unchanged;
 * - |z|² = a² + b² for every field of order ≥ 1 (n1 + n2). The square rather than √(|z|² + ε): it is smooth at 0
 *   without an ε, and the phase-free information is the same;
 * - with products 'paired' (default), relations between phases that magnitudes lose:
 *   Re(z_i·conj z_{i+1}) = a_i·a_{i+1} + b_i·b_{i+1} for consecutive fields of the same order (n1 − 1 and n2 − 1 of
 *   them): both turn by e^{imθ}, so the product does not, and a mirror conjugates it (Re unchanged);
 *   Re(z2_i·conj(z1_i)²) for i < min(n1, n2): z1² turns by e^{2iθ} like z2.
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import type { LayerArgs } from '@tensorflow/tfjs-layers/dist/engine/topology.js';
import { invalid } from '../utils/errors.js';
import { checkFieldInput, checkFields, Fields, fieldLayout } from './fields.js';

export const FIELD_INVARIANT_PRODUCTS = ['none', 'paired'] as const;
export type FieldInvariantProducts = (typeof FIELD_INVARIANT_PRODUCTS)[number];

export interface FieldInvariantsArgs extends LayerArgs {
  fields: Fields;
  products?: FieldInvariantProducts;
}

/** Output channel count of FieldInvariants for these fields. */
export function fieldInvariantChannels(fields: Fields, products: FieldInvariantProducts = 'paired'): number {
  const [n0, n1, n2] = checkFields('fieldInvariantChannels', 'fields', fields);
  if (!(FIELD_INVARIANT_PRODUCTS as readonly string[]).includes(products)) invalid('fieldInvariantChannels', 'products', products, "'none' or 'paired'");
  const pairs = products === 'paired' ? Math.max(n1 - 1, 0) + Math.max(n2 - 1, 0) + Math.min(n1, n2) : 0;
  return n0 + n1 + n2 + pairs;
}

/**
 * Every invariant as a sum of products of at most three channels, Σ_j S[j, o]·Π_i x[c_ij]: an order-0 map is
 * one factor, |z|² = a·a + b·b, Re(z·conj z′) = a·a′ + b·b′, Re(z2·conj(z1)²) = a2·a1·a1 − a2·b1·b1 + 2·b2·a1·b1.
 * So the layer is two matrix products on the whole [N, C] tensor: x·select + ones gives every factor of every term
 * (a 0/1 matrix picks the i-th channel of each term; a term with fewer factors gets a constant 1), the factors are
 * multiplied, and combine sums the terms into the outputs (its coefficients ±1, 2). No slicing of the channel axis: the
 * slices and their zero-padded gradients cost more than the maths (see field_maps.ts).
 */
interface InvariantProducts {
  degree: number;
  terms: number;
  outputs: number;
  /** [C, degree·terms]: column i·terms + j picks the i-th channel of term j */
  select: Float32Array;
  /** [degree·terms]: 1 where term j has no factor i */
  ones: Float32Array;
  /** [terms, outputs] */
  combine: Float32Array;
}

function invariantProducts(fields: Fields, products: FieldInvariantProducts): InvariantProducts {
  const l = fieldLayout(fields);
  const [n0, n1, n2] = l.fields;
  const terms: { out: number; coef: number; channels: number[] }[] = [];
  let out = 0;
  for (let i = 0; i < n0; i++) terms.push({ out: out++, coef: 1, channels: [l.order0 + i] });
  for (const [m, n] of [[1, n1], [2, n2]] as const) {
    for (let i = 0; i < n; i++, out++) for (const c of [l.re[m] + i, l.im[m] + i]) terms.push({ out, coef: 1, channels: [c, c] });
  }
  if (products === 'paired') {
    for (const [m, n] of [[1, n1], [2, n2]] as const) {
      for (let i = 0; i + 1 < n; i++, out++) for (const part of [l.re[m], l.im[m]]) terms.push({ out, coef: 1, channels: [part + i, part + i + 1] });
    }
    for (let i = 0; i < Math.min(n1, n2); i++, out++) {
      const [a1, b1, a2, b2] = [l.re[1] + i, l.im[1] + i, l.re[2] + i, l.im[2] + i];
      terms.push({ out, coef: 1, channels: [a2, a1, a1] }, { out, coef: -1, channels: [a2, b1, b1] }, { out, coef: 2, channels: [b2, a1, b1] });
    }
  }
  const degree = Math.max(...terms.map((t) => t.channels.length));
  const T = terms.length;
  const C = l.channels;
  const select = new Float32Array(C * degree * T);
  const ones = new Float32Array(degree * T);
  const combine = new Float32Array(T * out);
  terms.forEach((t, j) => {
    for (let i = 0; i < degree; i++) {
      if (i < t.channels.length) select[t.channels[i]! * degree * T + i * T + j] = 1;
      else ones[i * T + j] = 1;
    }
    combine[j * out + t.out] = t.coef;
  });
  return { degree, terms: T, outputs: out, select, ones, combine };
}

export class FieldInvariants extends tfl.layers.Layer {
  static className = 'FieldInvariants';
  readonly fields: Fields;
  readonly products: FieldInvariantProducts;
  private plan: InvariantProducts | null = null;

  constructor(args: FieldInvariantsArgs) {
    super(args);
    const where = 'FieldInvariants';
    if (args == null || typeof args !== 'object') invalid(where, 'args', args, 'an options object with fields');
    this.fields = checkFields(where, 'fields', args.fields);
    this.products = args.products ?? 'paired';
    if (!(FIELD_INVARIANT_PRODUCTS as readonly string[]).includes(this.products)) invalid(where, 'products', args.products, "'none' or 'paired'");
  }

  static outputChannels(fields: Fields, products: FieldInvariantProducts = 'paired'): number {
    return fieldInvariantChannels(fields, products);
  }

  override build(inputShape: (number | null)[] | (number | null)[][]): void {
    checkFieldInput('FieldInvariants', (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as (number | null)[], this.fields);
    this.built = true;
  }

  override computeOutputShape(inputShape: (number | null)[] | (number | null)[][]): (number | null)[] {
    const shape = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as (number | null)[];
    return [...shape.slice(0, 3), fieldInvariantChannels(this.fields, this.products)];
  }

  override call(inputs: tf.Tensor | tf.Tensor[], _kwargs: { [k: string]: unknown }): tf.Tensor {
    return tf.tidy(() => {
      const x = Array.isArray(inputs) ? inputs[0]! : inputs;
      checkFieldInput('FieldInvariants', x.shape, this.fields);
      const p = (this.plan ??= invariantProducts(this.fields, this.products));
      const C = x.shape[3]!;
      const rows = x.size / C;
      const flat = tf.reshape(x, [rows, C]);
      // every factor of every term in one product: the selected channel, or 1 where the term has fewer factors
      const all = tf.fused.matMul({ a: flat, b: tf.tensor2d(p.select, [C, p.degree * p.terms]), bias: tf.tensor1d(p.ones) });
      const factors = p.degree === 1 ? [all] : tf.split(all, p.degree, 1);
      const product = factors.reduce((a, b) => tf.mul(a, b));
      const out = tf.matMul(product, tf.tensor2d(p.combine, [p.terms, p.outputs]));
      return tf.reshape(out, [...x.shape.slice(0, 3), p.outputs]);
    });
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), fields: this.fields, products: this.products };
  }
}

tf.serialization.registerClass(FieldInvariants);
