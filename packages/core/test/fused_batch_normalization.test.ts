/**
 * FusedBatchNormalization where no backend kernel is registered (cpu): exactly tfjs-layers' BatchNormalization, and
 * to serialisation the same layer (class name, config, weights; a saved model loads with tfjs-layers alone). The
 * native kernels' path is tested against tfjs-layers in kernels-cuda (test/fused_batch_normalization.test.ts).
 */
import * as tfjs from '@tensorflow/tfjs';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { beforeAll, describe, expect, it } from 'vitest';
import { FusedBatchNormalization } from '../src/index.js';

beforeAll(async () => {
  await tfjs.setBackend('cpu');
});

const args = { momentum: 0.7, epsilon: 1e-4, name: 'bn' };

describe('FusedBatchNormalization without the kernels', () => {
  it('gives tfjs-layers’ training output, moving statistics and inference output bit for bit', () => {
    const x = tf.add(tf.mul(tf.randomNormal([3, 4, 4, 5], 0, 1, 'float32', 7), 2), 0.5);
    const run = (layer: tfl.layers.Layer) => {
      layer.build(x.shape);
      layer.setWeights(layer.weights.map((w, i) => tf.fill(w.shape as number[], 0.5 + i / 4)));
      const y = layer.apply(x, { training: true }) as tf.Tensor;
      const moving = layer.nonTrainableWeights.map((w) => w.read().arraySync());
      const inference = layer.apply(x) as tf.Tensor;
      return [Array.from(y.dataSync()), moving, Array.from(inference.dataSync())];
    };
    expect(run(new FusedBatchNormalization(args))).toEqual(run(tfl.layers.batchNormalization(args)));
  });

  it('saves as BatchNormalization with tfjs-layers’ config, and loads as tfjs-layers’ layer', async () => {
    const input = tfl.input({ shape: [4, 4, 3] });
    const model = tfl.model({
      inputs: input,
      outputs: new FusedBatchNormalization(args).apply(input) as tfl.SymbolicTensor,
    });
    const stock = tfl.layers.batchNormalization(args);
    const layer = model.getLayer('bn');
    expect(layer.getClassName()).toBe('BatchNormalization');
    expect(layer.getConfig()).toEqual({ ...stock.getConfig(), name: 'bn' });
    layer.setWeights(layer.weights.map((w, i) => tf.fill(w.shape as number[], 1 + i)));
    let saved: tf.io.ModelArtifacts | null = null;
    await model.save(
      tf.io.withSaveHandler(async (a) => {
        saved = a;
        return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
      }),
    );
    expect(JSON.stringify(saved!.modelTopology)).toContain('"class_name":"BatchNormalization"');
    const loaded = await tfl.loadLayersModel(tf.io.fromMemory(saved!));
    const back = loaded.getLayer('bn');
    expect(back).not.toBeInstanceOf(FusedBatchNormalization);
    expect(back.getWeights().map((w) => w.arraySync())).toEqual(layer.getWeights().map((w) => w.arraySync()));
  });
});
