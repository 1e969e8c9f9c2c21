/** Angle lists for the rotation protocol (no tfjs import, so argument errors are reported fast). */
import { CliError } from './errors.js';

export const PAPER_ANGLES: readonly number[] = Object.freeze(Array.from({ length: 37 }, (_, i) => 10 * i));

/** Parses "0,45,90" or "0:360:10" into angles in [0, 360]. */
export function parseAngles(text: string | undefined): number[] {
  if (text === undefined || text === 'paper') return [...PAPER_ANGLES];
  let angles: number[];
  const range = /^(-?[\d.]+):(-?[\d.]+):([\d.]+)$/.exec(text.trim());
  if (range) {
    const [a, b, s] = range.slice(1).map(Number);
    if (!(s > 0)) throw new CliError(`--angles ${text}: the step must be positive`);
    angles = [];
    for (let x = a; x <= b + 1e-9; x += s) angles.push(Math.round(x * 1e6) / 1e6);
  } else angles = text.split(',').map((s) => Number(s.trim()));
  for (const a of angles) {
    if (!Number.isFinite(a)) throw new CliError(`--angles ${text}: '${a}' is not a number (use e.g. 0,45,90 or 0:360:10)`);
    if (a < 0 || a > 360) throw new CliError(`--angles ${text}: angle ${a}° is out of range (angles must be in 0..360 degrees)`);
  }
  if (angles.length === 0) throw new CliError(`--angles ${text}: no angles`);
  return angles;
}

