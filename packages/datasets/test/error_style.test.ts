/**
 * The datasets package refuses in core's house style: a bad argument is a GMRValueError naming the function, the
 * parameter, the value and what is allowed; a bad file is a DatasetError (a GMRValueError too) naming the file.
 */
import { describe, expect, it } from 'vitest';
import { GMRValueError } from '@gmr-conv/core';
import { DatasetError, Rng, concatImageSets, encodeIdx, parseCifar, parseIdx, type ImageSet } from '../src/index.js';

const set = (h: number, w: number): ImageSet => ({
  images: new Uint8Array(h * w),
  labels: new Int32Array(1),
  count: 1,
  height: h,
  width: w,
  channels: 1,
});

describe('datasets: one error style', () => {
  it('argument checks throw GMRValueError naming the parameter and the value', () => {
    const cases: Array<[() => unknown, string]> = [
      [() => new Rng(Number.NaN), 'Rng: `seed` must be a finite number, got NaN.'],
      [
        () => parseCifar(new Uint8Array(3073), 'a.bin', { variant: 20 as 10 }),
        'parseCifar: `variant` must be 10 or 100, got 20.',
      ],
      [
        () => encodeIdx([2, 3], new Uint8Array(5)),
        'encodeIdx: `data.length` must be 6, the size of shape [2, 3], got 5.',
      ],
      [() => concatImageSets([]), 'concatImageSets: `sets` must be at least one ImageSet, got [].'],
    ];
    for (const [f, message] of cases) {
      expect(f).toThrow(GMRValueError);
      expect(f).not.toThrow(DatasetError);
      expect(f).toThrow(message);
    }
    const shapes = () => concatImageSets([set(2, 2), set(2, 3)]);
    expect(shapes).toThrow(GMRValueError);
    expect(shapes).toThrow(
      /^concatImageSets: `sets\[1\]` must be of the first set's shape 2×2×1 .*, got "2×3×1 .* images"\.$/,
    );
  });

  it('a damaged file is a DatasetError, also a GMRValueError, that names the file', () => {
    const f = () => parseIdx(new Uint8Array([1, 2, 3, 4, 5]), 'broken-idx1-ubyte');
    expect(f).toThrow(DatasetError);
    expect(f).toThrow(GMRValueError);
    expect(f).toThrow(/^broken-idx1-ubyte: /);
    // the file is also a field, for callers that list the files to fetch again
    expect(() => f()).toThrow(expect.objectContaining({ name: 'DatasetError', file: 'broken-idx1-ubyte' }));
  });
});
