/**
 * Loading the two builds of the addon; never throws. Where each comes from, first found wins:
 *   host: $GMR_NATIVE_DIR/gmr_host.node; build/gmr_host.node (a source build: `pnpm build` in the workspace, or the
 *         install script where no prebuilt binary fits); the prebuilt prebuilds/<platform>-<arch>/*.node that
 *         node-gyp-build picks for this platform, arch and libc (N-API, so any Node from 18 on).
 *   cuda: $GMR_NATIVE_DIR/gmr_cuda.node or build/gmr_cuda.node only (opt-in source build, GMR_BUILD_CUDA=1).
 */
import { existsSync, readFileSync } from 'node:fs';
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
    transA: boolean,
    transB: boolean,
    m: number,
    n: number,
    k: number,
    alpha: number,
    a: Float32Array,
    aOffset: number,
    lda: number,
    b: Float32Array,
    bOffset: number,
    ldb: number,
    beta: number,
    c: Float32Array,
    cOffset: number,
    ldc: number,
  ): void;
  ringSum(x: Float32Array, taps: Float32Array, geom: Int32Array, r: Float32Array): void;
  /** GMR forward without keeping R: ring sums and mixing block by block (phiT [Cout, n·Cin/g]); y [P, Cout]. */
  gmrForward(
    x: Float32Array,
    taps: Float32Array,
    geom: Int32Array,
    phiT: Float32Array,
    cout: number,
    y: Float32Array,
    /** [Cout], added to y on the way (null: none) */
    bias?: Float32Array | null,
    /** 1: ReLU after the bias */
    act?: number,
  ): void;
  /**
   * GMR filter gradient dΦ [Cout, Cin/g, n] = Σ_p dy[p]ᵀ·R[p] per group, from the kept ring sums r [P, Cin·n] or, when
   * r is null, from x (ring sums recomputed chunk by chunk; x may be null when r is given); the same bits at any
   * thread count.
   */
  gmrFilterGrad(
    x: Float32Array | null,
    r: Float32Array | null,
    dy: Float32Array,
    taps: Float32Array,
    geom: Int32Array,
    cout: number,
    dphi: Float32Array,
  ): void;
  /** The same forward keeping R [P, Cin·n] whole (for the filter gradient under a tape); y [P, Cout]. */
  gmrForwardKeep(
    x: Float32Array,
    taps: Float32Array,
    geom: Int32Array,
    phiT: Float32Array,
    cout: number,
    y: Float32Array,
    r: Float32Array,
  ): void;
  ringScatter(d: Float32Array, taps: Float32Array, geom: Int32Array, dx: Float32Array): void;
  /**
   * The steerable convolution over the non-zero blocks of W [Cout, Cin, rows] (native/steerable_ops.h; plan as core's
   * SteerableConvAttrs.plan, geom with groups 1 and the mask rows as rings): y [P, Cout], rp [P, KT] the plan's ring
   * sums (kept for the filter gradient, or scratch).
   */
  steerableForward(
    x: Float32Array,
    taps: Float32Array,
    geom: Int32Array,
    plan: Int32Array,
    w: Float32Array,
    cout: number,
    y: Float32Array,
    rp: Float32Array,
  ): void;
  /** dW [Cout, Cin, rows] (zero outside the plan) from the kept rp, or from x when rp is null. */
  steerableFilterGrad(
    x: Float32Array | null,
    rp: Float32Array | null,
    dy: Float32Array,
    taps: Float32Array,
    geom: Int32Array,
    plan: Int32Array,
    cout: number,
    dW: Float32Array,
  ): void;
  /** dx [B, H, W, Cin] of the steerable convolution for dy [P, Cout]. */
  steerableInputGrad(
    dy: Float32Array,
    taps: Float32Array,
    geom: Int32Array,
    plan: Int32Array,
    w: Float32Array,
    cout: number,
    dx: Float32Array,
  ): void;
  im2col(x: Float32Array, geom: Int32Array, col: Float32Array): void;
  col2im(col: Float32Array, geom: Int32Array, dx: Float32Array): void;
  /** Plain conv (im2col geometry, w [kh, kw, Cin, cout]): y = conv(x, w) (+ bias, ReLU when act 1), implicit GEMM. */
  convForward(
    x: Float32Array,
    w: Float32Array,
    geom: Int32Array,
    cout: number,
    bias: Float32Array | null,
    act: 0 | 1,
    y: Float32Array,
  ): void;
  convBackpropInput(dy: Float32Array, w: Float32Array, geom: Int32Array, cout: number, dx: Float32Array): void;
  convBackpropFilter(x: Float32Array, dy: Float32Array, geom: Int32Array, cout: number, dw: Float32Array): void;
  relu(x: Float32Array, y: Float32Array): void;
  reluGrad(dy: Float32Array, x: Float32Array, dx: Float32Array): void;
  /** core's steerable gate (field_gate.ts): x [rows, n0 + 3K] → y [rows, n0 + 2K], K = n1 + n2. */
  fieldGate(x: Float32Array, n0: number, n1: number, n2: number, y: Float32Array): void;
  fieldGateGrad(x: Float32Array, dy: Float32Array, n0: number, n1: number, n2: number, dx: Float32Array): void;
  /**
   * core's FieldBatchNorm in training (field_ops.h): y, mean [C], stats [F], invStd [C] from x, γ [F], β [n0]; relu 1:
   * y = relu(…) (order-0 fields only).
   */
  fieldBatchNorm(
    x: Float32Array,
    n0: number,
    n1: number,
    n2: number,
    gamma: Float32Array,
    beta: Float32Array | null,
    eps: number,
    relu: 0 | 1,
    y: Float32Array,
    mean: Float32Array,
    stats: Float32Array,
    invStd: Float32Array,
  ): void;
  fieldBatchNormGrad(
    x: Float32Array,
    dy: Float32Array,
    n0: number,
    n1: number,
    n2: number,
    mean: Float32Array,
    invStd: Float32Array,
    gamma: Float32Array,
    /** Read only with relu 1 (the fused ReLU's mask is recomputed from x, γ and β). */
    beta: Float32Array | null,
    relu: 0 | 1,
    dx: Float32Array,
    dgamma: Float32Array,
    dbeta: Float32Array | null,
  ): void;
  /**
   * core's FieldInvariants (field_ops.h): x [rows, n0 + 2·(n1 + n2)] → y [rows, fieldInvariantChannels(fields,
   * products)]; paired 1: products 'paired'.
   */
  fieldInvariants(x: Float32Array, n0: number, n1: number, n2: number, paired: 0 | 1, y: Float32Array): void;
  fieldInvariantsGrad(
    x: Float32Array,
    dy: Float32Array,
    n0: number,
    n1: number,
    n2: number,
    paired: 0 | 1,
    dx: Float32Array,
  ): void;
  /** core's softmaxCrossEntropy (loss_ops.h): loss [1] (batch mean) and probs [B, K] from logits and labels [B, K]. */
  softmaxCrossEntropy(
    logits: Float32Array,
    labels: Float32Array,
    k: number,
    loss: Float32Array,
    probs: Float32Array,
  ): void;
  /** dlogits = dy·(probs − labels)/B. */
  softmaxCrossEntropyGrad(
    probs: Float32Array,
    labels: Float32Array,
    k: number,
    dy: number,
    dlogits: Float32Array,
  ): void;
  /** tfjs's DepthwiseConv2dNative forward (NHWC): y from x and w [kh, kw, cin, mult] over a pool-style geometry. */
  depthwiseConv(x: Float32Array, w: Float32Array, geom: Int32Array, mult: number, y: Float32Array): void;
  biasAct(y: Float32Array, bias: Float32Array | null, rows: number, cols: number, act: 0 | 1): void;
  binary(op: 0 | 1 | 2, a: Float32Array, b: Float32Array, out: Float32Array): void;
  /** x viewed as [outer, red, inner] → out [outer, inner], summed (or averaged) over the middle axis. */
  reduce(x: Float32Array, outer: number, red: number, inner: number, out: Float32Array, mean: boolean): void;
  /** op 0 add, 1 sub, 2 mul, 3 div, 4 squared difference; element strides per output axis (0 = broadcast). */
  binaryStrided(
    op: number,
    a: Float32Array,
    aStrides: Int32Array,
    b: Float32Array,
    bStrides: Int32Array,
    out: Float32Array,
    shape: Int32Array,
  ): void;
  tile(x: Float32Array, shape: Int32Array, reps: Int32Array, out: Float32Array): void;
  avgPool(x: Float32Array, geom: Int32Array, y: Float32Array): void;
  avgPoolGrad(dy: Float32Array, geom: Int32Array, dx: Float32Array): void;
  batchNorm(
    x: Float32Array,
    mean: Float32Array,
    variance: Float32Array,
    offset: Float32Array | null,
    scale: Float32Array | null,
    eps: number,
    y: Float32Array,
  ): void;
  /** The gradients of batchNorm for dy: dx, and per channel dmean, dvar, dscale, doffset (scale null = 1). */
  batchNormGrad(
    x: Float32Array,
    dy: Float32Array,
    mean: Float32Array,
    variance: Float32Array,
    scale: Float32Array | null,
    eps: number,
    dx: Float32Array,
    dmean: Float32Array,
    dvar: Float32Array,
    dscale: Float32Array,
    doffset: Float32Array,
  ): void;
  step(x: Float32Array, alpha: number, y: Float32Array): void;
  /**
   * One optimiser step over many variables (native/optimizer_update.cc): params [kind, lr, momentum, nesterov, wd,
   * β₁, 1 − β₁, β₂, 1 − β₂, 1 − β₁ᵗ, 1 − β₂ᵗ, ε, lr·wd, clipNorm]; per variable inputs (w, g, state…) and outputs
   * (w, state…); norm[0] = the global gradient norm before clipping.
   */
  optimizerUpdate(
    params: Float64Array,
    decay: Uint8Array,
    inputs: Float32Array[],
    outputs: Float32Array[],
    norm: Float32Array,
  ): void;
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
const packageRoot = path.resolve(here, '..');
const req = createRequire(import.meta.url);
/** Installed from the npm tarball (under node_modules) rather than the workspace: decides which advice to give. */
const installed = packageRoot.split(path.sep).includes('node_modules');

