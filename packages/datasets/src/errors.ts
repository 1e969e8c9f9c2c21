/**
 * Errors of this package: every one names the file (or source) it concerns and what was wrong with it,
 * so a user with a corrupt download knows which file to fetch again.
 */
export class DatasetError extends Error {
  /** The file (or other source) the error concerns. */
  readonly file: string;
  constructor(file: string, message: string) {
    super(`${file}: ${message}`);
    this.name = 'DatasetError';
    this.file = file;
  }
}

/** Throws a DatasetError for `file`. */
export function fail(file: string, message: string): never {
  throw new DatasetError(file, message);
}

/** Throws a RangeError naming the parameter, the value received and what is allowed. */
export function invalidArg(where: string, name: string, value: unknown, allowed: string): never {
  let shown: string;
  try {
    shown = typeof value === 'string' ? `'${value}'` : JSON.stringify(value) ?? String(value);
  } catch {
    shown = String(value);
  }
  throw new RangeError(`${where}: ${name} must be ${allowed}; received ${shown}`);
}
