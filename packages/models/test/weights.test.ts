import { beforeAll, describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  exportPyTorchStateDict,
  gmrResNet18,
  loadPyTorchStateDict,
  nchwToNhwc,
  readSafetensors,
  resNet18,
  stateDictFromJSON,
  writeSafetensors,
  type StateDict,
} from '../src/index.js';
import { defaultModelOracleDir } from '@gmr-conv/test-utils/oracle/model';
import { maxAbsDiff, tf, useBackend } from './helpers/backend.js';

beforeAll(() => useBackend('wasm'));

const oracle = JSON.parse(
  fs.readFileSync(path.join(defaultModelOracleDir(), 'public_gmr_resnet18_small.json'), 'utf8'),
);
const small = () => gmrResNet18({ gmrConvSize: [5, 5, 3, 3], numClasses: 7, inplanes: 4 });

/** A safetensors file written by hand, byte by byte, as the format spec describes. */
function handMadeSafetensors(): Uint8Array {
  const header = JSON.stringify({
    __metadata__: { format: 'pt' },
    a: { dtype: 'F32', shape: [2, 2], data_offsets: [0, 16] },
    b: { dtype: 'F64', shape: [3], data_offsets: [16, 40] },
    c: { dtype: 'I64', shape: [], data_offsets: [40, 48] },
  });
  const hb = new TextEncoder().encode(header);
  const buf = new ArrayBuffer(8 + hb.length + 48);
  const dv = new DataView(buf);
  dv.setUint32(0, hb.length, true); // u64 little-endian, high word 0
  new Uint8Array(buf).set(hb, 8);
  const d = 8 + hb.length;
  [1.5, -2, 3.25, 4].forEach((v, i) => dv.setFloat32(d + 4 * i, v, true));
  [0.1, 0.2, -0.3].forEach((v, i) => dv.setFloat64(d + 16 + 8 * i, v, true));
  dv.setBigInt64(d + 40, 10n, true);
  return new Uint8Array(buf);
}

describe('safetensors', () => {
  it('reads F32, F64 and I64 tensors of a hand-made file', () => {
    const sd = readSafetensors(handMadeSafetensors());
    expect([...sd.keys()]).toEqual(['a', 'b', 'c']);
    expect(sd.get('a')).toEqual({ shape: [2, 2], dtype: 'float32', data: Float32Array.from([1.5, -2, 3.25, 4]) });
    expect(Array.from(sd.get('b')!.data)).toEqual([0.1, 0.2, -0.3]);
    expect(sd.get('c')).toEqual({ shape: [], dtype: 'int64', data: [10] });
  });
  it('writes what it reads', () => {
    const sd = readSafetensors(handMadeSafetensors());
    const again = readSafetensors(writeSafetensors(sd));
    expect(again).toEqual(sd);
  });
  it('rejects truncated, corrupt and unsupported files with a clear error', () => {
    const good = handMadeSafetensors();
    expect(() => readSafetensors(good.slice(0, 5), 'x.safetensors')).toThrow(/x\.safetensors: 5 bytes is too short/);
    expect(() => readSafetensors(good.slice(0, good.length - 8), 'x.safetensors')).toThrow(
      /x\.safetensors: tensor 'c' ends at byte 48.*truncated/,
    );
    const huge = good.slice();
    new DataView(huge.buffer).setUint32(0, 1e6, true);
    expect(() => readSafetensors(huge)).toThrow(/header length 1000000 exceeds/);
    const f16 = new TextEncoder().encode(JSON.stringify({ h: { dtype: 'F16', shape: [1], data_offsets: [0, 2] } }));
    const buf = new Uint8Array(8 + f16.length + 2);
    new DataView(buf.buffer).setUint32(0, f16.length, true);
    buf.set(f16, 8);
    expect(() => readSafetensors(buf)).toThrow(/tensor 'h': `dtype` must be F32, F64 or I64, got "F16"/);
    const bad = good.slice();
    bad[9] = 0x7b; // break the JSON
    bad[8] = 0x7b;
    expect(() => readSafetensors(bad)).toThrow(/not valid JSON/);
  });
});