/** The source-build file: build/ next to dist/ (or src/ when run from sources); GMR_NATIVE_DIR overrides. */
export function addonFile(kind: BuildKind): string {
  const dir = process.env.GMR_NATIVE_DIR ?? path.join(packageRoot, 'build');
  return path.join(dir, `gmr_${kind}.node`);
}

/** node-gyp-build's pick among prebuilds/ for this platform, arch, libc and runtime; the reason when none fits. */
function prebuiltFile(): { file: string | null; why: string } {
  try {
    const ngb = req('node-gyp-build') as { resolve(dir: string): string };
    return { file: ngb.resolve(packageRoot), why: '' };
  } catch (e) {
    return { file: null, why: (e as Error).message.split('\n')[0] };
  }
}

/** The install script's one line (build/install-status.json), when it ran and found no binary. */
function installNote(): string | null {
  try {
    const s = JSON.parse(readFileSync(path.join(packageRoot, 'build', 'install-status.json'), 'utf8')) as {
      ok: boolean;
      line: string;
    };
    return s.ok ? null : s.line;
  } catch {
    return null;
  }
}

/** Why the host build is absent, naming what is missing and the one command that fixes it. */
function missingHost(prebuiltWhy: string): string {
  if (!installed) return `build/gmr_host.node is not built (run: pnpm --filter @gmr-conv/kernels-cuda build)`;
  return `${installNote() ?? `no native binary: ${prebuiltWhy}, and no source build`} (with g++ and Node's headers: npm rebuild @gmr-conv/kernels-cuda)`;
}

