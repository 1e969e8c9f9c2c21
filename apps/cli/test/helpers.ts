import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';

export const appDir = join(dirname(fileURLToPath(import.meta.url)), '..');
export const mainTs = join(appDir, 'src', 'main.ts');
/** One node process running src/main.ts through tsx's loader (a kill reaches the training process itself). */
const nodeArgs = ['--import', 'tsx', mainTs];

export interface RunResult {
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs `gmr args…` (through tsx, no build) and waits. */
export function gmr(args: string[], timeoutMs = 120_000): RunResult {
  const r = spawnSync(process.execPath, [...nodeArgs, ...args], {
    cwd: appDir,
    encoding: 'utf8',
    timeout: timeoutMs,
    env: { ...process.env, GMR_DEBUG: '' },
  });
  return { status: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr };
}

/**
 * Trains the tests' tiny GMR-CNN (widths 4/8/8, the first `limit` training images, one epoch) into `<root>/run` and
 * returns the path of its checkpoint.
 */
export function trainTinyCheckpoint(root: string, limit = 64, testLimit = 16): string {
  const out = join(root, 'run');
  const r = gmr([
    'train',
    '--widths',
    '4,8,8',
    '--limit',
    String(limit),
    '--epochs',
    '1',
    '--test-limit',
    String(testLimit),
    '--out',
    out,
    '--no-progress',
  ]);
  expect(r.status, r.stderr).toBe(0);
  return join(out, 'checkpoint.gmrckpt');
}

/** Runs `gmr args…` with a fault injected (test/fault_preload.mjs, GMR_FAULT=fault); a kill shows as signal SIGKILL. */
export function gmrFault(fault: string, args: string[], timeoutMs = 120_000): RunResult {
  const preload = join(appDir, 'test', 'fault_preload.mjs');
  const r = spawnSync(process.execPath, ['--import', preload, ...nodeArgs, ...args], {
    cwd: appDir,
    encoding: 'utf8',
    timeout: timeoutMs,
    env: { ...process.env, GMR_DEBUG: '', GMR_FAULT: fault },
  });
  return { status: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr };
}

/** Starts `gmr args…` as a child process (the real node process, so a kill reaches training itself). */
export function gmrSpawn(args: string[]): ChildProcess {
  return spawn(process.execPath, [...nodeArgs, ...args], { cwd: appDir, stdio: ['ignore', 'pipe', 'pipe'] });
}

/** The same command through the bin wrapper (bin/gmr.js). */
export function gmrBin(args: string[], timeoutMs = 60_000): RunResult {
  const r = spawnSync(process.execPath, [join(appDir, 'bin', 'gmr.js'), ...args], {
    cwd: appDir,
    encoding: 'utf8',
    timeout: timeoutMs,
  });
  return { status: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr };
}
