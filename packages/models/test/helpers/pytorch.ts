/**
 * Driving the official PyTorch modules from tests: where they are (GMR_PYTORCH_SRC, a path absolute or relative
 * to the repository root), which Python runs them (GMR_PYTHON, default /usr/bin/python3), why a test must skip,
 * and the files both sides exchange (safetensors, NCHW on the PyTorch side).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readSafetensors, writeSafetensors } from '../../src/index.js';
import type * as tfl from '@tensorflow/tfjs-layers';
import { tf, warmUpBatchNorm } from './backend.js';

const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../../..');
export const PYTHON = process.env.GMR_PYTHON ?? '/usr/bin/python3';
export const INTEROP_SCRIPT = resolve(REPO_ROOT, 'packages/models/python/gmr_interop.py');
export const DDP_SCRIPT = resolve(REPO_ROOT, 'packages/models/python/train_ddp.py');

/** The official modules' folder (holding GMR_Conv/), or null when GMR_PYTORCH_SRC is unset. */
export function pytorchSrc(): string | null {
  const v = process.env.GMR_PYTORCH_SRC;
  if (!v) return null;
  return isAbsolute(v) ? v : resolve(REPO_ROOT, v);
}

/** Why PyTorch interop tests cannot run here, or null when they can. */
export function pytorchSkipReason(): string | null {
  const src = pytorchSrc();
  if (!src) return 'GMR_PYTORCH_SRC is not set (the folder holding the official GMR_Conv/ modules; CI sets it)';
  if (!existsSync(join(src, 'GMR_Conv', 'gmr_conv.py'))) return `GMR_PYTORCH_SRC=${src} has no GMR_Conv/gmr_conv.py`;
  const r = spawnSync(PYTHON, ['-c', 'import torch, numpy, scipy'], { encoding: 'utf8' });
  if (r.error || r.status !== 0)
    return `${PYTHON} cannot import torch, numpy and scipy (apt-get install python3-torch python3-numpy python3-scipy): ${(r.error?.message ?? r.stderr).trim().split('\n').pop()}`;
  return null;
}

export const tmpDir = (tag: string) => mkdtempSync(join(tmpdir(), `gmr-${tag}-`));

/** Runs Python with the official modules on its path; throws with its stderr on failure. */
export function runPython(args: string[], timeoutMs = 300_000): string {
  const r = spawnSync(PYTHON, args, {
    encoding: 'utf8',
    timeout: timeoutMs,
    env: { ...process.env, GMR_PYTORCH_SRC: pytorchSrc() ?? '', OMP_NUM_THREADS: '1' },
  });
  if (r.error || r.status !== 0)
    throw new Error(`${PYTHON} ${args.join(' ')} failed (${r.error?.message ?? `exit ${r.status}`}):\n${r.stderr}`);
  return r.stdout;
}

export interface JobResult {
  ok: boolean;
  error?: string;
  keys?: number;
}

/** gmr_interop.py run-job: one result per task. */
export function runJob(dir: string, tasks: Record<string, unknown>[]): JobResult[] {
  const path = join(dir, `job-${Date.now()}-${Math.floor(Math.random() * 1e6)}.json`);
  writeFileSync(path, JSON.stringify({ src: pytorchSrc(), tasks }));
  return JSON.parse(runPython([INTEROP_SCRIPT, 'run-job', path]).trim().split('\n').pop()!) as JobResult[];
}

/** Channels-last (ours) → channels-first (PyTorch), any rank. */
export const toNCHW = (x: tf.Tensor) =>
  tf.transpose(x, [0, x.rank - 1, ...Array.from({ length: x.rank - 2 }, (_, i) => i + 1)]);

export function writeTensorFile(path: string, name: string, t: tf.Tensor): void {
  const data = t.dataSync() as Float32Array;
  writeFileSync(
    path,
    writeSafetensors(
      new Map([[name, { shape: [...t.shape], dtype: 'float32' as const, data: Float32Array.from(data) }]]),
    ),
  );
}

export function readTensorFile(path: string, name: string): { shape: number[]; data: ArrayLike<number> } {
  const t = readSafetensors(readFileSync(path), path).get(name);
  if (!t) throw new Error(`${path} has no tensor '${name}'`);
  return t;
}

/** max |a − b| / max |b|: the relative error the interop tests bound by 1e-4 (the workspace's one definition). */
export { relError } from '@gmr-conv/test-utils/numeric';

/** Logits in PyTorch's layout (NCHW for a conv's feature map). */
export function logits(model: tfl.LayersModel, x: tf.Tensor): Float32Array {
  return tf.tidy(() => {
    const y = model.predict(x) as tf.Tensor;
    return (y.rank > 2 ? toNCHW(y) : y).dataSync() as Float32Array;
  });
}

/** Moves every trainable σ off its init (so σ really crosses over) and warms BN statistics up. */
export function perturb(model: tfl.LayersModel, inputShape: number[], seed: number): void {
  warmUpBatchNorm(model, inputShape, 3);
  for (const w of model.weights) {
    if (!w.name.endsWith('log_sigmas') || !w.trainable) continue;
    const v = tf.tidy(() => tf.add(w.read(), tf.randomNormal(w.shape as number[], 0, 0.05, 'float32', seed)));
    w.write(v);
    v.dispose();
  }
}
