/**
 * The only place that reads tfjs engine internals (engine().state.gradientDepth and activeTape), which tfjs does
 * not export as API. test/engine_internals.test.ts fails when a tfjs upgrade renames or changes them.
 */
import * as tf from '@tensorflow/tfjs-core';

interface EngineState {
  gradientDepth: number;
  activeTape: unknown[] | null;
}

function engineState(): EngineState {
  return (tf.engine() as unknown as { state: EngineState }).state;
}

/** True while tf.grads / tf.variableGrads / an optimizer records a gradient tape. */
export function recordingGradients(): boolean {
  return (engineState().gradientDepth ?? 0) > 0;
}

/**
 * tf.grads of `f` inside a gradient function. The engine has one active tape and tf.grads ends it when its depth
 * returns to zero; raising the depth for the nested call keeps the outer tape (the one being back-propagated)
 * alive.
 */
export function nestedGrads(f: (...a: tf.Tensor[]) => tf.Tensor, xs: tf.Tensor[], dy: tf.Tensor): tf.Tensor[] {
  const state = engineState();
  if (state.gradientDepth === 0 && state.activeTape == null) return tf.grads(f)(xs, dy);
  state.gradientDepth++;
  try {
    return tf.grads(f)(xs, dy);
  } finally {
    state.gradientDepth--;
  }
}
