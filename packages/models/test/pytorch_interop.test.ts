/**
 * Weights both ways between GMR.js and the official PyTorch modules (run by /usr/bin/python3 from
 * GMR_PYTORCH_SRC): every model and layer the official code can build loads our export with a strict
 * `load_state_dict`, gives our logits (≤ 1e-4 relative), and what PyTorch saves comes back to the same logits.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tfl from '@tensorflow/tfjs-layers';
import { GMRConv2D, GMRConv3D, type GMRConvLayerArgs } from '@gmr-conv/core';
import {
  exportPyTorchStateDict,
  gmrCNN,
  gmrResNet18,
  gmrResNet34,
  gmrResNet50,
  loadPyTorchStateDict,
  plainCNN,
  readSafetensors,
  resNet18,
  writeSafetensors,
  type StateDict,
} from '../src/index.js';
import { seeded, tf, useBackend } from './helpers/backend.js';
import {
  logits,
  perturb,
  pytorchSkipReason,
  readTensorFile,
  relError,
  runJob,
  tmpDir,
  toNCHW,
  writeTensorFile,
} from './helpers/pytorch.js';

const skip = pytorchSkipReason();
if (skip) console.warn(`pytorch_interop: skipped: ${skip}`);

/** One GMR layer in a model, under the module name PyTorch's holder gives it ("conv"). */
function oneLayer(
  Layer: typeof GMRConv2D | typeof GMRConv3D,
  inShape: number[],
  args: GMRConvLayerArgs,
): tfl.LayersModel {
  const input = tfl.input({ shape: inShape });
  return tfl.model({ inputs: input, outputs: new Layer({ name: 'conv', ...args }).apply(input) as tfl.SymbolicTensor });
}

interface Case {
  name: string;
  js: () => tfl.LayersModel;
  torch: Record<string, unknown>;
  /** Input shape, channels-last. */
  input: number[];
}

const resnetSmall = { gmrConvSize: [5, 5, 3, 3], numClasses: 7, inplanes: 4 };
const resnetSmallTorch = { gmr_conv_size: [5, 5, 3, 3], num_classes: 7, inplanes: 4 };
const cnnSmall = {
  widths: [4, 8, 8] as [number, number, number],
  kernelSizes: [9, 7, 5] as [number, number, number],
  numClasses: 5,
};
const cnnSmallTorch = { widths: [4, 8, 8], kernel_sizes: [9, 7, 5], num_classes: 5 };

