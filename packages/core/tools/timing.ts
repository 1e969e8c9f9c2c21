/** Timing helpers shared by the benchmark scripts (core's and the kernel packages'). */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { tf } from './backends.js';

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** Median wall time of `runs` calls after one warm-up (shader compilation, kernel registration); waits for the data. */
export async function timeIt(fn: () => tf.Tensor | tf.Tensor[], runs: number): Promise<number> {
  const settle = async (r: tf.Tensor | tf.Tensor[]) => {
    const list = Array.isArray(r) ? r : [r];
    await Promise.all(list.map((t) => t.data()));
    tf.dispose(list);
  };
  await settle(fn());
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    await settle(fn());
    times.push(performance.now() - t0);
  }
  return median(times);
}

/** Writes benchmark records as a JSON array; a relative path is taken from where the user typed the command (pnpm sets INIT_CWD). */
export function writeRecords(file: string, records: unknown[]): void {
  const target = path.resolve(process.env.INIT_CWD ?? process.cwd(), file);
  fs.writeFileSync(target, JSON.stringify(records, null, 2));
  console.log(`\nwrote ${records.length} records to ${target}`);
}
