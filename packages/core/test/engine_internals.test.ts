/**
 * kernel/engine_internals.ts reads tfjs engine fields that are not API (engine().state.gradientDepth and
 * activeTape). These tests fail when a tfjs upgrade renames them or changes what they mean, instead of the
 * inference cache silently serving training steps or nested gradients silently ending the outer tape.
 */
import * as tfjs from '@tensorflow/tfjs';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { nestedGrads, recordingGradients } from '../src/kernel/engine_internals.js';

beforeAll(async () => {
  await tfjs.setBackend('cpu');
});

type State = { gradientDepth?: unknown; activeTape?: unknown };
const state = () => (tf.engine() as unknown as { state: State }).state;

describe('tfjs engine internals', () => {
  it('state.gradientDepth is a number, 0 at rest and > 0 inside tf.grads; activeTape is null at rest and a list inside', () => {
    expect(typeof state().gradientDepth).toBe('number');
    expect(state().gradientDepth).toBe(0);
    expect(state().activeTape == null).toBe(true);
    expect(recordingGradients()).toBe(false);
    let inside: { depth: unknown; tape: unknown; recording: boolean } | null = null;
    const x = tf.scalar(2);
    const [g] = tf.grads((a: tf.Tensor) => {
      inside = { depth: state().gradientDepth, tape: state().activeTape, recording: recordingGradients() };
      return tf.square(a);
    })([x]);
    expect(inside!.depth).toBeGreaterThan(0);
    expect(Array.isArray(inside!.tape)).toBe(true);
    expect(inside!.recording).toBe(true);
    expect(g!.dataSync()[0]).toBeCloseTo(4, 6);
    expect(recordingGradients()).toBe(false);
    tf.dispose([x, g!]);
  });

  it('an optimizer step records (what the layers’ inference cache must see)', () => {
    const v = tf.variable(tf.scalar(1));
    let seen = false;
    tf.train.sgd(0.1).minimize(() => {
      seen = recordingGradients();
      return tf.square(v) as tf.Scalar;
    });
    expect(seen).toBe(true);
    v.dispose();
  });

  it('nestedGrads inside a gradient function keeps the outer tape: d/dx (f(x)·x) = 4x³ for f(x) = x³ with a nested gradient', () => {
    // f's gradient is itself computed by tf.grads (as core's registered GMR gradient does).
    const f = tf.customGrad(((x: tf.Tensor) => ({
      value: tf.pow(x, 3),
      gradFunc: (dy: tf.Tensor) => {
        const [d] = nestedGrads((a: tf.Tensor) => tf.pow(a, 3), [x], tf.onesLike(x));
        return tf.mul(dy, d!);
      },
    })) as unknown as Parameters<typeof tf.customGrad>[0]);
    const x = tf.tensor1d([0.5, -1.5, 2]);
    const before = tf.memory().numTensors;
    const g = tf.grad((a: tf.Tensor) => tf.sum(tf.mul(f(a) as tf.Tensor, a)))(x);
    const want = Array.from(x.dataSync()).map((v) => 4 * v ** 3);
    Array.from(g.dataSync()).forEach((v, i) => expect(v).toBeCloseTo(want[i]!, 4));
    expect(state().gradientDepth).toBe(0);
    g.dispose();
    expect(tf.memory().numTensors).toBe(before);
    x.dispose();
  });
});
