/**
 * `--backend webgpu`: Dawn in Node (a software adapter here: Mesa llvmpipe or SwiftShader) with the fused GMR
 * kernels of @gmr-conv/kernels-webgpu. Two training steps from the same seed on webgpu and on cpu end with the
 * same weights (to float32 rounding over two steps), and a checkpoint written on webgpu evaluates on cpu.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadCheckpoint } from '../src/checkpoint.js';
import { gmr } from './helpers.js';

const TRAIN = [
  'train',
  '--model',
  'gmr-cnn',
  '--widths',
  '4,8,8',
  '--limit',
  '64',
  '--batch-size',
  '32',
  '--epochs',
  '1',
  '--test-limit',
  '32',
  '--optimizer',
  'sgd',
  '--lr',
  '0.05',
  '--bn-recalibration',
  '64',
  '--seed',
  '3',
  '--no-progress',
];
// Without WebGPU (no Dawn adapter) the run says why and exits 2; CI installs the adapters and sets GMR_REQUIRE_WEBGPU.
const required = process.env.GMR_REQUIRE_WEBGPU === '1';

describe('--backend webgpu', () => {
  it('trains with the fused kernels to the weights the cpu backend reaches; the checkpoint evaluates on cpu', () => {
    const root = mkdtempSync(join(tmpdir(), 'gmr-webgpu-'));
    const gpu = gmr([...TRAIN, '--backend', 'webgpu', '--out', join(root, 'gpu')], 300_000);
    if (gpu.status !== 0 && !required) {
      expect(gpu.stderr).toMatch(/gmr: error: no usable backend: webgpu: /);
      return;
    }
    expect(gpu.status, gpu.stderr).toBe(0);
    expect(gpu.stdout).toMatch(/tfjs webgpu backend on Dawn .*@gmr-conv\/kernels-webgpu's GMR kernels/);
    const cpu = gmr([...TRAIN, '--backend', 'cpu', '--out', join(root, 'cpu')], 300_000);
    expect(cpu.status, cpu.stderr).toBe(0);
    const a = loadCheckpoint(join(root, 'gpu', 'checkpoint.gmrckpt'));
    const b = loadCheckpoint(join(root, 'cpu', 'checkpoint.gmrckpt'));
    expect([...a.weights.keys()]).toEqual([...b.weights.keys()]);
    let worst = 0;
    for (const [name, wa] of a.weights) {
      const wb = b.weights.get(name)!;
      let num = 0;
      let den = 0;
      for (let i = 0; i < wa.length; i++) {
        num += (wa[i]! - wb[i]!) ** 2;
        den += wb[i]! ** 2;
      }
      worst = Math.max(worst, Math.sqrt(num / Math.max(den, 1e-12)));
    }
    expect(worst, 'largest relative weight difference webgpu vs cpu').toBeLessThan(1e-3);
    const ev = gmr(
      [
        'eval',
        '--checkpoint',
        join(root, 'gpu', 'checkpoint.gmrckpt'),
        '--backend',
        'cpu',
        '--rotations',
        '--angles',
        '0,90',
        '--test-limit',
        '32',
        '--out',
        join(root, 'eval'),
      ],
      300_000,
    );
    expect(ev.status, ev.stderr).toBe(0);
  });
});
