import { existsSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadCheckpoint, saveCheckpoint } from '../src/checkpoint.js';
import { CliError } from '../src/errors.js';
import { parseAngles } from '../src/evaluate.js';
import { classificationMetrics, rocAuc } from '../src/metrics.js';
import { decays, learningRate, type OptimConfig } from '../src/optim.js';

describe('optimiser pieces', () => {
  it('weight decay never touches the sigmas', () => {
    expect(decays('conv1/kernel')).toBe(true);
    expect(decays('bn1/gamma')).toBe(true);
    expect(decays('conv1/log_sigmas')).toBe(false);
    expect(decays('conv2/log_sigmas')).toBe(false);
  });
  it('cosine schedule with linear warm-up', () => {
    const c = { lr: 1, minLr: 0.01, warmupSteps: 10, totalSteps: 110 } as OptimConfig;
    expect(learningRate(c, 0)).toBeCloseTo(0.1);
    expect(learningRate(c, 9)).toBeCloseTo(1);
    expect(learningRate(c, 10)).toBeCloseTo(1);
    expect(learningRate(c, 60)).toBeCloseTo(0.505);
    expect(learningRate(c, 110)).toBeCloseTo(0.01);
  });
});

describe('metrics', () => {
  it('accuracy, balanced accuracy, macro-F1', () => {
    // predictions 0,0,1,1,1,1 as probabilities
    const probs = [0.9, 0.1, 0.6, 0.4, 0.3, 0.7, 0.2, 0.8, 0.45, 0.55, 0.1, 0.9];
    const m = classificationMetrics(probs, [0, 1, 1, 1, 1, 1], 2);
    expect(m.accuracy).toBeCloseTo(5 / 6);
    expect(m.balancedAccuracy).toBeCloseTo((1 + 0.8) / 2);
    expect(m.macroF1).toBeCloseTo((2 / 3 + 8 / 9) / 2);
    // class-1 scores 0.1 (neg) vs 0.4, 0.7, 0.8, 0.55, 0.9 (pos): every pair ordered → AUC 1
    expect(m.rocAuc).toBe(1);
  });

  it('ROC-AUC equals the pair-counting definition, ties counting one half', () => {
    let s = 7;
    const rand = () => (s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 2 ** 32;
    for (let trial = 0; trial < 20; trial++) {
      const n = 5 + Math.floor(rand() * 40);
      // coarse scores so that ties happen
      const scores = Array.from({ length: n }, () => Math.round(rand() * 6) / 6);
      const pos = Array.from({ length: n }, () => rand() < 0.4);
      let num = 0;
      let den = 0;
      for (let i = 0; i < n; i++)
        for (let j = 0; j < n; j++)
          if (pos[i] && !pos[j]) {
            den++;
            num += scores[i] > scores[j] ? 1 : scores[i] === scores[j] ? 0.5 : 0;
          }
      const expected = den ? num / den : NaN;
      if (Number.isNaN(expected)) expect(rocAuc(scores, pos)).toBeNaN();
      else expect(rocAuc(scores, pos)).toBeCloseTo(expected, 12);
    }
    expect(rocAuc([0.2, 0.8], [false, true])).toBe(1);
    expect(rocAuc([0.2, 0.8], [true, false])).toBe(0);
    expect(rocAuc([0.5, 0.5], [true, false])).toBe(0.5);
    expect(rocAuc([0.1, 0.2], [true, true])).toBeNaN();
  });

  it('multi-class ROC-AUC is the mean one-vs-rest AUC', () => {
    // 3 classes, 4 examples: class 2 has no example, so it is left out of the mean
    const probs = [0.7, 0.2, 0.1, 0.4, 0.5, 0.1, 0.6, 0.3, 0.1, 0.2, 0.3, 0.5];
    const labels = [0, 1, 0, 1];
    const m = classificationMetrics(probs, labels, 3);
    const auc0 = rocAuc([0.7, 0.4, 0.6, 0.2], [true, false, true, false]);
    const auc1 = rocAuc([0.2, 0.5, 0.3, 0.3], [false, true, false, true]);
    expect(m.rocAuc).toBeCloseTo((auc0 + auc1) / 2, 12);
    expect(() => classificationMetrics([0.5], [0, 1], 2)).toThrow(/1 probabilities for 2 labels/);
  });
});

describe('angles', () => {
  it('paper default, lists and ranges', () => {
    expect(parseAngles(undefined)).toHaveLength(37);
    expect(parseAngles('0,45,90')).toEqual([0, 45, 90]);
    expect(parseAngles('0:360:90')).toEqual([0, 90, 180, 270, 360]);
    expect(() => parseAngles('0,361')).toThrow(CliError);
    expect(() => parseAngles('abc')).toThrow(/`--angles entry` must be a number \(use 'paper', .*\), got "abc"\./);
  });
});

describe('checkpoint file', () => {
  it('round-trips and leaves no temporary file; a stale temp file is ignored', () => {
    const dir = mkdtempSync(join(tmpdir(), 'gmr-ck-'));
    const path = join(dir, 'c.gmrckpt');
    writeFileSync(`${path}.tmp-99999`, 'half written');
    const w = [{ name: 'a/kernel', shape: [2, 2], data: Float32Array.from([1, 2, 3, 4]) }];
    const o = [{ name: 'a/kernel#0', shape: [2, 2], data: Float32Array.from([5, 6, 7, 8]) }];
    saveCheckpoint(
      path,
      {
        model: { kind: 'gmr-cnn', widths: [1, 2, 3], numClasses: 10 },
        config: { x: 1 },
        epochsDone: 2,
        step: 7,
        history: [],
      },
      w,
      o,
    );
    expect(readdirSync(dir).filter((f) => f.includes(`.tmp-${process.pid}`))).toEqual([]);
    const ck = loadCheckpoint(path);
    expect(ck.header.epochsDone).toBe(2);
    expect(Array.from(ck.weights.get('a/kernel')!)).toEqual([1, 2, 3, 4]);
    expect(Array.from(ck.optimizer.get('a/kernel#0')!)).toEqual([5, 6, 7, 8]);
    // a second save replaces the first completely
    saveCheckpoint(
      path,
      {
        model: { kind: 'gmr-cnn', widths: [1, 2, 3], numClasses: 10 },
        config: {},
        epochsDone: 3,
        step: 9,
        history: [],
      },
      w,
      o,
    );
    expect(loadCheckpoint(path).header.epochsDone).toBe(3);
    expect(existsSync(path)).toBe(true);
  });
});

describe('cli constants', () => {
  it('match the modules they stand for', async () => {
    const cli = await import('../src/main.js');
    expect(cli.MODELS).toEqual((await import('../src/model.js')).MODELS);
    expect(cli.DATASETS).toEqual((await import('../src/data.js')).DATASETS);
    expect(cli.OPTIMIZERS).toEqual((await import('../src/optim.js')).OPTIMIZERS);
    expect(cli.AUGMENTATIONS).toEqual((await import('../src/data.js')).AUGMENTATIONS);
    expect(cli.POOLINGS).toEqual((await import('../src/model.js')).POOLINGS);
    const model = await import('../src/model.js');
    expect(cli.STEERABLE_FIELDS).toEqual(model.STEERABLE_DEFAULTS.fields);
    expect(cli.STEERABLE_INPUT_BLUR).toBe(model.STEERABLE_DEFAULTS.inputBlur);
    expect(model.steerableWidths(cli.STEERABLE_FIELDS)).toEqual([40, 80, 96]);
    const { ROTATION_ANGLES } = await import('@gmr-conv/datasets');
    expect(parseAngles('paper')).toEqual([...ROTATION_ANGLES]);
  });
});

describe('model specs from checkpoint headers', () => {
  it('fill defaults for older headers and tell architectures apart by harmonic channels', async () => {
    const { specFromHeader, sameSpec, describeSpec } = await import('../src/model.js');
    const old = specFromHeader({ kind: 'gmr-cnn', widths: [4, 8, 8], numClasses: 10 });
    expect(old).toEqual({
      kind: 'gmr-cnn',
      widths: [4, 8, 8],
      numClasses: 10,
      pooling: 'average',
      harmonicChannels: [0, 0, 0],
    });
    expect(sameSpec(old, { kind: 'gmr-cnn', widths: [4, 8, 8], numClasses: 10 })).toBe(true);
    const h = { ...old, harmonicChannels: [0, 4, 4] as [number, number, number] };
    expect(sameSpec(old, h)).toBe(false);
    expect(describeSpec(h)).toBe(
      'gmr-cnn with widths [4,8,8] (10 classes, average pooling, harmonic channels [0,4,4])',
    );
    expect(sameSpec(old, { ...old, pooling: 'rings' })).toBe(false);
  });
});
