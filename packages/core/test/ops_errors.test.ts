/**
 * Bad arguments raise a GMRValueError whose message names the op, the parameter,
 * the value received and what is allowed. Even kernel sizes work and warn once.
 */
import '@tensorflow/tfjs';
import * as tf from '@tensorflow/tfjs-core';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { GMRValueError, gmrConv1d, gmrConv2d, gmrConv3d, gmrConvTranspose2d } from '../src/index.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

/** Runs fn, expects a GMRValueError, checks that its message contains every fragment. */
function expectGMRError(fn: () => unknown, fragments: string[]): GMRValueError {
  let caught: unknown;
  try {
    const r = fn();
    if (r instanceof tf.Tensor) r.dispose();
  } catch (e) {
    caught = e;
  }
  expect(caught, 'expected a GMRValueError').toBeInstanceOf(GMRValueError);
  const err = caught as GMRValueError;
  expect(err.name).toBe('GMRValueError');
  for (const f of fragments) expect(err.message, `message should contain ${f}`).toContain(f);
  return err;
}

const w2 = (cout = 3, cinG = 2, n = 2) => tf.ones([cout, cinG, n]);
const x2 = (h = 6, w = 6, c = 2) => tf.ones([1, h, w, c]);

describe('input tensor', () => {
  it('wrong rank of x (each op names the expected layout)', () => {
    expectGMRError(
      () => gmrConv2d(tf.ones([6, 6, 2]), { weight: w2() }, { kernelSize: 3 }),
      ['gmrConv2d', '`x`', 'rank-4', '[batch, height, width, channels]', 'shape [6, 6, 2]'],
    );
    expectGMRError(
      () => gmrConv2d(tf.ones([6, 6, 2]), { weight: w2() }, { kernelSize: 3, dataFormat: 'channelsFirst' }),
      ['`x`', 'rank-4', '[batch, channels, height, width]'],
    );
    expectGMRError(
      () => gmrConv1d(tf.ones([1, 6, 6, 2]), { weight: w2() }, { kernelSize: 3 }),
      ['gmrConv1d', '`x`', 'rank-3', 'shape [1, 6, 6, 2]'],
    );
    expectGMRError(
      () => gmrConv3d(tf.ones([1, 6, 6, 2]), { weight: w2() }, { kernelSize: 3 }),
      ['gmrConv3d', '`x`', 'rank-5', 'shape [1, 6, 6, 2]'],
    );
    expectGMRError(
      () => gmrConvTranspose2d(tf.ones([1, 6, 2]), { weight: w2(2, 3) }, { kernelSize: 3 }),
      ['gmrConvTranspose2d', '`x`', 'rank-4'],
    );
  });
  it('x not a tensor, wrong dtype', () => {
    expectGMRError(
      () => gmrConv2d([[1]] as unknown as tf.Tensor, { weight: w2() }, { kernelSize: 3 }),
      ['`x`', 'a tf.Tensor', '[[1]]'],
    );
    expectGMRError(
      () => gmrConv2d(tf.ones([1, 6, 6, 2], 'int32'), { weight: w2() }, { kernelSize: 3 }),
      ['`x.dtype`', "'float32'", '"int32"'],
    );
  });
  it('channel mismatch (channelsLast and channelsFirst)', () => {
    expectGMRError(
      () => gmrConv2d(x2(6, 6, 3), { weight: w2(3, 2) }, { kernelSize: 3 }),
      ['gmrConv2d', '`x`', '2 input channels', 'has 3', 'shape [1, 6, 6, 3]'],
    );
    expectGMRError(
      () => gmrConv2d(tf.ones([1, 3, 6, 6]), { weight: w2(3, 2) }, { kernelSize: 3, dataFormat: 'channelsFirst' }),
      ['`x`', '2 input channels', 'channelsFirst', 'has 3'],
    );
    expectGMRError(
      () => gmrConvTranspose2d(x2(4, 4, 3), { weight: w2(2, 3) }, { kernelSize: 3 }),
      ['gmrConvTranspose2d', '`x`', '2 input channels', 'has 3'],
    );
  });
  it('input too small for the kernel', () => {
    expectGMRError(
      () => gmrConv2d(x2(3, 6), { weight: w2(3, 2, 3) }, { kernelSize: 5 }),
      ['gmrConv2d', '`x`', 'large enough', 'kernelSize [5,5]', 'shape [1, 3, 6, 2]'],
    );
    expectGMRError(
      () => gmrConv2d(x2(5, 5), { weight: w2(3, 2, 2) }, { kernelSize: 3, dilations: 3 }),
      ['`x`', 'large enough', 'dilations [3,3]'],
    );
    expectGMRError(
      () => gmrConv1d(tf.ones([1, 2, 2]), { weight: w2(3, 2, 3) }, { kernelSize: 5, padding: 1 }),
      ['gmrConv1d', '`x`', 'large enough'],
    );
  });
});