const cache = new Map<BuildKind, LoadResult>();

export function loadAddon(kind: BuildKind): LoadResult {
  const hit = cache.get(kind);
  if (hit) return hit;
  let file = addonFile(kind);
  let result: LoadResult;
  let missing: string | null = null;
  if (!existsSync(file)) {
    if (kind === 'cuda') {
      const how = installed
        ? 'GMR_BUILD_CUDA=1 npm rebuild @gmr-conv/kernels-cuda'
        : 'pnpm --filter @gmr-conv/kernels-cuda build:cuda';
      missing = `gmr_cuda.node is not built (opt-in, needs nvcc: ${how})`;
    } else if (process.env.GMR_NATIVE_DIR) missing = `${file} not found (GMR_NATIVE_DIR is set)`;
    else {
      const pre = prebuiltFile();
      if (pre.file) file = pre.file;
      else missing = missingHost(pre.why);
    }
  }
  if (missing) result = { addon: null, error: missing, file };
  else {
    try {
      result = { addon: req(file) as NativeAddon, error: null, file };
    } catch (e) {
      result = {
        addon: null,
        error: `cannot load ${path.basename(file)}: ${(e as Error).message.split('\n')[0]}`,
        file,
      };
    }
  }
  cache.set(kind, result);
  return result;
}
