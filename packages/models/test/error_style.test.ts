/**
 * The models package refuses bad input in core's house style: a GMRValueError whose message names where, the
 * parameter, the value received and what is allowed. A sample of the checks, one per kind of input.
 */
import { describe, expect, it } from 'vitest';
import { GMRValueError } from '@gmr-conv/core';
import {
  gmrCNN,
  gmrResNet,
  gmrResNet3D,
  gmrUNet,
  loadPyTorchStateDict,
  readSafetensors,
  stateDictFromJSON,
} from '../src/index.js';
import { tf, useBackend } from './helpers/backend.js';

/** A safetensors file of one header and `dataBytes` zero bytes. */
function safetensors(header: Record<string, unknown>, dataBytes: number): Uint8Array {
  const h = new TextEncoder().encode(JSON.stringify(header));
  const out = new Uint8Array(8 + h.length + dataBytes);
  new DataView(out.buffer).setBigUint64(0, BigInt(h.length), true);
  out.set(h, 8);
  return out;
}

describe('models: one error style', () => {
  it('builders name the option and the value', () => {
    const cases: Array<[() => unknown, string]> = [
      [() => gmrCNN({ widths: [8, 8] as never }), 'gmrCNN: `widths` must be 3 channel counts, got [8, 8].'],
      [() => gmrCNN({ kernelSizes: [9, 0, 5] }), 'gmrCNN: `kernelSizes[1]` must be an integer ≥ 1, got 0.'],
      [
        () => gmrResNet('wide' as never, [2, 2, 2, 2]),
        "gmrResNet(wide): `block` must be 'basic' or 'bottleneck', got \"wide\".",
      ],
      [() => gmrResNet3D([1, 1, 1]), 'gmrResNet3D: `layers` must be 4 block counts, got [1, 1, 1].'],
      [() => gmrUNet({ spatialDims: 4 as never }), 'gmrUNet: `spatialDims` must be 2 or 3, got 4.'],
      [
        () => gmrUNet({ upsample: 'bilinear' as never }),
        "gmrUNet: `upsample` must be 'deconv' or 'nearest', got \"bilinear\".",
      ],
    ];
    for (const [f, message] of cases) {
      expect(f).toThrow(GMRValueError);
      expect(f).toThrow(message);
    }
  });

  it('state-dict readers name the file, the entry, the field and its value', () => {
    const cases: Array<[() => unknown, string]> = [
      [
        () => stateDictFromJSON({ w: { shape: [2, -1], data: [1, 2] } }, 'w.json'),
        "w.json: entry 'w': `shape` must be a list of non-negative integers, got [2, -1].",
      ],
      [
        () => stateDictFromJSON({ w: { shape: [3], data: [1, 2] } }, 'w.json'),
        "w.json: entry 'w': `data` must hold 3 values (shape [3]), got 2 values.",
      ],
      [
        () =>
          readSafetensors(safetensors({ a: { dtype: 'F32', shape: [1], data_offsets: [4, 0] } }, 4), 'a.safetensors'),
        "a.safetensors: tensor 'a': `data_offsets` must be two byte offsets [begin, end] with 0 ≤ begin ≤ end, got [4, 0].",
      ],
    ];
    for (const [f, message] of cases) {
      expect(f).toThrow(GMRValueError);
      expect(f).toThrow(message);
    }
  });

  it('loadPyTorchStateDict names a wrong layout and the value', async () => {
    await useBackend('cpu');
    const m = gmrCNN({ widths: [4, 4, 4], kernelSizes: [3, 3, 3] });
    const before = tf.memory().numTensors;
    const f = () => loadPyTorchStateDict(m, new Map(), { layout: 'nchw' as never });
    expect(f).toThrow(GMRValueError);
    expect(f).toThrow("loadPyTorchStateDict: `layout` must be 'auto', 'modules' or 'sequential', got \"nchw\".");
    // the refusal comes before any tensor is made
    expect(tf.memory().numTensors).toBe(before);
    m.dispose();
  });
});
