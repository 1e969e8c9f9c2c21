/**
 * Constant channel maps of a field layout, so the field layers work on the whole [..., C] tensor at once.
 *
 * Why: slicing the channel axis into the blocks of fields.ts and concatenating them back costs a copy per block
 * forward and a full-size zero-padded copy (the slice's gradient) per block backward, in every layer. On `native`
 * Slice, PadV2, SplitV and Concat took more of a steerable network's training step than its convolutions. With
 * these maps a per-field quantity is one matrix product away from per-channel form and back:
 *   per-field → per-channel:   v[1, F] · expand[F, C]
 *   per-channel → per-field:   s[1, C] · expandᵀ            (sums the Re and Im channels of a field)
 *   |z|² of every field:       (x²)[N, C] · expandᵀ → [N, F] (an order-0 field: x²)
 * The maps are 0/1 matrices, so the products are exact sums; they are built once per layer as plain arrays and
 * turned into (small) tensors inside each call, which leaves no tensor for a layer to own.
 */
import * as tf from '@tensorflow/tfjs-core';
import { type Fields, fieldEntries, fieldLayout } from './fields.js';

export interface FieldMaps {
  /** Channels C = n0 + 2·n1 + 2·n2. */
  channels: number;
  /** Fields F = n0 + n1 + n2, order 0 first (the order of fieldEntries). */
  fieldCount: number;
  /** Order-0 fields n0 (the first n0 fields and the first n0 channels). */
  order0Count: number;
  /** [F, C]: 1 where channel c is a part of field f (an order-0 field's map; an order-m field's Re and Im). */
  expand: Float32Array;
  /** [C]: 1 on order-0 channels, 0 on the Re/Im channels of order m > 0. */
  order0: Float32Array;
}

export function fieldMaps(fields: Fields): FieldMaps {
  const { channels: C } = fieldLayout(fields);
  const entries = fieldEntries(fields);
  const F = entries.length;
  const expand = new Float32Array(F * C);
  const order0 = new Float32Array(C);
  for (const e of entries) {
    if (e.order === 0) {
      expand[e.index * C + e.re] = 1;
      order0[e.re] = 1;
      continue;
    }
    for (const c of [e.re, e.im]) expand[e.index * C + c] = 1;
  }
  return { channels: C, fieldCount: F, order0Count: fields[0], expand, order0 };
}

/** A per-field vector [F] (or [1, F]) as a per-channel vector [C] (call inside tf.tidy). */
export function fieldsToChannels(v: tf.Tensor, maps: FieldMaps): tf.Tensor1D {
  return tf.reshape(
    tf.matMul(tf.reshape(v, [1, maps.fieldCount]), tf.tensor2d(maps.expand, [maps.fieldCount, maps.channels])),
    [maps.channels],
  );
}

/** A per-channel vector [C] summed per field [F] (Re + Im for order m > 0; call inside tf.tidy). */
export function channelsToFields(v: tf.Tensor, maps: FieldMaps): tf.Tensor1D {
  return tf.reshape(
    tf.matMul(
      tf.reshape(v, [1, maps.channels]),
      tf.tensor2d(maps.expand, [maps.fieldCount, maps.channels]),
      false,
      true,
    ),
    [maps.fieldCount],
  );
}
