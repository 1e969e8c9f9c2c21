/**
 * Choosing between the dense path and the two-stage path from their cost:
 * multiply-accumulates per output position, the two-stage ones scaled by a
 * per-backend overhead (its layout transposes and the n-times larger ring
 * tensor), fitted to `pnpm bench layer` on a 2-core machine (README figures).
 */
import type { ComputePath } from './attrs.js';

/** How much one two-stage MAC costs relative to one dense-conv MAC, per backend. */
export const TWO_STAGE_OVERHEAD: Record<string, number> = {
  // wasm (XNNPACK): 16→16 at 32×32, B=8: dense wins at k=3, ties at k=5, two-stage wins from k=7 (ratio ≥ 3.8).
  wasm: 3.3,
  // cpu: plain JS loops, cost ∝ MACs; the transposes are cheap next to them.
  cpu: 1.2,
  // webgpu on a software adapter (llvmpipe): tfjs's shaders for 1-channel convolutions are slow there.
  webgpu: 6,
  webgl: 4,
};

export interface PathCost {
  denseMacs: number;
  twoStageMacs: number;
  overhead: number;
  path: ComputePath;
}

/**
 * @param folded the ring filtering runs folded (odd square 2D kernel, symmetric rings):
 *   a vertical fold (k·(c+1) taps) and a horizontal pass (k·(c+1)·n) instead of k²·n.
 */
export function pathCost(
  backendName: string,
  kernelSize: number[],
  numRings: number,
  cin: number,
  cout: number,
  groups: number,
  outPositions: number,
  folded = false,
): PathCost {
  const taps = kernelSize.reduce((a, b) => a * b, 1);
  const denseMacs = outPositions * taps * (cin / groups) * cout;
  const k = kernelSize[0];
  const c = (k - 1) / 2;
  const ringMacs = folded ? k * (c + 1) * (1 + numRings) : taps * numRings;
  const twoStageMacs = outPositions * (cin * ringMacs + (cin / groups) * numRings * cout);
  const overhead = TWO_STAGE_OVERHEAD[backendName] ?? 3;
  // Dense with groups runs one convolution per group: charge the loop.
  const denseGroupPenalty = groups > 1 ? 1 + groups / 8 : 1;
  const path: ComputePath = twoStageMacs * overhead < denseMacs * denseGroupPenalty ? 'two-stage' : 'dense';
  return { denseMacs, twoStageMacs, overhead, path };
}
