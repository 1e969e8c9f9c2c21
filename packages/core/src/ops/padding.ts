/**
 * Checking the padding arguments of the ops and layers ('same' / 'valid' / numbers / explicit pairs, and the
 * padding mode); the geometry they resolve to is computeGMRConvInfo in kernel/conv_info.ts.
 */
import { invalid } from '../utils/errors.js';
import { PADDING_MODES, type PaddingMode, type PaddingSpec, type PadPairs } from '../kernel/conv_info.js';

export type { PaddingMode, PaddingSpec, PadPairs };
export { PADDING_MODES };

function isNonNegInt(v: unknown): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v >= 0;
}

/** Validates a padding spec without knowing the input size (used by layers at construction). */
export function checkPaddingSpec(where: string, padding: unknown, rank: number): PaddingSpec {
  const allowed = `'same', 'valid', a non-negative integer, an array of ${rank} of them, or ${rank} [before, after] pairs`;
  if (padding === 'same' || padding === 'valid') return padding;
  if (isNonNegInt(padding)) return padding;
  if (Array.isArray(padding) && padding.length === rank) {
    if (padding.every(isNonNegInt)) return padding as number[];
    if (padding.every((p) => Array.isArray(p) && p.length === 2 && p.every(isNonNegInt))) {
      return padding as Array<[number, number]>;
    }
  }
  return invalid(where, 'padding', padding, allowed);
}

export function checkPaddingMode(where: string, mode: unknown): PaddingMode {
  if (typeof mode === 'string' && (PADDING_MODES as readonly string[]).includes(mode)) return mode as PaddingMode;
  return invalid(where, 'paddingMode', mode, `one of ${PADDING_MODES.map((m) => `'${m}'`).join(', ')}`);
}
