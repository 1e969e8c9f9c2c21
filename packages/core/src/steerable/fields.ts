/**
 * Feature fields of rotation order 0, 1 and 2 (steerable GMR networks, issue 11).
 *
 * A feature map carries `fields = [n0, n1, n2]` fields per order. An order-0 field is one real map; an order-m
 * field (m > 0) is a complex map z = a + ib stored as two real channels. Rotating the input by θ maps an order-m
 * field to e^{imθ}·z∘R₋θ, a mirror maps it to conj(z∘M) (see field_symmetry.ts for the D4 elements).
 *
 * Channels (channelsLast) are laid out in blocks, so every layer can slice a block with one tf.slice:
 *   [order-0 maps (n0) | Re order-1 (n1) | Im order-1 (n1) | Re order-2 (n2) | Im order-2 (n2)]
 * and the channel count is n0 + 2·n1 + 2·n2. Field i of order m has Re at `re[m] + i` and Im at `im[m] + i`.
 */
import * as tf from '@tensorflow/tfjs-core';
import { invalid } from '../utils/errors.js';

/** Field counts per rotation order: [order 0, order 1, order 2]. */
export type Fields = [number, number, number];

/** The highest rotation order a field may have. */
export const MAX_FIELD_ORDER = 2;

export interface FieldLayout {
  fields: Fields;
  /** Total channel count n0 + 2·n1 + 2·n2. */
  channels: number;
  /** Offset of the order-0 block (always 0). */
  order0: number;
  /** Offset of the Re block of order m (index 0 unused: order-0 maps are the `order0` block). */
  re: [number, number, number];
  /** Offset of the Im block of order m (index 0 unused). */
  im: [number, number, number];
}

/** Checks a `fields` option: three non-negative integers, not all zero. */
export function checkFields(where: string, param: string, value: unknown): Fields {
  const allowed = '[n0, n1, n2]: three non-negative integers (fields of rotation order 0, 1, 2), not all zero';
  if (!Array.isArray(value) || value.length !== 3) invalid(where, param, value, allowed);
  const v = value as unknown[];
  if (v.some((n) => typeof n !== 'number' || !Number.isInteger(n) || n < 0)) invalid(where, param, value, allowed);
  const f = v as Fields;
  if (f[0] + f[1] + f[2] === 0) invalid(where, param, value, allowed);
  return [f[0], f[1], f[2]];
}

/** Channel count of a field layout: n0 + 2·n1 + 2·n2. */
export function fieldChannels(fields: Fields): number {
  const f = checkFields('fieldChannels', 'fields', fields);
  return f[0] + 2 * f[1] + 2 * f[2];
}

/** Offsets of each block of the channel layout. */
export function fieldLayout(fields: Fields): FieldLayout {
  const [n0, n1, n2] = checkFields('fieldLayout', 'fields', fields);
  return {
    fields: [n0, n1, n2],
    channels: n0 + 2 * n1 + 2 * n2,
    order0: 0,
    re: [0, n0, n0 + 2 * n1],
    im: [0, n0 + n1, n0 + 2 * n1 + n2],
  };
}

/** One entry per field, in layout order (order 0 first): its order and the channels of its parts. */
export interface FieldEntry {
  order: 0 | 1 | 2;
  /** Index of the field among all fields (order 0 first, then order 1, then order 2). */
  index: number;
  /** Channel of the real part (the map itself for order 0). */
  re: number;
  /** Channel of the imaginary part; -1 for order 0. */
  im: number;
}

export function fieldEntries(fields: Fields): FieldEntry[] {
  const l = fieldLayout(fields);
  const out: FieldEntry[] = [];
  for (let m = 0; m <= MAX_FIELD_ORDER; m++) {
    for (let i = 0; i < l.fields[m]; i++) {
      const entry =
        m === 0
          ? { order: 0 as const, index: out.length, re: l.order0 + i, im: -1 }
          : { order: m as 1 | 2, index: out.length, re: l.re[m] + i, im: l.im[m] + i };
      out.push(entry);
    }
  }
  return out;
}

/** The blocks of a channelsLast field tensor (null where a block is empty). */
export interface FieldBlocks {
  order0: tf.Tensor | null;
  /** Re/Im blocks of order 1 and 2 (index 0 unused). */
  re: [null, tf.Tensor | null, tf.Tensor | null];
  im: [null, tf.Tensor | null, tf.Tensor | null];
}

/** `count` entries of the last axis from `offset`, or null when count is 0 (tfjs refuses some empty tensors). */
export function takeChannels(x: tf.Tensor, offset: number, count: number): tf.Tensor | null {
  if (count === 0) return null;
  const axis = x.rank - 1;
  const begin = x.shape.map((_, i) => (i === axis ? offset : 0));
  const size = x.shape.map((s, i) => (i === axis ? count : s));
  return tf.slice(x, begin, size);
}

/**
 * Splits a [..., channels] tensor into its blocks (call inside tf.tidy): one tf.split, whose gradient is one concat
 * (five slices would take five full-size zero-padded copies and their sum).
 */
export function splitFields(x: tf.Tensor, fields: Fields): FieldBlocks {
  const [n0, n1, n2] = fieldLayout(fields).fields;
  const sizes = [n0, n1, n1, n2, n2];
  const present = sizes.filter((n) => n > 0);
  const parts = present.length === 1 ? [x] : tf.split(x, present, x.rank - 1);
  let next = 0;
  const [order0, re1, im1, re2, im2] = sizes.map((n) => (n > 0 ? parts[next++]! : null));
  return { order0: order0!, re: [null, re1!, re2!], im: [null, im1!, im2!] };
}

/** The inverse of splitFields: concatenates the non-empty blocks in layout order. */
export function concatFields(blocks: FieldBlocks): tf.Tensor {
  const parts = [blocks.order0, blocks.re[1], blocks.im[1], blocks.re[2], blocks.im[2]].filter(
    (t): t is tf.Tensor => t != null,
  );
  return parts.length === 1 ? parts[0]! : tf.concat(parts, parts[0]!.rank - 1);
}

/** Checks that a layer's input has the channel count of `fields` on its last axis (channelsLast only). */
export function checkFieldInput(where: string, shape: (number | null)[], fields: Fields, param = 'fields'): void {
  if (shape.length !== 4)
    invalid(where, 'input shape', shape, 'rank 4 [batch, height, width, channels] (channelsLast)');
  const c = shape[3];
  const want = fieldChannels(fields);
  if (c !== want)
    invalid(
      where,
      param,
      fields,
      `a field layout with as many channels as the input (${c}); [${fields.join(', ')}] has n0 + 2·n1 + 2·n2 = ${want}`,
    );
}