describe('groups', () => {
  it('groups not dividing the output channels', () => {
    expectGMRError(
      () => gmrConv2d(x2(6, 6, 4), { weight: w2(5, 2) }, { kernelSize: 3, groups: 2 }),
      ['gmrConv2d', '`groups`', 'divisor of the output channels (5)', 'got 2'],
    );
  });
  it('groups not dividing the input channels (transposed)', () => {
    expectGMRError(
      () => gmrConvTranspose2d(x2(4, 4, 4), { weight: w2(4, 2) }, { kernelSize: 3, groups: 3 }),
      ['gmrConvTranspose2d', '`groups`', 'divisor of the input channels (4)', 'got 3'],
    );
  });
  it('groups not dividing the input channels (forward conv): the error names `groups`', () => {
    // Cin = 4 cannot be split into 3 groups whatever the weight is.
    expectGMRError(
      () => gmrConv2d(x2(6, 6, 4), { weight: w2(6, 1) }, { kernelSize: 3, groups: 3 }),
      ['gmrConv2d', '`groups`', 'divisor of the input channels (4)', 'got 3'],
    );
  });
  it('groups 0 / 1.5', () => {
    expectGMRError(
      () => gmrConv2d(x2(), { weight: w2() }, { kernelSize: 3, groups: 0 }),
      ['`groups`', 'positive integer', 'got 0'],
    );
    expectGMRError(
      () => gmrConv2d(x2(), { weight: w2() }, { kernelSize: 3, groups: 1.5 }),
      ['`groups`', 'positive integer', 'got 1.5'],
    );
  });
});

