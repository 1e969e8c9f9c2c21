import * as tfjs from '@tensorflow/tfjs';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  FieldBatchNorm,
  fieldChannels,
  FieldInvariants,
  FieldNonlinearity,
  GMRSteerableConv2D,
  gatedFields,
  type Fields,
} from '../src/index.js';
import { relMax } from './helpers/steerable_reference.js';

beforeAll(async () => {
  await tfjs.setBackend('cpu');
});

function smallModel(): tfjs.Sequential {
  const f1: Fields = [2, 2, 1];
  const f2: Fields = [2, 1, 1];
  return tfjs.sequential({
    layers: [
      new GMRSteerableConv2D({ fields: gatedFields(f1), kernelSize: 3, inputShape: [8, 8, 1] }),
      new FieldBatchNorm({ fields: gatedFields(f1), momentum: 0.9 }),
      new FieldNonlinearity({ fields: f1, mode: 'gate' }),
      new GMRSteerableConv2D({
        fields: f2,
        inputFields: f1,
        kernelSize: 5,
        padding: 'valid',
        path: 'rings',
        gaussianMixtureRing: false,
      }),
      new FieldNonlinearity({ fields: f2, epsilon: 1e-5 }),
      new FieldInvariants({ fields: f2, products: 'none' }),
      tfjs.layers.globalAveragePooling2d({}),
    ],
  });
}

describe('steerable layers: config, save/load, memory', () => {
  it('getConfig round trip and save/load through tf.io.fromMemory give identical outputs', async () => {
    const model = smallModel();
    const x = tf.randomNormal([2, 8, 8, 1], 0, 1, 'float32', 1);
    model.compile({ optimizer: 'sgd', loss: 'meanSquaredError' });
    await model.fit(x, tf.randomNormal([2, 4]), { epochs: 1, batchSize: 2, verbose: 0 }); // moves weights and BN statistics
    const y = model.predict(x) as tf.Tensor;
    const fromJson = (await tfjs.models.modelFromJSON(
      JSON.parse(JSON.stringify(model.toJSON(null, false))),
    )) as tfjs.LayersModel;
    fromJson.setWeights(model.getWeights());
    expect(relMax(fromJson.predict(x) as tf.Tensor, y)).toBe(0);
    let saved: tf.io.ModelArtifacts | null = null;
    await model.save(
      tf.io.withSaveHandler(
        async (a) => ((saved = a), { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } }),
      ),
    );
    const loaded = await tfjs.loadLayersModel(tf.io.fromMemory(saved!));
    expect(relMax(loaded.predict(x) as tf.Tensor, y)).toBe(0);
    const conv = loaded.layers[3] as GMRSteerableConv2D;
    expect(conv).toBeInstanceOf(GMRSteerableConv2D);
    expect([conv.fields, conv.inputFields, conv.kernelSize, conv.padding, conv.path, conv.gaussianMixtureRing]).toEqual(
      [[2, 1, 1], [2, 2, 1], [5, 5], 'valid', 'rings', false],
    );
    expect((loaded.layers[2] as FieldNonlinearity).mode).toBe('gate');
    expect((loaded.layers[1] as FieldBatchNorm).momentum).toBe(0.9);
    expect((loaded.layers[5] as FieldInvariants).products).toBe('none');
    [model, fromJson, loaded].forEach((m) => m.dispose());
  });

  it('keeps tf.memory().numTensors flat over repeated calls, training and inference, and frees everything on dispose', () => {
    const x = tf.randomNormal([1, 8, 8, 1]);
    const before = tf.memory().numTensors;
    const model = smallModel();
    const run = () => {
      tf.tidy(() => {
        model.apply(x, { training: true });
        model.predict(x);
        tf.grads((t: tf.Tensor) => tf.sum(model.apply(t, { training: true }) as tf.Tensor))([x]);
      });
    };
    run();
    const afterFirst = tf.memory().numTensors;
    for (let i = 0; i < 3; i++) run();
    expect(tf.memory().numTensors).toBe(afterFirst);
    model.dispose();
    expect(tf.memory().numTensors).toBe(before);
    x.dispose();
  });
});

