/**
 * No tensor leaks: tf.memory().numTensors is unchanged after 100 forward + backward
 * calls (tf.grads inside tf.tidy, results disposed) of every op and path, on cpu and wasm.
 */
import '@tensorflow/tfjs';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '@gmr-conv/test-utils/backends';
import {
  type CaseSpec,
  PATH_VARIANTS,
  type PathVariant,
  type TfParams,
  caseTensors,
  makeCase,
  runCase,
} from './helpers/gmr_reference.js';

const ITERATIONS = 100;

const ops: Array<[string, CaseSpec]> = [
  [
    'gmrConv1d',
    {
      rank: 1,
      cin: 2,
      cout: 3,
      spatial: [9],
      kernelSize: 5,
      strides: 2,
      padding: 2,
      paddingMode: 'reflect',
      bias: true,
    },
  ],
  [
    'gmrConv2d',
    {
      rank: 2,
      cin: 4,
      cout: 4,
      spatial: [6, 7],
      kernelSize: 3,
      strides: 2,
      dilations: 2,
      padding: 'same',
      groups: 2,
      bias: true,
    },
  ],
  [
    'gmrConv2d channelsFirst circular',
    {
      rank: 2,
      cin: 2,
      cout: 2,
      spatial: [5, 5],
      kernelSize: 3,
      padding: 1,
      paddingMode: 'circular',
      dataFormat: 'channelsFirst',
      rings: 'binary',
    },
  ],
  [
    'gmrConv3d',
    { rank: 3, cin: 2, cout: 2, spatial: [4, 5, 4], kernelSize: 3, strides: [1, 2, 1], padding: 1, bias: true },
  ],
  [
    'gmrConvTranspose2d',
    {
      rank: 2,
      transposed: true,
      cin: 2,
      cout: 4,
      spatial: [3, 4],
      kernelSize: 3,
      strides: 2,
      padding: 1,
      outputPadding: 1,
      groups: 2,
      bias: true,
    },
  ],
];

let wasmOk = false;
beforeAll(async () => {
  wasmOk = (await initBackend('wasm')).ok;
  await tf.setBackend('cpu');
});
afterAll(async () => {
  await tf.setBackend('cpu');
});

function leakCheck(spec: CaseSpec, v: PathVariant, withIndexMat: boolean) {
  const c = makeCase(spec);
  const t = caseTensors(c);
  const p: TfParams = { x: t.x, weight: t.weight, logSigmas: t.logSigmas, bias: t.bias, indexMat: t.indexMat };
  const names = (
    ['x', 'weight', 'logSigmas', 'bias', ...(withIndexMat ? ['indexMat'] : [])] as Array<keyof TfParams>
  ).filter((n) => p[n] != null);
  const R = tf.tidy(() => tf.onesLike(runCase(c, p, v, {}, withIndexMat)));
  const step = () => {
    const gs = tf.tidy(() =>
      tf.grads((...vals: tf.Tensor[]) => {
        const q = { ...p };
        names.forEach((n, i) => ((q as unknown as Record<string, tf.Tensor>)[n] = vals[i]));
        return tf.sum(tf.mul(runCase(c, q, v, { trainIndexMat: withIndexMat }, withIndexMat), R));
      })(names.map((n) => p[n]!)),
    );
    tf.dispose(gs);
    // Forward alone, outside any tidy.
    const y = runCase(c, p, v, {}, withIndexMat);
    y.dispose();
  };
  try {
    step(); // warm-up: builds and keeps the cached ring masks for this geometry
    const before = tf.memory();
    for (let i = 0; i < ITERATIONS; i++) step();
    const after = tf.memory();
    expect(after.numTensors, 'numTensors').toBe(before.numTensors);
    expect(after.numDataBuffers, 'numDataBuffers').toBe(before.numDataBuffers);
  } finally {
    tf.dispose([R, ...(Object.values(t).filter(Boolean) as tf.Tensor[])]);
  }
}

for (const backend of ['cpu', 'wasm'] as const) {
  describe(`${backend}: numTensors unchanged after ${ITERATIONS} forward+backward calls`, () => {
    for (const [name, spec] of ops) {
      for (const v of PATH_VARIANTS) {
        it(`${name} ${v}`, async () => {
          if (backend === 'wasm') expect(wasmOk, 'wasm backend initialises').toBe(true);
          await tf.setBackend(backend);
          expect(tf.getBackend()).toBe(backend);
          try {
            leakCheck(spec, v, v !== 'two-stage-binary');
          } finally {
            await tf.setBackend('cpu');
          }
        });
      }
    }
  });
}

describe('cpu: the whole suite of calls leaves nothing behind', () => {
  it('numTensors returns to the starting count once the inputs are disposed', async () => {
    await tf.setBackend('cpu');
    // The ring-mask cache is already warm from the tests above for these geometries.
    const start = tf.memory().numTensors;
    leakCheck(ops[1][1], 'dense', false);
    expect(tf.memory().numTensors).toBe(start);
  });
});
