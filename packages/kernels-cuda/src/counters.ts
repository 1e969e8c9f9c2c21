/** How often each native kernel ran (tests check that the native path, not a fallback, was taken). */
const counts = new Map<string, number>();

export function count(name: string): void {
  counts.set(name, (counts.get(name) ?? 0) + 1);
}

/** A copy of the counters since load or the last reset. */
export function kernelCallCounts(): Record<string, number> {
  return Object.fromEntries(counts);
}

export function resetKernelCallCounts(): void {
  counts.clear();
}
