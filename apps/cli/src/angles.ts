/** Angle lists for the rotation protocol (no tfjs import, so argument errors are reported fast). */
import { invalidOption } from './errors.js';

export const PAPER_ANGLES: readonly number[] = Object.freeze(Array.from({ length: 37 }, (_, i) => 10 * i));

/** The most angles one evaluation may ask for: every tenth of a degree (each angle is a pass over the test set). */
export const MAX_ANGLES = 3601;

const FORMS = "use 'paper', a list like 0,45,90 or a range like 0:360:10";

/** Parses "0,45,90" or "0:360:10" into angles in [0, 360]; the count is checked before any list is made. */
export function parseAngles(text: string | undefined): number[] {
  if (text === undefined || text === 'paper') return [...PAPER_ANGLES];
  if (text.trim() === '') throw invalidOption('--angles', text, `one or more angles (${FORMS})`);
  let angles: number[];
  const range = /^([^:]*):([^:]*):([^:]*)$/.exec(text.trim());
  if (range) {
    const [a, b, s] = range.slice(1).map((x) => (x.trim() === '' ? NaN : Number(x)));
    for (const [what, v, raw] of [
      ['start', a, range[1]],
      ['end', b, range[2]],
      ['step', s, range[3]],
    ] as const)
      if (!Number.isFinite(v)) throw invalidOption(`--angles ${what}`, raw, `a number (${FORMS})`);
    if (!(s > 0)) throw invalidOption('--angles step', s, 'positive');
    if (b < a) throw invalidOption('--angles end', b, `at least the start, ${a}`);
    const count = Math.floor((b - a) / s + 1e-9) + 1;
    if (count > MAX_ANGLES)
      throw invalidOption(
        '--angles',
        text,
        `at most ${MAX_ANGLES} angles (a step of 0.1° over 0..360; this range gives ${count}): use a larger step`,
      );
    angles = Array.from({ length: count }, (_, i) => Math.round((a + i * s) * 1e6) / 1e6);
  } else {
    const parts = text.split(',');
    if (parts.length > MAX_ANGLES)
      throw invalidOption('--angles', `a list of ${parts.length} angles`, `at most ${MAX_ANGLES} angles`);
    angles = parts.map((p) => {
      if (p.trim() === '') throw invalidOption('--angles', text, `a list without empty entries (${FORMS})`);
      const v = Number(p.trim());
      if (!Number.isFinite(v)) throw invalidOption('--angles entry', p.trim(), `a number (${FORMS})`);
      return v;
    });
  }
  for (const a of angles) if (a < 0 || a > 360) throw invalidOption('--angles', a, 'angles in 0..360 degrees');
  return angles;
}
