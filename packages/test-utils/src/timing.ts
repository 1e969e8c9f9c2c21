/** Timing helpers shared by the benchmark scripts (core's and the kernel packages'): measure.ts, and the JSON record writer. */
import * as fs from 'node:fs';
import * as path from 'node:path';

export { median, timeIt } from './measure.js';

/** Writes benchmark records as a JSON array; a relative path is taken from where the user typed the command (pnpm sets INIT_CWD). */
export function writeRecords(file: string, records: unknown[]): void {
  const target = path.resolve(process.env.INIT_CWD ?? process.cwd(), file);
  fs.writeFileSync(target, JSON.stringify(records, null, 2));
  console.log(`\nwrote ${records.length} records to ${target}`);
}