describe('PyTorch state dict import', () => {
  it('loads the oracle state dict from JSON: the float32 logits match the reference', () => {
    const m = small();
    const report = loadPyTorchStateDict(m, stateDictFromJSON(oracle));
    expect(report.ignored.some((k) => k.endsWith('.mus'))).toBe(true);
    expect(report.ignored.some((k) => k.endsWith('num_batches_tracked'))).toBe(true);
    expect(report.masksChecked.length).toBe(2 * 17);
    const y = tf.tidy(() => (m.predict(nchwToNhwc(oracle.variants.float32.input)) as tf.Tensor).dataSync());
    expect(maxAbsDiff(y, oracle.variants.float32.logits.data)).toBeLessThan(1e-4 * 20);
    m.dispose();
  });
  it('loads the same weights from a safetensors (F64) file and gives the same logits', () => {
    const json = stateDictFromJSON(oracle);
    const bytes = writeSafetensors(json);
    const a = small();
    const b = small();
    loadPyTorchStateDict(a, json);
    loadPyTorchStateDict(b, readSafetensors(bytes));
    const x = nchwToNhwc(oracle.variants.float32.input);
    const ya = tf.tidy(() => (a.predict(x) as tf.Tensor).dataSync());
    const yb = tf.tidy(() => (b.predict(x) as tf.Tensor).dataSync());
    expect(maxAbsDiff(ya, yb)).toBe(0);
    tf.dispose(x);
    a.dispose();
    b.dispose();
  });
  it('reports every missing, extra and mis-shaped key at once and writes nothing', () => {
    const sd = stateDictFromJSON(oracle);
    sd.delete('fc.bias');
    sd.delete('layer3.0.downsample.2.running_mean');
    sd.set('layer9.0.conv1.weight', { shape: [1], dtype: 'float64', data: Float64Array.from([1]) });
    sd.set('layer1.0.bn1.weight', { shape: [5], dtype: 'float64', data: new Float64Array(5) });
    const m = small();
    const before = (m.getLayer('fc').getWeights()[0] as tf.Tensor).dataSync().slice();
    let msg = '';
    try {
      loadPyTorchStateDict(m, sd);
    } catch (e) {
      msg = (e as Error).message;
    }
    expect(msg).toMatch(
      /missing from the state dict \(2\): .*layer3\.0\.downsample\.2\.running_mean \[16\].*fc\.bias \[7\]|missing from the state dict \(2\): .*fc\.bias/,
    );
    expect(msg).toMatch(/layer3\.0\.downsample\.2\.running_mean/);
    expect(msg).toMatch(/not in model 'gmr_resnet18' \(1\): layer9\.0\.conv1\.weight \[1\]/);
    expect(msg).toMatch(
      /shape mismatch for 'layer1\.0\.bn1\.weight': state dict has \[5\], layer 'layer1\.0\.bn1' needs \[4\]/,
    );
    expect(maxAbsDiff((m.getLayer('fc').getWeights()[0] as tf.Tensor).dataSync(), before)).toBe(0);
    m.dispose();
  });
  it('checks the ring masks against ours', () => {
    const sd = stateDictFromJSON(oracle);
    const mask = sd.get('layer1.0.conv1.weight_index_mat')!;
    (mask.data as Float64Array)[0] = 1;
    const m = small();
    expect(() => loadPyTorchStateDict(m, sd)).toThrow(/ring masks 'layer1\.0\.conv1\.weight_index_mat' differ/);
    expect(() => loadPyTorchStateDict(m, sd, { checkMasks: false })).not.toThrow();
    m.dispose();
  });
  it('round trip: our model → PyTorch state dict → safetensors → a fresh model, same logits (GMR and plain ResNet-18)', () => {
    for (const make of [small, () => resNet18({ numClasses: 5, inplanes: 4 })]) {
      const a = make();
      const b = make();
      const sd: StateDict = readSafetensors(writeSafetensors(exportPyTorchStateDict(a)));
      const conv = [...sd.keys()].find((k) => k === 'layer2.0.conv1.weight' || k === 'layer2.0.conv1.1.weight')!;
      expect(conv).toBeDefined();
      if (conv === 'layer2.0.conv1.weight') expect(sd.get(conv)!.shape).toEqual([8, 4, 3, 3]); // [O, I, kh, kw]
      expect(sd.get('fc.weight')!.shape).toEqual([a.outputs[0].shape[1], 32]); // [O, I]
      loadPyTorchStateDict(b, sd);
      const x = tf.randomNormal([2, 32, 32, 3]);
      const ya = tf.tidy(() => (a.predict(x) as tf.Tensor).dataSync());
      const yb = tf.tidy(() => (b.predict(x) as tf.Tensor).dataSync());
      expect(maxAbsDiff(ya, yb)).toBe(0);
      tf.dispose(x);
      a.dispose();
      b.dispose();
    }
  });
  it('accepts a 1×1 conv weight [O, I, 1, 1] for a Dense pointwise layer, and the conv2d form of the model', () => {
    const sd = stateDictFromJSON(oracle);
    const conv = gmrResNet18({ gmrConvSize: [5, 5, 3, 3], numClasses: 7, inplanes: 4, pointwiseAs: 'conv2d' });
    const dense = small();
    loadPyTorchStateDict(conv, sd);
    loadPyTorchStateDict(dense, sd);
    const x = nchwToNhwc(oracle.variants.float32.input);
    const y1 = tf.tidy(() => (conv.predict(x) as tf.Tensor).dataSync());
    const y2 = tf.tidy(() => (dense.predict(x) as tf.Tensor).dataSync());
    expect(maxAbsDiff(y1, y2)).toBeLessThan(1e-4);
    tf.dispose(x);
    conv.dispose();
    dense.dispose();
  });
});
