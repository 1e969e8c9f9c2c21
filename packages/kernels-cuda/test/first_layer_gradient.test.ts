/**
 * No input gradient where nobody needs one (issue 17): core's GMR gradient makes dx only when the tape asks for
 * it, so in a training step (gradients of the weights only) the first GMR layer, whose input is the images, never
 * runs GMRConv2DBackpropInput. The weight gradients are the same numbers as when x's gradient is taken too.
 */
import { describe, expect, it } from 'vitest';
import { gmrCNN } from '@gmr-conv/models';
import { tf } from './helpers.js';

/** How many times each kernel ran in f (tf.profile returns the engine's one profile object: read it at once). */
async function kernelCounts(f: () => void): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  for (const k of (await tf.profile(f)).kernels) counts[k.name] = (counts[k.name] ?? 0) + 1;
  return counts;
}

describe('input gradients on native', () => {
  it('a training step runs no BackpropInput for the first GMR layer, and its weight gradients are unchanged', async () => {
    await tf.setBackend('native');
    const model = gmrCNN({ widths: [4, 6, 8] });
    const vars = model.trainableWeights.map((w) => (w as unknown as { val: tf.Variable }).val);
    const x = tf.randomUniform([2, 28, 28, 1], 0, 1, 'float32', 3);
    const y = tf.oneHot(tf.tensor1d([1, 7], 'int32'), 10);
    const loss = (input: tf.Tensor) =>
      tf.losses.softmaxCrossEntropy(y, model.apply(input, { training: true }) as tf.Tensor) as tf.Scalar;

    // Weights only, as a training step (tf.variableGrads).
    let weightsOnly: Float32Array[] = [];
    const p1 = await kernelCounts(() => {
      const { value, grads } = tf.variableGrads(() => loss(x), vars);
      weightsOnly = vars.map((v) => grads[v.name]!.dataSync() as Float32Array);
      tf.dispose([value, ...Object.values(grads)]);
    });
    // The same step with the images' gradient asked for as well.
    let withInput: Float32Array[] = [];
    let dx: Float32Array = new Float32Array();
    const p2 = await kernelCounts(() => {
      const gs = tf.grads((input: tf.Tensor, ...ws: tf.Tensor[]) => {
        void ws;
        return loss(input);
      })([x, ...vars]);
      dx = gs[0]!.dataSync() as Float32Array;
      withInput = gs.slice(1).map((g) => g.dataSync() as Float32Array);
      tf.dispose(gs);
    });

    // Three GMR layers: the backward passes of layers 3 and 2 need dx, layer 1's does not.
    expect(p1['GMRConv2D']).toBe(3);
    expect(p1['GMRConv2DBackpropInput']).toBe(2);
    expect(p2['GMRConv2DBackpropInput']).toBe(3);
    expect(dx.some((v) => v !== 0)).toBe(true);
    expect(weightsOnly.length).toBe(vars.length);
    weightsOnly.forEach((g, i) => expect(Array.from(g), vars[i]!.name).toEqual(Array.from(withInput[i]!)));
    tf.dispose([x, y]);
    model.dispose();
  });
});