describe('geometry options', () => {
  it.each([0, -3, 2.5, NaN])('kernelSize %s', (k) => {
    expectGMRError(
      () => gmrConv2d(x2(), { weight: w2() }, { kernelSize: k }),
      ['gmrConv2d', '`kernelSize`', 'positive integer', `got ${Number.isNaN(k) ? 'NaN' : k}`],
    );
  });
  it('kernelSize tuples: a bad entry is named, a wrong length is rejected', () => {
    expectGMRError(
      () => gmrConv2d(x2(), { weight: w2() }, { kernelSize: [3, 0] }),
      ['`kernelSize[1]`', 'positive integer', 'got 0'],
    );
    expectGMRError(
      () => gmrConv2d(x2(), { weight: w2() }, { kernelSize: [3, 3, 3] }),
      ['`kernelSize`', 'array of 2 numbers', '[3, 3, 3]'],
    );
    expectGMRError(
      () => gmrConv2d(x2(), { weight: w2() }, { kernelSize: '3' as unknown as number }),
      ['`kernelSize`', 'got "3"'],
    );
    expectGMRError(() => gmrConv2d(x2(), { weight: w2() }, {} as never), ['`kernelSize`', 'got undefined']);
  });
  it.each([1.5, 0, -1])('strides %s', (s) => {
    expectGMRError(
      () => gmrConv2d(x2(), { weight: w2() }, { kernelSize: 3, strides: s }),
      ['`strides`', 'positive integer', `got ${s}`],
    );
  });
  it('strides / dilations tuples with a bad entry', () => {
    expectGMRError(
      () => gmrConv2d(x2(), { weight: w2() }, { kernelSize: 3, strides: [1, 2.5] }),
      ['`strides[1]`', 'positive integer', 'got 2.5'],
    );
    expectGMRError(
      () => gmrConv3d(tf.ones([1, 5, 5, 5, 2]), { weight: w2() }, { kernelSize: 3, strides: [1, 1] }),
      ['gmrConv3d', '`strides`', 'array of 3 numbers', '[1, 1]'],
    );
    expectGMRError(
      () => gmrConv2d(x2(), { weight: w2() }, { kernelSize: 3, dilations: 0 }),
      ['`dilations`', 'positive integer', 'got 0'],
    );
    expectGMRError(
      () => gmrConv2d(x2(), { weight: w2() }, { kernelSize: 3, dilations: [2, 1.5] }),
      ['`dilations[1]`', 'got 1.5'],
    );
  });
  it('unknown padding string and malformed paddings', () => {
    expectGMRError(
      () => gmrConv2d(x2(), { weight: w2() }, { kernelSize: 3, padding: 'full' as never }),
      ['gmrConv2d', '`padding`', "'same', 'valid'", 'got "full"'],
    );
    expectGMRError(
      () => gmrConv2d(x2(), { weight: w2() }, { kernelSize: 3, padding: -1 }),
      ['`padding`', 'non-negative integer', 'got -1'],
    );
    expectGMRError(() => gmrConv2d(x2(), { weight: w2() }, { kernelSize: 3, padding: 1.5 }), ['`padding`', 'got 1.5']);
    expectGMRError(
      () => gmrConv2d(x2(), { weight: w2() }, { kernelSize: 3, padding: [1, 1, 1] }),
      ['`padding`', '2 [before, after] pairs', 'got [1, 1, 1]'],
    );
    expectGMRError(
      () => gmrConv2d(x2(), { weight: w2() }, { kernelSize: 3, padding: [[1, 1], [1]] as never }),
      ['`padding`', 'got [[1, 1], [1]]'],
    );
  });
  it('unknown paddingMode', () => {
    expectGMRError(
      () => gmrConv2d(x2(), { weight: w2() }, { kernelSize: 3, padding: 1, paddingMode: 'mirror' as never }),
      ['gmrConv2d', '`paddingMode`', "'zeros', 'reflect', 'replicate', 'circular'", 'got "mirror"'],
    );
  });
  it('reflect padding ≥ the input size, circular padding > the input size', () => {
    expectGMRError(
      () => gmrConv2d(x2(3, 6), { weight: w2(3, 2, 3) }, { kernelSize: 5, padding: 3, paddingMode: 'reflect' }),
      ['`padding`', 'at most 2 on spatial axis 0 (size 3)', "'reflect'", 'got 3'],
    );
    expectGMRError(
      () =>
        gmrConv1d(
          tf.ones([1, 4, 2]),
          { weight: w2(3, 2, 2) },
          { kernelSize: 3, padding: [[4, 0]], paddingMode: 'reflect' },
        ),
      ['`padding`', 'at most 3 on spatial axis 0 (size 4)', 'got [[4, 0]]'],
    );
    expectGMRError(
      () => gmrConv2d(x2(3, 6), { weight: w2(3, 2, 3) }, { kernelSize: 5, padding: 4, paddingMode: 'circular' }),
      ['`padding`', 'at most 3 on spatial axis 0 (size 3)', "'circular'", 'got 4'],
    );
    // Padding = size − 1 (reflect) and = size (circular) are allowed.
    gmrConv2d(x2(3, 6), { weight: w2(3, 2, 3) }, { kernelSize: 5, padding: 2, paddingMode: 'reflect' }).dispose();
    gmrConv2d(x2(3, 6), { weight: w2(3, 2, 3) }, { kernelSize: 5, padding: 3, paddingMode: 'circular' }).dispose();
  });
  it('other option values', () => {
    expectGMRError(
      () => gmrConv2d(x2(), { weight: w2() }, { kernelSize: 3, dataFormat: 'NWHC' }),
      ['`dataFormat`', "'channelsLast' or 'channelsFirst'", 'got "NWHC"'],
    );
    expectGMRError(
      () => gmrConv2d(x2(), { weight: w2() }, { kernelSize: 3, path: 'fast' as never }),
      ['`path`', "'auto', 'two-stage' or 'dense'", 'got "fast"'],
    );
    expectGMRError(
      () => gmrConv2d(x2(), { weight: w2() }, { kernelSize: 3, twoStageBasis: 'gauss' as never }),
      ['`twoStageBasis`', "'smoothed' or 'binary'", 'got "gauss"'],
    );
    expectGMRError(() => gmrConv2d(x2(), { weight: w2() }, null as never), ['`options`', 'got null']);
  });
  it('transposed: outputPadding ≥ stride, non-zero padding mode', () => {
    expectGMRError(
      () => gmrConvTranspose2d(x2(4, 4, 2), { weight: w2(2, 3) }, { kernelSize: 3, strides: 2, outputPadding: 2 }),
      ['gmrConvTranspose2d', '`outputPadding`', 'smaller than the stride', 'got 2'],
    );
    expectGMRError(
      () => gmrConvTranspose2d(x2(4, 4, 2), { weight: w2(2, 3) }, { kernelSize: 3, outputPadding: -1 }),
      ['`outputPadding`', 'non-negative integer', 'got -1'],
    );
    expectGMRError(
      () =>
        gmrConvTranspose2d(x2(4, 4, 2), { weight: w2(2, 3) }, { kernelSize: 3, padding: 1, paddingMode: 'reflect' }),
      ['`paddingMode`', "'zeros' for a transposed", 'got "reflect"'],
    );
  });
});

