/**
 * A training process really killed (SIGKILL) after its first checkpoint, then resumed, ends with the same
 * weights as an uninterrupted run with the same seed.
 */
import { existsSync, mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadCheckpoint } from '../src/checkpoint.js';
import { gmr, gmrSpawn } from './helpers.js';

const TRAIN = [
  'train',
  '--model',
  'gmr-cnn',
  '--widths',
  '4,8,8',
  '--limit',
  '320',
  '--batch-size',
  '32',
  '--epochs',
  '3',
  '--test-limit',
  '40',
  '--optimizer',
  'sgd',
  '--nesterov',
  '--weight-decay',
  '1e-3',
  '--warmup',
  '0.5',
  '--label-smoothing',
  '0.1',
  '--clip-norm',
  '1',
  '--augment',
  'paper',
  '--seed',
  '7',
  '--no-progress',
];

function waitFor(cond: () => boolean, timeoutMs: number): Promise<void> {
  return new Promise((res, rej) => {
    const t0 = Date.now();
    const tick = () => {
      if (cond()) return res();
      if (Date.now() - t0 > timeoutMs) return rej(new Error('timed out waiting'));
      setTimeout(tick, 20);
    };
    tick();
  });
}

describe('checkpoint and --resume', () => {
  it('a run killed with SIGKILL and resumed ends with the same weights as an uninterrupted run', async () => {
    const root = mkdtempSync(join(tmpdir(), 'gmr-resume-'));
    const a = join(root, 'a');
    const b = join(root, 'b');

    const full = gmr([...TRAIN, '--out', a]);
    expect(full.status, full.stderr).toBe(0);
    const ckA = loadCheckpoint(join(a, 'checkpoint.gmrckpt'));
    expect(ckA.header.epochsDone).toBe(3);

    // Same run, killed as soon as its first checkpoint is on disk (it is then inside epoch 2).
    const child = gmrSpawn([...TRAIN, '--out', b]);
    const exited = new Promise<{ code: number | null; signal: string | null }>((res) =>
      child.on('exit', (code, signal) => res({ code, signal })),
    );
    const logFile = join(b, 'log.jsonl');
    await waitFor(() => existsSync(logFile) && readFileSync(logFile, 'utf8').includes('"epoch":1'), 90_000);
    expect(child.kill('SIGKILL')).toBe(true);
    const ex = await exited;
    const tail = readFileSync(logFile, 'utf8');
    expect(tail).not.toContain('"event":"done"');
    expect(ex.signal).toBe('SIGKILL');
    const killed = loadCheckpoint(join(b, 'checkpoint.gmrckpt'));
    expect(killed.header.epochsDone).toBeGreaterThanOrEqual(1);
    expect(killed.header.epochsDone).toBeLessThan(3);
    // no temporary file is taken for the checkpoint, whatever the kill left behind
    expect(readdirSync(b).filter((f) => f === 'checkpoint.gmrckpt')).toHaveLength(1);

    const resumed = gmr(['train', '--resume', join(b, 'checkpoint.gmrckpt'), '--no-progress']);
    expect(resumed.status, resumed.stderr).toBe(0);
    expect(resumed.stdout).toMatch(/resuming .* after epoch [12]\/3/);
    const ckB = loadCheckpoint(join(b, 'checkpoint.gmrckpt'));
    expect(ckB.header.epochsDone).toBe(3);
    expect(ckB.header.step).toBe(ckA.header.step);

    expect([...ckB.weights.keys()]).toEqual([...ckA.weights.keys()]);
    expect([...ckA.weights.keys()].some((k) => k.includes('log_sigmas'))).toBe(true);
    for (const [name, wa] of ckA.weights) {
      const wb = ckB.weights.get(name)!;
      expect(Array.from(wb), name).toEqual(Array.from(wa));
    }
    for (const [name, sa] of ckA.optimizer) expect(Array.from(ckB.optimizer.get(name)!), name).toEqual(Array.from(sa));

    // the JSONL log has one line per epoch (the killed epoch never logged) and a final line
    const lines = readFileSync(logFile, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { event: string; epoch?: number });
    expect(lines.filter((l) => l.event === 'epoch').map((l) => l.epoch)).toEqual(
      [1, 2, 3].slice(0, lines.filter((l) => l.event === 'epoch').length),
    );
    expect(lines[lines.length - 1].event).toBe('done');
  });
});
