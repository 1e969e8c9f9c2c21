/**
 * The dihedral group D4: the 8 symmetries of the square pixel grid, acting on
 * the two spatial axes of [B, H, W, C] (channelsLast) or [B, C, H, W]
 * (channelsFirst) tensors. GMR kernels are invariant under all of them, so a
 * GMR network built with odd kernels and symmetric grids commutes with them
 * exactly: rotating or flipping the input rotates or flips the output, with no
 * interpolation error, because each of these maps only permutes pixels.
 *
 * Conventions (for an H×W image m, output index (i, j)):
 *   rot90          m[j, W−1−i]          = numpy.rot90(m, 1, axes=(-2,-1)), counter-clockwise,
 *                                          = the oracle's rotate_bilinear at θ = +90°
 *   rot180         m[H−1−i, W−1−j]
 *   rot270         m[H−1−j, i]          = numpy.rot90(m, 3, axes=(-2,-1))
 *   flipH          m[i, W−1−j]          = torch.flip(x, (3,)) in NCHW (the oracle's 'flip_w')
 *   flipV          m[H−1−i, j]          = the oracle's 'flip_h'
 *   transpose      m[j, i]
 *   antiTranspose  m[W−1−j, H−1−i]
 */
import type * as tf from '@tensorflow/tfjs-core';
import type { DataFormat } from '../ops/attrs.js';
import { invalid } from '../utils/errors.js';
import {
  applySpatialSymmetry,
  composeSymmetries,
  invertSymmetry,
  sameSymmetry,
  type SpatialSymmetry,
  symmetryDeterminant,
} from './signed_permutation.js';

export type D4Element = 'identity' | 'rot90' | 'rot180' | 'rot270' | 'flipH' | 'flipV' | 'transpose' | 'antiTranspose';

/** Spatial axis 0 = H, 1 = W. Each entry: reverse `flips`, then transpose by `perm`. */
const D4_TABLE: Record<D4Element, SpatialSymmetry> = {
  identity: { perm: [0, 1], flips: [] },
  rot90: { perm: [1, 0], flips: [1] }, // numpy: transpose(flip(m, W))
  rot180: { perm: [0, 1], flips: [0, 1] },
  rot270: { perm: [1, 0], flips: [0] },
  flipH: { perm: [0, 1], flips: [1] },
  flipV: { perm: [0, 1], flips: [0] },
  transpose: { perm: [1, 0], flips: [] },
  antiTranspose: { perm: [1, 0], flips: [0, 1] },
};

/** All 8 elements, identity first, then the proper rotations, then the reflections. */
export const D4_ELEMENTS: readonly D4Element[] = [
  'identity',
  'rot90',
  'rot180',
  'rot270',
  'flipH',
  'flipV',
  'transpose',
  'antiTranspose',
];

/** The oracle's names (d4_logit_max_abs_diff keys) for each element. */
export const D4_ORACLE_NAMES: Readonly<Record<D4Element, string>> = {
  identity: 'identity',
  rot90: 'rot90',
  rot180: 'rot180',
  rot270: 'rot270',
  flipH: 'flip_w',
  flipV: 'flip_h',
  transpose: 'transpose',
  antiTranspose: 'anti_transpose',
};

function checkElement(where: string, element: unknown): D4Element {
  if (typeof element !== 'string' || !(element in D4_TABLE)) {
    invalid(where, 'element', element, `one of ${D4_ELEMENTS.map((e) => `'${e}'`).join(', ')}`);
  }
  return element as D4Element;
}

/** The element as a signed permutation of the spatial axes (for composing with other code). */
export function d4Symmetry(element: D4Element): SpatialSymmetry {
  return D4_TABLE[checkElement('d4Symmetry', element)];
}

function elementOf(s: SpatialSymmetry): D4Element {
  const found = D4_ELEMENTS.find((e) => sameSymmetry(D4_TABLE[e], s));
  if (!found) throw new Error('internal: D4 is not closed (this is a bug)');
  return found;
}

/** Applies `element` to the spatial axes of a rank-4 tensor (tf.reverse / tf.transpose only). */
export function applyD4(x: tf.Tensor, element: D4Element, dataFormat: DataFormat | string = 'channelsLast'): tf.Tensor {
  return applySpatialSymmetry(x, D4_TABLE[checkElement('applyD4', element)], dataFormat, 'applyD4');
}

/** The element g⁻¹ with g⁻¹·(g·x) = x (rot90 ↔ rot270; the others are involutions). */
export function invertD4(element: D4Element): D4Element {
  return elementOf(invertSymmetry(D4_TABLE[checkElement('invertD4', element)]));
}

/** `second ∘ first`: the single element equal to applying `first`, then `second`. */
export function composeD4(second: D4Element, first: D4Element): D4Element {
  return elementOf(
    composeSymmetries(D4_TABLE[checkElement('composeD4', second)], D4_TABLE[checkElement('composeD4', first)]),
  );
}

/** True for the 4 rotations (determinant +1), false for the 4 reflections. */
export function isD4Rotation(element: D4Element): boolean {
  return symmetryDeterminant(D4_TABLE[checkElement('isD4Rotation', element)]) === 1;
}
