/**
 * The scale-out recipe end to end: a GMR.js model continues training in PyTorch DDP (2 processes, gloo), and
 * what DDP saves (module.-prefixed weights, a {'model': …} checkpoint.pt) comes back to GMR.js with the logits
 * PyTorch computed.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  exportPyTorchStateDict,
  gmrResNet18,
  loadPyTorchStateDict,
  readSafetensors,
  writeSafetensors,
  type StateDict,
} from '../src/index.js';
import { seeded, tf, useBackend } from './helpers/backend.js';
import {
  DDP_SCRIPT,
  INTEROP_SCRIPT,
  logits,
  perturb,
  pytorchSkipReason,
  relError,
  runPython,
  tmpDir,
} from './helpers/pytorch.js';

const skip = pytorchSkipReason();
if (skip) console.warn(`pytorch_ddp: skipped: ${skip}`);

// the script's default --spec: GMR-ResNet-18, kernels [5, 5, 3, 3], 7 classes, width 4
const make = () => gmrResNet18({ gmrConvSize: [5, 5, 3, 3], numClasses: 7, inplanes: 4 });

describe.skipIf(skip !== null)('torch.distributed DDP (2 processes, gloo) with GMR.js weights in and out', () => {
  let dir = '';
  let ours: ReturnType<typeof make>;
  let probeX: tf.Tensor;
  let probe: StateDict;
  let summary: { world_size: number; steps: number; losses_rank0: number[]; same_parameters_on_every_rank: boolean };

  beforeAll(async () => {
    await useBackend('wasm');
    dir = tmpDir('ddp');
    ours = seeded(41, make);
    perturb(ours, [4, 32, 32, 3], 42);
    writeFileSync(join(dir, 'init.safetensors'), writeSafetensors(exportPyTorchStateDict(ours)));
    runPython([
      DDP_SCRIPT,
      '--nproc',
      '2',
      '--steps',
      '3',
      '--init',
      join(dir, 'init.safetensors'),
      '--out',
      join(dir, 'run'),
    ]);
    summary = JSON.parse(readFileSync(join(dir, 'run', 'summary.json'), 'utf8'));
    probe = readSafetensors(readFileSync(join(dir, 'run', 'probe.safetensors')));
    const x = probe.get('x')!;
    probeX = tf.tidy(() => tf.transpose(tf.tensor(Float32Array.from(x.data), x.shape), [0, 2, 3, 1]));
  });

  afterAll(() => {
    ours?.dispose();
    probeX?.dispose();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('ran 2 processes for 3 steps and every rank ended with the same parameters', () => {
    expect(summary.world_size).toBe(2);
    expect(summary.losses_rank0).toHaveLength(3);
    expect(summary.losses_rank0.every(Number.isFinite)).toBe(true);
    expect(summary.same_parameters_on_every_rank).toBe(true);
  });

  it('GMR.js → DDP: the official model started from our weights gives our logits', () => {
    expect(relError(probe.get('logits_init')!.data, logits(ours, probeX))).toBeLessThanOrEqual(1e-4);
  });

  it("DDP → GMR.js: the saved state dict (module. keys) loads and reproduces PyTorch's logits after training", () => {
    const m = seeded(43, make);
    const report = loadPyTorchStateDict(m, readSafetensors(readFileSync(join(dir, 'run', 'weights.safetensors'))));
    expect(report.stripped).toEqual(['module.']);
    expect([report.missing, report.unexpected]).toEqual([[], []]);
    const y = logits(m, probeX);
    expect(relError(y, probe.get('logits')!.data)).toBeLessThanOrEqual(1e-4);
    // training moved the weights: the final logits are not the initial ones
    expect(relError(probe.get('logits')!.data, probe.get('logits_init')!.data)).toBeGreaterThan(1e-3);
    m.dispose();
  });

  it("the {'model': …} checkpoint.pt, through gmr_interop.py to-safetensors, gives the same model", () => {
    const out = join(dir, 'from_pt.safetensors');
    runPython([INTEROP_SCRIPT, 'to-safetensors', join(dir, 'run', 'checkpoint.pt'), out]);
    const m = seeded(44, make);
    const report = loadPyTorchStateDict(m, readSafetensors(readFileSync(out)));
    expect(report.stripped).toEqual([]); // the script already unwrapped it
    expect(relError(logits(m, probeX), probe.get('logits')!.data)).toBeLessThanOrEqual(1e-4);
    m.dispose();
  });
});
