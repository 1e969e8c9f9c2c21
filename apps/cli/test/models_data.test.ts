/**
 * Every --model built for the data's input shape, with the input normalisation in front: logits of the right shape,
 * the GMR models still exactly invariant to 90° rotations and flips (a per-channel affine map commutes with them),
 * and a damaged normalisation in a checkpoint header refused by name.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadCheckpoint, saveCheckpoint } from '../src/checkpoint.js';
import { setupBackend, tf } from '../src/backend.js';
import {
  MODELS,
  RESNET_DEFAULTS,
  buildModel,
  checkModelFitsData,
  specFromHeader,
  type ModelKind,
} from '../src/model.js';
import { RESNET_INPLANES, RESNET_MODELS } from '../src/train_options.js';

const norm = { mean: [0.2, 0.5, 0.7], std: [0.3, 0.25, 0.1] };
const header = (kind: string) => ({
  kind,
  widths: [4, 4, 4],
  numClasses: 3,
  inputShape: [16, 16, 3],
  normalization: norm,
  inplanes: 2,
  gmrConvSize: [3, 3, 3, 3],
  fields: [
    [2, 1, 1],
    [2, 1, 1],
    [2, 1, 1],
  ],
});

beforeAll(async () => {
  await setupBackend('auto');
  // the first GMR model on a backend leaves one tensor that core keeps for the backend's life; not a per-model leak
  const warm = buildModel(specFromHeader(header('gmr-cnn')), 0);
  tf.tidy(() => warm.predict(tf.zeros([1, 16, 16, 3])));
  warm.dispose();
});

describe('every --model on 16×16×3 data with input normalisation', () => {
  it.each(MODELS.map((m) => [m]))('%s', async (kind: ModelKind) => {
    const before = tf.memory().numTensors;
    const model = buildModel(specFromHeader(header(kind)), 1);
    expect(model.getLayer('input_norm').getClassName()).toBe('DepthwiseConv2D');
    const x = tf.randomUniform([2, 16, 16, 3], 0, 1, 'float32', 7);
    const views = tf.tidy(() =>
      [x, tf.reverse(tf.transpose(x, [0, 2, 1, 3]), 2), tf.reverse(x, 1), tf.reverse(x, 2)].map(
        (v) => model.predict(v) as tf.Tensor,
      ),
    );
    expect(views[0].shape).toEqual([2, 3]);
    const [y, ...others] = await Promise.all(views.map((v) => v.data()));
    const scale = Math.max(...Array.from(y, Math.abs));
    expect(scale).toBeGreaterThan(0);
    if (kind.startsWith('gmr-'))
      for (const o of others)
        for (let i = 0; i < y.length; i++) expect(Math.abs(o[i] - y[i])).toBeLessThan(1e-4 * scale + 1e-5);
    tf.dispose([x, ...views]);
    model.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  it('plain resnet18 takes any size; the repeated ResNet constants agree with model.ts', () => {
    expect(() => checkModelFitsData(specFromHeader({ ...header('resnet18'), inputShape: [3, 5, 1] }))).not.toThrow();
    expect(() =>
      checkModelFitsData(specFromHeader({ ...header('gmr-resnet34'), inputShape: [8, 8, 1], skipFirstPool: true })),
    ).not.toThrow();
    expect(() => checkModelFitsData(specFromHeader({ ...header('gmr-resnet34'), inputShape: [8, 8, 1] }))).toThrow(
      /downsamples by 16/,
    );
    expect(RESNET_INPLANES).toBe(RESNET_DEFAULTS.inplanes);
    expect([...RESNET_MODELS]).toEqual(MODELS.filter((m) => m.includes('resnet')));
  });
});

describe('checkpoint header: the data fields', () => {
  it('refuses a normalisation of the wrong length or a std ≤ 0, naming the field', () => {
    const dir = mkdtempSync(join(tmpdir(), 'gmr-norm-'));
    const save = (normalization: unknown) => {
      const path = join(dir, `${Math.random()}.gmrckpt`);
      const model = {
        kind: 'gmr-cnn',
        widths: [2, 2, 2],
        numClasses: 2,
        inputShape: [8, 8, 3],
        normalization,
      } as never;
      saveCheckpoint(path, { model, config: {}, epochsDone: 0, step: 0, history: [] }, [], []);
      return path;
    };
    expect(loadCheckpoint(save(norm)).header.model.normalization).toEqual(norm);
    expect(() => loadCheckpoint(save({ mean: [0.1], std: [0.2] }))).toThrow(
      /"model.normalization" must be \{mean, std\} of 3 finite number/,
    );
    expect(() => loadCheckpoint(save({ mean: [0, 0, 0], std: [1, 0, 1] }))).toThrow(/std > 0/);
  });
});
