import { describe, expect, it } from 'vitest';
import { mixSets, type ImageSet } from '../src/index.js';

const set = (pixels: number[], labels: number[], classNames?: string[], float = false): ImageSet => ({
  images: float ? Float32Array.from(pixels) : Uint8Array.from(pixels),
  labels: Int32Array.from(labels),
  count: labels.length,
  height: 1,
  width: 2,
  channels: 1,
  classNames,
});

describe('mixSets', () => {
  it('joins sets with shared labels, keeping uint8', () => {
    const m = mixSets([set([1, 2, 3, 4], [0, 1], ['a', 'b']), set([5, 6], [1], ['a', 'b'])]);
    expect(m.images).toBeInstanceOf(Uint8Array);
    expect(Array.from(m.images)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(Array.from(m.labels)).toEqual([0, 1, 1]);
    expect(m.count).toBe(3);
    expect(m.classNames).toEqual(['a', 'b']);
  });

  it('moves labels past earlier sets with disjoint labels, and scales uint8 to [0,1] next to float sets', () => {
    const m = mixSets([set([255, 0], [1], ['a', 'b']), set([0.5, 0.25], [0], ['x'], true)], {
      labels: 'disjoint',
      names: ['digits', 'fashion'],
    });
    expect(m.images).toBeInstanceOf(Float32Array);
    expect(Array.from(m.images)).toEqual([1, 0, 0.5, 0.25]);
    expect(Array.from(m.labels)).toEqual([1, 2]);
    expect(m.classNames).toEqual(['digits:a', 'digits:b', 'fashion:x']);
  });

  it('refuses other image shapes, different class names for shared labels, and bad options', () => {
    const other = { ...set([1, 2], [0]), width: 1, height: 2 };
    expect(() => mixSets([set([1, 2], [0]), other], { names: ['mnist', 'odd'] })).toThrow(
      /`sets\[1\] \(odd\)` must be of the first set's shape 1×2×1, got "2×1×1 images"/,
    );
    expect(() => mixSets([set([1, 2], [0], ['a']), set([1, 2], [0], ['b'])])).toThrow(
      /class names` must be the same as set0's \["a"\].*labels: 'disjoint'/,
    );
    expect(() => mixSets([])).toThrow(/`sets` must be a non-empty array/);
    expect(() => mixSets([set([1, 2], [0])], { labels: 'both' as 'shared' })).toThrow(
      /`options.labels` must be 'shared' or 'disjoint', got "both"/,
    );
  });
});
