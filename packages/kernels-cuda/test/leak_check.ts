/** The leak check of the fused kernels' tests: after one warm-up call, `repeats` more leave tensors and native buffers as they were. */
import { expect } from 'vitest';
import { liveNativeBuffers } from '../src/index.js';
import { tf } from './helpers.js';

export function expectNoLeaks(step: () => void, repeats: number): void {
  step();
  const tensors = tf.memory().numTensors;
  const buffers = liveNativeBuffers().count;
  for (let i = 0; i < repeats; i++) step();
  expect(tf.memory().numTensors, 'tensors').toBe(tensors);
  expect(liveNativeBuffers().count, 'native buffers').toBe(buffers);
}