describe('weights', () => {
  it('wrong weight rank / not a tensor / missing', () => {
    expectGMRError(
      () => gmrConv2d(x2(), { weight: tf.ones([3, 2, 3, 3]) }, { kernelSize: 3 }),
      [
        'gmrConv2d',
        '`weights.weight`',
        'rank-3 tensor [outChannels, inChannels/groups, numRings]',
        'shape [3, 2, 3, 3]',
      ],
    );
    expectGMRError(
      () => gmrConvTranspose2d(x2(), { weight: tf.ones([2, 3]) }, { kernelSize: 3 }),
      ['`weights.weight`', '[inChannels, outChannels/groups, numRings]', 'shape [2, 3]'],
    );
    expectGMRError(
      () => gmrConv2d(x2(), { weight: [1, 2] as never }, { kernelSize: 3 }),
      ['`weights.weight`', 'a tf.Tensor', 'got [1, 2]'],
    );
    expectGMRError(() => gmrConv2d(x2(), undefined as never, { kernelSize: 3 }), ['`weights`', 'got undefined']);
  });
  it('indexMat shape mismatch', () => {
    expectGMRError(
      () => gmrConv2d(x2(8, 8), { weight: w2(3, 2, 3), indexMat: tf.ones([3, 9]) }, { kernelSize: 5 }),
      ['gmrConv2d', '`weights.indexMat`', 'shape [3, 25]', 'got a tensor of shape [3, 9]'],
    );
    expectGMRError(
      () => gmrConv2d(x2(8, 8), { weight: w2(3, 2, 3), indexMat: tf.ones([2, 25]) }, { kernelSize: 5 }),
      ['`weights.indexMat`', 'shape [3, 25]', 'shape [2, 25]'],
    );
    expectGMRError(
      () => gmrConv2d(x2(8, 8), { weight: w2(3, 2, 3), indexMat: tf.ones([75]) }, { kernelSize: 5 }),
      ['`weights.indexMat`', 'shape [75]'],
    );
    // numRings that disagrees with the weight's ring axis.
    expectGMRError(
      () => gmrConv2d(x2(8, 8), { weight: w2(3, 2, 3) }, { kernelSize: 5, numRings: 4 }),
      ['`weights.indexMat`', 'shape [3, 25]', 'shape [4, 25]'],
    );
  });
  it('logSigmas / bias shape mismatch', () => {
    expectGMRError(
      () => gmrConv2d(x2(), { weight: w2(3, 2, 2), logSigmas: tf.zeros([3]) }, { kernelSize: 3 }),
      ['`weights.logSigmas`', 'shape [2]', 'shape [3]'],
    );
    expectGMRError(
      () => gmrConv2d(x2(), { weight: w2(3, 2, 2), bias: tf.zeros([2]) }, { kernelSize: 3 }),
      ['`weights.bias`', 'shape [3]', 'shape [2]'],
    );
    expectGMRError(
      () => gmrConvTranspose2d(x2(4, 4, 4), { weight: w2(4, 3, 2), bias: tf.zeros([3]) }, { kernelSize: 3, groups: 2 }),
      ['`weights.bias`', 'shape [6]', 'shape [3]'],
    );
  });
  it.each([
    ['weight', NaN],
    ['weight', Infinity],
    ['bias', NaN],
    ['bias', -Infinity],
    ['logSigmas', NaN],
    ['logSigmas', Infinity],
  ] as const)('%s containing %s', (which, bad) => {
    const weight = tf.tensor3d([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12], [3, 2, 2]);
    const bias = tf.tensor1d([0.1, 0.2, 0.3]);
    const logSigmas = tf.tensor1d([-0.5, -0.4]);
    const broken = { weight, bias, logSigmas };
    const src = broken[which];
    const data = src.dataSync().slice();
    data[1] = bad;
    broken[which] = tf.tensor(data, src.shape) as never;
    const err = expectGMRError(
      () => gmrConv2d(x2(), broken, { kernelSize: 3, padding: 1 }),
      ['gmrConv2d', `\`weights.${which}\``, 'finite numbers', `got ${bad}`, 'flat index 1'],
    );
    void err;
    // checkFinite: false skips the read-back: the value simply propagates (except log σ = +∞, which the clamp absorbs).
    const y = gmrConv2d(x2(), broken, { kernelSize: 3, padding: 1, checkFinite: false });
    const allFinite = Array.from(y.dataSync()).every(Number.isFinite);
    expect(allFinite).toBe(which === 'logSigmas' && bad === Infinity);
    tf.dispose([weight, bias, logSigmas, broken[which], y]);
  });
  it('NaN in weight is also caught by the other ops', () => {
    const bad = tf.tensor3d([1, NaN, 1, 1], [2, 1, 2]);
    expectGMRError(
      () => gmrConv1d(tf.ones([1, 6, 1]), { weight: bad }, { kernelSize: 3 }),
      ['gmrConv1d', '`weights.weight`', 'NaN'],
    );
    expectGMRError(
      () => gmrConv3d(tf.ones([1, 4, 4, 4, 1]), { weight: bad }, { kernelSize: 3 }),
      ['gmrConv3d', '`weights.weight`', 'NaN'],
    );
    expectGMRError(
      () =>
        gmrConvTranspose2d(
          tf.ones([1, 4, 4, 2]),
          { weight: tf.tensor3d([1, NaN, 1, 1], [2, 1, 2]) },
          { kernelSize: 3 },
        ),
      ['gmrConvTranspose2d', '`weights.weight`', 'NaN'],
    );
  });
});

