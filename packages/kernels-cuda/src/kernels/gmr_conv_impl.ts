/**
 * GMRConv2D and its backward pieces on the native backends, in the binary-ring form (G = P·M):
 *   forward:         R = ring sums of x with the masks M (additions only, native ringSum), y = R·Φᵀ (+ bias), Φ = θ·P
 *   BackpropInput:   D = dy·Φ (native SGEMM), dx = ring sums of D scattered back through the padding mode (ringScatter)
 *   BackpropFilter:  dΦ = dyᵀ·R (native SGEMM); core turns dΦ into dθ and d(log σ) through P.
 * R is laid out [B·Ho·Wo, groups, n, Cin/groups] so that both ring sums and the per-group GEMMs run on
 * contiguous channel rows. channelsFirst inputs are transposed to channels-last around the native calls.
 * Calls outside 2D non-transposed convolutions go to core's composed path (on this backend).
 */
import * as tf from '@tensorflow/tfjs-core';
import { GMR_CONV_2D, backpropFilterName, backpropInputName, convOutLength, gaussianMatrix, gmrConvComposed, type GMRConvAttrs } from '@gmr-conv/core';
import type { NativeBackend } from '../backend.js';
import { count } from '../counters.js';

const PAD_MODES: Record<string, number> = { zeros: 0, reflect: 1, replicate: 2, circular: 3 };

export interface Geometry {
  batch: number;
  inH: number;
  inW: number;
  cin: number;
  outH: number;
  outW: number;
  cout: number;
  groups: number;
  n: number;
  kh: number;
  kw: number;
  /** The Int32Array handed to the addon (RingGeom order). */
  packed: Int32Array;
}

/** Why the native kernels do not cover this call (null when they do). */
export function unsupportedReason(a: GMRConvAttrs): string | null {
  if (a.rank !== 2 || a.kernelSize.length !== 2) return `rank ${a.rank}`;
  if (a.transposed) return 'transposed convolution';
  if (!(a.paddingMode in PAD_MODES)) return `padding mode ${a.paddingMode}`;
  return null;
}

/** Geometry from x's shape (NHWC or NCHW per attrs), the output size given or computed. */
export function geometry(a: GMRConvAttrs, xShape: number[], cout: number, n: number, outHW?: [number, number]): Geometry {
  const cf = a.dataFormat === 'channelsFirst';
  const [batch, d1, d2, d3] = xShape as [number, number, number, number];
  const [inH, inW, cin] = cf ? [d2, d3, d1] : [d1, d2, d3];
  const [kh, kw] = a.kernelSize as [number, number];
  const [sh, sw] = a.strides as [number, number];
  const [dh, dw] = a.dilations as [number, number];
  const [[pt, pb], [pl, pr]] = a.pads as [[number, number], [number, number]];
  const outH = outHW ? outHW[0] : convOutLength(inH, kh, sh, dh, pt, pb);
  const outW = outHW ? outHW[1] : convOutLength(inW, kw, sw, dw, pl, pr);
  const packed = Int32Array.from([batch, inH, inW, cin, outH, outW, a.groups, n, kh, kw, sh, sw, dh, dw, pt, pl, PAD_MODES[a.paddingMode]!]);
  return { batch, inH, inW, cin, outH, outW, cout, groups: a.groups, n, kh, kw, packed };
}

/** The non-zero entries of M [n, kh·kw] as (ty, tx, ring, weight) quadruples. */
export function ringTaps(mask: Float32Array, n: number, kh: number, kw: number): Float32Array {
  const out: number[] = [];
  for (let t = 0; t < kh * kw; t++)
    for (let i = 0; i < n; i++) {
      const w = mask[i * kh * kw + t]!;
      if (w !== 0) out.push(Math.floor(t / kw), t % kw, i, w);
    }
  return Float32Array.from(out);
}

/** Φ = θ·P rearranged to [Cout, n, Cin/g] (the GEMM operand) in native scratch memory (free it with freeScratch). */
function mixingOperand(backend: NativeBackend, weight: tf.Tensor, logSigmas: tf.Tensor | null, a: GMRConvAttrs): Float32Array {
  const [cout, cinG, n] = weight.shape as [number, number, number];
  let phi = backend.f32(weight);
  if (logSigmas) {
    // Φ = θ·P: P (n×n) from core (clipping, the reference's constants), the product natively.
    const pm = tf.tidy(() => gaussianMatrix(logSigmas, a));
    const pv = pm.dataSync() as Float32Array;
    pm.dispose();
    const prod = backend.allocFloat32(cout * cinG * n);
    backend.addon.sgemm(false, false, cout * cinG, n, n, 1, phi, 0, n, pv, 0, n, 0, prod, 0, n);
    phi = prod;
  }
  const out = backend.allocFloat32(cout * n * cinG);
  backend.addon.transpose(phi, Int32Array.from([cout, cinG, n]), Int32Array.from([0, 2, 1]), out);
  if (logSigmas) backend.freeScratch(phi);
  return out;
}

