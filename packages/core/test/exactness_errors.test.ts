/** checkExactEquivariance refuses bad arguments in the house style: GMRValueError naming the parameter and the value. */
import { describe, expect, it } from 'vitest';
import { checkExactEquivariance, GMRValueError } from '../src/index.js';

describe('checkExactEquivariance argument errors', () => {
  it('a bad inputSize names `inputSize` and the value', () => {
    const f = () => checkExactEquivariance([{ type: 'gmrConv', kernelSize: 3 }], [0, 5]);
    expect(f).toThrow(GMRValueError);
    expect(f).toThrow(
      'checkExactEquivariance: `inputSize` must be a positive integer or 1–3 positive integers (spatial size), got [0, 5].',
    );
  });

  it('layers that are neither a list nor a model name `layers` and what came instead', () => {
    const f = () => checkExactEquivariance(42 as never, 8);
    expect(f).toThrow(GMRValueError);
    expect(f).toThrow(
      /^checkExactEquivariance: `layers` must be an array of layer specs or a tfjs LayersModel, got "number"\.$/,
    );
  });
});
