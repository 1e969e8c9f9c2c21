/**
 * How this package replaces a tfjs gradient on 'native' (and 'cuda'). tfjs has one gradient per kernel name,
 * registered globally, so the replacement runs on every backend: it calls the native gradient only while a native
 * backend is active, and tfjs's own (stock) gradient elsewhere and wherever the native one returns null (inputs
 * its kernel does not cover, e.g. int32 or per-channel parameters of another shape).
 */
import * as tf from '@tensorflow/tfjs-core';

/** A native gradient: the input gradients as tfjs's gradFunc returns them, or null to use tfjs's own. */
export type NativeGradFunc = (
  dy: tf.Tensor,
  saved: tf.Tensor[],
  attrs: tf.NamedAttrMap,
) => Record<string, () => tf.Tensor> | null;

export interface NativeGradConfig {
  /** The tfjs kernel whose gradient this replaces. */
  kernelName: string;
  gradFunc: NativeGradFunc;
}

const onNative = () => {
  const b = tf.getBackend();
  return b === 'native' || b === 'cuda';
};

/** Registers `config` over tfjs's gradient of the same kernel, once (the registered config is marked). */
export function overrideGradient(config: NativeGradConfig): void {
  const stock = tf.getGradient(config.kernelName);
  if (!stock || (stock as { native?: boolean }).native) return;
  const replaced: tf.GradConfig & { native: boolean } = {
    kernelName: config.kernelName,
    inputsToSave: stock.inputsToSave,
    native: true,
    gradFunc: (dy, saved, attrs) =>
      (onNative() ? config.gradFunc(dy as tf.Tensor, saved, attrs) : null) ?? stock.gradFunc(dy, saved, attrs),
  };
  tf.registerGradient(replaced);
}
