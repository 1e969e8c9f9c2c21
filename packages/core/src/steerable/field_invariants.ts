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
 *
 * Unlike the other field layers this one works on the blocks (one split, then slices of the narrow blocks): whole-
 * tensor forms built from 0/1 matrices (field_maps.ts) measured 1.3–2× slower on `native` at a steerable network's
 * shapes (batch 32; 28×28 [8, 8, 8] to 7×7 [32, 16, 16]), because each product term needs its own wide
 * intermediate, while the blocks here are narrow, and the layer runs once per network.
 *
 * A backend that registers FIELD_INVARIANTS and FIELD_INVARIANTS_GRAD (the native backends do) runs the layer as one
 * kernel each way: composed, it is ~30 small kernels forward and ~40 backward (split, slices, pads, products, concat),
 * ~3.5 ms of a steerable network's 40 ms training step on `native`. The kernel's outputs are the composed form's, in
 * the same order and rounded alike; every other backend runs the composed form, unchanged.
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import type { LayerArgs } from '@tensorflow/tfjs-layers/dist/engine/topology.js';
import { FIELD_INVARIANTS, FIELD_INVARIANTS_GRAD, type FieldInvariantsAttrs } from '../kernel/field_kernel_names.js';
import { invalid } from '../utils/errors.js';
import { registerFieldKernelGradient } from './field_kernel_gradient.js';
import { checkFieldInput, checkFields, type Fields, splitFields, takeChannels } from './fields.js';

export const FIELD_INVARIANT_PRODUCTS = ['none', 'paired'] as const;
export type FieldInvariantProducts = (typeof FIELD_INVARIANT_PRODUCTS)[number];

export interface FieldInvariantsArgs extends LayerArgs {
  fields: Fields;
  products?: FieldInvariantProducts;
}

/** Output channel count of FieldInvariants for these fields. */
export function fieldInvariantChannels(fields: Fields, products: FieldInvariantProducts = 'paired'): number {
  const [n0, n1, n2] = checkFields('fieldInvariantChannels', 'fields', fields);
  if (!(FIELD_INVARIANT_PRODUCTS as readonly string[]).includes(products))
    invalid('fieldInvariantChannels', 'products', products, "'none' or 'paired'");
  const pairs = products === 'paired' ? Math.max(n1 - 1, 0) + Math.max(n2 - 1, 0) + Math.min(n1, n2) : 0;
  return n0 + n1 + n2 + pairs;
}

/** Where the kernels serve: float32 x on a backend that registers both. */
function invariantKernelsHere(x: tf.Tensor): boolean {
  const backend = tf.getBackend();
  return (
    x.dtype === 'float32' &&
    tf.getKernel(FIELD_INVARIANTS, backend) != null &&
    tf.getKernel(FIELD_INVARIANTS_GRAD, backend) != null
  );
}

/** The composed form by blocks (call inside tf.tidy): one split, slices of the narrow blocks, one concat. */
function composedFieldInvariants(x: tf.Tensor, fields: Fields, products: FieldInvariantProducts): tf.Tensor {
  const b = splitFields(x, fields);
  const [, n1, n2] = fields;
  const parts: (tf.Tensor | null)[] = [b.order0];
  for (const m of [1, 2]) if (b.re[m]) parts.push(tf.add(tf.square(b.re[m]!), tf.square(b.im[m]!)));
  if (products === 'paired') {
    // Re(z_i·conj z_{i+1}) for consecutive fields of one order.
    for (const [m, n] of [
      [1, n1],
      [2, n2],
    ] as const) {
      if (n < 2) continue;
      const [re, im] = [b.re[m]!, b.im[m]!];
      const [a0, a1, b0, b1] = [
        takeChannels(re, 0, n - 1)!,
        takeChannels(re, 1, n - 1)!,
        takeChannels(im, 0, n - 1)!,
        takeChannels(im, 1, n - 1)!,
      ];
      parts.push(tf.add(tf.mul(a0, a1), tf.mul(b0, b1)));
    }
    // Re(z2_i·conj(z1_i)²) = a2·(a1² − b1²) + b2·2·a1·b1.
    const k = Math.min(n1, n2);
    if (k > 0) {
      const [a1, b1, a2, b2] = [
        takeChannels(b.re[1]!, 0, k)!,
        takeChannels(b.im[1]!, 0, k)!,
        takeChannels(b.re[2]!, 0, k)!,
        takeChannels(b.im[2]!, 0, k)!,
      ];
      parts.push(tf.add(tf.mul(a2, tf.sub(tf.square(a1), tf.square(b1))), tf.mul(b2, tf.mul(2, tf.mul(a1, b1)))));
    }
  }
  const present = parts.filter((t): t is tf.Tensor => t != null);
  return present.length === 1 ? present[0]! : tf.concat(present, 3);
}

/** The layer through the kernel; its gradient is FIELD_INVARIANTS_GRAD (registered below). */
function kernelFieldInvariants(x: tf.Tensor, fields: Fields, products: FieldInvariantProducts): tf.Tensor {
  const attrs: FieldInvariantsAttrs = { fields: [fields[0], fields[1], fields[2]], products };
  return tf.engine().runKernel(FIELD_INVARIANTS, { x }, attrs as unknown as tf.NamedAttrMap) as tf.Tensor;
}

registerFieldKernelGradient(FIELD_INVARIANTS, FIELD_INVARIANTS_GRAD);

/**
 * Order-0 channels from feature fields that no D4 symmetry (nor any rotation of the phases) changes: the order-0
 * maps, |z|² of every field of order ≥ 1, and with products 'paired' the phase relations Re(z_i·conj z_{i+1})
 * and Re(z2_i·conj(z1_i)²). Point-wise, so it commutes with moving pixels, and its outputs do not change when a
 * field turns or is conjugated: a D4 symmetry of the input moves the output's pixels and nothing else, exactly.
 * No weights, no cache.
 */
export class FieldInvariants extends tfl.layers.Layer {
  static className = 'FieldInvariants';
  readonly fields: Fields;
  readonly products: FieldInvariantProducts;

  constructor(args: FieldInvariantsArgs) {
    super(args);
    const where = 'FieldInvariants';
    if (args == null || typeof args !== 'object') invalid(where, 'args', args, 'an options object with fields');
    this.fields = checkFields(where, 'fields', args.fields);
    this.products = args.products ?? 'paired';
    if (!(FIELD_INVARIANT_PRODUCTS as readonly string[]).includes(this.products))
      invalid(where, 'products', args.products, "'none' or 'paired'");
  }

  static outputChannels(fields: Fields, products: FieldInvariantProducts = 'paired'): number {
    return fieldInvariantChannels(fields, products);
  }

  override build(inputShape: (number | null)[] | (number | null)[][]): void {
    checkFieldInput(
      'FieldInvariants',
      (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as (number | null)[],
      this.fields,
    );
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
      return invariantKernelsHere(x)
        ? kernelFieldInvariants(x, this.fields, this.products)
        : composedFieldInvariants(x, this.fields, this.products);
    });
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), fields: this.fields, products: this.products };
  }
}

tf.serialization.registerClass(FieldInvariants);