const CASES: Case[] = [
  {
    name: 'GMR-ResNet-18',
    js: () => gmrResNet18(resnetSmall),
    torch: { arch: 'gmr_resnet18', ...resnetSmallTorch },
    input: [2, 32, 32, 3],
  },
  {
    name: 'GMR-ResNet-34',
    js: () => gmrResNet34(resnetSmall),
    torch: { arch: 'gmr_resnet34', ...resnetSmallTorch },
    input: [2, 32, 32, 3],
  },
  {
    name: 'GMR-ResNet-50',
    js: () => gmrResNet50({ ...resnetSmall, gmrConvSize: 3 }),
    torch: { arch: 'gmr_resnet50', ...resnetSmallTorch, gmr_conv_size: 3 },
    input: [2, 32, 32, 3],
  },
  {
    name: 'plain ResNet-18 twin',
    js: () => resNet18({ numClasses: 5, inplanes: 4 }),
    torch: { arch: 'resnet18_plain', num_classes: 5, inplanes: 4 },
    input: [2, 32, 32, 3],
  },
  {
    name: 'GMR-CNN (nn.Sequential)',
    js: () => gmrCNN(cnnSmall),
    torch: { arch: 'gmr_cnn', ...cnnSmallTorch },
    input: [2, 28, 28, 1],
  },
  {
    name: 'plain CNN (nn.Sequential)',
    js: () => plainCNN(cnnSmall),
    torch: { arch: 'plain_cnn', ...cnnSmallTorch },
    input: [2, 28, 28, 1],
  },
  {
    name: 'GMRConv2D (bias, 5×5)',
    js: () => oneLayer(GMRConv2D, [9, 9, 3], { filters: 4, kernelSize: 5, padding: 2 }),
    torch: { arch: 'GMR_Conv2d', in_channels: 3, out_channels: 4, kernel_size: 5, padding: 2 },
    input: [2, 9, 9, 3],
  },
  {
    name: 'GMRConv2D (trained masks, 4 rings, no corners cut)',
    js: () =>
      oneLayer(GMRConv2D, [9, 9, 2], {
        filters: 3,
        kernelSize: 5,
        padding: 2,
        trainIndexMat: true,
        numRings: 4,
        forceCircular: false,
      }),
    torch: {
      arch: 'GMR_Conv2d',
      in_channels: 2,
      out_channels: 3,
      kernel_size: 5,
      padding: 2,
      train_index_mat: true,
      num_rings: 4,
      force_circular: false,
    },
    input: [2, 9, 9, 2],
  },
  {
    name: 'GMRConv2D (binary rings, σ fixed)',
    js: () => oneLayer(GMRConv2D, [9, 9, 2], { filters: 3, kernelSize: 7, padding: 3, gaussianMixtureRing: false }),
    torch: {
      arch: 'GMR_Conv2d',
      in_channels: 2,
      out_channels: 3,
      kernel_size: 7,
      padding: 3,
      gaussian_mixture_ring: false,
    },
    input: [2, 9, 9, 2],
  },
  {
    name: 'GMRConv2D (σ a buffer)',
    js: () => oneLayer(GMRConv2D, [9, 9, 2], { filters: 3, kernelSize: 5, padding: 2, trainGaussianSigma: false }),
    torch: {
      arch: 'GMR_Conv2d',
      in_channels: 2,
      out_channels: 3,
      kernel_size: 5,
      padding: 2,
      train_gaussian_sigma: false,
    },
    input: [2, 9, 9, 2],
  },
  {
    name: 'GMRConv3D (bias, 3×3×3)',
    js: () => oneLayer(GMRConv3D, [6, 6, 6, 2], { filters: 3, kernelSize: 3, padding: 1 }),
    torch: { arch: 'GMR_Conv3d', in_channels: 2, out_channels: 3, kernel_size: 3, padding: 1 },
    input: [2, 6, 6, 6, 2],
  },
];

const file = (dir: string, c: Case, what: string) =>
  join(dir, `${c.name.replace(/[^A-Za-z0-9]+/g, '_')}.${what}.safetensors`);
const load = (path: string): StateDict => readSafetensors(readFileSync(path), path);

