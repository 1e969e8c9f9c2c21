/** The shared op case list and its runner: what every backend's comparison rests on. */
import '@tensorflow/tfjs';
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { OP_CASES, opCaseErrors, opCasesOf, runOpCase } from '../src/op_cases.js';

describe('OP_CASES', () => {
  it('has unique names (the tests are named by them) and covers every dimension, padding mode and data format', () => {
    expect(new Set(OP_CASES.map((c) => c.name)).size).toBe(OP_CASES.length);
    for (const kind of [1, 2, 3, 'transposed'] as const) expect(opCasesOf(kind).length, `${kind}`).toBeGreaterThan(0);
    for (const rank of [1, 2, 3]) {
      const modes = new Set(
        OP_CASES.filter((c) => c.rank === rank && !c.transposed).map((c) => c.opts.paddingMode ?? 'zeros'),
      );
      expect([...modes].sort(), `rank ${rank}`).toEqual(['circular', 'reflect', 'replicate', 'zeros']);
      const formats = new Set(OP_CASES.filter((c) => c.rank === rank).map((c) => c.opts.dataFormat ?? 'channelsLast'));
      expect(formats.size, `rank ${rank}`).toBe(2);
    }
  });

  it('runOpCase gives y and a gradient per input, deterministically, and leaves no tensor behind', async () => {
    const c = OP_CASES.find((k) => k.gaussian && k.bias && k.rank === 2)!;
    const before = tf.memory().numTensors;
    const a = await runOpCase(c, 'cpu');
    // Core keeps one index matrix per geometry (made on first use): the second run must leave nothing at all.
    const mid = tf.memory().numTensors;
    const b = await runOpCase(c, 'cpu');
    expect(tf.memory().numTensors).toBe(mid);
    expect(mid - before).toBeLessThanOrEqual(1);
    expect(Object.keys(a.grads).sort()).toEqual(['bias', 'logSigmas', 'weight', 'x']);
    expect(Object.values(opCaseErrors(b, a)).every((e) => e === 0)).toBe(true);
  });

  it('opCaseErrors sees a changed output, a missing gradient and a different shape', async () => {
    const c = OP_CASES.find((k) => k.rank === 1)!;
    const ref = await runOpCase(c, 'cpu');
    const y = ref.y.slice();
    y[0]! += 1;
    expect(opCaseErrors({ ...ref, y }, ref).y).toBeGreaterThan(1e-3);
    expect(opCaseErrors({ ...ref, grads: { x: ref.grads.x! } }, ref).dweight).toBe(Infinity);
    expect(opCaseErrors({ ...ref, shape: [1, ...ref.shape] }, ref).y).toBe(Infinity);
  });
});
