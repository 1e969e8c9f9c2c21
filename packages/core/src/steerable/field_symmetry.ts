/**
 * How the 8 symmetries of the pixel grid (D4) act on feature fields: move the pixels as applyD4 does, then turn
 * each order-m field: z ↦ e^{imθ}·z (rotations by θ) or e^{imθ}·conj(z) (the mirrors, θ being the angle of the
 * mirror's rotation part). This is what "a steerable layer is equivariant" means for its outputs:
 * layer(g·x) = g·layer(x) with g acting this way on both sides.
 *
 * Angles are those of φ = atan2(row offset, column offset) used by the filters (x to the right, y down), so
 * applyD4's 'rot90' (numpy.rot90, counter-clockwise on screen) is θ = −90° here.
 */
import * as tf from '@tensorflow/tfjs-core';
import { applyD4, type D4Element } from '../equivariance/d4.js';
import { invalid } from '../utils/errors.js';
import { type Fields, fieldLayout, MAX_FIELD_ORDER } from './fields.js';

/**
 * Each element as (rotation by `quarterTurns`·90°) ∘ (optional mirror y ↦ −y), acting on pixel offsets (x, y).
 * Derived from applyD4's index maps, e.g. rot90 out[i, j] = m[j, W−1−i] reads (x, y) from (−y, x), so it moves
 * (x, y) to (y, −x): −90°. steerable_fields.test.ts checks every row against applyD4 on one-hot images.
 */
export const D4_FIELD_ACTION: Readonly<Record<D4Element, { quarterTurns: number; mirror: boolean }>> = {
  identity: { quarterTurns: 0, mirror: false },
  rot90: { quarterTurns: 3, mirror: false },
  rot180: { quarterTurns: 2, mirror: false },
  rot270: { quarterTurns: 1, mirror: false },
  flipH: { quarterTurns: 2, mirror: true }, // (x, y) ↦ (−x, y) = rot 180° ∘ (y ↦ −y)
  flipV: { quarterTurns: 0, mirror: true }, // (x, y) ↦ (x, −y)
  transpose: { quarterTurns: 1, mirror: true }, // (x, y) ↦ (y, x)
  antiTranspose: { quarterTurns: 3, mirror: true }, // (x, y) ↦ (−y, −x)
};

/** The 2×2 matrix [[re←re, re←im], [im←re, im←im]] an element applies to (Re z, Im z) of an order-m field. */
export function fieldTurn(element: D4Element, order: number): [[number, number], [number, number]] {
  const action = D4_FIELD_ACTION[element];
  if (!action) invalid('fieldTurn', 'element', element, 'a D4 element name (see D4_ELEMENTS)');
  const q = (((action.quarterTurns * order) % 4) + 4) % 4;
  const c = [1, 0, -1, 0][q]!;
  const s = [0, 1, 0, -1][q]!;
  // e^{imθ}·(a + i·(±b)): the conjugation flips the sign of b first.
  const sb = action.mirror ? -1 : 1;
  return [
    [c, -s * sb],
    [s, c * sb],
  ];
}

/** Mixes the channels of a [..., channels] field tensor: order 0 kept, each order-m pair multiplied by turn(m). */
function mixFields(
  x: tf.Tensor,
  fields: Fields,
  turn: (order: number) => [[number, number], [number, number]],
): tf.Tensor {
  const layout = fieldLayout(fields);
  const c = layout.channels;
  // One channel-mixing matrix; out[:, col] = Σ_row in[:, row]·mix[row, col].
  const mix = new Float32Array(c * c);
  for (let i = 0; i < layout.fields[0]; i++) mix[i * c + i] = 1;
  for (let m = 1; m <= MAX_FIELD_ORDER; m++) {
    const t = turn(m);
    for (let i = 0; i < layout.fields[m]; i++) {
      const re = layout.re[m] + i;
      const im = layout.im[m] + i;
      mix[re * c + re] = t[0][0];
      mix[im * c + re] = t[0][1];
      mix[re * c + im] = t[1][0];
      mix[im * c + im] = t[1][1];
    }
  }
  return tf.reshape(tf.matMul(tf.reshape(x, [-1, c]), tf.tensor2d(mix, [c, c])), x.shape);
}

function checkFieldTensor(where: string, x: tf.Tensor, fields: Fields): void {
  const channels = fieldLayout(fields).channels;
  if (x.rank !== 4 || x.shape[3] !== channels)
    invalid(where, 'x', x, `a [batch, height, width, ${channels}] tensor for fields [${fields.join(', ')}]`);
}

/** g·x for a channelsLast field tensor [B, H, W, channels]: pixels moved by applyD4, each field turned (exactly: the turns are 0/±1). */
export function applyD4ToFields(x: tf.Tensor, element: D4Element, fields: Fields): tf.Tensor {
  checkFieldTensor('applyD4ToFields', x, fields);
  return tf.tidy(() => mixFields(applyD4(x, element), fields, (m) => fieldTurn(element, m)));
}

/**
 * Multiplies each order-m field by e^{imα} (α in radians, in the filters' convention φ = atan2(row, column)), pixels
 * unmoved. With rotateBilinear by +θ degrees (counter-clockwise on screen) the matching turn is α = −θ·π/180: that is
 * how steerable_stack.test.ts measures the 45° error.
 */
export function turnFields(x: tf.Tensor, fields: Fields, alpha: number): tf.Tensor {
  checkFieldTensor('turnFields', x, fields);
  if (typeof alpha !== 'number' || !Number.isFinite(alpha))
    invalid('turnFields', 'alpha', alpha, 'a finite angle in radians');
  return tf.tidy(() =>
    mixFields(x, fields, (m) => {
      const [c, s] = [Math.cos(m * alpha), Math.sin(m * alpha)];
      return [
        [c, -s],
        [s, c],
      ];
    }),
  );
}
