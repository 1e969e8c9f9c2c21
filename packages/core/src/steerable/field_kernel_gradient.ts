/**
 * The gradient of a point-wise field kernel (the gate, the invariants) as its own gradient kernel from x and dy,
 * registered once, globally, as tfjs gradients are — rather than a tf.customGrad per call, which in tfjs 4.22 keeps one
 * tensor per backward pass. It only ever runs where the layer chose the forward kernel, i.e. where both are registered.
 */
import * as tf from '@tensorflow/tfjs-core';

export function registerFieldKernelGradient(forward: string, gradient: string): void {
  tf.registerGradient({
    kernelName: forward,
    inputsToSave: ['x'],
    gradFunc: (dy, saved, attrs) => {
      const [x] = saved as [tf.Tensor];
      return { x: () => tf.engine().runKernel(gradient, { x, dy: dy as tf.Tensor }, attrs) as tf.Tensor };
    },
  });
}
