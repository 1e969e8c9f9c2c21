/**
 * `gmr train --data SOURCE` on tiny generated sources of every kind (a short run each), the normalisation stored
 * in the checkpoint and applied again by the loaded model, a GMR-ResNet run stopped and resumed (the same weights
 * as an uninterrupted run) then evaluated, and the refusals of data a model cannot take.
 * The command runs in this process (main()), which saves a process start per run.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { loadCheckpoint } from '../src/checkpoint.js';
import { channelStats, loadDataSource, parseDataSource } from '../src/data_source.js';
import { main } from '../src/main.js';
import {
  tempRoot,
  writeCifar10,
  writeCifar100,
  writeFolder,
  writeIdx,
  writeNpz,
  writePcam,
} from './source_fixtures.js';

let root = '';
const sources: Record<string, string> = {};

/** Runs `gmr args…` in this process; returns the exit code and what it wrote to stderr. */
async function gmrHere(args: string[]): Promise<{ code: number; stderr: string; stdout: string }> {
  let stderr = '';
  let stdout = '';
  const err = vi.spyOn(process.stderr, 'write').mockImplementation((s: string | Uint8Array) => {
    stderr += String(s);
    return true;
  });
  const log = vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => {
    stdout += `${a.join(' ')}\n`;
  });
  try {
    return { code: await main(args), stderr, stdout };
  } finally {
    err.mockRestore();
    log.mockRestore();
  }
}

const SHORT = [
  '--model',
  'gmr-cnn',
  '--widths',
  '2,2,2',
  '--epochs',
  '1',
  '--batch-size',
  '8',
  '--test-limit',
  '16',
  '--bn-recalibration',
  '16',
  '--no-progress',
];

beforeAll(async () => {
  root = tempRoot('train-data');
  sources.folder = `folder:${writeFolder(join(root, 'cells'), { perClass: 8, size: [8, 8], channels: 1 })}`;
  sources.cifar10 = `cifar10:${writeCifar10(join(root, 'cifar'), 16, 8)}`;
  sources.cifar100 = `cifar100:${writeCifar100(join(root, 'cifar100'), 16, 8)}`;
  sources.npz = `npz:${writeNpz(join(root, 'med.npz'), { train: 12, val: 6, test: 6 })}`;
  const [x, y] = await writePcam(join(root, 'pcam'), { train: 8, valid: 4, test: 4 });
  sources.hdf5 = `hdf5:${x},${y}`;
  sources.idx = `idx:${writeIdx(join(root, 'idx'), 16, 8)}`;
  sources.mnist = 'mnist';
});

afterEach(() => vi.restoreAllMocks());

