/**
 * The gate of FieldNonlinearity ('gate' mode) as one op: ReLU on the order-0 maps and z·σ(s) on every order-m field,
 *   x [..., n0 + 3K] = [order-0 maps (n0) | gates (K = n1 + n2) | Re1 (n1) | Im1 (n1) | Re2 (n2) | Im2 (n2)]
 *   → [..., n0 + 2K] = [ReLU(maps) | Re1·σ(g1) | Im1·σ(g1) | Re2·σ(g2) | Im2·σ(g2)].
 * A backend that registers the kernel FIELD_GATE (and FIELD_GATE_GRAD for training; the native backends do) runs it
 * in one pass each way; composed from split, sigmoid, products and concat it was, on `native`, 40 % of a steerable
 * network's training step and more than half of its inference (`gmr bench --model gmr-steerable --profile`), more
 * than its convolutions. Every other backend runs the composed form, unchanged.
 */
import * as tf from '@tensorflow/tfjs-core';
import { FIELD_GATE, FIELD_GATE_GRAD, type FieldGateAttrs } from '../kernel/field_kernel_names.js';
import { registerFieldKernelGradient } from './field_kernel_gradient.js';
import type { Fields } from './fields.js';

/** Where the fused kernels serve: float32 input on a backend that registers both. */
function fusedHere(x: tf.Tensor): boolean {
  const backend = tf.getBackend();
  return (
    x.dtype === 'float32' && tf.getKernel(FIELD_GATE, backend) != null && tf.getKernel(FIELD_GATE_GRAD, backend) != null
  );
}

/**
 * The composed form by blocks: one split into [order-0 maps | gates | Re/Im of the fields], the gates broadcast onto
 * the Re and Im blocks of their order by a reshape to [..., orders, Re/Im, fields], and one concat. Blocks rather
 * than 0/1 channel-selection products: those measured 10–20 % slower on `native` (its products are slow when an
 * operand is this narrow); most of the time is the sigmoid either way.
 */
export function composedFieldGate(x: tf.Tensor, fields: Fields): tf.Tensor {
  return tf.tidy(() => {
    const [n0, n1, n2] = fields;
    const lead = x.shape.slice(0, -1);
    const axis = x.rank - 1;
    const sizes = [n0, n1 + n2, 2 * (n1 + n2)];
    const parts = tf.split(
      x,
      sizes.filter((n) => n > 0),
      axis,
    );
    const [maps, gates, complex] = n0 > 0 ? parts : [null, ...parts];
    const sigma = tf.sigmoid(gates!);
    // [..., orders, 2 (Re, Im), fields of the order] × [..., orders, 1, fields]: one product when both orders hold
    // as many fields (or one is empty), else one per order
    const orders = [n1, n2].filter((n) => n > 0);
    let gated: tf.Tensor;
    if (orders.length === 1 || n1 === n2) {
      const n = orders[0]!;
      const shape = [...lead, orders.length, 2, n];
      gated = tf.reshape(tf.mul(tf.reshape(complex!, shape), tf.reshape(sigma, [...lead, orders.length, 1, n])), [
        ...lead,
        2 * (n1 + n2),
      ]);
    } else {
      const [z1, z2] = tf.split(complex!, [2 * n1, 2 * n2], axis);
      const [s1, s2] = tf.split(sigma, [n1, n2], axis);
      const turn = (z: tf.Tensor, g: tf.Tensor, n: number) =>
        tf.reshape(tf.mul(tf.reshape(z, [...lead, 2, n]), tf.reshape(g, [...lead, 1, n])), [...lead, 2 * n]);
      gated = tf.concat([turn(z1!, s1!, n1), turn(z2!, s2!, n2)], axis);
    }
    return maps ? tf.concat([tf.relu(maps), gated], axis) : gated;
  });
}

/**
 * The gate on x (last axis laid out as above) for output fields `fields` with n1 + n2 > 0: the fused kernel where the
 * backend has it, else composedFieldGate. Both compute the same function and gradient (tested on `native` vs cpu).
 */
export function fieldGate(x: tf.Tensor, fields: Fields): tf.Tensor {
  if (!fusedHere(x)) return composedFieldGate(x, fields);
  const attrs: FieldGateAttrs = { fields: [fields[0], fields[1], fields[2]] };
  return tf.engine().runKernel(FIELD_GATE, { x }, attrs as unknown as tf.NamedAttrMap) as tf.Tensor;
}

registerFieldKernelGradient(FIELD_GATE, FIELD_GATE_GRAD);
