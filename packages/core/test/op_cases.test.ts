/**
 * The shared op cases (@gmr-conv/test-utils/op_cases: the list the kernel packages run on their backends) on cpu,
 * every path: the output against the independent float64 reference (ring masks, Gaussian matrix, synthesis,
 * padding and convolution computed in test/helpers), and the gradients for x, θ, log σ and the bias against tfjs's
 * own gradients of the same op composed of plain tfjs convolutions. Cases with a user index matrix use a random one.
 */
import '@tensorflow/tfjs';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { OP_CASES } from '@gmr-conv/test-utils/op_cases';
import {
  PATH_VARIANTS,
  type TfParams,
  caseTensors,
  makeCase,
  randnArray,
  referenceOutput,
  relErr,
  runCase,
  tfComposition,
} from './helpers/gmr_reference.js';
import { caseSpecOf } from './helpers/shared_cases.js';

const TOL = 1e-4;

beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe('shared op cases on cpu: float64 reference and plain-tfjs gradients', () => {
  it.each(OP_CASES.map((c) => [c.name, c] as const))('%s', (_name, oc) => {
    const c = makeCase(caseSpecOf(oc));
    const t = caseTensors(c);
    let masks: Float32Array | undefined;
    if (oc.randomMasks) {
      masks = randnArray(t.indexMat.size, 99);
      t.indexMat.dispose();
      t.indexMat = tf.tensor2d(masks, [c.n, masks.length / c.n]);
    }
    const p: TfParams = { x: t.x, weight: t.weight, logSigmas: t.logSigmas, bias: t.bias, indexMat: t.indexMat };
    const names = (['x', 'weight', 'logSigmas', 'bias'] as const).filter((n) => p[n] != null);
    const before = tf.memory().numTensors;
    try {
      const ref = referenceOutput(c, masks ? { masks } : {});
      const gradsOf = (f: (q: TfParams) => tf.Tensor, R: tf.Tensor) =>
        tf.grads((...vals: tf.Tensor[]) => {
          const q = { ...p };
          names.forEach((n, i) => ((q as unknown as Record<string, tf.Tensor>)[n] = vals[i]!));
          return tf.sum(tf.mul(f(q), R));
        })(names.map((n) => p[n]!));
      const R = tf.tensor(randnArray(ref.data.length, 4242), ref.shape);
      const expected = gradsOf((q) => tfComposition(c, q), R);
      for (const v of PATH_VARIANTS) {
        const y = runCase(c, p, v);
        expect(y.shape, `${v} shape`).toEqual(ref.shape);
        expect(relErr(y.dataSync(), ref.data), `${v} forward vs float64 reference`).toBeLessThanOrEqual(TOL);
        y.dispose();
        const got = gradsOf((q) => runCase(c, q, v), R);
        names.forEach((n, i) =>
          expect(
            relErr(got[i]!.dataSync(), expected[i]!.dataSync()),
            `${v} grad ${n} vs plain tfjs`,
          ).toBeLessThanOrEqual(TOL),
        );
        tf.dispose(got);
      }
      tf.dispose([R, ...expected]);
      // Nothing left behind but core's cached index matrices (made on first use of a geometry).
      expect(tf.memory().numTensors - before).toBeLessThanOrEqual(1);
    } finally {
      tf.dispose(Object.values(t).filter((v): v is tf.Tensor => v != null));
    }
  });
});
