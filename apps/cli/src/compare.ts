/**
 * `gmr eval --compare CK1 CK2 …`: several checkpoints on one test set, on one page. Each checkpoint is named by its
 * run folder (two gmr-cnn runs would otherwise share a column title), and all must take the same input and predict
 * the same classes, or the accuracies would not be of the same task.
 */
import { basename, dirname, resolve } from 'node:path';
import { CliError } from './errors.js';

export interface CompareEntry {
  path: string;
  /** the model's input [height, width, channels] */
  input: [number, number, number];
  classes: string[];
}

/** Column titles: the run folder's name; the file name too when two checkpoints share a folder name. */
export function compareLabels(paths: string[]): string[] {
  const folder = paths.map((p) => basename(dirname(resolve(p))));
  return paths.map((p, i) =>
    folder.filter((f) => f === folder[i]).length > 1 ? `${folder[i]}/${basename(p)}` : folder[i],
  );
}

/** Refuses a comparison of checkpoints that do not solve the same task, naming the first one that differs. */
export function checkComparable(entries: CompareEntry[]): void {
  if (entries.length < 2) throw new CliError(`--compare needs two or more checkpoints, got ${entries.length}`);
  const seen = new Set<string>();
  for (const e of entries) {
    const key = resolve(e.path);
    if (seen.has(key)) throw new CliError(`--compare: ${e.path} is listed twice`);
    seen.add(key);
  }
  const [first, ...rest] = entries;
  for (const e of rest) {
    if (e.input.join('×') !== first.input.join('×'))
      throw new CliError(
        `--compare: ${e.path} takes ${e.input.join('×')} inputs (height×width×channels), ${first.path} takes ${first.input.join('×')}: checkpoints compared on one test set must take the same input`,
      );
    if (JSON.stringify(e.classes) !== JSON.stringify(first.classes))
      throw new CliError(
        `--compare: ${e.path} predicts the classes [${e.classes.join(', ')}], ${first.path} [${first.classes.join(', ')}]: checkpoints compared on one test set must predict the same classes in the same order`,
      );
  }
}
