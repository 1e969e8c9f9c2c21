/** Bad input gives a clear message and a non-zero exit, no bare stack trace, and loses nothing already written. */
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { gmr, gmrBin, trainTinyCheckpoint } from './helpers.js';

let root = '';
let gmrCkpt = '';
const sha = (f: string) =>
  createHash('sha256')
    .update(new Uint8Array(readFileSync(f)))
    .digest('hex');
const noStack = (s: string) => expect(s).not.toMatch(/^\s+at .+\(.+:\d+:\d+\)$/m);

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'gmr-bad-'));
  gmrCkpt = trainTinyCheckpoint(root);
});

describe('bad input', () => {
  it('unknown flag', () => {
    const r = gmrBin(['train', '--epochz', '3']);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/unknown option '--epochz'/);
    expect(r.stderr).toMatch(/Did you mean --epochs\?|--help/);
    noStack(r.stderr);
  });

  it('unknown command and bad values', () => {
    const a = gmr(['trian']);
    expect(a.status).toBe(2);
    expect(a.stderr).toMatch(/unknown command 'trian'/);
    const b = gmr(['train', '--epochs', 'many']);
    expect(b.status).toBe(2);
    expect(b.stderr).toMatch(/`--epochs` must be an integer ≥ 1, got "many"\./);
    const c = gmr(['train', '--optimizer', 'rmsprop']);
    expect(c.status).toBe(2);
    expect(c.stderr).toMatch(/Allowed choices are sgd, adam, adamw/);
  });

  it('missing dataset folder', () => {
    const r = gmr(['train', '--data-dir', join(root, 'no-such-folder'), '--limit', '10', '--out', join(root, 'x')]);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain(`gmr: error: dataset folder not found: ${join(root, 'no-such-folder')}`);
    noStack(r.stderr);
  });

  it('corrupt dataset folder', () => {
    const dir = mkdtempSync(join(root, 'corrupt-'));
    writeFileSync(join(dir, 'train-images-idx3-ubyte'), new Uint8Array([0, 0, 8, 3, 0, 0]));
    writeFileSync(join(dir, 'train-labels-idx1-ubyte'), new Uint8Array([0, 0, 8, 1]));
    const r = gmr(['train', '--data-dir', dir, '--limit', '10', '--out', join(root, 'y')]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/gmr: error: cannot read the train split from .*corrupt-/);
    noStack(r.stderr);
  });

  it('checkpoint from another model', () => {
    const before = sha(gmrCkpt);
    const r = gmr(['eval', '--checkpoint', gmrCkpt, '--model', 'plain-cnn', '--test-limit', '8']);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/is a checkpoint of gmr-cnn, not of plain-cnn/);
    const w = gmr(['eval', '--checkpoint', gmrCkpt, '--widths', '16,32,64', '--test-limit', '8']);
    expect(w.status).toBe(2);
    expect(w.stderr).toMatch(/holds widths \[4,8,8\], not \[16,32,64\]/);
    expect(sha(gmrCkpt)).toBe(before);
  });

  it('not a checkpoint, truncated checkpoint', () => {
    const junk = join(root, 'junk.gmrckpt');
    writeFileSync(junk, 'hello');
    const r = gmr(['eval', '--checkpoint', junk]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/not a valid gmr checkpoint \(wrong magic bytes/);
    const cut = join(root, 'cut.gmrckpt');
    const full = readFileSync(gmrCkpt);
    writeFileSync(cut, new Uint8Array(full.subarray(0, full.length - 100)));
    const t = gmr(['train', '--resume', cut]);
    expect(t.status).toBe(2);
    expect(t.stderr).toMatch(/not a valid gmr checkpoint \(checksum mismatch: the file is damaged or truncated/);
    const m = gmr(['eval', '--checkpoint', join(root, 'missing.gmrckpt')]);
    expect(m.status).toBe(2);
    expect(m.stderr).toMatch(/checkpoint not found/);
  });

  it('out-of-range angle', () => {
    const r = gmr(['eval', '--checkpoint', gmrCkpt, '--angles', '0,90,400']);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('`--angles` must be angles in 0..360 degrees, got 400.');
    const n = gmr(['eval', '--checkpoint', gmrCkpt, '--angles', '-10']);
    expect(n.status).toBe(2);
    expect(n.stderr).toMatch(/`--angles` must be angles in 0\.\.360 degrees, got -10\./);
    noStack(r.stderr);
  });

  it('does not overwrite an existing run', () => {
    const before = sha(gmrCkpt);
    const r = gmr(['train', '--widths', '4,8,8', '--limit', '64', '--out', join(root, 'run'), '--no-progress']);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/already exists: pass --resume/);
    expect(sha(gmrCkpt)).toBe(before);
  });

  it('a resumed checkpoint of another model is refused before anything is written', () => {
    // --resume uses the checkpoint's own configuration, so a mismatch can only come from the file itself
    const before = sha(gmrCkpt);
    const r = gmr(['train', '--resume', gmrCkpt, '--model', 'plain-cnn', '--no-progress']);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/holds a gmr-cnn .* not the requested plain-cnn/);
    expect(sha(gmrCkpt)).toBe(before);
  });
});
