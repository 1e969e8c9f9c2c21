/** The CLI's argument errors: a CliError (exit code 2) worded as core's invalid(): "`--flag` must be <allowed>, got <value>." */
import { describe, expect, it } from 'vitest';
import { parseAngles } from '../src/angles.js';
import { CliError, invalidOption } from '../src/errors.js';

describe('CLI argument errors in the house style', () => {
  it('invalidOption quotes strings and not numbers, like core', () => {
    const s = invalidOption('--optimizer', 'rmsprop', "'sgd', 'adam' or 'adamw'");
    expect(s).toBeInstanceOf(CliError);
    expect(s.code).toBe(2);
    expect(s.message).toBe("`--optimizer` must be 'sgd', 'adam' or 'adamw', got \"rmsprop\".");
    expect(invalidOption('--lr', Number.NaN, 'a number > 0').message).toBe('`--lr` must be a number > 0, got NaN.');
  });

  it('--angles names the part that is wrong and its value', () => {
    const cases: Array<[string, string]> = [
      ['0:360:0', '`--angles step` must be positive, got 0.'],
      ['90:0:10', '`--angles end` must be at least the start, 90, got 0.'],
      [
        '10,x',
        '`--angles entry` must be a number (use \'paper\', a list like 0,45,90 or a range like 0:360:10), got "x".',
      ],
      ['0,720', '`--angles` must be angles in 0..360 degrees, got 720.'],
    ];
    for (const [text, message] of cases) {
      expect(() => parseAngles(text)).toThrow(expect.objectContaining({ name: 'CliError', code: 2, message }));
    }
  });
});

describe("the libraries' refusals reach the user as errors, not as 'unexpected error'", () => {
  it('isLibraryRefusal knows GMRValueError and its subclasses, and nothing else', async () => {
    const { isLibraryRefusal } = await import('../src/main.js');
    const { GMRValueError } = await import('@gmr-conv/core');
    const { DatasetError } = await import('@gmr-conv/datasets');
    expect(isLibraryRefusal(new GMRValueError('x'))).toBe(true);
    expect(isLibraryRefusal(new DatasetError('a.png', 'not an image'))).toBe(true);
    expect(isLibraryRefusal(new Error('x'))).toBe(false);
    expect(isLibraryRefusal(new TypeError('x'))).toBe(false);
    expect(isLibraryRefusal('GMRValueError')).toBe(false);
  });

  it('gmr train on a folder whose class folders are empty: exit 2 and the folder named', async () => {
    const { mkdtempSync, mkdirSync, rmSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const { main } = await import('../src/main.js');
    const dir = mkdtempSync(join(tmpdir(), 'gmr-refusal-'));
    mkdirSync(join(dir, 'a'));
    mkdirSync(join(dir, 'b'));
    const chunks: string[] = [];
    const write = process.stderr.write.bind(process.stderr);
    process.stderr.write = ((s: string) => (chunks.push(String(s)), true)) as typeof process.stderr.write;
    try {
      const code = await main([
        'train',
        '--data',
        `folder:${dir}`,
        '--model',
        'plain-cnn',
        '--out',
        join(dir, 'run'),
        '--no-progress',
      ]);
      const text = chunks.join('');
      expect(code).toBe(2);
      expect(text).toMatch(/gmr: error: /);
      expect(text).not.toMatch(/unexpected error/);
      expect(text).toContain(join(dir, 'a'));
    } finally {
      process.stderr.write = write;
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