describe('gmr train --data', () => {
  const cases: [string, { shape: number[]; on: 'validation' | 'test'; classes: number; normalized: boolean }][] = [
    ['folder', { shape: [8, 8, 1], on: 'validation', classes: 3, normalized: true }],
    ['cifar10', { shape: [32, 32, 3], on: 'test', classes: 10, normalized: true }],
    ['cifar100', { shape: [32, 32, 3], on: 'test', classes: 100, normalized: true }],
    ['npz', { shape: [8, 8, 1], on: 'validation', classes: 3, normalized: true }],
    ['hdf5', { shape: [8, 8, 3], on: 'validation', classes: 2, normalized: true }],
    ['idx', { shape: [8, 8, 1], on: 'test', classes: 4, normalized: true }],
    ['mnist', { shape: [28, 28, 1], on: 'test', classes: 10, normalized: false }],
  ];
  it.each(cases)(
    '%s: one short run; the checkpoint holds the input shape, classes and normalisation',
    async (kind, want) => {
      const out = join(root, `run-${kind}`);
      const r = await gmrHere(['train', '--data', sources[kind], ...SHORT, '--limit', '32', '--out', out]);
      expect(r.code, r.stderr).toBe(0);
      const ck = loadCheckpoint(join(out, 'checkpoint.gmrckpt'));
      expect(ck.header.model.inputShape).toEqual(want.shape);
      expect(ck.header.model.numClasses).toBe(want.classes);
      expect(ck.header.classNames).toHaveLength(want.classes);
      expect((ck.header.history[0] as { evaluatedOn: string }).evaluatedOn).toBe(want.on);
      expect(!!ck.header.model.normalization).toBe(want.normalized);
      expect([...ck.weights.keys()].includes('input_norm/depthwise_kernel')).toBe(want.normalized);
      if (want.normalized) expect(ck.header.model.normalization!.mean).toHaveLength(want.shape[2]);
    },
  );

  it('the normalisation is that of the training split, and the model loaded from the checkpoint applies it', async () => {
    const { setupBackend } = await import('../src/backend.js');
    const { buildModel, specFromHeader, writeWeights } = await import('../src/model.js');
    const { predictProbabilities } = await import('../src/train.js');
    const { tf } = await import('../src/backend.js');
    await setupBackend('auto');
    const ckPath = join(root, 'run-folder', 'checkpoint.gmrckpt');
    const ck = loadCheckpoint(ckPath);
    // the same split as the run (seed 1, the default 10 % held out), read again
    const d = await loadDataSource(parseDataSource(sources.folder), { seed: 1 });
    const want = channelStats(d.train);
    const norm = ck.header.model.normalization!;
    expect(norm.mean[0]).toBeCloseTo(want.mean[0], 12);
    expect(norm.std[0]).toBeCloseTo(want.std[0], 12);
    expect(want.std[0]).not.toBeCloseTo(1, 2);

    const before = tf.memory().numTensors;
    const model = buildModel(specFromHeader(ck.header.model), 0);
    writeWeights(model, ck.weights, ckPath);
    // input_norm maps pixels in [0, 1] to (x − mean) / std
    const x = tf.tensor4d(
      Float32Array.from(d.validation.images.subarray(0, 64), (v) => v / 255),
      [1, 8, 8, 1],
    );
    const probe = tf.model({ inputs: model.inputs, outputs: model.getLayer('input_norm').output as never });
    const y = probe.predict(x) as never as { data(): Promise<Float32Array> };
    const got = await y.data();
    const px = await x.data();
    for (let i = 0; i < 64; i++) expect(got[i]).toBeCloseTo((px[i] - norm.mean[0]) / norm.std[0], 5);
    // the loaded model, fed the validation images in [0, 1], gives the accuracy the run logged
    const p = await predictProbabilities(model, d.validation);
    let right = 0;
    for (let i = 0; i < d.validation.count; i++) {
      const row = Array.from(p.subarray(3 * i, 3 * i + 3));
      if (row.indexOf(Math.max(...row)) === d.validation.labels[i]) right++;
    }
    expect(right / d.validation.count).toBeCloseTo((ck.header.history[0] as { accuracy: number }).accuracy, 10);
    // gmr eval on the same images (all of the folder: it has no test split) gives the accuracy computed here: the
    // normalisation is applied once, by the model, and not a second time by the evaluation
    const all = (await loadDataSource(parseDataSource(sources.folder), { splits: ['test'] })).test!;
    const q = await predictProbabilities(model, all);
    let hits = 0;
    for (let i = 0; i < all.count; i++) {
      const row = Array.from(q.subarray(3 * i, 3 * i + 3));
      if (row.indexOf(Math.max(...row)) === all.labels[i]) hits++;
    }
    const ev = await gmrHere([
      'eval',
      '--checkpoint',
      ckPath,
      '--angles',
      '0',
      '--json',
      '--out',
      join(root, 'folder-eval'),
    ]);
    expect(ev.code, ev.stderr).toBe(0);
    expect((JSON.parse(ev.stdout) as { results: { upright: number; testImages: number }[] }).results[0]).toMatchObject({
      upright: hits / all.count,
      testImages: all.count,
    });
    tf.dispose([x, y as never]);
    model.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  it('gmr export writes the normalisation into the tfjs model; --format safetensors refuses it, naming why', async () => {
    const ckPath = join(root, 'run-folder', 'checkpoint.gmrckpt');
    const e = await gmrHere(['export', '--checkpoint', ckPath, '--out', join(root, 'exported')]);
    expect(e.code, e.stderr).toBe(0);
    const json = JSON.parse(readFileSync(join(root, 'exported', 'model.json'), 'utf8')) as { modelTopology: unknown };
    expect(JSON.stringify(json.modelTopology)).toContain('"name":"input_norm"');
    const s = await gmrHere(['export', '--checkpoint', ckPath, '--format', 'safetensors', '--out', join(root, 'st')]);
    expect(s.code).toBe(2);
    expect(s.stderr).toMatch(/normalises its input in its first layer \(input_norm/);
  });
});

describe('gmr train --model gmr-resnet18 on a folder', () => {
  const RESNET = [
    'train',
    '--data',
    '',
    '--model',
    'gmr-resnet18',
    '--inplanes',
    '2',
    '--gmr-conv-size',
    '3',
    '--size',
    '16',
    '--epochs',
    '2',
    '--batch-size',
    '8',
    '--bn-recalibration',
    '16',
    '--seed',
    '5',
    '--no-progress',
  ];
  const args = () => RESNET.map((a) => (a === '' ? sources.folder : a));

  it('stopped after one epoch and resumed, ends with the weights and optimiser state of an uninterrupted run; gmr eval reads it', async () => {
    const full = await gmrHere([...args(), '--out', join(root, 'rn-full')]);
    expect(full.code, full.stderr).toBe(0);
    const part = await gmrHere([...args(), '--out', join(root, 'rn-part'), '--stop-after', '1']);
    expect(part.code, part.stderr).toBe(0);
    const partCk = join(root, 'rn-part', 'checkpoint.gmrckpt');
    expect(loadCheckpoint(partCk).header.epochsDone).toBe(1);
    const resumed = await gmrHere(['train', '--resume', partCk, '--no-progress']);
    expect(resumed.code, resumed.stderr).toBe(0);
    const a = loadCheckpoint(join(root, 'rn-full', 'checkpoint.gmrckpt'));
    const b = loadCheckpoint(partCk);
    expect(b.header.epochsDone).toBe(2);
    expect(b.header.model).toEqual(a.header.model);
    expect(a.header.model).toMatchObject({
      kind: 'gmr-resnet18',
      inplanes: 2,
      gmrConvSize: [3, 3, 3, 3],
      inputShape: [16, 16, 1],
    });
    expect([...a.weights.keys()].some((k) => k.startsWith('layer4.1.conv2'))).toBe(true);
    expect([...b.weights.keys()]).toEqual([...a.weights.keys()]);
    for (const [name, w] of a.weights) expect(Array.from(b.weights.get(name)!), name).toEqual(Array.from(w));
    for (const [name, w] of a.optimizer) expect(Array.from(b.optimizer.get(name)!), name).toEqual(Array.from(w));

    const ev = await gmrHere([
      'eval',
      '--checkpoint',
      partCk,
      '--angles',
      '0,90',
      '--flips',
      '--json',
      '--out',
      join(root, 'rn-eval'),
    ]);
    expect(ev.code, ev.stderr).toBe(0);
    // exported with plain convs (input_norm kept), the model gives the checkpoint's logits
    const ex = await gmrHere(['export', '--checkpoint', partCk, '--plain', '--json', '--out', join(root, 'rn-plain')]);
    expect(ex.code, ex.stderr).toBe(0);
    const r = JSON.parse(ex.stdout) as { layers: string[]; maxAbsLogitDiff: number; maxAbsLogit: number };
    expect(r.layers).toContain('DepthwiseConv2D');
    expect(r.layers).not.toContain('GMRConv2D');
    // float rounding of two conv algorithms through a ResNet-18: relative to the logits' scale (16.6 here, 6 Dec)
    expect(r.maxAbsLogitDiff).toBeLessThan(2e-5 * Math.max(1, r.maxAbsLogit));
  });
});

describe('data a model cannot take, and flags of another model', () => {
  it('refuses, naming the model, the value and what would do', async () => {
    const small = await gmrHere([
      'train',
      '--data',
      sources.folder,
      '--model',
      'gmr-resnet18',
      '--inplanes',
      '2',
      '--out',
      join(root, 'bad1'),
      '--no-progress',
    ]);
    expect(small.code).toBe(2);
    expect(small.stderr).toMatch(
      /--model gmr-resnet18 cannot take 8×8 images: it downsamples by 16 .*at least 16; resize them with --size, or --skip-first-pool/,
    );
    const steer = await gmrHere([
      'train',
      '--data',
      sources.folder,
      '--model',
      'gmr-steerable',
      '--size',
      '10',
      '--out',
      join(root, 'bad2'),
      '--no-progress',
    ]);
    expect(steer.stderr).toMatch(/--model gmr-steerable cannot take 10×10 images: .*multiples of 4/);
    const flag = await gmrHere([
      'train',
      '--data',
      sources.folder,
      '--model',
      'gmr-cnn',
      '--inplanes',
      '8',
      '--out',
      join(root, 'bad3'),
    ]);
    expect(flag.stderr).toMatch(/--inplanes belong to the ResNets .*not --model gmr-cnn/);
    const stem = await gmrHere([
      'train',
      '--data',
      sources.folder,
      '--model',
      'gmr-resnet18',
      '--stem-kernel',
      '7',
      '--out',
      join(root, 'bad4'),
    ]);
    expect(stem.stderr).toMatch(/--stem-kernel belong to the plain resnet18/);
    const vf = await gmrHere(['train', '--data', sources.folder, '--val-fraction', '1', '--out', join(root, 'bad5')]);
    expect(vf.code).toBe(2);
    expect(vf.stderr).toMatch(/--val-fraction must be a number in \[0, 1\) .*got '1'/);
    const kind = await gmrHere(['train', '--data', 'tfrecord:/x', '--out', join(root, 'bad6')]);
    expect(kind.stderr).toMatch(/unknown source kind 'tfrecord'/);
    const both = await gmrHere(['train', '--data', sources.folder, '--dataset', 'mnist', '--out', join(root, 'bad7')]);
    expect(both.stderr).toMatch(/give one/);
    const size = await gmrHere(['train', '--data', sources.idx, '--size', '16', '--out', join(root, 'bad8')]);
    expect(size.stderr).toMatch(/--size resizes the images of a folder: source/);
    // a size the pools do not divide is taken, with a note that the invariance is no longer exact
    const odd = await gmrHere([
      'train',
      '--data',
      sources.folder,
      ...SHORT,
      '--size',
      '10',
      '--out',
      join(root, 'odd'),
    ]);
    expect(odd.code, odd.stderr).toBe(0);
    expect(odd.stdout).toMatch(
      /note: 10×10 is not a multiple of 4, the pooling of gmr-cnn: .*not exactly invariant.*--size can make it a multiple/,
    );
    const none = await gmrHere(['train', '--data', sources.folder, '--val-fraction', '0', '--out', join(root, 'bad9')]);
    expect(none.stderr).toMatch(/no validation or test split and --val-fraction is 0/);
  });
});
