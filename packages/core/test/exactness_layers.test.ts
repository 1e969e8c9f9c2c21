/**
 * checkExactEquivariance knows core's own layers beyond the GMR convs: the harmonic and steerable convs (a GMR conv's
 * geometry), the field layers (per pixel) and ring pooling (a global pool). A stack of them is judged exact, the same
 * stack with a stride-2 'same' steerable conv on an even size is not, and the reason names that layer.
 */
import * as tfjs from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  FieldBatchNorm,
  FieldInvariants,
  FieldNonlinearity,
  GMRHarmonicConv2D,
  GMRSteerableConv2D,
  RingPooling2D,
  checkExactEquivariance,
} from '../src/index.js';

beforeAll(async () => {
  await tfjs.setBackend('cpu');
});

function fieldStack(size: number, strides: number): tfjs.LayersModel {
  const fields: [number, number, number] = [2, 2, 2];
  return tfjs.sequential({
    layers: [
      new GMRHarmonicConv2D({
        name: 'harmonic',
        filters: 3,
        kernelSize: 5,
        padding: 'same',
        inputShape: [size, size, 1],
      }),
      new GMRSteerableConv2D({ name: 'steerable', fields, kernelSize: 5, strides, padding: 'same' }),
      new FieldBatchNorm({ name: 'fbn', fields }),
      new FieldNonlinearity({ name: 'fnl', fields }),
      new FieldInvariants({ name: 'inv', fields }),
      new RingPooling2D({ name: 'rings' }),
      tfjs.layers.dense({ units: 2 }),
    ],
  });
}

describe("checkExactEquivariance on core's harmonic, steerable, field and ring-pooling layers", () => {
  it('a stride-1 stack is exact, with no layer left unknown', () => {
    const m = fieldStack(9, 1);
    const r = checkExactEquivariance(m);
    expect(r.reasons).toEqual([]);
    expect(r.exact).toBe(true);
    m.dispose();
  });

  it("a stride-2 'same' steerable conv on an even size is named as the layer that breaks it", () => {
    const m = fieldStack(8, 2);
    const r = checkExactEquivariance(m);
    expect(r.exact).toBe(false);
    expect(r.reasons.length).toBeGreaterThan(0);
    expect(
      r.reasons.every((reason) =>
        /"steerable" \(GMRSteerableConv2D → gmrConv\).*asymmetric padding \(1, 2\)/.test(reason),
      ),
    ).toBe(true);
    m.dispose();
  });
});
