import { existsSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';

/** An error whose message is meant for the user: printed without a stack trace, exit code `code`. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly code = 2,
  ) {
    super(message);
    this.name = 'CliError';
  }
}

/** A value as core's describeValue shows it: strings quoted, numbers and the rest as JSON. */
function shown(value: unknown): string {
  return typeof value === 'number' ? String(value) : (JSON.stringify(value) ?? String(value));
}

/**
 * The message of a bad option value, worded as core's invalid() (the house style of every GMR package):
 * "`--flag` must be <allowed>, got <value>." Built here, not by importing core, so argument errors are reported
 * before tfjs loads.
 */
export function optionMessage(flag: string, value: unknown, allowed: string): string {
  return `\`${flag}\` must be ${allowed}, got ${shown(value)}.`;
}

/** A CliError (exit code 2) for a bad option value, worded as core's invalid(). */
export function invalidOption(flag: string, value: unknown, allowed: string): CliError {
  return new CliError(optionMessage(flag, value, allowed));
}

/** File-system failures a user can act on, in words (the errno code is kept in the message for searching). */
const FS_CODES: Record<string, string> = {
  ENOSPC: 'no space left on the device',
  EDQUOT: 'disk quota exceeded',
  EROFS: 'the file system is read-only',
  ENOTDIR: 'a part of the path is a file, not a folder',
  EISDIR: 'it is a folder, not a file',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  ENAMETOOLONG: 'the name is too long',
  EMFILE: 'too many open files',
};

/**
 * A CliError naming the file and the cause for a file-system error (ENOSPC, EROFS, ENOTDIR, …); any other error
 * comes back unchanged. Errors from a write on an open descriptor carry no path, hence `file`.
 */
export function fileError(e: unknown, file?: string): unknown {
  const err = e as NodeJS.ErrnoException & { dest?: string };
  const why = err && typeof err.code === 'string' ? FS_CODES[err.code] : undefined;
  if (!why) return e;
  const where = file ?? err.path;
  return new CliError(
    `${where ?? 'a file'}: ${why} (${err.code})${err.dest && err.dest !== where ? `, moving it to ${err.dest}` : ''}`,
    4,
  );
}

/**
 * mkdir -p whose failure names the folder and the real cause: a recursive mkdir on a read-only file system reports
 * ENOENT, so the first missing folder is made on its own to learn the true code (EROFS, EACCES, ENOTDIR, …).
 */
export function makeFolder(dir: string): void {
  try {
    mkdirSync(dir, { recursive: true });
  } catch (e) {
    let first = dir;
    while (!existsSync(dirname(first)) && dirname(first) !== first) first = dirname(first);
    try {
      mkdirSync(first);
    } catch (inner) {
      throw fileError(inner, dir);
    }
    throw fileError(e, dir);
  }
}