describe('steerable layers: bad options name the parameter, the value and what is allowed', () => {
  const cases: Array<[string, () => unknown, RegExp]> = [
    [
      'fields missing',
      () => new GMRSteerableConv2D({ kernelSize: 3 } as never),
      /`fields` must be \[n0, n1, n2\].*got undefined/,
    ],
    [
      'fields of 2',
      () => new GMRSteerableConv2D({ fields: [1, 2] as never, kernelSize: 3 }),
      /`fields` must be \[n0, n1, n2\]: three non-negative integers.*got \[1, 2\]/,
    ],
    [
      'fields negative',
      () => new GMRSteerableConv2D({ fields: [1, -1, 0], kernelSize: 3 }),
      /`fields`.*got \[1, -1, 0\]/,
    ],
    [
      'fields fractional',
      () => new GMRSteerableConv2D({ fields: [1, 0.5, 0], kernelSize: 3 }),
      /`fields`.*got \[1, 0.5, 0\]/,
    ],
    [
      'fields all zero',
      () => new GMRSteerableConv2D({ fields: [0, 0, 0], kernelSize: 3 }),
      /`fields`.*not all zero, got \[0, 0, 0\]/,
    ],
    [
      'order 3 fields',
      () => new GMRSteerableConv2D({ fields: [1, 1, 1, 1] as never, kernelSize: 3 }),
      /`fields` must be \[n0, n1, n2\].*rotation order 0, 1, 2.*got \[1, 1, 1, 1\]/,
    ],
    [
      'inputFields bad',
      () => new GMRSteerableConv2D({ fields: [1, 0, 0], inputFields: [1, 'a'] as never, kernelSize: 3 }),
      /`inputFields` must be.*got \[1, "a"\]/,
    ],
    [
      'even kernel',
      () => new GMRSteerableConv2D({ fields: [1, 0, 0], kernelSize: 4 }),
      /`kernelSize` must be an odd size of at least 3.*got 4/,
    ],
    [
      'kernel 1',
      () => new GMRSteerableConv2D({ fields: [1, 0, 0], kernelSize: 1 }),
      /`kernelSize` must be an odd size of at least 3.*got 1/,
    ],
    [
      'non-square kernel',
      () => new GMRSteerableConv2D({ fields: [1, 0, 0], kernelSize: [3, 5] }),
      /`kernelSize` must be an odd size.*same on both axes.*got \[3, 5\]/,
    ],
    [
      'padding',
      () => new GMRSteerableConv2D({ fields: [1, 0, 0], kernelSize: 3, padding: 'causal' as never }),
      /`padding` must be 'same' or 'valid', got "causal"/,
    ],
    [
      'channelsFirst',
      () => new GMRSteerableConv2D({ fields: [1, 0, 0], kernelSize: 3, dataFormat: 'channelsFirst' as never }),
      /`dataFormat` must be 'channelsLast'.*got "channelsFirst"/,
    ],
    [
      'path',
      () => new GMRSteerableConv2D({ fields: [1, 0, 0], kernelSize: 3, path: 'fused' as never }),
      /`path` must be 'auto', 'rings' or 'dense', got "fused"/,
    ],
    [
      'strides',
      () => new GMRSteerableConv2D({ fields: [1, 0, 0], kernelSize: 3, strides: 0 }),
      /`strides` must be a positive integer, got 0/,
    ],
    [
      'numRings',
      () => new GMRSteerableConv2D({ fields: [1, 0, 0], kernelSize: 3, numRings: 0 }),
      /`numRings` must be a positive integer or null.*got 0/,
    ],
    [
      'one ring with smoothing',
      () => new GMRSteerableConv2D({ fields: [1, 0, 0], kernelSize: 3, numRings: 1 }),
      /`numRings` must be at least 2 with gaussianMixtureRing.*got 1/,
    ],
    [
      'useBias',
      () => new GMRSteerableConv2D({ fields: [1, 0, 0], kernelSize: 3, useBias: 'yes' as never }),
      /`useBias` must be a boolean, got "yes"/,
    ],
    [
      'sigmaScale',
      () => new GMRSteerableConv2D({ fields: [1, 0, 0], kernelSize: 3, sigmaScale: -1 }),
      /`sigmaScale` must be a finite positive number, got -1/,
    ],
    [
      'nonlinearity mode',
      () => new FieldNonlinearity({ fields: [1, 1, 0], mode: 'relu' as never }),
      /`mode` must be 'norm-relu' or 'gate', got "relu"/,
    ],
    [
      'nonlinearity epsilon',
      () => new FieldNonlinearity({ fields: [1, 1, 0], epsilon: 0 }),
      /`epsilon` must be a finite positive number, got 0/,
    ],
    [
      'nonlinearity fields',
      () => new FieldNonlinearity({ fields: [1, 1] as never }),
      /FieldNonlinearity: `fields` must be \[n0, n1, n2\]/,
    ],
    [
      'batch norm momentum',
      () => new FieldBatchNorm({ fields: [1, 1, 0], momentum: 1.5 }),
      /`momentum` must be a number in \[0, 1\], got 1.5/,
    ],
    [
      'batch norm epsilon',
      () => new FieldBatchNorm({ fields: [1, 1, 0], epsilon: -1 }),
      /FieldBatchNorm: `epsilon` must be a finite positive number, got -1/,
    ],
    [
      'invariants products',
      () => new FieldInvariants({ fields: [1, 1, 0], products: 'all' as never }),
      /`products` must be 'none' or 'paired', got "all"/,
    ],
  ];
  for (const [label, make, message] of cases) {
    it(label, () => expect(make).toThrow(message));
  }

  it('input channel counts that do not match the fields', () => {
    const x = tf.zeros([1, 8, 8, 4]);
    expect(() => new GMRSteerableConv2D({ fields: [1, 0, 0], inputFields: [1, 1, 0], kernelSize: 3 }).apply(x)).toThrow(
      /GMRSteerableConv2D: `inputFields` must be a field layout with as many channels as the input \(4\); n0 \+ 2·n1 \+ 2·n2 = 3, got \[1, 1, 0\]/,
    );
    expect(() => new FieldBatchNorm({ fields: [1, 1, 1] }).apply(x)).toThrow(
      /FieldBatchNorm: `fields` must be a field layout with as many channels as the input \(4\).*= 5, got \[1, 1, 1\]/,
    );
    expect(() => new FieldNonlinearity({ fields: [1, 1, 1], mode: 'gate' }).apply(x)).toThrow(
      /gate mode.*as many channels as the input \(4\).*= 7, got \[3, 1, 1\]/,
    );
    expect(() => new FieldInvariants({ fields: [2, 0, 0] }).apply(x)).toThrow(/FieldInvariants: `fields`.*\(4\)/);
    expect(() => new GMRSteerableConv2D({ fields: [1, 0, 0], kernelSize: 3 }).apply(tf.zeros([8, 8, 4]))).toThrow(
      /`input shape` must be rank 4 \[batch, height, width, channels\]/,
    );
    expect(fieldChannels([1, 1, 1])).toBe(5);
  });
});
