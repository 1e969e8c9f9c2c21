import { GMRValueError, invalid } from '@gmr-conv/core';

/**
 * The errors of this package come in two kinds, both core's GMRValueError so `instanceof GMRValueError` catches
 * every refusal of the GMR packages:
 * - a bad argument (invalidArg): names the function, the parameter, the value received and what is allowed;
 * - a bad file (DatasetError, below): names the file (or source) and what was wrong with it, so a user with a
 *   corrupt download knows which file to fetch again.
 */
export class DatasetError extends GMRValueError {
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

/** Throws core's GMRValueError: "<where>: `<name>` must be <allowed>, got <value>." */
export function invalidArg(where: string, name: string, value: unknown, allowed: string): never {
  return invalid(where, name, value, allowed);
}
