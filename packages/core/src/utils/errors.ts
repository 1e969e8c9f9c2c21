/**
 * Errors that name the parameter, the value received and what is allowed.
 * Every user-facing check in the package goes through these helpers so the
 * messages read the same everywhere.
 */
export class GMRValueError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'GMRValueError';
  }
}

export function describeValue(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number') return Number.isNaN(value) ? 'NaN' : String(value);
  if (Array.isArray(value)) return `[${value.map(describeValue).join(', ')}]`;
  if (value === null) return 'null';
  if (value === undefined) return 'undefined';
  if (typeof value === 'object' && value !== null && 'shape' in value) {
    return `a tensor of shape [${(value as { shape: number[] }).shape.join(', ')}]`;
  }
  try {
    return JSON.stringify(value);
  } catch {
    return String(value);
  }
}

/** Throws `GMRValueError`: "<where>: `<param>` must be <allowed>, got <value>." */
export function invalid(where: string, param: string, value: unknown, allowed: string): never {
  throw new GMRValueError(`${where}: \`${param}\` must be ${allowed}, got ${describeValue(value)}.`);
}

export function checkPositiveInt(where: string, param: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
    invalid(where, param, value, 'a positive integer');
  }
  return value;
}

export function checkNonNegativeInt(where: string, param: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) {
    invalid(where, param, value, 'a non-negative integer');
  }
  return value;
}

/** Expands a number or a tuple to `rank` positive integers. */
export function toTuple(
  where: string,
  param: string,
  value: unknown,
  rank: number,
  check: (w: string, p: string, v: unknown) => number = checkPositiveInt,
): number[] {
  if (typeof value === 'number') {
    check(where, param, value);
    return new Array(rank).fill(value);
  }
  if (Array.isArray(value) && value.length === rank) {
    value.forEach((v, i) => check(where, `${param}[${i}]`, v));
    return value.slice() as number[];
  }
  return invalid(where, param, value, `a number or an array of ${rank} numbers`);
}

const warned = new Set<string>();
/** console.warn once per distinct message (tfjs style). */
export function warnOnce(message: string): void {
  if (warned.has(message)) return;
  warned.add(message);
  console.warn(message);
}
