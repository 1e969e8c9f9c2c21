/** Loading the two builds of the addon (build/gmr_host.node, build/gmr_cuda.node); never throws. */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The addon's functions (same for both builds; the CUDA build adds deviceInfo). Sizes are checked natively. */
export interface NativeAddon {
  alloc(bytes: number): ArrayBuffer;
  /** Frees a buffer from alloc now (detaching it first); false when it is not a live native buffer. */
  release(buffer: ArrayBuffer): boolean;
  liveBuffers(): { count: number; bytes: number; allocations: number; cachedBytes: number };
  /** Returns the freed blocks kept for reuse to the system. */
  trimPool(): void;
  transpose(x: Float32Array, shape: Int32Array, perm: Int32Array, out: Float32Array): void;
  setThreads(n: number): number;
  info(): { build: 'host' | 'cuda'; simd: string; threads: number };
  sgemm(
    transA: boolean, transB: boolean, m: number, n: number, k: number, alpha: number,
    a: Float32Array, aOffset: number, lda: number, b: Float32Array, bOffset: number, ldb: number,
    beta: number, c: Float32Array, cOffset: number, ldc: number,
  ): void;
  ringSum(x: Float32Array, taps: Float32Array, geom: Int32Array, r: Float32Array): void;
  /** GMR forward without keeping R: ring sums and mixing block by block (phiT [Cout, n·Cin/g]); y [P, Cout]. */
  gmrForward(x: Float32Array, taps: Float32Array, geom: Int32Array, phiT: Float32Array, cout: number, y: Float32Array): void;
  ringScatter(d: Float32Array, taps: Float32Array, geom: Int32Array, dx: Float32Array): void;
  im2col(x: Float32Array, geom: Int32Array, col: Float32Array): void;
  col2im(col: Float32Array, geom: Int32Array, dx: Float32Array): void;
  relu(x: Float32Array, y: Float32Array): void;
  reluGrad(dy: Float32Array, x: Float32Array, dx: Float32Array): void;
  biasAct(y: Float32Array, bias: Float32Array | null, rows: number, cols: number, act: 0 | 1): void;
  binary(op: 0 | 1 | 2, a: Float32Array, b: Float32Array, out: Float32Array): void;
  /** x viewed as [outer, red, inner] → out [outer, inner], summed (or averaged) over the middle axis. */
  reduce(x: Float32Array, outer: number, red: number, inner: number, out: Float32Array, mean: boolean): void;
  /** op 0 add, 1 sub, 2 mul, 3 div, 4 squared difference; element strides per output axis (0 = broadcast). */
  binaryStrided(op: number, a: Float32Array, aStrides: Int32Array, b: Float32Array, bStrides: Int32Array, out: Float32Array, shape: Int32Array): void;
  tile(x: Float32Array, shape: Int32Array, reps: Int32Array, out: Float32Array): void;
  avgPool(x: Float32Array, geom: Int32Array, y: Float32Array): void;
  avgPoolGrad(dy: Float32Array, geom: Int32Array, dx: Float32Array): void;
  batchNorm(x: Float32Array, mean: Float32Array, variance: Float32Array, offset: Float32Array | null, scale: Float32Array | null, eps: number, y: Float32Array): void;
  step(x: Float32Array, alpha: number, y: Float32Array): void;
  deviceInfo?(): { ok: boolean; count: number; name: string; error: string };
}

export type BuildKind = 'host' | 'cuda';

export interface LoadResult {
  addon: NativeAddon | null;
  /** Why it is not available (null when it is). */
  error: string | null;
  file: string;
}

const here = path.dirname(fileURLToPath(import.meta.url));
/** build/ next to dist/ (or src/ when run from sources); GMR_NATIVE_DIR overrides (e.g. a bundled copy). */
export function addonFile(kind: BuildKind): string {
  const dir = process.env.GMR_NATIVE_DIR ?? path.resolve(here, '..', 'build');
  return path.join(dir, `gmr_${kind}.node`);
}

const cache = new Map<BuildKind, LoadResult>();

export function loadAddon(kind: BuildKind): LoadResult {
  const hit = cache.get(kind);
  if (hit) return hit;
  const file = addonFile(kind);
  let result: LoadResult;
  if (!existsSync(file)) {
    const how = kind === 'host' ? 'pnpm --filter @gmr-conv/kernels-cuda build' : 'pnpm --filter @gmr-conv/kernels-cuda build:cuda (needs nvcc)';
    result = { addon: null, error: `${path.basename(file)} is not built (run: ${how})`, file };
  } else {
    try {
      const req = createRequire(import.meta.url);
      result = { addon: req(file) as NativeAddon, error: null, file };
    } catch (e) {
      result = { addon: null, error: `cannot load ${path.basename(file)}: ${(e as Error).message.split('\n')[0]}`, file };
    }
  }
  cache.set(kind, result);
  return result;
}
