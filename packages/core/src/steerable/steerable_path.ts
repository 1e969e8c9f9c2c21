/**
 * Which computation GMRSteerableConv2D's default path ('auto') takes on each backend.
 *
 * Both paths compute the same function (tested): 'dense' synthesises the kernel [k, k, Cin, Cout] and runs the
 * backend's conv2d over k² taps; 'rings' runs the backend's GMR kernel over the angle-weighted ring masks, i.e. the
 * cos/sin ring sums of every tap in one pass and one product over rows ≈ numRings·(components) instead of k² taps
 * (16 rows for k = 7, 11 for k = 5). Which is faster depends on the backend's kernels: a backend whose GMR kernels and
 * their gradients are native registers 'rings' here (kernels-cuda does, with its measurement); every other backend
 * keeps 'dense', its faster path when this layer was written (the composed GMR op costs more than conv2d there).
 */

export type ResolvedSteerablePath = 'rings' | 'dense';

const preferred = new Map<string, ResolvedSteerablePath>();

/** Makes `path` the default of GMRSteerableConv2D on the backend `backendName` (a kernel package calls this). */
export function setSteerablePath(backendName: string, path: ResolvedSteerablePath): void {
  preferred.set(backendName, path);
}

/** The path of a GMRSteerableConv2D with path 'auto' on `backendName`: what the backend registered, else 'dense'. */
export function steerablePathFor(backendName: string): ResolvedSteerablePath {
  return preferred.get(backendName) ?? 'dense';
}
