import { describe, expect, it } from 'vitest';
import { gmrBin } from './helpers.js';

describe('gmr bench', () => {
  it('times a training step and an inference batch for the CNNs (through bin/gmr.js)', () => {
    const r = gmrBin([
      'bench',
      '--model',
      'gmr-cnn',
      'plain-cnn',
      '--widths',
      '4,8,8',
      '--batch-size',
      '4',
      '--runs',
      '1',
      '--warmup',
      '0',
      '--json',
    ]);
    expect(r.status, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as {
      backend: string;
      results: { model: string; trainStepMs: number; inferenceMs: number; params: number }[];
    };
    // auto = the native backend of @gmr-conv/kernels-cuda (built by pnpm build), else wasm
    expect(out.backend).toBe('native');
    expect(out.results.map((x) => x.model)).toEqual(['gmr-cnn', 'plain-cnn']);
    for (const x of out.results) {
      expect(x.trainStepMs).toBeGreaterThan(0);
      expect(x.inferenceMs).toBeGreaterThan(0);
    }
    // GMR convs hold k//2+1 weights per channel pair: far fewer parameters than the plain twin
    expect(out.results[0].params).toBeLessThan(out.results[1].params);
    const wasm = gmrBin([
      'bench',
      '--model',
      'gmr-cnn',
      '--widths',
      '4,8,8',
      '--batch-size',
      '4',
      '--runs',
      '1',
      '--warmup',
      '0',
      '--backend',
      'wasm',
      '--json',
    ]);
    expect(wasm.status, wasm.stderr).toBe(0);
    expect(JSON.parse(wasm.stdout).backend).toBe('wasm');
    const cuda = gmrBin(['bench', '--backend', 'cuda']);
    expect(cuda.status).toBe(2);
    expect(cuda.stderr).toMatch(/gmr: error: no usable backend: cuda: /);
  });

  it('benches the steerable GMR-CNN at its default fields', () => {
    const r = gmrBin([
      'bench',
      '--model',
      'gmr-steerable',
      '--batch-size',
      '4',
      '--runs',
      '1',
      '--warmup',
      '0',
      '--json',
    ]);
    expect(r.status, r.stderr).toBe(0);
    const x = (
      JSON.parse(r.stdout) as { results: { model: string; widths: number[]; trainStepMs: number; params: number }[] }
    ).results[0]!;
    expect(x.model).toBe('gmr-steerable');
    // channels per conv: n0 + 2·n1 + 2·n2 of the default fields 8:8:8, 16:16:16, 32:16:16
    expect(x.widths).toEqual([40, 80, 96]);
    expect(x.trainStepMs).toBeGreaterThan(0);
  });

  it('--profile: self time per kernel for a training step and an inference batch', () => {
    const r = gmrBin([
      'bench',
      '--model',
      'plain-cnn',
      '--widths',
      '4,8,8',
      '--batch-size',
      '4',
      '--runs',
      '2',
      '--warmup',
      '1',
      '--profile',
      '--json',
    ]);
    expect(r.status, r.stderr).toBe(0);
    type Profile = {
      stepMs: number;
      kernelMs: number;
      outsideMs: number;
      kernels: { kernel: string; calls: number; selfMs: number }[];
    };
    const p = (JSON.parse(r.stdout) as { results: { profile: { train: Profile; inference: Profile } }[] }).results[0]!
      .profile;
    const calls = (q: Profile, k: string) => q.kernels.find((e) => e.kernel === k)?.calls ?? 0;
    // three convolutions per pass: forward in both, both gradients only in training
    expect(calls(p.inference, 'FusedConv2D')).toBe(3);
    expect(calls(p.train, 'Conv2DBackpropFilter')).toBe(3);
    expect(calls(p.inference, 'Conv2DBackpropFilter')).toBe(0);
    for (const q of [p.train, p.inference]) {
      // self times never count a nested kernel twice: together they fit in the step
      expect(q.kernelMs).toBeLessThanOrEqual(q.stepMs + 1e-6);
      expect(q.kernels.every((e) => e.selfMs >= 0)).toBe(true);
      expect(q.kernels.map((e) => e.selfMs)).toEqual([...q.kernels.map((e) => e.selfMs)].sort((a, b) => b - a));
    }
    const text = gmrBin([
      'bench',
      '--model',
      'gmr-cnn',
      '--widths',
      '4,8,8',
      '--batch-size',
      '4',
      '--runs',
      '1',
      '--warmup',
      '0',
      '--profile',
    ]);
    expect(text.status, text.stderr).toBe(0);
    expect(text.stdout).toMatch(/gmr-cnn train: .* ms per step \(profiled runs\)/);
    expect(text.stdout).toMatch(/\| GMRConv2D +\| 3 /);
    expect(text.stdout).toMatch(/\(outside kernels\)/);
  });
});
