/**
 * Choosing between the dense path and the two-stage path from their cost.
 * MAC counts per output position, scaled by a per-backend overhead of the
 * two-stage path (its transposes and the n-times larger ring tensor), fitted to
 * `pnpm bench layer` on a 2-core machine (see the README's figures).
 */
import type { ComputePath } from './attrs.js';

/** Two-stage cost multiplier per backend (how much slower one of its MACs is than a dense conv MAC). */
export const TWO_STAGE_OVERHEAD: Record<string, number> = {
  cpu: 1.0,
  wasm: 4.0,
  webgl: 2.5,
  webgpu: 2.5,
};

export interface PathCost {
  denseMacs: number;
  twoStageMacs: number;
  overhead: number;
  path: ComputePath;
}

export function pathCost(
  backendName: string,
  kernelSize: number[],
  numRings: number,
  cin: number,
  cout: number,
  groups: number,
  outPositions: number,
): PathCost {
  const taps = kernelSize.reduce((a, b) => a * b, 1);
  const denseMacs = outPositions * taps * (cin / groups) * cout;
  const twoStageMacs = outPositions * (cin * numRings * taps + (cin / groups) * numRings * cout);
  const overhead = TWO_STAGE_OVERHEAD[backendName] ?? 2.5;
  // Dense with groups runs one convolution per group: charge the loop.
  const denseGroupPenalty = groups > 1 ? 1 + groups / 8 : 1;
  const path: ComputePath = twoStageMacs * overhead < denseMacs * denseGroupPenalty ? 'two-stage' : 'dense';
  return { denseMacs, twoStageMacs, overhead, path };
}
