/** How often each of this package's kernels ran (tests and the benchmark read it to see which path served a call). */

/** How often each kernel ran (and how often the forward fell back to core's composed path). */
export interface KernelCallCounts {
  forward: number;
  backpropInput: number;
  backpropFilter: number;
  fallback: number;
}

const counts: KernelCallCounts = { forward: 0, backpropInput: 0, backpropFilter: 0, fallback: 0 };

export function countCall(what: keyof KernelCallCounts): void {
  counts[what]++;
}

/** A copy of the call counters of this package's kernels (since load or the last reset). */
export function kernelCallCounts(): KernelCallCounts {
  return { ...counts };
}

export function resetKernelCallCounts(): void {
  counts.forward = counts.backpropInput = counts.backpropFilter = counts.fallback = 0;
}