const toNHWC = (t: tf.Tensor, a: GMRConvAttrs) => (a.dataFormat === 'channelsFirst' ? tf.transpose(t, [0, 2, 3, 1]) : t);

/** Wraps a native output as a tensor in x's layout (NCHW: transposed back, the NHWC one disposed). */
function finish(backend: NativeBackend, values: Float32Array, nhwcShape: number[], a: GMRConvAttrs): tf.TensorInfo {
  const info = backend.makeNativeOutput(values, nhwcShape);
  if (a.dataFormat !== 'channelsFirst') return info;
  const t = tf.engine().makeTensorFromTensorInfo(info);
  const y = tf.transpose(t, [0, 3, 1, 2]);
  t.dispose();
  return y;
}

/** What the ring sums of x depend on besides x: the geometry and the masks. */
const ringKey = (g: Geometry, indexMat: tf.TensorInfo) => `${g.packed.join(',')}|${(indexMat.dataId as { id?: number }).id ?? ''}`;

/** Ring sums of x (NHWC tensor) into a scratch native array [P, Cin·n]. */
function ringSums(backend: NativeBackend, xl: tf.Tensor, indexMat: tf.TensorInfo, g: Geometry): Float32Array {
  const taps = ringTaps(backend.f32(indexMat), g.n, g.kh, g.kw);
  const r = backend.allocFloat32(g.batch * g.outH * g.outW * g.cin * g.n);
  backend.addon.ringSum(backend.f32(xl), taps, g.packed, r);
  return r;
}

/** Largest mixing operand (Cout/g · n·Cin/g floats) for which the fused forward pays (measured on a 2-core EPYC). */
const FUSE_MAX_MIX = 1 << 18;

type KernelArgs = { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: tf.NamedAttrMap };

export function gmrConv2D({ inputs, backend: b, attrs }: KernelArgs): tf.TensorInfo {
  const a = attrs as unknown as GMRConvAttrs;
  const backend = b as NativeBackend;
  const m = inputs as unknown as Record<string, tf.Tensor>;
  const x = m.x!;
  const weight = m.weight!;
  const logSigmas = a.hasLogSigmas ? m.logSigmas! : null;
  const bias = a.hasBias ? m.bias! : null;
  if (unsupportedReason(a) !== null || x.dtype !== 'float32') {
    count('gmrFallback');
    return gmrConvComposed({ x, weight, logSigmas, indexMat: m.indexMat!, bias }, a) as unknown as tf.TensorInfo;
  }
  count('gmrForward');
  const [cout, cinG] = weight.shape as [number, number, number];
  const g = geometry(a, x.shape, cout, m.indexMat!.shape[0]!);
  const coutG = cout / g.groups;
  const k = g.n * cinG;
  const P = g.batch * g.outH * g.outW;
  const xl = toNHWC(x, a);
  const phi = mixingOperand(backend, weight, logSigmas, a);
  const taping = backend.recordingGradients();
  if (!taping && backend.kind === 'native' && coutG * k <= FUSE_MAX_MIX) {
    // No backward will follow: ring sums and mixing fused block by block (R never leaves the cache). Each block
    // packs the mixing operand again, so very large operands (Cout·Cin·n above FUSE_MAX_MIX) are not fused.
    count('gmrForwardFused');
    const y = backend.allocFloat32(P * cout);
    backend.addon.gmrForward(backend.f32(xl), ringTaps(backend.f32(m.indexMat!), g.n, g.kh, g.kw), g.packed, phi, cout, y);
    if (xl !== x) xl.dispose();
    backend.freeScratch(phi);
    if (bias) backend.addon.biasAct(y, backend.f32(bias), P, cout, 0);
    return finish(backend, y, [g.batch, g.outH, g.outW, cout], a);
  }
  const r = ringSums(backend, xl, m.indexMat!, g);
  if (xl !== x) xl.dispose();
  const y = backend.allocFloat32(P * cout);
  for (let grp = 0; grp < g.groups; grp++) {
    backend.addon.sgemm(false, true, P, coutG, k, 1, r, grp * k, g.cin * g.n, phi, grp * coutG * k, k, 0, y, grp * coutG, cout);
  }
  backend.freeScratch(phi);
  // Under a gradient tape the filter gradient needs R again: keep it rather than recompute it there.
  if (taping) backend.keepRingSums(x.dataId, ringKey(g, m.indexMat!), r);
  else backend.freeScratch(r);
  if (bias) backend.addon.biasAct(y, backend.f32(bias), P, cout, 0);
  return finish(backend, y, [g.batch, g.outH, g.outW, cout], a);
}

