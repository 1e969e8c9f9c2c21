import { describe, expect, it } from 'vitest';
import { gmrBin } from './helpers.js';

describe('gmr bench', () => {
  it('times a training step and an inference batch for both models (through bin/gmr.js)', () => {
    const r = gmrBin(['bench', '--widths', '4,8,8', '--batch-size', '4', '--runs', '1', '--warmup', '0', '--json']);
    expect(r.status, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as { backend: string; results: { model: string; trainStepMs: number; inferenceMs: number; params: number }[] };
    // auto = the native backend of @gmr-conv/kernels-cuda (built by pnpm build), else wasm
    expect(out.backend).toBe('native');
    expect(out.results.map((x) => x.model)).toEqual(['gmr-cnn', 'plain-cnn']);
    for (const x of out.results) {
      expect(x.trainStepMs).toBeGreaterThan(0);
      expect(x.inferenceMs).toBeGreaterThan(0);
    }
    // GMR convs hold k//2+1 weights per channel pair: far fewer parameters than the plain twin
    expect(out.results[0].params).toBeLessThan(out.results[1].params);
    const wasm = gmrBin(['bench', '--model', 'gmr-cnn', '--widths', '4,8,8', '--batch-size', '4', '--runs', '1', '--warmup', '0', '--backend', 'wasm', '--json']);
    expect(wasm.status, wasm.stderr).toBe(0);
    expect(JSON.parse(wasm.stdout).backend).toBe('wasm');
    const cuda = gmrBin(['bench', '--backend', 'cuda']);
    expect(cuda.status).toBe(2);
    expect(cuda.stderr).toMatch(/gmr: error: no usable backend: cuda: /);
  });
});
