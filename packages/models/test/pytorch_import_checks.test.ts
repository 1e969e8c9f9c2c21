/**
 * What import refuses and what it accepts, without Python: malformed safetensors files, missing keys, wrong
 * shapes and dtypes; the wrappers PyTorch users save ({model: …}, module. keys); the CNN's nn.Sequential keys;
 * buffers kept for the way back; the UNet's layers (no official counterpart to run against).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  exportPyTorchStateDict,
  gmrCNN,
  gmrResNet50,
  gmrUNet,
  loadFromMemory,
  loadPyTorchStateDict,
  readSafetensors,
  saveToMemory,
  stateDictFromJSON,
  writeSafetensors,
  type StateDict,
} from '../src/index.js';
import { maxAbsDiff, seeded, tf, useBackend } from './helpers/backend.js';
import { tmpDir } from './helpers/pytorch.js';

beforeAll(() => useBackend('wasm'));

/** A safetensors file from a header object and a data section, byte by byte. */
function rawFile(header: Record<string, unknown>, dataBytes: number, headerLenOverride?: number): Uint8Array {
  const hb = new TextEncoder().encode(JSON.stringify(header));
  const out = new Uint8Array(8 + hb.length + dataBytes);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerLenOverride ?? hb.length), true);
  out.set(hb, 8);
  return out;
}

const cnn = () => gmrCNN({ widths: [4, 8, 8], kernelSizes: [9, 7, 5], numClasses: 5 });
const errorOf = (f: () => unknown) => {
  try {
    f();
  } catch (e) {
    return (e as Error).message;
  }
  return '';
};

describe('malformed safetensors files are refused with a clear error', () => {
  const ok = {
    a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] },
    b: { dtype: 'F32', shape: [2], data_offsets: [8, 16] },
  };
  it('header longer than the file', () => {
    expect(() => readSafetensors(rawFile(ok, 16, 5000), 'w.safetensors')).toThrow(
      /w\.safetensors: header length 5000 exceeds the \d+ bytes after it/,
    );
  });
  it('data offsets past the end', () => {
    const h = { ...ok, b: { dtype: 'F32', shape: [2], data_offsets: [8, 16] } };
    expect(() => readSafetensors(rawFile(h, 12), 'w.safetensors')).toThrow(
      /tensor 'b' ends at byte 16 of a 12-byte data section/,
    );
  });
  it('overlapping data offsets', () => {
    const h = {
      a: { dtype: 'F32', shape: [3], data_offsets: [0, 12] },
      b: { dtype: 'F32', shape: [2], data_offsets: [8, 16] },
    };
    expect(() => readSafetensors(rawFile(h, 16), 'w.safetensors')).toThrow(
      /tensors 'a' \(bytes 0\.\.12\) and 'b' \(bytes 8\.\.16\) overlap/,
    );
  });
  it('offsets that disagree with dtype and shape, and an unsupported dtype', () => {
    expect(() => readSafetensors(rawFile({ a: { dtype: 'F32', shape: [3], data_offsets: [0, 8] } }, 8))).toThrow(
      /tensor 'a' \(F32 \[3\]\) needs 12 bytes, data_offsets give 8/,
    );
    expect(() => readSafetensors(rawFile({ a: { dtype: 'BF16', shape: [2], data_offsets: [0, 4] } }, 4))).toThrow(
      /tensor 'a': `dtype` must be F32, F64 or I64, got "BF16"/,
    );
  });
  it('reads a file from disk (a Node Buffer from a shared pool) with the right values', () => {
    const dir = tmpDir('st');
    const sd: StateDict = new Map([
      ['w', { shape: [2, 2], dtype: 'float32', data: Float32Array.from([1, -2, 3.5, 4]) }],
      ['n', { shape: [], dtype: 'int64', data: [7] }],
    ]);
    writeFileSync(join(dir, 'x.safetensors'), writeSafetensors(sd));
    readFileSync(join(dir, 'x.safetensors')); // a second Buffer in the pool, so a view at offset 0 would read this one
    expect(readSafetensors(readFileSync(join(dir, 'x.safetensors')))).toEqual(sd);
    rmSync(dir, { recursive: true, force: true });
  });
});

