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
      ['10,x', "`--angles entry` must be a number (use 'paper', a list like 0,45,90 or a range like 0:360:10), got \"x\"."],
      ['0,720', '`--angles` must be angles in 0..360 degrees, got 720.'],
    ];
    for (const [text, message] of cases) {
      expect(() => parseAngles(text)).toThrow(expect.objectContaining({ name: 'CliError', code: 2, message }));
    }
  });
});
