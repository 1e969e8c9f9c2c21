/** Small helpers the layer classes share (not part of the package's API). */
import * as tf from '@tensorflow/tfjs-core';
import { invalid } from '../utils/errors.js';

/** True while tf.grads / an optimizer records a tape. */
export function recordingGradients(): boolean {
  return ((tf.engine() as unknown as { state: { gradientDepth: number } }).state.gradientDepth ?? 0) > 0;
}

export function bool(where: string, param: string, v: unknown, dflt: boolean): boolean {
  if (v == null) return dflt;
  if (typeof v !== 'boolean') invalid(where, param, v, 'a boolean');
  return v as boolean;
}