describe('loadPyTorchStateDict', () => {
  it('refuses a missing key, a wrong shape and a wrong dtype, names each, and writes nothing', () => {
    const src = seeded(1, cnn);
    const dst = seeded(2, cnn);
    const sd = exportPyTorchStateDict(src);
    sd.delete('13.bias');
    sd.set('1.weight', { shape: [5], dtype: 'float32', data: new Float32Array(5) });
    sd.set('4.weight', { ...sd.get('4.weight')!, dtype: 'int64', data: Array.from(sd.get('4.weight')!.data) });
    const before = tf.tidy(() => dst.getLayer('conv1').getWeights()[0].dataSync().slice());
    const msg = errorOf(() => loadPyTorchStateDict(dst, sd));
    expect(msg).toMatch(/missing from the state dict \(1\): 13\.bias \[5\]/);
    expect(msg).toMatch(/shape mismatch for '1\.weight': state dict has \[5\], layer 'bn1' needs \[4\]/);
    expect(msg).toMatch(/dtype mismatch for '4\.weight': state dict has int64, layer 'conv2' needs float32 or float64/);
    expect(
      maxAbsDiff(
        tf.tidy(() => dst.getLayer('conv1').getWeights()[0].dataSync()),
        before,
      ),
    ).toBe(0);
    src.dispose();
    dst.dispose();
  });

  it('strict: false loads what fits and reports the missing and unexpected keys', () => {
    const src = seeded(1, cnn);
    const dst = seeded(2, cnn);
    const sd = exportPyTorchStateDict(src);
    sd.delete('13.weight');
    sd.set('head.weight', { shape: [1], dtype: 'float32', data: new Float32Array(1) });
    const r = loadPyTorchStateDict(dst, sd, { strict: false });
    expect(r.missing).toEqual(['13.weight [5, 8]']);
    expect(r.unexpected).toEqual(['head.weight']);
    expect(r.loaded).toContain('0.weight');
    expect(
      maxAbsDiff(dst.getLayer('conv1').getWeights()[0].dataSync(), src.getLayer('conv1').getWeights()[0].dataSync()),
    ).toBe(0);
    src.dispose();
    dst.dispose();
  });

  it('accepts {model: …} JSON checkpoints and DDP / checkpoint prefixes, and reports what it stripped', () => {
    const src = seeded(1, cnn);
    const sd = exportPyTorchStateDict(src);
    const json = {
      model: Object.fromEntries(
        [...sd].map(([k, t]) => [k, { shape: t.shape, dtype: t.dtype, data: Array.from(t.data) }]),
      ),
      epoch: 3,
    };
    const wrapped: StateDict = new Map([...stateDictFromJSON(json)].map(([k, t]) => [`state_dict.module.${k}`, t]));
    const dst = seeded(2, cnn);
    const r = loadPyTorchStateDict(dst, wrapped);
    expect(r.stripped).toEqual(['state_dict.', 'module.']);
    expect(r.layout).toBe('sequential');
    const x = tf.randomNormal([2, 28, 28, 1], 0, 1, 'float32', 5);
    expect(
      maxAbsDiff(
        tf.tidy(() => (src.predict(x) as tf.Tensor).dataSync()),
        tf.tidy(() => (dst.predict(x) as tf.Tensor).dataSync()),
      ),
    ).toBe(0);
    tf.dispose(x);
    src.dispose();
    dst.dispose();
  });

  it('the CNN is an nn.Sequential for PyTorch; state dicts keyed by our layer names load too', () => {
    const src = seeded(1, cnn);
    const seq = exportPyTorchStateDict(src);
    expect([...seq.keys()].filter((k) => k.endsWith('.weight')).sort()).toEqual([
      '0.weight',
      '1.weight',
      '13.weight',
      '4.weight',
      '5.weight',
      '8.weight',
      '9.weight',
    ]);
    const byName = exportPyTorchStateDict(src, { layout: 'modules' });
    expect(byName.has('conv1.weight') && byName.has('fc.weight')).toBe(true);
    const dst = seeded(2, cnn);
    expect(loadPyTorchStateDict(dst, byName).layout).toBe('modules');
    expect(
      maxAbsDiff(dst.getLayer('fc').getWeights()[0].dataSync(), src.getLayer('fc').getWeights()[0].dataSync()),
    ).toBe(0);
    src.dispose();
    dst.dispose();
  });

  it('buffers as PyTorch keeps them: mus int64 [n], 1×1 convs [O, I, 1, 1], num_batches_tracked kept through a tfjs save', async () => {
    const m = seeded(3, () => gmrResNet50({ gmrConvSize: 3, numClasses: 4, inplanes: 4 }));
    const sd = exportPyTorchStateDict(m);
    expect(sd.get('layer1.0.conv2.mus')).toEqual({ shape: [2], dtype: 'int64', data: [0, 1] });
    expect(sd.get('layer1.0.conv1.weight')!.shape).toEqual([4, 4, 1, 1]);
    expect(sd.get('layer1.0.downsample.1.weight')!.shape).toEqual([16, 4, 1, 1]);
    expect(sd.get('fc.weight')!.shape).toEqual([4, 32 * 4]);
    expect(sd.get('bn1.num_batches_tracked')).toEqual({ shape: [], dtype: 'int64', data: [0] });
    // a PyTorch state dict with a count: it survives import, a tfjs save and load, and export
    sd.set('bn1.num_batches_tracked', { shape: [], dtype: 'int64', data: [1234] });
    const pointwise = sd.get('layer1.0.conv1.weight')!;
    sd.set('layer1.0.conv1.weight', { ...pointwise, shape: [4, 4] }); // [O, I] is accepted for a 1×1 conv too
    loadPyTorchStateDict(m, sd);
    const back = await loadFromMemory(await saveToMemory(m));
    expect(exportPyTorchStateDict(back).get('bn1.num_batches_tracked')!.data).toEqual([1234]);
    m.dispose();
    back.dispose();
  });

  it('GMR-UNet (no official counterpart here): instance norm and transposed convs round-trip in MONAI-like keys', () => {
    const make = () => gmrUNet({ features: [2, 2, 2, 2, 2, 2], kernelSizes: [3, 3, 3, 3, 3], inputSize: [16, 16] });
    const a = seeded(1, make);
    const b = seeded(2, make);
    const sd = exportPyTorchStateDict(a);
    expect(sd.get('conv_0.conv_0.adn.N.weight')!.shape).toEqual([2]);
    expect(sd.get('upcat_4.upsample.deconv.weight')!.shape).toEqual([2, 1, 2, 2]); // ConvTranspose2d: [I, O, kh, kw]
    expect(sd.get('final_conv.weight')!.shape).toEqual([2, 2, 1, 1]);
    loadPyTorchStateDict(b, readSafetensors(writeSafetensors(sd)));
    const x = tf.randomNormal([1, 16, 16, 1], 0, 1, 'float32', 9);
    expect(
      maxAbsDiff(
        tf.tidy(() => (a.predict(x) as tf.Tensor).dataSync()),
        tf.tidy(() => (b.predict(x) as tf.Tensor).dataSync()),
      ),
    ).toBe(0);
    tf.dispose(x);
    a.dispose();
    b.dispose();
  });

  it('refuses a model with harmonic channels (no counterpart in the official code)', () => {
    const m = gmrCNN({ widths: [4, 8, 8], harmonicChannels: [2, 0, 0] });
    expect(() => exportPyTorchStateDict(m)).toThrow(
      /layer 'conv1_harmonic' \(GMRHarmonicConv2D\) has no counterpart in the official PyTorch code/,
    );
    m.dispose();
  });
});