describe('even kernel sizes', () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });
  it('work and warn once', () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    const x = x2(7, 7);
    const weight = w2(3, 2, 3);
    for (let i = 0; i < 3; i++) {
      const y = gmrConv2d(x, { weight }, { kernelSize: 4, padding: 'same' });
      expect(y.shape).toEqual([1, 7, 7, 3]);
      expect(Array.from(y.dataSync()).every(Number.isFinite)).toBe(true);
      y.dispose();
    }
    const evenWarnings = warn.mock.calls.filter((c) => String(c[0]).includes('even kernelSize'));
    expect(evenWarnings).toHaveLength(1);
    expect(String(evenWarnings[0][0])).toContain('gmrConv2d');
    expect(String(evenWarnings[0][0])).toContain('[4, 4]');
    // Odd sizes do not warn.
    gmrConv2d(x, { weight: w2(3, 2, 2) }, { kernelSize: 3 }).dispose();
    expect(warn.mock.calls.filter((c) => String(c[0]).includes('even kernelSize'))).toHaveLength(1);
    tf.dispose([x, weight]);
  });
});

describe('errors leave no tensors behind', () => {
  it('numTensors unchanged after failed calls', () => {
    const x = x2(3, 6);
    const weight = w2(3, 2, 3);
    const bad = tf.tensor1d([NaN, 0, 0]);
    // Warm the ring-mask cache for this geometry.
    gmrConv2d(x, { weight }, { kernelSize: 5, padding: 2 }).dispose();
    const before = tf.memory().numTensors;
    for (let i = 0; i < 5; i++) {
      expect(() => gmrConv2d(x, { weight }, { kernelSize: 5, padding: 3, paddingMode: 'reflect' })).toThrow(
        GMRValueError,
      );
      expect(() => gmrConv2d(x, { weight, logSigmas: bad }, { kernelSize: 5, padding: 2 })).toThrow(GMRValueError);
      expect(() => gmrConv2d(x, { weight }, { kernelSize: 5, strides: 0 })).toThrow(GMRValueError);
    }
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([x, weight, bad]);
  });
});