function outHW(a: GMRConvAttrs, dyShape: number[]): [number, number] {
  return a.dataFormat === 'channelsFirst' ? [dyShape[2]!, dyShape[3]!] : [dyShape[1]!, dyShape[2]!];
}

export function gmrConv2DBackpropInput({ inputs, backend: b, attrs }: KernelArgs): tf.TensorInfo {
  const a = attrs as unknown as GMRConvAttrs;
  const why = unsupportedReason(a);
  if (why !== null) throw new Error(`@gmr-conv/kernels-cuda: ${backpropInputName(GMR_CONV_2D)} does not cover ${why}`);
  count('gmrBackpropInput');
  const backend = b as NativeBackend;
  const m = inputs as unknown as Record<string, tf.Tensor>;
  const dy = m.dy!;
  const weight = m.weight!;
  const logSigmas = a.hasLogSigmas && m.logSigmas && m.logSigmas.size > 0 ? m.logSigmas : null;
  const [cout, cinG] = weight.shape as [number, number, number];
  const g = geometry(a, a.inputShape, cout, m.indexMat!.shape[0]!, outHW(a, dy.shape));
  const coutG = cout / g.groups;
  const k = g.n * cinG;
  const P = g.batch * g.outH * g.outW;
  const phi = mixingOperand(backend, weight, logSigmas, a);
  const dyl = toNHWC(dy, a);
  const d = backend.allocFloat32(P * g.cin * g.n);
  const dyv = backend.f32(dyl);
  for (let grp = 0; grp < g.groups; grp++) {
    backend.addon.sgemm(false, false, P, k, coutG, 1, dyv, grp * coutG, cout, phi, grp * coutG * k, k, 0, d, grp * k, g.cin * g.n);
  }
  backend.freeScratch(phi);
  if (dyl !== dy) dyl.dispose();
  const taps = ringTaps(backend.f32(m.indexMat!), g.n, g.kh, g.kw);
  const dx = backend.allocFloat32(g.batch * g.inH * g.inW * g.cin);
  backend.addon.ringScatter(d, taps, g.packed, dx);
  backend.freeScratch(d);
  return finish(backend, dx, [g.batch, g.inH, g.inW, g.cin], a);
}

export function gmrConv2DBackpropFilter({ inputs, backend: b, attrs }: KernelArgs): tf.TensorInfo {
  const a = attrs as unknown as GMRConvAttrs;
  const why = unsupportedReason(a);
  if (why !== null) throw new Error(`@gmr-conv/kernels-cuda: ${backpropFilterName(GMR_CONV_2D)} does not cover ${why}`);
  count('gmrBackpropFilter');
  const backend = b as NativeBackend;
  const m = inputs as unknown as Record<string, tf.Tensor>;
  const x = m.x!;
  const dy = m.dy!;
  const cf = a.dataFormat === 'channelsFirst';
  const cout = cf ? dy.shape[1]! : dy.shape[3]!;
  const g = geometry(a, x.shape, cout, m.indexMat!.shape[0]!, outHW(a, dy.shape));
  const cinG = g.cin / g.groups;
  const coutG = cout / g.groups;
  const k = g.n * cinG;
  const P = g.batch * g.outH * g.outW;
  let r = backend.takeRingSums(x.dataId, ringKey(g, m.indexMat!));
  if (r) count('gmrRingSumsReused');
  else {
    const xl = toNHWC(x, a);
    r = ringSums(backend, xl, m.indexMat!, g);
    if (xl !== x) xl.dispose();
  }
  const dyl = toNHWC(dy, a);
  const dphiT = new Float32Array(cout * k);
  const dyv = backend.f32(dyl);
  for (let grp = 0; grp < g.groups; grp++) {
    backend.addon.sgemm(true, false, coutG, k, P, 1, dyv, grp * coutG, cout, r, grp * k, g.cin * g.n, 0, dphiT, grp * coutG * k, k);
  }
  if (dyl !== dy) dyl.dispose();
  backend.freeScratch(r);
  const dphi = backend.allocFloat32(cout * cinG * g.n);
  backend.addon.transpose(dphiT, Int32Array.from([cout, g.n, cinG]), Int32Array.from([0, 2, 1]), dphi);
  return backend.makeNativeOutput(dphi, [cout, cinG, g.n]);
}

export function gmrKernelConfigs(backendName: string): tf.KernelConfig[] {
  return [
    { kernelName: GMR_CONV_2D, backendName, kernelFunc: gmrConv2D as unknown as tf.KernelFunc },
    { kernelName: backpropInputName(GMR_CONV_2D), backendName, kernelFunc: gmrConv2DBackpropInput as unknown as tf.KernelFunc },
    { kernelName: backpropFilterName(GMR_CONV_2D), backendName, kernelFunc: gmrConv2DBackpropFilter as unknown as tf.KernelFunc },
  ];
}
