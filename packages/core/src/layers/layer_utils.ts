/** Small helpers the layer classes share (not part of the package's API). */
import { invalid } from '../utils/errors.js';

export { recordingGradients } from '../kernel/engine_internals.js';

export function bool(where: string, param: string, v: unknown, dflt: boolean): boolean {
  if (v == null) return dflt;
  if (typeof v !== 'boolean') invalid(where, param, v, 'a boolean');
  return v as boolean;
}
