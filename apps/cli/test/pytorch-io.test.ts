/**
 * gmr export --format safetensors and gmr import: a trained checkpoint out as a PyTorch state dict and back as a
 * tfjs model folder with the very same weights; the official PyTorch module loads the export strictly (when
 * torch and GMR_PYTORCH_SRC are here); bad files and wrong model families are refused in words.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';
import { appDir, gmr, trainTinyCheckpoint } from './helpers.js';

const repoRoot = resolve(appDir, '../..');
const pySrc = process.env.GMR_PYTORCH_SRC
  ? isAbsolute(process.env.GMR_PYTORCH_SRC)
    ? process.env.GMR_PYTORCH_SRC
    : resolve(repoRoot, process.env.GMR_PYTORCH_SRC)
  : null;
const python = process.env.GMR_PYTHON ?? '/usr/bin/python3';
const torchHere =
  pySrc !== null &&
  existsSync(join(pySrc, 'GMR_Conv')) &&
  spawnSync(python, ['-c', 'import torch, scipy'], { encoding: 'utf8' }).status === 0;

let root = '';
let ckpt = '';
beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'gmr-cli-pt-'));
  ckpt = trainTinyCheckpoint(root);
});
afterAll(() => {
  if (root) rmSync(root, { recursive: true, force: true });
});

describe('gmr export --format safetensors / gmr import', () => {
  it('round trip: the imported tfjs model holds exactly the checkpoint’s weights', () => {
    const st = join(root, 'st');
    const e = gmr(['export', '--checkpoint', ckpt, '--format', 'safetensors', '--out', st, '--json']);
    expect(e.status, e.stderr).toBe(0);
    const info = JSON.parse(e.stdout.trim().split('\n').pop()!);
    expect(info.pytorch).toEqual({
      arch: 'gmr_cnn',
      widths: [4, 8, 8],
      kernel_sizes: [9, 9, 5],
      num_classes: 10,
      in_channels: 1,
    });
    expect(JSON.parse(readFileSync(join(st, 'pytorch.json'), 'utf8'))).toEqual(info.pytorch);

    const i = gmr([
      'import',
      '--weights',
      join(st, 'model.safetensors'),
      '--model',
      'gmr-cnn',
      '--out',
      join(root, 'imported'),
      '--json',
    ]);
    expect(i.status, i.stderr).toBe(0);
    const report = JSON.parse(i.stdout.trim().split('\n').pop()!).report;
    expect(report.layout).toBe('sequential');
    expect([report.missing, report.unexpected]).toEqual([[], []]);
    expect(report.loaded.length).toBe(3 * 2 + 3 * 4 + 2); // θ and σ per conv, BN γ β μ σ², fc weight and bias

    const t = gmr(['export', '--checkpoint', ckpt, '--out', join(root, 'tfjs')]);
    expect(t.status, t.stderr).toBe(0);
    // same layers, same order, same float32 values: the weight files are byte for byte the same
    expect(
      Buffer.compare(
        new Uint8Array(readFileSync(join(root, 'imported', 'weights.bin'))),
        new Uint8Array(readFileSync(join(root, 'tfjs', 'weights.bin'))),
      ),
    ).toBe(0);
  });

  it.skipIf(!torchHere)('the official PyTorch module loads the export with a strict load_state_dict', () => {
    const st = join(root, 'st');
    const job = join(root, 'job.json');
    writeFileSync(
      job,
      JSON.stringify({
        src: pySrc,
        tasks: [
          {
            op: 'load',
            spec: JSON.parse(readFileSync(join(st, 'pytorch.json'), 'utf8')),
            weights: join(st, 'model.safetensors'),
            input: join(root, 'x.safetensors'),
            logits_out: join(root, 'y.safetensors'),
          },
        ],
      }),
    );
    // an input file: one 28×28 image of zeros is enough to run the module
    const header = Buffer.from(
      JSON.stringify({ x: { dtype: 'F32', shape: [1, 1, 28, 28], data_offsets: [0, 28 * 28 * 4] } }),
    );
    const len = Buffer.alloc(8);
    len.writeBigUInt64LE(BigInt(header.length));
    writeFileSync(
      join(root, 'x.safetensors'),
      new Uint8Array(Buffer.concat([new Uint8Array(len), new Uint8Array(header), new Uint8Array(28 * 28 * 4)])),
    );
    const r = spawnSync(python, [join(repoRoot, 'packages/models/python/gmr_interop.py'), 'run-job', job], {
      encoding: 'utf8',
    });
    expect(r.status, r.stderr).toBe(0);
    // per GMR conv: weight, log_sigmas, mus, two ring masks; per BN: four and num_batches_tracked; fc: two
    expect(JSON.parse(r.stdout.trim().split('\n').pop()!)).toEqual([{ ok: true, keys: 3 * 5 + 3 * 5 + 2 }]);
  });

  it('refuses a .pt file, a malformed file and weights of another model family, in words', () => {
    const pt = join(root, 'model.pt');
    writeFileSync(pt, 'PK\u0003\u0004');
    const a = gmr(['import', '--weights', pt, '--model', 'gmr-cnn', '--out', join(root, 'x1')]);
    expect(a.status).toBe(2);
    expect(a.stderr).toMatch(/is a PyTorch pickle.*gmr_interop\.py to-safetensors/);
    const bad = join(root, 'bad.safetensors');
    writeFileSync(bad, new Uint8Array([200, 0, 0, 0, 0, 0, 0, 0, 123, 125]));
    const b = gmr(['import', '--weights', bad, '--model', 'gmr-cnn', '--out', join(root, 'x2')]);
    expect(b.status).toBe(2);
    expect(b.stderr).toMatch(/header length 200 exceeds the 2 bytes after it/);
    const c = gmr([
      'import',
      '--weights',
      join(root, 'st', 'model.safetensors'),
      '--model',
      'gmr-resnet18',
      '--out',
      join(root, 'x3'),
    ]);
    expect(c.status).toBe(2);
    expect(c.stderr).toMatch(/the state dict has none of conv1\.weight \(needed for the stem\)/);
  });
});
