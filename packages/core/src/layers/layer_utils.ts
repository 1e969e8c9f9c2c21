/** Small helpers the layer classes share (not part of the package's API). */
import * as tf from '@tensorflow/tfjs-core';
import { invalid } from '../utils/errors.js';

export { recordingGradients } from '../kernel/engine_internals.js';

export function bool(where: string, param: string, v: unknown, dflt: boolean): boolean {
  if (v == null) return dflt;
  if (typeof v !== 'boolean') invalid(where, param, v, 'a boolean');
  return v as boolean;
}

/** A layer's weight as its call() sees it (tfjs-layers' LayerVariable). */
export type LayerVariable = { read(): tf.Tensor; write(v: tf.Tensor): unknown };

/** tfjs-layers' batch-norm update of a moving statistic: moving ← moving − (moving − value)·(1 − momentum). */
export function movingAverage(variable: LayerVariable, value: tf.Tensor, momentum: number): void {
  tf.tidy(() => {
    const old = variable.read();
    variable.write(tf.sub(old, tf.mul(tf.sub(old, value), 1 - momentum)));
  });
}
