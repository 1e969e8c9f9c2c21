/**
 * A run folder's log.jsonl: one JSON line per epoch, each carrying the run id that its checkpoint carries too.
 * The checkpoint is saved before the epoch's line is written, so a kill between the two loses the line; resuming
 * writes it again from the checkpoint's history (marked "recovered"). A line cut by a kill during the write is
 * dropped, and lines of another run (a folder mixing two runs) are refused.
 */
import { appendFileSync, existsSync, readFileSync } from 'node:fs';
import { writeFileAtomic } from './checkpoint.js';
import { CliError, fileError } from './errors.js';

export interface LogLine {
  event: string;
  run?: string;
  epoch?: number;
  [k: string]: unknown;
}

/** Appends one line (a file-system failure names the file). */
export function appendLog(path: string, line: LogLine): void {
  try {
    appendFileSync(path, JSON.stringify(line) + '\n');
  } catch (e) {
    throw fileError(e, path);
  }
}

/** The complete lines of the log, and whether a cut (partial or unreadable) last line follows them. */
export function readLog(path: string): { lines: LogLine[]; cut: boolean } {
  if (!existsSync(path)) return { lines: [], cut: false };
  const text = readFileSync(path, 'utf8');
  const parts = text.split('\n');
  const tail = parts.pop() ?? '';
  const lines: LogLine[] = [];
  for (const [i, p] of parts.entries()) {
    if (p.trim() === '') continue;
    try {
      lines.push(JSON.parse(p) as LogLine);
    } catch {
      throw new CliError(
        `${path}: line ${i + 1} is not JSON (${p.slice(0, 60)}…): the log is damaged; move it away to continue`,
      );
    }
  }
  return { lines, cut: tail.trim() !== '' };
}

/** The run ids found in a log other than `runId` (none: the log belongs to the run). */
export function otherRuns(lines: LogLine[], runId: string): string[] {
  return [...new Set(lines.map((l) => l.run).filter((r): r is string => r !== runId))];
}

/**
 * Before a resumed run appends to its log: refuses lines of another run, drops a cut last line, and writes the
 * epoch lines the checkpoint has but the log lost. Returns the epochs written again.
 */
export function reconcileLog(
  path: string,
  runId: string,
  history: { epoch: number }[],
  extra: Record<string, unknown>,
): number[] {
  const { lines, cut } = readLog(path);
  const others = otherRuns(lines, runId);
  if (others.length)
    throw new CliError(
      `${path} holds lines of run ${others.join(', ')}, but the checkpoint belongs to run ${runId}: the folder mixes two runs; resume from a folder that holds one run only`,
    );
  if (cut) writeFileAtomic(path, [new TextEncoder().encode(lines.map((l) => JSON.stringify(l) + '\n').join(''))]);
  const logged = new Set(lines.filter((l) => l.event === 'epoch').map((l) => l.epoch));
  const missing = history.filter((h) => !logged.has(h.epoch));
  for (const h of missing) appendLog(path, { event: 'epoch', run: runId, ...extra, ...h, recovered: true });
  return missing.map((h) => h.epoch);
}