describe.skipIf(skip !== null)('PyTorch interop with the official modules', () => {
  let dir = '';
  const inputs = new Map<string, tf.Tensor>();
  const ours = new Map<string, { model: tfl.LayersModel; logits: Float32Array }>();
  let first: ReturnType<typeof runJob> = [];

  beforeAll(async () => {
    await useBackend('wasm');
    dir = tmpDir('interop');
    // GMR.js models: exported for PyTorch to load; PyTorch models: made for us to load. One Python run for both.
    const tasks: Record<string, unknown>[] = [];
    CASES.forEach((c, i) => {
      const x = tf.randomNormal(c.input, 0, 1, 'float32', 11 + i);
      inputs.set(c.name, x);
      const nchw = tf.tidy(() => toNCHW(x));
      writeTensorFile(file(dir, c, 'input'), 'x', nchw);
      nchw.dispose();
      const model = seeded(100 + i, c.js);
      perturb(model, c.input, 200 + i);
      ours.set(c.name, { model, logits: logits(model, x) });
      writeFileSync(file(dir, c, 'ours'), writeSafetensors(exportPyTorchStateDict(model)));
      tasks.push({
        op: 'load',
        spec: c.torch,
        weights: file(dir, c, 'ours'),
        input: file(dir, c, 'input'),
        logits_out: file(dir, c, 'ours_logits'),
        weights_out: file(dir, c, 'ours_resaved'),
      });
      tasks.push({
        op: 'make',
        spec: c.torch,
        seed: 300 + i,
        input: file(dir, c, 'input'),
        logits_out: file(dir, c, 'torch_logits'),
        weights_out: file(dir, c, 'torch'),
      });
    });
    first = runJob(dir, tasks);
  });

  afterAll(() => {
    for (const { model } of ours.values()) model.dispose();
    tf.dispose([...inputs.values()]);
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  CASES.forEach((c, i) => {
    it(`${c.name}: GMR.js → PyTorch (strict load_state_dict, same logits) → GMR.js (same logits)`, () => {
      const r = first[2 * i];
      expect(r.error ?? '').toBe('');
      const { logits: mine } = ours.get(c.name)!;
      const theirs = readTensorFile(file(dir, c, 'ours_logits'), 'logits').data;
      expect(relError(theirs, mine)).toBeLessThanOrEqual(1e-4);
      // what PyTorch saves holds exactly our keys, shapes and dtypes (mus int64, num_batches_tracked int64 [])
      const sent = load(file(dir, c, 'ours'));
      const back = load(file(dir, c, 'ours_resaved'));
      expect(Object.fromEntries([...back].map(([k, t]) => [k, [t.dtype, t.shape]]))).toEqual(
        Object.fromEntries([...sent].map(([k, t]) => [k, [t.dtype, t.shape]])),
      );
      const fresh = seeded(900 + i, c.js);
      const before = tf.memory().numTensors;
      loadPyTorchStateDict(fresh, back);
      expect(tf.memory().numTensors).toBeLessThanOrEqual(before); // fewer: the GMR layers' caches are dropped
      expect(relError(logits(fresh, inputs.get(c.name)!), mine)).toBeLessThanOrEqual(1e-4);
      fresh.dispose();
    });
  });

  describe('PyTorch → GMR.js → PyTorch', () => {
    let second: ReturnType<typeof runJob> = [];
    const reports = new Map<string, ReturnType<typeof loadPyTorchStateDict>>();
    const imported = new Map<string, Float32Array>();
    beforeAll(() => {
      const tasks = CASES.map((c, i) => {
        expect(first[2 * i + 1].error ?? '').toBe('');
        const m = seeded(500 + i, c.js);
        reports.set(c.name, loadPyTorchStateDict(m, load(file(dir, c, 'torch'))));
        imported.set(c.name, logits(m, inputs.get(c.name)!));
        writeFileSync(file(dir, c, 'again'), writeSafetensors(exportPyTorchStateDict(m)));
        m.dispose();
        return {
          op: 'load',
          spec: c.torch,
          weights: file(dir, c, 'again'),
          input: file(dir, c, 'input'),
          logits_out: file(dir, c, 'again_logits'),
        };
      });
      second = runJob(dir, tasks);
    });
    CASES.forEach((c, i) => {
      it(`${c.name}: PyTorch's state dict gives PyTorch's logits here, and goes back unchanged`, () => {
        const torchLogits = readTensorFile(file(dir, c, 'torch_logits'), 'logits').data;
        expect(relError(imported.get(c.name)!, torchLogits)).toBeLessThanOrEqual(1e-4);
        const report = reports.get(c.name)!;
        expect(report.missing).toEqual([]);
        expect(report.unexpected).toEqual([]);
        expect(second[i].error ?? '').toBe('');
        expect(relError(readTensorFile(file(dir, c, 'again_logits'), 'logits').data, torchLogits)).toBeLessThanOrEqual(
          1e-4,
        );
        // every tensor back as PyTorch had it: float32 values bit for bit, buffers (mus, num_batches_tracked) too
        const orig = load(file(dir, c, 'torch'));
        const again = load(file(dir, c, 'again'));
        expect([...again.keys()].sort()).toEqual([...orig.keys()].sort());
        for (const [k, t] of orig) {
          const u = again.get(k)!;
          expect([k, u.dtype, u.shape]).toEqual([k, t.dtype, t.shape]);
          expect([k, Array.from(u.data)]).toEqual([k, Array.from(t.data)]);
        }
      });
    });
  });
});
