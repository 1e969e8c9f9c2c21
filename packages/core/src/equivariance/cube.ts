/**
 * The 48 symmetries of the cube (the octahedral group O_h) acting on the three
 * spatial axes of [B, D, H, W, C] (channelsLast) or [B, C, D, H, W]
 * (channelsFirst) tensors: the 6 permutations of (D, H, W) times the 8 sign
 * patterns. A GMR_Conv3d kernel depends only on the distance to the kernel
 * centre, so with odd kernels and symmetric grids a 3D GMR network commutes
 * with all 48 (24 rotations, determinant +1, and 24 improper ones).
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

export interface CubeSymmetry extends SpatialSymmetry {
  /**
   * 'identity', or the input axis at each output position with its sign, e.g.
   * '+H-D+W' = output axis 0 is H, axis 1 is D reversed, axis 2 is W.
   */
  readonly name: string;
  /** +1 for the 24 proper rotations, −1 for the 24 improper symmetries (reflections, rotoreflections). */
  readonly determinant: 1 | -1;
  readonly isRotation: boolean;
}

const AXIS_LETTERS = ['D', 'H', 'W'];

function permutations(items: number[]): number[][] {
  if (items.length <= 1) return [items.slice()];
  return items.flatMap((v, i) =>
    permutations([...items.slice(0, i), ...items.slice(i + 1)]).map((rest) => [v, ...rest]),
  );
}

function cubeName(perm: number[], flips: number[]): string {
  if (flips.length === 0 && perm.every((k, j) => k === j)) return 'identity';
  return perm.map((k) => (flips.includes(k) ? '-' : '+') + AXIS_LETTERS[k]).join('');
}

function makeSymmetry(perm: number[], flips: number[]): CubeSymmetry {
  const det = symmetryDeterminant({ perm, flips }) as 1 | -1;
  return Object.freeze({
    name: cubeName(perm, flips),
    perm: Object.freeze(perm.slice()),
    flips: Object.freeze(flips.slice()),
    determinant: det,
    isRotation: det === 1,
  });
}

/** All 48: identity first, then the other 23 rotations, then the 24 improper symmetries. */
export const CUBE_SYMMETRIES: readonly CubeSymmetry[] = Object.freeze(
  permutations([0, 1, 2])
    .flatMap((perm) =>
      Array.from({ length: 8 }, (_, mask) =>
        makeSymmetry(
          perm,
          [0, 1, 2].filter((k) => (mask >> k) & 1),
        ),
      ),
    )
    .sort((a, b) => (a.name === 'identity' ? -1 : b.name === 'identity' ? 1 : b.determinant - a.determinant)),
);

/** The 24 proper rotations of the cube. */
export const CUBE_ROTATIONS: readonly CubeSymmetry[] = Object.freeze(CUBE_SYMMETRIES.filter((s) => s.isRotation));

function lookup(where: string, s: unknown): CubeSymmetry {
  if (typeof s === 'string') {
    const found = CUBE_SYMMETRIES.find((c) => c.name === s);
    if (!found) invalid(where, 'symmetry', s, "a CUBE_SYMMETRIES name such as 'identity' or '+H-D+W'");
    return found;
  }
  if (
    s &&
    typeof s === 'object' &&
    Array.isArray((s as SpatialSymmetry).perm) &&
    Array.isArray((s as SpatialSymmetry).flips)
  ) {
    const sym = s as SpatialSymmetry;
    const found = sym.perm.length === 3 ? CUBE_SYMMETRIES.find((c) => sameSymmetry(c, sym)) : undefined;
    if (!found) invalid(where, 'symmetry', s, 'a permutation of [0, 1, 2] with flips among 0, 1, 2');
    return found;
  }
  return invalid(where, 'symmetry', s, 'an element of CUBE_SYMMETRIES or its name');
}

/** Finds a symmetry by name (or validates a {perm, flips} object). */
export function cubeSymmetry(s: CubeSymmetry | SpatialSymmetry | string): CubeSymmetry {
  return lookup('cubeSymmetry', s);
}

/** Applies a cube symmetry to the spatial axes of a rank-5 tensor (tf.reverse / tf.transpose only). */
export function applyCubeSymmetry(
  x: tf.Tensor,
  symmetry: CubeSymmetry | SpatialSymmetry | string,
  dataFormat: DataFormat | string = 'channelsLast',
): tf.Tensor {
  return applySpatialSymmetry(x, lookup('applyCubeSymmetry', symmetry), dataFormat, 'applyCubeSymmetry');
}

export function invertCubeSymmetry(symmetry: CubeSymmetry | SpatialSymmetry | string): CubeSymmetry {
  return lookup('invertCubeSymmetry', invertSymmetry(lookup('invertCubeSymmetry', symmetry)));
}

/** `second ∘ first`: apply `first`, then `second`. */
export function composeCubeSymmetries(
  second: CubeSymmetry | SpatialSymmetry | string,
  first: CubeSymmetry | SpatialSymmetry | string,
): CubeSymmetry {
  return lookup(
    'composeCubeSymmetries',
    composeSymmetries(lookup('composeCubeSymmetries', second), lookup('composeCubeSymmetries', first)),
  );
}
